// Testbench top (tests/rtl/test_rtl_cmac.py): two boards' transport over 100G Ethernet, each
// asymap_xport + asymap_cmac_credit; the MACs and the cable are the cocotb model (tb_cmac.py), which
// carries A's tx_a_* into B's rx_b_* and B's tx_b_* into A's rx_a_*. CREDIT_LINK=0 cuts the credit
// words both boards receive (the slow-consumer test then must lose frames).
`timescale 1ns/1ps
module tb_cmac_top #(
    parameter integer KW = 512,
    parameter integer RX_ADDR_W = 9,
    parameter integer PKT_ADDR_W = 5,
    parameter integer SPACING = 16,
    parameter integer KEEPALIVE = 256,
    parameter integer IDLE_CYCLES = 2048,
    parameter integer CREDIT_LINK = 1
) (
    input wire rst,
    input wire ka_clk,
    input wire kb_clk,
    input wire c_clk,
    input wire [KW-1:0] s_a_tdata,
    input wire [KW/8-1:0] s_a_tkeep,
    input wire s_a_tlast,
    input wire s_a_tvalid,
    output wire s_a_tready,
    output wire [KW-1:0] m_a_tdata,
    output wire [KW/8-1:0] m_a_tkeep,
    output wire m_a_tlast,
    output wire m_a_tvalid,
    input wire m_a_tready,
    output wire [511:0] tx_a_tdata,
    output wire [63:0] tx_a_tkeep,
    output wire tx_a_tlast,
    output wire tx_a_tvalid,
    input wire tx_a_tready,
    input wire [511:0] rx_a_tdata,
    input wire [63:0] rx_a_tkeep,
    input wire rx_a_tlast,
    input wire rx_a_tvalid,
    input wire rx_a_tuser,
    output wire [31:0] overflow_a,
    output wire stall_a,
    output wire [31:0] credit_sent_a,
    output wire [31:0] credit_rx_a,
    output wire [31:0] dropped_a,
    input wire [KW-1:0] s_b_tdata,
    input wire [KW/8-1:0] s_b_tkeep,
    input wire s_b_tlast,
    input wire s_b_tvalid,
    output wire s_b_tready,
    output wire [KW-1:0] m_b_tdata,
    output wire [KW/8-1:0] m_b_tkeep,
    output wire m_b_tlast,
    output wire m_b_tvalid,
    input wire m_b_tready,
    output wire [511:0] tx_b_tdata,
    output wire [63:0] tx_b_tkeep,
    output wire tx_b_tlast,
    output wire tx_b_tvalid,
    input wire tx_b_tready,
    input wire [511:0] rx_b_tdata,
    input wire [63:0] rx_b_tkeep,
    input wire rx_b_tlast,
    input wire rx_b_tvalid,
    input wire rx_b_tuser,
    output wire [31:0] overflow_b,
    output wire stall_b,
    output wire [31:0] credit_sent_b,
    output wire [31:0] credit_rx_b,
    output wire [31:0] dropped_b
);
    // board A
    wire [511:0] c_a_tx_data, c_a_rx_data;
    wire [63:0] c_a_tx_keep, c_a_rx_keep;
    wire c_a_tx_last, c_a_tx_valid, c_a_tx_ready, c_a_rx_last, c_a_rx_valid;
    wire [31:0] cc_a_out, cc_a_in, sent_a;
    wire cc_a_out_valid, cc_a_in_valid;
    asymap_xport #(.KW(KW), .CW(512), .RX_ADDR_W(RX_ADDR_W), .IDLE_CYCLES(IDLE_CYCLES)) u_xport_a (
        .rst(rst), .k_clk(ka_clk), .c_clk(c_clk),
        .s_axis_k_tdata(s_a_tdata), .s_axis_k_tkeep(s_a_tkeep), .s_axis_k_tlast(s_a_tlast),
        .s_axis_k_tvalid(s_a_tvalid), .s_axis_k_tready(s_a_tready),
        .m_axis_c_tdata(c_a_tx_data), .m_axis_c_tkeep(c_a_tx_keep), .m_axis_c_tlast(c_a_tx_last),
        .m_axis_c_tvalid(c_a_tx_valid), .m_axis_c_tready(c_a_tx_ready),
        .s_axis_c_tdata(c_a_rx_data), .s_axis_c_tkeep(c_a_rx_keep), .s_axis_c_tlast(c_a_rx_last),
        .s_axis_c_tvalid(c_a_rx_valid), .s_axis_c_tready(),
        .m_axis_k_tdata(m_a_tdata), .m_axis_k_tkeep(m_a_tkeep), .m_axis_k_tlast(m_a_tlast),
        .m_axis_k_tvalid(m_a_tvalid), .m_axis_k_tready(m_a_tready),
        .m_axis_cc_tdata(cc_a_out), .m_axis_cc_tvalid(cc_a_out_valid), .m_axis_cc_tready(),
        .s_axis_cc_tdata(cc_a_in), .s_axis_cc_tvalid(cc_a_in_valid && CREDIT_LINK != 0), .s_axis_cc_tready(),
        .beats_sent(sent_a), .credit_stall(stall_a), .overflow_errors(overflow_a)
    );
    asymap_cmac_credit #(.PKT_ADDR_W(PKT_ADDR_W), .SPACING(SPACING), .KEEPALIVE(KEEPALIVE), .RX_PACK(KW > 512 ? KW / 512 : 1)) u_cmac_a (
        .clk(c_clk), .rst(rst),
        .s_data_tdata(c_a_tx_data), .s_data_tkeep(c_a_tx_keep), .s_data_tlast(c_a_tx_last),
        .s_data_tvalid(c_a_tx_valid), .s_data_tready(c_a_tx_ready),
        .s_cc_tdata(cc_a_out), .s_cc_tvalid(cc_a_out_valid), .s_cc_tready(),
        .tx_axis_tdata(tx_a_tdata), .tx_axis_tkeep(tx_a_tkeep), .tx_axis_tlast(tx_a_tlast),
        .tx_axis_tvalid(tx_a_tvalid), .tx_axis_tready(tx_a_tready),
        .rx_axis_tdata(rx_a_tdata), .rx_axis_tkeep(rx_a_tkeep), .rx_axis_tlast(rx_a_tlast),
        .rx_axis_tvalid(rx_a_tvalid), .rx_axis_tuser(rx_a_tuser),
        .m_data_tdata(c_a_rx_data), .m_data_tkeep(c_a_rx_keep), .m_data_tlast(c_a_rx_last),
        .m_data_tvalid(c_a_rx_valid),
        .m_cc_tdata(cc_a_in), .m_cc_tvalid(cc_a_in_valid), .m_cc_tready(1'b1),
        .credit_packets_sent(credit_sent_a), .credit_updates_received(credit_rx_a), .rx_dropped_packets(dropped_a)
    );
    // board B
    wire [511:0] c_b_tx_data, c_b_rx_data;
    wire [63:0] c_b_tx_keep, c_b_rx_keep;
    wire c_b_tx_last, c_b_tx_valid, c_b_tx_ready, c_b_rx_last, c_b_rx_valid;
    wire [31:0] cc_b_out, cc_b_in, sent_b;
    wire cc_b_out_valid, cc_b_in_valid;
    asymap_xport #(.KW(KW), .CW(512), .RX_ADDR_W(RX_ADDR_W), .IDLE_CYCLES(IDLE_CYCLES)) u_xport_b (
        .rst(rst), .k_clk(kb_clk), .c_clk(c_clk),
        .s_axis_k_tdata(s_b_tdata), .s_axis_k_tkeep(s_b_tkeep), .s_axis_k_tlast(s_b_tlast),
        .s_axis_k_tvalid(s_b_tvalid), .s_axis_k_tready(s_b_tready),
        .m_axis_c_tdata(c_b_tx_data), .m_axis_c_tkeep(c_b_tx_keep), .m_axis_c_tlast(c_b_tx_last),
        .m_axis_c_tvalid(c_b_tx_valid), .m_axis_c_tready(c_b_tx_ready),
        .s_axis_c_tdata(c_b_rx_data), .s_axis_c_tkeep(c_b_rx_keep), .s_axis_c_tlast(c_b_rx_last),
        .s_axis_c_tvalid(c_b_rx_valid), .s_axis_c_tready(),
        .m_axis_k_tdata(m_b_tdata), .m_axis_k_tkeep(m_b_tkeep), .m_axis_k_tlast(m_b_tlast),
        .m_axis_k_tvalid(m_b_tvalid), .m_axis_k_tready(m_b_tready),
        .m_axis_cc_tdata(cc_b_out), .m_axis_cc_tvalid(cc_b_out_valid), .m_axis_cc_tready(),
        .s_axis_cc_tdata(cc_b_in), .s_axis_cc_tvalid(cc_b_in_valid && CREDIT_LINK != 0), .s_axis_cc_tready(),
        .beats_sent(sent_b), .credit_stall(stall_b), .overflow_errors(overflow_b)
    );
    asymap_cmac_credit #(.PKT_ADDR_W(PKT_ADDR_W), .SPACING(SPACING), .KEEPALIVE(KEEPALIVE), .RX_PACK(KW > 512 ? KW / 512 : 1)) u_cmac_b (
        .clk(c_clk), .rst(rst),
        .s_data_tdata(c_b_tx_data), .s_data_tkeep(c_b_tx_keep), .s_data_tlast(c_b_tx_last),
        .s_data_tvalid(c_b_tx_valid), .s_data_tready(c_b_tx_ready),
        .s_cc_tdata(cc_b_out), .s_cc_tvalid(cc_b_out_valid), .s_cc_tready(),
        .tx_axis_tdata(tx_b_tdata), .tx_axis_tkeep(tx_b_tkeep), .tx_axis_tlast(tx_b_tlast),
        .tx_axis_tvalid(tx_b_tvalid), .tx_axis_tready(tx_b_tready),
        .rx_axis_tdata(rx_b_tdata), .rx_axis_tkeep(rx_b_tkeep), .rx_axis_tlast(rx_b_tlast),
        .rx_axis_tvalid(rx_b_tvalid), .rx_axis_tuser(rx_b_tuser),
        .m_data_tdata(c_b_rx_data), .m_data_tkeep(c_b_rx_keep), .m_data_tlast(c_b_rx_last),
        .m_data_tvalid(c_b_rx_valid),
        .m_cc_tdata(cc_b_in), .m_cc_tvalid(cc_b_in_valid), .m_cc_tready(1'b1),
        .credit_packets_sent(credit_sent_b), .credit_updates_received(credit_rx_b), .rx_dropped_packets(dropped_b)
    );
    wire unused = &{1'b0, sent_a, sent_b};
endmodule
