// asymap_xport: both directions of one full-duplex serial link at one board -- the deployed
// transport kernel's logic (templates/deploy/xport_kernel.v.j2, block designs, the cocotb link
// harness). It adds nothing to the transport layer: it is the credit bridge pair of
// docs/link-protocol.md section 5 (asymap_bridge_tx for the beats this board sends,
// asymap_bridge_rx for the beats it receives) with the credit words on the link's side channel.
//
//   kernel -> s_axis_k (k_clk, KW) -> asymap_bridge_tx -> m_axis_c (c_clk, CW) -> core TX data
//   core RX data -> s_axis_c (c_clk, CW) -> asymap_bridge_rx (credit buffer) -> m_axis_k (k_clk, KW)
//   credit channel (c_clk, 32-bit words, a value sent continuously, latest wins):
//     m_axis_cc: this board's receive-buffer credit word  -> core side channel TX -> far board
//     s_axis_cc: far board's receive-buffer credit word    <- core side channel RX
// The credit channel is separate from the data stream, as docs/link-protocol.md specifies it
// (Aurora 64b/66b: User Flow Control messages; CMAC: a packet of its own EtherType) -- frames pass
// the data path beat for beat and unchanged. Both ends of a link must use the same KW (the link's
// width in plan.json) and RX_ADDR_W: the sender counts the far buffer's entries with RX_PACK.
`timescale 1ns/1ps
module asymap_xport #(
    parameter integer KW          = 64,     // kernel-side AXI4-Stream width (the HLS link width)
    parameter integer CW          = 64,     // core-side width (Aurora 64b/66b 1 lane: 64, CMAC: 512)
    parameter integer FIFO_ADDR_W = 5,      // sending clock-crossing FIFO: 2**FIFO_ADDR_W entries
    parameter integer RX_ADDR_W   = 10,     // receive (credit) buffer: 2**RX_ADDR_W entries, both ends
    parameter integer IDLE_CYCLES = 1024,   // > round trip in c_clk cycles (lost-beat resync)
    // One kernel for both directions of a cage whose two links differ in kernel width (a board that
    // sends to a peer at one width and receives from it at another, e.g. a stage and a host-path
    // station on one FPGA): the receive side's width and the far end's receive buffer, which the
    // send side counts credits against. Equal to KW / RX_ADDR_W for the two ends of one link.
    parameter integer KW_RX       = KW,     // kernel-side width of the received stream (m_axis_k)
    parameter integer FAR_ADDR_W  = RX_ADDR_W // far end's receive buffer: 2**FAR_ADDR_W entries
) (
    // rst: assert any time, release synchronously to both clocks, hold >= 2 cycles of each;
    // reset both ends of a link together (credits restart at 0).
    /* verilator lint_off SYNCASYNCNET */
    input  wire            rst,
    /* verilator lint_on SYNCASYNCNET */
    input  wire            k_clk,
    input  wire            c_clk,
    input  wire [KW-1:0]   s_axis_k_tdata,
    input  wire [KW/8-1:0] s_axis_k_tkeep,
    input  wire            s_axis_k_tlast,
    input  wire            s_axis_k_tvalid,
    output wire            s_axis_k_tready,
    output wire [CW-1:0]   m_axis_c_tdata,
    output wire [CW/8-1:0] m_axis_c_tkeep,
    output wire            m_axis_c_tlast,
    output wire            m_axis_c_tvalid,
    input  wire            m_axis_c_tready,
    input  wire [CW-1:0]   s_axis_c_tdata,
    input  wire [CW/8-1:0] s_axis_c_tkeep,
    input  wire            s_axis_c_tlast,
    input  wire            s_axis_c_tvalid,
    output wire            s_axis_c_tready,
    output wire [KW_RX-1:0]   m_axis_k_tdata,
    output wire [KW_RX/8-1:0] m_axis_k_tkeep,
    output wire            m_axis_k_tlast,
    output wire            m_axis_k_tvalid,
    input  wire            m_axis_k_tready,
    output wire [31:0]     m_axis_cc_tdata,
    output wire            m_axis_cc_tvalid,
    input  wire            m_axis_cc_tready,
    input  wire [31:0]     s_axis_cc_tdata,
    input  wire            s_axis_cc_tvalid,
    output wire            s_axis_cc_tready,
    output wire [31:0]     beats_sent,
    output wire            credit_stall,
    output wire [31:0]     overflow_errors
);
    // far buffer entries are link beats, or KW/CW link beats packed into one kernel-width word
    localparam integer RX_PACK = (KW > CW) ? KW / CW : 1;

    asymap_bridge_tx #(
        .KW(KW), .LW(CW), .FIFO_ADDR_W(FIFO_ADDR_W), .RX_DEPTH(1 << FAR_ADDR_W), .RX_PACK(RX_PACK),
        .IDLE_CYCLES(IDLE_CYCLES)
    ) u_tx (
        .rst(rst), .k_clk(k_clk), .l_clk(c_clk),
        .s_tdata(s_axis_k_tdata), .s_tkeep(s_axis_k_tkeep), .s_tlast(s_axis_k_tlast),
        .s_tvalid(s_axis_k_tvalid), .s_tready(s_axis_k_tready),
        .m_tdata(m_axis_c_tdata), .m_tkeep(m_axis_c_tkeep), .m_tlast(m_axis_c_tlast),
        .m_tvalid(m_axis_c_tvalid), .m_tready(m_axis_c_tready),
        .s_credit_tdata(s_axis_cc_tdata), .s_credit_tvalid(s_axis_cc_tvalid), .s_credit_tready(s_axis_cc_tready),
        .beats_sent(beats_sent), .credit_stall(credit_stall)
    );

    asymap_bridge_rx #(.KW(KW_RX), .LW(CW), .RX_ADDR_W(RX_ADDR_W)) u_rx (
        .rst(rst), .k_clk(k_clk), .l_clk(c_clk),
        .s_tdata(s_axis_c_tdata), .s_tkeep(s_axis_c_tkeep), .s_tlast(s_axis_c_tlast),
        .s_tvalid(s_axis_c_tvalid), .s_tready(s_axis_c_tready),
        .m_tdata(m_axis_k_tdata), .m_tkeep(m_axis_k_tkeep), .m_tlast(m_axis_k_tlast),
        .m_tvalid(m_axis_k_tvalid), .m_tready(m_axis_k_tready),
        .m_credit_tdata(m_axis_cc_tdata), .m_credit_tvalid(m_axis_cc_tvalid), .m_credit_tready(m_axis_cc_tready),
        .overflow_errors(overflow_errors)
    );
endmodule
