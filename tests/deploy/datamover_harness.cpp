// C-sim harness of asymap/datamover.h: frames file -> memory -> mm2s -> stream -> s2mm -> memory.
//   datamover_harness WIDTH IN.frames OUT.frames [MAX_BEATS]
// Prints "MM2S_LAST <flags>" (the TLAST flags mm2s produced, as 0/1) and "S2MM count=N".
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "asymap/datamover.h"

template <unsigned W>
static int run(const std::vector<unsigned char>& in, const char* out_path, unsigned max_beats) {
    const unsigned B = W / 8, rec = B + 1, n = in.size() / rec;
    std::vector<ap_uint<W> > mem(n), back(n + 4);
    std::vector<ap_uint<8> > last(n + 4);
    unsigned frames = 0;
    for (unsigned i = 0; i < n; i++) {
        for (unsigned k = 0; k < B; k++) mem[i].range(8 * k + 7, 8 * k) = in[i * rec + k];
        frames += in[i * rec + B] & 1;
    }
    hls::stream<asymap::link_beat<W> > s("s");
    asymap::mm2s<W>(mem.data(), s, n);
    // Record mm2s's TLAST flags, then hand the beats on to s2mm.
    hls::stream<asymap::link_beat<W> > s2("s2");
    std::string flags;
    while (!s.empty()) {
        asymap::link_beat<W> b = s.read();
        flags += b.last ? '1' : '0';
        s2.write(b);
    }
    std::printf("MM2S_LAST %s\n", flags.c_str());
    unsigned count = 0;
    asymap::s2mm<W>(s2, back.data(), last.data(), max_beats ? max_beats : n + 4, frames, &count);
    std::printf("S2MM count=%u left=%u\n", count, (unsigned)!s2.empty());
    std::ofstream o(out_path, std::ios::binary);
    for (unsigned i = 0; i < count; i++) {
        for (unsigned k = 0; k < B; k++) o.put((char)(unsigned)back[i].range(8 * k + 7, 8 * k));
        o.put((char)(unsigned)last[i]);
    }
    return 0;
}

int main(int argc, char** argv) {
    if (argc < 4) return 2;
    const unsigned width = std::atoi(argv[1]);
    std::ifstream f(argv[2], std::ios::binary);
    std::vector<unsigned char> in((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const unsigned max_beats = argc > 4 ? std::atoi(argv[4]) : 0;
    if (width == 64) return run<64>(in, argv[3], max_beats);
    if (width == 512) return run<512>(in, argv[3], max_beats);
    return 2;
}
