// asymap HLS library: channel selection / permutation within each pixel (split, slice, shuffle).
//
//   out[k] = clamp(in[start + (k % groups) * stride + k / groups], lo, hi)      k = 0 .. co-1
//
// covers a contiguous slice (groups 1: Split / Slice / chunk on the channel axis), ShuffleNet's
// channel shuffle (start 0, stride = C/groups) and some slices of a shuffle (asymap.frontend.ir.
// channel_map_form). No arithmetic: the output keeps the input's scale and zero point; the clamp
// only matters when a ReLU was fused into the selection.
//
// A streaming reorder of one pixel's channels, no frame buffer: ONE flattened loop of
// (pixels + 1) * T iterations pipelined at II=1 (UG1399 "pragma HLS pipeline"),
// T = max(ci/in_lanes, co/out_lanes). In slot k it shifts pixel k's input beats into `fill` while
// it sends pixel k-1 from `snd`; at the slot's end snd[k] = fill[map(k)]. map(k) is a compile-time
// constant for every k of the unrolled copy, so the copy is fixed wiring: no lane ever indexes a
// bank at run time. Both buffers are registers (ARRAY_PARTITION complete, UG1399 "pragma HLS
// array_partition"; registers need no BIND_STORAGE), ci + co bytes of flip-flops.
// Cycles: (pixels + 1) * T + lat_chansel.
// Config: ci, co, pixels, in_lanes, out_lanes, start, groups, stride, in_signed, lo, hi.
#ifndef ASYMAP_CHANSEL_H
#define ASYMAP_CHANSEL_H

#include "asymap/csim_count.h"
#include "asymap/types.h"

namespace asymap {

template <class CFG>
struct chansel_shape {
    static const unsigned ib = CFG::ci / CFG::in_lanes, ob = CFG::co / CFG::out_lanes;
    static const unsigned slot = ib > ob ? ib : ob;
    static const unsigned steps = (CFG::pixels + 1) * slot;
};

template <class CFG>
void channel_select(hls::stream<ap_uint<8 * CFG::in_lanes> > &in, hls::stream<ap_uint<8 * CFG::out_lanes> > &out) {
    typedef chansel_shape<CFG> S;
    byte_t fill[CFG::ci], snd[CFG::co];
#pragma HLS ARRAY_PARTITION variable = fill complete
#pragma HLS ARRAY_PARTITION variable = snd complete
    ASYMAP_CSIM_ENGINE_BEGIN();
    ASYMAP_CSIM_ITEMS(1, S::steps, lat_chansel);
    unsigned t = 0, px = 0;
chansel_steps:
    for (unsigned i = 0; i < S::steps; ++i) {
#pragma HLS PIPELINE II = 1
        if (px < CFG::pixels && t < S::ib) {
            ap_uint<8 * CFG::in_lanes> beat = in.read();
            for (unsigned c = 0; c + CFG::in_lanes < CFG::ci; ++c) {
#pragma HLS UNROLL
                fill[c] = fill[c + CFG::in_lanes];
            }
            for (unsigned l = 0; l < CFG::in_lanes; ++l) {
#pragma HLS UNROLL
                fill[CFG::ci - CFG::in_lanes + l] = lane_byte<CFG::in_lanes>(beat, l);
            }
        }
        if (px > 0 && t < S::ob) {
            ap_uint<8 * CFG::out_lanes> beat;
            for (unsigned l = 0; l < CFG::out_lanes; ++l) {
#pragma HLS UNROLL
                beat.range(8 * l + 7, 8 * l) = snd[l];
            }
            for (unsigned c = 0; c + CFG::out_lanes < CFG::co; ++c) {
#pragma HLS UNROLL
                snd[c] = snd[c + CFG::out_lanes];
            }
            out.write(beat);
        }
        if (++t == S::slot) {
            t = 0;
            ++px;
            for (unsigned k = 0; k < CFG::co; ++k) {
#pragma HLS UNROLL
                const int src = int(CFG::start) + int(k % CFG::groups) * CFG::stride + int(k / CFG::groups);
                act_t v = byte_value<CFG::in_signed>(fill[src]);
                snd[k] = (v < CFG::lo ? act_t(CFG::lo) : v > CFG::hi ? act_t(CFG::hi) : v).range(7, 0);
            }
        }
    }
    ASYMAP_CSIM_ENGINE_END(1, csim_same_slot());
}

}  // namespace asymap

#endif
