// asymap HLS library: channel concatenation.
//
// Each input i is requantized to the output scale, y = requant(x_i, mult[i], shift[i]) clamped
// to [lo, hi], and written at its channel offset of the output pixel. The generator emits one
// small wrapper per concat layer that, for each pixel, calls concat_take once per input (in
// operand order) and then pixel_emit; that keeps the header free of variadic templates, which
// HLS tools handle poorly, while supporting any number of inputs with any lane counts.
// Part config: c (input channels), lanes, offset (first output channel), out_c, in_signed,
// mult, shift, lo, hi.
#ifndef ASYMAP_CONCAT_H
#define ASYMAP_CONCAT_H

#include "asymap/requant.h"
#include "asymap/stream_utils.h"
#include "asymap/types.h"

namespace asymap {

template <class PART>
void concat_take(hls::stream<ap_uint<8 * PART::lanes> > &in, byte_t pix[PART::out_c]) {
#pragma HLS INLINE
concat_beats:
    for (unsigned b = 0; b < PART::c / PART::lanes; ++b) {
#pragma HLS PIPELINE II = 1
        ap_uint<8 * PART::lanes> beat = in.read();
        for (unsigned l = 0; l < PART::lanes; ++l) {
#pragma HLS UNROLL
            act_t x = byte_value<PART::in_signed>(lane_byte<PART::lanes>(beat, l));
            pix[PART::offset + b * PART::lanes + l] =
                requant<PART::lo, PART::hi>(acc_t(x), PART::mult, PART::shift).range(7, 0);
        }
    }
}

}  // namespace asymap

#endif
