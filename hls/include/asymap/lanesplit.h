// asymap HLS library: an on-chip MAC engine whose PE lanes are split over two SLRs ("lane split").
//
// A layer whose engine does not fit in what is left of one super logic region can have its PE
// lanes cut in two (plan.json `layers[].slr_lanes = [[s, k], [s+1, P-k]]`, docs/deploy.md): lanes
// 0..k-1 of every output fold are computed in SLR s, lanes k..P-1 in SLR s+1. The engine is the
// same process chain as conv.h's conv2d / conv1x1 (gearbox -> [window generator] -> MVAU ->
// gearbox), cut behind the window generator:
//
//   half A (SLR s):   gearbox -> [swg] -> fork2 ---------> mvau<CA> (PE = k) ---- ra ----\
//                                           \---- xb (the window / input words) ----\    |
//   half B (SLR s+1):                                     mvau<CB> (PE = P-k) -> zip_lanes -> gearbox
//
// fork2 (stream_utils.h) is the dup, finn-hlslib's DuplicateStreams: one word in, the same word to
// both halves, II=1. zip_lanes joins half A's k-byte fold words and half B's (P-k)-byte fold
// words into the P-byte fold word the unsplit MVAU would have written, II=1 (the finn-hlslib
// StreamingDataWidthConverter idiom: one flattened pipelined loop, one read of each input and one
// write per iteration). Each half is an ordinary `mvau` over its own config (CA: PE = k, CB: PE =
// P-k, both with NF = out_cp / P output folds, the layer's SIMD and KPAR) and its own weight, bias
// and requantization rows: the generator keeps lanes 0..k-1 (k..P-1) of every fold (codegen
// segment_blocks.lane_half). Both halves therefore run the same folds in lockstep: the same
// iterations per output pixel as the unsplit engine, so the engine's interval is unchanged; what
// the split adds is latency (the dup, the zip and the SLR crossing registers), a few cycles.
//
// The two streams between the halves (xb: the duplicated window/input words; ra: half A's results)
// are the only ones that cross the SLR boundary; each is a plain FIFO with one producer and one
// consumer (UG1399 "Dataflow": canonical form), so the generated design can cut the region
// between the two halves into one kernel per SLR (codegen/segment_slr.py) joined by
// stream_connect. Their words are `bytes<N>` structs, aggregated into one N*8-bit AXI4-Stream
// TDATA on a kernel port (UG1399 "Pragma HLS aggregate": structs on stream interfaces are
// aggregated), which keeps the window word clear of ap_int's width limit.
//
// C-sim cycle counting (csim_count.h): half A begins the engine's record (input gearbox, window
// generator, MVAU A), half B adds MVAU B, merged with MVAU A into the one MVAU they replace
// (ASYMAP_CSIM_MERGE_LANES), and the output gearbox, and ends the engine with the unsplit engine's
// slots (conv.h conv2d_slots / pointwise_slots): the count equals the unsplit engine's, which is
// what the cost model charges. The dup and the zip are register stages counted, like the SLR
// crossing, in latency. The two halves must run one right after the other in sequential C-sim
// (the generator places half A last in SLR s and half B first in SLR s+1).
#ifndef ASYMAP_LANESPLIT_H
#define ASYMAP_LANESPLIT_H

#include "asymap/conv.h"
#include "asymap/conv_offchip.h"
#include "asymap/preload.h"

namespace asymap {

// Join KA lanes of half A and KB lanes of half B into one fold word of KA+KB lanes, N words.
template <unsigned KA, unsigned KB, unsigned N>
void zip_lanes(hls::stream<bytes<KA> > &a, hls::stream<bytes<KB> > &b, hls::stream<bytes<KA + KB> > &out) {
zip_loop:
    for (unsigned i = 0; i < N; ++i) {
#pragma HLS PIPELINE II = 1
        bytes<KA> x = a.read();
        bytes<KB> y = b.read();
        bytes<KA + KB> z;
        for (unsigned p = 0; p < KA; ++p) {
#pragma HLS UNROLL
            z.b[p] = x.b[p];
        }
        for (unsigned p = 0; p < KB; ++p) {
#pragma HLS UNROLL
            z.b[KA + p] = y.b[p];
        }
        out.write(z);
    }
}

// The half configs must describe the lanes of the layer config CFG: same folds, SIMD and KPAR.
template <class CFG, class CH>
struct lane_half_check {
    static_assert(CFG::groups == 1 && CH::groups == 1, "lane split: standard convolutions and fc only");
    static_assert(CH::pe < CFG::pe && CH::out_cp == CFG::out_cp / CFG::pe * CH::pe && CH::out_c == CH::out_cp,
                  "lane split: a half has fewer lanes and the layer's NF folds, no padding of its own");
    static_assert(CH::simd == CFG::simd && CH::kpar == CFG::kpar && CH::in_c == CFG::in_c &&
                      CH::kh == CFG::kh && CH::kw == CFG::kw,
                  "lane split: a half reads the layer's window words");
    static_assert(conv_shape<CH>::XN == conv_shape<CFG>::XN && conv_shape<CH>::STEPS == conv_shape<CFG>::STEPS,
                  "lane split: both halves take the unsplit MVAU's words and steps");
    static const bool ok = true;
};

// Half A of a KxK engine: input gearbox, window generator, dup, MVAU over lanes 0..k-1.
// `xb`: the window words for half B; `ra`: this half's fold words.
template <class CFG, class CA>
void conv2d_lanes_a(hls::stream<ap_uint<8 * CFG::in_lanes> > &in, hls::stream<bytes<conv_shape<CFG>::XN> > &xb,
                    hls::stream<bytes<CA::pe> > &ra, const uint64_t w[CA::rom_words], const int32_t bias[CA::out_cp],
                    const int32_t mult[CA::out_cp], const uint8_t shift[CA::out_cp]) {
#pragma HLS ARRAY_PARTITION variable = w cyclic factor = CA::rom_wpr
#pragma HLS BIND_STORAGE variable = w type = rom_1p impl = bram
#pragma HLS ARRAY_PARTITION variable = bias cyclic factor = CA::pe
#pragma HLS ARRAY_PARTITION variable = mult cyclic factor = CA::pe
#pragma HLS ARRAY_PARTITION variable = shift cyclic factor = CA::pe
#pragma HLS BIND_STORAGE variable = bias type = rom_1p impl = lutram
#pragma HLS BIND_STORAGE variable = mult type = rom_1p impl = lutram
#pragma HLS BIND_STORAGE variable = shift type = rom_1p impl = lutram
    typedef conv_shape<CFG> X;
    typedef conv_swg_cfg<CFG> WC;
    static_assert(lane_half_check<CFG, CA>::ok, "");
    ASYMAP_CSIM_ENGINE_BEGIN();
#pragma HLS DATAFLOW
    hls::stream<bytes<X::BW> > words("lanes_words");
#pragma HLS STREAM variable = words depth = WC::lw + 2
#pragma HLS BIND_STORAGE variable = words type = fifo impl = srl
    hls::stream<bytes<X::XN> > wins("lanes_windows"), xa("lanes_windows_a");
#pragma HLS STREAM variable = wins depth = 2
#pragma HLS STREAM variable = xa depth = 2
    ASYMAP_SIM_DEPTH_FIXED(words, WC::lw + 2);
    ASYMAP_SIM_DEPTH_FIXED(wins, 2);
    ASYMAP_SIM_DEPTH_FIXED(xa, 2);
    ASYMAP_DATAFLOW(df);
    ASYMAP_PROCESS(df, (gearbox<CFG::in_lanes, X::BW, X::IIT, X::IIT, X::IPIX / X::IPP>(in, words)));
    ASYMAP_PROCESS(df, swg<WC>(words, wins));
    ASYMAP_PROCESS(df, (fork2<bytes<X::XN>, X::OPIX * X::STEPS>(wins, xa, xb)));
    ASYMAP_PROCESS(df, (mvau<CA, false>(xa, ra, w, bias, mult, shift)));
    ASYMAP_DATAFLOW_RUN(df);
}

// Half A of a 1x1/fc engine: input gearbox, dup, MVAU over lanes 0..k-1 (each half keeps the
// pixel's SF input words in its own MVAU input buffer for the other folds, as conv1x1 does).
template <class CFG, class CA>
void pointwise_lanes_a(hls::stream<ap_uint<8 * CFG::in_lanes> > &in, hls::stream<bytes<conv_shape<CFG>::XN> > &xb,
                       hls::stream<bytes<CA::pe> > &ra, const uint64_t w[CA::rom_words], const int32_t bias[CA::out_cp],
                       const int32_t mult[CA::out_cp], const uint8_t shift[CA::out_cp]) {
#pragma HLS ARRAY_PARTITION variable = w cyclic factor = CA::rom_wpr
#pragma HLS BIND_STORAGE variable = w type = rom_1p impl = bram
#pragma HLS ARRAY_PARTITION variable = bias cyclic factor = CA::pe
#pragma HLS ARRAY_PARTITION variable = mult cyclic factor = CA::pe
#pragma HLS ARRAY_PARTITION variable = shift cyclic factor = CA::pe
#pragma HLS BIND_STORAGE variable = bias type = rom_1p impl = lutram
#pragma HLS BIND_STORAGE variable = mult type = rom_1p impl = lutram
#pragma HLS BIND_STORAGE variable = shift type = rom_1p impl = lutram
    typedef conv_shape<CFG> X;
    static_assert(lane_half_check<CFG, CA>::ok && CFG::kpar == 1 && CFG::kh == 1 && CFG::kw == 1, "1x1 engine");
    ASYMAP_CSIM_ENGINE_BEGIN();
#pragma HLS DATAFLOW
    hls::stream<bytes<CFG::simd> > words("lanes_pw_words"), xa("lanes_pw_words_a");
#pragma HLS STREAM variable = words depth = 2
#pragma HLS STREAM variable = xa depth = X::SF + 2
#pragma HLS BIND_STORAGE variable = xa type = fifo
    ASYMAP_SIM_DEPTH_FIXED(words, 2);
    ASYMAP_SIM_DEPTH_FIXED(xa, X::SF + 2);
    ASYMAP_DATAFLOW(df);
    ASYMAP_PROCESS(df, (gearbox<CFG::in_lanes, CFG::simd, X::IIT, X::IIT, X::IPIX / X::IPP>(in, words)));
    ASYMAP_PROCESS(df, (fork2<bytes<CFG::simd>, X::IPIX * X::SF>(words, xa, xb)));
    ASYMAP_PROCESS(df, (mvau<CA, true>(xa, ra, w, bias, mult, shift)));
    ASYMAP_DATAFLOW_RUN(df);
}

// Half B (both engines): MVAU over lanes k..P-1, zip with half A's fold words, output gearbox.
// SLOTS: the unsplit engine's C-sim slots (conv2d_slots<CFG> or pointwise_slots<CFG>); REUSE: the
// 1x1/fc MVAU (input words kept for the other folds) or the KxK one (window words once per fold).
template <class CFG, class CB, class SLOTS, bool REUSE>
void mac_lanes_b(hls::stream<bytes<conv_shape<CFG>::XN> > &xb, hls::stream<bytes<CFG::pe - CB::pe> > &ra,
                 hls::stream<ap_uint<8 * CFG::out_lanes> > &out, const uint64_t w[CB::rom_words],
                 const int32_t bias[CB::out_cp], const int32_t mult[CB::out_cp], const uint8_t shift[CB::out_cp]) {
#pragma HLS ARRAY_PARTITION variable = w cyclic factor = CB::rom_wpr
#pragma HLS BIND_STORAGE variable = w type = rom_1p impl = bram
#pragma HLS ARRAY_PARTITION variable = bias cyclic factor = CB::pe
#pragma HLS ARRAY_PARTITION variable = mult cyclic factor = CB::pe
#pragma HLS ARRAY_PARTITION variable = shift cyclic factor = CB::pe
#pragma HLS BIND_STORAGE variable = bias type = rom_1p impl = lutram
#pragma HLS BIND_STORAGE variable = mult type = rom_1p impl = lutram
#pragma HLS BIND_STORAGE variable = shift type = rom_1p impl = lutram
    typedef conv_shape<CFG> X;
    const unsigned KA = CFG::pe - CB::pe;
    static_assert(lane_half_check<CFG, CB>::ok && KA >= 1, "");
#pragma HLS DATAFLOW
    hls::stream<bytes<CB::pe> > rb("lanes_results_b");
#pragma HLS STREAM variable = rb depth = 2
    hls::stream<bytes<CFG::pe> > res("lanes_results");
#pragma HLS STREAM variable = res depth = 2
#pragma HLS BIND_STORAGE variable = res type = fifo impl = srl
    ASYMAP_SIM_DEPTH_FIXED(rb, 2);
    ASYMAP_SIM_DEPTH_FIXED(res, 2);
    ASYMAP_DATAFLOW(df);
    ASYMAP_PROCESS(df, (mvau<CB, REUSE>(xb, rb, w, bias, mult, shift)));
    ASYMAP_CSIM_MERGE_LANES();  // sequential C-sim only: MVAU B and MVAU A count as one MVAU
    ASYMAP_PROCESS(df, (zip_lanes<KA, CB::pe, X::OPIX * X::NF>(ra, rb, res)));
    ASYMAP_PROCESS(df, (gearbox<CFG::pe, CFG::out_lanes, X::OIT_IN, X::OIT, X::OPIX / X::OPP>(res, out)));
    ASYMAP_DATAFLOW_RUN(df);
    ASYMAP_CSIM_ENGINE_END(SLOTS::n, SLOTS());
}

// Weights in URAM (preload.h): each half owns its URAM table and fills it from its own stream of
// the start-up image on its first call (the segment's loader sends half A's words, then half B's:
// half A takes all of its words before it reads an activation, so B's words always get through).
template <class CFG, class CA>
void conv2d_lanes_a_preload(hls::stream<ap_uint<8 * CFG::in_lanes> > &in, hls::stream<bytes<conv_shape<CFG>::XN> > &xb,
                            hls::stream<bytes<CA::pe> > &ra, hls::stream<pword_t> &ws, const int32_t bias[CA::out_cp],
                            const int32_t mult[CA::out_cp], const uint8_t shift[CA::out_cp]) {
    static uint64_t w[CA::rom_words];
#pragma HLS BIND_STORAGE variable = w type = ram_t2p impl = uram
    static bool loaded = false;
    preload_take<CA::rom_words>(ws, w, loaded);
    conv2d_lanes_a<CFG, CA>(in, xb, ra, w, bias, mult, shift);
}

template <class CFG, class CA>
void pointwise_lanes_a_preload(hls::stream<ap_uint<8 * CFG::in_lanes> > &in,
                               hls::stream<bytes<conv_shape<CFG>::XN> > &xb, hls::stream<bytes<CA::pe> > &ra,
                               hls::stream<pword_t> &ws, const int32_t bias[CA::out_cp], const int32_t mult[CA::out_cp],
                               const uint8_t shift[CA::out_cp]) {
    static uint64_t w[CA::rom_words];
#pragma HLS BIND_STORAGE variable = w type = ram_t2p impl = uram
    static bool loaded = false;
    preload_take<CA::rom_words>(ws, w, loaded);
    pointwise_lanes_a<CFG, CA>(in, xb, ra, w, bias, mult, shift);
}

template <class CFG, class CB, class SLOTS, bool REUSE>
void mac_lanes_b_preload(hls::stream<bytes<conv_shape<CFG>::XN> > &xb, hls::stream<bytes<CFG::pe - CB::pe> > &ra,
                         hls::stream<ap_uint<8 * CFG::out_lanes> > &out, hls::stream<pword_t> &ws,
                         const int32_t bias[CB::out_cp], const int32_t mult[CB::out_cp], const uint8_t shift[CB::out_cp]) {
    static uint64_t w[CB::rom_words];
#pragma HLS BIND_STORAGE variable = w type = ram_t2p impl = uram
    static bool loaded = false;
    preload_take<CB::rom_words>(ws, w, loaded);
    mac_lanes_b<CFG, CB, SLOTS, REUSE>(xb, ra, out, w, bias, mult, shift);
}

// ---- off-chip weights: conv_offchip's loops (conv_offchip.h) cut the same way -------------------
//
//   half A (SLR s):   oc_load -> ibuf -> compute (PE = k): each step's SIMD input word also to xb,
//                     each fold's k results to ra
//   half B (SLR s+1): compute (PE = P-k) on the words of xb; at each fold's end half A's k results
//                     and its own P-k joined into the P-byte word of obuf -> oc_emit
// The input tensor (ibuf) stays in SLR s, the output buffer (obuf) is in SLR s+1. The layer's
// weights keep their one off-chip region of whole P-lane rows and their one reader; split_rows
// (in SLR s) deals every row's lanes 0..k-1 to half A and the rest to half B, one row per cycle,
// so each half gets its own weight stream. Both halves take one row per step during a fold's
// first pixel, in lockstep with the xb words, so neither stream can starve the other.
// C-sim: half B charges the unsplit engine's cycles (offchip_geom::cycles), half A nothing.

// Deal each RA+RB-byte weight row's first RA bytes (lanes 0..k-1: byte p*SIMD + s) to `a` and the
// rest to `b`; N rows.
template <unsigned RA, unsigned RB, unsigned N>
void split_rows(hls::stream<wrow<RA + RB> > &ws, hls::stream<wrow<RA> > &a, hls::stream<wrow<RB> > &b) {
split_rows_loop:
    for (unsigned i = 0; i < N; ++i) {
#pragma HLS PIPELINE II = 1
        wrow<RA + RB> r = ws.read();
        wrow<RA> x;
        wrow<RB> y;
        for (unsigned j = 0; j < RA; ++j) {
#pragma HLS UNROLL
            x.w[j] = r.w[j];
        }
        for (unsigned j = 0; j < RB; ++j) {
#pragma HLS UNROLL
            y.w[j] = r.w[RA + j];
        }
        a.write(x);
        b.write(y);
    }
}

template <class CFG, class CA>
void conv_offchip_lanes_a(hls::stream<ap_uint<8 * CFG::in_lanes> > &in, hls::stream<bytes<CFG::simd> > &xb,
                          hls::stream<bytes<CA::pe> > &ra, hls::stream<typename conv_types<CA>::wrow_t> &ws,
                          const int32_t bias[CA::out_cp], const int32_t mult[CA::out_cp], const uint8_t shift[CA::out_cp]) {
#pragma HLS ARRAY_PARTITION variable = bias cyclic factor = CA::pe
#pragma HLS ARRAY_PARTITION variable = mult cyclic factor = CA::pe
#pragma HLS ARRAY_PARTITION variable = shift cyclic factor = CA::pe
    typedef offchip_geom<CFG> G;
    typedef typename conv_types<CA>::wrow_t wrow_t;
    static_assert(lane_half_check<CFG, CA>::ok && CFG::kpar == 1 && CFG::in_c % G::g == 0, "off-chip engine");
    static byte_word<G::g> ibuf[G::ipix * G::gw];  // static: see conv_offchip
#pragma HLS AGGREGATE variable = ibuf compact = bit
#pragma HLS BIND_STORAGE variable = ibuf type = ram_s2p impl = bram
    static wrow_t wbuf[G::fold];
#pragma HLS AGGREGATE variable = wbuf compact = bit
#pragma HLS BIND_STORAGE variable = wbuf type = ram_s2p impl = bram
    oc_load<CFG>(in, ibuf);
    oc_step st;
    acc_t acc[CA::pe];
#pragma HLS ARRAY_PARTITION variable = acc complete
oc_lanes_a:
    for (unsigned t = 0; t < G::nf * G::opix * G::fold; ++t) {
#pragma HLS PIPELINE II = 1
#pragma HLS DEPENDENCE variable = wbuf inter RAW distance = G::fold true
        wrow_t row = oc_row<CA>(ws, wbuf, st);
        bytes<CFG::simd> xw = oc_x_word<CFG>(ibuf, st);
        xb.write(xw);
        act_t x[CA::pe][CFG::simd];
#pragma HLS ARRAY_PARTITION variable = x complete dim = 0
        for (unsigned p = 0; p < CA::pe; ++p) {
#pragma HLS UNROLL
            for (unsigned s = 0; s < CFG::simd; ++s) {
#pragma HLS UNROLL
                x[p][s] = byte_value<CFG::in_signed>(xw.b[s]);
            }
        }
        byte_word<CA::pe> res;
        bool done;
        oc_mac<CA>(acc, x, row, st, bias, mult, shift, res, done);
        if (done) {
            bytes<CA::pe> y;
            for (unsigned p = 0; p < CA::pe; ++p) {
#pragma HLS UNROLL
                y.b[p] = res.b[p];
            }
            ra.write(y);
        }
        st.advance<CFG>();
    }
}

template <class CFG, class CB>
void conv_offchip_lanes_b(hls::stream<bytes<CFG::simd> > &xb, hls::stream<bytes<CFG::pe - CB::pe> > &ra,
                          hls::stream<ap_uint<8 * CFG::out_lanes> > &out, hls::stream<typename conv_types<CB>::wrow_t> &ws,
                          const int32_t bias[CB::out_cp], const int32_t mult[CB::out_cp], const uint8_t shift[CB::out_cp]) {
#pragma HLS ARRAY_PARTITION variable = bias cyclic factor = CB::pe
#pragma HLS ARRAY_PARTITION variable = mult cyclic factor = CB::pe
#pragma HLS ARRAY_PARTITION variable = shift cyclic factor = CB::pe
    typedef offchip_geom<CFG> G;
    typedef typename conv_types<CB>::wrow_t wrow_t;
    const unsigned KA = CFG::pe - CB::pe;
    static_assert(lane_half_check<CFG, CB>::ok && CFG::kpar == 1, "off-chip engine");
    static byte_word<CFG::pe> obuf[G::opix * G::nf];  // static: see conv_offchip
#pragma HLS AGGREGATE variable = obuf compact = bit
#pragma HLS BIND_STORAGE variable = obuf type = ram_s2p impl = bram
    static wrow_t wbuf[G::fold];
#pragma HLS AGGREGATE variable = wbuf compact = bit
#pragma HLS BIND_STORAGE variable = wbuf type = ram_s2p impl = bram
    ASYMAP_CSIM_ENGINE_TOTAL(G::cycles, 2 * lat_gearbox + lat_mvau);  // the unsplit engine's (half A: none)
    oc_step st;
    acc_t acc[CB::pe];
#pragma HLS ARRAY_PARTITION variable = acc complete
oc_lanes_b:
    for (unsigned t = 0; t < G::nf * G::opix * G::fold; ++t) {
#pragma HLS PIPELINE II = 1
#pragma HLS DEPENDENCE variable = wbuf inter RAW distance = G::fold true
        wrow_t row = oc_row<CB>(ws, wbuf, st);
        bytes<CFG::simd> xw = xb.read();
        act_t x[CB::pe][CFG::simd];
#pragma HLS ARRAY_PARTITION variable = x complete dim = 0
        for (unsigned p = 0; p < CB::pe; ++p) {
#pragma HLS UNROLL
            for (unsigned s = 0; s < CFG::simd; ++s) {
#pragma HLS UNROLL
                x[p][s] = byte_value<CFG::in_signed>(xw.b[s]);
            }
        }
        byte_word<CB::pe> res;
        bool done;
        oc_mac<CB>(acc, x, row, st, bias, mult, shift, res, done);
        if (done) {  // the zip: half A's lanes, then this half's
            bytes<KA> a = ra.read();
            byte_word<CFG::pe> z;
            for (unsigned p = 0; p < KA; ++p) {
#pragma HLS UNROLL
                z.b[p] = a.b[p];
            }
            for (unsigned p = 0; p < CB::pe; ++p) {
#pragma HLS UNROLL
                z.b[KA + p] = res.b[p];
            }
            obuf[st.px * G::nf + st.nf] = z;
        }
        st.advance<CFG>();
    }
    oc_emit<CFG>(obuf, out);
}

}  // namespace asymap

#endif
