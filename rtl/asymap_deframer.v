// asymap_deframer: link receiver. Checks every frame, stores its payload in a frame buffer and
// releases it only after the trailer proved it good, so a bad frame never leaves as data.
//
// Checks, in this order (the same order as linkproto.decode_stream, so the counters match it):
//   1. magic     header byte 0 != 0xA5                         -> magic_errors
//   2. length    TLAST not exactly on beat length+1 after the header, or length 0, or
//                length > MAX_BEATS (cannot be buffered)        -> length_errors
//   3. CRC       trailer bits [31:0] != zlib CRC-32 of header+payload beats -> crc_errors
//   4. dest      header destination != DST                      -> dest_errors
//   5. sequence  header seq != expected                         -> seq_errors
// A frame failing 1-4 is dropped. A sequence mismatch means frames were lost (seq ahead of the
// expected one: the frame itself is intact and is kept, flagged as following a gap) or a frame came
// twice (seq behind: dropped). Either way the expected number becomes seq+1. After any error the
// receiver resynchronizes on the beat after the next TLAST. The counters are sticky (they only
// grow; reset clears them).
//
// The link cannot be back-pressured (s_tready is constant 1); the credit scheme (see
// asymap_framer) guarantees room. The buffer holds 2**ADDR_W payload beats; should a misbehaving
// link overrun it anyway, the frame is dropped and counted in overflow_errors.
//
// Output (m_*): payload beats of good frames in order, TDEST = tensor id, TLAST = last beat of the
// frame, TUSER[0] = first beat of the frame, TUSER[1] = a frame was lost before this one.
// Credit (m_credit_*): ACK, the sequence number below which all frames have left the buffer; sent
// whenever it changes (the latest value wins, so the reverse channel may merge updates).
`timescale 1ns/1ps
module asymap_deframer #(
    parameter integer W         = 64,
    parameter integer MAX_BEATS = 256,
    parameter integer ADDR_W    = 10,
    parameter [7:0]   DST       = 8'd1
) (
    input  wire           clk,
    input  wire           rst,
    // from the link
    input  wire [W-1:0]   s_tdata,
    input  wire           s_tlast,
    input  wire           s_tvalid,
    output wire           s_tready,
    // good payload beats
    output wire [W-1:0]   m_tdata,
    output wire [7:0]     m_tdest,
    output wire           m_tlast,
    output wire [1:0]     m_tuser,
    output wire           m_tvalid,
    input  wire           m_tready,
    // credit return (reverse channel)
    output wire [15:0]    m_credit_tdata,
    output wire           m_credit_tvalid,
    input  wire           m_credit_tready,
    // sticky status counters
    output reg  [31:0]    frames_ok,
    output reg  [31:0]    crc_errors,
    output reg  [31:0]    seq_errors,
    output reg  [31:0]    length_errors,
    output reg  [31:0]    magic_errors,
    output reg  [31:0]    dest_errors,
    output reg  [31:0]    overflow_errors
);
    localparam integer CRC_W = W;
    `include "asymap_crc32.vh"

    localparam integer DEPTH = 1 << ADDR_W;
    localparam integer EW    = W + 27;          // {gap, first, last, tid[8], seq[16], data[W]}

    localparam [1:0] ST_HDR = 2'd0, ST_PAY = 2'd1, ST_SKIP = 2'd2;

    reg [EW-1:0] mem [0:DEPTH-1];

    reg  [1:0]    state;
    reg  [15:0]   len, cnt, seq, exp_seq;
    reg  [7:0]    tid, dst;
    reg  [31:0]   crc;
    reg           ovf, gap_pending, frame_gap;
    reg  [ADDR_W:0] wptr, commit, rptr;
    reg  [15:0]   ack, ack_sent;

    wire [63:0] h        = s_tdata[63:0];
    wire [15:0] h_len    = h[63:48];
    wire [15:0] seq_diff = seq - exp_seq;
    wire        room     = (wptr - rptr) != DEPTH[ADDR_W:0];
    wire [31:0] crc_n    = asymap_crc32_next(crc, s_tdata);

    // ---- read side (frames already proved good)
    wire [EW-1:0] rd     = mem[rptr[ADDR_W-1:0]];
    wire          rvalid = rptr != commit;
    wire          rfire  = rvalid & m_tready;
    assign m_tdata  = rd[W-1:0];
    assign m_tdest  = rd[W+23:W+16];
    assign m_tlast  = rd[W+24];
    assign m_tuser  = {rd[W+26], rd[W+25]};
    assign m_tvalid = rvalid;
    wire [15:0] rd_seq = rd[W+15:W];

    assign s_tready        = 1'b1;
    assign m_credit_tdata  = ack;
    assign m_credit_tvalid = ack != ack_sent;

    // One "frame finished badly" pulse per dropped frame: it frees a credit slot.
    reg bad_done;
    always @(posedge clk) begin
        if (rst) begin
            state <= ST_HDR; len <= 0; cnt <= 0; seq <= 0; exp_seq <= 0; tid <= 0; dst <= 0;
            crc <= 32'hFFFFFFFF; ovf <= 1'b0; gap_pending <= 1'b0; frame_gap <= 1'b0;
            wptr <= 0; commit <= 0; rptr <= 0; ack <= 0; ack_sent <= 0;
            frames_ok <= 0; crc_errors <= 0; seq_errors <= 0; length_errors <= 0;
            magic_errors <= 0; dest_errors <= 0; overflow_errors <= 0;
        end else begin
            bad_done = 1'b0;
            if (s_tvalid) begin
                case (state)
                ST_HDR: begin
                    if (h[7:0] != 8'hA5) begin
                        magic_errors <= magic_errors + 1; bad_done = 1'b1; gap_pending <= 1'b1;
                        if (!s_tlast) state <= ST_SKIP;
                    end else if (s_tlast || h_len == 0 || h_len > MAX_BEATS) begin
                        length_errors <= length_errors + 1; bad_done = 1'b1; gap_pending <= 1'b1;
                        if (!s_tlast) state <= ST_SKIP;
                    end else begin
                        len <= h_len; seq <= h[47:32]; tid <= h[31:24]; dst <= h[23:16];
                        crc <= asymap_crc32_next(32'hFFFFFFFF, s_tdata);
                        cnt <= 0; ovf <= 1'b0;
                        // If this frame turns out good, does it follow a loss?
                        frame_gap <= gap_pending | (h[47:32] != exp_seq);
                        state <= ST_PAY;
                    end
                end
                ST_PAY: begin
                    if (cnt != len) begin                         // payload beat
                        if (s_tlast) begin
                            length_errors <= length_errors + 1; bad_done = 1'b1; gap_pending <= 1'b1;
                            wptr <= commit; state <= ST_HDR;
                        end else begin
                            if (room && !ovf) begin
                                mem[wptr[ADDR_W-1:0]] <= {frame_gap, cnt == 0, cnt + 16'd1 == len,
                                                          tid, seq, s_tdata};
                                wptr <= wptr + 1'b1;
                            end else begin
                                ovf <= 1'b1;
                            end
                            crc <= crc_n;
                            cnt <= cnt + 16'd1;
                        end
                    end else if (!s_tlast) begin                  // trailer expected, TLAST missing
                        length_errors <= length_errors + 1; bad_done = 1'b1; gap_pending <= 1'b1;
                        wptr <= commit; state <= ST_SKIP;
                    end else begin                                // trailer
                        state <= ST_HDR;
                        if (ovf) begin
                            overflow_errors <= overflow_errors + 1; bad_done = 1'b1;
                            gap_pending <= 1'b1; wptr <= commit;
                        end else if (s_tdata[31:0] != ~crc) begin
                            crc_errors <= crc_errors + 1; bad_done = 1'b1;
                            gap_pending <= 1'b1; wptr <= commit;
                        end else if (dst != DST) begin
                            dest_errors <= dest_errors + 1; bad_done = 1'b1; wptr <= commit;
                        end else if (seq_diff != 0 && seq_diff[15]) begin   // stale / duplicate
                            seq_errors <= seq_errors + 1; bad_done = 1'b1; wptr <= commit;
                            exp_seq <= seq + 16'd1;
                        end else begin                                       // good (maybe after a gap)
                            if (seq_diff != 0) seq_errors <= seq_errors + 1;
                            frames_ok <= frames_ok + 1;
                            exp_seq <= seq + 16'd1;
                            commit <= wptr;
                            gap_pending <= 1'b0;
                        end
                    end
                end
                default: begin                                    // ST_SKIP: until TLAST
                    if (s_tlast) state <= ST_HDR;
                end
                endcase
            end
            if (rfire) rptr <= rptr + 1'b1;
            // ACK: a good frame's last beat leaving sets it exactly; a dropped frame frees one slot.
            ack <= ((rfire && m_tlast) ? rd_seq + 16'd1 : ack) + {15'd0, bad_done};
            if (m_credit_tready && m_credit_tvalid) ack_sent <= ack;
        end
    end
endmodule
