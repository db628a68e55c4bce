// asymap_tensor_mux: the tensors crossing one link, taken whole and in a fixed order
// (tensor 0, 1, ..., N-1, then again for the next image). Each input is a kernel stream without
// TLAST; the mux knows each tensor's size (TENSOR_BYTES) and marks its last beat with TLAST and
// the TKEEP of the valid bytes, and tags every beat with TDEST = tensor id.
`timescale 1ns/1ps
module asymap_tensor_mux #(
    parameter integer KW        = 64,
    parameter integer N_TENSORS = 1,
    parameter [N_TENSORS*32-1:0] TENSOR_BYTES = {32'd64}
) (
    input  wire                   clk,
    input  wire                   rst,
    input  wire [N_TENSORS*KW-1:0] s_tdata,
    input  wire [N_TENSORS-1:0]   s_tvalid,
    output wire [N_TENSORS-1:0]   s_tready,
    output wire [KW-1:0]          m_tdata,
    output wire [KW/8-1:0]        m_tkeep,
    output wire                   m_tlast,
    output wire [7:0]             m_tdest,
    output wire                   m_tvalid,
    input  wire                   m_tready
);
    localparam integer B = KW / 8;
    localparam integer LOG_B = $clog2(B);           // widths are powers of two
    reg  [7:0]  sel;
    reg  [31:0] left;               // beats left of the current tensor (0: not started)
    wire [31:0] nbytes = TENSOR_BYTES[sel*32 +: 32];
    wire [31:0] nbeats = (nbytes + B - 1) >> LOG_B;
    wire [31:0] rem    = (left == 0) ? nbeats : left;
    wire [31:0] lastb  = nbytes - ((nbeats - 1) << LOG_B);
    reg  [B-1:0] lastkeep;
    integer k;
    always @* for (k = 0; k < B; k = k + 1) lastkeep[k] = k < lastb;

    assign m_tdata  = s_tdata[sel*KW +: KW];
    wire [N_TENSORS-1:0] vsel = s_tvalid >> sel;
    assign m_tvalid = vsel[0];
    wire unused = &{1'b0, vsel};
    assign m_tlast  = rem == 1;
    assign m_tkeep  = (rem == 1) ? lastkeep : {B{1'b1}};
    assign m_tdest  = sel;
    genvar i;
    generate for (i = 0; i < N_TENSORS; i = i + 1) begin : g_rdy
        assign s_tready[i] = m_tready & (sel == i);
    end endgenerate

    always @(posedge clk) begin
        if (rst) begin
            sel <= 0; left <= 0;
        end else if (m_tvalid & m_tready) begin
            if (rem == 1) begin
                left <= 0;
                sel  <= ({24'd0, sel} == N_TENSORS - 1) ? 8'd0 : sel + 8'd1;
            end else begin
                left <= rem - 1;
            end
        end
    end
endmodule
