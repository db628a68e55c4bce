// asymap HLS library: how generated DATAFLOW regions declare their FIFOs and processes.
//
// A generated region (segment.cpp, top.cpp) is written as
//
//     hls::stream<T> s("s");
//     #pragma HLS STREAM variable = s depth = 34
//     ASYMAP_SIM_DEPTH(s, 34);
//     ASYMAP_DATAFLOW(df);
//     ASYMAP_PROCESS(df, producer(in, s));
//     ASYMAP_PROCESS(df, consumer(s, out));
//     ASYMAP_DATAFLOW_RUN(df);
//
// For synthesis and for the ordinary C-simulation (make csim, Vitis csim) the macros expand to the
// plain sequential calls Vitis expects in a canonical dataflow region (UG1399, "Canonical
// Dataflow": one function call per process) and nothing else. Under ASYMAP_BOUNDED_SIM (the
// bounded dataflow simulation of `asymap verify`, asymap/bounded_stream.h) every process runs in
// its own thread and every stream is bounded to its depth, so a FIFO too shallow for the region's
// reconvergent paths shows up as a reported deadlock instead of passing silently.
// ASYMAP_SIM_DEPTH_FIXED(s, d) bounds an engine-internal FIFO (conv.h, pool.h: the channels
// between an engine's gearbox, window generator and MVAU) whose depth is part of the engine's own
// design: `asymap verify --fifo-slack K` does not shrink it, because the margin that check proves
// is the one of the generated inter-engine FIFOs, and the FIFO depth model (codegen/fifodepth.py)
// credits each engine with the read-ahead its internal FIFOs hold at their designed depth.
#ifndef ASYMAP_DATAFLOW_H
#define ASYMAP_DATAFLOW_H

#if defined(ASYMAP_BOUNDED_SIM) && !defined(__SYNTHESIS__)
#include <hls_stream.h>
#ifndef ASYMAP_BOUNDED_STREAM_SHIM
#error "ASYMAP_BOUNDED_SIM needs the bounded hls_stream.h: add -Iinclude/asymap/bounded before the ap_types include"
#endif
#define ASYMAP_SIM_DEPTH(s, d) (s).set_depth(d)
#define ASYMAP_SIM_DEPTH_FIXED(s, d) (s).set_depth(d, true)
#define ASYMAP_DATAFLOW(r) ::asymap::bsim::region r
#define ASYMAP_PROCESS(r, ...) r.add([&] { __VA_ARGS__; })
#define ASYMAP_DATAFLOW_RUN(r) r.run()
#else
#define ASYMAP_SIM_DEPTH(s, d)
#define ASYMAP_SIM_DEPTH_FIXED(s, d)
#define ASYMAP_DATAFLOW(r)
#define ASYMAP_PROCESS(r, ...) __VA_ARGS__
#define ASYMAP_DATAFLOW_RUN(r)
#endif

#endif
