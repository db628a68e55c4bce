// asymap_rx_tensor_track: turns the receiver's good frames back into whole tensors.
//
// Frames carry no "end of tensor" mark; the receiver knows each tensor's size from the plan
// (TENSOR_BYTES), so it counts beats: TLAST goes on the tensor's last beat and TKEEP there marks
// the valid bytes (the rest is the format's zero padding).
//
// After a lost frame (TUSER[1] from the deframer) the position in the tensor stream is unknown:
//  * a tensor that was being delivered is completed with zero beats (counted in tensors_filled),
//    so every kernel input always receives whole tensors with TLAST where it expects it;
//  * a frame of a tensor that always fits one frame is that whole tensor: it is delivered;
//  * other frames are discarded (frames_discarded) until one ends a tensor. The framer sends every
//    frame of a tensor with MAX_BEATS beats except the last one, which is shorter (the renderer
//    picks MAX_BEATS so that no tensor's beat count is a multiple of it), so "frame shorter than
//    MAX_BEATS" means "a tensor ends here"; delivery resumes with the next frame.
`timescale 1ns/1ps
module asymap_rx_tensor_track #(
    parameter integer W         = 64,
    parameter integer N_TENSORS = 1,
    parameter [N_TENSORS*32-1:0] TENSOR_BYTES = {32'd64},
    parameter integer MAX_BEATS = 256
) (
    input  wire           clk,
    input  wire           rst,
    input  wire [W-1:0]   s_tdata,
    input  wire [7:0]     s_tdest,
    input  wire           s_tlast,      // last beat of a frame
    input  wire [1:0]     s_tuser,      // {gap before this frame, first beat of frame}
    input  wire           s_tvalid,
    output wire           s_tready,
    output wire [W-1:0]   m_tdata,
    output wire [W/8-1:0] m_tkeep,
    output wire           m_tlast,      // last beat of a tensor
    output wire [7:0]     m_tdest,
    output wire           m_tvalid,
    input  wire           m_tready,
    output reg  [31:0]    frames_discarded,
    output reg  [31:0]    tensors_filled
);
    localparam integer B = W / 8;
    localparam integer LOG_B = $clog2(B);           // widths are powers of two

    function [31:0] bytes_of;
        input [7:0] t;
        begin
            bytes_of = ({24'd0, t} < N_TENSORS) ? TENSOR_BYTES[t*32 +: 32] : 32'd1;
            if (bytes_of == 0) bytes_of = 1;
        end
    endfunction

    reg        synced, dropping, filling;
    reg [31:0] remaining;           // beats left in the current tensor (0: at a tensor boundary)
    reg [7:0]  cur;
    reg [15:0] fbeats;              // beats seen so far in the current frame

    wire        first    = s_tuser[0];
    wire        gap      = s_tuser[1];
    wire        trusted  = synced & ~gap;
    // A frame starts that does not continue the tensor in progress: complete that one with zeros.
    wire        start_fill = ~filling & s_tvalid & first & (remaining != 0) & ~(trusted & (s_tdest == cur));
    wire        zero_out = filling | start_fill;
    wire [7:0]  t_sel    = zero_out ? cur : s_tdest;
    wire [31:0] nbytes   = bytes_of(t_sel);
    wire [31:0] nbeats   = (nbytes + B - 1) >> LOG_B;
    wire [31:0] lastb    = nbytes - ((nbeats - 1) << LOG_B);     // valid bytes in the last beat
    wire        single   = nbeats < MAX_BEATS;
    // Decision for a frame's first beat (at a tensor boundary, or continuing the current tensor).
    wire        keep_first = trusted ? 1'b1 : single;
    wire        drop     = ~zero_out & (first ? ~keep_first : dropping);
    wire        restart  = first & (remaining == 0);
    wire [31:0] rem_cur  = (~zero_out & restart) ? nbeats : remaining;

    reg [B-1:0] lastkeep;
    integer k;
    always @* for (k = 0; k < B; k = k + 1) lastkeep[k] = k < lastb;

    assign m_tdata  = zero_out ? {W{1'b0}} : s_tdata;
    assign m_tdest  = t_sel;
    assign m_tlast  = rem_cur == 1;
    assign m_tkeep  = (rem_cur == 1) ? lastkeep : {B{1'b1}};
    assign m_tvalid = zero_out | (s_tvalid & ~drop);
    assign s_tready = ~zero_out & (drop | m_tready);

    wire fire  = s_tvalid & s_tready;           // an input beat consumed (passed or dropped)
    wire zfire = zero_out & m_tready;           // a fill beat sent
    wire [15:0] fb = first ? 16'd1 : fbeats + 16'd1;

    always @(posedge clk) begin
        if (rst) begin
            synced <= 1'b1; dropping <= 1'b0; filling <= 1'b0; remaining <= 0; cur <= 0;
            fbeats <= 0; frames_discarded <= 0; tensors_filled <= 0;
        end else begin
            if (start_fill) begin
                filling <= 1'b1;
                synced  <= 1'b0;                // decide on the waiting frame after the fill
                tensors_filled <= tensors_filled + 1;
            end
            if (zfire) begin
                remaining <= remaining - 1;
                if (remaining == 1) filling <= 1'b0;
            end
            if (fire) begin
                fbeats <= fb;
                if (first) begin
                    dropping <= ~keep_first;
                    if (keep_first) synced <= 1'b1;
                    else begin
                        synced <= 1'b0;
                        frames_discarded <= frames_discarded + 1;
                    end
                end
                if (!drop) begin
                    remaining <= rem_cur - 1;
                    cur <= s_tdest;
                end else if (s_tlast && {16'd0, fb} < MAX_BEATS) begin
                    synced <= 1'b1;             // a discarded frame ended its tensor: resync
                    remaining <= 0;
                end
            end
        end
    end
endmodule
