// C-sim exactness test of hls/include/asymap/mac.h (tests/hls/test_hls_mac.py runs it).
//   single  exhaustive: every (w_hi, w_lo, x) of int8 x int8 x int8 and int8 x int8 x uint8 through
//           one packed DSP (packed_mul + packed_split) against the two plain products (33.5M triples)
//   chains  random dot products at every length 1..40 through dot_pair (accumulated in pairs,
//           chunk = 7 / 4 products) and mac_lanes of all three kinds, including all-extreme
//           operands that reach the chunk limits, against plain sums (>= 10^6 products)
// Prints counts; exit status 1 on the first mismatch (with the operands).
#include <cstdio>
#include <cstdlib>
#include <stdint.h>

#include "asymap/mac.h"

using namespace asymap;

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint32_t next_u32() {  // xorshift64*
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return uint32_t((rng * 0x2545F4914F6CDD1DULL) >> 32);
}

static int check_single(bool x_signed, long &count) {
    int xlo = x_signed ? -128 : 0, xhi = x_signed ? 127 : 255;
    for (int wh = -128; wh <= 127; ++wh)
        for (int wl = -128; wl <= 127; ++wl)
            for (int x = xlo; x <= xhi; ++x) {
                acc_t lo, hi;
                packed_split(pacc_t(packed_mul(wgt_t(wh), wgt_t(wl), act_t(x))), lo, hi);
                ++count;
                if (lo.to_int() != wl * x || hi.to_int() != wh * x) {
                    std::printf("MISMATCH single w_hi=%d w_lo=%d x=%d: lo %d hi %d\n", wh, wl, x, lo.to_int(),
                                hi.to_int());
                    return 1;
                }
            }
    return 0;
}

// Operands: mode 0 uniform, mode 1 extremes only (the values that push a chunk to its limit).
static int draw(bool x_signed, bool weight, int mode) {
    if (mode == 1) {
        if (weight) return (next_u32() & 1) ? -128 : 127;
        if (x_signed) return (next_u32() & 1) ? -128 : 127;
        return 255;
    }
    if (weight || x_signed) return int(next_u32() & 255) - 128;
    return int(next_u32() & 255);
}

template <unsigned N, bool XS>
static int check_chain(int mode, long &count) {
    const unsigned PE = 3;  // two packed PEs and one odd PE
    act_t x[PE][N];
    wgt_t w[PE * N];
    int xi[N], wi[PE * N];
    for (unsigned s = 0; s < N; ++s) xi[s] = draw(XS, false, mode);
    for (unsigned i = 0; i < PE * N; ++i) {
        wi[i] = draw(XS, true, mode);
        w[i] = wgt_t(wi[i]);
    }
    for (unsigned p = 0; p < PE; ++p)
        for (unsigned s = 0; s < N; ++s) x[p][s] = act_t(xi[s]);  // groups == 1: shared activations
    long ref[PE];
    for (unsigned p = 0; p < PE; ++p) {
        ref[p] = 1000 + p;
        for (unsigned s = 0; s < N; ++s) ref[p] += long(xi[s]) * wi[p * N + s];
    }
    acc_t a0[PE], a1[PE], a2[PE];
    for (unsigned p = 0; p < PE; ++p) a0[p] = a1[p] = a2[p] = acc_t(1000 + p);
    mac_lanes<MAC_PACKED, PE, N, XS>(a0, x, w);
    mac_lanes<MAC_DSP, PE, N, XS>(a1, x, w);
    mac_lanes<MAC_LUT, PE, N, XS>(a2, x, w);
    count += PE * N;
    for (unsigned p = 0; p < PE; ++p) {
        if (a0[p].to_long() != ref[p] || a1[p].to_long() != ref[p] || a2[p].to_long() != ref[p]) {
            std::printf("MISMATCH chain N=%u signed=%d mode=%d pe=%u: packed %ld dsp %ld lut %ld ref %ld\n", N,
                        int(XS), mode, p, a0[p].to_long(), a1[p].to_long(), a2[p].to_long(), ref[p]);
            return 1;
        }
    }
    return 0;
}

template <unsigned N>
static int chains(int reps, long &count) {
    for (int r = 0; r < reps; ++r)
        for (int mode = 0; mode < 2; ++mode)
            if (check_chain<N, true>(mode, count) || check_chain<N, false>(mode, count)) return 1;
    return 0;
}

template <unsigned N>
struct all_lengths {
    static int run(int reps, long &count) {
        return all_lengths<N - 1>::run(reps, count) || chains<N>(reps, count);
    }
};
template <>
struct all_lengths<0> {
    static int run(int, long &) { return 0; }
};

int main(int argc, char **argv) {
    bool exhaustive = argc < 2 || std::atoi(argv[1]) != 0;
    int reps = argc > 2 ? std::atoi(argv[2]) : 400;
    long single = 0, chained = 0;
    if (exhaustive && (check_single(true, single) || check_single(false, single))) return 1;
    if (all_lengths<40>::run(reps, chained)) return 1;
    std::printf("OK single=%ld chained_products=%ld\n", single, chained);
    return 0;
}
