// asymap_ufc_credit: carries the credit channel of asymap_xport over Aurora 64b/66b User Flow
// Control (UFC) messages -- the side channel docs/link-protocol.md section 5 names for Aurora.
// Logic only between asymap_xport's credit streams and the core's UFC ports (c_clk = user_clk).
//
// TX (PG074 "Transmitting UFC Messages"): a one-cycle ufc_tx_req with ufc_tx_ms = 3 (4 bytes), then
// the message on s_axi_ufc_tx_tdata while s_axi_ufc_tx_tvalid, taken when s_axi_ufc_tx_tready; the
// next request only after that (the core needs tready seen on the previous message's last cycle).
// The credit word is a value (latest wins), so it is sent when it changed and at least every
// KEEPALIVE cycles, and never more often than every SPACING cycles: each message takes the data
// path for about two user-clock cycles, so the spacing bounds the overhead (2/SPACING) and the far
// sender sees the credits at most SPACING cycles late (the receive buffer's sizing headroom).
// RX (PG074 "Receiving UFC Messages"): a 4-byte message arrives as one beat with tlast; PG074 says
// its bytes are the four most significant of the interface, read here as tdata[UW-1:UW-32].
// Unverified without the core: the byte position under the core's endianness option.
`timescale 1ns/1ps
module asymap_ufc_credit #(
    parameter integer UW        = 64,    // UFC data width: 64 bits per lane
    parameter integer SPACING   = 32,    // minimum cycles between two messages
    parameter integer KEEPALIVE = 1024   // maximum cycles between two messages while idle
) (
    input  wire          clk,
    input  wire          rst,
    // this board's credit word (asymap_xport m_axis_cc)
    input  wire [31:0]   s_cc_tdata,
    input  wire          s_cc_tvalid,
    output wire          s_cc_tready,
    // the core's UFC TX
    output reg           ufc_tx_req,
    output wire [7:0]    ufc_tx_ms,
    output wire [UW-1:0] s_axi_ufc_tx_tdata,
    output wire          s_axi_ufc_tx_tvalid,
    input  wire          s_axi_ufc_tx_tready,
    // the core's UFC RX
    input  wire [UW-1:0] m_axi_ufc_rx_tdata,
    input  wire          m_axi_ufc_rx_tlast,
    input  wire          m_axi_ufc_rx_tvalid,
    // the far board's credit word (asymap_xport s_axis_cc): a value, held valid
    output reg  [31:0]   m_cc_tdata,
    output reg           m_cc_tvalid,
    input  wire          m_cc_tready
);
    localparam integer TW = $clog2(KEEPALIVE + 1);
    localparam [TW-1:0] SPACE = SPACING[TW-1:0];
    localparam [TW-1:0] KEEP  = KEEPALIVE[TW-1:0];
    reg  [31:0]   word, last_sent;
    reg           sending;
    reg  [TW-1:0] since;          // cycles since the last message was taken
    wire          due = s_cc_tvalid && since >= SPACE && (s_cc_tdata != last_sent || since >= KEEP);
    wire          taken = s_axi_ufc_tx_tvalid && s_axi_ufc_tx_tready;

    assign s_cc_tready         = 1'b1;
    assign ufc_tx_ms           = 8'd3;                 // bytes - 1
    assign s_axi_ufc_tx_tvalid = sending;
    assign s_axi_ufc_tx_tdata  = {word, {(UW-32){1'b0}}};
    wire unused = &{1'b0, m_cc_tready, m_axi_ufc_rx_tdata[UW-33:0]};   // a 4-byte message uses the top bytes

    always @(posedge clk) begin
        if (rst) begin
            word <= 32'd0; last_sent <= 32'd0; sending <= 1'b0; since <= {TW{1'b0}}; ufc_tx_req <= 1'b0;
            m_cc_tdata <= 32'd0; m_cc_tvalid <= 1'b0;
        end else begin
            ufc_tx_req <= 1'b0;
            if (!sending && due) begin
                word <= s_cc_tdata;
                ufc_tx_req <= 1'b1;
                sending <= 1'b1;
            end else if (taken) begin
                sending <= 1'b0;
                last_sent <= word;
                since <= {TW{1'b0}};
            end else if (!sending && since != KEEP) begin
                since <= since + {{(TW-1){1'b0}}, 1'b1};
            end
            if (m_axi_ufc_rx_tvalid && m_axi_ufc_rx_tlast) begin
                m_cc_tdata <= m_axi_ufc_rx_tdata[UW-1:UW-32];
                m_cc_tvalid <= 1'b1;
            end
        end
    end
endmodule
