// C-sim harness for the link kernels (driven by tests/hls/test_link_kernels.py).
//   link_harness tx W T0.bin T1.bin T2.bin OUT.frames       tensors -> frames (src 3 -> dst 4)
//   link_harness rx W IN.frames T0.bin T1.bin T2.bin        frames (to dst 4) -> tensors + status
// Three tensors with 8, 4 and 1 lanes; sizes chosen so beats are partial and tensors span frames.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "asymap/linkfile.h"

template <unsigned W_, unsigned P_, unsigned N_, unsigned M_, unsigned ID_>
struct cfg {
    static const unsigned width = W_;
    static const unsigned lanes = P_;
    static const unsigned bytes = N_;
    static const unsigned max_payload_beats = M_;
    static const unsigned tensor_id = ID_;
};

template <unsigned P>
static bool load_port(const char* path, unsigned n, hls::stream<ap_uint<8 * P> >& s) {
    std::vector<unsigned char> d;
    if (!asymap::read_bytes(path, d) || d.size() != n) return false;
    for (unsigned i = 0; i < n; i += P) {
        ap_uint<8 * P> w = 0;
        for (unsigned k = 0; k < P; ++k) w.range(8 * k + 7, 8 * k) = d[i + k];
        s.write(w);
    }
    return true;
}

template <unsigned P>
static bool save_port(const char* path, unsigned n, hls::stream<ap_uint<8 * P> >& s) {
    std::vector<unsigned char> d;
    asymap::port_to_bytes<P>(s, n / P, d);
    FILE* f = std::fopen(path, "wb");
    if (!f) return false;
    std::fwrite(d.data(), 1, d.size(), f);
    std::fclose(f);
    return d.size() == n && s.empty();
}

template <unsigned W, unsigned M>
static int run(int argc, char** argv) {
    typedef cfg<W, 8, 8 * 5 * 3, M, 0> c0;
    typedef cfg<W, 4, 4 * 3 * 3, M, 1> c1;
    typedef cfg<W, 1, 3 * 7 * 7, M, 2> c2;
    hls::stream<ap_uint<64> > p0("p0");
    hls::stream<ap_uint<32> > p1("p1");
    hls::stream<ap_uint<8> > p2("p2");
    hls::stream<asymap::link_beat<W> > link("link");
    if (!std::strcmp(argv[1], "tx")) {
        if (!load_port<8>(argv[3], c0::bytes, p0) || !load_port<4>(argv[4], c1::bytes, p1) ||
            !load_port<1>(argv[5], c2::bytes, p2))
            return 3;
        ap_uint<16> seq = 0;
        asymap::link_tx_tensor<c0>(p0, link, 3, 4, seq);
        asymap::link_tx_tensor<c1>(p1, link, 3, 4, seq);
        asymap::link_tx_tensor<c2>(p2, link, 3, 4, seq);
        if (!p0.empty() || !p1.empty() || !p2.empty()) return 4;
        return asymap::write_frame_file<W>(argv[6], link) < 0 ? 5 : 0;
    }
    if (asymap::read_frame_file<W>(argv[3], link) < 0) return 3;
    asymap::link_status st;
    asymap::link_status_clear(st);
    ap_uint<16> seq = 0;
    asymap::link_rx_tensor<c0>(link, p0, 4, seq, st);
    asymap::link_rx_tensor<c1>(link, p1, 4, seq, st);
    asymap::link_rx_tensor<c2>(link, p2, 4, seq, st);
    asymap::print_status("RX_STATUS", st);
    std::printf("LEFTOVER %u\n", (unsigned)link.size());
    if (!save_port<8>(argv[4], c0::bytes, p0) || !save_port<4>(argv[5], c1::bytes, p1) ||
        !save_port<1>(argv[6], c2::bytes, p2))
        return 6;
    return 0;
}

int main(int argc, char** argv) {
    if (argc != 7) return 2;
    int w = std::atoi(argv[2]);
    if (w == 64) return run<64, 4>(argc, argv);
    if (w == 128) return run<128, 2>(argc, argv);
    if (w == 512) return run<512, 1>(argc, argv);
    return 2;
}
