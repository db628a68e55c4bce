// asymap HLS library: the sliding-window row buffer shared by convolution and pooling.
//
// A KxK window with dilation D spans R = (K-1)*D + 1 input rows. Blocks keep exactly R rows of
// the input (all W columns, all C channels) in a circular buffer: input row r lives in slot
// r % R. Before output row oy is computed, rows are loaded until row oy*S - pad_top + (K-1)*D is
// present (lb_rows_needed); because that bound only grows with oy and the window spans R rows,
// no row still needed is ever overwritten. Rows past the last window (stride > kernel, odd
// heights) are read and dropped by lb_drain so the stream is always consumed completely.
// Padding reads as 0 (zero point 0) in conv/avgpool and is skipped in maxpool: lb_valid tells.
//
// The channel dimension is partitioned cyclically by the config's lb_part (the number of channels
// the compute loop reads per cycle), so SIMD (or PE for depthwise) bytes come out in one cycle.
#ifndef ASYMAP_LINE_BUFFER_H
#define ASYMAP_LINE_BUFFER_H

#include "asymap/types.h"

namespace asymap {

// Rows of input needed before output row oy can be computed (clamped to [0, H]).
template <unsigned H, unsigned KH, unsigned SH, unsigned DH, unsigned PT>
inline unsigned lb_rows_needed(unsigned oy) {
#pragma HLS INLINE
    int last = int(oy * SH) - int(PT) + int((KH - 1) * DH);  // last input row the window touches
    if (last < 0) return 0;
    if (last >= int(H)) return H;
    return unsigned(last + 1);
}

// Load one input row (W pixels of C channels, P per beat) into slot `slot`.
template <unsigned R, unsigned W, unsigned C, unsigned P>
void lb_load_row(hls::stream<ap_uint<8 * P> > &in, byte_t buf[R][W][C], unsigned slot) {
#pragma HLS INLINE off
lb_load:
    for (unsigned i = 0; i < W * (C / P); ++i) {
#pragma HLS PIPELINE II = 1
        unsigned x = i / (C / P), b = i % (C / P);
        ap_uint<8 * P> beat = in.read();
        for (unsigned l = 0; l < P; ++l) {
#pragma HLS UNROLL
            buf[slot][x][b * P + l] = lane_byte<P>(beat, l);
        }
    }
}

// Read and discard `rows` input rows (rows no window ever touches).
template <unsigned W, unsigned C, unsigned P>
void lb_drain(hls::stream<ap_uint<8 * P> > &in, unsigned rows) {
lb_drain_loop:
    for (unsigned i = 0; i < rows * W * (C / P); ++i) {
#pragma HLS PIPELINE II = 1
        in.read();
    }
}

// Slot and validity of the KH window rows for output row oy (computed once per output row so the
// inner loops need no modulo).
template <unsigned H, unsigned R, unsigned KH, unsigned SH, unsigned DH, unsigned PT>
inline void lb_window_rows(unsigned oy, unsigned slot[KH], bool valid[KH]) {
#pragma HLS INLINE
    for (unsigned ky = 0; ky < KH; ++ky) {
#pragma HLS UNROLL
        int iy = int(oy * SH) - int(PT) + int(ky * DH);
        valid[ky] = iy >= 0 && iy < int(H);
        slot[ky] = valid[ky] ? unsigned(iy) % R : 0;
    }
}

}  // namespace asymap

#endif
