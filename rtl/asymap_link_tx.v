// asymap_link_tx: the sending half of an inter-board link (instantiated on the source board).
//
//   kernel streams --mux--> [width conv] --async FIFO--> [width conv] --framer--> link TX
//      (k_clk)                               (CDC)                       (l_clk)
// The FIFO sits at the wider of the two widths, so neither clock has to move more than one beat
// per cycle (kernel narrower: up-convert in k_clk, then cross; kernel wider: cross, then
// down-convert in l_clk). One of the two converters is always a pass-through.
// rst: asynchronous assert, released synchronously to both clocks, held >= 2 cycles of each.
`timescale 1ns/1ps
module asymap_link_tx #(
    parameter integer KW          = 64,     // kernel stream width (bits, multiple of 8)
    parameter integer LW          = 64,     // link width (bits, multiple of 64)
    parameter integer N_TENSORS   = 1,
    parameter [N_TENSORS*32-1:0] TENSOR_BYTES = {32'd64},
    parameter integer MAX_BEATS   = 256,
    parameter integer SLOTS       = 4,
    parameter integer FIFO_ADDR_W = 5,
    parameter [7:0]   SRC         = 8'd0,
    parameter [7:0]   DST         = 8'd1
) (
    // rst resets the clock-crossing FIFO asynchronously and the other blocks synchronously
    // (see the header): deliberate, so tell the linter.
    /* verilator lint_off SYNCASYNCNET */
    input  wire                    rst,
    /* verilator lint_on SYNCASYNCNET */
    input  wire                    k_clk,
    input  wire                    l_clk,
    input  wire [N_TENSORS*KW-1:0] s_tdata,
    input  wire [N_TENSORS-1:0]    s_tvalid,
    output wire [N_TENSORS-1:0]    s_tready,
    output wire [LW-1:0]           m_link_tdata,
    output wire [LW/8-1:0]         m_link_tkeep,
    output wire                    m_link_tlast,
    output wire                    m_link_tvalid,
    input  wire                    m_link_tready,
    input  wire [15:0]             s_credit_tdata,
    input  wire                    s_credit_tvalid,
    output wire                    s_credit_tready,
    output wire [31:0]             frames_sent,
    output wire                    credit_stall
);
    localparam integer FW = (KW > LW) ? KW : LW;      // width at the clock crossing

    wire [KW-1:0] x_tdata; wire [KW/8-1:0] x_tkeep; wire x_tlast, x_tvalid, x_tready; wire [7:0] x_tdest;
    asymap_tensor_mux #(.KW(KW), .N_TENSORS(N_TENSORS), .TENSOR_BYTES(TENSOR_BYTES)) u_mux (
        .clk(k_clk), .rst(rst), .s_tdata(s_tdata), .s_tvalid(s_tvalid), .s_tready(s_tready),
        .m_tdata(x_tdata), .m_tkeep(x_tkeep), .m_tlast(x_tlast), .m_tdest(x_tdest),
        .m_tvalid(x_tvalid), .m_tready(x_tready));

    // kernel side, FIFO width
    wire [FW-1:0] a_tdata; wire [FW/8-1:0] a_tkeep; wire a_tlast, a_tvalid, a_tready; wire [7:0] a_tdest;
    // link side, FIFO width
    wire [FW-1:0] b_tdata; wire [FW/8-1:0] b_tkeep; wire b_tlast, b_tvalid, b_tready; wire [7:0] b_tdest;
    // link side, link width
    wire [LW-1:0] c_tdata; wire [LW/8-1:0] c_tkeep; wire c_tlast, c_tvalid, c_tready; wire [7:0] c_tdest;

    asymap_axis_width #(.S_W(KW), .M_W(FW)) u_wk (
        .clk(k_clk), .rst(rst),
        .s_tdata(x_tdata), .s_tkeep(x_tkeep), .s_tlast(x_tlast), .s_tdest(x_tdest),
        .s_tvalid(x_tvalid), .s_tready(x_tready),
        .m_tdata(a_tdata), .m_tkeep(a_tkeep), .m_tlast(a_tlast), .m_tdest(a_tdest),
        .m_tvalid(a_tvalid), .m_tready(a_tready));

    wire fifo_full, fifo_empty;
    asymap_async_fifo #(.DATA_W(FW + FW/8 + 9), .ADDR_W(FIFO_ADDR_W)) u_cdc (
        .rst(rst),
        .s_clk(k_clk), .s_tdata({a_tdest, a_tlast, a_tkeep, a_tdata}), .s_tvalid(a_tvalid),
        .s_tready(a_tready), .full(fifo_full),
        .m_clk(l_clk), .m_tdata({b_tdest, b_tlast, b_tkeep, b_tdata}), .m_tvalid(b_tvalid),
        .m_tready(b_tready), .empty(fifo_empty));

    asymap_axis_width #(.S_W(FW), .M_W(LW)) u_wl (
        .clk(l_clk), .rst(rst),
        .s_tdata(b_tdata), .s_tkeep(b_tkeep), .s_tlast(b_tlast), .s_tdest(b_tdest),
        .s_tvalid(b_tvalid), .s_tready(b_tready),
        .m_tdata(c_tdata), .m_tkeep(c_tkeep), .m_tlast(c_tlast), .m_tdest(c_tdest),
        .m_tvalid(c_tvalid), .m_tready(c_tready));

    asymap_framer #(.W(LW), .N_TENSORS(N_TENSORS), .TENSOR_BYTES(TENSOR_BYTES),
                    .MAX_BEATS(MAX_BEATS), .SLOTS(SLOTS), .SRC(SRC), .DST(DST)) u_framer (
        .clk(l_clk), .rst(rst),
        .s_tdata(c_tdata), .s_tkeep(c_tkeep), .s_tdest(c_tdest), .s_tvalid(c_tvalid), .s_tready(c_tready),
        .m_tdata(m_link_tdata), .m_tkeep(m_link_tkeep), .m_tlast(m_link_tlast),
        .m_tvalid(m_link_tvalid), .m_tready(m_link_tready),
        .s_credit_tdata(s_credit_tdata), .s_credit_tvalid(s_credit_tvalid),
        .s_credit_tready(s_credit_tready), .frames_sent(frames_sent), .credit_stall(credit_stall));

    wire unused = &{1'b0, c_tlast, fifo_full, fifo_empty};
endmodule
