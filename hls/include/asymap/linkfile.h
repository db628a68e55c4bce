// Testbench-only helpers (not synthesizable): link frame files <-> link streams, tensor files.
//
// A *frame file* is what one link carries for one image: every beat as W/8 data bytes (byte k =
// bits [8k+7:8k]) followed by one flag byte (bit 0 = TLAST). asymap.codegen.framefile reads and
// writes the same format, so the chain of boards can be run as separate programs that hand frame
// files to each other (asymap verify), and a test can corrupt a byte between two boards.
#ifndef ASYMAP_LINKFILE_H
#define ASYMAP_LINKFILE_H

#include <cstdio>
#include <vector>

#include "asymap/link.h"

namespace asymap {

// Append every beat of `path` to `out`; returns the number of beats, or -1 if unreadable.
template <int W>
long read_frame_file(const char* path, hls::stream<link_beat<W> >& out) {
    FILE* f = std::fopen(path, "rb");
    if (!f) return -1;
    const int B = W / 8;
    unsigned char rec[B + 1];
    long n = 0;
    while (std::fread(rec, 1, B + 1, f) == (size_t)(B + 1)) {
        link_beat<W> b;
        ap_uint<W> d = 0;
        for (int i = 0; i < B; ++i) d.range(8 * i + 7, 8 * i) = rec[i];
        b.data = d;
        b.keep = ~ap_uint<W / 8>(0);
        b.strb = b.keep;
        b.last = rec[B] & 1;
        out.write(b);
        ++n;
    }
    std::fclose(f);
    return n;
}

// Drain `in` into a frame file; returns the number of beats written, or -1 on error.
template <int W>
long write_frame_file(const char* path, hls::stream<link_beat<W> >& in) {
    FILE* f = std::fopen(path, "wb");
    if (!f) return -1;
    const int B = W / 8;
    unsigned char rec[B + 1];
    long n = 0;
    while (!in.empty()) {
        link_beat<W> b = in.read();
        for (int i = 0; i < B; ++i) rec[i] = (unsigned char)b.data.range(8 * i + 7, 8 * i).to_uint();
        rec[B] = b.last == 1 ? 1 : 0;
        if (std::fwrite(rec, 1, B + 1, f) != (size_t)(B + 1)) {
            std::fclose(f);
            return -1;
        }
        ++n;
    }
    std::fclose(f);
    return n;
}

// Read a whole binary file; returns false if it cannot be read.
inline bool read_bytes(const char* path, std::vector<unsigned char>& data) {
    FILE* f = std::fopen(path, "rb");
    if (!f) return false;
    data.clear();
    unsigned char buf[65536];
    size_t k;
    while ((k = std::fread(buf, 1, sizeof buf, f)) > 0) data.insert(data.end(), buf, buf + k);
    std::fclose(f);
    return true;
}

// Drain a tensor port of `words` P-byte words into bytes (HWC order).
template <unsigned P>
void port_to_bytes(hls::stream<ap_uint<8 * P> >& in, unsigned long words, std::vector<unsigned char>& out) {
    out.clear();
    for (unsigned long i = 0; i < words && !in.empty(); ++i) {
        ap_uint<8 * P> w = in.read();
        for (unsigned k = 0; k < P; ++k) out.push_back((unsigned char)w.range(8 * k + 7, 8 * k).to_uint());
    }
}

inline void print_status(const char* tag, const link_status& st) {
    std::printf("%s frames_ok=%u crc_errors=%u seq_errors=%u length_errors=%u magic_errors=%u dest_errors=%u "
                "frames_lost=%u poisoned=%u images_ok=%u images_bad=%u\n",
                tag, (unsigned)st.frames_ok, (unsigned)st.crc_errors, (unsigned)st.seq_errors,
                (unsigned)st.length_errors, (unsigned)st.magic_errors, (unsigned)st.dest_errors,
                (unsigned)st.frames_lost, (unsigned)st.poisoned, (unsigned)st.images_ok, (unsigned)st.images_bad);
}

// Testbench check of what a board sends (schedule-agnostic, like linkproto.decode_stream): every
// frame must carry the magic, TLAST exactly after its length, a good CRC, destination `dst`,
// consecutive sequence numbers from `seq`, and no POISON; payload bytes are appended per tensor id.
template <int W>
void decode_frames(hls::stream<link_beat<W> >& in, unsigned dst, ap_uint<16>& seq, link_status& st,
                   std::vector<std::vector<unsigned char> >& payload) {
    const unsigned B = W / 8;
    while (!in.empty()) {
        std::vector<ap_uint<W> > fr;
        bool last = false;
        while (!in.empty() && !last) {
            link_beat<W> b = in.read();
            fr.push_back(b.data);
            last = b.last == 1;
        }
        const ap_uint<W>& h = fr[0];
        unsigned len = h.range(63, 48).to_uint();
        unsigned tid = h.range(31, 24).to_uint();
        if (h.range(7, 0).to_uint() != LINK_MAGIC) {
            st.magic_errors++;
            continue;
        }
        if (!last || fr.size() != len + 2) {
            st.length_errors++;
            continue;
        }
        uint32_t crc = crc32_init();
        for (unsigned i = 0; i + 1 < fr.size(); ++i) crc = crc32_beat<W>(crc, fr[i]);
        if (crc32_final(crc) != (uint32_t)fr.back().range(31, 0).to_uint()) {
            st.crc_errors++;
            continue;
        }
        if (h.range(23, 16).to_uint() != dst) {
            st.dest_errors++;
            continue;
        }
        if (h.range(47, 32).to_uint() != seq.to_uint()) st.seq_errors++;
        seq = h.range(47, 32).to_uint() + 1;
        if (fr.back()[LINK_POISON_BIT]) st.poisoned++;
        st.frames_ok++;
        if (payload.size() <= tid) payload.resize(tid + 1);
        for (unsigned i = 1; i <= len; ++i)
            for (unsigned k = 0; k < B; ++k) payload[tid].push_back((unsigned char)fr[i].range(8 * k + 7, 8 * k).to_uint());
    }
}

}  // namespace asymap

#endif  // ASYMAP_LINKFILE_H
