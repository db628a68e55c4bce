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
// A padded PE that neither divides nor is a multiple of the port's lanes makes L large (PE = 7 to
// 8 lanes: 56 bytes, M = 8; PE = 37: 296 bytes, M = 37) and the last chunk of an item partly idle
// (an item of 1001 bytes: 18 chunks of 56). The II stays 1: `col` and `snd` are completely
// partitioned, so every element is a register (UG1399 "Array Partitioning"), every iteration moves
// them by fixed distances and does at most one read and one write of two different streams, so
// no memory port or stream access limits the pipeline (the limits UG1399 "Array Partitioning" and
// "Pragma HLS pipeline" name); the price is 2*L bytes of registers, which the cost model charges
// (costmodel.gearbox_luts) and the C-sim counts (tests/hls/test_engine_cycles.py -k padded).
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

// Re-pack n_in words of PI bytes into n_out words of PO bytes (sizes known at run time), bytes in
// order; when the input runs out, the last output word is completed with zeros (link_pack pads
// the last link beat), and input bytes beyond n_out words are dropped (link_unpack drops that
// padding). Unlike `gearbox`, no chunk is held back: an output word leaves in the iteration its
// last byte arrives, so a link packer never withholds data a reconvergent path waits for.
// ONE pipelined loop, one read and/or one write per iteration: `buf` (PI + PO bytes, registers)
// holds `fill` bytes; a word read is placed at byte `fill` (a multiplexer over the few positions
// fill can take, as conv_offchip's emit does), a word written is the low PO bytes, and buf then
// shifts down by PO (a fixed distance).
template <unsigned PI, unsigned PO, class TI, class TO>
void repack(hls::stream<TI> &in, hls::stream<TO> &out, unsigned n_in, unsigned n_out) {
#pragma HLS INLINE
    const unsigned NB = PI + PO;
    byte_t buf[NB];
#pragma HLS ARRAY_PARTITION variable = buf complete
    for (unsigned b = 0; b < NB; ++b) buf[b] = 0;
    unsigned fill = 0, nr = 0, nw = 0;
repack_steps:
    while (nr < n_in || nw < n_out) {
#pragma HLS PIPELINE II = 1
        if (fill < PO && nr < n_in) {
            TI w = in.read();
            ++nr;
            for (unsigned j = 0; j < NB; ++j) {
#pragma HLS UNROLL
                if (j >= fill && j - fill < PI) buf[j] = word_byte<PI>(w, j - fill < PI ? j - fill : 0);
            }
            fill += PI;
        }
        if (nw < n_out && (fill >= PO || (nr == n_in && fill > 0))) {
            TO w;
            for (unsigned l = 0; l < PO; ++l) {
#pragma HLS UNROLL
                set_word_byte<PO>(w, l, buf[l]);
            }
            out.write(w);
            ++nw;
            for (unsigned b = 0; b < NB; ++b) {
#pragma HLS UNROLL
                buf[b] = b + PO < NB ? buf[b + PO] : byte_t(0);
            }
            fill = fill > PO ? fill - PO : 0;
        } else if (nw == n_out && nr == n_in) {
            fill = 0;  // padding past the last output word: dropped
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

// A segment puts one in front of an engine that takes narrow ports (IN_P > OUT_P: the wide port
// into the engine) and one behind it (IN_P < OUT_P): C-sim charges it to that engine's cycles
// (csim_count.h csim_adapter_end), as the cost model does.
template <unsigned C, unsigned IN_P, unsigned OUT_P, unsigned PIXELS>
void width_convert(hls::stream<ap_uint<8 * IN_P> > &in, hls::stream<ap_uint<8 * OUT_P> > &out) {
    // Items of the wider unit of the two ports (a pixel, or a wide beat of whole pixels).
    const unsigned IT = max_u(port_item(C, IN_P), port_item(C, OUT_P));
    static_assert(IT % IN_P == 0 && IT % OUT_P == 0 && (PIXELS * C) % IT == 0, "whole items on both ports");
    gearbox<IN_P, OUT_P, IT, IT, PIXELS * C / IT>(in, out);
    ASYMAP_CSIM_ADAPTER_END(IN_P > OUT_P);
}

}  // namespace asymap

#endif
