// asymap HLS library: C-simulation-only bounded hls::stream and deadlock watchdog.
//
// Why: plain C-simulation runs a DATAFLOW region's processes one after the other over unbounded
// hls::stream queues, so it can never show that a FIFO is too shallow. In hardware every channel
// holds at most its STREAM depth and all processes run at once; a reconvergent path (a residual
// skip) whose FIFO is too shallow stalls the whole region. This header replaces hls_stream.h for
// the *bounded dataflow simulation* (`asymap verify`, see docs/generated-project.md):
//
//   g++ -DASYMAP_BOUNDED_SIM -Iinclude/asymap/bounded -Iinclude ... -pthread
//
// (include/asymap/bounded/hls_stream.h forwards here and is found before the real hls_stream.h).
// Then
//   - hls::stream<T> is a thread-safe queue. Its bound is set by ASYMAP_SIM_DEPTH(s, depth) next
//     to each `#pragma HLS STREAM` of the generated code (asymap/dataflow.h), minus the slack in
//     the environment variable ASYMAP_FIFO_SLACK (at least 1); engine-internal FIFOs bounded by
//     ASYMAP_SIM_DEPTH_FIXED keep their designed depth whatever the slack; streams without a depth
//     (testbench queues, engine-internal scratch streams) stay unbounded.
//   - inside a dataflow process (a thread started by asymap::bsim::region, see dataflow.h) read()
//     blocks while the stream is empty and write() blocks while it is full, as in hardware;
//     outside one (the testbench) they behave like the sequential C-sim stream.
//   - a watchdog counts running and blocked processes under one lock; when every running process
//     is blocked the region can never move again: it prints one line
//         DEADLOCK: 7 of 7 dataflow processes blocked; full: e0_t_x (depth 3 = 35 - 32); empty: s_t_y
//     naming every stream some process waits to write (full) or to read (empty), and exits with
//     status 3.
// Nothing here is seen by synthesis: the directory is only on the include path of that g++ run.
#ifndef ASYMAP_BOUNDED_STREAM_H
#define ASYMAP_BOUNDED_STREAM_H

#define ASYMAP_BOUNDED_STREAM_SHIM 1

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace asymap {
namespace bsim {

class channel;

// Global state of the simulation: one lock for every stream, so "all running processes are
// blocked" is decided on a consistent snapshot (no wake-up can be in flight when it is checked).
struct world {
    std::mutex m;
    long active = 0;   // dataflow processes that have started and not finished
    long blocked = 0;  // ... of which wait on a stream and have not been released
    std::set<channel*> channels;
};

inline world& the_world() {
    static world w;
    return w;
}

inline bool& in_process() {
    static thread_local bool p = false;
    return p;
}

inline long read_fifo_slack() {
    const char* s = std::getenv("ASYMAP_FIFO_SLACK");
    long v = s ? std::strtol(s, nullptr, 10) : 0;
    return v < 0 ? 0 : v;
}

// ASYMAP_FIFO_SLACK, read once (thread-safe initialization of a function-local static).
inline long fifo_slack() {
    static const long slack = read_fifo_slack();
    return slack;
}

// Type-independent part of a stream: what the watchdog reports.
class channel {
  public:
    std::string name;
    unsigned long nominal = 0;  // depth of the STREAM pragma (0: unbounded)
    unsigned long depth = 0;    // bound in this run: max(1, nominal - slack)
    unsigned long readers_waiting = 0, writers_waiting = 0;
    unsigned long generation = 0;  // bumped whenever waiters are released
    std::condition_variable cv;

    explicit channel(const std::string& n) : name(n) {
        world& w = the_world();
        std::lock_guard<std::mutex> lk(w.m);
        w.channels.insert(this);
    }
    virtual ~channel() {
        world& w = the_world();
        std::lock_guard<std::mutex> lk(w.m);
        w.channels.erase(this);
    }
    channel(const channel&) = delete;
    channel& operator=(const channel&) = delete;
};

// Called with the lock held whenever the running/blocked counts change.
inline void check_deadlock(world& w) {
    if (w.active <= 0 || w.blocked < w.active) return;
    std::vector<std::string> full, empty;
    for (channel* c : w.channels) {
        if (c->writers_waiting) {
            std::string d = std::to_string(c->depth);
            if (c->depth != c->nominal) d += " = " + std::to_string(c->nominal) + " - " + std::to_string(fifo_slack());
            full.push_back(c->name + " (depth " + d + ")");
        }
        if (c->readers_waiting) empty.push_back(c->name);
    }
    std::sort(full.begin(), full.end());  // deterministic report
    std::sort(empty.begin(), empty.end());
    std::string line = "DEADLOCK: " + std::to_string(w.blocked) + " of " + std::to_string(w.active) +
                       " dataflow processes blocked; full: ";
    for (size_t i = 0; i < full.size(); ++i) line += (i ? ", " : "") + full[i];
    if (full.empty()) line += "none";
    line += "; empty: ";
    for (size_t i = 0; i < empty.size(); ++i) line += (i ? ", " : "") + empty[i];
    if (empty.empty()) line += "none";
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
    std::_Exit(3);  // the other threads wait forever; nothing is left to clean up
}

// Block the calling process on channel c until another process releases it (lock held).
inline void wait_on(world& w, channel& c, std::unique_lock<std::mutex>& lk, bool writer) {
    ++(writer ? c.writers_waiting : c.readers_waiting);
    ++w.blocked;
    check_deadlock(w);
    unsigned long g = c.generation;
    c.cv.wait(lk, [&] { return c.generation != g; });
}

// Release the processes waiting on c for the other direction (lock held).
inline void release(world& w, channel& c, bool writers) {
    unsigned long& n = writers ? c.writers_waiting : c.readers_waiting;
    if (!n) return;
    w.blocked -= long(n);
    n = 0;
    ++c.generation;
    c.cv.notify_all();
}

// A DATAFLOW region: processes are collected first and started together, so the watchdog never
// sees a half-started region. A region run from inside a process (a nested DATAFLOW function)
// hands its caller's place in the running count to its children and takes it back, atomically,
// when the last child ends.
class region {
  public:
    void add(std::function<void()> f) { procs_.push_back(std::move(f)); }
    void run() {
        world& w = the_world();
        const bool nested = in_process();
        long remaining = long(procs_.size());
        {
            std::lock_guard<std::mutex> lk(w.m);
            w.active += remaining - (nested ? 1 : 0);
            check_deadlock(w);
        }
        std::vector<std::thread> ts;
        ts.reserve(procs_.size());
        for (auto& f : procs_) {
            ts.emplace_back([&w, &remaining, nested, &f] {
                in_process() = true;
                f();
                std::lock_guard<std::mutex> lk(w.m);
                --w.active;
                if (--remaining == 0 && nested) ++w.active;
                check_deadlock(w);
            });
        }
        for (auto& t : ts) t.join();
        procs_.clear();
    }

  private:
    std::vector<std::function<void()> > procs_;
};

}  // namespace bsim
}  // namespace asymap

namespace hls {

template <class T>
class stream : public asymap::bsim::channel {
  public:
    stream() : channel(next_name()) {}
    explicit stream(const char* n) : channel(n) {}
    explicit stream(const std::string& n) : channel(n) {}

    // Bound this stream to `depth` beats minus the run's slack (ASYMAP_SIM_DEPTH); an
    // engine-internal FIFO (`fixed`, ASYMAP_SIM_DEPTH_FIXED) keeps its designed depth.
    void set_depth(unsigned long d, bool fixed = false) {
        asymap::bsim::world& w = asymap::bsim::the_world();
        long s = fixed ? 0 : asymap::bsim::fifo_slack();
        std::lock_guard<std::mutex> lk(w.m);
        nominal = d;
        depth = d > (unsigned long)s + 1 ? d - (unsigned long)s : 1;
    }

    T read() {
        asymap::bsim::world& w = asymap::bsim::the_world();
        std::unique_lock<std::mutex> lk(w.m);
        if (q_.empty() && !asymap::bsim::in_process()) {
            std::printf("WARNING: hls::stream '%s' read while empty\n", name.c_str());
            return T();
        }
        while (q_.empty()) asymap::bsim::wait_on(w, *this, lk, false);
        T v = q_.front();
        q_.pop_front();
        asymap::bsim::release(w, *this, true);
        return v;
    }
    void read(T& v) { v = read(); }
    void operator>>(T& v) { v = read(); }

    void write(const T& v) {
        asymap::bsim::world& w = asymap::bsim::the_world();
        std::unique_lock<std::mutex> lk(w.m);
        if (asymap::bsim::in_process())
            while (depth && q_.size() >= depth) asymap::bsim::wait_on(w, *this, lk, true);
        q_.push_back(v);
        asymap::bsim::release(w, *this, false);
    }
    void operator<<(const T& v) { write(v); }

    bool read_nb(T& v) {
        asymap::bsim::world& w = asymap::bsim::the_world();
        std::lock_guard<std::mutex> lk(w.m);
        if (q_.empty()) return false;
        v = q_.front();
        q_.pop_front();
        asymap::bsim::release(w, *this, true);
        return true;
    }
    bool write_nb(const T& v) {
        asymap::bsim::world& w = asymap::bsim::the_world();
        std::lock_guard<std::mutex> lk(w.m);
        if (depth && q_.size() >= depth) return false;
        q_.push_back(v);
        asymap::bsim::release(w, *this, false);
        return true;
    }
    bool empty() {
        std::lock_guard<std::mutex> lk(asymap::bsim::the_world().m);
        return q_.empty();
    }
    bool full() {
        std::lock_guard<std::mutex> lk(asymap::bsim::the_world().m);
        return depth && q_.size() >= depth;
    }
    size_t size() {
        std::lock_guard<std::mutex> lk(asymap::bsim::the_world().m);
        return q_.size();
    }

  private:
    static std::string next_name() {
        static unsigned long n = 0;
        return "hls_stream_" + std::to_string(n++);
    }
    std::deque<T> q_;
};

}  // namespace hls

#endif
