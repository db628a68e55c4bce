// Inter-board link kernels: tensor ports <-> AXI4-Stream frames at line rate (format:
// asymap.linkproto, docs/link-protocol.md). This is the ONE framing layer of a link: the RTL
// bridge under it (rtl/asymap_bridge_*.v) only moves beats (clock crossing, width, credits).
//
// Per frame:
//   header  | MAGIC | src | dst | tensor id | seq (16) | length in beats (16) |  (bits >63 zero)
//   payload | tensor bytes, HWC (channel fastest), low byte first; a tensor's last beat zero-padded
//   trailer | [31:0] CRC-32 (zlib) over header + payload beats, [32] POISON; TLAST on this beat only
//
// One image on a link is a fixed sequence of frame *slots* (linkproto.link_schedule): every tensor
// of the cut is cut into chunks (a row each when several tensors share the link) and the chunks are
// interleaved in proportion, so both boards hold a few rows per tensor, not whole tensors. The
// generated CFG carries the schedule as a ROM: CFG::slot(s) = tensor id << 16 | payload beats.
//
// Processes (each one pipelined loop at II=1, each FIFO accessed at most once per iteration --
// AMD UG1399: a stream read twice in one iteration of a pipelined loop forces II >= 2):
//   link_pack<T>     tensor port words -> W-bit beats        (one port word per cycle)
//   link_tx_image<L> beats of the tensors -> frames           (one link beat per cycle)
//   link_rx_image<L> frames -> beats of the tensors           (one link beat per cycle, cut-through)
//   link_unpack<T>   W-bit beats -> tensor port words        (one port word per cycle)
// The packers are separate processes so the framers never touch a narrow port more than once per
// cycle: a 512-bit beat holds 8 words of an 8-lane port.
//
// The receiver is cut-through: payload is forwarded as it arrives and the CRC is known at the
// trailer, where a mismatch marks the image bad and is counted (sticky status), as cut-through
// Ethernet does. It never waits on `empty()`: recovery is in hardware terms -- after any framing
// error it discards beats up to the next TLAST and takes the next beat as a header; a header whose
// sequence number is ahead means frames were lost, and their slots are zero-filled (counted in
// frames_lost, image bad) so every kernel downstream still gets exactly the beats it expects.
// The per-image verdict goes to the board's transmitter (img_bad stream), which sets POISON on
// that image's last trailer, so the host learns which image is bad.
#ifndef ASYMAP_LINK_H
#define ASYMAP_LINK_H

#include <ap_int.h>
#include <hls_stream.h>
#include <stdint.h>

#include "asymap/crc32.h"
#include "asymap/stream_utils.h"

#if defined(__has_include)
#if __has_include(<ap_axi_sdata.h>)
#include <ap_axi_sdata.h>
#define ASYMAP_HAVE_AXI_SDATA 1
#endif
#endif

namespace asymap {

static const unsigned LINK_MAGIC = 0xA5;
static const unsigned LINK_HOST = 255;
static const unsigned LINK_POISON_BIT = 32;

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

// Sticky receive counters (names as asymap.linkproto.STATUS_FIELDS).
struct link_status {
    uint32_t frames_ok;
    uint32_t crc_errors;
    uint32_t seq_errors;
    uint32_t length_errors;
    uint32_t magic_errors;
    uint32_t dest_errors;
    uint32_t frames_lost;
    uint32_t poisoned;
    uint32_t images_ok;
    uint32_t images_bad;
};

inline void link_status_clear(link_status& st) {
    st.frames_ok = st.crc_errors = st.seq_errors = 0;
    st.length_errors = st.magic_errors = st.dest_errors = 0;
    st.frames_lost = st.poisoned = st.images_ok = st.images_bad = 0;
}

inline uint32_t link_status_errors(const link_status& st) {
    return st.crc_errors + st.seq_errors + st.length_errors + st.magic_errors + st.dest_errors + st.frames_lost +
           st.poisoned + st.images_bad;
}

#ifndef __SYNTHESIS__
// C-simulation only: loop iterations of the framers (one per clock at II=1), so a test can check
// that a link kernel moves one beat per cycle.
inline unsigned long long& link_csim_tx_cycles() {
    static unsigned long long n = 0;
    return n;
}
inline unsigned long long& link_csim_rx_cycles() {
    static unsigned long long n = 0;
    return n;
}
#define ASYMAP_LINK_COUNT(which) (++::asymap::link_csim_##which##_cycles())
#else
#define ASYMAP_LINK_COUNT(which) ((void)0)
#endif

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

// Tensor port words (P bytes each: P channels of a pixel, or whole pixels on a wide port) -> W-bit
// beats, one image, bytes packed contiguously (HWC order) and the last beat zero-padded, as
// docs/link-protocol.md says. stream_utils.h `repack`: P need not divide W/8 (a wide port of 24
// bytes into 64-bit beats), a beat leaves as soon as its last byte arrived, one loop at II=1.
// CFG: width, lanes (P), bytes.
template <class CFG>
void link_pack(hls::stream<ap_uint<8 * CFG::lanes> >& in, hls::stream<ap_uint<CFG::width> >& out) {
    const unsigned P = CFG::lanes, B = CFG::width / 8;
    repack<P, B>(in, out, CFG::bytes / P, (CFG::bytes + B - 1) / B);
}

// W-bit beats -> tensor port words, one image (the padding of the last beat is dropped).
template <class CFG>
void link_unpack(hls::stream<ap_uint<CFG::width> >& in, hls::stream<ap_uint<8 * CFG::lanes> >& out) {
    const unsigned P = CFG::lanes, B = CFG::width / 8;
    repack<B, P>(in, out, (CFG::bytes + B - 1) / B, CFG::bytes / P);
}

template <int W>
link_beat<W> link_make_beat(const ap_uint<W>& data, bool last) {
#pragma HLS INLINE
    link_beat<W> b;
    b.data = data;
    b.keep = ~ap_uint<W / 8>(0);
    b.strb = b.keep;
    b.last = last ? 1 : 0;
    return b;
}

// Send one image: every slot of the schedule as header, payload, trailer. One beat per
// iteration; the beat streams of the tensors are read at most once per iteration (the unrolled
// loop below touches stream k only when k is the slot's tensor, a compile-time index per copy).
// CFG: width, tensors, frames, beats (per image), src, dst, slot(s).
template <class CFG>
void link_tx_image(hls::stream<ap_uint<CFG::width> > in[CFG::tensors], hls::stream<ap_uint<1> >& img_bad,
                   hls::stream<link_beat<CFG::width> >& out) {
    const unsigned W = CFG::width;
    static ap_uint<16> seq = 0;
    unsigned slot = 0, pos = 0;  // pos: 0 header, 1..len payload, len+1 trailer
    uint32_t crc = 0;
TX_BEATS:
    for (unsigned i = 0; i < CFG::beats; ++i) {
#pragma HLS PIPELINE II = 1
        ASYMAP_LINK_COUNT(tx);
        ap_uint<32> sl = CFG::slot(slot);
        unsigned tid = sl.range(23, 16).to_uint();
        unsigned len = sl.range(15, 0).to_uint();
        ap_uint<W> d = 0;
        bool last = false;
        if (pos == 0) {
            d = link_header<W>(CFG::src, CFG::dst, tid, seq.to_uint(), len);
            crc = crc32_beat<W>(crc32_init(), d);
        } else if (pos <= len) {
            for (unsigned k = 0; k < CFG::tensors; ++k) {
#pragma HLS UNROLL
                if (k == tid) d = in[k].read();
            }
            crc = crc32_beat<W>(crc, d);
        } else {
            d.range(31, 0) = crc32_final(crc);
            if (slot == CFG::frames - 1) d[LINK_POISON_BIT] = img_bad.read();
            last = true;
        }
        out.write(link_make_beat<W>(d, last));
        if (last) {
            seq = seq + 1;
            ++slot;
            pos = 0;
        } else {
            ++pos;
        }
    }
}

#ifndef __SYNTHESIS__
// C-simulation only (see link_rx_image): zero-fill what is left of the image -- the rest of the
// frame being received (if any) and every later slot -- and count those slots as lost, so the
// dataflow downstream still gets whole tensors and the testbench ends.
template <class CFG>
void link_rx_csim_starved(hls::stream<ap_uint<CFG::width> > out[CFG::tensors], unsigned slot, unsigned bcnt,
                          bool in_frame, unsigned htid, unsigned hlen, link_status& st) {
    if (in_frame) {
        for (unsigned b = bcnt; b < hlen; ++b) out[htid].write(0);
        ++slot;
        st.length_errors++;
    }
    for (; slot < CFG::frames; ++slot) {
        ap_uint<32> sl = CFG::slot(slot);
        for (unsigned b = 0; b < sl.range(15, 0).to_uint(); ++b) out[sl.range(23, 16).to_uint()].write(0);
        st.frames_lost++;
    }
}
#endif

// Receive one image (cut-through); asymap.linkproto.CutThroughRx is the same state machine in
// Python, beat for beat and counter for counter. Writes the image's verdict to img_bad.
// CFG: width, tensors, frames, max_payload_beats, dst, slot(s).
template <class CFG>
void link_rx_image(hls::stream<link_beat<CFG::width> >& in, hls::stream<ap_uint<CFG::width> > out[CFG::tensors],
                   hls::stream<ap_uint<1> >& img_bad, link_status& st) {
    const unsigned W = CFG::width;
    const unsigned F = CFG::frames;
    enum { HDR, PAY, TRL, HUNT, FILL, LAND, REST };
    // State that outlives an image: expected sequence number, hunting, the far-ahead candidate and
    // a header accepted at the end of the previous image whose lost slots are not yet filled.
    static ap_uint<16> seq = 0;
    static bool hunt = false, cand_valid = false, pend = false;
    static ap_uint<16> cand = 0;
    static ap_uint<W> pend_head = 0;
    static unsigned pend_fill = 0;

    unsigned mode = hunt ? (unsigned)HUNT : (unsigned)HDR;
    ap_uint<W> head = 0;  // the accepted frame's header
    unsigned fill = 0;
    uint32_t crc = 0;
    if (pend) {
        head = pend_head;
        fill = pend_fill;
        pend = false;
        mode = fill ? FILL : LAND;
        crc = crc32_beat<W>(crc32_init(), head);
    }
    unsigned slot = 0, bcnt = 0;
    bool bad = false;
RX_BEATS:
    while (slot < F) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 65536
        ASYMAP_LINK_COUNT(rx);
        const unsigned hseq = head.range(47, 32).to_uint();
        const unsigned htid = head.range(31, 24).to_uint();
        const unsigned hlen = head.range(63, 48).to_uint();
        ap_uint<32> sl = CFG::slot(slot);
        const unsigned stid = sl.range(23, 16).to_uint();
        const unsigned slen = sl.range(15, 0).to_uint();
        bool wr = false;  // write `wd` to tensor `wk` this iteration
        unsigned wk = 0;
        ap_uint<W> wd = 0;
        if (mode == FILL) {  // zero-fill a lost slot
            wr = true;
            wk = stid;
            if (++bcnt == slen) {
                bcnt = 0;
                ++slot;
                --fill;
                seq = seq + 1;
                st.frames_lost++;
                bad = true;
                if (fill == 0) mode = LAND;
                if (slot == F) {
                    pend = true;
                    pend_head = head;
                    pend_fill = fill;
                }
            }
        } else if (mode == LAND) {  // the accepted frame must fit the slot the fill ended on
            if (htid == stid && hlen == slen) {
                mode = PAY;
            } else {
                st.seq_errors++;
                mode = HUNT;
            }
        } else if (mode == REST) {  // zero-fill the rest of a truncated frame
            wr = true;
            wk = htid;
            if (++bcnt == hlen) {
                bcnt = 0;
                ++slot;
                mode = HDR;
            }
        } else {
#ifndef __SYNTHESIS__
            // C-simulation only: a testbench whose frames ran out mid-image (a truncated frame
            // file) would read an empty stream forever; in hardware the kernel simply waits for
            // the next frame. End the image as if its remaining slots were lost.
            if (in.empty()) {
                link_rx_csim_starved<CFG>(out, slot, bcnt, mode == PAY || mode == TRL || mode == REST, htid, hlen, st);
                bad = true;
                break;
            }
#endif
            link_beat<W> b = in.read();
            const bool lst = b.last == 1;
            const ap_uint<W> d = b.data;
            if (mode == HUNT) {
                if (lst) mode = HDR;
            } else if (mode == HDR) {
                const unsigned nxt = lst ? (unsigned)HDR : (unsigned)HUNT;
                const unsigned magic = d.range(7, 0).to_uint();
                const unsigned dst = d.range(23, 16).to_uint();
                const unsigned tid = d.range(31, 24).to_uint();
                const unsigned len = d.range(63, 48).to_uint();
                const ap_uint<16> dseq = d.range(47, 32);
                const ap_uint<16> g = dseq - seq;
                if (magic != LINK_MAGIC) {
                    st.magic_errors++;
                    mode = nxt;
                } else if (lst || len == 0 || len > CFG::max_payload_beats) {
                    st.length_errors++;
                    mode = nxt;
                } else if (dst != CFG::dst) {
                    st.dest_errors++;
                    mode = nxt;
                } else if (g >= 0x8000) {  // behind: a duplicate or stale frame
                    st.seq_errors++;
                    mode = nxt;
                } else {
                    bool ok = true;
                    if (g >= F) {
                        // Far ahead: accept only a second header in a row (cell delineation).
                        if (!(cand_valid && dseq == ap_uint<16>(cand + 1))) {
                            cand = dseq;
                            cand_valid = true;
                            st.seq_errors++;
                            ok = false;
                        }
                    } else {
                        unsigned t = slot + g.to_uint();
                        if (t >= F) t -= F;
                        ap_uint<32> ts = CFG::slot(t);
                        if (tid != ts.range(23, 16).to_uint() || len != ts.range(15, 0).to_uint()) {
                            if (g == 0 && tid == ts.range(23, 16).to_uint()) {
                                st.length_errors++;
                            } else {
                                st.seq_errors++;
                            }
                            ok = false;
                        } else if (g != 0) {
                            st.seq_errors++;
                        }
                    }
                    if (ok) {
                        cand_valid = false;
                        head = d;
                        crc = crc32_beat<W>(crc32_init(), d);
                        bcnt = 0;
                        fill = g.to_uint();
                        mode = fill ? FILL : PAY;
                    } else {
                        mode = nxt;
                    }
                }
            } else if (mode == PAY) {
                if (lst) {  // TLAST before the announced length: truncated
                    st.length_errors++;
                    bad = true;
                    mode = REST;
                    seq = hseq + 1;
                } else {
                    wr = true;
                    wk = htid;
                    wd = d;
                    crc = crc32_beat<W>(crc, d);
                    if (++bcnt == hlen) mode = TRL;
                }
            } else {  // TRL
                bcnt = 0;
                ++slot;
                seq = hseq + 1;
                if (!lst) {
                    st.length_errors++;
                    bad = true;
                    mode = HUNT;
                } else {
                    mode = HDR;
                    if ((uint32_t)d.range(31, 0).to_uint() != crc32_final(crc)) {
                        st.crc_errors++;
                        bad = true;
                    } else {
                        st.frames_ok++;
                    }
                    if (d[LINK_POISON_BIT]) {
                        st.poisoned++;
                        bad = true;
                    }
                }
            }
        }
        for (unsigned k = 0; k < CFG::tensors; ++k) {
#pragma HLS UNROLL
            if (wr && k == wk) out[k].write(wd);
        }
    }
    hunt = mode == HUNT;
    if (bad) {
        st.images_bad++;
    } else {
        st.images_ok++;
    }
    img_bad.write(bad ? 1 : 0);
}

}  // namespace asymap

#endif  // ASYMAP_LINK_H
