// asymap HLS library: streaming a layer's weights from off-chip memory.
//
// When the plan marks a layer "offchip", its weight rows (PE*SIMD bytes, see conv.h) live in the
// board's DDR/HBM image `wmem` (512-bit words, little-endian bytes) and this process burst-reads
// them into a FIFO that the engine consumes row by row. The engine needs every row once per
// output pixel, so the whole layer image is re-read `reps` = H_out*W_out times per image: the
// price of not holding the weights on chip, which the cost model charges as memory bandwidth.
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
void weights_offchip(const ap_uint<512> *wmem, hls::stream<ap_uint<8 * CFG::row_bytes> > &ws) {
    static_assert(CFG::slot_bytes >= CFG::row_bytes, "slot holds a row");
    static_assert(CFG::slot_bytes % 64 == 0 || 64 % CFG::slot_bytes == 0, "slot divides a word or vice versa");
    const unsigned RPW = CFG::slot_bytes <= 64 ? 64 / CFG::slot_bytes : 1;  // rows per word
    const unsigned WPR = CFG::slot_bytes > 64 ? CFG::slot_bytes / 64 : 1;   // words per row
wo_reps:
    for (unsigned rep = 0; rep < CFG::reps; ++rep) {
        if (WPR == 1) {
            ap_uint<512> word = 0;
        wo_rows:
            for (unsigned r = 0; r < CFG::rows; ++r) {
#pragma HLS PIPELINE II = 1
                unsigned j = r % RPW;
                if (j == 0) word = wmem[CFG::offset + r / RPW];
                ws.write(word.range(8 * CFG::slot_bytes * j + 8 * CFG::row_bytes - 1, 8 * CFG::slot_bytes * j));
            }
        } else {
            ap_uint<512 * WPR> row = 0;
        wo_words:
            for (unsigned i = 0; i < CFG::rows * WPR; ++i) {
#pragma HLS PIPELINE II = 1
                unsigned k = i % WPR;
                row.range(512 * k + 511, 512 * k) = wmem[CFG::offset + i];
                if (k == WPR - 1) ws.write(row.range(8 * CFG::row_bytes - 1, 0));
            }
        }
    }
}

}  // namespace asymap

#endif
