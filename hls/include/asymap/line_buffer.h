// asymap HLS library: the sliding-window generator (SWG) shared by convolution and pooling.
//
// A separate DATAFLOW process in front of the MAC array (finn-hlslib's ConvolutionInputGenerator
// idea): it reads the input tensor as words of BW channels (a gearbox in front of it turns port
// beats into such words) into a row buffer and writes, for every output pixel, the window words
// the compute process consumes, in the order (a, kq, s):
//   a  = output-channel fold (NF for convs, C/PE for pools: the words are sent once per fold, so
//        the compute process reads one word per cycle; grouped/depthwise folds read other channels),
//   kq = step of KPAR kernel-window positions (q = kq*KPAR + j, ky = q / KW, kx = q % KW),
//   s  = input-channel fold.
// Word (a, s) of a pixel is buffer word ((a*PE)/COUTG)*CING/BW + s; a window word holds KPAR such
// words (one per window position), padding positions read as the input's zero point (WC::in_zp
// when the config has it, else 0: real 0 either way; requant.h in_zp_of).
//
// Row buffer: RB = (KH-1)*DH+1 + SH row slots (input row r in slot r % RB), so the rows output row
// oy+1 needs load while output row oy is emitted. The SWG is ONE flattened pipelined loop over
// slots: slot 0 loads the rows output row 0 needs; slot oy+1 runs max(TL, TC) iterations, TL for
// the words of the rows output row oy+1 still needs (the last slot: the rest of the input,
// dropped) and TC = W_out*period for the W_out*A*KF*S window words of row oy. Both are paced:
// loads at the rate the input gearbox delivers words, window words at the rate of the slowest
// process behind, so in steady state no read or write of this loop waits on a FIFO -- which is
// what lets the cost model charge each slot the maximum of the processes' iterations.
//
// Banks fixed at compile time (UG1399 "Array partitioning": an unrolled access whose bank is not
// a compile-time constant becomes a multiplexer over all banks and raises II):
//   buf[RB][KWD][W/KWD][C/BW] is split into RB x KWD banks (KWD = KW*DW columns when KPAR > 1,
//   else 1). Every cycle each bank (r, b) is read once, at the column of the current window span
//   that falls into it, and the KPAR positions then pick their word from these registers. The
//   single write per cycle is an unrolled loop over the banks with an enable, so each unrolled
//   lane writes its own bank. Loads write only slots the window does not read in the same output
//   row, hence DEPENDENCE false on buf.
#ifndef ASYMAP_LINE_BUFFER_H
#define ASYMAP_LINE_BUFFER_H

#include "asymap/csim_count.h"
#include "asymap/requant.h"
#include "asymap/stream_utils.h"
#include "asymap/types.h"

namespace asymap {

// Rows of input needed before output row oy can be computed (clamped to [0, H]).
constexpr unsigned rows_needed(unsigned oy, unsigned H, unsigned KH, unsigned SH, unsigned DH, unsigned PT) {
    return int(oy * SH) - int(PT) + int((KH - 1) * DH) < 0 ? 0
           : int(oy * SH) - int(PT) + int((KH - 1) * DH) >= int(H)
               ? H
               : unsigned(int(oy * SH) - int(PT) + int((KH - 1) * DH) + 1);
}

// Input rows loaded by the end of slot s (slot 0: prefill; slot oy+1: output row oy).
template <class WC>
constexpr unsigned swg_rows_by_slot(unsigned s) {
    return s >= WC::out_h ? WC::in_h : rows_needed(s, WC::in_h, WC::kh, WC::sh, WC::dh, WC::pt);
}

template <class WC>
struct swg_shape {
    static const unsigned KF = WC::kh * WC::kw / WC::kpar;
    static const unsigned CW = WC::c / WC::bw;              // buffer words per pixel
    static const unsigned WPP = WC::a * KF * WC::s;         // window words per output pixel
    // Loads follow the input gearbox's schedule (stream_utils.h gearbox_shape): per chunk slot of
    // lm iterations it sends lw words, in the slot's first lw iterations; a row is W*CW/lw slots
    // (a chunk is part of a pixel, or -- behind a wide port -- several whole pixels of one row).
    static const unsigned WPR = WC::in_w * CW / WC::lw * WC::lm;  // load iterations per input row
    // Window words follow the pace of the slowest process behind (MVAU/reduction or output
    // gearbox): `period` iterations per output pixel, the WPP words in its first iterations.
    static const unsigned TC = WC::out_w * WC::period;      // window iterations per output row
    static const unsigned RB = (WC::kh - 1) * WC::dh + 1 + WC::sh;
    static const unsigned KWD = WC::kpar > 1 ? WC::kw * WC::dw : 1;
    static const unsigned WB = (WC::in_w + KWD - 1) / KWD;
    static const unsigned XN = WC::kpar * WC::bw;           // bytes per window word
};

// Loop iterations of slot s.
template <class WC>
constexpr unsigned swg_slot_steps(unsigned s) {
    return s == 0 ? swg_rows_by_slot<WC>(0) * swg_shape<WC>::WPR
                  : max_u((swg_rows_by_slot<WC>(s) - swg_rows_by_slot<WC>(s - 1)) * swg_shape<WC>::WPR,
                          swg_shape<WC>::TC);
}

template <class WC>
constexpr unsigned swg_total_steps() {
    unsigned n = 0;
    for (unsigned s = 0; s <= WC::out_h; ++s) n += swg_slot_steps<WC>(s);
    return n;
}

// Slot whose loads bring input row r.
template <class WC>
inline unsigned swg_slot_of_row(unsigned r) {
    unsigned s = 0;
    while (r >= swg_rows_by_slot<WC>(s)) ++s;
    return s;
}

// Pick element k of a small register array with an explicit compare-select per element (each
// unrolled lane reads a fixed register; the result is a multiplexer, not a banked memory access).
template <class T, unsigned N>
inline T pick(const T v[N], unsigned k) {
#pragma HLS INLINE
    T r = v[0];
    for (unsigned i = 1; i < N; ++i) {
#pragma HLS UNROLL
        if (i == k) r = v[i];
    }
    return r;
}

template <class WC>
void swg(hls::stream<bytes<WC::bw> > &in, hls::stream<bytes<swg_shape<WC>::XN> > &out) {
#pragma HLS INLINE off
    typedef swg_shape<WC> S;
    typedef bytes<WC::bw> word_t;
    const unsigned RB = S::RB, KWD = S::KWD, CW = S::CW;
    static_assert(WC::c % WC::bw == 0 && (WC::kh * WC::kw) % WC::kpar == 0, "BW divides C, KPAR the window");
    static_assert(swg_slot_steps<WC>(0) > 0, "output row 0 needs at least one input row");
    static_assert((CW % WC::lw == 0 || WC::lw % CW == 0) && (WC::in_w * CW) % WC::lw == 0 && WC::period >= S::WPP,
                  "whole chunks per pixel or whole pixels per chunk, whole chunks per row; a period holds a pixel's words");
    word_t buf[RB][KWD][S::WB][CW];
#pragma HLS ARRAY_PARTITION variable = buf complete dim = 1
#pragma HLS ARRAY_PARTITION variable = buf complete dim = 2
#pragma HLS AGGREGATE variable = buf
#pragma HLS BIND_STORAGE variable = buf type = ram_s2p impl = auto
    const unsigned keep = rows_needed(WC::out_h - 1, WC::in_h, WC::kh, WC::sh, WC::dh, WC::pt);
    const unsigned TOTAL = swg_total_steps<WC>();
#ifndef __SYNTHESIS__
    ASYMAP_CSIM_ITEMS(WC::out_h + 1, 0, lat_swg);
    for (unsigned s = 0; s <= WC::out_h; ++s) ASYMAP_CSIM_ITEM_ADD(s, swg_slot_steps<WC>(s));
#endif
    unsigned sl = 0, t = 0;                              // slot, step in slot
    unsigned TL = swg_slot_steps<WC>(0), T = TL;         // loads and steps of this slot
    unsigned lrow = 0, lx = 0, lw = 0, lph = 0;          // loader position (row, column, word), chunk phase
    unsigned ox = 0, u = 0, a = 0, kq = 0, s = 0;        // emitter position (pixel, step in period, word)
    unsigned slot[WC::kh];
    bool rvalid[WC::kh];
#pragma HLS ARRAY_PARTITION variable = slot complete
#pragma HLS ARRAY_PARTITION variable = rvalid complete
    for (unsigned ky = 0; ky < WC::kh; ++ky) slot[ky] = 0, rvalid[ky] = false;
swg_steps:
    for (unsigned i = 0; i < TOTAL; ++i) {
#pragma HLS PIPELINE II = 1
#pragma HLS DEPENDENCE variable = buf inter false
#pragma HLS DEPENDENCE variable = buf intra false
        bool load = t < TL && lph < WC::lw;
        if (t < TL) lph = lph + 1 == WC::lm ? 0 : lph + 1;
        if (load) {
            word_t w = in.read();
            if (lrow < keep) {
                unsigned rs = lrow % RB, cb = lx % KWD, ca = lx / KWD;
                for (unsigned r = 0; r < RB; ++r) {
#pragma HLS UNROLL
                    for (unsigned b = 0; b < KWD; ++b) {
#pragma HLS UNROLL
                        if (r == rs && b == cb) buf[r][b][ca][lw] = w;
                    }
                }
            }
            if (++lw == CW) {
                lw = 0;
                if (++lx == WC::in_w) {
                    lx = 0;
                    ++lrow;
                }
            }
        }
        bool emit = sl > 0 && t < S::TC && u < S::WPP;
        if (sl > 0 && t < S::TC) u = u + 1 == WC::period ? 0 : u + 1;
        if (emit) {
            unsigned idx = ((a * WC::pe) / WC::coutg) * WC::cing / WC::bw + s;
            int c0 = int(ox * WC::sw) - int(WC::pl);
            unsigned kx0 = (kq * WC::kpar) % WC::kw;
            int base = WC::kpar > 1 ? c0 : c0 + int(kx0 * WC::dw);
            word_t rd[RB][KWD];  // one read of every bank
#pragma HLS ARRAY_PARTITION variable = rd complete dim = 0
            for (unsigned r = 0; r < RB; ++r) {
#pragma HLS UNROLL
                for (unsigned b = 0; b < KWD; ++b) {
#pragma HLS UNROLL
                    int col = base + ((int(b) - base) % int(KWD) + int(KWD)) % int(KWD);
                    unsigned ca = col >= 0 && col < int(WC::in_w) ? unsigned(col) / KWD : 0;
                    rd[r][b] = buf[r][b][ca][idx];
                }
            }
            bytes<S::XN> ww;
            for (unsigned j = 0; j < WC::kpar; ++j) {
#pragma HLS UNROLL
                unsigned q = kq * WC::kpar + j, ky = q / WC::kw, kx = q % WC::kw;
                int ix = c0 + int(kx * WC::dw);
                bool ok = pick<bool, WC::kh>(rvalid, ky) && ix >= 0 && ix < int(WC::in_w);
                unsigned rs = pick<unsigned, WC::kh>(slot, ky);
                unsigned cb = ok ? unsigned(ix) % KWD : 0;
                word_t row_words[RB];
#pragma HLS ARRAY_PARTITION variable = row_words complete
                for (unsigned r = 0; r < RB; ++r) {
#pragma HLS UNROLL
                    row_words[r] = pick<word_t, KWD>(rd[r], cb);
                }
                word_t v = pick<word_t, RB>(row_words, rs);
                for (unsigned m = 0; m < WC::bw; ++m) {
#pragma HLS UNROLL
                    ww.b[j * WC::bw + m] = ok ? v.b[m] : byte_t(zp_byte<in_zp_of<WC>::value>::value);
                }
            }
            out.write(ww);
            if (++s == WC::s) {
                s = 0;
                if (++kq == S::KF) {
                    kq = 0;
                    if (++a == WC::a) {
                        a = 0;
                    }
                }
            }
        }
        if (sl > 0 && t < S::TC && u == 0) ++ox;  // the period of pixel ox ended
        if (++t == T) {  // next slot: output row sl (slot sl+1)
            t = 0;
            lph = 0;
            u = 0;
            ++sl;
            TL = (swg_rows_by_slot<WC>(sl) - swg_rows_by_slot<WC>(sl - 1)) * S::WPR;
            T = TL > S::TC ? TL : S::TC;
            ox = 0;
            unsigned oy = sl - 1;
            for (unsigned ky = 0; ky < WC::kh; ++ky) {
#pragma HLS UNROLL
                int iy = int(oy * WC::sh) - int(WC::pt) + int(ky * WC::dh);
                rvalid[ky] = iy >= 0 && iy < int(WC::in_h);
                slot[ky] = rvalid[ky] ? unsigned(iy) % RB : 0;
            }
        }
    }
}

}  // namespace asymap

#endif
