// Bounded dataflow simulation test harness (test_bounded_sim.py): a fork whose two paths meet
// again. The main path is two processes that each read LAG beats before writing anything, so
// the skip FIFO must hold 2*LAG beats (plus what the depth-2 FIFOs of the main path absorb). The
// main path's second half is a nested DATAFLOW region (a process that is itself a region).
//   fork_join SKIP_DEPTH [N_IN]   prints SUM <checksum>; DEADLOCK line and exit 3 on a stall
#include <cstdio>
#include <cstdlib>
#include <hls_stream.h>

#include "asymap/dataflow.h"

static const int N = 100, LAG = 10;

static void fork(hls::stream<int>& in, hls::stream<int>& a, hls::stream<int>& b) {
    for (int k = 0; k < N; ++k) {
        int v = in.read();
        a.write(v);
        b.write(v);
    }
}
static void lag(hls::stream<int>& in, hls::stream<int>& out) {
    int buf[N];
    for (int k = 0; k < N; ++k) {
        buf[k] = in.read();
        if (k >= LAG) out.write(buf[k - LAG] * 2);
    }
    for (int k = N - LAG; k < N; ++k) out.write(buf[k] * 2);
}
static void join(hls::stream<int>& a, hls::stream<int>& b, hls::stream<int>& out) {
    for (int k = 0; k < N; ++k) out.write(a.read() + b.read());
}
static void main_path(hls::stream<int>& in, hls::stream<int>& out) {
    hls::stream<int> mid("mid");
    ASYMAP_SIM_DEPTH(mid, 2);
    ASYMAP_DATAFLOW(df);
    ASYMAP_PROCESS(df, lag(in, mid));
    ASYMAP_PROCESS(df, lag(mid, out));
    ASYMAP_DATAFLOW_RUN(df);
}

int main(int argc, char** argv) {
    int skip = argc > 1 ? std::atoi(argv[1]) : 64;
    int n_in = argc > 2 ? std::atoi(argv[2]) : N;
    hls::stream<int> x("x"), a("a"), b("skip"), m("m"), z("z");
    for (int i = 0; i < n_in; ++i) x.write(i);  // testbench stream: unbounded
    ASYMAP_SIM_DEPTH(a, 2);
    ASYMAP_SIM_DEPTH(b, skip);
    ASYMAP_SIM_DEPTH(m, 2);
    ASYMAP_DATAFLOW(df);
    ASYMAP_PROCESS(df, fork(x, a, b));
    ASYMAP_PROCESS(df, main_path(a, m));
    ASYMAP_PROCESS(df, join(m, b, z));
    ASYMAP_DATAFLOW_RUN(df);
    long sum = 0;
    for (int k = 0; k < N; ++k) sum += z.read();
    std::printf("SUM %ld\n", sum);
    return 0;
}
