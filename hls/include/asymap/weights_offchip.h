// asymap HLS library: streaming the weights of off-chip layers from DDR/HBM.
//
// When the plan marks a layer "offchip", its weight rows (PE*SIMD bytes, see conv.h) live in the
// board's weight image `wmem` (512-bit words, little-endian bytes), one region per layer, and reach
// the engine (conv_offchip.h) as a stream of rows, each row exactly once per image.
//
// Structure, chosen for what Vitis HLS needs from an m_axi port inside a DATAFLOW region:
//   - exactly one process reads `wmem` (UG1399 "Dataflow Optimization Limitations", single
//     producer-consumer: a variable may have one reading process; UG1448 HLS 200-992). That
//     process is the segment's generated *streamer*: it calls weights_burst once per off-chip
//     layer, in layer order, and fans the words out through one FIFO per layer.
//   - weights_burst is one pipelined loop with an unconditional read of consecutive addresses
//     `wmem[offset + i]`, i = 0..words-1, so HLS infers one long burst per layer region (UG1399
//     "AXI Burst Transfers": sequential accesses in a pipelined loop, no conditional access).
//     Burst length, outstanding reads and latency are set on the top function's INTERFACE pragma
//     (an INTERFACE pragma on a sub-function is ignored, UG1399 "pragma HLS interface").
//   - weights_unpack (one process per layer) turns words into rows at one row per cycle; its
//     conditional *stream* reads are fine, only the m_axi access has to be unconditional.
// The streamer serves layers in order; every off-chip engine reads its whole input before its
// first weight row (conv_offchip.h), so a layer waiting for weights never holds back the data a
// layer earlier in the order needs: the shared streamer cannot deadlock the region.
//
// Layout (asymap.codegen.weightpack.pack_offchip): rows are padded to `slot_bytes` bytes, a power
// of two <= 64 (several rows per word, never straddling a word) or a multiple of 64 (several
// whole words per row); each layer's region starts at word `offset` and is `words` long.
// Config: rows, row_bytes, slot_bytes, words (per repetition), offset, reps.
#ifndef ASYMAP_WEIGHTS_OFFCHIP_H
#define ASYMAP_WEIGHTS_OFFCHIP_H

#include "asymap/types.h"

namespace asymap {

typedef ap_uint<512> wmem_word_t;

// Burst-read one layer's region (reps times) into its word FIFO.
template <class CFG>
void weights_burst(const wmem_word_t *wmem, hls::stream<wmem_word_t> &wq) {
wb_reps:
    for (unsigned rep = 0; rep < CFG::reps; ++rep) {
    wb_words:
        for (unsigned i = 0; i < CFG::words; ++i) {
#pragma HLS PIPELINE II = 1
            wq.write(wmem[CFG::offset + i]);
        }
    }
}

// Words of one layer's region -> weight rows, one row per cycle (a row spanning WPR words takes
// WPR cycles). Reads exactly CFG::words words per repetition.
template <class CFG>
void weights_unpack(hls::stream<wmem_word_t> &wq, hls::stream<wrow<CFG::row_bytes> > &ws) {
    static_assert(CFG::slot_bytes >= CFG::row_bytes, "slot holds a row");
    static_assert(CFG::slot_bytes % 64 == 0 || 64 % CFG::slot_bytes == 0, "slot divides a word or vice versa");
    const unsigned RPW = CFG::slot_bytes <= 64 ? 64 / CFG::slot_bytes : 1;  // rows per word
    const unsigned WPR = CFG::slot_bytes > 64 ? CFG::slot_bytes / 64 : 1;   // words per row
    const unsigned CHUNK = CFG::row_bytes < 64 ? CFG::row_bytes : 64;       // row bytes per word
    static_assert(CFG::words == (WPR > 1 ? CFG::rows * WPR : (CFG::rows + RPW - 1) / RPW), "region size");
wu_reps:
    for (unsigned rep = 0; rep < CFG::reps; ++rep) {
        wmem_word_t word = 0;
        wrow<CFG::row_bytes> row;
#pragma HLS ARRAY_PARTITION variable = row.w complete
        unsigned k = 0, j = 0;  // word of the row, row within the word
    wu_beats:
        for (unsigned i = 0; i < CFG::rows * WPR; ++i) {
#pragma HLS PIPELINE II = 1
            if (WPR > 1 || j == 0) word = wq.read();
            for (unsigned b = 0; b < CHUNK; ++b) {
#pragma HLS UNROLL
                unsigned dst = 64 * k + b, src = CFG::slot_bytes * j + b;
                if (dst < CFG::row_bytes) row.w[dst] = word.range(8 * src + 7, 8 * src);
            }
            if (k == WPR - 1) ws.write(row);
            if (++k == WPR) {
                k = 0;
                j = j + 1 == RPW ? 0 : j + 1;
            }
        }
    }
}

}  // namespace asymap

#endif
