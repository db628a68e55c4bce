// asymap HLS library: convolution / fully connected engine for layers whose weights live off chip.
//
// When a layer's weights do not fit on chip they are streamed from DRAM exactly once per image
// (weights_offchip.h), which needs the loop order inverted against the on-chip engines: output fold
// nf outer, pixels inner, so a fold's FOLD = KH*KW*SF weight rows are used for every output pixel
// before the next fold's rows arrive. The whole input tensor is held on chip (the cost model
// charges it) and so are the results, because the output stream wants all channels of a pixel
// together (HWC). The plan streams a layer only when its weights outweigh its input tensor.
//
// Three pipelined loops, each a single flattened loop at II=1 (the finn-hlslib MVAU idiom: one
// loop over NF x pixels x FOLD with index counters instead of a nest, so the pipeline fills and
// drains once per image, not once per pixel or fold):
//   oc_load    IPIX*IB cycles    input beats (IL channels) gathered into G-byte words of ibuf,
//                                G = lcm(SIMD, IL): one word write every G/IL beats;
//   oc_compute NF*OPIX*FOLD      one weight row per cycle. During the fold's first pixel (px == 0)
//                                the row comes from the weight stream and is kept in wbuf; the
//                                other pixels read it back from wbuf. wbuf and ibuf are arrays of
//                                whole rows / words (AGGREGATE), so each cycle is one read of one
//                                memory, never a runtime-chosen bank. Requantized folds are
//                                written to obuf as one PE-byte word per (pixel, fold);
//   oc_emit    OPIX*max(NF, OB)  a gearbox from PE-byte fold words to OL-channel output beats:
//                                per pixel it reads NF words and writes OB beats, at most one of
//                                each per cycle (max(NF, OB) cycles, checked for every PE, OL).
// C-sim counts exactly these iterations (csim_count.h), the cost model charges the same sum.
// Grouped convolutions read one ibuf word per PE lane per cycle (their lanes see different
// channels); the planner streams only layers whose weights outweigh their input, which grouped
// and depthwise layers practically never are.
#ifndef ASYMAP_CONV_OFFCHIP_H
#define ASYMAP_CONV_OFFCHIP_H

#include "asymap/conv.h"
#include "asymap/stream_utils.h"

namespace asymap {

// N bytes that HLS keeps together as one memory word (AGGREGATE below).
template <unsigned N>
struct byte_word {
    byte_t b[N];
};

constexpr unsigned oc_gcd(unsigned a, unsigned b) { return b == 0 ? a : oc_gcd(b, a % b); }

template <class CFG>
struct offchip_geom {
    static const unsigned cing = CFG::in_c / CFG::groups;
    static const unsigned nf = CFG::out_cp / CFG::pe, sf = cing / CFG::simd;
    static const unsigned fold = CFG::kh * CFG::kw * sf;             // weight rows per output fold
    static const unsigned ipix = CFG::in_h * CFG::in_w, opix = CFG::out_h * CFG::out_w;
    static const unsigned ib = CFG::in_c / CFG::in_lanes;              // beats per input pixel
    static const unsigned ob = CFG::out_c / CFG::out_lanes;            // beats per output pixel
    static const unsigned g = CFG::simd / oc_gcd(CFG::simd, CFG::in_lanes) * CFG::in_lanes;  // ibuf word
    static const unsigned gw = CFG::in_c / g;                          // ibuf words per pixel
    static const unsigned es = nf > ob ? nf : ob;                      // emit steps per pixel
    static const unsigned long long cycles =
        (unsigned long long)ipix * ib + (unsigned long long)nf * opix * fold + (unsigned long long)opix * es;
};

// ---- the three loops, shared by conv_offchip and the lane-split halves (lanesplit.h) -----------

// load: IL-lane beats -> GB-byte words of ibuf.
template <class CFG>
inline void oc_load(hls::stream<ap_uint<8 * CFG::in_lanes> > &in, byte_word<offchip_geom<CFG>::g> *ibuf) {
#pragma HLS INLINE
    typedef offchip_geom<CFG> G;
    const unsigned IL = CFG::in_lanes, GB = G::g;
    byte_word<G::g> word;
#pragma HLS ARRAY_PARTITION variable = word.b complete
    unsigned k = 0, w = 0;  // beat within the word, word index
oc_load:
    for (unsigned t = 0; t < G::ipix * G::ib; ++t) {
#pragma HLS PIPELINE II = 1
        ap_uint<8 * CFG::in_lanes> beat = in.read();
        for (unsigned j = 0; j < GB; ++j) {
#pragma HLS UNROLL
            if (j / IL == k) word.b[j] = lane_byte<CFG::in_lanes>(beat, j % IL);  // fixed lane per byte
        }
        if (++k == GB / IL) {
            k = 0;
            ibuf[w++] = word;
        }
    }
}

// The compute loop's position: step i of fold nf's FOLD rows (sf fastest, then kx, ky) for output
// pixel px = (oy, ox); folds outer, pixels inner.
struct oc_step {
    unsigned nf, px, oy, ox, i, ky, kx, sf;
    oc_step() : nf(0), px(0), oy(0), ox(0), i(0), ky(0), kx(0), sf(0) {}
    template <class CFG>
    void advance() {
#pragma HLS INLINE
        typedef offchip_geom<CFG> G;
        if (++sf == G::sf) {
            sf = 0;
            if (++kx == CFG::kw) {
                kx = 0;
                if (++ky == CFG::kh) ky = 0;
            }
        }
        if (++i == G::fold) {
            i = 0;
            if (++ox == CFG::out_w) {
                ox = 0;
                if (++oy == CFG::out_h) oy = 0;
            }
            if (++px == G::opix) {
                px = 0;
                ++nf;
            }
        }
    }
};

// The SIMD input bytes of this step (groups 1: one word for every PE lane): padding positions read
// the zero point's byte (real 0).
template <class CFG>
inline bytes<CFG::simd> oc_x_word(const byte_word<offchip_geom<CFG>::g> *ibuf, const oc_step &st) {
#pragma HLS INLINE
    typedef offchip_geom<CFG> G;
    int iy = int(st.oy * CFG::sh) - int(CFG::pt) + int(st.ky * CFG::dh);
    int ix = int(st.ox * CFG::sw) - int(CFG::pl) + int(st.kx * CFG::dw);
    bool ok = iy >= 0 && iy < int(CFG::in_h) && ix >= 0 && ix < int(CFG::in_w);
    unsigned ipx = ok ? unsigned(iy) * CFG::in_w + unsigned(ix) : 0;
    unsigned c0 = st.sf * CFG::simd;
    byte_word<G::g> wd = ibuf[ipx * G::gw + c0 / G::g];
    bytes<CFG::simd> x;
    for (unsigned s = 0; s < CFG::simd; ++s) {
#pragma HLS UNROLL
        x.b[s] = ok ? wd.b[c0 % G::g + s] : byte_t(ap_int<8>(in_zp_of<CFG>::value));
    }
    return x;
}

// One MAC step: the bias on the fold's first row, the row's products, the requantized fold on its
// last row (`done`).
template <class CFG>
inline void oc_mac(acc_t acc[CFG::pe], const act_t x[CFG::pe][CFG::simd], const typename conv_types<CFG>::wrow_t &row,
                   const oc_step &st, const int32_t bias[CFG::out_cp], const int32_t mult[CFG::out_cp],
                   const uint8_t shift[CFG::out_cp], byte_word<CFG::pe> &res, bool &done) {
#pragma HLS INLINE
    if (st.i == 0) {
        for (unsigned p = 0; p < CFG::pe; ++p) {
#pragma HLS UNROLL
            acc[p] = bias[st.nf * CFG::pe + p];
        }
    }
    mac_row<CFG>(acc, x, row);
    done = st.i == offchip_geom<CFG>::fold - 1;
    if (done) {
        for (unsigned p = 0; p < CFG::pe; ++p) {
#pragma HLS UNROLL
            unsigned co = st.nf * CFG::pe + p;
            res.b[p] = requant<CFG::lo, CFG::hi, out_zp_of<CFG>::value>(acc[p], mult[co], shift[co]).range(7, 0);
        }
    }
}

// The weight row of this step: from the stream during the fold's first pixel (kept in wbuf), from
// wbuf for the other pixels.
template <class CFG>
inline typename conv_types<CFG>::wrow_t oc_row(hls::stream<typename conv_types<CFG>::wrow_t> &ws,
                                                typename conv_types<CFG>::wrow_t *wbuf, const oc_step &st) {
#pragma HLS INLINE
    typename conv_types<CFG>::wrow_t row;
    if (st.px == 0) {
        row = ws.read();
        wbuf[st.i] = row;
    } else {
        row = wbuf[st.i];
    }
    return row;
}

// emit: PE-byte fold words of obuf -> OL-lane beats.
template <class CFG>
inline void oc_emit(const byte_word<CFG::pe> *obuf, hls::stream<ap_uint<8 * CFG::out_lanes> > &out) {
#pragma HLS INLINE
    typedef offchip_geom<CFG> G;
    const unsigned PE = CFG::pe, OL = CFG::out_lanes, NF = G::nf;
    byte_t gb[CFG::pe + CFG::out_lanes];
#pragma HLS ARRAY_PARTITION variable = gb complete
    unsigned fill = 0, wi = 0, px = 0, st = 0;
oc_emit:
    for (unsigned t = 0; t < G::opix * G::es; ++t) {
#pragma HLS PIPELINE II = 1
        if (fill < OL && wi < NF) {
            byte_word<CFG::pe> w = obuf[px * NF + wi];
            unsigned valid = (wi + 1) * PE <= CFG::out_c ? PE : CFG::out_c - wi * PE;
            for (unsigned j = 0; j < PE + OL; ++j) {
#pragma HLS UNROLL
                // byte j takes fold byte j - fill (fill < OL: an OL-input mux per byte)
                if (j >= fill && j - fill < valid) gb[j] = w.b[j - fill < PE ? j - fill : 0];
            }
            fill += valid;
            ++wi;
        }
        if (fill >= OL) {
            ap_uint<8 * CFG::out_lanes> beat;
            for (unsigned l = 0; l < OL; ++l) {
#pragma HLS UNROLL
                beat.range(8 * l + 7, 8 * l) = gb[l];
            }
            out.write(beat);
            for (unsigned j = 0; j < PE; ++j) {
#pragma HLS UNROLL
                gb[j] = gb[j + OL];
            }
            fill -= OL;
        }
        if (++st == G::es) {
            st = 0;
            wi = 0;
            ++px;
        }
    }
}

template <class CFG>
void conv_offchip(hls::stream<ap_uint<8 * CFG::in_lanes> > &in, hls::stream<ap_uint<8 * CFG::out_lanes> > &out,
                  hls::stream<typename conv_types<CFG>::wrow_t> &ws, const int32_t bias[CFG::out_cp],
                  const int32_t mult[CFG::out_cp], const uint8_t shift[CFG::out_cp]) {
#pragma HLS ARRAY_PARTITION variable = bias cyclic factor = CFG::pe
#pragma HLS ARRAY_PARTITION variable = mult cyclic factor = CFG::pe
#pragma HLS ARRAY_PARTITION variable = shift cyclic factor = CFG::pe
    typedef offchip_geom<CFG> G;
    typedef typename conv_types<CFG>::wrow_t wrow_t;
    const unsigned PE = CFG::pe, SIMD = CFG::simd, NF = G::nf, OPIX = G::opix, FOLD = G::fold;
    static_assert(CFG::out_cp % CFG::pe == 0 && CFG::out_cp >= CFG::out_c && G::cing % CFG::simd == 0,
                  "PE divides the padded channel count, SIMD divides C_in/groups");
    static_assert(CFG::kpar == 1, "window parallelism needs the row buffer (the planner never streams such layers)");
    static_assert(CFG::in_c % G::g == 0, "lcm(SIMD, in_lanes) divides C_in");
    // static: whole tensors would overflow the C-simulation stack; every element is rewritten
    // for each image before it is read, so no state leaks from one image to the next.
    static byte_word<G::g> ibuf[G::ipix * G::gw];
#pragma HLS AGGREGATE variable = ibuf compact = bit
#pragma HLS BIND_STORAGE variable = ibuf type = ram_s2p impl = bram
    static byte_word<CFG::pe> obuf[G::opix * G::nf];
#pragma HLS AGGREGATE variable = obuf compact = bit
#pragma HLS BIND_STORAGE variable = obuf type = ram_s2p impl = bram
    static wrow_t wbuf[G::fold];
#pragma HLS AGGREGATE variable = wbuf compact = bit
#pragma HLS BIND_STORAGE variable = wbuf type = ram_s2p impl = bram
    // The three loops below run one after another, so each fills and drains its pipeline once
    // per image: load and emit like a gearbox, the MAC loop like the MVAU (csim_count.h).
    ASYMAP_CSIM_ENGINE_TOTAL(G::cycles, 2 * lat_gearbox + lat_mvau);

    oc_load<CFG>(in, ibuf);

    // ---- compute: NF x OPIX x FOLD, one weight row per cycle ------------------------------------
    {
        oc_step st;
        acc_t acc[CFG::pe];
#pragma HLS ARRAY_PARTITION variable = acc complete
    oc_compute:
        for (unsigned t = 0; t < NF * OPIX * FOLD; ++t) {
#pragma HLS PIPELINE II = 1
#pragma HLS DEPENDENCE variable = wbuf inter RAW distance = FOLD true
            wrow_t row = oc_row<CFG>(ws, wbuf, st);
            act_t x[CFG::pe][CFG::simd];
#pragma HLS ARRAY_PARTITION variable = x complete dim = 0
            if (CFG::groups == 1) {  // every lane reads the same SIMD input channels
                bytes<CFG::simd> xw = oc_x_word<CFG>(ibuf, st);
                for (unsigned p = 0; p < PE; ++p) {
#pragma HLS UNROLL
                    for (unsigned s = 0; s < SIMD; ++s) {
#pragma HLS UNROLL
                        x[p][s] = byte_value<CFG::in_signed>(xw.b[s]);
                    }
                }
            } else {  // grouped: each lane reads its group's channels
                int iy = int(st.oy * CFG::sh) - int(CFG::pt) + int(st.ky * CFG::dh);
                int ix = int(st.ox * CFG::sw) - int(CFG::pl) + int(st.kx * CFG::dw);
                bool ok = iy >= 0 && iy < int(CFG::in_h) && ix >= 0 && ix < int(CFG::in_w);
                unsigned ipx = ok ? unsigned(iy) * CFG::in_w + unsigned(ix) : 0;
                for (unsigned p = 0; p < PE; ++p) {
#pragma HLS UNROLL
                    unsigned c0 = group_of<CFG>(st.nf * PE + p) * G::cing + st.sf * SIMD;
                    byte_word<G::g> wd = ibuf[ipx * G::gw + c0 / G::g];
                    unsigned off = c0 % G::g;  // a multiple of SIMD
                    for (unsigned s = 0; s < SIMD; ++s) {
#pragma HLS UNROLL
                        x[p][s] = ok ? byte_value<CFG::in_signed>(wd.b[off + s]) : act_t(in_zp_of<CFG>::value);
                    }
                }
            }
            byte_word<CFG::pe> res;
            bool done;
            oc_mac<CFG>(acc, x, row, st, bias, mult, shift, res, done);
            if (done) obuf[st.px * NF + st.nf] = res;
            st.advance<CFG>();
        }
    }

    oc_emit<CFG>(obuf, out);
}

}  // namespace asymap

#endif
