// asymap_async_fifo: AXI4-Stream clock-domain-crossing FIFO.
//
// Classic Gray-pointer design: each side keeps a binary pointer (ADDR_W+1 bits, the extra bit
// tells full from empty) and its Gray code; the Gray pointer crosses to the other clock through two
// flip-flops, so at most one bit changes per transfer and a late sample only makes the other side
// conservative (it sees the FIFO fuller / emptier than it is), never wrong.
// full/empty are registered from the *next* pointer values, so a write and a read can happen every
// cycle on both sides. First-word fall-through either way, so m_tvalid means "m_tdata is valid now":
//   BLOCK = 0: LUT-RAM, the read data comes straight from the memory (asynchronous read);
//   BLOCK = 1: block RAM, whose read is registered (UG573: a RAMB36E2/RAMB18E2 read takes a clock):
//              the memory's output register q is loaded whenever it is empty or being taken, so a
//              word per cycle still leaves; the FIFO then holds 2**ADDR_W words + the one in q, and
//              `empty` means "nothing to read" (q empty). A deep buffer belongs in block RAM: as
//              LUT-RAM a 1,024 x 577-bit credit buffer takes ~12,900 LUTs, as block RAM 17 BRAM36
//              (costmodel.transport_ends charges whichever the parameters choose).
// rst is asynchronous to both clocks (assert any time, deassert synchronously to both: the
// integrator's reset bridge does that); it empties the FIFO.
`timescale 1ns/1ps
module asymap_async_fifo #(
    parameter integer DATA_W = 64,
    parameter integer ADDR_W = 4,         // depth = 2**ADDR_W, ADDR_W >= 2
    parameter integer BLOCK  = 0          // 1: block RAM (registered read), 0: LUT-RAM
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

    wire rfire;                            // a word leaves the memory (read side)

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

    // ---- the memory (one writer on s_clk, one reader on m_clk: a simple dual-port RAM)
    generate
        if (BLOCK != 0) begin : g_block
            (* ram_style = "block" *) reg [DATA_W-1:0] mem [0:DEPTH-1];
            reg [DATA_W-1:0] q;
            reg              q_valid;
            assign rfire = ~empty_r & (~q_valid | m_tready);
            always @(posedge s_clk) begin
                if (wfire) mem[wbin[ADDR_W-1:0]] <= s_tdata;
            end
            always @(posedge m_clk) begin
                if (rfire) q <= mem[rbin[ADDR_W-1:0]];
            end
            always @(posedge m_clk or posedge rst) begin
                if (rst) q_valid <= 1'b0;
                else if (rfire) q_valid <= 1'b1;
                else if (m_tready) q_valid <= 1'b0;
            end
            assign m_tdata  = q;
            assign m_tvalid = q_valid;
            assign empty    = ~q_valid;
        end else begin : g_lutram
            (* ram_style = "distributed" *) reg [DATA_W-1:0] mem [0:DEPTH-1];
            assign rfire = m_tready & ~empty_r;
            always @(posedge s_clk) begin
                if (wfire) mem[wbin[ADDR_W-1:0]] <= s_tdata;
            end
            assign m_tdata  = mem[rbin[ADDR_W-1:0]];
            assign m_tvalid = ~empty_r;
            assign empty    = empty_r;
        end
    endgenerate
endmodule
