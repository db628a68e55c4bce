// asymap_axis_slice: STAGES AXI4-Stream register slices in a row, the stand-in for the register
// slices v++ puts on a stream crossing SLR boundaries (PG085 "SLR Crossing" / PG373 "Multi SLR
// Crossing": registered payload, TVALID and TREADY, no bubbles) when `asymap verify --rtl` joins a
// split board's SLR kernels. Each stage is a fully registered two-entry skid buffer (PG373
// "Fully-Registered"): a beat per cycle, one cycle of latency per stage, every output (TREADY
// included) driven from a flip-flop. STAGES = 0 is a wire. rst is synchronous, active high.
`timescale 1ns/1ps
module asymap_axis_slice #(
    parameter integer DATA_W = 64,
    parameter integer STAGES = 1
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
    wire [DATA_W-1:0] d [0:STAGES];
    wire [STAGES:0] v, r;
    assign d[0] = s_tdata;
    assign v[0] = s_tvalid;
    assign s_tready = r[0];
    assign m_tdata = d[STAGES];
    assign m_tvalid = v[STAGES];
    assign r[STAGES] = m_tready;

    genvar i;
    generate
        if (STAGES == 0) begin : wire_only
            wire unused = &{1'b0, clk, rst};
        end
        for (i = 0; i < STAGES; i = i + 1) begin : stage
            reg [DATA_W-1:0] main_d, skid_d;
            reg main_v, skid_v;
            // accept while the skid entry is free; the skid holds the beat that arrived as the
            // consumer stopped, so TREADY can be a register and still lose nothing
            assign r[i] = !skid_v;
            assign d[i + 1] = main_d;
            assign v[i + 1] = main_v;
            always @(posedge clk) begin
                if (rst) begin
                    main_v <= 1'b0;
                    skid_v <= 1'b0;
                end else if (!main_v || r[i + 1]) begin  // main is free or leaves this cycle
                    if (skid_v) begin
                        main_d <= skid_d;
                        main_v <= 1'b1;
                        skid_v <= 1'b0;
                    end else begin
                        main_d <= d[i];
                        main_v <= v[i];
                    end
                end else if (v[i] && !skid_v) begin  // main holds, a beat arrives: park it
                    skid_d <= d[i];
                    skid_v <= 1'b1;
                end
            end
        end
    endgenerate
endmodule
