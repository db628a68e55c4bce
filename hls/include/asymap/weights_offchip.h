// asymap HLS library: streaming a layer's weights from off-chip memory.
//
// When the plan marks a layer "offchip", its weight rows (PE*SIMD bytes, see conv.h) live in the
// board's DDR/HBM image `wmem` (512-bit words, little-endian bytes) and this process burst-reads
// them into a FIFO that the engine (conv_offchip in conv.h) consumes row by row, exactly once per
// image (`reps` = 1; larger values re-read the region, e.g. for several images per call).
//
// Layout (asymap.codegen.segment.pack_offchip): rows are padded to `slot_bytes` bytes, a power of
// two <= 64 (several rows per word, never straddling a word) or a multiple of 64 (several whole
// words per row); each layer's region starts at word `offset`. Sequential addresses in a
// pipelined loop let HLS infer bursts.
// Config: rows, row_bytes, slot_bytes, words (per repetition), offset, reps.
#ifndef ASYMAP_WEIGHTS_OFFCHIP_H
#define ASYMAP_WEIGHTS_OFFCHIP_H

#include "asymap/types.h"

namespace asymap {

template <class CFG>
void weights_offchip(const ap_uint<512> *wmem, hls::stream<wrow<CFG::row_bytes> > &ws) {
    static_assert(CFG::slot_bytes >= CFG::row_bytes, "slot holds a row");
    static_assert(CFG::slot_bytes % 64 == 0 || 64 % CFG::slot_bytes == 0, "slot divides a word or vice versa");
    const unsigned RPW = CFG::slot_bytes <= 64 ? 64 / CFG::slot_bytes : 1;  // rows per word
    const unsigned WPR = CFG::slot_bytes > 64 ? CFG::slot_bytes / 64 : 1;   // words per row
    const unsigned CHUNK = CFG::row_bytes < 64 ? CFG::row_bytes : 64;       // row bytes per word
wo_reps:
    for (unsigned rep = 0; rep < CFG::reps; ++rep) {
        ap_uint<512> word = 0;
        wrow<CFG::row_bytes> row;
#pragma HLS ARRAY_PARTITION variable = row.w complete
        // One iteration per (row, word of the row): a word is fetched when a new one starts, so
        // the addresses are sequential and HLS infers a burst.
    wo_beats:
        for (unsigned i = 0; i < CFG::rows * WPR; ++i) {
#pragma HLS PIPELINE II = 1
            unsigned r = i / WPR, k = i % WPR, j = r % RPW;
            if (WPR > 1 || j == 0) word = wmem[CFG::offset + (WPR > 1 ? i : r / RPW)];
            for (unsigned b = 0; b < CHUNK; ++b) {
#pragma HLS UNROLL
                unsigned dst = 64 * k + b, src = CFG::slot_bytes * (WPR > 1 ? 0 : j) + b;
                if (dst < CFG::row_bytes) row.w[dst] = word.range(8 * src + 7, 8 * src);
            }
            if (k == WPR - 1) ws.write(row);
        }
    }
}

}  // namespace asymap

#endif
