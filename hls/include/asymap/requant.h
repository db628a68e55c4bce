// asymap HLS library: requantization, bit for bit equal to asymap/quant/arith.py.
//
//   requant(acc, m, s)      = clamp((acc * m + 2**(s-1)) >> s, lo, hi)   (>> is arithmetic: floor)
//   rshift_round(sum, s)    = clamp((sum + 2**(s-1)) >> s, lo, hi)
//
// m < 2**31 and |acc| < 2**31, so acc * m < 2**62 and the rounding term keeps the sum inside a
// signed 64-bit integer: no overflow, no floating point. The clamp folds the fused activation
// (ReLU: lo = 0, Clip) and the output type (int8 / uint8) into one step.
#ifndef ASYMAP_REQUANT_H
#define ASYMAP_REQUANT_H

#include "asymap/types.h"

namespace asymap {

// Clamp a 64-bit value to [LO, HI] and return it as the activation value.
template <int LO, int HI>
inline act_t clamp_act(wide_t v) {
#pragma HLS INLINE
    if (v < LO) return act_t(LO);
    if (v > HI) return act_t(HI);
    return act_t(v);
}

// (sum + 2**(s-1)) >> s, then clamp. sum is already scaled (e.g. xa*ma + xb*mb).
template <int LO, int HI>
inline act_t rshift_round(wide_t sum, unsigned s) {
#pragma HLS INLINE
    wide_t r = (sum + (wide_t(1) << (s - 1))) >> s;
    return clamp_act<LO, HI>(r);
}

// Requantize an accumulator with multiplier m (< 2**31) and shift s (1..62).
template <int LO, int HI>
inline act_t requant(acc_t acc, int64_t m, unsigned s) {
#pragma HLS INLINE
    wide_t p = wide_t(acc) * wide_t(m);
    return rshift_round<LO, HI>(p, s);
}

}  // namespace asymap

#endif
