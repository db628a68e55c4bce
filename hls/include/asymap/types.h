// asymap HLS library: common types and the tensor-port convention.
//
// A tensor port is an hls::stream<ap_uint<8*P>> carrying P consecutive channels of one pixel per
// beat, pixels in raster order (HWC, channel fastest); channel c sits at bits [8*(c%P)+7 : 8*(c%P)].
// P depends on the tensor's shape and the board's port width, 8/16/32 channels at most
// (asymap.lanes.port_bytes); two boards of different widths exchange the same bytes on a link and
// each repacks them into its own port words (link.h link_pack/link_unpack). A tensor of fewer than 8 channels uses a *wide* port: P = G*C bytes,
// G whole pixels per beat (same byte order; stream_utils.h port_pix tells an engine P > C). Bytes are int8 or uint8 depending on the tensor; every block is told
// which by a `signed` flag in its config struct and widens values to act_t (9 bits holds both).
#ifndef ASYMAP_TYPES_H
#define ASYMAP_TYPES_H

#include <ap_int.h>
#include <hls_stream.h>
#include <stdint.h>

namespace asymap {

typedef ap_int<9> act_t;    // an int8 or uint8 activation value, widened so both fit
typedef ap_int<8> wgt_t;    // int8 weight
typedef ap_int<32> acc_t;   // MAC accumulator (the quantizer guarantees |acc| < 2**31)
typedef ap_int<64> wide_t;  // requantization product acc * m (< 2**62)
typedef ap_uint<8> byte_t;  // raw activation byte as it travels in a stream or buffer

// Widen a raw byte to its value: two's complement for int8 tensors, plain for uint8 tensors.
template <bool SIGNED>
inline act_t byte_value(byte_t b) {
#pragma HLS INLINE
    if (SIGNED) {
        ap_int<8> s = b;  // same bits reinterpreted
        return act_t(s);
    }
    return act_t(b);
}

// Raw byte of lane i of a P-lane beat.
template <unsigned P>
inline byte_t lane_byte(const ap_uint<8 * P> &beat, unsigned i) {
#pragma HLS INLINE
    return beat.range(8 * i + 7, 8 * i);
}

// One weight row: the PE*SIMD int8 weights used in one cycle. A plain byte array in a struct (not
// one wide ap_uint) because PE*SIMD*8 bits easily exceeds ap_int's width limit (1024 bits by
// default, 4096 at most); HLS packs the struct when it travels through a stream.
template <unsigned N>
struct wrow {
    wgt_t w[N];
};

// Largest integer ceil(a / b) helper usable in constant expressions (config structs).
constexpr unsigned ceil_div(unsigned a, unsigned b) { return (a + b - 1) / b; }

}  // namespace asymap

#endif
