// Inter-board link kernels: tensor ports <-> AXI4-Stream frames (format: asymap.linkproto).
//
// A board receives every tensor that crosses its input cut on ONE link-in stream and sends every
// tensor of its output cut on ONE link-out stream. Tensors travel one after the other, in the
// order of the link's tensor list (tensor id = index in that list); a tensor longer than
// `max_payload_beats` beats is split into several frames. Per frame:
//
//   header  | MAGIC | src | dst | tensor id | seq (16) | length in beats (16) |  (bits >63 zero)
//   payload | tensor bytes, HWC (channel fastest), low byte first, last beat zero-padded
//   trailer | CRC-32 (zlib) over header + payload beats in bits [31:0]; TLAST on this beat only
//
// Transmit (`link_tx_tensor`) streams: the CRC is accumulated on the fly, nothing is buffered.
// Receive (`link_rx_tensor`) must not pass a bad frame on, and it only knows a frame is good
// after the trailer, so it buffers one frame (at most `max_payload_beats` beats, an on-chip RAM)
// and releases it only after every check passed:
//     magic, length (TLAST exactly after `length` payload beats), CRC, destination, sequence,
// in the order of asymap.linkproto.decode_stream, then tensor id and frame length against what
// the board expects next (a mismatch there means frames arrived out of order: a seq error).
// A dropped frame is counted in the sticky `link_status` counters and its bytes are replaced by
// zeros, so the downstream dataflow still sees exactly the beats it expects (no deadlock) while
// the status registers flag the image as bad. The bad frame's own data is never forwarded.
//
// Each tensor port is an hls::stream<ap_uint<8*P>> (asymap.codegen.ports): P channels of one
// pixel per word, lane k in bits [8k+7:8k]. The link beat is W bits, W a multiple of 64, so a beat
// holds exactly W/(8P) port words and the gearbox is a plain shift.
//
// Configuration struct (one per tensor and direction), e.g.
//   struct cfg_t0 {
//       static const unsigned width = 128;            // link beat bits
//       static const unsigned lanes = 4;              // tensor port lanes P
//       static const unsigned bytes = 16 * 8 * 8;     // tensor bytes C*H*W
//       static const unsigned max_payload_beats = 256;
//       static const unsigned tensor_id = 0;
//   };
#ifndef ASYMAP_LINK_H
#define ASYMAP_LINK_H

#include <ap_int.h>
#include <hls_stream.h>
#include <stdint.h>

#include "asymap/crc32.h"

#if defined(__has_include)
#if __has_include(<ap_axi_sdata.h>)
#include <ap_axi_sdata.h>
#define ASYMAP_HAVE_AXI_SDATA 1
#endif
#endif

namespace asymap {

static const unsigned LINK_MAGIC = 0xA5;
static const unsigned LINK_HOST = 255;

#ifdef ASYMAP_HAVE_AXI_SDATA
// With Vitis: the standard AXI4-Stream side-channel type, so `#pragma HLS INTERFACE axis`
// produces TDATA/TKEEP/TSTRB/TLAST.
template <int W>
using link_beat = ap_axiu<W, 0, 0, 0>;
#else
// Without Vitis (C-sim on the hls4ml ap_types): same field names as ap_axiu.
template <int W>
struct link_beat {
    ap_uint<W> data;
    ap_uint<W / 8> keep;
    ap_uint<W / 8> strb;
    ap_uint<1> last;
};
#endif

// Sticky receive counters (names as asymap.linkproto.RxStatus and the RTL status registers).
struct link_status {
    uint32_t frames_ok;
    uint32_t crc_errors;
    uint32_t seq_errors;
    uint32_t length_errors;
    uint32_t magic_errors;
    uint32_t dest_errors;
};

inline void link_status_clear(link_status& st) {
    st.frames_ok = st.crc_errors = st.seq_errors = 0;
    st.length_errors = st.magic_errors = st.dest_errors = 0;
}

inline uint32_t link_status_errors(const link_status& st) {
    return st.crc_errors + st.seq_errors + st.length_errors + st.magic_errors + st.dest_errors;
}

// Compile-time geometry of one tensor on one link.
template <class CFG>
struct link_geom {
    static const unsigned beat_bytes = CFG::width / 8;
    static const unsigned words_per_beat = beat_bytes / CFG::lanes;
    static const unsigned words = CFG::bytes / CFG::lanes;  // tensor port words
    static const unsigned beats = (CFG::bytes + beat_bytes - 1) / beat_bytes;
    static const unsigned frames = (beats + CFG::max_payload_beats - 1) / CFG::max_payload_beats;
};

template <int W>
ap_uint<W> link_header(unsigned src, unsigned dst, unsigned tensor_id, unsigned seq, unsigned length) {
#pragma HLS INLINE
    ap_uint<W> h = 0;
    h.range(7, 0) = LINK_MAGIC;
    h.range(15, 8) = src;
    h.range(23, 16) = dst;
    h.range(31, 24) = tensor_id;
    h.range(47, 32) = seq;
    h.range(63, 48) = length;
    return h;
}

template <int W>
void link_write(hls::stream<link_beat<W> >& out, const ap_uint<W>& data, unsigned valid_bytes, bool last) {
#pragma HLS INLINE
    link_beat<W> b;
    b.data = data;
    ap_uint<W / 8> keep = 0;
    for (unsigned i = 0; i < W / 8; ++i) {
#pragma HLS UNROLL
        keep[i] = i < valid_bytes ? 1 : 0;
    }
    b.keep = keep;
    b.strb = keep;
    b.last = last ? 1 : 0;
    out.write(b);
}

// Send one tensor read from its port as frames. `seq` is the link's running sequence number.
template <class CFG>
void link_tx_tensor(hls::stream<ap_uint<8 * CFG::lanes> >& in, hls::stream<link_beat<CFG::width> >& out,
                    unsigned src, unsigned dst, ap_uint<16>& seq) {
    typedef link_geom<CFG> G;
    const unsigned W = CFG::width;
    const unsigned P = CFG::lanes;
    unsigned word = 0;  // port words consumed so far
    unsigned beat = 0;  // payload beats sent so far
TX_FRAMES:
    for (unsigned f = 0; f < G::frames; ++f) {
        unsigned left = G::beats - beat;
        unsigned len = left < CFG::max_payload_beats ? left : CFG::max_payload_beats;
        ap_uint<W> head = link_header<W>(src, dst, CFG::tensor_id, seq.to_uint(), len);
        uint32_t crc = crc32_beat<W>(crc32_init(), head);
        link_write<W>(out, head, G::beat_bytes, false);
    TX_BEATS:
        for (unsigned b = 0; b < len; ++b) {
#pragma HLS PIPELINE II = 1
            ap_uint<W> data = 0;
            unsigned valid = 0;
            for (unsigned k = 0; k < G::words_per_beat; ++k) {
                if (word < G::words) {
                    data.range(8 * P * (k + 1) - 1, 8 * P * k) = in.read();
                    ++word;
                    valid += P;
                }
            }
            crc = crc32_beat<W>(crc, data);
            link_write<W>(out, data, valid, false);
        }
        beat += len;
        ap_uint<W> trailer = 0;
        trailer.range(31, 0) = crc32_final(crc);
        link_write<W>(out, trailer, 4, true);
        seq = seq + 1;
    }
}

// Receive one frame into `buf` (payload beats only) and check it. Returns true if it is good.
// Always consumes the whole frame (up to TLAST) so a bad frame leaves the stream in sync.
template <int W, unsigned MAXB>
bool link_rx_frame(hls::stream<link_beat<W> >& in, ap_uint<W> buf[MAXB], unsigned dst, unsigned tensor_id,
                   unsigned expect_len, ap_uint<16>& expect_seq, link_status& st) {
#ifndef __SYNTHESIS__
    // C-simulation only: a frame that never arrives (lost, or merged into its neighbour by a
    // corrupted TLAST) would make the read below return garbage forever; count it and move on.
    // In hardware the receiver simply waits for the next frame.
    if (in.empty()) {
        st.length_errors++;
        return false;
    }
#endif
    link_beat<W> h = in.read();
    ap_uint<W> head = h.data;
    uint32_t crc = crc32_beat<W>(crc32_init(), head);
    unsigned n = 0;  // payload beats seen
    ap_uint<W> trailer = 0;
    bool truncated = false;
    bool last = h.last == 1;
RX_BEATS:
    while (!last) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = MAXB
#ifndef __SYNTHESIS__
        if (in.empty()) {
            truncated = true;
            break;
        }
#endif
        link_beat<W> b = in.read();
        last = b.last == 1;
        if (last) {
            trailer = b.data;
        } else {
            if (n < MAXB) buf[n] = b.data;
            crc = crc32_beat<W>(crc, b.data);
            ++n;
        }
    }
    unsigned magic = head.range(7, 0).to_uint();
    unsigned hdst = head.range(23, 16).to_uint();
    unsigned htid = head.range(31, 24).to_uint();
    unsigned hseq = head.range(47, 32).to_uint();
    unsigned hlen = head.range(63, 48).to_uint();
    if (magic != LINK_MAGIC) {
        st.magic_errors++;
        return false;
    }
    if (truncated || h.last == 1 || n != hlen) {
        st.length_errors++;
        return false;
    }
    if (crc32_final(crc) != (uint32_t)trailer.range(31, 0).to_uint()) {
        st.crc_errors++;
        return false;
    }
    if (hdst != dst) {
        st.dest_errors++;
        return false;
    }
    if (hseq != expect_seq.to_uint()) {
        st.seq_errors++;
        expect_seq = hseq + 1;
        return false;
    }
    expect_seq = expect_seq + 1;
    if (htid != tensor_id || hlen != expect_len) {
        // A good frame, but not the one this board expects next: frames out of order.
        st.seq_errors++;
        return false;
    }
    st.frames_ok++;
    return true;
}

// Receive one tensor (all its frames) and write it to its port; see the header comment for what
// happens to bad frames.
template <class CFG>
void link_rx_tensor(hls::stream<link_beat<CFG::width> >& in, hls::stream<ap_uint<8 * CFG::lanes> >& out,
                    unsigned dst, ap_uint<16>& expect_seq, link_status& st) {
    typedef link_geom<CFG> G;
    const unsigned W = CFG::width;
    const unsigned P = CFG::lanes;
    ap_uint<W> buf[CFG::max_payload_beats];
    unsigned word = 0;
    unsigned beat = 0;
RX_FRAMES:
    for (unsigned f = 0; f < G::frames; ++f) {
        unsigned left = G::beats - beat;
        unsigned len = left < CFG::max_payload_beats ? left : CFG::max_payload_beats;
        bool ok = link_rx_frame<W, CFG::max_payload_beats>(in, buf, dst, CFG::tensor_id, len, expect_seq, st);
    RX_RELEASE:
        for (unsigned b = 0; b < len; ++b) {
#pragma HLS PIPELINE II = 1
            ap_uint<W> data = ok ? buf[b] : ap_uint<W>(0);
            for (unsigned k = 0; k < G::words_per_beat; ++k) {
                if (word < G::words) {
                    out.write(data.range(8 * P * (k + 1) - 1, 8 * P * k));
                    ++word;
                }
            }
        }
        beat += len;
    }
}

}  // namespace asymap

#endif  // ASYMAP_LINK_H
