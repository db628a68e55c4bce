// asymap HLS library: stream plumbing between blocks.
//
// - bytes<N>: a word of N raw bytes (a SIMD- or PE-wide word between the processes of an engine).
//   A struct, not one ap_uint, because N*8 bits easily exceeds ap_int's width limit; it travels
//   through a stream and sits in a memory as one aggregated word (AGGREGATE, UG1399 "Pragma HLS
//   aggregate"), so one word is one access.
// - gearbox: re-pack a stream of PI-byte words into PO-byte words (any PI, PO), optionally
//   dropping bytes at the end of each item (the zero-padding channels of a padded PE fold). Built
//   from fixed-distance shift registers only (no runtime-indexed array), one flattened pipelined
//   loop (the finn-hlslib StreamingDataWidthConverter idea, generalised through the least common
//   multiple of the two widths).
// - copy_stream: a pass-through process; fork2: duplicate a stream to two consumers (a tensor read
//   by k consumers goes through k-1 fork2 processes: HLS DATAFLOW needs one reader per channel).
// - width_convert: a tensor port from IN_P to OUT_P channels per beat (a gearbox).
// - pixel_emit: write one pixel of C channels from a byte array (used by the off-chip engine).
#ifndef ASYMAP_STREAM_UTILS_H
#define ASYMAP_STREAM_UTILS_H

#include "asymap/csim_count.h"
#include "asymap/types.h"

namespace asymap {

template <unsigned N>
struct bytes {
    byte_t b[N];
};

constexpr unsigned gcd_u(unsigned a, unsigned b) { return b == 0 ? a : gcd_u(b, a % b); }
constexpr unsigned lcm_u(unsigned a, unsigned b) { return a / gcd_u(a, b) * b; }
constexpr unsigned max_u(unsigned a, unsigned b) { return a > b ? a : b; }
constexpr unsigned min_u(unsigned a, unsigned b) { return a < b ? a : b; }

// A tensor port of C channels and LANES bytes per beat (types.h): LANES <= C means LANES channels
// of one pixel per beat (LANES divides C); LANES > C is a *wide* port, LANES / C whole pixels per
// beat (few-channel tensors such as the RGB input, asymap.lanes.port_bytes). port_pix: pixels per
// beat; port_item: bytes of the smallest whole unit of the port (a pixel, or a wide beat), the
// item a gearbox in front of or behind an engine converts.
constexpr unsigned port_pix(unsigned c, unsigned lanes) { return lanes > c ? lanes / c : 1; }
constexpr unsigned port_item(unsigned c, unsigned lanes) { return lanes > c ? lanes : c; }

// Byte access to the two word kinds (port beats are ap_uint<8*P>, engine words are bytes<N>).
template <unsigned P>
inline byte_t word_byte(const ap_uint<8 * P> &w, unsigned i) {
#pragma HLS INLINE
    return w.range(8 * i + 7, 8 * i);
}
template <unsigned P>
inline byte_t word_byte(const bytes<P> &w, unsigned i) {
#pragma HLS INLINE
    return w.b[i];
}
template <unsigned P>
inline void set_word_byte(ap_uint<8 * P> &w, unsigned i, byte_t v) {
#pragma HLS INLINE
    w.range(8 * i + 7, 8 * i) = v;
}
template <unsigned P>
inline void set_word_byte(bytes<P> &w, unsigned i, byte_t v) {
#pragma HLS INLINE
    w.b[i] = v;
}

// Schedule of gearbox<PI, PO, CI, CO, N>: items of CI bytes in, the first CO of them out.
// Chunks of L = lcm(PI, PO) bytes; each chunk slot takes M = max(L/PI, L/PO) loop iterations:
// chunk k is collected (L/PI shifts, a read in each while item bytes remain) while chunk k-1 is
// sent (up to L/PO writes). Items of K = ceil(CI/L) chunks, plus one slot to send the last chunk.
template <unsigned PI, unsigned PO, unsigned CI, unsigned CO>
struct gearbox_shape {
    static const unsigned L = lcm_u(PI, PO);
    static const unsigned M = max_u(L / PI, L / PO);
    static const unsigned K = (CI + L - 1) / L;
    static const unsigned item_steps = K * M;  // loop iterations per item in steady state
    static const unsigned tail_steps = M;      // the extra slot that sends the last chunk
};

// Reads N items of CI/PI words of type TI (PI bytes each), writes N items of CO/PO words of type
// TO (PO bytes each). Every register move is by a distance fixed at compile time. CO < CI drops
// the item's last bytes; CO > CI (up to the item's whole chunks) appends zero bytes, as link_pack
// pads the last link beat of a tensor.
template <unsigned PI, unsigned PO, unsigned CI, unsigned CO, unsigned N, class TI, class TO>
void gearbox(hls::stream<TI> &in, hls::stream<TO> &out) {
#pragma HLS INLINE off
    typedef gearbox_shape<PI, PO, CI, CO> G;
    static_assert(CI % PI == 0 && CO % PO == 0 && CO <= G::K * G::L, "whole words per item, within its chunks");
    const unsigned L = G::L, M = G::M, K = G::K, RW = L / PI, WW = L / PO;
    byte_t col[L], snd[L];  // chunk being collected, chunk being sent
#pragma HLS ARRAY_PARTITION variable = col complete
#pragma HLS ARRAY_PARTITION variable = snd complete
    unsigned k = 0, t = 0, ksnd = 0;  // chunk of the item being collected, step in slot, chunk being sent
    bool have = false;                // snd holds a chunk
    ASYMAP_CSIM_ITEMS(N, G::item_steps, G::tail_steps + lat_gearbox);
gb_steps:
    for (unsigned i = 0; i < (N * K + 1) * M; ++i) {
#pragma HLS PIPELINE II = 1
        bool collecting = i < N * K * M;
        if (collecting && t < RW) {  // shift col down by PI bytes, new word (or zeros) on top
            bool rd = (k * L + t * PI) < CI;
            TI w;
            if (rd) w = in.read();
            for (unsigned b = 0; b + PI < L; ++b) {
#pragma HLS UNROLL
                col[b] = col[b + PI];
            }
            for (unsigned l = 0; l < PI; ++l) {
#pragma HLS UNROLL
                col[L - PI + l] = rd ? word_byte<PI>(w, l) : byte_t(0);
            }
        }
        if (have && t < WW && ksnd * L + t * PO < CO) {  // send the low PO bytes, shift snd down
            TO w;
            for (unsigned l = 0; l < PO; ++l) {
#pragma HLS UNROLL
                set_word_byte<PO>(w, l, snd[l]);
            }
            out.write(w);
            for (unsigned b = 0; b + PO < L; ++b) {
#pragma HLS UNROLL
                snd[b] = snd[b + PO];
            }
        }
        if (++t == M) {  // slot boundary: the collected chunk becomes the one to send
            t = 0;
            for (unsigned b = 0; b < L; ++b) {
#pragma HLS UNROLL
                snd[b] = col[b];
            }
            have = collecting;
            ksnd = k;
            k = k + 1 == K ? 0 : k + 1;
        }
    }
}

// One item of `ci` input bytes (a multiple of PI) to `co` output bytes (a multiple of PO, at most
// the item's whole chunks: padding is zeros), sizes known at run time: the gearbox schedule above
// with N = 1 (the link packers, whose tensor sizes the link harness sets at run time).
template <unsigned PI, unsigned PO, class TI, class TO>
void gearbox_item(hls::stream<TI> &in, hls::stream<TO> &out, unsigned ci, unsigned co) {
#pragma HLS INLINE
    const unsigned L = lcm_u(PI, PO), RW = L / PI, WW = L / PO, M = max_u(RW, WW);
    const unsigned K = (ci + L - 1) / L, words_in = ci / PI, words_out = co / PO;
    byte_t col[L], snd[L];
#pragma HLS ARRAY_PARTITION variable = col complete
#pragma HLS ARRAY_PARTITION variable = snd complete
    unsigned t = 0, nr = 0, nw = 0;
    bool have = false;
gbi_steps:
    for (unsigned i = 0; i < (K + 1) * M; ++i) {
#pragma HLS PIPELINE II = 1
        bool collecting = i < K * M;
        if (collecting && t < RW) {
            bool rd = nr < words_in;
            TI w;
            if (rd) {
                w = in.read();
                ++nr;
            }
            for (unsigned b = 0; b + PI < L; ++b) {
#pragma HLS UNROLL
                col[b] = col[b + PI];
            }
            for (unsigned l = 0; l < PI; ++l) {
#pragma HLS UNROLL
                col[L - PI + l] = rd ? word_byte<PI>(w, l) : byte_t(0);
            }
        }
        if (have && t < WW && nw < words_out) {
            TO w;
            for (unsigned l = 0; l < PO; ++l) {
#pragma HLS UNROLL
                set_word_byte<PO>(w, l, snd[l]);
            }
            out.write(w);
            ++nw;
            for (unsigned b = 0; b + PO < L; ++b) {
#pragma HLS UNROLL
                snd[b] = snd[b + PO];
            }
        }
        if (++t == M) {
            t = 0;
            for (unsigned b = 0; b < L; ++b) {
#pragma HLS UNROLL
                snd[b] = col[b];
            }
            have = collecting;
        }
    }
}

template <class T, unsigned N>
void copy_stream(hls::stream<T> &in, hls::stream<T> &out) {
copy_loop:
    for (unsigned i = 0; i < N; ++i) {
#pragma HLS PIPELINE II = 1
        out.write(in.read());
    }
}

template <class T, unsigned N>
void fork2(hls::stream<T> &in, hls::stream<T> &a, hls::stream<T> &b) {
fork_loop:
    for (unsigned i = 0; i < N; ++i) {
#pragma HLS PIPELINE II = 1
        T v = in.read();
        a.write(v);
        b.write(v);
    }
}

// Write pix[0..C) as C/P beats of P channels (pix partitioned cyclically by P: lane l reads bank l).
template <unsigned C, unsigned P>
void pixel_emit(const byte_t pix[C], hls::stream<ap_uint<8 * P> > &out) {
#pragma HLS INLINE
emit_beats:
    for (unsigned b = 0; b < C / P; ++b) {
#pragma HLS PIPELINE II = 1
        ap_uint<8 * P> beat;
        for (unsigned l = 0; l < P; ++l) {
#pragma HLS UNROLL
            beat.range(8 * l + 7, 8 * l) = pix[b * P + l];
        }
        out.write(beat);
    }
}

template <unsigned C, unsigned IN_P, unsigned OUT_P, unsigned PIXELS>
void width_convert(hls::stream<ap_uint<8 * IN_P> > &in, hls::stream<ap_uint<8 * OUT_P> > &out) {
    // Items of the wider unit of the two ports (a pixel, or a wide beat of whole pixels).
    const unsigned IT = max_u(port_item(C, IN_P), port_item(C, OUT_P));
    static_assert(IT % IN_P == 0 && IT % OUT_P == 0 && (PIXELS * C) % IT == 0, "whole items on both ports");
    gearbox<IN_P, OUT_P, IT, IT, PIXELS * C / IT>(in, out);
}

}  // namespace asymap

#endif
