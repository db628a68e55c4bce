// asymap_axis_fifo: a one-clock AXI4-Stream FIFO of any depth, the stand-in for the FIFO v++ puts
// on a `stream_connect=<out>:<in>:<depth>` (UG1393 "Specifying Streaming Connections"; PG085's
// AXI4-Stream Data FIFO) when `asymap verify --rtl` joins a split board's SLR kernels.
// First-word fall-through: m_tvalid means m_tdata is valid now; a word per cycle in and out, so it
// holds DEPTH words and passes a beat per cycle with one cycle of latency (a write is seen the
// cycle after). rst is synchronous and active high; it empties the FIFO.
`timescale 1ns/1ps
module asymap_axis_fifo #(
    parameter integer DATA_W = 64,
    parameter integer DEPTH  = 16         // >= 2; any value (stream_connect depths need not be powers of two)
) (
    input  wire              clk,
    input  wire              rst,
    input  wire [DATA_W-1:0] s_tdata,
    input  wire              s_tvalid,
    output wire              s_tready,
    output wire [DATA_W-1:0] m_tdata,
    output wire              m_tvalid,
    input  wire              m_tready
);
    localparam integer AW = (DEPTH <= 2) ? 1 : $clog2(DEPTH);
    localparam integer LAST_I = DEPTH - 1;
    localparam [AW-1:0] LAST = LAST_I[AW-1:0];
    reg [DATA_W-1:0] mem [0:DEPTH-1];
    reg [AW-1:0] wr, rd;
    reg [AW:0] count;
    wire push = s_tvalid && s_tready;
    wire pop = m_tvalid && m_tready;

    assign s_tready = count != DEPTH[AW:0];
    assign m_tvalid = count != 0;
    assign m_tdata = mem[rd];

    always @(posedge clk) begin
        if (rst) begin
            wr <= 0;
            rd <= 0;
            count <= 0;
        end else begin
            if (push) begin
                mem[wr] <= s_tdata;
                wr <= (wr == LAST) ? {AW{1'b0}} : wr + 1'b1;
            end
            if (pop)
                rd <= (rd == LAST) ? {AW{1'b0}} : rd + 1'b1;
            if (push && !pop)
                count <= count + 1'b1;
            else if (pop && !push)
                count <= count - 1'b1;
        end
    end
endmodule
