// asymap HLS library: stream plumbing between blocks.
//
// - copy_stream: a pass-through process (a tensor crossing a board without being used, or a
//   stream that must move from one DATAFLOW channel to a port).
// - fork2: duplicate a stream to two consumers. A tensor read by k consumers goes through a chain
//   of k-1 fork2 processes; HLS DATAFLOW needs exactly one reader per channel.
// - width_convert: re-pack a tensor from IN_P to OUT_P channels per beat (both divide C). It keeps
//   one pixel in registers, which is the smallest buffer that works for any pair of lane counts.
// - pixel_load / pixel_emit: read/write one pixel of C channels to/from a byte array.
#ifndef ASYMAP_STREAM_UTILS_H
#define ASYMAP_STREAM_UTILS_H

#include "asymap/types.h"

namespace asymap {

template <class T, unsigned N>
void copy_stream(hls::stream<T> &in, hls::stream<T> &out) {
copy_loop:
    for (unsigned i = 0; i < N; ++i) {
#pragma HLS PIPELINE II = 1
        out.write(in.read());
    }
}

template <class T, unsigned N>
void fork2(hls::stream<T> &in, hls::stream<T> &a, hls::stream<T> &b) {
fork_loop:
    for (unsigned i = 0; i < N; ++i) {
#pragma HLS PIPELINE II = 1
        T v = in.read();
        a.write(v);
        b.write(v);
    }
}

// Read one pixel (C channels, P per beat) into pix[0..C).
template <unsigned C, unsigned P>
void pixel_load(hls::stream<ap_uint<8 * P> > &in, byte_t pix[C]) {
#pragma HLS INLINE
load_beats:
    for (unsigned b = 0; b < C / P; ++b) {
#pragma HLS PIPELINE II = 1
        ap_uint<8 * P> beat = in.read();
        for (unsigned l = 0; l < P; ++l) {
#pragma HLS UNROLL
            pix[b * P + l] = lane_byte<P>(beat, l);
        }
    }
}

// Write pix[0..C) as C/P beats of P channels.
template <unsigned C, unsigned P>
void pixel_emit(const byte_t pix[C], hls::stream<ap_uint<8 * P> > &out) {
#pragma HLS INLINE
emit_beats:
    for (unsigned b = 0; b < C / P; ++b) {
#pragma HLS PIPELINE II = 1
        ap_uint<8 * P> beat;
        for (unsigned l = 0; l < P; ++l) {
#pragma HLS UNROLL
            beat.range(8 * l + 7, 8 * l) = pix[b * P + l];
        }
        out.write(beat);
    }
}

template <unsigned C, unsigned IN_P, unsigned OUT_P, unsigned PIXELS>
void width_convert(hls::stream<ap_uint<8 * IN_P> > &in, hls::stream<ap_uint<8 * OUT_P> > &out) {
    static_assert(C % IN_P == 0 && C % OUT_P == 0, "lane counts must divide the channel count");
wc_pixels:
    for (unsigned px = 0; px < PIXELS; ++px) {
        byte_t pix[C];
#pragma HLS ARRAY_PARTITION variable = pix cyclic factor = (IN_P > OUT_P ? IN_P : OUT_P)
        pixel_load<C, IN_P>(in, pix);
        pixel_emit<C, OUT_P>(pix, out);
    }
}

}  // namespace asymap

#endif
