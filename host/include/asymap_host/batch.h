// Scheduling a batch of images over a link: which frames carry which image, and back again.
//
// The first board receives, per image, every tensor of link 0 in tensor-id order, each split into
// frames of at most max_payload_beats beats, with one sequence number per frame continuing across
// images (asymap.codegen.framefile.encode_tensors for one image). The host therefore knows, from a
// frame's sequence number alone, which image and which part of which tensor it carries: an image
// whose frames did not all arrive intact is marked bad instead of shifting every later image.
#ifndef ASYMAP_HOST_BATCH_H
#define ASYMAP_HOST_BATCH_H

#include <cstdint>
#include <stdexcept>
#include <vector>

#include "asymap_host/frames.h"

namespace asymap_host {

struct TensorDesc {
    unsigned id;
    size_t bytes;  // C*H*W, one byte per value
};

struct LinkDesc {
    uint8_t src, dst;
    unsigned width_bits, max_payload_beats;
    std::vector<TensorDesc> tensors;

    unsigned frames_per_image() const {
        unsigned f = 0;
        for (const TensorDesc& t : tensors) f += frames_of(t.bytes, width_bits, max_payload_beats);
        return f;
    }
    size_t beats_per_image() const {
        size_t b = 0;
        for (const TensorDesc& t : tensors) b += beats_of(t.bytes, width_bits, max_payload_beats);
        return b;
    }
    // Sequence numbers are 16 bits: the host checks a batch's frames never wrap onto themselves.
    void check_batch(size_t images) const {
        if (images * frames_per_image() >= SEQ_MOD)
            throw std::invalid_argument("batch too large: more than 65535 frames; split it");
    }
};

// images[k][t] = payload bytes (HWC order) of tensor t of image k.
inline BeatStream encode_batch(const LinkDesc& link, const std::vector<std::vector<std::vector<uint8_t> > >& images,
                               uint16_t seq0 = 0) {
    link.check_batch(images.size());
    BeatStream out;
    out.width_bytes = link.width_bits / 8;
    uint16_t seq = seq0;
    for (const auto& img : images) {
        if (img.size() != link.tensors.size()) throw std::invalid_argument("image has the wrong number of tensors");
        for (size_t t = 0; t < img.size(); t++) {
            if (img[t].size() != link.tensors[t].bytes) throw std::invalid_argument("tensor has the wrong size");
            seq = encode_frames(img[t].data(), img[t].size(), link.src, link.dst, uint8_t(link.tensors[t].id), seq,
                                link.width_bits, link.max_payload_beats, out);
        }
    }
    return out;
}

struct ImageResult {
    bool ok = false;
    std::vector<std::vector<uint8_t> > tensors;  // payload bytes per tensor (HWC), trimmed to its size
};

// Reassemble images from the receiver's accepted frames (decode_stream with the same seq0).
inline std::vector<ImageResult> split_batch(const RxStatus& st, const LinkDesc& link, size_t images,
                                            uint16_t seq0 = 0) {
    link.check_batch(images);
    const unsigned fpi = link.frames_per_image();
    const size_t B = link.width_bits / 8, chunk = size_t(link.max_payload_beats) * B;
    // Frame f of an image: its tensor and the byte offset of its payload in that tensor.
    std::vector<std::pair<unsigned, size_t> > where;
    for (unsigned t = 0; t < link.tensors.size(); t++) {
        const unsigned nf = frames_of(link.tensors[t].bytes, link.width_bits, link.max_payload_beats);
        for (unsigned k = 0; k < nf; k++) where.push_back({t, k * chunk});
    }
    std::vector<ImageResult> out(images);
    std::vector<unsigned> got(images, 0);
    for (ImageResult& r : out) {
        r.tensors.resize(link.tensors.size());
        for (size_t t = 0; t < link.tensors.size(); t++) r.tensors[t].assign(link.tensors[t].bytes, 0);
    }
    for (const Accepted& a : st.frames) {
        const unsigned rel = (unsigned(a.seq) + SEQ_MOD - seq0) % SEQ_MOD;
        const size_t img = rel / fpi, f = rel % fpi;
        if (img >= images) continue;  // not of this batch
        const unsigned t = where[f].first;
        if (link.tensors[t].id != a.tensor_id) continue;  // a frame that does not belong here
        const std::vector<uint8_t>& src = st.payload.at(a.tensor_id);
        std::vector<uint8_t>& dst = out[img].tensors[t];
        const size_t off = where[f].second;
        const size_t n = std::min(a.bytes, dst.size() - off);
        std::copy(src.begin() + a.offset, src.begin() + a.offset + n, dst.begin() + off);
        got[img]++;
    }
    for (size_t k = 0; k < images; k++) out[k].ok = got[k] == fpi;
    return out;
}

}  // namespace asymap_host

#endif
