// asymap HLS library: channel-wise Mul of squeeze-excite (asymap.frontend.ir CHMUL layers).
//
//   y[h][w][c] = clamp(((x[h][w][c] - zx) * (s[c] - zs) * mult + 2**(shift-1)) >> shift + zo, lo, hi)
//
// (asymap.quant.arith.requant on the exact integer product, then the output zero point; the numpy
// reference is asymap/quant/reference.py). `s` is the per-channel scale (C, 1, 1) that the
// squeeze path (global pool -> 1x1 convs -> sigmoid) derives from the *whole* feature map, so no
// output pixel can leave before all of `s` has arrived: the loop first reads the C/lanes beats of
// `s` into `sbuf`, then streams the H*W*C/lanes beats of `x`. The feature map therefore waits in
// the FIFO of the fork that feeds both paths (a whole tensor; asymap.codegen.fifodepth sizes it and
// the cost model charges its BRAM/URAM), or in a link port FIFO when a cut separates the paths.
//
// One flattened loop of (pixels + 1) * C/lanes iterations pipelined at II=1: the first C/lanes
// iterations load `s`, every later one reads one beat of `x` and writes one beat. sbuf word b is
// written in the load phase and read in the streaming phase, one word per cycle, lane l in bank l
// (complete partition of the lane dimension: banks fixed at compile time, UG1399 "Array
// Partitioning"); its storage is bound explicitly (UG1399 "pragma HLS bind_storage").
// Cycles: (pixels + 1) * C/lanes + lat_chmul.
// Config: c, pixels, lanes, x_signed, s_signed, zx, zs, zo, lo, hi, mult, shift.
#ifndef ASYMAP_CHMUL_H
#define ASYMAP_CHMUL_H

#include "asymap/csim_count.h"
#include "asymap/requant.h"
#include "asymap/types.h"

namespace asymap {

typedef ap_int<10> zact_t;  // an activation minus its zero point: [-255, 255]

template <class CFG>
void channel_mul(hls::stream<ap_uint<8 * CFG::lanes> > &x, hls::stream<ap_uint<8 * CFG::lanes> > &s,
                 hls::stream<ap_uint<8 * CFG::lanes> > &out) {
    const unsigned CB = CFG::c / CFG::lanes;
    zact_t sbuf[CB][CFG::lanes];
#pragma HLS ARRAY_PARTITION variable = sbuf complete dim = 2
#pragma HLS BIND_STORAGE variable = sbuf type = ram_s2p impl = auto
    ASYMAP_CSIM_ENGINE_BEGIN();
    ASYMAP_CSIM_ITEMS(1, (CFG::pixels + 1) * CB, lat_chmul);
    unsigned b = 0, px = 0;  // px 0: loading s; px 1..pixels: streaming x
chmul_steps:
    for (unsigned i = 0; i < (CFG::pixels + 1) * CB; ++i) {
#pragma HLS PIPELINE II = 1
        // word b is written in iteration b and first read in iteration CB + b: a true dependence
        // CB iterations apart, stated so the scheduler keeps II = 1 (UG1399, "pragma HLS dependence")
#pragma HLS DEPENDENCE variable = sbuf inter RAW distance = CB true
        if (px == 0) {
            ap_uint<8 * CFG::lanes> v = s.read();
            for (unsigned l = 0; l < CFG::lanes; ++l) {
#pragma HLS UNROLL
                sbuf[b][l] = zact_t(byte_value<CFG::s_signed>(lane_byte<CFG::lanes>(v, l))) - CFG::zs;
            }
        } else {
            ap_uint<8 * CFG::lanes> v = x.read(), y;
            for (unsigned l = 0; l < CFG::lanes; ++l) {
#pragma HLS UNROLL
                zact_t xv = zact_t(byte_value<CFG::x_signed>(lane_byte<CFG::lanes>(v, l))) - CFG::zx;
                acc_t prod = acc_t(xv) * acc_t(sbuf[b][l]);
                act_t r = requant<CFG::lo - CFG::zo, CFG::hi - CFG::zo>(prod, CFG::mult, CFG::shift) + CFG::zo;
                y.range(8 * l + 7, 8 * l) = r.range(7, 0);
            }
            out.write(y);
        }
        if (++b == CB) {
            b = 0;
            ++px;
        }
    }
    ASYMAP_CSIM_ENGINE_END(1, csim_same_slot());
}

}  // namespace asymap

#endif
