// asymap_bridge_tx: source end of an inter-board link -- a pure transport bridge.
//
// The HLS link kernel (link_tx_image, hls/include/asymap/link.h) has already framed the data
// (header, sequence number, CRC); this block only moves its beats unchanged to the transport
// core's TX (Aurora / CMAC user interface), crossing from the kernel clock to the link clock and
// converting width, and it never sends more than the receiving bridge can store: the far
// bridge's clock-crossing FIFO is the credit buffer (RX_DEPTH entries) and its credit word tells
// how many entries it has freed. Frames mean nothing here (docs/link-protocol.md, section 5).
//
//   s_* (k_clk, KW bits) -> [up-convert] -> async FIFO -> [down-convert] -> credit gate -> m_* (l_clk, LW bits)
//
// Credits: s_credit_tdata = {entries written [31:16], entries freed [15:0]} of the far FIFO,
// 16-bit counters; a value, not an increment, so the reverse channel may drop, repeat or delay
// updates (the latest wins). A beat is sent while (entries sent - entries freed) < RX_DEPTH.
// Far FIFO entries are link beats, or RX_PACK link beats packed into one word (a TLAST closes a
// word early) when the far kernel is wider than the link; `sent` counts entries the same way.
// Loss tolerance: beats the transport drops would stay counted as in flight; after IDLE_CYCLES
// (more than a round trip) without sending, nothing can be in flight, so `sent` is reset to the
// far FIFO's write count (the credit word's upper half) -- lost beats cannot starve the link.
`timescale 1ns/1ps
module asymap_bridge_tx #(
    parameter integer KW          = 64,     // kernel stream width (the HLS link width)
    parameter integer LW          = 64,     // transport user width
    parameter integer FIFO_ADDR_W = 5,      // local clock-crossing FIFO: 2**FIFO_ADDR_W entries
    parameter integer RX_DEPTH    = 1024,   // far FIFO entries (credits)
    parameter integer RX_PACK     = 1,      // link beats per far FIFO entry
    parameter integer IDLE_CYCLES = 1024    // > round trip: then nothing is in flight
) (
    // rst resets the clock-crossing FIFO asynchronously and the other logic synchronously:
    // assert any time, release synchronously to both clocks, hold >= 2 cycles of each.
    /* verilator lint_off SYNCASYNCNET */
    input  wire          rst,
    /* verilator lint_on SYNCASYNCNET */
    input  wire          k_clk,
    input  wire          l_clk,
    input  wire [KW-1:0] s_tdata,
    input  wire [KW/8-1:0] s_tkeep,
    input  wire          s_tlast,
    input  wire          s_tvalid,
    output wire          s_tready,
    output wire [LW-1:0] m_tdata,
    output wire [LW/8-1:0] m_tkeep,
    output wire          m_tlast,
    output wire          m_tvalid,
    input  wire          m_tready,
    input  wire [31:0]   s_credit_tdata,
    input  wire          s_credit_tvalid,
    output wire          s_credit_tready,
    output reg  [31:0]   beats_sent,
    output wire          credit_stall
);
    localparam integer FW = (KW > LW) ? KW : LW;   // the FIFO sits at the wider width
    localparam integer FD = FW + FW / 8 + 1;
    // outputs of the shared blocks this bridge does not use
    wire nc_dest_a, nc_dest_c, nc_full, nc_empty;
    wire [FIFO_ADDR_W:0] nc_rptr;
    wire unused_nc = &{1'b0, nc_dest_a, nc_dest_c, nc_full, nc_empty, nc_rptr};

    // kernel side: up-convert to the FIFO width when the link is wider
    wire [FW-1:0]   a_tdata;
    wire [FW/8-1:0] a_tkeep;
    wire            a_tlast, a_tvalid, a_tready;
    asymap_axis_width #(.S_W(KW), .M_W(FW), .DEST_W(1)) u_up (
        .clk(k_clk), .rst(rst), .s_tdata(s_tdata), .s_tkeep(s_tkeep), .s_tlast(s_tlast), .s_tdest(1'b0),
        .s_tvalid(s_tvalid), .s_tready(s_tready), .m_tdata(a_tdata), .m_tkeep(a_tkeep), .m_tlast(a_tlast),
        .m_tdest(nc_dest_a), .m_tvalid(a_tvalid), .m_tready(a_tready));

    wire [FD-1:0] b_word;
    wire          b_tvalid, b_tready;
    asymap_async_fifo #(.DATA_W(FD), .ADDR_W(FIFO_ADDR_W)) u_cdc (
        .rst(rst), .s_clk(k_clk), .s_tdata({a_tlast, a_tkeep, a_tdata}), .s_tvalid(a_tvalid), .s_tready(a_tready),
        .full(nc_full), .s_rptr(nc_rptr), .m_clk(l_clk), .m_tdata(b_word), .m_tvalid(b_tvalid), .m_tready(b_tready), .empty(nc_empty));

    // link side: down-convert to the link width when the kernel is wider
    wire [LW-1:0]   c_tdata;
    wire [LW/8-1:0] c_tkeep;
    wire            c_tlast, c_tvalid, c_tready;
    asymap_axis_width #(.S_W(FW), .M_W(LW), .DEST_W(1)) u_down (
        .clk(l_clk), .rst(rst), .s_tdata(b_word[FW-1:0]), .s_tkeep(b_word[FW+FW/8-1:FW]), .s_tlast(b_word[FD-1]),
        .s_tdest(1'b0), .s_tvalid(b_tvalid), .s_tready(b_tready), .m_tdata(c_tdata), .m_tkeep(c_tkeep),
        .m_tlast(c_tlast), .m_tdest(nc_dest_c), .m_tvalid(c_tvalid), .m_tready(c_tready));

    // credit gate (l_clk)
    localparam integer PW = (RX_PACK > 1) ? $clog2(RX_PACK) : 1;
    localparam integer PACK_LAST_I = RX_PACK - 1;
    localparam [PW-1:0] PACK_LAST = PACK_LAST_I[PW-1:0];
    localparam integer IW = $clog2(IDLE_CYCLES + 1);
    localparam [IW-1:0] IDLE_MAX = IDLE_CYCLES[IW-1:0];
    localparam [16:0] DEPTH17 = RX_DEPTH[16:0];
    reg  [15:0] sent, freed, written;
    reg  [PW-1:0] lane;
    reg  [IW-1:0] idle;
    wire [15:0] in_flight = sent - freed;
    wire        may = {1'b0, in_flight} < DEPTH17;
    assign m_tdata  = c_tdata;
    assign m_tkeep  = c_tkeep;
    assign m_tlast  = c_tlast;
    assign m_tvalid = c_tvalid & may;
    assign c_tready = m_tready & may;
    assign s_credit_tready = 1'b1;
    assign credit_stall = c_tvalid & ~may;
    wire fire = c_tvalid & c_tready;
    wire entry_done = (RX_PACK == 1) || c_tlast || lane == PACK_LAST;

    always @(posedge l_clk) begin
        if (rst) begin
            sent <= 16'd0; freed <= 16'd0; written <= 16'd0; lane <= {PW{1'b0}}; idle <= {IW{1'b0}};
            beats_sent <= 32'd0;
        end else begin
            if (s_credit_tvalid) begin
                freed <= s_credit_tdata[15:0];
                written <= s_credit_tdata[31:16];
            end
            if (fire) begin
                beats_sent <= beats_sent + 32'd1;
                idle <= {IW{1'b0}};
                lane <= entry_done ? {PW{1'b0}} : lane + {{(PW-1){1'b0}}, 1'b1};
                if (entry_done) sent <= sent + 16'd1;
            end else if (idle != IDLE_MAX) begin
                idle <= idle + {{(IW-1){1'b0}}, 1'b1};
            end else if (lane == {PW{1'b0}}) begin
                sent <= written;   // quiet for longer than a round trip: nothing is in flight
            end
        end
    end
endmodule
