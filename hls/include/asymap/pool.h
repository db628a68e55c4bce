// asymap HLS library: max pooling, average pooling, global average pooling.
//
// KxK pooling reuses the row buffer of line_buffer.h; PE channels are reduced per cycle, so one
// output pixel takes (C/PE) * KH*KW cycles (+ C/P to emit it), and input rows load while the
// previous output row computes.
//   max: padded positions are skipped (ONNX pads max pooling with -inf); no requantization, the
//        result is clamped to [lo, hi] (the output type / fused activation).
//   avg: sum of the in-image values (padding adds 0), n = kh*kw when count_include_pad else the
//        number of in-image positions, y = requant(sum, mult[n], shift[n]) (arrays of kh*kw+1).
//   gap: y[c] = requant(sum over H*W, mult, shift) with one multiplier for the tensor.
// Pool config: c, in_h, in_w, out_h, out_w, kh, kw, sh, sw, dh, dw, pt, pl, pe, lanes, in_signed,
// lo, hi, count_include_pad, lb_rows, lb_part.
#ifndef ASYMAP_POOL_H
#define ASYMAP_POOL_H

#include "asymap/csim_count.h"
#include "asymap/line_buffer.h"
#include "asymap/requant.h"
#include "asymap/stream_utils.h"
#include "asymap/types.h"

namespace asymap {

// KxK pooling with loading overlapped with computing at row level, as conv2d_core in conv.h: the
// buffer has lb_rows + sh row slots, the rows output row 0 needs are loaded first, then one
// pipelined loop of max(TL, TC) steps per output row reads the TL beats of the rows output row
// oy+1 still needs (for the last row: the rest of the input, dropped) and does the TC =
// W_out*(C/PE*KK + C/P) window and emit steps of row oy.
template <class CFG, bool MAX>
void pool2d_core(hls::stream<ap_uint<8 * CFG::lanes> > &in, hls::stream<ap_uint<8 * CFG::lanes> > &out,
                 const int32_t mult[CFG::kh * CFG::kw + 1], const uint8_t shift[CFG::kh * CFG::kw + 1]) {
    static_assert(CFG::c % CFG::pe == 0, "PE must divide the channel count");
    const unsigned KK = CFG::kh * CFG::kw, CF = CFG::c / CFG::pe;
    const unsigned RB = CFG::lb_rows + CFG::sh;  // row slots
    const unsigned IB = CFG::c / CFG::lanes;     // beats per pixel (in and out)
    const unsigned BPR = CFG::in_w * IB;         // beats per input row
    const unsigned TC = CFG::out_w * (CF * KK + IB);
    byte_t buf[RB][CFG::in_w][CFG::c];
#pragma HLS ARRAY_PARTITION variable = buf cyclic factor = CFG::lb_part dim = 3
#pragma HLS ARRAY_PARTITION variable = buf complete dim = 1
    byte_t opix[CFG::c];
#pragma HLS ARRAY_PARTITION variable = opix cyclic factor = CFG::pe
    const unsigned keep = lb_rows_needed<CFG::in_h, CFG::kh, CFG::sh, CFG::dh, CFG::pt>(CFG::out_h - 1);
    unsigned loaded = lb_rows_needed<CFG::in_h, CFG::kh, CFG::sh, CFG::dh, CFG::pt>(0);
    ASYMAP_CSIM_COUNT(loaded * BPR);
pool_fill:
    for (unsigned r = 0; r < loaded; ++r) {
        lb_load_row<RB, CFG::in_w, CFG::c, CFG::lanes>(in, buf, r % RB);
    }
pool_rows:
    for (unsigned oy = 0; oy < CFG::out_h; ++oy) {
        unsigned target = oy + 1 < CFG::out_h
                              ? lb_rows_needed<CFG::in_h, CFG::kh, CFG::sh, CFG::dh, CFG::pt>(oy + 1)
                              : CFG::in_h;
        unsigned TL = (target - loaded) * BPR, T = TL > TC ? TL : TC;
        ASYMAP_CSIM_COUNT(T);
        unsigned slot[CFG::kh];
        bool rvalid[CFG::kh];
        lb_window_rows<CFG::in_h, RB, CFG::kh, CFG::sh, CFG::dh, CFG::pt>(oy, slot, rvalid);
        unsigned lrow = loaded, lx = 0, lb = 0;          // loader position
        unsigned ox = 0, cf = 0, k = 0, e = 0, n = 0;    // window position, n in-image positions
        bool emitting = false;
        acc_t acc[CFG::pe];
#pragma HLS ARRAY_PARTITION variable = acc complete
        for (unsigned p = 0; p < CFG::pe; ++p) acc[p] = MAX ? acc_t(-256) : acc_t(0);
    pool_step:
        for (unsigned t = 0; t < T; ++t) {
#pragma HLS PIPELINE II = 1
#pragma HLS DEPENDENCE variable = buf inter false
#pragma HLS DEPENDENCE variable = buf intra false
            if (t < TL) {
                ap_uint<8 * CFG::lanes> beat = in.read();
                if (lrow < keep) {
                    for (unsigned l = 0; l < CFG::lanes; ++l) {
#pragma HLS UNROLL
                        buf[lrow % RB][lx][lb * CFG::lanes + l] = lane_byte<CFG::lanes>(beat, l);
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
                    unsigned ky = k / CFG::kw, kx = k % CFG::kw;
                    int ix = int(ox * CFG::sw) - int(CFG::pl) + int(kx * CFG::dw);
                    bool ok = rvalid[ky] && ix >= 0 && ix < int(CFG::in_w);
                    if (ok) ++n;
                    for (unsigned p = 0; p < CFG::pe; ++p) {
#pragma HLS UNROLL
                        act_t v = byte_value<CFG::in_signed>(buf[slot[ky]][ok ? ix : 0][cf * CFG::pe + p]);
                        if (ok) {
                            if (MAX) {
                                if (v > acc[p]) acc[p] = v;
                            } else {
                                acc[p] += v;
                            }
                        }
                    }
                    if (++k == KK) {
                        k = 0;
                        unsigned div = CFG::count_include_pad ? KK : n;
                        for (unsigned p = 0; p < CFG::pe; ++p) {
#pragma HLS UNROLL
                            act_t y = MAX ? clamp_act<CFG::lo, CFG::hi>(wide_t(acc[p]))
                                          : requant<CFG::lo, CFG::hi>(acc[p], mult[div], shift[div]);
                            opix[cf * CFG::pe + p] = y.range(7, 0);
                            acc[p] = MAX ? acc_t(-256) : acc_t(0);
                        }
                        n = 0;
                        cf = cf + 1 == CF ? 0 : cf + 1;
                        emitting = cf == 0;
                    }
                } else {
                    ap_uint<8 * CFG::lanes> beat;
                    for (unsigned l = 0; l < CFG::lanes; ++l) {
#pragma HLS UNROLL
                        beat.range(8 * l + 7, 8 * l) = opix[e * CFG::lanes + l];
                    }
                    out.write(beat);
                    if (++e == IB) {
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

template <class CFG>
void maxpool2d(hls::stream<ap_uint<8 * CFG::lanes> > &in, hls::stream<ap_uint<8 * CFG::lanes> > &out) {
    const int32_t no_mult[CFG::kh * CFG::kw + 1] = {0};
    const uint8_t no_shift[CFG::kh * CFG::kw + 1] = {0};
    pool2d_core<CFG, true>(in, out, no_mult, no_shift);
}

template <class CFG>
void avgpool2d(hls::stream<ap_uint<8 * CFG::lanes> > &in, hls::stream<ap_uint<8 * CFG::lanes> > &out,
               const int32_t mult[CFG::kh * CFG::kw + 1], const uint8_t shift[CFG::kh * CFG::kw + 1]) {
    pool2d_core<CFG, false>(in, out, mult, shift);
}

// Global average pooling. Config: c, pixels (= H*W), lanes, in_signed, lo, hi, mult, shift.
template <class CFG>
void global_avgpool(hls::stream<ap_uint<8 * CFG::lanes> > &in, hls::stream<ap_uint<8 * CFG::lanes> > &out) {
    acc_t acc[CFG::c];
#pragma HLS ARRAY_PARTITION variable = acc cyclic factor = CFG::lanes
gap_init:
    for (unsigned c = 0; c < CFG::c; ++c) acc[c] = 0;
gap_sum:
    for (unsigned i = 0; i < CFG::pixels * (CFG::c / CFG::lanes); ++i) {
#pragma HLS PIPELINE II = 1
        unsigned b = i % (CFG::c / CFG::lanes);
        ap_uint<8 * CFG::lanes> beat = in.read();
        for (unsigned l = 0; l < CFG::lanes; ++l) {
#pragma HLS UNROLL
            acc[b * CFG::lanes + l] += byte_value<CFG::in_signed>(lane_byte<CFG::lanes>(beat, l));
        }
    }
    byte_t opix[CFG::c];
#pragma HLS ARRAY_PARTITION variable = opix cyclic factor = CFG::lanes
gap_out:
    for (unsigned c = 0; c < CFG::c; ++c) {
#pragma HLS PIPELINE II = 1
        opix[c] = requant<CFG::lo, CFG::hi>(acc[c], CFG::mult, CFG::shift).range(7, 0);
    }
    pixel_emit<CFG::c, CFG::lanes>(opix, out);
}

}  // namespace asymap

#endif
