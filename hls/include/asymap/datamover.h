// Data movers between off-chip memory and a link stream: the ends of the pipeline.
//
// An Alveo XDMA shell cannot stream from the host into a kernel, so the host writes the frames of
// a batch into a buffer in device memory and mm2s streams them into the first board's link_in;
// s2mm writes the last board's link_out beats (and their TLAST flags) back to memory for the host
// to check. The movers do not check frames (the host does, asymap_host/frames.h): mm2s only reads
// each header's payload length to place TLAST on the trailer beat, as the link kernels expect.
//
// Schedule (UG1399 "Optimizing Loops: Pipelining"): each mover is one pipelined loop at II=1, one
// beat per cycle; its m_axi argument has one reader (mm2s) or one writer (s2mm) and HLS infers
// bursts from the sequential index (UG1399 "Optimizing Burst Transfers").
#ifndef ASYMAP_DATAMOVER_H
#define ASYMAP_DATAMOVER_H

#include <ap_int.h>
#include <hls_stream.h>

#include "asymap/link.h"

namespace asymap {

// Beats of a frame after its header: payload length (header bits [63:48]) plus the trailer.
template <unsigned W>
inline unsigned frame_tail_beats(const ap_uint<W>& header) {
    return (unsigned)header.range(63, 48) + 1u;
}

// Stream `nbeats` beats of whole frames from `mem` into `out`; TLAST on every trailer beat.
template <unsigned W>
void mm2s(const ap_uint<W>* mem, hls::stream<link_beat<W> >& out, unsigned nbeats) {
    unsigned left = 0;  // beats still to come in the current frame (0: the next beat is a header)
mm2s_beats:
    for (unsigned i = 0; i < nbeats; i++) {
#pragma HLS PIPELINE II=1
        ap_uint<W> d = mem[i];
        const bool header = left == 0;
        left = header ? frame_tail_beats<W>(d) : left - 1;
        link_beat<W> b;
        b.data = d;
        b.keep = -1;
        b.strb = -1;
        b.last = !header && left == 0;
        out.write(b);
    }
}

// Write beats from `in` to `mem` (data) and `last` (TLAST flags, one byte per beat) until `frames`
// trailers have arrived or `max_beats` beats are stored; `count[0]` = beats stored. The host sizes
// `max_beats` to the batch's expected beats, so a lost TLAST cannot overrun the buffer.
template <unsigned W>
void s2mm(hls::stream<link_beat<W> >& in, ap_uint<W>* mem, ap_uint<8>* last, unsigned max_beats, unsigned frames,
          unsigned* count) {
    unsigned n = 0, seen = 0;
s2mm_beats:
    for (unsigned i = 0; i < max_beats; i++) {
#pragma HLS PIPELINE II=1
        if (seen == frames) break;
        link_beat<W> b = in.read();
        mem[i] = b.data;
        last[i] = b.last ? 1 : 0;
        if (b.last) seen++;
        n = i + 1;
    }
    count[0] = n;
}

}  // namespace asymap

#endif
