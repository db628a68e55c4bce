// asymap HLS library: channel concatenation.
//
// Each input i is requantized to the output scale and zero point,
// y = requant(x_i - in_zp_i, mult[i], shift[i]) + out_zp clamped to [lo, hi], and placed at its
// channel offset of the output pixel. The generator emits one
// small wrapper per concat layer (templates/segment_top.cpp.j2) that is ONE pipelined loop of
// (pixels + 1) * T iterations, T = max(sum of the inputs' beats per pixel, output beats per
// pixel): in slot k it shifts the beats of pixel k into `fill` (operands in order, concat_shift_in)
// while it sends pixel k-1 from `snd` (concat_shift_out); at the slot's end fill becomes snd.
// Both are registers of out_c bytes moved only by distances fixed at compile time (each input's
// lane count, the output's lane count), so no lane ever indexes a memory bank at run time; the
// price is 2 * out_c bytes of flip-flops per concat. Cycles: (pixels + 1) * T + lat_concat.
// This keeps the header free of variadic templates, which HLS tools handle poorly, while
// supporting any number of inputs with any lane counts. A wide operand or output (a few-channel
// tensor carrying whole pixels per beat) takes one step per pixel through a holding register.
// Part config: c (input channels), lanes, offset (first output channel), out_c, in_signed,
// mult, shift, lo, hi, and optionally in_zp (this operand's), out_zp (0 when absent).
#ifndef ASYMAP_CONCAT_H
#define ASYMAP_CONCAT_H

#include "asymap/csim_count.h"
#include "asymap/requant.h"
#include "asymap/stream_utils.h"
#include "asymap/types.h"

namespace asymap {

// Shift fill down by N bytes and put the requantized N bytes of `beat` on top (this operand's
// in_zp subtracted, out_zp added: narrow and wide operands alike). After all
// operands' beats of a pixel went in, fill[c] holds output channel c.
template <class PART, unsigned N>
inline void concat_place(const ap_uint<8 * N> &beat, byte_t fill[PART::out_c]) {
#pragma HLS INLINE
    for (unsigned c = 0; c + N < PART::out_c; ++c) {
#pragma HLS UNROLL
        fill[c] = fill[c + N];
    }
    for (unsigned l = 0; l < N; ++l) {
#pragma HLS UNROLL
        act_t x = byte_value<PART::in_signed>(lane_byte<N>(beat, l));
        fill[PART::out_c - N + l] = requant<PART::lo, PART::hi, out_zp_of<PART>::value>(
            acc_t(x) - in_zp_of<PART>::value, PART::mult, PART::shift).range(7, 0);
    }
}

// One beat of a narrow operand (PART::lanes channels of the pixel).
template <class PART>
inline void concat_shift_in(const ap_uint<8 * PART::lanes> &beat, byte_t fill[PART::out_c]) {
#pragma HLS INLINE
    concat_place<PART, PART::lanes>(beat, fill);
}

// A wide operand (lanes > c: lanes / c whole pixels per beat, stream_utils.h port_pix): the beat
// is read on the first pixel of its group into `hold`, and every pixel takes its c bytes from the
// bottom of `hold`, which then shifts down by c bytes (a fixed distance). One step per pixel.
template <class PART>
inline void concat_shift_in_wide(hls::stream<ap_uint<8 * PART::lanes> > &in, ap_uint<8 * PART::lanes> &hold,
                                 unsigned px, byte_t fill[PART::out_c]) {
#pragma HLS INLINE
    if (px % (PART::lanes / PART::c) == 0) hold = in.read();
    ap_uint<8 * PART::c> pix = hold.range(8 * PART::c - 1, 0);
    hold = hold >> (8 * PART::c);
    concat_place<PART, PART::c>(pix, fill);
}

// A wide output (P > OC): snd goes on top of `hold`, which shifts down by OC bytes; after the
// P / OC pixels of a group the beat is whole and returned with `full` set.
template <unsigned OC, unsigned P>
inline ap_uint<8 * P> concat_out_wide(const byte_t snd[OC], ap_uint<8 * P> &hold, unsigned px, bool &full) {
#pragma HLS INLINE
    ap_uint<8 * OC> pix;
    for (unsigned l = 0; l < OC; ++l) {
#pragma HLS UNROLL
        pix.range(8 * l + 7, 8 * l) = snd[l];
    }
    ap_uint<8 * P> top = pix;
    hold = (hold >> (8 * OC)) | (top << (8 * (P - OC)));
    full = px % (P / OC) == P / OC - 1;
    return hold;
}

// The low P bytes of snd as a beat; snd shifts down by P.
template <unsigned OC, unsigned P>
inline ap_uint<8 * P> concat_shift_out(byte_t snd[OC]) {
#pragma HLS INLINE
    ap_uint<8 * P> beat;
    for (unsigned l = 0; l < P; ++l) {
#pragma HLS UNROLL
        beat.range(8 * l + 7, 8 * l) = snd[l];
    }
    for (unsigned c = 0; c + P < OC; ++c) {
#pragma HLS UNROLL
        snd[c] = snd[c + P];
    }
    return beat;
}

template <unsigned OC>
inline void concat_swap(const byte_t fill[OC], byte_t snd[OC]) {
#pragma HLS INLINE
    for (unsigned c = 0; c < OC; ++c) {
#pragma HLS UNROLL
        snd[c] = fill[c];
    }
}

}  // namespace asymap

#endif
