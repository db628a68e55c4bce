// asymap HLS library: per-channel affine layer (a pre-activation BatchNorm that cannot fold).
//
//   y = clamp(((x * w[c] + bias[c]) * mult[c] + 2**(shift[c]-1)) >> shift[c], lo - zo, hi - zo) + zo
//
// bit for bit asymap.quant.reference.int_layer for op "affine": int8 weight and int32 bias per
// channel (the input zero point is already folded into the bias), one requantization per channel,
// the fused ReLU/Clip and the output type folded into the clamp, the output zero point zo added.
// DenseNet needs it because its BatchNorm + ReLU run on a concatenation *before* a zero-padded
// conv: folding them into the conv would also scale and shift the padding zeros.
//
// ONE flattened loop over the tensor's beats, pipelined at II=1 (UG1399 "pragma HLS pipeline");
// no frame memory. Lane l of beat j of a pixel is channel j*lanes + l, so each per-channel table is
// partitioned cyclic by `lanes` (UG1399 "pragma HLS array_partition"): lane l always reads bank l
// at address j, a bank fixed at compile time, and the tables are LUTRAM ROMs (UG1399 "pragma HLS
// bind_storage": rom_1p, impl lutram). Cycles: beats + lat_affine.
// Config: c, beats (= H*W*C/lanes), lanes, in_signed, lo, hi, out_zp.
#ifndef ASYMAP_AFFINE_H
#define ASYMAP_AFFINE_H

#include "asymap/csim_count.h"
#include "asymap/requant.h"
#include "asymap/types.h"

namespace asymap {

template <class CFG>
void affine(hls::stream<ap_uint<8 * CFG::lanes> > &in, hls::stream<ap_uint<8 * CFG::lanes> > &out,
            const int8_t w[CFG::c], const int32_t bias[CFG::c], const int32_t mult[CFG::c],
            const uint8_t shift[CFG::c]) {
#pragma HLS ARRAY_PARTITION variable = w cyclic factor = CFG::lanes
#pragma HLS ARRAY_PARTITION variable = bias cyclic factor = CFG::lanes
#pragma HLS ARRAY_PARTITION variable = mult cyclic factor = CFG::lanes
#pragma HLS ARRAY_PARTITION variable = shift cyclic factor = CFG::lanes
#pragma HLS BIND_STORAGE variable = w type = rom_1p impl = lutram
#pragma HLS BIND_STORAGE variable = bias type = rom_1p impl = lutram
#pragma HLS BIND_STORAGE variable = mult type = rom_1p impl = lutram
#pragma HLS BIND_STORAGE variable = shift type = rom_1p impl = lutram
    const unsigned CB = CFG::c / CFG::lanes;
    ASYMAP_CSIM_ENGINE_BEGIN();
    ASYMAP_CSIM_ITEMS(1, CFG::beats, lat_affine);
    unsigned j = 0;
affine_beats:
    for (unsigned i = 0; i < CFG::beats; ++i) {
#pragma HLS PIPELINE II = 1
        ap_uint<8 * CFG::lanes> vx = in.read(), vy;
        for (unsigned l = 0; l < CFG::lanes; ++l) {
#pragma HLS UNROLL
            const unsigned ch = j * CFG::lanes + l;  // bank l, address j
            wide_t x = byte_value<CFG::in_signed>(lane_byte<CFG::lanes>(vx, l));
            wide_t a = x * wide_t(w[ch]) + wide_t(bias[ch]);
            act_t y = rshift_round<CFG::lo - CFG::out_zp, CFG::hi - CFG::out_zp>(a * wide_t(mult[ch]), shift[ch]);
            vy.range(8 * l + 7, 8 * l) = act_t(y + CFG::out_zp).range(7, 0);
        }
        out.write(vy);
        j = j + 1 == CB ? 0 : j + 1;
    }
    ASYMAP_CSIM_ENGINE_END(1, csim_same_slot());
}

}  // namespace asymap

#endif
