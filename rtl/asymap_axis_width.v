// asymap_axis_width: AXI4-Stream width converter, S_W -> M_W bits (one must divide the other).
//
// Up (M_W = R*S_W): R input beats fill one output word, lane 0 in the low bits (little-endian, as
//   the frame format). An input beat with TLAST closes the word early: the missing lanes are zero
//   and their TKEEP bits are 0.
// Down (S_W = R*M_W): each input word leaves as R beats, low lane first. On a TLAST word the beats
//   after the last lane holding a kept byte are not sent, and TLAST moves to that lane.
// Equal widths: wires.
// TDEST is carried along (latched from the first beat of an up-converted word).
// Throughput: one input beat per cycle (up) or one output beat per cycle (down).
`timescale 1ns/1ps
module asymap_axis_width #(
    parameter integer S_W    = 64,
    parameter integer M_W    = 512,
    parameter integer DEST_W = 8
) (
    input  wire                clk,
    input  wire                rst,
    input  wire [S_W-1:0]      s_tdata,
    input  wire [S_W/8-1:0]    s_tkeep,
    input  wire                s_tlast,
    input  wire [DEST_W-1:0]   s_tdest,
    input  wire                s_tvalid,
    output wire                s_tready,
    output wire [M_W-1:0]      m_tdata,
    output wire [M_W/8-1:0]    m_tkeep,
    output wire                m_tlast,
    output wire [DEST_W-1:0]   m_tdest,
    output wire                m_tvalid,
    input  wire                m_tready
);
    localparam integer SK = S_W / 8;
    localparam integer MK = M_W / 8;

    generate
    if (M_W == S_W) begin : g_pass
        assign m_tdata = s_tdata; assign m_tkeep = s_tkeep; assign m_tlast = s_tlast;
        assign m_tdest = s_tdest; assign m_tvalid = s_tvalid; assign s_tready = m_tready;
        wire unused = &{1'b0, clk, rst};
    end else if (M_W > S_W) begin : g_up
        localparam integer R  = M_W / S_W;
        localparam integer IW = (R > 1) ? $clog2(R) : 1;
        localparam integer LAST_I = R - 1;
        localparam [IW-1:0] LAST_IDX = LAST_I[IW-1:0];
        reg [M_W-1:0]    dbuf;
        reg [MK-1:0]     kbuf;
        reg              lbuf, vbuf;
        reg [DEST_W-1:0] dest;
        reg [IW-1:0]     idx;
        wire sfire = s_tvalid & s_tready;
        assign s_tready = ~vbuf | m_tready;     // a full word waiting blocks the input
        always @(posedge clk) begin
            if (rst) begin
                dbuf <= 0; kbuf <= 0; lbuf <= 1'b0; vbuf <= 1'b0; dest <= 0; idx <= 0;
            end else begin
                if (vbuf & m_tready) vbuf <= 1'b0;
                if (sfire) begin
                    if (idx == 0) begin
                        dbuf <= {{(M_W-S_W){1'b0}}, s_tdata};
                        kbuf <= {{(MK-SK){1'b0}}, s_tkeep};
                        dest <= s_tdest;
                    end else begin
                        dbuf[idx*S_W +: S_W] <= s_tdata;
                        kbuf[idx*SK +: SK]   <= s_tkeep;
                    end
                    if (s_tlast || idx == LAST_IDX) begin
                        vbuf <= 1'b1; lbuf <= s_tlast; idx <= 0;
                    end else begin
                        idx <= idx + 1'b1;
                    end
                end
            end
        end
        assign m_tdata = dbuf; assign m_tkeep = kbuf; assign m_tlast = lbuf;
        assign m_tdest = dest; assign m_tvalid = vbuf;
    end else begin : g_down
        localparam integer R  = S_W / M_W;
        localparam integer IW = (R > 1) ? $clog2(R) : 1;
        localparam integer LAST_I = R - 1;
        reg [IW-1:0] idx;
        reg [IW-1:0] last_lane;
        integer i;
        // Last lane to send: R-1, or on a TLAST word the highest lane with a kept byte.
        always @* begin
            last_lane = LAST_I[IW-1:0];
            if (s_tlast) begin
                last_lane = 0;
                for (i = 0; i < R; i = i + 1)
                    if (|s_tkeep[i*MK +: MK]) last_lane = i[IW-1:0];
            end
        end
        wire at_last = idx == last_lane;
        wire mfire = s_tvalid & m_tready;
        always @(posedge clk) begin
            if (rst) idx <= 0;
            else if (mfire) idx <= at_last ? {IW{1'b0}} : idx + {{(IW-1){1'b0}}, 1'b1};
        end
        assign m_tdata  = s_tdata[idx*M_W +: M_W];
        assign m_tkeep  = s_tkeep[idx*MK +: MK];
        assign m_tlast  = s_tlast & at_last;
        assign m_tdest  = s_tdest;
        assign m_tvalid = s_tvalid;
        assign s_tready = m_tready & at_last;
    end
    endgenerate
endmodule
