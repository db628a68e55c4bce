// C-sim harness for the link kernels (driven by tests/hls/test_link_kernels.py).
//
//   link_harness crc W FILE
//       prints CRC=<hex>: crc32_beat over FILE's bytes as W-bit beats (FILE a whole number of beats)
//   link_harness tx W SCHED M IMAGES POISON B0 B1 B2 T0 T1 T2 OUT
//       IMAGES images of three tensors (8, 4 and 1 lanes; Bk bytes each per image, Tk holds all
//       images) -> pack -> link_tx_image (src 3 -> dst 4) -> OUT frame file. POISON: bit i marks
//       image i bad (as the board's receiver would).
//   link_harness rx W SCHED M IMAGES B0 B1 B2 IN O0 O1 O2
//       IN frame file -> link_rx_image (dst 4) -> unpack -> Ok (all images); prints RX_STATUS, the
//       per-image verdicts (BAD=0101...) and LEFTOVER beats.
// Both print the framer's loop iterations (TX_CYCLES / RX_CYCLES: one per clock at II=1).
// SCHED: one "tensor_id beats" line per frame slot (asymap.linkproto.link_schedule); M: the
// maximum payload beats. The link geometry is runtime data here (static members) so one binary
// covers every case; generated tops use compile-time constants and a ROM.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "asymap/linkfile.h"

static std::vector<unsigned> g_sched;

template <unsigned W_>
struct lcfg {
    static const unsigned width = W_;
    static const unsigned tensors = 3;
    static unsigned frames, beats, max_payload_beats;
    static const unsigned src = 3, dst = 4;
    static ap_uint<32> slot(unsigned s) { return g_sched[s]; }
};
template <unsigned W_>
unsigned lcfg<W_>::frames = 0;
template <unsigned W_>
unsigned lcfg<W_>::beats = 0;
template <unsigned W_>
unsigned lcfg<W_>::max_payload_beats = 0;

template <unsigned W_, unsigned P_, unsigned K_>
struct tcfg {
    static const unsigned width = W_;
    static const unsigned lanes = P_;
    static unsigned bytes;
};
template <unsigned W_, unsigned P_, unsigned K_>
unsigned tcfg<W_, P_, K_>::bytes = 0;

static bool load_sched(const char* path) {
    FILE* f = std::fopen(path, "r");
    if (!f) return false;
    unsigned t, n;
    while (std::fscanf(f, "%u %u", &t, &n) == 2) g_sched.push_back(t << 16 | n);
    std::fclose(f);
    return !g_sched.empty();
}

template <unsigned P>
static bool load_port(const std::vector<unsigned char>& d, unsigned off, unsigned n, hls::stream<ap_uint<8 * P> >& s) {
    if (d.size() < off + n) return false;
    for (unsigned i = 0; i < n; i += P) {
        ap_uint<8 * P> w = 0;
        for (unsigned k = 0; k < P; ++k) w.range(8 * k + 7, 8 * k) = d[off + i + k];
        s.write(w);
    }
    return true;
}

template <unsigned P>
static void drain_port(hls::stream<ap_uint<8 * P> >& s, FILE* f) {
    while (!s.empty()) {
        ap_uint<8 * P> w = s.read();
        for (unsigned k = 0; k < P; ++k) std::fputc((int)w.range(8 * k + 7, 8 * k).to_uint(), f);
    }
}

template <unsigned W>
static int run(int argc, char** argv) {
    typedef lcfg<W> L;
    typedef tcfg<W, 8, 0> c0;
    typedef tcfg<W, 4, 1> c1;
    typedef tcfg<W, 1, 2> c2;
    const bool tx = !std::strcmp(argv[1], "tx");
    if (argc != (tx ? 14 : 13)) return 2;
    if (!load_sched(argv[3])) return 3;
    L::frames = g_sched.size();
    L::max_payload_beats = std::atoi(argv[4]);
    L::beats = 0;
    for (unsigned s = 0; s < g_sched.size(); ++s) L::beats += (g_sched[s] & 0xFFFF) + 2;
    const unsigned images = std::atoi(argv[5]);
    const int b0 = tx ? 7 : 6;
    c0::bytes = std::atoi(argv[b0]);
    c1::bytes = std::atoi(argv[b0 + 1]);
    c2::bytes = std::atoi(argv[b0 + 2]);
    hls::stream<ap_uint<64> > p0("p0");
    hls::stream<ap_uint<32> > p1("p1");
    hls::stream<ap_uint<8> > p2("p2");
    hls::stream<ap_uint<W> > beats[3];
    hls::stream<ap_uint<1> > img_bad("img_bad");
    hls::stream<asymap::link_beat<W> > link("link");
    if (tx) {
        const unsigned poison = std::atoi(argv[6]);
        std::vector<unsigned char> d0, d1, d2;
        if (!asymap::read_bytes(argv[10], d0) || !asymap::read_bytes(argv[11], d1) || !asymap::read_bytes(argv[12], d2))
            return 3;
        for (unsigned i = 0; i < images; ++i) {
            if (!load_port<8>(d0, i * c0::bytes, c0::bytes, p0) || !load_port<4>(d1, i * c1::bytes, c1::bytes, p1) ||
                !load_port<1>(d2, i * c2::bytes, c2::bytes, p2))
                return 3;
            asymap::link_pack<c0>(p0, beats[0]);
            asymap::link_pack<c1>(p1, beats[1]);
            asymap::link_pack<c2>(p2, beats[2]);
            img_bad.write((poison >> i) & 1);
            asymap::link_tx_image<L>(beats, img_bad, link);
        }
        if (!p0.empty() || !p1.empty() || !p2.empty() || !beats[0].empty() || !beats[1].empty() ||
            !beats[2].empty() || !img_bad.empty())
            return 4;
        std::printf("TX_CYCLES %llu\n", asymap::link_csim_tx_cycles());
        return asymap::write_frame_file<W>(argv[13], link) < 0 ? 5 : 0;
    }
    if (asymap::read_frame_file<W>(argv[9], link) < 0) return 3;
    asymap::link_status st;
    asymap::link_status_clear(st);
    FILE* o[3];
    for (int k = 0; k < 3; ++k) {
        o[k] = std::fopen(argv[10 + k], "wb");
        if (!o[k]) return 6;
    }
    std::printf("BAD=");
    for (unsigned i = 0; i < images; ++i) {
        asymap::link_rx_image<L>(link, beats, img_bad, st);
        asymap::link_unpack<c0>(beats[0], p0);
        asymap::link_unpack<c1>(beats[1], p1);
        asymap::link_unpack<c2>(beats[2], p2);
        if (!beats[0].empty() || !beats[1].empty() || !beats[2].empty()) {
            std::printf("\nUNBALANCED image %u\n", i);
            return 7;
        }
        drain_port<8>(p0, o[0]);
        drain_port<4>(p1, o[1]);
        drain_port<1>(p2, o[2]);
        std::printf("%u", (unsigned)img_bad.read());
    }
    std::printf("\n");
    for (int k = 0; k < 3; ++k) std::fclose(o[k]);
    asymap::print_status("RX_STATUS", st);
    std::printf("RX_CYCLES %llu\n", asymap::link_csim_rx_cycles());
    std::printf("LEFTOVER %u\n", (unsigned)link.size());
    return 0;
}

template <int W>
static int crc(const char* path) {
    std::vector<unsigned char> d;
    if (!asymap::read_bytes(path, d) || d.size() % (W / 8)) return 3;
    uint32_t s = asymap::crc32_init();
    for (size_t off = 0; off < d.size(); off += W / 8) {
        ap_uint<W> b = 0;
        for (int k = 0; k < W / 8; ++k) b.range(8 * k + 7, 8 * k) = d[off + k];
        s = asymap::crc32_beat<W>(s, b);
    }
    std::printf("CRC=%08x\n", (unsigned)asymap::crc32_final(s));
    return 0;
}

int main(int argc, char** argv) {
    if (argc < 4) return 2;
    int w = std::atoi(argv[2]);
    if (!std::strcmp(argv[1], "crc")) {
        if (w == 64) return crc<64>(argv[3]);
        if (w == 128) return crc<128>(argv[3]);
        if (w == 256) return crc<256>(argv[3]);
        if (w == 512) return crc<512>(argv[3]);
        if (w == 1024) return crc<1024>(argv[3]);
        return 2;
    }
    if (w == 64) return run<64>(argc, argv);
    if (w == 128) return run<128>(argc, argv);
    if (w == 256) return run<256>(argc, argv);
    if (w == 512) return run<512>(argc, argv);
    return 2;
}
