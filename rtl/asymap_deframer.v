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
    parameter [7:0]   DST       = 8'd1,
    parameter [15:0]  SEQ0      = 16'd0         // first expected sequence number (as the framer's)
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
    reg  [15:0]   rd_ack, bad_since, ack_sent;

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

    // ACK: frames below it have left the buffer. The last good frame read out sets it exactly
    // (covering every dropped frame before it); frames dropped after the last good one count only
    // once the buffer is empty, when nothing older can still be inside.
    wire [15:0] ack = (rptr == commit) ? rd_ack + bad_since : rd_ack;

    assign s_tready        = 1'b1;
    assign m_credit_tdata  = ack;
    assign m_credit_tvalid = ack != ack_sent;

    // ---- what this beat means (combinational; the registers below only act on it)
    localparam [15:0] MAXB = MAX_BEATS[15:0];
    wire in_hdr     = s_tvalid & (state == ST_HDR);
    wire in_pay     = s_tvalid & (state == ST_PAY);
    wire magic_bad  = in_hdr & (h[7:0] != 8'hA5);
    wire hlen_bad   = in_hdr & ~magic_bad & (s_tlast | (h_len == 16'd0) | (h_len > MAXB));
    wire hdr_ok     = in_hdr & ~magic_bad & ~hlen_bad;
    wire is_payload = in_pay & (cnt != len);
    wire short_bad  = is_payload & s_tlast;                  // TLAST before the trailer
    wire pay_write  = is_payload & ~s_tlast;
    wire long_bad   = in_pay & (cnt == len) & ~s_tlast;      // no TLAST on the trailer
    wire at_trl     = in_pay & (cnt == len) & s_tlast;
    wire ovf_bad    = at_trl & ovf;
    wire crc_bad    = at_trl & ~ovf & (s_tdata[31:0] != ~crc);
    wire dst_bad    = at_trl & ~ovf & ~crc_bad & (dst != DST);
    wire trl_ok     = at_trl & ~ovf & ~crc_bad & ~dst_bad;
    wire stale      = trl_ok & (seq_diff != 16'd0) & seq_diff[15];   // seq behind: duplicate
    wire good       = trl_ok & ~stale;                                // seq ahead: kept, gap
    wire len_bad    = hlen_bad | short_bad | long_bad;
    // Errors after which data may be missing (a duplicate or a frame for another board loses nothing).
    wire lossy      = magic_bad | len_bad | ovf_bad | crc_bad;
    // Frames the transmitter sent that were dropped here (a recognised duplicate was never sent).
    wire bad_done   = lossy | dst_bad;
    wire rewind     = short_bad | long_bad | ovf_bad | crc_bad | dst_bad | stale;

    always @(posedge clk) begin
        if (rst) begin
            state <= ST_HDR; len <= 0; cnt <= 0; seq <= 0; exp_seq <= SEQ0; tid <= 0; dst <= 0;
            crc <= 32'hFFFFFFFF; ovf <= 1'b0; gap_pending <= 1'b0; frame_gap <= 1'b0;
            wptr <= 0; commit <= 0; rptr <= 0; rd_ack <= SEQ0; bad_since <= 0; ack_sent <= SEQ0;
            frames_ok <= 0; crc_errors <= 0; seq_errors <= 0; length_errors <= 0;
            magic_errors <= 0; dest_errors <= 0; overflow_errors <= 0;
        end else begin
            // next state
            if (magic_bad | hlen_bad)      state <= s_tlast ? ST_HDR : ST_SKIP;
            else if (hdr_ok)               state <= ST_PAY;
            else if (short_bad | at_trl)   state <= ST_HDR;
            else if (long_bad)             state <= ST_SKIP;
            else if (s_tvalid & s_tlast & (state == ST_SKIP)) state <= ST_HDR;

            if (hdr_ok) begin
                len <= h_len; seq <= h[47:32]; tid <= h[31:24]; dst <= h[23:16];
                crc <= asymap_crc32_next(32'hFFFFFFFF, s_tdata);
                cnt <= 0; ovf <= 1'b0;
                // If this frame turns out good, does it follow a loss?
                frame_gap <= gap_pending | (h[47:32] != exp_seq);
            end
            if (pay_write) begin
                if (room && !ovf) begin
                    mem[wptr[ADDR_W-1:0]] <= {frame_gap, cnt == 16'd0, cnt + 16'd1 == len, tid, seq, s_tdata};
                    wptr <= wptr + 1'b1;
                end else begin
                    ovf <= 1'b1;
                end
                crc <= crc_n;
                cnt <= cnt + 16'd1;
            end
            if (rewind) wptr <= commit;
            if (good) begin
                commit <= wptr;
                frames_ok <= frames_ok + 1;
            end
            if (stale | good) exp_seq <= seq + 16'd1;
            if (lossy) gap_pending <= 1'b1;
            else if (good) gap_pending <= 1'b0;

            // sticky counters
            if (magic_bad) magic_errors <= magic_errors + 1;
            if (len_bad)   length_errors <= length_errors + 1;
            if (ovf_bad)   overflow_errors <= overflow_errors + 1;
            if (crc_bad)   crc_errors <= crc_errors + 1;
            if (dst_bad)   dest_errors <= dest_errors + 1;
            if (stale | (good & (seq_diff != 16'd0))) seq_errors <= seq_errors + 1;

            // read side and ACK bookkeeping
            if (rfire) rptr <= rptr + 1'b1;
            if (rfire && m_tlast) rd_ack <= rd_seq + 16'd1;
            if (good) bad_since <= 16'd0;
            else if (bad_done) bad_since <= bad_since + 16'd1;
            if (m_credit_tready && m_credit_tvalid) ack_sent <= ack;
        end
    end

    wire unused = &{1'b0, h[15:8]};     // the source id is informational
endmodule
