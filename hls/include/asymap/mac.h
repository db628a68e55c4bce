// asymap HLS library: the int8 multipliers of the conv/fc engines, one of three kinds per layer.
//
//   MAC_PACKED  two int8 x int8/uint8 products per DSP48E2 (UltraScale/UltraScale+), the packing
//               of AMD WP486 "Deep Learning with INT8 Optimization on Xilinx Devices": two weights
//               w_hi, w_lo that multiply the SAME activation x are packed into the 27-bit pre-adder
//               operand (A port: w_hi << 18, D port: w_lo, pre-adder A + D), x goes to the 18-bit
//               B port, and the 45-bit product holds w_lo*x in its low 18 bits and w_hi*x above:
//                   P = (w_hi * 2^18 + w_lo) * x = (w_hi*x) * 2^18 + w_lo*x.
//               The low product is the sign-extended low 18 bits of P; the high one is
//               (P >> 18) + 1 when the low product is negative (the low part borrowed one from the
//               high part) -- the "sign correction".
//               Accumulating in pairs: the DSP adds several packed products in its 48-bit P register
//               (PCIN cascade) before the two sums are split; that is exact while the low sum still
//               fits 18 signed bits, |sum| < 2^17: at most PAIR_CHUNK products per split (7 for int8
//               activations: 7 * 128 * 128 < 2^17; 4 for uint8: 4 * 255 * 128 < 2^17).
//               Needs two output channels (PEs) that see the same activation, i.e. groups == 1.
//   MAC_DSP     one product per DSP slice (BIND_OP impl=dsp): any board, any conv.
//   MAC_LUT     the product in fabric LUTs (BIND_OP impl=fabric), for boards whose DSPs run out
//               before their LUTs (UG1399, "pragma HLS bind_op": op=mul, impl=dsp|fabric).
//
// All three are bit-exact against the plain product (tests/hls/test_hls_mac.py: exhaustive over
// int8 x int8 x int8 and int8 x int8 x uint8, plus random accumulations at the chunk limits).
//
// The engines call mac_lanes<mac_kind_of<CFG>::value, ...>: a config struct picks its kind with a
// `static const unsigned mac` field (asymap.codegen writes it from plan.json's "mac" per layer);
// a config without the field gets MAC_DSP.
#ifndef ASYMAP_MAC_H
#define ASYMAP_MAC_H

#include "asymap/types.h"

namespace asymap {

static const unsigned MAC_PACKED = 0;
static const unsigned MAC_DSP = 1;
static const unsigned MAC_LUT = 2;

typedef ap_int<27> pre_t;     // DSP48E2 pre-adder output / multiplier A input
typedef ap_int<18> bport_t;   // DSP48E2 multiplier B input
typedef ap_int<45> packed_t;  // 27 x 18 product
typedef ap_int<48> pacc_t;    // DSP48E2 P register (accumulator / cascade)

// Products accumulated in the P register before the pair is split (see header comment).
template <bool X_SIGNED>
struct pair_chunk {
    static const unsigned value = X_SIGNED ? 7 : 4;
};

// The kind a config asks for: CFG::mac when the struct has it, else MAC_DSP.
template <class CFG, class = void>
struct mac_kind_of {
    static const unsigned value = MAC_DSP;
};
template <class T>
struct mac_void {
    typedef void type;
};
template <class CFG>
struct mac_kind_of<CFG, typename mac_void<decltype(CFG::mac)>::type> {
    static const unsigned value = CFG::mac;
};

// One DSP48E2: (w_hi * 2^18 + w_lo) * x with the pre-adder.
inline packed_t packed_mul(wgt_t w_hi, wgt_t w_lo, act_t x) {
#pragma HLS INLINE
    pre_t a = pre_t(w_hi) << 18;  // A port (int8 weight shifted into bits 18..25, sign to 26)
    pre_t d = pre_t(w_lo);        // D port
    pre_t ad = a + d;             // pre-adder: no overflow, |ad| < 2^25 + 2^7 < 2^26
    packed_t p = ad * bport_t(x);
#pragma HLS BIND_OP variable = p op = mul impl = dsp
    return p;
}

// Split an accumulated packed value into its two sums (sign-corrected high part).
inline void packed_split(pacc_t p, acc_t &lo, acc_t &hi) {
#pragma HLS INLINE
    ap_int<18> l = p.range(17, 0);  // low sum, sign-extended from bit 17
    ap_int<30> h = p.range(47, 18);
    lo = l;
    hi = acc_t(h) + acc_t(l < 0 ? 1 : 0);
}

// One product on a DSP slice or in LUTs (each binding in the scope of its variable, UG1399).
template <unsigned KIND>
struct mul1 {
    static acc_t run(wgt_t w, act_t x) {
#pragma HLS INLINE
        ap_int<17> p = x * w;  // |x| <= 255, |w| <= 128: 17 bits
#pragma HLS BIND_OP variable = p op = mul impl = dsp
        return acc_t(p);
    }
};
template <>
struct mul1<MAC_LUT> {
    static acc_t run(wgt_t w, act_t x) {
#pragma HLS INLINE
        ap_int<17> p = x * w;
#pragma HLS BIND_OP variable = p op = mul impl = fabric
        return acc_t(p);
    }
};

// Sum of N products x[s] * w[s] on single multipliers (MAC_DSP / MAC_LUT).
template <unsigned KIND, unsigned N>
inline acc_t dot_single(const act_t x[N], const wgt_t *w) {
#pragma HLS INLINE
    acc_t sum = 0;
    for (unsigned s = 0; s < N; ++s) {
#pragma HLS UNROLL
        sum += mul1<KIND>::run(w[s], x[s]);
    }
    return sum;
}

// Two dot products sharing the activations: lo = sum x[s]*w_lo[s], hi = sum x[s]*w_hi[s], with
// one packed DSP per s, accumulated PAIR_CHUNK at a time in 48 bits and then split.
template <unsigned N, bool X_SIGNED>
inline void dot_pair(const act_t x[N], const wgt_t *w_lo, const wgt_t *w_hi, acc_t &lo, acc_t &hi) {
#pragma HLS INLINE
    const unsigned CH = pair_chunk<X_SIGNED>::value;
    acc_t slo = 0, shi = 0;
    for (unsigned c = 0; c < (N + CH - 1) / CH; ++c) {
#pragma HLS UNROLL
        pacc_t p = 0;
        for (unsigned k = 0; k < CH; ++k) {
#pragma HLS UNROLL
            unsigned s = c * CH + k;
            if (s < N) p += packed_mul(w_hi[s], w_lo[s], x[s]);
        }
        acc_t l, h;
        packed_split(p, l, h);
        slo += l;
        shi += h;
    }
    lo = slo;
    hi = shi;
}

// The engines' multiply-accumulate of one weight row: acc[p] += sum_s x[p][s] * w[p*N + s] for
// PE accumulators of N inputs each. MAC_PACKED pairs PE 2k (low) with PE 2k+1 (high) on the
// activations of PE 2k, so it requires every PE to see the same activations (groups == 1; the
// engines assert it); an odd last PE uses one DSP per product.
template <unsigned KIND, unsigned PE, unsigned N, bool X_SIGNED>
inline void mac_lanes(acc_t acc[PE], const act_t x[PE][N], const wgt_t w[PE * N]) {
#pragma HLS INLINE
    if (KIND == MAC_PACKED) {
        for (unsigned k = 0; k < PE / 2; ++k) {
#pragma HLS UNROLL
            acc_t lo, hi;
            dot_pair<N, X_SIGNED>(x[2 * k], &w[(2 * k) * N], &w[(2 * k + 1) * N], lo, hi);
            acc[2 * k] += lo;
            acc[2 * k + 1] += hi;
        }
        if (PE % 2) acc[PE - 1] += dot_single<MAC_DSP, N>(x[PE - 1], &w[(PE - 1) * N]);
    } else {
        for (unsigned p = 0; p < PE; ++p) {
#pragma HLS UNROLL
            acc[p] += dot_single<KIND, N>(x[p], &w[p * N]);
        }
    }
}

}  // namespace asymap

#endif
