// asymap HLS library: folded convolution engines (standard, grouped, depthwise; KxK and 1x1).
//
// Folding (FINN-style): PE output channels, KPAR kernel-window positions and SIMD input channels
// are computed per cycle, so one output pixel takes (C_out/PE) * (KH*KW/KPAR) * (C_in/groups/SIMD)
// cycles and PE*KPAR*SIMD int8 multipliers run in parallel. KPAR (window parallelism, KxK engines
// only, 1 elsewhere) is what lets a layer with few input channels -- the 3-channel RGB stem -- use
// more than PE*C_in multipliers (FINN's MVAU gets the same from SIMD dividing C_in*K*K).
// The plan's factors therefore set both the unrolling here and the partitioning of the weight
// memory: a weight *row* holds the PE x KPAR x SIMD weights used in one cycle
// (byte (p*KPAR + j)*SIMD + s = w[nf*PE + p][sf*SIMD + s][ky][kx] with window position
// q = kq*KPAR + j, ky = q / KW, kx = q % KW) and rows are ordered by (nf, kq, sf) -- exactly the
// order the loops below consume them (with KPAR = 1 that is (nf, ky, kx, sf)). Rows come from an on-chip
// ROM of packed 64-bit words (conv2d, conv1x1) or, for layers whose weights live in DRAM, from the
// burst reader of weights_offchip.h (conv_offchip in conv_offchip.h, which inverts the loop order).
//
// Arithmetic: acc = bias + sum(x * w) in 32 bits (x int8 or uint8, w int8; padding contributes 0),
// then requant(acc, mult[c], shift[c]) clamped to [lo, hi] (requant.h = asymap.quant.arith).
//
// Config struct (all `static const`), generated into params.h by asymap.codegen.segment:
//   in_c, in_h, in_w, out_c, out_cp (out_c rounded up to a multiple of pe: the last fold may
//   compute zero padding channels when pe does not divide out_c), out_h, out_w, kh, kw, sh, sw,
//   dh, dw, pt, pl, groups,
//   pe, simd, kpar (window positions per cycle, divides kh*kw; 1 for 1x1/fc), in_lanes, out_lanes,
//   in_signed, lo, hi,
//   lb_rows = (kh-1)*dh+1, lb_part (channels read per cycle from the row buffer),
//   lb_wpart (column banks of the row buffer: kw*dw when kpar > 1, else 1),
//   rom_wpr (64-bit words per weight row in the ROM), rom_words (ROM length).
#ifndef ASYMAP_CONV_H
#define ASYMAP_CONV_H

#include "asymap/csim_count.h"
#include "asymap/line_buffer.h"
#include "asymap/requant.h"
#include "asymap/stream_utils.h"
#include "asymap/types.h"

namespace asymap {

template <class CFG>
struct conv_types {
    static const unsigned lanes = CFG::kpar * CFG::simd;  // inputs per PE per cycle
    static const unsigned row_bytes = CFG::pe * lanes;
    typedef wrow<row_bytes> wrow_t;
};

// Weight row idx from the on-chip ROM: 64-bit words [idx*rom_wpr, (idx+1)*rom_wpr), little-endian.
// The ROM is partitioned cyclically by rom_wpr, so the words of one row are read in one cycle.
template <class CFG>
inline typename conv_types<CFG>::wrow_t read_row(const uint64_t w[CFG::rom_words], unsigned idx) {
#pragma HLS INLINE
    typename conv_types<CFG>::wrow_t r;
#pragma HLS ARRAY_PARTITION variable = r.w complete
    for (unsigned k = 0; k < CFG::rom_wpr; ++k) {
#pragma HLS UNROLL
        ap_uint<64> word = w[idx * CFG::rom_wpr + k];
        for (unsigned j = 0; j < 8; ++j) {
#pragma HLS UNROLL
            if (8 * k + j < conv_types<CFG>::row_bytes) r.w[8 * k + j] = word.range(8 * j + 7, 8 * j);
        }
    }
    return r;
}

// Group of output channel co. Channels past out_c exist only when PE does not divide C_out: the
// last fold then computes zero-weight padding channels that are never emitted; they read (any)
// valid input channel of the last group.
template <class CFG>
inline unsigned group_of(unsigned co) {
#pragma HLS INLINE
    const unsigned COUTG = CFG::out_c / CFG::groups;
    return (co < CFG::out_c ? co : CFG::out_c - 1) / COUTG;
}

// Multiply-accumulate one weight row: PE accumulators, KPAR*SIMD inputs each. `x[p][j*SIMD + s]`
// holds input channel s of window position j for PE lane p (lanes differ only for grouped or
// depthwise convolutions).
template <class CFG>
inline void mac_row(acc_t acc[CFG::pe], const act_t x[CFG::pe][conv_types<CFG>::lanes],
                    const typename conv_types<CFG>::wrow_t &row) {
#pragma HLS INLINE
    const unsigned N = conv_types<CFG>::lanes;
    for (unsigned p = 0; p < CFG::pe; ++p) {
#pragma HLS UNROLL
        acc_t sum = 0;
        for (unsigned s = 0; s < N; ++s) {
#pragma HLS UNROLL
            sum += x[p][s] * row.w[p * N + s];
        }
        acc[p] += sum;
    }
}

// Requantize the PE results of neuron fold nf into the output pixel.
template <class CFG>
inline void requant_fold(const acc_t acc[CFG::pe], unsigned nf, const int32_t mult[CFG::out_cp],
                         const uint8_t shift[CFG::out_cp], byte_t opix[CFG::out_cp]) {
#pragma HLS INLINE
    for (unsigned p = 0; p < CFG::pe; ++p) {
#pragma HLS UNROLL
        unsigned co = nf * CFG::pe + p;
        opix[co] = requant<CFG::lo, CFG::hi>(acc[p], mult[co], shift[co]).range(7, 0);
    }
}

// Window position j of kernel step kq: (ky, kx) with q = kq*KPAR + j in raster order of the kernel.
template <class CFG>
inline void window_pos(unsigned kq, unsigned j, unsigned &ky, unsigned &kx) {
#pragma HLS INLINE
    unsigned q = kq * CFG::kpar + j;
    ky = q / CFG::kw;
    kx = q % CFG::kw;
}


// KxK convolution with stride, dilation, padding and groups, over the row buffer, with loading
// overlapped with computing at row level. The buffer has lb_rows + sh slots (input row r in slot
// r % (lb_rows + sh)): while output row oy is computed from its lb_rows window rows, the rows
// output row oy+1 additionally needs (at most sh) are loaded into the other slots. One pipelined
// loop of max(TL, TC) steps per output row does both: step t reads input beat t (t < TL, the beats
// of the rows still missing for row oy+1; for the last row, the rest of the input, dropped) and
// does MAC/emit step t of the row (t < TC = W_out*(NF*KK/KPAR*SF + C_out/P_out)). Before row 0,
// the rows it needs are loaded on their own. Loads write slots the window never reads in the same
// row, hence the DEPENDENCE pragmas.
// With KPAR > 1 each cycle reads KPAR window positions: their rows are distinct slots of the
// (completely partitioned) row dimension and their columns ox*SW - PL + kx*DW are distinct modulo
// KW*DW, so the column dimension is partitioned cyclically by KW*DW (lb_wpart) and every read has
// its own bank.
template <class CFG>
void conv2d_core(hls::stream<ap_uint<8 * CFG::in_lanes> > &in,
                 hls::stream<ap_uint<8 * CFG::out_lanes> > &out, const uint64_t w[CFG::rom_words],
                 const int32_t bias[CFG::out_cp], const int32_t mult[CFG::out_cp],
                 const uint8_t shift[CFG::out_cp]) {
    const unsigned CING = CFG::in_c / CFG::groups;
    const unsigned NF = CFG::out_cp / CFG::pe, SF = CING / CFG::simd;
    const unsigned KF = CFG::kh * CFG::kw / CFG::kpar, LN = conv_types<CFG>::lanes;
    const unsigned RB = CFG::lb_rows + CFG::sh;                      // row slots
    const unsigned IB = CFG::in_c / CFG::in_lanes;                   // beats per input pixel
    const unsigned BPR = CFG::in_w * IB;                             // beats per input row
    const unsigned EMIT = CFG::out_c / CFG::out_lanes;
    const unsigned TC = CFG::out_w * (NF * KF * SF + EMIT);          // compute steps per output row
    static_assert(CFG::out_cp % CFG::pe == 0 && CFG::out_cp >= CFG::out_c && CING % CFG::simd == 0,
                  "PE divides the padded channel count, SIMD divides C_in/groups");
    static_assert((CFG::kh * CFG::kw) % CFG::kpar == 0, "KPAR divides KH*KW");
    byte_t buf[RB][CFG::in_w][CFG::in_c];
#pragma HLS ARRAY_PARTITION variable = buf cyclic factor = CFG::lb_part dim = 3
#pragma HLS ARRAY_PARTITION variable = buf cyclic factor = CFG::lb_wpart dim = 2
#pragma HLS ARRAY_PARTITION variable = buf complete dim = 1
    byte_t opix[CFG::out_cp];
#pragma HLS ARRAY_PARTITION variable = opix cyclic factor = CFG::pe
    // rows past the last window are read and dropped
    const unsigned keep = lb_rows_needed<CFG::in_h, CFG::kh, CFG::sh, CFG::dh, CFG::pt>(CFG::out_h - 1);
    unsigned loaded = lb_rows_needed<CFG::in_h, CFG::kh, CFG::sh, CFG::dh, CFG::pt>(0);
    ASYMAP_CSIM_COUNT(loaded * BPR);
conv_fill:
    for (unsigned r = 0; r < loaded; ++r) {
        lb_load_row<RB, CFG::in_w, CFG::in_c, CFG::in_lanes>(in, buf, r % RB);
    }
conv_rows:
    for (unsigned oy = 0; oy < CFG::out_h; ++oy) {
        unsigned target = oy + 1 < CFG::out_h
                              ? lb_rows_needed<CFG::in_h, CFG::kh, CFG::sh, CFG::dh, CFG::pt>(oy + 1)
                              : CFG::in_h;
        unsigned TL = (target - loaded) * BPR, T = TL > TC ? TL : TC;
        ASYMAP_CSIM_COUNT(T);
        unsigned slot[CFG::kh];
        bool rvalid[CFG::kh];
        lb_window_rows<CFG::in_h, RB, CFG::kh, CFG::sh, CFG::dh, CFG::pt>(oy, slot, rvalid);
        unsigned lrow = loaded, lx = 0, lb = 0;               // loader position
        unsigned ox = 0, nf = 0, i = 0, e = 0;                // compute position
        bool emitting = false;
        acc_t acc[CFG::pe];
#pragma HLS ARRAY_PARTITION variable = acc complete
        for (unsigned p = 0; p < CFG::pe; ++p) acc[p] = bias[p];
    conv_step:
        for (unsigned t = 0; t < T; ++t) {
#pragma HLS PIPELINE II = 1
#pragma HLS DEPENDENCE variable = buf inter false
#pragma HLS DEPENDENCE variable = buf intra false
            if (t < TL) {
                ap_uint<8 * CFG::in_lanes> beat = in.read();
                if (lrow < keep) {
                    for (unsigned l = 0; l < CFG::in_lanes; ++l) {
#pragma HLS UNROLL
                        buf[lrow % RB][lx][lb * CFG::in_lanes + l] = lane_byte<CFG::in_lanes>(beat, l);
                    }
                }
                if (++lb == IB) {
                    lb = 0;
                    if (++lx == CFG::in_w) {
                        lx = 0;
                        ++lrow;
                    }
                }
            }
            if (t < TC) {
                if (!emitting) {
                    unsigned kq = i / SF, sf = i % SF;
                    act_t x[CFG::pe][LN];
#pragma HLS ARRAY_PARTITION variable = x complete dim = 0
                    for (unsigned j = 0; j < CFG::kpar; ++j) {
#pragma HLS UNROLL
                        unsigned ky, kx;
                        window_pos<CFG>(kq, j, ky, kx);
                        int ix = int(ox * CFG::sw) - int(CFG::pl) + int(kx * CFG::dw);
                        bool ok = rvalid[ky] && ix >= 0 && ix < int(CFG::in_w);
                        for (unsigned p = 0; p < CFG::pe; ++p) {
#pragma HLS UNROLL
                            unsigned cbase = group_of<CFG>(nf * CFG::pe + p) * CING + sf * CFG::simd;
                            for (unsigned s = 0; s < CFG::simd; ++s) {
#pragma HLS UNROLL
                                x[p][j * CFG::simd + s] =
                                    ok ? byte_value<CFG::in_signed>(buf[slot[ky]][ok ? ix : 0][cbase + s]) : act_t(0);
                            }
                        }
                    }
                    mac_row<CFG>(acc, x, read_row<CFG>(w, nf * KF * SF + i));
                    if (++i == KF * SF) {
                        i = 0;
                        requant_fold<CFG>(acc, nf, mult, shift, opix);
                        nf = nf + 1 == NF ? 0 : nf + 1;
                        emitting = nf == 0;
                        for (unsigned p = 0; p < CFG::pe; ++p) {
#pragma HLS UNROLL
                            acc[p] = bias[nf * CFG::pe + p];
                        }
                    }
                } else {
                    ap_uint<8 * CFG::out_lanes> beat;
                    for (unsigned l = 0; l < CFG::out_lanes; ++l) {
#pragma HLS UNROLL
                        beat.range(8 * l + 7, 8 * l) = opix[e * CFG::out_lanes + l];
                    }
                    out.write(beat);
                    if (++e == EMIT) {
                        e = 0;
                        emitting = false;
                        ++ox;
                    }
                }
            }
        }
        loaded = target;
    }
}

// 1x1 fast path (kernel 1, stride 1, no padding) and fully connected layers: no row buffer.
// The engine is a DATAFLOW loop over the pixels (`pixels` = H*W; 1 for fc, where the whole
// flattened tensor is one "pixel" of in_c = C*H*W channels) whose body is three processes:
//   pw_load    reads pixel i (C_in/P_in beats) into ipix,
//   pw_compute runs the NF*SF weight rows over ipix into opix,
//   pw_emit    writes opix (C_out/P_out beats).
// ipix and opix are the loop body's local arrays, so HLS turns them into ping-pong (PIPO)
// channels: pixel i+1 loads while pixel i computes and pixel i-1 emits. A pixel then costs
// max(C_in/P_in, NF*SF, C_out/P_out) cycles once the pipeline is full (see csim_flow).
template <class CFG>
void pw_load(hls::stream<ap_uint<8 * CFG::in_lanes> > &in, byte_t ipix[CFG::in_c]) {
#pragma HLS INLINE off
    ASYMAP_CSIM_STAGE(0, CFG::in_c / CFG::in_lanes);
    pixel_load<CFG::in_c, CFG::in_lanes>(in, ipix);
}

template <class CFG>
void pw_compute(const byte_t ipix[CFG::in_c], byte_t opix[CFG::out_cp], const uint64_t w[CFG::rom_words],
                const int32_t bias[CFG::out_cp], const int32_t mult[CFG::out_cp],
                const uint8_t shift[CFG::out_cp]) {
#pragma HLS INLINE off
    const unsigned CING = CFG::in_c / CFG::groups;
    const unsigned NF = CFG::out_cp / CFG::pe, SF = CING / CFG::simd;
    ASYMAP_CSIM_STAGE(1, NF * SF);
    unsigned idx = 0;
pw_nfold:
    for (unsigned nf = 0; nf < NF; ++nf) {
        acc_t acc[CFG::pe];
#pragma HLS ARRAY_PARTITION variable = acc complete
        for (unsigned p = 0; p < CFG::pe; ++p) acc[p] = bias[nf * CFG::pe + p];
    pw_mac:
        for (unsigned sf = 0; sf < SF; ++sf, ++idx) {
#pragma HLS PIPELINE II = 1
            act_t x[CFG::pe][CFG::simd];
#pragma HLS ARRAY_PARTITION variable = x complete dim = 0
            for (unsigned p = 0; p < CFG::pe; ++p) {
#pragma HLS UNROLL
                unsigned cbase = group_of<CFG>(nf * CFG::pe + p) * CING + sf * CFG::simd;
                for (unsigned s = 0; s < CFG::simd; ++s) {
#pragma HLS UNROLL
                    x[p][s] = byte_value<CFG::in_signed>(ipix[cbase + s]);
                }
            }
            mac_row<CFG>(acc, x, read_row<CFG>(w, idx));
        }
        requant_fold<CFG>(acc, nf, mult, shift, opix);
    }
}

template <class CFG>
void pw_emit(const byte_t opix[CFG::out_cp], hls::stream<ap_uint<8 * CFG::out_lanes> > &out) {
#pragma HLS INLINE off
    ASYMAP_CSIM_STAGE(2, CFG::out_c / CFG::out_lanes);
    pixel_emit<CFG::out_c, CFG::out_lanes>(opix, out);
}

template <class CFG>
void pointwise_core(hls::stream<ap_uint<8 * CFG::in_lanes> > &in,
                    hls::stream<ap_uint<8 * CFG::out_lanes> > &out, const uint64_t w[CFG::rom_words],
                    const int32_t bias[CFG::out_cp], const int32_t mult[CFG::out_cp],
                    const uint8_t shift[CFG::out_cp]) {
    const unsigned CING = CFG::in_c / CFG::groups;
    static_assert(CFG::out_cp % CFG::pe == 0 && CFG::out_cp >= CFG::out_c && CING % CFG::simd == 0,
                  "PE divides the padded channel count, SIMD divides C_in/groups");
    static_assert(CFG::kpar == 1, "no kernel window in a 1x1 conv or fc");
    ASYMAP_CSIM_FLOW(flow, 3);
pw_pixels:
    for (unsigned px = 0; px < CFG::in_h * CFG::in_w; ++px) {
#pragma HLS DATAFLOW
        byte_t ipix[CFG::in_c];
#pragma HLS ARRAY_PARTITION variable = ipix cyclic factor = CFG::lb_part
        byte_t opix[CFG::out_cp];
#pragma HLS ARRAY_PARTITION variable = opix cyclic factor = CFG::pe
        pw_load<CFG>(in, ipix);
        pw_compute<CFG>(ipix, opix, w, bias, mult, shift);
        pw_emit<CFG>(opix, out);
        ASYMAP_CSIM_FLOW_STEP(flow);
    }
    ASYMAP_CSIM_FLOW_END(flow);
}

// ---- entry points: on-chip ROM weights -------------------------------------------------------
template <class CFG>
void conv2d(hls::stream<ap_uint<8 * CFG::in_lanes> > &in, hls::stream<ap_uint<8 * CFG::out_lanes> > &out,
            const uint64_t w[CFG::rom_words], const int32_t bias[CFG::out_cp], const int32_t mult[CFG::out_cp],
            const uint8_t shift[CFG::out_cp]) {
#pragma HLS ARRAY_PARTITION variable = w cyclic factor = CFG::rom_wpr
#pragma HLS ARRAY_PARTITION variable = bias cyclic factor = CFG::pe
#pragma HLS ARRAY_PARTITION variable = mult cyclic factor = CFG::pe
#pragma HLS ARRAY_PARTITION variable = shift cyclic factor = CFG::pe
    conv2d_core<CFG>(in, out, w, bias, mult, shift);
}

template <class CFG>
void conv1x1(hls::stream<ap_uint<8 * CFG::in_lanes> > &in, hls::stream<ap_uint<8 * CFG::out_lanes> > &out,
             const uint64_t w[CFG::rom_words], const int32_t bias[CFG::out_cp], const int32_t mult[CFG::out_cp],
             const uint8_t shift[CFG::out_cp]) {
#pragma HLS ARRAY_PARTITION variable = w cyclic factor = CFG::rom_wpr
#pragma HLS ARRAY_PARTITION variable = bias cyclic factor = CFG::pe
#pragma HLS ARRAY_PARTITION variable = mult cyclic factor = CFG::pe
#pragma HLS ARRAY_PARTITION variable = shift cyclic factor = CFG::pe
    pointwise_core<CFG>(in, out, w, bias, mult, shift);
}

// ---- off-chip weights: conv_offchip lives in asymap/conv_offchip.h ----------------------------

}  // namespace asymap

#endif
