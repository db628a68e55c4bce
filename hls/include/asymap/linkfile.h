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
    std::printf("%s frames_ok=%u crc_errors=%u seq_errors=%u length_errors=%u magic_errors=%u dest_errors=%u\n",
                tag, (unsigned)st.frames_ok, (unsigned)st.crc_errors, (unsigned)st.seq_errors,
                (unsigned)st.length_errors, (unsigned)st.magic_errors, (unsigned)st.dest_errors);
}

}  // namespace asymap

#endif  // ASYMAP_LINKFILE_H
