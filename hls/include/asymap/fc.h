// asymap HLS library: fully connected layer.
//
// A fully connected layer is a 1x1 convolution over one "pixel" that is the whole input tensor:
// the generator permutes the weight columns from ONNX's C,H,W flattening order to the stream's
// H,W,C order and emits a conv config with in_c = C*H*W, in_h = in_w = 1. The folded pointwise
// engine of conv.h then runs with the same PE x SIMD folding and weight sources as convolutions.
#ifndef ASYMAP_FC_H
#define ASYMAP_FC_H

#include "asymap/conv.h"
#include "asymap/conv_offchip.h"

namespace asymap {

template <class CFG>
void fc(hls::stream<ap_uint<8 * CFG::in_lanes> > &in, hls::stream<ap_uint<8 * CFG::out_lanes> > &out,
        const uint64_t w[CFG::rom_words], const int32_t bias[CFG::out_cp], const int32_t mult[CFG::out_cp],
        const uint8_t shift[CFG::out_cp]) {
    static_assert(CFG::in_h == 1 && CFG::in_w == 1, "fc config flattens the input into one pixel");
    conv1x1<CFG>(in, out, w, bias, mult, shift);
}

template <class CFG>
void fc_offchip(hls::stream<ap_uint<8 * CFG::in_lanes> > &in, hls::stream<ap_uint<8 * CFG::out_lanes> > &out,
                hls::stream<typename conv_types<CFG>::wrow_t> &ws, const int32_t bias[CFG::out_cp],
                const int32_t mult[CFG::out_cp], const uint8_t shift[CFG::out_cp]) {
    static_assert(CFG::in_h == 1 && CFG::in_w == 1, "fc config flattens the input into one pixel");
    conv_offchip<CFG>(in, out, ws, bias, mult, shift);
}

}  // namespace asymap

#endif
