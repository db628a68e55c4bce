// asymap HLS library: C-simulation cycle counting (compiled only when __SYNTHESIS__ is undefined).
//
// Every engine is a DATAFLOW chain of processes, each ONE flattened loop pipelined at II=1 (one
// iteration per cycle). In C-simulation the processes run one after another, so each records what
// its loop did: the iterations it spent on each *item* (an input pixel, a window slot, an output
// pixel) and its *tail*: the pipeline depth of its loop body (the cycles from the first read to
// the first write, i.e. fill, which is also the drain after the last read) plus any loop
// iterations that only drain (a gearbox's last chunk). The engine then maps items to *slots*
// (for row-buffer engines: the prefill and each output row; for the 1x1 engine: each pixel) and
// charges
//
//     cycles = sum over slots of max over processes (iterations in the slot) + sum of tails,
//
// i.e. within a slot the processes overlap through their FIFOs and the slowest one sets the pace,
// and every process's pipeline is filled and drained once per image. The cost model
// (asymap.partition.costmodel.engine_cycles) evaluates the same formula in closed form; the
// latency constants live in one place per language (lat_* below, LAT_* in asymap/lanes.py) and a
// test checks that they agree. The sum is added to csim_cycles(), which tests compare with the
// cost model. Under synthesis every macro expands to nothing.
#ifndef ASYMAP_CSIM_COUNT_H
#define ASYMAP_CSIM_COUNT_H

#ifndef __SYNTHESIS__
#include <atomic>
#include <vector>
#endif

namespace asymap {

// Pipeline depth (cycles from an iteration's first read to its last write) of each process's loop
// body, charged once per image as fill/drain. Same values as asymap/lanes.py (tests/hls/
// test_latency_constants.py checks). They are the depths Vitis typically schedules at 300 MHz on
// UltraScale+ for these bodies: BRAM read 2 + logic; the MAC body adds the DSP multiply (3-4
// stages), a log-depth adder tree and the 64-bit requantization multiply (4 stages).
const unsigned lat_gearbox = 2;  // shift registers: read, move, write
const unsigned lat_swg = 4;      // line-buffer read (2) + window select + write
const unsigned lat_mvau = 12;    // weight ROM read (2) + multiply (4) + adder tree (2) + requant (4)
const unsigned lat_pool = 6;     // compare/add (1) + requant (4) + write
const unsigned lat_add = 6;      // two 32x32 products (4) + round/clamp (2)
const unsigned lat_gap = 7;      // accumulator RAM read-modify-write (3) + requant (4)
const unsigned lat_concat = 6;   // requant (4) + shift-register move + write
const unsigned lat_lut = 3;      // table ROM read (2) + write
const unsigned lat_chmul = 8;    // scale buffer read (2) + product (1) + requant (4) + zero point/clamp (1)
const unsigned lat_affine = 7;   // 8x8 product + bias add (2) + requant (4) + zero point/clamp (1)
const unsigned lat_chansel = 2;  // shift-register move + write

#ifndef __SYNTHESIS__
// Cycles every counted engine ran, summed over every call since the program started. Atomic: in
// the bounded dataflow simulation (dataflow.h) every process of a region runs in its own thread.
inline std::atomic<unsigned long long> &csim_cycles() {
    static std::atomic<unsigned long long> n(0);
    return n;
}

// Per-process record of the engine currently running (processes of one engine run in sequence,
// inside one thread of the bounded simulation, hence one record per thread).
struct csim_proc {
    std::vector<unsigned long long> items;
    unsigned long long tail;
};
inline std::vector<csim_proc> &csim_procs() {
    static thread_local std::vector<csim_proc> p;
    return p;
}
// A process starts: `n` items of `steps` iterations each (more may be added per item), `tail`.
inline void csim_proc_begin(unsigned long long n, unsigned long long steps, unsigned long long tail) {
    csim_proc p;
    p.items.assign(n, steps);
    p.tail = tail;
    csim_procs().push_back(p);
}
inline void csim_item_add(unsigned long long item, unsigned long long steps) {
    std::vector<unsigned long long> &v = csim_procs().back().items;
    if (v.size() <= item) v.resize(item + 1, 0);
    v[item] += steps;
}
// Width adapters (stream_utils.h width_convert) between a wide tensor port and an engine that
// takes port_lanes(C) channels per beat (lut, chmul, affine, channel_select, conv_offchip): each
// is one more process of that engine's chain, running beside it through a FIFO. The engine's
// steady part becomes the larger of its own and each adapter's iterations per image (one slot:
// these engines count the image as one slot), and each adapter adds its tail (fill/drain) once.
// In sequential C-sim the adapter into the engine runs just before it (its figures wait in
// `pend_*`), the one out of it just after (compared with `last_steady`, the engine's steady part).
// costmodel.engine_schedule charges the same.
struct csim_adapt {
    unsigned long long pend_steady = 0, pend_tail = 0, last_steady = 0;
};
inline csim_adapt &csim_adapters() {
    static thread_local csim_adapt a;
    return a;
}
// An engine's image: `steady` iterations (sum over slots of the slowest process) and `tail`.
inline void csim_engine_total(unsigned long long steady, unsigned long long tail) {
    csim_adapt &a = csim_adapters();
    if (a.pend_steady > steady) steady = a.pend_steady;
    csim_cycles() += steady + tail + a.pend_tail;
    a.pend_steady = a.pend_tail = 0;
    a.last_steady = steady;
}
// An adapter's gearbox has just recorded its process (csim_procs().back()); charge it to the
// engine it feeds (`into_engine`, counted when that engine ends) or drains (counted now).
inline void csim_adapter_end(bool into_engine) {
    const csim_proc p = csim_procs().back();
    csim_procs().pop_back();
    unsigned long long s = 0;
    for (unsigned i = 0; i < p.items.size(); ++i) s += p.items[i];
    csim_adapt &a = csim_adapters();
    if (into_engine) {
        if (s > a.pend_steady) a.pend_steady = s;
        a.pend_tail += p.tail;
    } else {
        csim_cycles() += p.tail + (s > a.last_steady ? s - a.last_steady : 0);
        if (s > a.last_steady) a.last_steady = s;
    }
}
// The engine ends: slot_of(j, i) maps item i of process j to its slot (a functor).
template <class SLOT>
inline void csim_engine_end(unsigned slots, SLOT slot_of) {
    std::vector<std::vector<unsigned long long> > per(csim_procs().size(),
                                                      std::vector<unsigned long long>(slots, 0));
    unsigned long long steady = 0, tail = 0;
    for (unsigned j = 0; j < csim_procs().size(); ++j) {
        const csim_proc &p = csim_procs()[j];
        for (unsigned i = 0; i < p.items.size(); ++i) per[j][slot_of(j, i)] += p.items[i];
        tail += p.tail;
    }
    for (unsigned s = 0; s < slots; ++s) {
        unsigned long long m = 0;
        for (unsigned j = 0; j < per.size(); ++j) m = per[j][s] > m ? per[j][s] : m;
        steady += m;
    }
    csim_engine_total(steady, tail);
    csim_procs().clear();
}
// Two processes that run side by side in lockstep over the same items, as one process: the two
// halves of a lane-split MVAU (lanesplit.h) are one MAC array cut in two, so the engine counts them
// as the one MVAU they replace (per item the larger count, one pipeline fill: the larger tail).
// Merges the last recorded process into the one before it.
inline void csim_merge_lanes() {
    const csim_proc b = csim_procs().back();
    csim_procs().pop_back();
    csim_proc &a = csim_procs().back();
    if (a.items.size() < b.items.size()) a.items.resize(b.items.size(), 0);
    for (unsigned i = 0; i < b.items.size(); ++i) a.items[i] = b.items[i] > a.items[i] ? b.items[i] : a.items[i];
    a.tail = b.tail > a.tail ? b.tail : a.tail;
}
struct csim_same_slot {  // items are slots (all processes count per pixel or per slot)
    unsigned operator()(unsigned, unsigned i) const { return i; }
};
#endif
#if !defined(__SYNTHESIS__) && !defined(ASYMAP_BOUNDED_SIM)
// Counted in the ordinary (sequential) C-simulation only: in the bounded dataflow simulation the
// processes of an engine run in threads of their own and the counts would mix.
#define ASYMAP_CSIM_COUNT(n) (::asymap::csim_cycles() += (n))
#define ASYMAP_CSIM_ENGINE_BEGIN() ::asymap::csim_procs().clear()
#define ASYMAP_CSIM_ITEMS(n, steps, tail) ::asymap::csim_proc_begin((n), (steps), (tail))
#define ASYMAP_CSIM_ITEM_ADD(i, steps) ::asymap::csim_item_add((i), (steps))
#define ASYMAP_CSIM_ENGINE_END(slots, fn) ::asymap::csim_engine_end((slots), (fn))
#define ASYMAP_CSIM_ENGINE_TOTAL(steady, tail) ::asymap::csim_engine_total((steady), (tail))
#define ASYMAP_CSIM_ADAPTER_END(into_engine) ::asymap::csim_adapter_end(into_engine)
#define ASYMAP_CSIM_MERGE_LANES() ::asymap::csim_merge_lanes()
#else
#define ASYMAP_CSIM_COUNT(n)
#define ASYMAP_CSIM_ENGINE_BEGIN()
#define ASYMAP_CSIM_ITEMS(n, steps, tail)
#define ASYMAP_CSIM_ITEM_ADD(i, steps)
#define ASYMAP_CSIM_ENGINE_END(slots, fn)
#define ASYMAP_CSIM_ENGINE_TOTAL(steady, tail)
#define ASYMAP_CSIM_ADAPTER_END(into_engine)
#define ASYMAP_CSIM_MERGE_LANES()
#endif

}  // namespace asymap

#endif
