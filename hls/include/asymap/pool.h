// asymap HLS library: max pooling, average pooling, global average pooling.
//
// KxK pooling is a DATAFLOW chain like the KxK conv (conv.h): gearbox, the window generator of
// line_buffer.h, a reduction process over PE channels per cycle (one output pixel takes
// (C/PE) * KH*KW cycles), gearbox; input rows load while the previous output row computes.
//   max: padded positions are skipped (ONNX pads max pooling with -inf); no requantization (the
//        output keeps the input's scale and zero point), the result is clamped to [lo, hi] (the
//        output type / fused activation).
//   avg: sum of the in-image values minus the input zero point, x - in_zp (padding adds real 0),
//        n = kh*kw when count_include_pad else the number of in-image positions,
//        y = requant(sum, mult[n], shift[n]) + out_zp (arrays of kh*kw+1).
//   gap: y[c] = requant(sum over H*W of x - in_zp, mult, shift) + out_zp, one multiplier.
// The zero points are 0 unless a QDQ model is asymmetric (requant.h in_zp_of / out_zp_of).
// Pool config: c, in_h, in_w, out_h, out_w, kh, kw, sh, sw, dh, dw, pt, pl, pe, lanes (input port
// bytes per beat), out_lanes (output port), in_signed, lo, hi, in_zp, out_zp, count_include_pad,
// lb_rows, lb_part (the last two are informational). Ports may be wide (stream_utils.h port_pix):
// a few-channel tensor carries whole pixels per beat, and the input and output widths may differ.
#ifndef ASYMAP_POOL_H
#define ASYMAP_POOL_H

#include "asymap/csim_count.h"
#include "asymap/dataflow.h"
#include "asymap/line_buffer.h"
#include "asymap/requant.h"
#include "asymap/stream_utils.h"
#include "asymap/types.h"

namespace asymap {

// The window-generator view of a pool config: PE channels per word, CF folds of its own words.
template <class CFG>
struct pool_swg_cfg {
    static const unsigned in_h = CFG::in_h, in_w = CFG::in_w, c = CFG::c, bw = CFG::pe;
    static const unsigned kh = CFG::kh, kw = CFG::kw, sh = CFG::sh, sw = CFG::sw, dh = CFG::dh, dw = CFG::dw;
    static const unsigned pt = CFG::pt, pl = CFG::pl, out_h = CFG::out_h, out_w = CFG::out_w, kpar = 1;
    static const unsigned a = CFG::c / CFG::pe, s = 1, pe = CFG::pe, coutg = 1, cing = 1;
    static const unsigned ipp = port_pix(CFG::c, CFG::lanes), opp = port_pix(CFG::c, CFG::out_lanes);
    static const unsigned iit = port_item(CFG::c, CFG::lanes), oit = port_item(CFG::c, CFG::out_lanes);
    typedef gearbox_shape<CFG::lanes, CFG::pe, iit, iit> GI;
    typedef gearbox_shape<CFG::pe, CFG::out_lanes, oit, oit> GO;
    static const unsigned lm = GI::M, lw = GI::L / CFG::pe;
    static const unsigned period = max_u(a * CFG::kh * CFG::kw, GO::item_steps / opp);
};

// The reduction process: ONE loop over output pixels x CF folds x KH*KW window positions. The
// first position of a fold initialises the PE accumulators, the last one requantizes (avg) or
// clamps (max) and writes the PE-wide result word, in the same pipelined body. Whether a position
// is padding is worked out from the loop counters (max skips it, avg counts the in-image ones).
template <class CFG, bool MAX>
void pool_reduce(hls::stream<bytes<CFG::pe> > &win, hls::stream<bytes<CFG::pe> > &out,
                 const int32_t mult[CFG::kh * CFG::kw + 1], const uint8_t shift[CFG::kh * CFG::kw + 1]) {
#pragma HLS INLINE off
    const unsigned KK = CFG::kh * CFG::kw, CF = CFG::c / CFG::pe, OPIX = CFG::out_h * CFG::out_w;
    acc_t acc[CFG::pe];
#pragma HLS ARRAY_PARTITION variable = acc complete
    ASYMAP_CSIM_ITEMS(OPIX, CF * KK, lat_pool);
    unsigned k = 0, cf = 0, ox = 0, oy = 0, n = 0;
pool_steps:
    for (unsigned it = 0; it < OPIX * CF * KK; ++it) {
#pragma HLS PIPELINE II = 1
        bytes<CFG::pe> xw = win.read();
        unsigned ky = k / CFG::kw, kx = k % CFG::kw;
        int iy = int(oy * CFG::sh) - int(CFG::pt) + int(ky * CFG::dh);
        int ix = int(ox * CFG::sw) - int(CFG::pl) + int(kx * CFG::dw);
        bool ok = iy >= 0 && iy < int(CFG::in_h) && ix >= 0 && ix < int(CFG::in_w);
        unsigned nn = (k == 0 ? 0 : n) + (ok ? 1 : 0);
        n = nn;
        unsigned div = CFG::count_include_pad ? KK : nn;
        bytes<CFG::pe> y;
        for (unsigned p = 0; p < CFG::pe; ++p) {
#pragma HLS UNROLL
            act_t v = byte_value<CFG::in_signed>(xw.b[p]);
            acc_t prev = k == 0 ? (MAX ? acc_t(-256) : acc_t(0)) : acc[p];
            acc_t a = !ok ? prev : MAX ? (acc_t(v) > prev ? acc_t(v) : prev) : acc_t(prev + v - in_zp_of<CFG>::value);
            acc[p] = a;
            if (k == KK - 1)
                y.b[p] = (MAX ? clamp_act<CFG::lo, CFG::hi>(wide_t(a))
                              : requant<CFG::lo, CFG::hi, out_zp_of<CFG>::value>(a, mult[div], shift[div])).range(7, 0);
        }
        if (k == KK - 1) out.write(y);
        if (++k == KK) {
            k = 0;
            if (++cf == CF) {
                cf = 0;
                if (++ox == CFG::out_w) {
                    ox = 0;
                    ++oy;
                }
            }
        }
    }
}

// KxK max/avg pooling: gearbox (port beats -> PE-channel words), window generator, reduction,
// gearbox (PE words -> port beats), one DATAFLOW region, scheduled and counted like conv2d_core.
template <class CFG, bool MAX>
void pool2d_core(hls::stream<ap_uint<8 * CFG::lanes> > &in, hls::stream<ap_uint<8 * CFG::out_lanes> > &out,
                 const int32_t mult[CFG::kh * CFG::kw + 1], const uint8_t shift[CFG::kh * CFG::kw + 1]) {
#pragma HLS INLINE off
    static_assert(CFG::c % CFG::pe == 0, "PE must divide the channel count");
    typedef pool_swg_cfg<CFG> WC;
    const unsigned IPIX = CFG::in_h * CFG::in_w, OPIX = CFG::out_h * CFG::out_w;
    ASYMAP_CSIM_ENGINE_BEGIN();
#pragma HLS DATAFLOW
    hls::stream<bytes<CFG::pe> > words("pool_words");
#pragma HLS STREAM variable = words depth = WC::lw + 2
#pragma HLS BIND_STORAGE variable = words type = fifo impl = srl
    hls::stream<bytes<CFG::pe> > wins("pool_windows");
#pragma HLS STREAM variable = wins depth = 2
#pragma HLS BIND_STORAGE variable = wins type = fifo impl = srl
    hls::stream<bytes<CFG::pe> > res("pool_results");
#pragma HLS STREAM variable = res depth = 2
#pragma HLS BIND_STORAGE variable = res type = fifo impl = srl
    ASYMAP_SIM_DEPTH_FIXED(words, WC::lw + 2);
    ASYMAP_SIM_DEPTH_FIXED(wins, 2);
    ASYMAP_SIM_DEPTH_FIXED(res, 2);
    ASYMAP_DATAFLOW(df);
    ASYMAP_PROCESS(df, (gearbox<CFG::lanes, CFG::pe, WC::iit, WC::iit, IPIX / WC::ipp>(in, words)));
    ASYMAP_PROCESS(df, swg<WC>(words, wins));
    ASYMAP_PROCESS(df, (pool_reduce<CFG, MAX>(wins, res, mult, shift)));
    ASYMAP_PROCESS(df, (gearbox<CFG::pe, CFG::out_lanes, WC::oit, WC::oit, OPIX / WC::opp>(res, out)));
    ASYMAP_DATAFLOW_RUN(df);
#ifndef __SYNTHESIS__
    struct slots {
        unsigned operator()(unsigned j, unsigned i) const {
            if (j == 0) return swg_slot_of_row<WC>(i * WC::ipp / CFG::in_w);
            if (j == 1) return i;
            if (j == 2) return i / CFG::out_w + 1;
            return i * WC::opp / CFG::out_w + 1;
        }
    };
    ASYMAP_CSIM_ENGINE_END(CFG::out_h + 1, slots());
#endif
}

template <class CFG>
void maxpool2d(hls::stream<ap_uint<8 * CFG::lanes> > &in, hls::stream<ap_uint<8 * CFG::out_lanes> > &out) {
    static const int32_t no_mult[CFG::kh * CFG::kw + 1] = {0};  // unused by max pooling
    static const uint8_t no_shift[CFG::kh * CFG::kw + 1] = {0};
    pool2d_core<CFG, true>(in, out, no_mult, no_shift);
}

template <class CFG>
void avgpool2d(hls::stream<ap_uint<8 * CFG::lanes> > &in, hls::stream<ap_uint<8 * CFG::out_lanes> > &out,
               const int32_t mult[CFG::kh * CFG::kw + 1], const uint8_t shift[CFG::kh * CFG::kw + 1]) {
#pragma HLS BIND_STORAGE variable = mult type = rom_1p impl = lutram
#pragma HLS BIND_STORAGE variable = shift type = rom_1p impl = lutram
    pool2d_core<CFG, false>(in, out, mult, shift);
}

// Global average pooling. Config: c, pixels (= H*W), lanes (output port), in_lanes (input port,
// possibly wide: in_lanes / c whole pixels per beat), in_signed, lo, hi, mult, shift, in_zp,
// out_zp (optional, 0 when absent).
// ONE pipelined loop of pixels/IPP * CB + CBO iterations: CB = C/AW input beats per pixel (AW =
// in_lanes accumulators per word; a wide beat has CB = 1 and AW = C, and its IPP pixels are added
// per channel in one step, each minus in_zp), CBO = C/lanes output beats. The first iterations add
// beat b of each pixel to the AW accumulators of word b, the last CBO requantize and write lanes
// channels. Lane l
// always uses bank l (acc is partitioned by lane, dim 2). The read-modify-write of acc[b] recurs
// every CB iterations: with CB >= gap_rmw_min the dependence distance covers the RAM's read
// latency and DEPENDENCE inter distance = CB tells HLS so (UG1399 "Pragma HLS dependence": a true
// dependence with a known distance lets the scheduler keep II=1); narrower tensors keep the CB
// words in a shift register (acc_sr: the word read is always the oldest, the word written goes in
// at the end), so no memory is involved at all.
const unsigned gap_rmw_min = 4;
template <class CFG>
void global_avgpool(hls::stream<ap_uint<8 * CFG::in_lanes> > &in, hls::stream<ap_uint<8 * CFG::lanes> > &out) {
    const unsigned IPP = port_pix(CFG::c, CFG::in_lanes), AW = IPP > 1 ? CFG::c : CFG::in_lanes;
    const unsigned CB = CFG::c / AW, OL = CFG::lanes, CBO = CFG::c / OL;
    const unsigned SUMS = CFG::pixels / IPP * CB;
    static_assert(IPP > 1 || CFG::in_lanes == CFG::lanes, "a narrow input port is as wide as the output");
    const bool SR = CB < gap_rmw_min;
    acc_t acc[CB][AW];
#pragma HLS ARRAY_PARTITION variable = acc complete dim = 2
#pragma HLS BIND_STORAGE variable = acc type = ram_s2p impl = auto
    acc_t acc_sr[SR ? CB : 1][AW];
#pragma HLS ARRAY_PARTITION variable = acc_sr complete dim = 0
    ASYMAP_CSIM_ENGINE_BEGIN();
    ASYMAP_CSIM_ITEMS(1, SUMS + CBO, lat_gap);
    unsigned b = 0, px = 0, ob = 0;
gap_steps:
    for (unsigned i = 0; i < SUMS + CBO; ++i) {
#pragma HLS PIPELINE II = 1
#pragma HLS DEPENDENCE variable = acc inter RAW distance = CB true
        bool sum = i < SUMS;
        ap_uint<8 * CFG::in_lanes> beat = 0;
        ap_uint<8 * CFG::lanes> y = 0;
        if (sum) beat = in.read();
        acc_t cur[AW], nxt[AW];
#pragma HLS ARRAY_PARTITION variable = cur complete
#pragma HLS ARRAY_PARTITION variable = nxt complete
        for (unsigned l = 0; l < AW; ++l) {
#pragma HLS UNROLL
            cur[l] = px == 0 && sum ? acc_t(0) : SR ? acc_sr[0][l] : acc[b][l];
            acc_t add = 0;
            for (unsigned g = 0; g < IPP; ++g) {
#pragma HLS UNROLL
                add += byte_value<CFG::in_signed>(lane_byte<CFG::in_lanes>(beat, g * AW + l)) - in_zp_of<CFG>::value;
            }
            nxt[l] = cur[l] + add;
        }
        for (unsigned l = 0; l < OL; ++l) {
#pragma HLS UNROLL
            // narrow: word ob, lane l; wide: the one word, channel ob*OL + l (a small multiplexer)
            acc_t v = IPP > 1 ? pick<acc_t, AW>(cur, ob * OL + l) : cur[l < AW ? l : 0];
            y.range(8 * l + 7, 8 * l) =
                requant<CFG::lo, CFG::hi, out_zp_of<CFG>::value>(v, CFG::mult, CFG::shift).range(7, 0);
        }
        if (SR) {
            for (unsigned l = 0; l < AW; ++l) {
#pragma HLS UNROLL
                for (unsigned k = 0; k + 1 < (SR ? CB : 1); ++k) acc_sr[k][l] = acc_sr[k + 1][l];
                if (sum || IPP == 1) acc_sr[(SR ? CB : 1) - 1][l] = nxt[l];
            }
        } else if (sum) {
            for (unsigned l = 0; l < AW; ++l) {
#pragma HLS UNROLL
                acc[b][l] = nxt[l];
            }
        }
        if (!sum) {
            out.write(y);
            ++ob;
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
