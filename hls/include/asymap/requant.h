// asymap HLS library: requantization, bit for bit equal to asymap/quant/arith.py.
//
//   requant(acc, m, s)      = clamp(((acc * m + 2**(s-1)) >> s) + zo, lo, hi)   (>> is arithmetic: floor)
//   rshift_round(sum, s)    = clamp(((sum + 2**(s-1)) >> s) + zo, lo, hi)
//
// zo is the output tensor's zero point (0 for asymap's symmetric tensors; a QDQ model's asymmetric
// activations keep onnxruntime's). Adding it before the clamp is the reference's
// clamp(r, lo - zo, hi - zo) + zo (asymap/quant/reference.py int_layer), written once here.
//
// m < 2**31 and |acc| < 2**31, so acc * m < 2**62 and the rounding term keeps the sum inside a
// signed 64-bit integer: no overflow, no floating point. The clamp folds the fused activation
// (ReLU: lo = 0, Clip) and the output type (int8 / uint8) into one step.
#ifndef ASYMAP_REQUANT_H
#define ASYMAP_REQUANT_H

#include "asymap/types.h"

namespace asymap {

// Zero points of a block's config struct, read through traits so that a config without the field
// (hand-written tests, symmetric layers) means 0: CFG::in_zp (the input's, also the padding value
// of a conv's window: real 0), CFG::out_zp (added by requant). asymap.codegen always writes both.
template <class T>
struct zp_void {
    typedef void type;
};
template <class CFG, class = void>
struct in_zp_of {
    static const int value = 0;
};
template <class CFG>
struct in_zp_of<CFG, typename zp_void<decltype(CFG::in_zp)>::type> {
    static const int value = CFG::in_zp;
};
template <class CFG, class = void>
struct out_zp_of {
    static const int value = 0;
};
template <class CFG>
struct out_zp_of<CFG, typename zp_void<decltype(CFG::out_zp)>::type> {
    static const int value = CFG::out_zp;
};

// The raw byte of a zero point as it travels in a stream (two's complement for int8 tensors):
// what a window generator writes for a padded position so that the engine reads the value zp.
template <int ZP>
struct zp_byte {
    static const unsigned value = unsigned(ZP) & 255u;
};

// Clamp a 64-bit value to [LO, HI] and return it as the activation value.
template <int LO, int HI>
inline act_t clamp_act(wide_t v) {
#pragma HLS INLINE
    if (v < LO) return act_t(LO);
    if (v > HI) return act_t(HI);
    return act_t(v);
}

// (sum + 2**(s-1)) >> s, then clamp. sum is already scaled (e.g. xa*ma + xb*mb).
template <int LO, int HI, int ZO = 0>
inline act_t rshift_round(wide_t sum, unsigned s) {
#pragma HLS INLINE
    wide_t r = ((sum + (wide_t(1) << (s - 1))) >> s) + ZO;
    return clamp_act<LO, HI>(r);
}

// Requantize an accumulator with multiplier m (< 2**31) and shift s (1..62).
template <int LO, int HI, int ZO = 0>
inline act_t requant(acc_t acc, int64_t m, unsigned s) {
#pragma HLS INLINE
    wide_t p = wide_t(acc) * wide_t(m);
    return rshift_round<LO, HI, ZO>(p, s);
}

}  // namespace asymap

#endif
