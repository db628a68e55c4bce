// asymap HLS library: C-simulation cycle counting (compiled only when __SYNTHESIS__ is undefined).
//
// The conv and pool engines add the cycles of their pipelined loops (one per iteration at II=1) to
// csim_cycles(), so tests can compare the cost model's formulas (asymap.partition.costmodel.
// engine_cycles) with what the engines ran. Engines whose processes overlap (the DATAFLOW loop of
// the 1x1 engine) report each process's iterations per item and let csim_flow compute the
// schedule's finish time. Under synthesis every macro expands to nothing.
#ifndef ASYMAP_CSIM_COUNT_H
#define ASYMAP_CSIM_COUNT_H

namespace asymap {

#ifndef __SYNTHESIS__
const unsigned csim_flow_max_stages = 4;

// C-simulation only: cycles the conv engines spent in their pipelined loops (one per loop
// iteration at II=1, as docs/hls-library.md counts them), summed over every call since the program
// started, so tests can check the cost model's cycle formula against the engine itself.
inline unsigned long long &csim_cycles() {
    static unsigned long long n = 0;
    return n;
}
// Loop iterations of the processes of a DATAFLOW loop body for the current item (process j
// adds its iterations to csim_stage(j)); csim_flow turns them into the time the body's processes
// take when they overlap.
inline unsigned long long &csim_stage(unsigned j) {
    static unsigned long long t[csim_flow_max_stages] = {};
    return t[j];
}
// Schedule of S processes chained by ping-pong (two-buffer) channels in a DATAFLOW loop, one item
// per iteration. Process j may start item i when it has finished item i-1, process j-1 has
// finished item i (its data is there) and process j+1 has finished item i-2 (one of the two
// buffers between them is free again); it then runs csim_stage(j) cycles. The last process
// writes the engine's output stream, which the next engine is assumed to keep up with. With equal
// times (a_0 .. a_{S-1}) per item this gives sum(a) + (N-1)*max(a) for N items, the cost model's
// formula; step() evaluates the recurrence on the counted iterations, so the test compares the
// formula with what the processes actually ran.
struct csim_flow {
    unsigned s;
    unsigned long long f1[csim_flow_max_stages], f2[csim_flow_max_stages];  // finish of items i-1, i-2
    explicit csim_flow(unsigned stages) : s(stages) {
        for (unsigned j = 0; j < csim_flow_max_stages; ++j) f1[j] = f2[j] = csim_stage(j) = 0;
    }
    void step() {
        unsigned long long prev = 0;
        for (unsigned j = 0; j < s; ++j) {
            unsigned long long start = prev > f1[j] ? prev : f1[j];
            if (j + 1 < s && f2[j + 1] > start) start = f2[j + 1];
            f2[j] = f1[j];
            f1[j] = prev = start + csim_stage(j);
            csim_stage(j) = 0;
        }
    }
    unsigned long long total() const { return f1[s - 1]; }
};
#define ASYMAP_CSIM_COUNT(n) (::asymap::csim_cycles() += (n))
#define ASYMAP_CSIM_STAGE(j, n) (::asymap::csim_stage(j) += (n))
#define ASYMAP_CSIM_FLOW(name, stages) ::asymap::csim_flow name(stages)
#define ASYMAP_CSIM_FLOW_STEP(name) name.step()
#define ASYMAP_CSIM_FLOW_END(name) (::asymap::csim_cycles() += name.total())
#else
#define ASYMAP_CSIM_COUNT(n)
#define ASYMAP_CSIM_STAGE(j, n)
#define ASYMAP_CSIM_FLOW(name, stages)
#define ASYMAP_CSIM_FLOW_STEP(name)
#define ASYMAP_CSIM_FLOW_END(name)
#endif

}  // namespace asymap

#endif
