// asymap_cmac_credit: carries asymap_xport's data and credit channel over a 100G Ethernet MAC
// (cmac_usplus, PG203, 512-bit AXI4-Stream user interface) -- the side channel docs/link-protocol.md
// section 5 names for CMAC: a credit packet of its own EtherType, multiplexed with the data packets.
// Logic only between asymap_xport's core-side streams and the MAC's tx_axis / rx_axis (clk = the
// MAC's user clock, gt_txusrclk2 with rx_clk tied to it).
//
// Every packet starts with one 64-byte header beat (byte k = tdata[8k+7:8k], the MAC's byte order):
//   bytes 0-5 destination MAC, 6-11 source MAC, 12-13 EtherType (big-endian, as on the wire),
//   bytes 14-17 this end's credit word (little-endian), byte 18 flags (bit 0: the packet ends a
//   frame), bytes 19-63 zero.
//   * credit packet: the header beat alone, EtherType ETH_CREDIT (64 bytes + the MAC's FCS: not a runt);
//   * data packet:   the header beat (EtherType ETH_DATA, the credit word too) then a frame's beats,
//     or a 2**PKT_ADDR_W-beat piece of a longer frame, exactly as asymap_xport gave them (TKEEP
//     passed through); the receiver puts TLAST on the last beat of a packet whose flag says so.
//     A packet is at most (2**PKT_ADDR_W + 1) x 64 bytes: 8256 at PKT_ADDR_W = 7, under the MAC's
//     default 9600-byte maximum, whatever the frame length.
// 0x88B5 / 0x88B6 are IEEE 802's "Local Experimental" EtherTypes: nothing else on a direct cable uses them.
//
// TX: a MAC must not see a TVALID gap inside a packet (PG203: the TX path underflows), so a packet's
// body is stored whole in the packet FIFO (2**PKT_ADDR_W beats + an output register) and sent behind
// its header only once its last beat is in (store-and-forward). The credit word is a value (the
// far sender keeps the latest), so a credit packet goes out between data packets when the word
// changed and at least every KEEPALIVE cycles, never more often than every SPACING cycles; every
// data header carries the word as well and counts as a credit update.
// Lost credit packets (a bad FCS, a dropped packet) need no recovery protocol: the next credit packet
// or data header carries the absolute count, and the KEEPALIVE refresh bounds how long a lost one
// matters; asymap_bridge_tx's idle resync covers lost data beats.
// The idle resync sets the sender's count to the far buffer's "entries written"; beats this block
// still holds (part of a packet body waiting for its last beat while the credits are exhausted) are in flight
// too, so the word handed to asymap_xport is {far written + entries held here, far freed}, entries
// counted as the far buffer counts them (RX_PACK link beats, or fewer at a TLAST). The resync is then
// exact once the sender's IDLE_CYCLES exceed the round trip plus one packet's transmission.
// RX: the header beat is checked (EtherType) and stripped; a data packet's beats go to asymap_xport
// unchanged (the HLS receiver checks frames, so beats of a packet with a bad FCS pass too); its credit
// word, like a credit packet's, is taken only from a packet whose last beat has rx_axis_tuser = 0
// (good FCS). Packets of other EtherTypes are dropped and counted.
`timescale 1ns/1ps
module asymap_cmac_credit #(
    parameter integer PKT_ADDR_W = 7,                    // TX packet FIFO and longest packet body: 2**PKT_ADDR_W beats
    parameter integer SPACING    = 64,                   // minimum cycles between two credit updates
    parameter integer KEEPALIVE  = 1024,                 // maximum cycles between two credit updates
    parameter integer RX_PACK    = 1,                    // link beats per far buffer entry (asymap_xport's)
    parameter [47:0]  DST_MAC    = 48'h02_00_00_00_00_02, // locally administered unicast addresses
    parameter [47:0]  SRC_MAC    = 48'h02_00_00_00_00_01,
    parameter [15:0]  ETH_DATA   = 16'h88B5,
    parameter [15:0]  ETH_CREDIT = 16'h88B6
) (
    input  wire         clk,
    input  wire         rst,
    // frames to send (asymap_xport m_axis_c)
    input  wire [511:0] s_data_tdata,
    input  wire [63:0]  s_data_tkeep,
    input  wire         s_data_tlast,
    input  wire         s_data_tvalid,
    output wire         s_data_tready,
    // this end's credit word (asymap_xport m_axis_cc): a value, held valid
    input  wire [31:0]  s_cc_tdata,
    input  wire         s_cc_tvalid,
    output wire         s_cc_tready,
    // the MAC's TX
    output wire [511:0] tx_axis_tdata,
    output wire [63:0]  tx_axis_tkeep,
    output wire         tx_axis_tlast,
    output wire         tx_axis_tvalid,
    input  wire         tx_axis_tready,
    // the MAC's RX (no back-pressure; tuser on the last beat = bad packet)
    input  wire [511:0] rx_axis_tdata,
    input  wire [63:0]  rx_axis_tkeep,
    input  wire         rx_axis_tlast,
    input  wire         rx_axis_tvalid,
    input  wire         rx_axis_tuser,
    // frames received (asymap_xport s_axis_c, never back-pressured)
    output reg  [511:0] m_data_tdata,
    output reg  [63:0]  m_data_tkeep,
    output reg          m_data_tlast,
    output reg          m_data_tvalid,
    // the far end's credit word (asymap_xport s_axis_cc): a value, held valid
    output wire [31:0]  m_cc_tdata,
    output reg          m_cc_tvalid,
    input  wire         m_cc_tready,
    // status (clk domain)
    output reg  [31:0]  credit_packets_sent,
    output reg  [31:0]  credit_updates_received,
    output reg  [31:0]  rx_dropped_packets
);
    localparam integer D  = 512 + 64 + 1;
    localparam integer TW = $clog2(KEEPALIVE + 1);
    localparam [TW-1:0] SPACE = SPACING[TW-1:0];
    localparam [TW-1:0] KEEP  = KEEPALIVE[TW-1:0];
    localparam [PKT_ADDR_W:0] CAP = 1 << PKT_ADDR_W;

    function [511:0] header(input [15:0] etype, input [31:0] cc, input [7:0] flags);
        header = {360'd0, flags, cc, etype[7:0], etype[15:8],
                  SRC_MAC[7:0], SRC_MAC[15:8], SRC_MAC[23:16], SRC_MAC[31:24], SRC_MAC[39:32], SRC_MAC[47:40],
                  DST_MAC[7:0], DST_MAC[15:8], DST_MAC[23:16], DST_MAC[31:24], DST_MAC[39:32], DST_MAC[47:40]};
    endfunction

    // ---- TX packet FIFO: first-word-fall-through, memory read registered into q
    reg [D-1:0]        mem [0:(1 << PKT_ADDR_W) - 1];
    reg [PKT_ADDR_W:0] wptr, rptr;
    reg [D-1:0]        q;
    reg                q_valid;
    wire [PKT_ADDR_W:0] used = wptr - rptr;
    wire               full = used == CAP;
    wire               w_fire = s_data_tvalid && !full;
    assign s_data_tready = !full;

    // Chunks: a packet's body is a frame or a MAXB-beat piece of one, closed at write time; one
    // descriptor bit per chunk says whether it ends the frame (the header's flag). A chunk never
    // exceeds the FIFO, so a closed chunk is always there to send when the FIFO is full.
    localparam [PKT_ADDR_W:0] MAXB_M1 = CAP - 1'b1;
    reg                desc [0:(2 << PKT_ADDR_W) - 1];
    reg [PKT_ADDR_W:0] wc, rc, w_cnt, r_cnt;
    wire               w_close = w_fire && (s_data_tlast || w_cnt == MAXB_M1);
    wire [PKT_ADDR_W:0] chunks = wc - rc;

    localparam [1:0] IDLE = 2'd0, HDR = 2'd1, BODY = 2'd2, CRED = 2'd3;
    reg  [1:0]    state;
    reg  [31:0]   cc_word, last_sent;
    reg           frame_end;                 // the chunk being sent ends its frame
    reg  [TW-1:0] since;                     // cycles since the last credit update was taken
    wire          pop = state == BODY && q_valid && tx_axis_tready;
    wire          r_close = q[D-1] || r_cnt == MAXB_M1;
    wire          load = (wptr != rptr) && (!q_valid || pop);
    wire          due = s_cc_tvalid && since >= SPACE && (s_cc_tdata != last_sent || since >= KEEP);
    wire          hdr_taken = (state == HDR || state == CRED) && tx_axis_tready;

    assign s_cc_tready    = 1'b1;
    assign tx_axis_tvalid = state == HDR || state == CRED || (state == BODY && q_valid);
    assign tx_axis_tdata  = state == BODY ? q[511:0] :
                            header(state == CRED ? ETH_CREDIT : ETH_DATA, cc_word, {7'd0, state == HDR && frame_end});
    assign tx_axis_tkeep  = state == BODY ? q[575:512] : {64{1'b1}};
    assign tx_axis_tlast  = state == CRED || (state == BODY && r_close);

    always @(posedge clk) begin
        if (w_fire) mem[wptr[PKT_ADDR_W-1:0]] <= {s_data_tlast, s_data_tkeep, s_data_tdata};
        if (w_close) desc[wc] <= s_data_tlast;
        if (load) q <= mem[rptr[PKT_ADDR_W-1:0]];
    end

    always @(posedge clk) begin
        if (rst) begin
            wptr <= {(PKT_ADDR_W+1){1'b0}}; rptr <= {(PKT_ADDR_W+1){1'b0}}; q_valid <= 1'b0;
            wc <= {(PKT_ADDR_W+1){1'b0}}; rc <= {(PKT_ADDR_W+1){1'b0}};
            w_cnt <= {(PKT_ADDR_W+1){1'b0}}; r_cnt <= {(PKT_ADDR_W+1){1'b0}}; frame_end <= 1'b0;
            state <= IDLE; cc_word <= 32'd0; last_sent <= 32'd0;
            since <= {TW{1'b0}}; credit_packets_sent <= 32'd0;
        end else begin
            if (w_fire) wptr <= wptr + 1'b1;
            if (load) rptr <= rptr + 1'b1;
            if (load) q_valid <= 1'b1;
            else if (pop) q_valid <= 1'b0;
            if (w_fire) w_cnt <= w_close ? {(PKT_ADDR_W+1){1'b0}} : w_cnt + 1'b1;
            if (w_close) wc <= wc + 1'b1;
            if (hdr_taken) begin
                last_sent <= cc_word;
                since <= {TW{1'b0}};
            end else if (since != KEEP) begin
                since <= since + {{(TW-1){1'b0}}, 1'b1};
            end
            case (state)
                IDLE: if (due) begin
                          cc_word <= s_cc_tdata;
                          state <= CRED;
                      end else if (chunks != 0) begin
                          cc_word <= s_cc_tvalid ? s_cc_tdata : last_sent;
                          frame_end <= desc[rc];
                          r_cnt <= {(PKT_ADDR_W+1){1'b0}};
                          state <= HDR;
                      end
                HDR:  if (tx_axis_tready) state <= BODY;
                BODY: if (pop) begin
                          r_cnt <= r_cnt + 1'b1;
                          if (r_close) begin
                              rc <= rc + 1'b1;
                              state <= IDLE;
                          end
                      end
                default: if (tx_axis_tready) begin      // CRED
                          state <= IDLE;
                          credit_packets_sent <= credit_packets_sent + 32'd1;
                      end
            endcase
        end
    end

    // ---- entries held here (the far buffer's units), added to the far written count
    localparam integer PW = (RX_PACK > 1) ? $clog2(RX_PACK) : 1;
    localparam integer PACK_LAST_I = RX_PACK - 1;
    localparam [PW-1:0] PACK_LAST = PACK_LAST_I[PW-1:0];
    reg  [PW-1:0] w_lane, r_lane;
    reg  [15:0]   held;
    wire          w_entry = w_fire && (RX_PACK == 1 || s_data_tlast || w_lane == PACK_LAST);
    wire          r_entry = pop && (RX_PACK == 1 || q[D-1] || r_lane == PACK_LAST);
    reg  [31:0]   far_cc;                    // the far end's word as received
    assign m_cc_tdata = {far_cc[31:16] + held, far_cc[15:0]};
    always @(posedge clk) begin
        if (rst) begin
            w_lane <= {PW{1'b0}}; r_lane <= {PW{1'b0}}; held <= 16'd0;
        end else begin
            if (w_fire) w_lane <= (RX_PACK == 1 || s_data_tlast || w_lane == PACK_LAST) ? {PW{1'b0}} : w_lane + 1'b1;
            if (pop) r_lane <= (RX_PACK == 1 || q[D-1] || r_lane == PACK_LAST) ? {PW{1'b0}} : r_lane + 1'b1;
            if (w_entry && !r_entry) held <= held + 16'd1;
            else if (r_entry && !w_entry) held <= held - 16'd1;
        end
    end

    // ---- RX: classify on the header beat, strip it, forward a data packet's beats
    reg         in_pkt, is_data, is_ours;
    reg  [31:0] pend_cc;
    reg         pend_end;                    // this data packet ends its frame (header flag bit 0)
    wire [15:0] rx_etype = {rx_axis_tdata[103:96], rx_axis_tdata[111:104]};
    wire [31:0] rx_cc = rx_axis_tdata[143:112];
    wire        rx_end = rx_axis_tdata[144];
    wire        rx_known = rx_etype == ETH_DATA || rx_etype == ETH_CREDIT;
    wire        unused = &{1'b0, m_cc_tready};

    always @(posedge clk) begin
        if (rst) begin
            in_pkt <= 1'b0; is_data <= 1'b0; is_ours <= 1'b0; pend_cc <= 32'd0; pend_end <= 1'b0;
            m_data_tdata <= 512'd0; m_data_tkeep <= 64'd0; m_data_tlast <= 1'b0; m_data_tvalid <= 1'b0;
            far_cc <= 32'd0; m_cc_tvalid <= 1'b0; credit_updates_received <= 32'd0; rx_dropped_packets <= 32'd0;
        end else begin
            m_data_tvalid <= 1'b0;
            if (rx_axis_tvalid) begin
                if (!in_pkt) begin                   // the header beat
                    if (!rx_known) rx_dropped_packets <= rx_dropped_packets + 32'd1;
                    if (rx_known && rx_axis_tlast && !rx_axis_tuser) begin
                        far_cc <= rx_cc;
                        m_cc_tvalid <= 1'b1;
                        credit_updates_received <= credit_updates_received + 32'd1;
                    end
                    in_pkt <= !rx_axis_tlast;
                    is_data <= rx_etype == ETH_DATA;
                    is_ours <= rx_known;
                    pend_cc <= rx_cc;
                    pend_end <= rx_end;
                end else begin
                    if (is_data) begin
                        m_data_tdata <= rx_axis_tdata;
                        m_data_tkeep <= rx_axis_tkeep;
                        m_data_tlast <= rx_axis_tlast && pend_end;
                        m_data_tvalid <= 1'b1;
                    end
                    if (rx_axis_tlast) begin
                        in_pkt <= 1'b0;
                        if (is_ours && !rx_axis_tuser) begin
                            far_cc <= pend_cc;
                            m_cc_tvalid <= 1'b1;
                            credit_updates_received <= credit_updates_received + 32'd1;
                        end
                    end
                end
            end
        end
    end
endmodule
