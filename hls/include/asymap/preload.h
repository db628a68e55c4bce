// asymap HLS library: conv/fc weights held in URAM and loaded once at start-up ("preload").
//
// UltraScale+ UltraRAM has no bitstream initialization (AMD UG573; Versal's has), so a
// `static const` weight table can only become BRAM or LUTRAM. Where the plan puts a layer's
// weights in URAM (plan.json "weights": "preload"), the engine owns a static RAM bound to URAM and
// fills it on its first call from a stream of 64-bit ROM words (the same words, in the same order,
// as the on-chip ROM of conv.h: rom_words words, rom_wpr per weight row); every later call skips the
// load. The words come from the segment's start-up loader (generated into weights.h), the one
// reader of the kernel's `wpre` m_axi argument, which bursts the preload image out of off-chip
// memory once and hands each preloaded layer its words in layer order. Each engine takes its
// words before it reads any activation, so the loader never waits on the data path.
//
// Cost: the first image is delayed by the load (plan.json startup_s per board); later images run
// at the planned interval.
#ifndef ASYMAP_PRELOAD_H
#define ASYMAP_PRELOAD_H

#include "asymap/conv.h"
#include "asymap/types.h"

namespace asymap {

typedef ap_uint<64> pword_t;

// Loader side: words [OFFSET, OFFSET + WORDS) of the preload image into one layer's stream.
template <unsigned OFFSET, unsigned WORDS>
void preload_send(const pword_t *wpre, hls::stream<pword_t> &s) {
#pragma HLS INLINE
preload_send_words:
    for (unsigned i = 0; i < WORDS; ++i) {
#pragma HLS PIPELINE II = 1
        s.write(wpre[OFFSET + i]);  // unconditional, sequential: one burst per layer
    }
}

// Engine side: fill the URAM table on the first call.
template <unsigned N>
inline void preload_take(hls::stream<pword_t> &s, uint64_t w[N], bool &loaded) {
#pragma HLS INLINE
    if (loaded) return;
preload_take_words:
    for (unsigned i = 0; i < N; ++i) {
#pragma HLS PIPELINE II = 1
        w[i] = s.read().to_uint64();
    }
    loaded = true;
}

template <class CFG>
void conv2d_preload(hls::stream<ap_uint<8 * CFG::in_lanes> > &in, hls::stream<ap_uint<8 * CFG::out_lanes> > &out,
                    hls::stream<pword_t> &ws, const int32_t bias[CFG::out_cp], const int32_t mult[CFG::out_cp],
                    const uint8_t shift[CFG::out_cp]) {
    static uint64_t w[CFG::rom_words];
#pragma HLS BIND_STORAGE variable = w type = ram_t2p impl = uram
    static bool loaded = false;
    preload_take<CFG::rom_words>(ws, w, loaded);
    conv2d<CFG>(in, out, w, bias, mult, shift);
}

template <class CFG>
void conv1x1_preload(hls::stream<ap_uint<8 * CFG::in_lanes> > &in, hls::stream<ap_uint<8 * CFG::out_lanes> > &out,
                     hls::stream<pword_t> &ws, const int32_t bias[CFG::out_cp], const int32_t mult[CFG::out_cp],
                     const uint8_t shift[CFG::out_cp]) {
    static uint64_t w[CFG::rom_words];
#pragma HLS BIND_STORAGE variable = w type = ram_t2p impl = uram
    static bool loaded = false;
    preload_take<CFG::rom_words>(ws, w, loaded);
    conv1x1<CFG>(in, out, w, bias, mult, shift);
}

template <class CFG>
void fc_preload(hls::stream<ap_uint<8 * CFG::in_lanes> > &in, hls::stream<ap_uint<8 * CFG::out_lanes> > &out,
                hls::stream<pword_t> &ws, const int32_t bias[CFG::out_cp], const int32_t mult[CFG::out_cp],
                const uint8_t shift[CFG::out_cp]) {
    static_assert(CFG::in_h == 1 && CFG::in_w == 1, "fc config flattens the input into one pixel");
    conv1x1_preload<CFG>(in, out, ws, bias, mult, shift);
}

}  // namespace asymap

#endif
