// asymap_bridge_rx: destination end of an inter-board link -- a pure transport bridge.
//
// Takes the transport core's RX beats (l_clk, LW bits; a serial link cannot be back-pressured, so
// s_tready is constant 1), stores them in the clock-crossing FIFO (block RAM for 512-bit entries
// in more than 64 rows, else LUT-RAM) -- which is the credit buffer the
// far asymap_bridge_tx counts against -- and hands them unchanged to the HLS link kernel
// (link_rx_image, k_clk, KW bits), which checks the frames. Frames mean nothing here.
//
//   s_* (l_clk, LW) -> [up-convert] -> async FIFO (2**RX_ADDR_W entries) -> [down-convert] -> m_* (k_clk, KW)
//
// Credit word (l_clk), a value sent continuously, latest wins:
//   m_credit_tdata = {entries written [31:16], entries freed [15:0]}, 16-bit counters.
// A beat arriving while the FIFO is full (only if the far end ignores credits) is dropped and
// counted in overflow_errors; the HLS receiver then sees a damaged frame and recovers from it.
`timescale 1ns/1ps
module asymap_bridge_rx #(
    parameter integer KW        = 64,
    parameter integer LW        = 64,
    parameter integer RX_ADDR_W = 10      // credit buffer: 2**RX_ADDR_W entries (<= 2**14: 16-bit counters)
) (
    // rst resets the clock-crossing FIFO asynchronously and the other logic synchronously:
    // assert any time, release synchronously to both clocks, hold >= 2 cycles of each.
    /* verilator lint_off SYNCASYNCNET */
    input  wire          rst,
    /* verilator lint_on SYNCASYNCNET */
    input  wire          k_clk,
    input  wire          l_clk,
    input  wire [LW-1:0] s_tdata,
    input  wire [LW/8-1:0] s_tkeep,
    input  wire          s_tlast,
    input  wire          s_tvalid,
    output wire          s_tready,
    output wire [KW-1:0] m_tdata,
    output wire [KW/8-1:0] m_tkeep,
    output wire          m_tlast,
    output wire          m_tvalid,
    input  wire          m_tready,
    output wire [31:0]   m_credit_tdata,
    output wire          m_credit_tvalid,
    input  wire          m_credit_tready,
    output reg  [31:0]   overflow_errors
);
    localparam integer FW = (KW > LW) ? KW : LW;
    localparam integer FD = FW + FW / 8 + 1;
    // Memory of the credit buffer, by its shape (costmodel.transport_ends charges the same): entries
    // of 512 data bits or more (a 100G CMAC's, 577 bits with TKEEP and TLAST) in more than 64 rows
    // are block RAM behind a read register (asymap_async_fifo BLOCK=1; 1,024 x 577 bits: 17 BRAM36
    // at 94 % of their bits, where LUT-RAM would take ~12,900 LUTs and a 577-bit 16:1 read mux at
    // the 322 MHz core clock); narrower ones (Aurora's 73 bits) stay LUT-RAM (850-1,700 LUTs,
    // where block RAM would fill 2-3 BRAM36 to 50-70 %).
    localparam integer RX_BLOCK = (FW >= 512 && RX_ADDR_W > 6) ? 1 : 0;
    // outputs of the shared blocks this bridge does not use
    wire nc_dest_a, nc_dest_c, nc_full, nc_empty;
    wire unused_nc = &{1'b0, nc_dest_a, nc_dest_c, nc_full, nc_empty};

    // link side: up-convert to the FIFO width when the kernel is wider (never back-pressured
    // while credits are respected: the FIFO has room for every beat in flight)
    wire [FW-1:0]   a_tdata;
    wire [FW/8-1:0] a_tkeep;
    wire            a_tlast, a_tvalid, a_tready, up_ready;
    asymap_axis_width #(.S_W(LW), .M_W(FW), .DEST_W(1)) u_up (
        .clk(l_clk), .rst(rst), .s_tdata(s_tdata), .s_tkeep(s_tkeep), .s_tlast(s_tlast), .s_tdest(1'b0),
        .s_tvalid(s_tvalid), .s_tready(up_ready), .m_tdata(a_tdata), .m_tkeep(a_tkeep), .m_tlast(a_tlast),
        .m_tdest(nc_dest_a), .m_tvalid(a_tvalid), .m_tready(a_tready));
    assign s_tready = 1'b1;

    wire [FD-1:0]      b_word;
    wire               b_tvalid, b_tready;
    wire [RX_ADDR_W:0] rptr;
    asymap_async_fifo #(.DATA_W(FD), .ADDR_W(RX_ADDR_W), .BLOCK(RX_BLOCK)) u_buf (
        .rst(rst), .s_clk(l_clk), .s_tdata({a_tlast, a_tkeep, a_tdata}), .s_tvalid(a_tvalid), .s_tready(a_tready),
        .full(nc_full), .s_rptr(rptr), .m_clk(k_clk), .m_tdata(b_word), .m_tvalid(b_tvalid), .m_tready(b_tready), .empty(nc_empty));

    asymap_axis_width #(.S_W(FW), .M_W(KW), .DEST_W(1)) u_down (
        .clk(k_clk), .rst(rst), .s_tdata(b_word[FW-1:0]), .s_tkeep(b_word[FW+FW/8-1:FW]), .s_tlast(b_word[FD-1]),
        .s_tdest(1'b0), .s_tvalid(b_tvalid), .s_tready(b_tready), .m_tdata(m_tdata), .m_tkeep(m_tkeep),
        .m_tlast(m_tlast), .m_tdest(nc_dest_c), .m_tvalid(m_tvalid), .m_tready(m_tready));

    // credits (l_clk): entries written, entries freed (16-bit, from the synchronized read pointer)
    reg [15:0]        written, freed;
    reg [RX_ADDR_W:0] rptr_q;
    wire [RX_ADDR_W:0] delta = rptr - rptr_q;
    always @(posedge l_clk) begin
        if (rst) begin
            written <= 16'd0; freed <= 16'd0; rptr_q <= {(RX_ADDR_W+1){1'b0}}; overflow_errors <= 32'd0;
        end else begin
            if (a_tvalid & a_tready) written <= written + 16'd1;
            freed <= freed + {{(15-RX_ADDR_W){1'b0}}, delta};
            rptr_q <= rptr;
            if (s_tvalid & ~up_ready) overflow_errors <= overflow_errors + 32'd1;
        end
    end
    assign m_credit_tdata  = {written, freed};
    assign m_credit_tvalid = 1'b1;
    wire unused = &{1'b0, m_credit_tready};
endmodule
