// asymap HLS library: element-wise activation by table lookup (Sigmoid, HardSigmoid, SiLU,
// HardSwish; asymap.frontend.ir LUT layers).
//
//   y = table[raw byte of x]
//
// The 256 entries are the function evaluated on every int8/uint8 input code and quantized onto
// the output grid (asymap.quant.quantize.lut_table: input scale and zero point, output scale,
// zero point and clamp are all inside the table), so the numpy reference (which indexes the same
// table) and this block agree by construction, and no floating point or exp() is synthesized.
//
// Banking: `lanes` lookups per cycle, one per lane. The generator writes the table `lanes` times
// in a row (lanes * 256 bytes) and the block partitions it into `lanes` blocks, so lane l always
// reads copy l: a bank fixed at compile time, one read per bank and cycle (UG1399, "Array
// Partitioning": block partitioning; a ROM port serves one read per cycle). Each copy is 2 Kbit,
// bound to LUTRAM explicitly (UG1399, "pragma HLS bind_storage": rom_1p, impl lutram).
// One flattened loop over the tensor's beats pipelined at II=1. Cycles: beats + lat_lut.
// Config: beats (= H*W*C/lanes), lanes.
#ifndef ASYMAP_LUT_H
#define ASYMAP_LUT_H

#include "asymap/csim_count.h"
#include "asymap/types.h"

namespace asymap {

template <class CFG>
void lut_map(hls::stream<ap_uint<8 * CFG::lanes> > &in, hls::stream<ap_uint<8 * CFG::lanes> > &out,
             const uint8_t table[CFG::lanes * 256]) {
#pragma HLS ARRAY_PARTITION variable = table block factor = CFG::lanes
#pragma HLS BIND_STORAGE variable = table type = rom_1p impl = lutram
    ASYMAP_CSIM_ENGINE_BEGIN();
    ASYMAP_CSIM_ITEMS(1, CFG::beats, lat_lut);
lut_beats:
    for (unsigned i = 0; i < CFG::beats; ++i) {
#pragma HLS PIPELINE II = 1
        ap_uint<8 * CFG::lanes> v = in.read(), y;
        for (unsigned l = 0; l < CFG::lanes; ++l) {
#pragma HLS UNROLL
            unsigned idx = unsigned(lane_byte<CFG::lanes>(v, l));
            y.range(8 * l + 7, 8 * l) = table[l * 256 + idx];
        }
        out.write(y);
    }
    ASYMAP_CSIM_ENGINE_END(1, csim_same_slot());
}

}  // namespace asymap

#endif
