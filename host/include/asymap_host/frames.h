// Host side of the inter-board frame format (docs/link-protocol.md), in plain C++17.
//
// The generated host program frames the images it feeds to the first board and checks the frames
// the last board returns with this header (and batch.h, which follows the link's schedule); it
// implements the same format and the same receiver rules as the Python reference asymap.linkproto
// (encode_frames, decode_stream; batch.h: link_schedule, encode_image), and the test suite runs
// both on random (and corrupted) frames and requires identical results. No XRT in here, so the
// library is unit-tested with plain g++.
#ifndef ASYMAP_HOST_FRAMES_H
#define ASYMAP_HOST_FRAMES_H

#include <cstdint>
#include <cstring>
#include <map>
#include <stdexcept>
#include <vector>

namespace asymap_host {

constexpr uint8_t MAGIC = 0xA5;
constexpr uint8_t HOST = 255;
constexpr unsigned SEQ_MOD = 1u << 16;
constexpr unsigned MAX_PAYLOAD_BEATS = 0xFFFF;
constexpr unsigned POISON_BIT = 32;  // in the trailer beat

// CRC-32 with the zlib polynomial (reflected 0xEDB88320, init and final xor 0xFFFFFFFF), the value
// Python's zlib.crc32 returns; `crc` continues an earlier call as zlib.crc32(data, crc) does.
inline uint32_t crc32(const uint8_t* p, size_t n, uint32_t crc = 0) {
    static uint32_t table[256];
    static bool ready = false;
    if (!ready) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
        ready = true;
    }
    crc = ~crc;
    for (size_t i = 0; i < n; i++) crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

struct Header {
    uint8_t magic, src, dst, tensor_id;
    uint16_t seq, length;
};

inline uint64_t pack_header(uint8_t src, uint8_t dst, uint8_t tensor_id, uint16_t seq, uint16_t length) {
    if (length < 1) throw std::invalid_argument("frame payload length must be at least one beat");
    return uint64_t(MAGIC) | uint64_t(src) << 8 | uint64_t(dst) << 16 | uint64_t(tensor_id) << 24 |
           uint64_t(seq) << 32 | uint64_t(length) << 48;
}

inline Header unpack_header(const uint8_t* beat) {
    uint64_t w = 0;
    for (int k = 7; k >= 0; k--) w = w << 8 | beat[k];
    return Header{uint8_t(w), uint8_t(w >> 8), uint8_t(w >> 16), uint8_t(w >> 24), uint16_t(w >> 32),
                  uint16_t(w >> 48)};
}

// A beat stream: `width_bytes` bytes per beat, TLAST flag per beat.
struct BeatStream {
    unsigned width_bytes = 8;
    std::vector<uint8_t> data;
    std::vector<uint8_t> last;
    size_t beats() const { return last.size(); }
    const uint8_t* beat(size_t i) const { return data.data() + i * width_bytes; }
};

inline void check_width(unsigned width_bits) {
    if (width_bits < 64 || width_bits % 64) throw std::invalid_argument("link width must be a multiple of 64 bits");
}

// Append the frames of one tensor payload to `out`; returns the next sequence number.
inline uint16_t encode_frames(const uint8_t* payload, size_t n, uint8_t src, uint8_t dst, uint8_t tensor_id,
                              uint16_t seq, unsigned width_bits, unsigned max_payload_beats, BeatStream& out) {
    check_width(width_bits);
    if (max_payload_beats < 1 || max_payload_beats > MAX_PAYLOAD_BEATS)
        throw std::invalid_argument("max_payload_beats outside 1..65535");
    const unsigned B = width_bits / 8;
    out.width_bytes = B;
    const size_t per_frame = size_t(max_payload_beats) * B;
    for (size_t off = 0; off < (n ? n : 1); off += per_frame) {
        const size_t chunk = n ? std::min(per_frame, n - off) : 0;
        const size_t nbeats = (chunk + B - 1) / B;
        std::vector<uint8_t> frame((nbeats + 2) * B, 0);
        const uint64_t h = pack_header(src, dst, tensor_id, seq, uint16_t(nbeats));
        for (int k = 0; k < 8; k++) frame[k] = uint8_t(h >> (8 * k));
        if (chunk) std::memcpy(frame.data() + B, payload + off, chunk);
        const uint32_t crc = crc32(frame.data(), (nbeats + 1) * B);
        for (int k = 0; k < 4; k++) frame[(nbeats + 1) * B + k] = uint8_t(crc >> (8 * k));
        out.data.insert(out.data.end(), frame.begin(), frame.end());
        for (size_t i = 0; i < nbeats + 2; i++) out.last.push_back(i == nbeats + 1);
        seq = uint16_t((seq + 1) % SEQ_MOD);
    }
    return seq;
}

// One accepted frame: where its payload starts in RxStatus::payload[tensor_id] and its sequence number.
struct Accepted {
    uint16_t seq;
    uint8_t tensor_id;
    size_t offset, bytes;
    bool poisoned;  // trailer bit 32 (POISON): the sender knew this image was damaged upstream
};

// The receiver's sticky counters and accepted payloads (asymap.linkproto.RxStatus).
struct RxStatus {
    unsigned frames_ok = 0, crc_errors = 0, seq_errors = 0, length_errors = 0, magic_errors = 0, dest_errors = 0;
    unsigned poisoned = 0;  // accepted frames whose trailer carries POISON (not an error of this link)
    std::map<unsigned, std::vector<uint8_t> > payload;
    std::vector<Accepted> frames;
    unsigned errors() const { return crc_errors + seq_errors + length_errors + magic_errors + dest_errors; }
};

// The reference receiver (asymap.linkproto.decode_stream), rule for rule: a frame is the beats up to
// and including TLAST; magic, length (and the optional max_payload_beats bound), CRC, destination
// and sequence are checked in that order; after an error the receiver resynchronizes on the beat
// after the next TLAST; the expected sequence number follows the last intact header.
inline RxStatus decode_stream(const BeatStream& s, uint8_t dst, unsigned width_bits, uint16_t seq0 = 0,
                              bool accept_after_gap = false, unsigned max_payload_beats = 0) {
    check_width(width_bits);
    const unsigned B = width_bits / 8;
    if (s.width_bytes != B) throw std::invalid_argument("beat stream width differs from the link width");
    RxStatus st;
    unsigned expect = seq0 % SEQ_MOD;
    const size_t n = s.beats();
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && !s.last[j]) j++;
        const size_t first = i, count = (j < n ? j + 1 : n) - i;
        i = j + 1;
        const Header h = unpack_header(s.beat(first));
        if (h.magic != MAGIC) {
            st.magic_errors++;
            continue;
        }
        const bool too_long = max_payload_beats && !(h.length >= 1 && h.length <= max_payload_beats);
        if (count != size_t(h.length) + 2 || j >= n || too_long) {
            st.length_errors++;
            continue;
        }
        const uint8_t* tr = s.beat(first + count - 1);
        const uint32_t got = uint32_t(tr[0]) | uint32_t(tr[1]) << 8 | uint32_t(tr[2]) << 16 | uint32_t(tr[3]) << 24;
        if (crc32(s.beat(first), (count - 1) * B) != got) {
            st.crc_errors++;
            continue;
        }
        if (h.dst != dst) {
            st.dest_errors++;
            continue;
        }
        if (h.seq != expect) {
            st.seq_errors++;
            const bool ahead = (h.seq - expect + SEQ_MOD) % SEQ_MOD < SEQ_MOD / 2;
            expect = (h.seq + 1u) % SEQ_MOD;
            if (!(accept_after_gap && ahead)) continue;
        } else {
            expect = (expect + 1u) % SEQ_MOD;
        }
        st.frames_ok++;
        const bool poison = (tr[POISON_BIT / 8] >> (POISON_BIT % 8)) & 1;
        st.poisoned += poison;
        std::vector<uint8_t>& dstbuf = st.payload[h.tensor_id];
        st.frames.push_back(Accepted{h.seq, h.tensor_id, dstbuf.size(), size_t(h.length) * B, poison});
        dstbuf.insert(dstbuf.end(), s.beat(first + 1), s.beat(first + 1) + size_t(h.length) * B);
    }
    return st;
}

}  // namespace asymap_host

#endif
