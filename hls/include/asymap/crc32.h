// CRC-32 of the inter-board link frames (asymap.linkproto): the zlib / IEEE 802.3 CRC, one whole
// beat per clock.
//
// Reflected polynomial 0xEDB88320, initial value 0xFFFFFFFF, final XOR 0xFFFFFFFF, bytes fed low
// bit first -- so Python's zlib.crc32(frame_bytes) is the reference. The state is kept *without*
// the final XOR while a frame is being accumulated:
//
//     uint32_t s = asymap::crc32_init();
//     s = asymap::crc32_beat<W>(s, beat);   // for every header and payload beat
//     uint32_t crc = asymap::crc32_final(s);
//
// Why a matrix: the CRC register after W more data bits is linear over GF(2) in (old state, data),
//     s' = A * s  XOR  B * d        (A: 32x32, B: 32xW bit matrices),
// so one beat is one XOR network: output bit j is the XOR of the state bits and data bits whose
// column has bit j set. The columns are computed at compile time (constexpr, from the bit-serial
// definition), so nothing is a ROM: with the loops below fully unrolled, every column is a constant
// and HLS builds the XOR trees (at W=512 each output bit XORs about half of 544 inputs, a tree of
// depth ~4 LUT6 levels). Only A * s is in the loop-carried path of the frame loop (32 inputs per
// output bit, two LUT levels); B * d depends on the data alone and is pipelined ahead, so the frame
// loops keep II=1 (AMD UG1399, "Loop-carried dependencies": only the recurrence limits II). A
// byte-table CRC would instead need a 256-entry ROM per byte lane (64 ROM ports at 512 bits).
#ifndef ASYMAP_CRC32_H
#define ASYMAP_CRC32_H

#include <ap_int.h>
#include <stdint.h>

namespace asymap {

static const uint32_t CRC32_POLY = 0xEDB88320u;

inline uint32_t crc32_init() { return 0xFFFFFFFFu; }

inline uint32_t crc32_final(uint32_t state) { return state ^ 0xFFFFFFFFu; }

// Bit-serial definition (one byte): the reference the matrix is derived from.
constexpr uint32_t crc32_byte_serial(uint32_t state, unsigned byte) {
    state ^= byte & 0xFFu;
    for (int k = 0; k < 8; ++k) state = (state >> 1) ^ (CRC32_POLY & (0u - (state & 1u)));
    return state;
}

// Columns of A (state) and B (data) for a W-bit beat, computed by the compiler.
template <int W>
struct crc32_matrix {
    uint32_t state_col[32];
    uint32_t data_col[W];
    constexpr crc32_matrix() : state_col(), data_col() {
        for (int j = 0; j < 32; ++j) {
            uint32_t s = 1u << j;
            for (int i = 0; i < W / 8; ++i) s = crc32_byte_serial(s, 0);
            state_col[j] = s;
        }
        for (int i = 0; i < W; ++i) {
            uint32_t s = crc32_byte_serial(0, 1u << (i % 8));
            for (int k = i / 8 + 1; k < W / 8; ++k) s = crc32_byte_serial(s, 0);
            data_col[i] = s;
        }
    }
};

template <int W>
struct crc32_table {
    static constexpr crc32_matrix<W> m = crc32_matrix<W>();
};
template <int W>
constexpr crc32_matrix<W> crc32_table<W>::m;

// Feed the W/8 bytes of one little-endian beat (byte k = bits [8k+7:8k]) into the state.
template <int W>
uint32_t crc32_beat(uint32_t state, const ap_uint<W>& beat) {
#pragma HLS INLINE
    uint32_t acc = 0;
CRC_STATE:
    for (int j = 0; j < 32; ++j) {
#pragma HLS UNROLL
        if ((state >> j) & 1u) acc ^= crc32_table<W>::m.state_col[j];
    }
CRC_DATA:
    for (int i = 0; i < W; ++i) {
#pragma HLS UNROLL
        if (beat[i]) acc ^= crc32_table<W>::m.data_col[i];
    }
    return acc;
}

}  // namespace asymap

#endif  // ASYMAP_CRC32_H
