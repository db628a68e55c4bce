// asymap HLS library: channel concatenation.
//
// Each input i is requantized to the output scale and zero point,
// y = requant(x_i - in_zp_i, mult[i], shift[i]) + out_zp clamped to [lo, hi], and placed at its channel offset of the output pixel. The generator emits one
// small wrapper per concat layer (templates/segment_top.cpp.j2) that is ONE pipelined loop of
// (pixels + 1) * T iterations, T = max(sum of the inputs' beats per pixel, output beats per
// pixel): in slot k it shifts the beats of pixel k into `fill` (operands in order, concat_shift_in)
// while it sends pixel k-1 from `snd` (concat_shift_out); at the slot's end fill becomes snd.
// Both are registers of out_c bytes moved only by distances fixed at compile time (each input's
// lane count, the output's lane count), so no lane ever indexes a memory bank at run time; the
// price is 2 * out_c bytes of flip-flops per concat. Cycles: (pixels + 1) * T + lat_concat.
// This keeps the header free of variadic templates, which HLS tools handle poorly, while
// supporting any number of inputs with any lane counts.
// Part config: c (input channels), lanes, offset (first output channel), out_c, in_signed,
// mult, shift, lo, hi, and optionally in_zp (this operand's), out_zp (0 when absent).
#ifndef ASYMAP_CONCAT_H
#define ASYMAP_CONCAT_H

#include "asymap/csim_count.h"
#include "asymap/requant.h"
#include "asymap/stream_utils.h"
#include "asymap/types.h"

namespace asymap {

// Shift fill down by PART::lanes bytes and put the requantized lanes of `beat` on top. After all
// operands' beats of a pixel went in, fill[c] holds output channel c.
template <class PART>
inline void concat_shift_in(const ap_uint<8 * PART::lanes> &beat, byte_t fill[PART::out_c]) {
#pragma HLS INLINE
    for (unsigned c = 0; c + PART::lanes < PART::out_c; ++c) {
#pragma HLS UNROLL
        fill[c] = fill[c + PART::lanes];
    }
    for (unsigned l = 0; l < PART::lanes; ++l) {
#pragma HLS UNROLL
        act_t x = byte_value<PART::in_signed>(lane_byte<PART::lanes>(beat, l));
        fill[PART::out_c - PART::lanes + l] = requant<PART::lo, PART::hi, out_zp_of<PART>::value>(
            acc_t(x) - in_zp_of<PART>::value, PART::mult, PART::shift).range(7, 0);
    }
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
