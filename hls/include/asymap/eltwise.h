// asymap HLS library: residual add with both inputs rescaled.
//
//   y = clamp(((xa'*ma + xb'*mb + 2**(s-1)) >> s) + zo, lo, hi)  (asymap.quant.arith.rshift_round)
//
// with xa' = xa - za, xb' = xb - zb: each input's zero point is subtracted before its multiplier
// and the output's added after the shift (all 0 unless a QDQ model is asymmetric).
//
// Both operands have their own multiplier because their scales differ; the sum of the two
// products is shifted once, so the result is exactly the numpy reference's. The two inputs have
// the same shape and hence the same lane count; one beat of each is combined per cycle.
// One flattened pipelined loop of beats = H*W*C/CL steps, CL = compute lanes (C's port lanes,
// at most 8); no memory. A wide port (lanes > CL: whole pixels per beat, stream_utils.h port_pix)
// is read every lanes/CL steps into a holding register that shifts down by CL bytes per step, and
// the result beat is assembled the same way, so a wide port costs no more multipliers than a
// narrow one and runs at the same pace; the zero points apply per compute lane either way.
// Cycles: beats + lat_add.
// Config: beats (compute steps), lanes (port bytes per beat), clanes (CL), a_signed, b_signed,
// ma, mb, s, lo, hi, and optionally a_zp, b_zp, out_zp (0 when absent).
#ifndef ASYMAP_ELTWISE_H
#define ASYMAP_ELTWISE_H

#include "asymap/csim_count.h"
#include "asymap/requant.h"
#include "asymap/types.h"

namespace asymap {

template <class CFG, class = void>
struct add_zp {
    static const int a = 0, b = 0;
};
template <class CFG>
struct add_zp<CFG, typename zp_void<decltype(CFG::a_zp + CFG::b_zp)>::type> {
    static const int a = CFG::a_zp, b = CFG::b_zp;
};

template <class CFG>
void add2(hls::stream<ap_uint<8 * CFG::lanes> > &a, hls::stream<ap_uint<8 * CFG::lanes> > &b,
          hls::stream<ap_uint<8 * CFG::lanes> > &out) {
    const unsigned CL = CFG::clanes, R = CFG::lanes / CL;  // steps per port beat
    static_assert(CFG::lanes % CL == 0, "whole compute steps per beat");
    ASYMAP_CSIM_ENGINE_BEGIN();
    ASYMAP_CSIM_ITEMS(1, CFG::beats, lat_add);
    ap_uint<8 * CFG::lanes> ha = 0, hb = 0, hy = 0;  // held input beats, output beat being assembled
    unsigned k = 0;
add_beats:
    for (unsigned i = 0; i < CFG::beats; ++i) {
#pragma HLS PIPELINE II = 1
        if (k == 0) {
            ha = a.read();
            hb = b.read();
        }
        ap_uint<8 * CL> vy;
        for (unsigned l = 0; l < CL; ++l) {
#pragma HLS UNROLL
            wide_t xa = wide_t(byte_value<CFG::a_signed>(lane_byte<CFG::lanes>(ha, l))) - add_zp<CFG>::a;
            wide_t xb = wide_t(byte_value<CFG::b_signed>(lane_byte<CFG::lanes>(hb, l))) - add_zp<CFG>::b;
            act_t y = rshift_round<CFG::lo, CFG::hi, out_zp_of<CFG>::value>(xa * CFG::ma + xb * CFG::mb, CFG::s);
            vy.range(8 * l + 7, 8 * l) = y.range(7, 0);
        }
        if (R > 1) {  // fixed-distance shifts: the next CL bytes move to the bottom, the result on top
            ha = ha >> (8 * CL);
            hb = hb >> (8 * CL);
            ap_uint<8 * CFG::lanes> top = vy;
            hy = (hy >> (8 * CL)) | (top << (8 * (CFG::lanes - CL)));
        } else {
            hy = vy;
        }
        if (++k == R) {
            k = 0;
            out.write(hy);
        }
    }
    ASYMAP_CSIM_ENGINE_END(1, csim_same_slot());
}

}  // namespace asymap

#endif
