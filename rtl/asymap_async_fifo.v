// asymap_async_fifo: AXI4-Stream clock-domain-crossing FIFO.
//
// Classic Gray-pointer design: each side keeps a binary pointer (ADDR_W+1 bits, the extra bit
// tells full from empty) and its Gray code; the Gray pointer crosses to the other clock through two
// flip-flops, so at most one bit changes per transfer and a late sample only makes the other side
// conservative (it sees the FIFO fuller / emptier than it is), never wrong.
// full/empty are registered from the *next* pointer values, so a write and a read can happen every
// cycle on both sides. The read data comes straight from the memory (first-word fall-through,
// LUT-RAM), so m_tvalid means "m_tdata is valid now".
// rst is asynchronous to both clocks (assert any time, deassert synchronously to both: the
// integrator's reset bridge does that); it empties the FIFO.
`timescale 1ns/1ps
module asymap_async_fifo #(
    parameter integer DATA_W = 64,
    parameter integer ADDR_W = 4          // depth = 2**ADDR_W, ADDR_W >= 2
) (
    input  wire              rst,
    // write side (s_clk)
    input  wire              s_clk,
    input  wire [DATA_W-1:0] s_tdata,
    input  wire              s_tvalid,
    output wire              s_tready,
    output wire              full,
    output wire [ADDR_W:0]   s_rptr,      // entries read so far (mod 2**(ADDR_W+1)), seen in s_clk
    // read side (m_clk)
    input  wire              m_clk,
    output wire [DATA_W-1:0] m_tdata,
    output wire              m_tvalid,
    input  wire              m_tready,
    output wire              empty
);
    localparam integer DEPTH = 1 << ADDR_W;

    reg [DATA_W-1:0] mem [0:DEPTH-1];

    reg [ADDR_W:0] wbin, wgray, rbin, rgray;
    (* ASYNC_REG = "TRUE" *) reg [ADDR_W:0] rgray_w1, rgray_w2;   // read pointer in s_clk domain
    (* ASYNC_REG = "TRUE" *) reg [ADDR_W:0] wgray_r1, wgray_r2;   // write pointer in m_clk domain
    reg full_r, empty_r;

    // ---- write side
    wire              wfire   = s_tvalid & ~full_r;
    wire [ADDR_W:0]   wbin_n  = wbin + {{ADDR_W{1'b0}}, wfire};
    wire [ADDR_W:0]   wgray_n = (wbin_n >> 1) ^ wbin_n;
    // Full: the next write pointer equals the read pointer with the two top Gray bits inverted.
    wire              full_n  = wgray_n == {~rgray_w2[ADDR_W:ADDR_W-1], rgray_w2[ADDR_W-2:0]};

    always @(posedge s_clk or posedge rst) begin
        if (rst) begin
            wbin <= 0; wgray <= 0; full_r <= 1'b0; rgray_w1 <= 0; rgray_w2 <= 0;
        end else begin
            wbin <= wbin_n; wgray <= wgray_n; full_r <= full_n;
            rgray_w1 <= rgray; rgray_w2 <= rgray_w1;
        end
    end

    always @(posedge s_clk) begin
        if (wfire) mem[wbin[ADDR_W-1:0]] <= s_tdata;
    end

    assign s_tready = ~full_r;
    assign full     = full_r;
    // The synchronized read pointer in binary (Gray -> binary: XOR of the bits above): what the
    // link bridge returns as credits (rtl/asymap_bridge_rx.v).
    genvar gi;
    generate
        for (gi = 0; gi <= ADDR_W; gi = gi + 1) begin : g_rbin
            assign s_rptr[gi] = ^rgray_w2[ADDR_W:gi];
        end
    endgenerate

    // ---- read side
    wire              rfire   = m_tready & ~empty_r;
    wire [ADDR_W:0]   rbin_n  = rbin + {{ADDR_W{1'b0}}, rfire};
    wire [ADDR_W:0]   rgray_n = (rbin_n >> 1) ^ rbin_n;
    wire              empty_n = rgray_n == wgray_r2;

    always @(posedge m_clk or posedge rst) begin
        if (rst) begin
            rbin <= 0; rgray <= 0; empty_r <= 1'b1; wgray_r1 <= 0; wgray_r2 <= 0;
        end else begin
            rbin <= rbin_n; rgray <= rgray_n; empty_r <= empty_n;
            wgray_r1 <= wgray; wgray_r2 <= wgray_r1;
        end
    end

    assign m_tdata  = mem[rbin[ADDR_W-1:0]];
    assign m_tvalid = ~empty_r;
    assign empty    = empty_r;
endmodule
