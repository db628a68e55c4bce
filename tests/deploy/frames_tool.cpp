// Command-line face of host/include/asymap_host/{frames,batch}.h for the equality tests with
// asymap.linkproto. Frame files use asymap.codegen.framefile's format (W/8 data bytes + a flag byte).
//   frames_tool decode W DST SEQ0 GAP MAXB IN.frames
//   frames_tool schedule W MAXB CxHxW [CxHxW ...]        (prints the slots: SLOT tensor beats)
//   frames_tool batch  W MAXB SRC DST SEQ0 NIMG OUT.frames IN.frames CxHxW [CxHxW ...] < payloads
//     (payloads: NIMG images, each its tensors' bytes (HWC) in tensor order, on stdin)
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "asymap_host/batch.h"
#include "asymap_host/frames.h"

using namespace asymap_host;

static BeatStream read_frames(const char* path, unsigned width_bits) {
    std::ifstream f(path, std::ios::binary);
    std::vector<uint8_t> raw((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    BeatStream s;
    s.width_bytes = width_bits / 8;
    const size_t rec = s.width_bytes + 1;
    for (size_t i = 0; i + rec <= raw.size(); i += rec) {
        s.data.insert(s.data.end(), raw.begin() + i, raw.begin() + i + s.width_bytes);
        s.last.push_back(raw[i + s.width_bytes] & 1);
    }
    return s;
}

static void write_frames(const char* path, const BeatStream& s) {
    std::ofstream f(path, std::ios::binary);
    for (size_t i = 0; i < s.beats(); i++) {
        f.write(reinterpret_cast<const char*>(s.beat(i)), s.width_bytes);
        f.put(char(s.last[i]));
    }
}

static void print_status(const RxStatus& st) {
    std::printf("STATUS frames_ok=%u crc_errors=%u seq_errors=%u length_errors=%u magic_errors=%u dest_errors=%u\n",
                st.frames_ok, st.crc_errors, st.seq_errors, st.length_errors, st.magic_errors, st.dest_errors);
    std::printf("POISONED %u\n", st.poisoned);
    for (const auto& kv : st.payload)
        std::printf("PAYLOAD id=%u len=%zu crc=%u\n", kv.first, kv.second.size(),
                    crc32(kv.second.data(), kv.second.size()));
}

static TensorDesc parse_shape(unsigned id, const char* text) {
    unsigned c = 0, h = 0, w = 0;
    if (std::sscanf(text, "%ux%ux%u", &c, &h, &w) != 3) {
        std::fprintf(stderr, "bad shape %s\n", text);
        std::exit(2);
    }
    return TensorDesc{id, size_t(c) * h * w, c, h, w};
}

int main(int argc, char** argv) {
    const std::string cmd = argc > 1 ? argv[1] : "";
    if (cmd == "decode" && argc == 8) {
        const unsigned w = std::atoi(argv[2]);
        const BeatStream s = read_frames(argv[7], w);
        print_status(decode_stream(s, uint8_t(std::atoi(argv[3])), w, uint16_t(std::atoi(argv[4])),
                                   std::atoi(argv[5]) != 0, unsigned(std::atoi(argv[6]))));
        return 0;
    }
    if (cmd == "schedule" && argc >= 5) {
        std::vector<TensorDesc> ts;
        for (int i = 4; i < argc; i++) ts.push_back(parse_shape(unsigned(i - 4), argv[i]));
        for (const Slot& s : link_schedule(ts, unsigned(std::atoi(argv[2])), unsigned(std::atoi(argv[3]))))
            std::printf("SLOT %u %u\n", s.tensor, s.beats);
        return 0;
    }
    if (cmd == "batch" && argc >= 11) {
        LinkDesc link{uint8_t(std::atoi(argv[4])), uint8_t(std::atoi(argv[5])), unsigned(std::atoi(argv[2])),
                      unsigned(std::atoi(argv[3])), {}};
        const uint16_t seq0 = uint16_t(std::atoi(argv[6]));
        const size_t nimg = std::atoi(argv[7]);
        for (int i = 10; i < argc; i++) link.tensors.push_back(parse_shape(unsigned(i - 10), argv[i]));
        std::vector<std::vector<std::vector<uint8_t> > > images(nimg);
        for (auto& img : images)
            for (const TensorDesc& t : link.tensors) {
                std::vector<uint8_t> b(t.bytes);
                std::cin.read(reinterpret_cast<char*>(b.data()), b.size());
                img.push_back(b);
            }
        write_frames(argv[8], encode_batch(link, images, seq0));
        std::printf("PER_IMAGE frames=%u beats=%zu\n", link.frames_per_image(), link.beats_per_image());
        // Receive what the test wrote (possibly corrupted) as the host program does.
        const RxStatus st = decode_stream(read_frames(argv[9], link.width_bits), link.dst, link.width_bits, seq0, true);
        print_status(st);
        const std::vector<ImageResult> res = split_batch(st, link, nimg, seq0);
        for (size_t k = 0; k < res.size(); k++) {
            std::printf("IMAGE %zu ok=%d", k, int(res[k].ok));
            for (const auto& t : res[k].tensors) std::printf(" crc=%u", crc32(t.data(), t.size()));
            std::printf("\n");
        }
        return 0;
    }
    std::fprintf(stderr, "usage: frames_tool decode|schedule|batch ...\n");
    return 2;
}
