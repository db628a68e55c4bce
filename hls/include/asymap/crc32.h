// CRC-32 of the inter-board link frames (asymap.linkproto): the zlib / IEEE 802.3 CRC.
//
// Reflected polynomial 0xEDB88320, initial value 0xFFFFFFFF, final XOR 0xFFFFFFFF, bytes fed low
// bit first -- so Python's zlib.crc32(frame_bytes) is the reference. The state is kept *without*
// the final XOR while a frame is being accumulated:
//
//     uint32_t s = asymap::crc32_init();
//     s = asymap::crc32_beat<W>(s, beat);   // for every header and payload beat
//     uint32_t crc = asymap::crc32_final(s);
//
// The byte update is the bitwise (LFSR) form: fully unrolled, one beat becomes an XOR network that
// HLS can pipeline, and it needs no ROM table (a 256-entry table per byte lane would cost one BRAM
// port per byte of a 512-bit beat).
#ifndef ASYMAP_CRC32_H
#define ASYMAP_CRC32_H

#include <ap_int.h>
#include <stdint.h>

namespace asymap {

static const uint32_t CRC32_POLY = 0xEDB88320u;

inline uint32_t crc32_init() { return 0xFFFFFFFFu; }

inline uint32_t crc32_final(uint32_t state) { return state ^ 0xFFFFFFFFu; }

// Feed one byte into the running state.
inline uint32_t crc32_byte(uint32_t state, uint8_t byte) {
#pragma HLS INLINE
    state ^= byte;
    for (int k = 0; k < 8; ++k) {
#pragma HLS UNROLL
        state = (state >> 1) ^ (CRC32_POLY & (0u - (state & 1u)));
    }
    return state;
}

// Feed the W/8 bytes of one little-endian beat (byte k = bits [8k+7:8k]) into the state.
template <int W>
uint32_t crc32_beat(uint32_t state, const ap_uint<W>& beat) {
#pragma HLS INLINE
    for (int i = 0; i < W / 8; ++i) {
#pragma HLS UNROLL
        state = crc32_byte(state, (uint8_t)beat.range(8 * i + 7, 8 * i).to_uint());
    }
    return state;
}

}  // namespace asymap

#endif  // ASYMAP_CRC32_H
