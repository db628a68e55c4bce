// asymap_framer: link transmitter. Wraps a tensor stream into frames (header, payload, CRC-32
// trailer; format in generator/asymap/linkproto.py and docs/link-protocol.md), credit-gated.
//
// Input: W-bit beats of tensors one after another, TDEST = tensor id. The number of beats of
// tensor t is ceil(TENSOR_BYTES[t] / (W/8)) (known from the plan), so frame lengths are known
// before the payload arrives and the header can go first without buffering. A tensor longer than
// MAX_BEATS beats is split into frames of MAX_BEATS beats and a last, shorter one. Input TLAST is
// not needed (bytes whose TKEEP is 0 are sent as zero, as the format wants the padding).
//
// Credits: the receiver returns, on the reverse channel, a 16-bit sequence number ACK meaning
// "frames before ACK are out of my buffer". A new frame with sequence number SEQ may start only
// while SEQ - ACK (signed, modulo 2**16) < SLOTS, so at most SLOTS frames are unacknowledged and the
// receiver's buffer of (SLOTS + 2) * MAX_BEATS beats cannot overflow.
//
// Output goes to the link MAC/Aurora TX (link clock): one beat per cycle when m_tready stays high
// (the header of the next frame follows the trailer directly).
`timescale 1ns/1ps
module asymap_framer #(
    parameter integer W            = 64,
    parameter integer N_TENSORS    = 1,
    parameter [N_TENSORS*32-1:0] TENSOR_BYTES = {32'd64},
    parameter integer MAX_BEATS    = 256,
    parameter integer SLOTS        = 4,
    parameter [7:0]   SRC          = 8'd0,
    parameter [7:0]   DST          = 8'd1,
    parameter [15:0]  SEQ0         = 16'd0      // first sequence number after reset (tests: wrap-around)
) (
    input  wire           clk,
    input  wire           rst,
    // tensor beats (link clock domain, link width)
    input  wire [W-1:0]   s_tdata,
    input  wire [W/8-1:0] s_tkeep,
    input  wire [7:0]     s_tdest,
    input  wire           s_tvalid,
    output wire           s_tready,
    // to the link
    output reg  [W-1:0]   m_tdata,
    output wire [W/8-1:0] m_tkeep,
    output wire           m_tlast,
    output wire           m_tvalid,
    input  wire           m_tready,
    // credit return from the receiver (reverse channel)
    input  wire [15:0]    s_credit_tdata,
    input  wire           s_credit_tvalid,
    output wire           s_credit_tready,
    // status
    output reg  [31:0]    frames_sent,
    output wire           credit_stall
);
    localparam integer CRC_W = W;
    localparam integer B     = W / 8;
    localparam integer LOG_B = $clog2(B);           // widths are powers of two
    `include "asymap_crc32.vh"

    localparam [1:0] ST_IDLE = 2'd0, ST_HDR = 2'd1, ST_PAY = 2'd2, ST_TRL = 2'd3;

    reg  [1:0]  state;
    reg  [7:0]  tid;
    reg  [31:0] remaining;   // beats of the current tensor not yet framed (after this frame)
    reg  [15:0] flen, cnt, seq, ack;
    reg  [31:0] crc;

    function [31:0] beats_of;
        input [7:0] t;
        reg [31:0] nbytes;
        begin
            nbytes = ({24'd0, t} < N_TENSORS) ? TENSOR_BYTES[t*32 +: 32] : 32'd1;
            beats_of = (nbytes + B - 1) >> LOG_B;
            if (beats_of == 0) beats_of = 1;
        end
    endfunction

    // ---- when may the next frame start?
    wire        in_trl    = state == ST_TRL;
    wire [15:0] seq_after = in_trl ? seq + 16'd1 : seq;
    wire [31:0] rem_after = remaining;
    wire [15:0] inflight  = seq_after - ack;
    wire        cred_ok   = inflight[15] | ({16'd0, inflight} < SLOTS);
    wire        cont      = rem_after != 0;                 // same tensor, next frame
    wire        can_start = cred_ok & (cont | s_tvalid);
    wire [31:0] rem_new   = cont ? rem_after : beats_of(s_tdest);
    wire [15:0] flen_new  = (rem_new > MAX_BEATS) ? MAX_BEATS[15:0] : rem_new[15:0];
    wire        decide    = (state == ST_IDLE) | (in_trl & m_tready);

    assign credit_stall = decide & (cont | s_tvalid) & ~cred_ok;

    // ---- output beat
    wire [63:0] header = {flen, seq, tid, DST, SRC, 8'hA5};
    reg  [W-1:0] payload;
    integer k;
    always @* begin
        for (k = 0; k < B; k = k + 1)
            payload[k*8 +: 8] = s_tkeep[k] ? s_tdata[k*8 +: 8] : 8'h00;
        case (state)
            ST_HDR:  m_tdata = {{(W-64){1'b0}}, header};
            ST_PAY:  m_tdata = payload;
            default: m_tdata = {{(W-32){1'b0}}, ~crc};
        endcase
    end
    assign m_tvalid        = (state == ST_HDR) | in_trl | ((state == ST_PAY) & s_tvalid);
    assign m_tlast         = in_trl;
    assign m_tkeep         = {B{1'b1}};
    assign s_tready        = (state == ST_PAY) & m_tready;
    assign s_credit_tready = 1'b1;

    always @(posedge clk) begin
        if (rst) begin
            state <= ST_IDLE; tid <= 0; remaining <= 0; flen <= 0; cnt <= 0;
            seq <= SEQ0; ack <= SEQ0; crc <= 32'hFFFFFFFF; frames_sent <= 0;
        end else begin
            if (s_credit_tvalid) ack <= s_credit_tdata;
            case (state)
                ST_HDR: if (m_tready) begin
                    crc   <= asymap_crc32_next(32'hFFFFFFFF, m_tdata);
                    cnt   <= 0;
                    state <= ST_PAY;
                end
                ST_PAY: if (s_tvalid & m_tready) begin
                    crc <= asymap_crc32_next(crc, payload);
                    cnt <= cnt + 16'd1;
                    if (cnt + 16'd1 == flen) state <= ST_TRL;
                end
                default: ;
            endcase
            if (decide) begin
                if (in_trl) begin
                    seq <= seq + 16'd1;
                    frames_sent <= frames_sent + 32'd1;
                end
                if (can_start) begin
                    if (!cont) tid <= s_tdest;
                    remaining <= rem_new - {16'd0, flen_new};
                    flen      <= flen_new;
                    state     <= ST_HDR;
                end else begin
                    state <= ST_IDLE;
                end
            end
        end
    end
endmodule
