// Scheduling a batch of images over a link: which frames carry which image, and back again.
//
// One image on a link is a fixed sequence of frame slots, the link's *schedule*
// (asymap.linkproto.link_schedule, the ROM of the HLS link kernels): every tensor of the link is cut
// into chunks of whole beats (one row of the tensor when several tensors share the link,
// max_payload_beats when one tensor has it alone) and the chunks of all tensors are interleaved in
// proportion to their progress. link_schedule() below is the same function in C++; the generated
// host program also carries the generator's schedule and checks the two agree before it frames
// anything. Sequence numbers go one per frame and continue across images, so the host knows, from
// a frame's sequence number alone, which image, slot and part of which tensor it carries: an image
// whose frames did not all arrive intact is marked bad instead of shifting every later image.
#ifndef ASYMAP_HOST_BATCH_H
#define ASYMAP_HOST_BATCH_H

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "asymap_host/frames.h"

namespace asymap_host {

struct TensorDesc {
    unsigned id;   // position in the link's tensor list (the frame header's tensor id)
    size_t bytes;  // C*H*W, one byte per value
    unsigned c = 0, h = 0, w = 0;  // shape; 0: a flat tensor of `bytes` values (c = bytes, h = w = 1)

    unsigned row_bytes() const { return c ? c * w : unsigned(bytes); }
};

// One frame slot of an image: which tensor, how many payload beats.
struct Slot {
    unsigned tensor;
    unsigned beats;
    bool operator==(const Slot& o) const { return tensor == o.tensor && beats == o.beats; }
};

// asymap.linkproto.link_schedule in C++: tensor k has F_k frames of chunk_k beats (the last one
// shorter); its frame f is sent at progress (f + 1) / F_k and slots are sorted by progress, ties
// by lower tensor index, so the tensors advance together.
inline std::vector<Slot> link_schedule(const std::vector<TensorDesc>& tensors, unsigned width_bits,
                                       unsigned max_payload_beats) {
    check_width(width_bits);
    if (max_payload_beats < 1 || max_payload_beats > MAX_PAYLOAD_BEATS)
        throw std::invalid_argument("max_payload_beats outside 1..65535");
    const size_t B = width_bits / 8;
    struct Key {
        uint64_t num, den;
        unsigned k;
        Slot slot;
    };
    std::vector<Key> keys;
    for (unsigned k = 0; k < tensors.size(); k++) {
        const size_t total = (tensors[k].bytes + B - 1) / B;
        size_t chunk = tensors.size() == 1 ? max_payload_beats : (tensors[k].row_bytes() + B - 1) / B;
        chunk = std::max<size_t>(1, std::min<size_t>(std::min<size_t>(chunk, max_payload_beats), total));
        const size_t nf = (total + chunk - 1) / chunk;
        for (size_t f = 0; f < nf; f++)
            keys.push_back(Key{f + 1, nf, k, Slot{k, unsigned(std::min(chunk, total - f * chunk))}});
    }
    std::stable_sort(keys.begin(), keys.end(), [](const Key& a, const Key& b) {
        const uint64_t l = a.num * b.den, r = b.num * a.den;  // frame counts < 2^32: no overflow
        return l != r ? l < r : a.k < b.k;
    });
    std::vector<Slot> out;
    for (const Key& key : keys) out.push_back(key.slot);
    return out;
}

struct LinkDesc {
    uint8_t src, dst;
    unsigned width_bits, max_payload_beats;
    std::vector<TensorDesc> tensors;
    std::vector<Slot> schedule;  // the generator's schedule; empty: computed by link_schedule()

    // The frame slots of one image. A schedule given by the generator must be the one
    // link_schedule() computes (else the two ends of the link would disagree on every frame).
    std::vector<Slot> slots() const {
        std::vector<Slot> s = link_schedule(tensors, width_bits, max_payload_beats);
        if (!schedule.empty() && !(schedule == s))
            throw std::invalid_argument("the link's schedule differs from link_schedule() of its tensors");
        return s;
    }
    unsigned frames_per_image() const { return unsigned(slots().size()); }
    size_t beats_per_image() const {
        size_t b = 0;
        for (const Slot& s : slots()) b += s.beats + 2;
        return b;
    }
    // Sequence numbers are 16 bits: the host checks a batch's frames never wrap onto themselves.
    void check_batch(size_t images) const {
        if (images * frames_per_image() >= SEQ_MOD)
            throw std::invalid_argument("batch too large: more than 65535 frames; split it");
    }
};

// Append one image's frames, slot by slot (asymap.linkproto.encode_image); returns the next
// sequence number. payloads[k] = bytes (HWC) of tensor k.
inline uint16_t encode_image(const std::vector<std::vector<uint8_t> >& payloads, const std::vector<Slot>& slots,
                             uint8_t src, uint8_t dst, uint16_t seq, unsigned width_bits, BeatStream& out) {
    check_width(width_bits);
    const size_t B = width_bits / 8;
    out.width_bytes = unsigned(B);
    std::vector<size_t> pos(payloads.size(), 0);
    for (const Slot& s : slots) {
        if (s.tensor >= payloads.size()) throw std::invalid_argument("schedule names a tensor the image lacks");
        const std::vector<uint8_t>& p = payloads[s.tensor];
        const size_t off = std::min(pos[s.tensor], p.size());
        const size_t chunk = std::min(size_t(s.beats) * B, p.size() - off);
        pos[s.tensor] += size_t(s.beats) * B;
        std::vector<uint8_t> frame((s.beats + 2) * B, 0);
        const uint64_t h = pack_header(src, dst, uint8_t(s.tensor), seq, uint16_t(s.beats));
        for (int k = 0; k < 8; k++) frame[k] = uint8_t(h >> (8 * k));
        if (chunk) std::memcpy(frame.data() + B, p.data() + off, chunk);
        const uint32_t crc = crc32(frame.data(), (s.beats + 1) * B);
        for (int k = 0; k < 4; k++) frame[(s.beats + 1) * B + k] = uint8_t(crc >> (8 * k));
        out.data.insert(out.data.end(), frame.begin(), frame.end());
        for (size_t i = 0; i < s.beats + 2; i++) out.last.push_back(i == s.beats + 1);
        seq = uint16_t((seq + 1) % SEQ_MOD);
    }
    return seq;
}

// images[k][t] = payload bytes (HWC order) of tensor t of image k.
inline BeatStream encode_batch(const LinkDesc& link, const std::vector<std::vector<std::vector<uint8_t> > >& images,
                               uint16_t seq0 = 0) {
    link.check_batch(images.size());
    const std::vector<Slot> slots = link.slots();
    BeatStream out;
    out.width_bytes = link.width_bits / 8;
    uint16_t seq = seq0;
    for (const auto& img : images) {
        if (img.size() != link.tensors.size()) throw std::invalid_argument("image has the wrong number of tensors");
        for (size_t t = 0; t < img.size(); t++)
            if (img[t].size() != link.tensors[t].bytes) throw std::invalid_argument("tensor has the wrong size");
        seq = encode_image(img, slots, link.src, link.dst, seq, link.width_bits, out);
    }
    return out;
}

struct ImageResult {
    bool ok = false;
    std::vector<std::vector<uint8_t> > tensors;  // payload bytes per tensor (HWC), trimmed to its size
};

// Reassemble images from the receiver's accepted frames (decode_stream with the same seq0): frame
// f of an image is slot f of the schedule, so its tensor, length and offset are known. A frame
// that does not fit its slot is ignored (its image stays incomplete); a trailer with the POISON
// bit (a board upstream saw this image damaged) marks its image bad.
inline std::vector<ImageResult> split_batch(const RxStatus& st, const LinkDesc& link, size_t images,
                                            uint16_t seq0 = 0) {
    link.check_batch(images);
    const std::vector<Slot> slots = link.slots();
    const unsigned fpi = unsigned(slots.size());
    const size_t B = link.width_bits / 8;
    std::vector<size_t> offset(slots.size());  // byte offset of slot f's payload in its tensor
    std::vector<size_t> pos(link.tensors.size(), 0);
    for (size_t f = 0; f < slots.size(); f++) {
        offset[f] = pos[slots[f].tensor];
        pos[slots[f].tensor] += size_t(slots[f].beats) * B;
    }
    std::vector<ImageResult> out(images);
    std::vector<unsigned> got(images, 0);
    std::vector<bool> poisoned(images, false);
    for (ImageResult& r : out) {
        r.tensors.resize(link.tensors.size());
        for (size_t t = 0; t < link.tensors.size(); t++) r.tensors[t].assign(link.tensors[t].bytes, 0);
    }
    for (const Accepted& a : st.frames) {
        const unsigned rel = (unsigned(a.seq) + SEQ_MOD - seq0) % SEQ_MOD;
        const size_t img = rel / fpi, f = rel % fpi;
        if (img >= images) continue;  // not of this batch
        const unsigned t = slots[f].tensor;
        if (t != a.tensor_id || a.bytes != size_t(slots[f].beats) * B) continue;  // not the frame of this slot
        const std::vector<uint8_t>& src = st.payload.at(a.tensor_id);
        std::vector<uint8_t>& dst = out[img].tensors[t];
        const size_t off = std::min(offset[f], dst.size());
        const size_t n = std::min(a.bytes, dst.size() - off);
        std::copy(src.begin() + a.offset, src.begin() + a.offset + n, dst.begin() + off);
        got[img]++;
        if (a.poisoned) poisoned[img] = true;
    }
    for (size_t k = 0; k < images; k++) out[k].ok = got[k] == fpi && !poisoned[k];
    return out;
}

}  // namespace asymap_host

#endif
