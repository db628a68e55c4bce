// asymap HLS library: folded convolution engines (standard, grouped, depthwise; KxK and 1x1).
//
// Folding (FINN-style): PE output channels, KPAR kernel-window positions and SIMD input channels
// are computed per cycle, so one output pixel takes (C_out/PE) * (KH*KW/KPAR) * (C_in/groups/SIMD)
// MVAU steps and PE*KPAR*SIMD int8 multipliers run in parallel. KPAR (window parallelism, KxK
// engines only, 1 elsewhere) is what lets a layer with few input channels -- the 3-channel RGB
// stem -- use more than PE*C_in multipliers (FINN's MVAU gets the same from SIMD dividing
// C_in*K*K). A weight *row* holds the PE x KPAR x SIMD weights used in one cycle (byte
// (p*KPAR + j)*SIMD + s = w[nf*PE + p][sf*SIMD + s][ky][kx] with window position q = kq*KPAR + j,
// ky = q / KW, kx = q % KW) and rows are ordered by (nf, kq, sf) -- the order the MVAU consumes
// them. Rows come from an on-chip ROM of packed 64-bit words (conv2d, conv1x1) or, for layers
// whose weights live in DRAM, from the burst reader of weights_offchip.h (conv_offchip in conv_offchip.h,
// which inverts the loop order).
//
// The on-chip engines are DATAFLOW chains of single-loop processes (see "on-chip engines" below
// and docs/hls-library.md); their cycles, fill and drain included, are counted in C-simulation
// (csim_count.h) and equal asymap.partition.costmodel.engine_cycles.
//
// Arithmetic: acc = bias + sum(x * w) in 32 bits (x int8 or uint8, w int8; padding contributes the
// input zero point in_zp, real 0: the quantizer folded -in_zp * sum(w) into the bias, so this is
// sum(w * (x - in_zp)) exactly), then requant(acc, mult[c], shift[c]) + out_zp clamped to [lo, hi]
// (requant.h = asymap.quant.arith). in_zp/out_zp are 0 unless a QDQ model is asymmetric.
//
// Config struct (all `static const`), generated into params.h by asymap.codegen.segment:
//   in_c, in_h, in_w, out_c, out_cp (out_c rounded up to a multiple of pe: the last fold may
//   compute zero padding channels when pe does not divide out_c), out_h, out_w, kh, kw, sh, sw,
//   dh, dw, pt, pl, groups,
//   pe, simd, kpar (window positions per cycle, divides kh*kw; 1 for 1x1/fc), in_lanes, out_lanes,
//   in_signed, lo, hi, in_zp, out_zp (optional, 0 when absent: requant.h in_zp_of/out_zp_of),
//   lb_rows = (kh-1)*dh+1, lb_part (channels per cycle of conv_offchip's input buffer),
//   lb_wpart (informational: column banks of the window generator, kw*dw when kpar > 1),
//   rom_wpr (64-bit words per weight row in the ROM), rom_words (ROM length).
#ifndef ASYMAP_CONV_H
#define ASYMAP_CONV_H

#include "asymap/csim_count.h"
#include "asymap/dataflow.h"
#include "asymap/line_buffer.h"
#include "asymap/mac.h"
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
    // The multipliers: packed (2 per DSP48E2), one per DSP or LUTs, as the plan chose (mac.h).
    static_assert(mac_kind_of<CFG>::value != MAC_PACKED || CFG::groups == 1, "packed MACs share activations");
    mac_lanes<mac_kind_of<CFG>::value, CFG::pe, conv_types<CFG>::lanes, CFG::in_signed>(acc, x, row.w);
}

// Requantize the PE results of neuron fold nf into the output pixel.
template <class CFG>
inline void requant_fold(const acc_t acc[CFG::pe], unsigned nf, const int32_t mult[CFG::out_cp],
                         const uint8_t shift[CFG::out_cp], byte_t opix[CFG::out_cp]) {
#pragma HLS INLINE
    for (unsigned p = 0; p < CFG::pe; ++p) {
#pragma HLS UNROLL
        unsigned co = nf * CFG::pe + p;
        opix[co] = requant<CFG::lo, CFG::hi, out_zp_of<CFG>::value>(acc[p], mult[co], shift[co]).range(7, 0);
    }
}

// ---- on-chip engines: gearbox -> [sliding-window generator] -> MVAU -> gearbox ---------------
//
// A DATAFLOW region of four processes (UG1399 "Dataflow"; one producer and one consumer per
// stream), each one flattened loop pipelined at II=1:
//   gearbox  port beats (in_lanes channels) -> words of BW channels (BW = SIMD, PE for depthwise);
//   swg      (line_buffer.h) the window words of every output pixel (KxK engine only; the 1x1/fc
//            engine feeds the input words straight to the MVAU);
//   mvau     the MAC array: one loop over pixels x NF x KF x S, as finn-hlslib's
//            Matrix_Vector_Activate_Batch folds NF x SF into one loop: the accumulators are
//            initialised (bias) on the first step of a fold and requantized and written on its
//            last step, inside the same loop body, so the pipeline never drains between folds.
//            Behind the window generator it reads one window word per iteration (the generator
//            sends a pixel's window words once per output fold, at the MVAU's pace); the 1x1/fc
//            engine reads each input word during fold nf = 0 and keeps it in `inbuf` (the MVAU
//            input buffer) for the other folds, and its input FIFO holds a pixel (SF words) so
//            the gearbox fetches the next pixel meanwhile;
//   gearbox  PE-wide result words -> port beats (out_lanes channels), dropping padding channels.
// Every unrolled lane touches a fixed bank: PE lane p uses bank p of bias/mult/shift (cyclic by
// PE) and byte p*KPAR*SIMD.. of the weight row, whose ROM words are banked cyclically by rom_wpr.
template <class CFG>
struct conv_shape {
    static const unsigned CING = CFG::in_c / CFG::groups;
    static const unsigned COUTG = CFG::out_c / CFG::groups;
    static const bool DW = CING == 1 && COUTG == 1;        // depthwise: PE lanes read PE channels
    static const unsigned NF = CFG::out_cp / CFG::pe, SF = CING / CFG::simd;
    static const unsigned KF = CFG::kh * CFG::kw / CFG::kpar;
    static const unsigned BW = DW ? CFG::pe : CFG::simd;    // channels per buffer word
    static const unsigned XN = CFG::kpar * BW;              // bytes per window word
    static const unsigned A = NF;                           // window words are sent once per fold
    static const unsigned S = DW ? 1 : SF;
    static const unsigned STEPS = NF * KF * S;              // MVAU iterations per output pixel
    static const unsigned IPIX = CFG::in_h * CFG::in_w, OPIX = CFG::out_h * CFG::out_w;
    // Port items (stream_utils.h port_item): a pixel, or a wide beat of IPP / OPP whole pixels.
    // A wide output has no padding channels (the planner offers padded PE only to narrow ports):
    // the output gearbox drops padding at the end of an item, which would be inside a wide beat.
    static const unsigned IPP = port_pix(CFG::in_c, CFG::in_lanes), OPP = port_pix(CFG::out_c, CFG::out_lanes);
    static const unsigned IIT = port_item(CFG::in_c, CFG::in_lanes);
    static const unsigned OIT_IN = OPP > 1 ? CFG::out_lanes : CFG::out_cp;  // PE-word bytes per output item
    static const unsigned OIT = OPP > 1 ? CFG::out_lanes : CFG::out_c;      // port bytes per output item
    static_assert(OPP == 1 || CFG::out_cp == CFG::out_c, "a wide output port has no padding channels");
};

// The window-generator view of a conv config.
template <class CFG>
struct conv_swg_cfg {
    typedef conv_shape<CFG> X;
    static const unsigned in_h = CFG::in_h, in_w = CFG::in_w, c = CFG::in_c, bw = X::BW;
    static const unsigned kh = CFG::kh, kw = CFG::kw, sh = CFG::sh, sw = CFG::sw, dh = CFG::dh, dw = CFG::dw;
    static const unsigned pt = CFG::pt, pl = CFG::pl, out_h = CFG::out_h, out_w = CFG::out_w, kpar = CFG::kpar;
    static const unsigned a = X::A, s = X::S, pe = CFG::pe, coutg = X::DW ? 1 : X::COUTG;
    static const unsigned cing = X::CING;
    // padded window positions read the zero point (after the input gearbox: wide ports alike)
    static const int in_zp = in_zp_of<CFG>::value;
    typedef gearbox_shape<CFG::in_lanes, X::BW, X::IIT, X::IIT> GI;
    typedef gearbox_shape<CFG::pe, CFG::out_lanes, X::OIT_IN, X::OIT> GO;
    static const unsigned lm = GI::M, lw = GI::L / X::BW;
    // Output gearbox iterations per output pixel (a wide item of OPP pixels takes OPP times as long).
    static const unsigned period = max_u(X::STEPS, GO::item_steps / X::OPP);
};

// Input byte of PE lane p, lane position n (= j*SIMD + s) of a window word.
template <class CFG>
inline act_t window_input(const bytes<conv_shape<CFG>::XN> &xw, unsigned p, unsigned n) {
#pragma HLS INLINE
    return byte_value<CFG::in_signed>(xw.b[conv_shape<CFG>::DW ? p : n]);
}

template <class CFG, bool REUSE>
void mvau(hls::stream<bytes<conv_shape<CFG>::XN> > &win, hls::stream<bytes<CFG::pe> > &out,
          const uint64_t w[CFG::rom_words], const int32_t bias[CFG::out_cp], const int32_t mult[CFG::out_cp],
          const uint8_t shift[CFG::out_cp]) {
#pragma HLS INLINE off
    typedef conv_shape<CFG> X;
    const unsigned LN = conv_types<CFG>::lanes, KS = X::KF * X::S;
    static_assert(mac_kind_of<CFG>::value != MAC_PACKED || CFG::groups == 1, "packed MACs share activations");
    bytes<X::XN> inbuf[REUSE ? KS : 1];
#pragma HLS AGGREGATE variable = inbuf
#pragma HLS BIND_STORAGE variable = inbuf type = ram_s2p impl = auto
    acc_t acc[CFG::pe];
#pragma HLS ARRAY_PARTITION variable = acc complete
    ASYMAP_CSIM_ITEMS(X::OPIX, X::STEPS, lat_mvau);
    unsigned i = 0, nf = 0, widx = 0;  // step of the fold, fold, weight row
mvau_steps:
    for (unsigned it = 0; it < X::OPIX * X::STEPS; ++it) {
#pragma HLS PIPELINE II = 1
        bytes<X::XN> xw;
        if (!REUSE || nf == 0) {
            xw = win.read();
            if (REUSE) inbuf[REUSE ? i : 0] = xw;
        } else {
            xw = inbuf[REUSE ? i : 0];
        }
        typename conv_types<CFG>::wrow_t row = read_row<CFG>(w, widx);
        // The multipliers: packed (2 per DSP48E2), one per DSP or LUTs, as the plan chose (mac.h).
        act_t x[CFG::pe][LN];
#pragma HLS ARRAY_PARTITION variable = x complete dim = 0
        acc_t sum[CFG::pe];
#pragma HLS ARRAY_PARTITION variable = sum complete
        for (unsigned p = 0; p < CFG::pe; ++p) {
#pragma HLS UNROLL
            sum[p] = 0;
            for (unsigned n = 0; n < LN; ++n) {
#pragma HLS UNROLL
                x[p][n] = window_input<CFG>(xw, p, n);
            }
        }
        mac_lanes<mac_kind_of<CFG>::value, CFG::pe, LN, CFG::in_signed>(sum, x, row.w);
        bytes<CFG::pe> y;
        for (unsigned p = 0; p < CFG::pe; ++p) {
#pragma HLS UNROLL
            acc_t a = (i == 0 ? acc_t(bias[nf * CFG::pe + p]) : acc[p]) + sum[p];
            acc[p] = a;
            if (i == KS - 1)  // last step of the fold: requantize in the same loop body
                y.b[p] = requant<CFG::lo, CFG::hi, out_zp_of<CFG>::value>(a, mult[nf * CFG::pe + p],
                                                                          shift[nf * CFG::pe + p]).range(7, 0);
        }
        if (i == KS - 1) out.write(y);
        ++widx;
        if (++i == KS) {
            i = 0;
            if (++nf == X::NF) {
                nf = 0;
                widx = 0;
            }
        }
    }
}

// C-sim slots of the on-chip engines (csim_count.h): which slot item i of process j falls in.
// Named (not local to the engine) because the lane-split engine (lanesplit.h) is the same process
// chain cut in two and must count with the same slots.
// KxK engine: processes 0 input gearbox (items: input items, slot of their row), 1 window
// generator (its slots), 2 MVAU (output pixels, slot = row + 1), 3 output gearbox (output items,
// slot = row + 1); a wide item holds IPP (OPP) pixels of one row.
template <class CFG>
struct conv2d_slots {
    typedef conv_shape<CFG> X;
    static const unsigned n = CFG::out_h + 1;
    unsigned operator()(unsigned j, unsigned i) const {
        if (j == 0) return swg_slot_of_row<conv_swg_cfg<CFG> >(i * X::IPP / CFG::in_w);
        if (j == 1) return i;
        if (j == 2) return i / CFG::out_w + 1;
        return i * X::OPP / CFG::out_w + 1;
    }
};

// 1x1/fc engine: processes 0 input gearbox, 1 MVAU, 2 output gearbox. A wide port's item is a
// group of pixels: the group is the slot (every process spends its iterations of those pixels
// there, so the slowest one sets the pace).
template <class CFG>
struct pointwise_slots {
    typedef conv_shape<CFG> X;
    static const unsigned G = max_u(X::IPP, X::OPP);
    static const unsigned n = X::IPIX / G;
    unsigned operator()(unsigned j, unsigned i) const {
        if (j == 0) return i * X::IPP / G;
        if (j == 1) return i / G;
        return i * X::OPP / G;
    }
};

// KxK convolution (any stride, dilation, padding; standard, grouped with PE dividing C_out/groups,
// or depthwise with PE dividing C), optionally KPAR window positions per cycle.
template <class CFG>
void conv2d_core(hls::stream<ap_uint<8 * CFG::in_lanes> > &in,
                 hls::stream<ap_uint<8 * CFG::out_lanes> > &out, const uint64_t w[CFG::rom_words],
                 const int32_t bias[CFG::out_cp], const int32_t mult[CFG::out_cp],
                 const uint8_t shift[CFG::out_cp]) {
#pragma HLS INLINE off
    typedef conv_shape<CFG> X;
    typedef conv_swg_cfg<CFG> WC;
    static_assert(CFG::out_cp % CFG::pe == 0 && CFG::out_cp >= CFG::out_c && X::CING % CFG::simd == 0,
                  "PE divides the padded channel count, SIMD divides C_in/groups");
    static_assert((CFG::kh * CFG::kw) % CFG::kpar == 0, "KPAR divides KH*KW");
    static_assert(CFG::groups == 1 || X::DW || X::COUTG % CFG::pe == 0, "grouped conv: PE divides C_out/groups");
    static_assert(!X::DW || (CFG::out_cp == CFG::out_c && CFG::kpar == 1), "depthwise: PE divides C, KPAR 1");
    ASYMAP_CSIM_ENGINE_BEGIN();
#pragma HLS DATAFLOW
    hls::stream<bytes<X::BW> > words("conv_words");
#pragma HLS STREAM variable = words depth = WC::lw + 2
#pragma HLS BIND_STORAGE variable = words type = fifo impl = srl
    hls::stream<bytes<X::XN> > wins("conv_windows");
#pragma HLS STREAM variable = wins depth = 2
#pragma HLS BIND_STORAGE variable = wins type = fifo impl = srl
    hls::stream<bytes<CFG::pe> > res("conv_results");
#pragma HLS STREAM variable = res depth = 2
#pragma HLS BIND_STORAGE variable = res type = fifo impl = srl
    // In the bounded dataflow simulation (dataflow.h) these processes run concurrently too, over
    // FIFOs bounded like the pragmas say, so the engine overlaps rows as the hardware does.
    ASYMAP_SIM_DEPTH_FIXED(words, WC::lw + 2);
    ASYMAP_SIM_DEPTH_FIXED(wins, 2);
    ASYMAP_SIM_DEPTH_FIXED(res, 2);
    ASYMAP_DATAFLOW(df);
    ASYMAP_PROCESS(df, (gearbox<CFG::in_lanes, X::BW, X::IIT, X::IIT, X::IPIX / X::IPP>(in, words)));
    ASYMAP_PROCESS(df, swg<WC>(words, wins));
    ASYMAP_PROCESS(df, (mvau<CFG, false>(wins, res, w, bias, mult, shift)));
    ASYMAP_PROCESS(df, (gearbox<CFG::pe, CFG::out_lanes, X::OIT_IN, X::OIT, X::OPIX / X::OPP>(res, out)));
    ASYMAP_DATAFLOW_RUN(df);
    ASYMAP_CSIM_ENGINE_END(conv2d_slots<CFG>::n, conv2d_slots<CFG>());
}

// 1x1 (kernel 1, stride 1, no padding, groups 1) and fully connected layers: no row buffer; the
// MVAU reads the SF input words of a pixel straight from the gearbox (`pixels` = H*W; 1 for fc,
// where the whole flattened tensor is one "pixel" of in_c = C*H*W channels). Each pixel is a slot.
template <class CFG>
void pointwise_core(hls::stream<ap_uint<8 * CFG::in_lanes> > &in,
                    hls::stream<ap_uint<8 * CFG::out_lanes> > &out, const uint64_t w[CFG::rom_words],
                    const int32_t bias[CFG::out_cp], const int32_t mult[CFG::out_cp],
                    const uint8_t shift[CFG::out_cp]) {
#pragma HLS INLINE off
    typedef conv_shape<CFG> X;
    static_assert(CFG::out_cp % CFG::pe == 0 && CFG::out_cp >= CFG::out_c && X::CING % CFG::simd == 0,
                  "PE divides the padded channel count, SIMD divides C_in");
    static_assert(CFG::kpar == 1 && CFG::groups == 1 && CFG::kh == 1 && CFG::kw == 1,
                  "1x1 engine: no kernel window, no groups");
    ASYMAP_CSIM_ENGINE_BEGIN();
#pragma HLS DATAFLOW
    hls::stream<bytes<CFG::simd> > words("pw_words");
#pragma HLS STREAM variable = words depth = X::SF + 2
#pragma HLS BIND_STORAGE variable = words type = fifo
    hls::stream<bytes<CFG::pe> > res("pw_results");
#pragma HLS STREAM variable = res depth = 2
#pragma HLS BIND_STORAGE variable = res type = fifo impl = srl
    ASYMAP_SIM_DEPTH_FIXED(words, X::SF + 2);
    ASYMAP_SIM_DEPTH_FIXED(res, 2);
    ASYMAP_DATAFLOW(df);
    ASYMAP_PROCESS(df, (gearbox<CFG::in_lanes, CFG::simd, X::IIT, X::IIT, X::IPIX / X::IPP>(in, words)));
    ASYMAP_PROCESS(df, (mvau<CFG, true>(words, res, w, bias, mult, shift)));
    ASYMAP_PROCESS(df, (gearbox<CFG::pe, CFG::out_lanes, X::OIT_IN, X::OIT, X::IPIX / X::OPP>(res, out)));
    ASYMAP_DATAFLOW_RUN(df);
    ASYMAP_CSIM_ENGINE_END(pointwise_slots<CFG>::n, pointwise_slots<CFG>());
}

// ---- entry points: on-chip ROM weights -------------------------------------------------------
// The ROM is banked cyclically by rom_wpr so a weight row's words are read in one cycle; bias,
// mult and shift cyclically by PE so PE lane p reads bank p. All are read-only memories bound to
// block RAM (or LUTRAM when small) explicitly (UG1399 "Pragma HLS bind_storage").
template <class CFG>
void conv2d(hls::stream<ap_uint<8 * CFG::in_lanes> > &in, hls::stream<ap_uint<8 * CFG::out_lanes> > &out,
            const uint64_t w[CFG::rom_words], const int32_t bias[CFG::out_cp], const int32_t mult[CFG::out_cp],
            const uint8_t shift[CFG::out_cp]) {
#pragma HLS ARRAY_PARTITION variable = w cyclic factor = CFG::rom_wpr
#pragma HLS BIND_STORAGE variable = w type = rom_1p impl = bram
#pragma HLS ARRAY_PARTITION variable = bias cyclic factor = CFG::pe
#pragma HLS ARRAY_PARTITION variable = mult cyclic factor = CFG::pe
#pragma HLS ARRAY_PARTITION variable = shift cyclic factor = CFG::pe
#pragma HLS BIND_STORAGE variable = bias type = rom_1p impl = lutram
#pragma HLS BIND_STORAGE variable = mult type = rom_1p impl = lutram
#pragma HLS BIND_STORAGE variable = shift type = rom_1p impl = lutram
    conv2d_core<CFG>(in, out, w, bias, mult, shift);
}

template <class CFG>
void conv1x1(hls::stream<ap_uint<8 * CFG::in_lanes> > &in, hls::stream<ap_uint<8 * CFG::out_lanes> > &out,
             const uint64_t w[CFG::rom_words], const int32_t bias[CFG::out_cp], const int32_t mult[CFG::out_cp],
             const uint8_t shift[CFG::out_cp]) {
#pragma HLS ARRAY_PARTITION variable = w cyclic factor = CFG::rom_wpr
#pragma HLS BIND_STORAGE variable = w type = rom_1p impl = bram
#pragma HLS ARRAY_PARTITION variable = bias cyclic factor = CFG::pe
#pragma HLS ARRAY_PARTITION variable = mult cyclic factor = CFG::pe
#pragma HLS ARRAY_PARTITION variable = shift cyclic factor = CFG::pe
#pragma HLS BIND_STORAGE variable = bias type = rom_1p impl = lutram
#pragma HLS BIND_STORAGE variable = mult type = rom_1p impl = lutram
#pragma HLS BIND_STORAGE variable = shift type = rom_1p impl = lutram
    pointwise_core<CFG>(in, out, w, bias, mult, shift);
}

// ---- off-chip weights: conv_offchip lives in asymap/conv_offchip.h ----------------------------

}  // namespace asymap

#endif
