// asymap_tensor_demux: routes received tensor beats to the kernel stream of their tensor id
// (TDEST). Beats with an unknown id are dropped.
`timescale 1ns/1ps
module asymap_tensor_demux #(
    parameter integer KW        = 64,
    parameter integer N_TENSORS = 1
) (
    input  wire [KW-1:0]        s_tdata,
    input  wire [KW/8-1:0]      s_tkeep,
    input  wire                 s_tlast,
    input  wire [7:0]           s_tdest,
    input  wire                 s_tvalid,
    output wire                 s_tready,
    output wire [KW-1:0]        m_tdata,      // shared by all outputs
    output wire [KW/8-1:0]      m_tkeep,
    output wire                 m_tlast,
    output wire [N_TENSORS-1:0] m_tvalid,
    input  wire [N_TENSORS-1:0] m_tready
);
    wire known = {24'd0, s_tdest} < N_TENSORS;
    wire [N_TENSORS-1:0] rdy_sel = m_tready >> s_tdest;
    assign m_tdata  = s_tdata;
    assign m_tkeep  = s_tkeep;
    assign m_tlast  = s_tlast;
    genvar i;
    generate for (i = 0; i < N_TENSORS; i = i + 1) begin : g_v
        assign m_tvalid[i] = s_tvalid & (s_tdest == i);
    end endgenerate
    assign s_tready = known ? rdy_sel[0] : 1'b1;
    wire unused = &{1'b0, rdy_sel};
endmodule
