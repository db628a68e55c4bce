// asymap_link_rx: the receiving half of an inter-board link (instantiated on the destination board).
//
//   link RX --deframer--> tensor track --> [width conv] --async FIFO--> [width conv] --demux--> kernels
//              (l_clk: checks, frame buffer, credits)      (CDC)          (k_clk)
// As in asymap_link_tx the FIFO sits at the wider of the two widths.
// rst: asynchronous assert, released synchronously to both clocks, held >= 2 cycles of each.
`timescale 1ns/1ps
module asymap_link_rx #(
    parameter integer KW          = 64,
    parameter integer LW          = 64,
    parameter integer N_TENSORS   = 1,
    parameter [N_TENSORS*32-1:0] TENSOR_BYTES = {32'd64},
    parameter integer MAX_BEATS   = 256,
    parameter integer RX_ADDR_W   = 10,     // frame buffer: 2**RX_ADDR_W link beats
    parameter integer FIFO_ADDR_W = 5,
    parameter [7:0]   DST         = 8'd1
) (
    // rst resets the clock-crossing FIFO asynchronously and the other blocks synchronously
    // (see the header): deliberate, so tell the linter.
    /* verilator lint_off SYNCASYNCNET */
    input  wire                 rst,
    /* verilator lint_on SYNCASYNCNET */
    input  wire                 k_clk,
    input  wire                 l_clk,
    input  wire [LW-1:0]        s_link_tdata,
    input  wire                 s_link_tlast,
    input  wire                 s_link_tvalid,
    output wire                 s_link_tready,
    output wire [KW-1:0]        m_tdata,        // shared by all tensor outputs
    output wire [KW/8-1:0]      m_tkeep,
    output wire                 m_tlast,
    output wire [N_TENSORS-1:0] m_tvalid,
    input  wire [N_TENSORS-1:0] m_tready,
    output wire [15:0]          m_credit_tdata,
    output wire                 m_credit_tvalid,
    input  wire                 m_credit_tready,
    output wire [31:0]          frames_ok,
    output wire [31:0]          crc_errors,
    output wire [31:0]          seq_errors,
    output wire [31:0]          length_errors,
    output wire [31:0]          magic_errors,
    output wire [31:0]          dest_errors,
    output wire [31:0]          overflow_errors,
    output wire [31:0]          frames_discarded,
    output wire [31:0]          tensors_filled
);
    localparam integer FW = (KW > LW) ? KW : LW;

    wire [LW-1:0] d_tdata; wire [7:0] d_tdest; wire d_tlast, d_tvalid, d_tready; wire [1:0] d_tuser;
    asymap_deframer #(.W(LW), .MAX_BEATS(MAX_BEATS), .ADDR_W(RX_ADDR_W), .DST(DST)) u_deframer (
        .clk(l_clk), .rst(rst),
        .s_tdata(s_link_tdata), .s_tlast(s_link_tlast), .s_tvalid(s_link_tvalid), .s_tready(s_link_tready),
        .m_tdata(d_tdata), .m_tdest(d_tdest), .m_tlast(d_tlast), .m_tuser(d_tuser),
        .m_tvalid(d_tvalid), .m_tready(d_tready),
        .m_credit_tdata(m_credit_tdata), .m_credit_tvalid(m_credit_tvalid), .m_credit_tready(m_credit_tready),
        .frames_ok(frames_ok), .crc_errors(crc_errors), .seq_errors(seq_errors),
        .length_errors(length_errors), .magic_errors(magic_errors), .dest_errors(dest_errors),
        .overflow_errors(overflow_errors));

    wire [LW-1:0] t_tdata; wire [LW/8-1:0] t_tkeep; wire t_tlast, t_tvalid, t_tready; wire [7:0] t_tdest;
    asymap_rx_tensor_track #(.W(LW), .N_TENSORS(N_TENSORS), .TENSOR_BYTES(TENSOR_BYTES),
                             .MAX_BEATS(MAX_BEATS)) u_track (
        .clk(l_clk), .rst(rst),
        .s_tdata(d_tdata), .s_tdest(d_tdest), .s_tlast(d_tlast), .s_tuser(d_tuser),
        .s_tvalid(d_tvalid), .s_tready(d_tready),
        .m_tdata(t_tdata), .m_tkeep(t_tkeep), .m_tlast(t_tlast), .m_tdest(t_tdest),
        .m_tvalid(t_tvalid), .m_tready(t_tready), .frames_discarded(frames_discarded),
        .tensors_filled(tensors_filled));

    wire [FW-1:0] a_tdata; wire [FW/8-1:0] a_tkeep; wire a_tlast, a_tvalid, a_tready; wire [7:0] a_tdest;
    wire [FW-1:0] b_tdata; wire [FW/8-1:0] b_tkeep; wire b_tlast, b_tvalid, b_tready; wire [7:0] b_tdest;
    wire [KW-1:0] c_tdata; wire [KW/8-1:0] c_tkeep; wire c_tlast, c_tvalid, c_tready; wire [7:0] c_tdest;

    asymap_axis_width #(.S_W(LW), .M_W(FW)) u_wl (
        .clk(l_clk), .rst(rst),
        .s_tdata(t_tdata), .s_tkeep(t_tkeep), .s_tlast(t_tlast), .s_tdest(t_tdest),
        .s_tvalid(t_tvalid), .s_tready(t_tready),
        .m_tdata(a_tdata), .m_tkeep(a_tkeep), .m_tlast(a_tlast), .m_tdest(a_tdest),
        .m_tvalid(a_tvalid), .m_tready(a_tready));

    wire fifo_full, fifo_empty;
    asymap_async_fifo #(.DATA_W(FW + FW/8 + 9), .ADDR_W(FIFO_ADDR_W)) u_cdc (
        .rst(rst),
        .s_clk(l_clk), .s_tdata({a_tdest, a_tlast, a_tkeep, a_tdata}), .s_tvalid(a_tvalid),
        .s_tready(a_tready), .full(fifo_full),
        .m_clk(k_clk), .m_tdata({b_tdest, b_tlast, b_tkeep, b_tdata}), .m_tvalid(b_tvalid),
        .m_tready(b_tready), .empty(fifo_empty));

    asymap_axis_width #(.S_W(FW), .M_W(KW)) u_wk (
        .clk(k_clk), .rst(rst),
        .s_tdata(b_tdata), .s_tkeep(b_tkeep), .s_tlast(b_tlast), .s_tdest(b_tdest),
        .s_tvalid(b_tvalid), .s_tready(b_tready),
        .m_tdata(c_tdata), .m_tkeep(c_tkeep), .m_tlast(c_tlast), .m_tdest(c_tdest),
        .m_tvalid(c_tvalid), .m_tready(c_tready));

    asymap_tensor_demux #(.KW(KW), .N_TENSORS(N_TENSORS)) u_demux (
        .s_tdata(c_tdata), .s_tkeep(c_tkeep), .s_tlast(c_tlast), .s_tdest(c_tdest),
        .s_tvalid(c_tvalid), .s_tready(c_tready),
        .m_tdata(m_tdata), .m_tkeep(m_tkeep), .m_tlast(m_tlast), .m_tvalid(m_tvalid), .m_tready(m_tready));

    wire unused = &{1'b0, fifo_full, fifo_empty};
endmodule
