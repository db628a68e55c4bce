"""The search's shortcuts (planner._tighten and what it calls) against their plain definitions.

* ``_Knapsack.cannot`` (a pooled-SLR relaxation) only says "does not fit" when enumerating every
  combination of raw options agrees;
* ``planner._reach_below`` (each port width and weight mode its own knapsack, the most promising
  first, skipping those that provably cannot pass the best, and reusing what a knapsack stopped
  short at for larger T) gives the reach of asking every knapsack every time, across targets
  that go down and up again; every exact reach it remembers is the knapsack's real reach;
* ``planner._on_path`` (the witness search on one chain of boards) is the exhaustive optimum over
  that chain's prefixes and cuts;
* ``_Knapsack.shared`` (answers by the layers' options, not their start) answers, gives up and spends
  work exactly as asking every start afresh does;
* ``_tighten`` with knapsacks that give up at once (so that its probes leave those segments out
  of their witness search) keeps its bound at or below the true optimum and its plan real.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from test_partition_exact import (
    _brute_slr, _mac_kind_options, _raw, _raw_planner, _started, random_instance,
)

from asymap.partition.exhaustive import brute_segment, exhaustive
from asymap.partition.order import evaluate
from asymap.partition.segments import Knapsack, candidate_cycles, dominance_filter, reach_slrs


@pytest.mark.parametrize("seed", range(30))
def test_cannot_only_refuses_what_enumeration_refuses(seed):
    rng = np.random.default_rng(7000 + seed)
    n = int(rng.integers(2, 6))
    slrs = int(rng.integers(1, 4))
    opts = _mac_kind_options(rng, n)
    per = np.array([rng.integers(8, 60), rng.integers(0, 6), rng.integers(0, 3), rng.integers(600, 4000)], np.int64)
    kept = [dominance_filter(c, r, per) for c, r in opts]
    if any(len(k) == 0 for k in kept):
        return
    ks = Knapsack([(c[k], r[k], k) for (c, r), k in zip(opts, kept)], per, 1500, None)
    ts = np.unique(np.concatenate([c for c, _ in opts]))
    refused = 0
    for t in ts[:: max(1, len(ts) // 12)]:
        for p, q in itertools.combinations(range(n + 1), 2):
            if ks.cannot(p, q, t, slrs):
                sub = [(c[c <= t], r[c <= t]) for c, r in opts[p:q]]
                assert any(len(c) == 0 for c, _ in sub) or _brute_slr(sub, per, slrs) is None, (seed, t, p, q)
                refused += 1
    assert seed % 5 or refused, "cannot never refused anything: the test tests nothing"


def _problem(chain, seed):
    from asymap.cluster.load import cluster_from_dict
    from asymap.partition.planner import build_problem

    rng = np.random.default_rng(300 + seed)
    steps = [("conv", int(rng.choice([16, 32])), int(rng.choice([1, 3])), 1) for _ in range(int(rng.integers(3, 6)))]
    g = chain(steps, input_shape=(16, 6, 6))
    boards = [{"name": "b0", "resources": {
        "dsp": int(rng.integers(60, 400)), "bram36": int(rng.integers(2, 20)), "uram": int(rng.integers(0, 4)),
        "lut": int(rng.integers(20000, 90000)), "clock_mhz": 200, "mem_gbps": float(rng.choice([0.5, 4.0])),
        "dsp_type": "DSP48E2", "slrs": int(rng.integers(1, 4))}}]
    return g, cluster_from_dict({"boards": boards, "links": []}), build_problem


@pytest.mark.parametrize("seed", range(8))
def test_reach_below_equals_asking_every_knapsack(chain, seed):
    from asymap.partition import planner
    from asymap.partition.costmodel import OFFCHIP, ONCHIP
    from asymap.partition.segments import Work

    g, c, build = _problem(chain, seed)
    pb, ref = build(g, c), build(g, c)  # ref: fresh knapsacks, asked plainly
    tt = pb.types[0]
    L = len(pb.infos)
    assert len(tt.widths) >= 2  # several port widths: several knapsacks per segment
    lo = float(np.min(tt.table.lower[np.isfinite(tt.table.lower)]))
    hi = float(np.max(tt.table.interval[np.isfinite(tt.table.interval)]))
    targets = list(np.geomspace(hi * 1.2, lo, 7)) + list(np.geomspace(lo * 1.1, hi, 4))  # down, then up
    clk = tt.spec.clock_hz
    for v in targets:
        tcyc = int(np.ceil(v * clk * (1 - 1e-12))) - 1
        for j in range(L):
            got = planner._reach_below(pb, 0, j, v, L, Work(10**9))
            want = j
            for w in range(len(tt.widths)):
                for md in (ONCHIP, OFFCHIP):
                    stop = L
                    if md == OFFCHIP:
                        while stop > j and planner._stream_seconds(ref, 0, j, stop) >= v * (1 - 1e-12):
                            stop -= 1
                    ks, _ = planner._knapsack(ref, 0, md, w)
                    want = max(want, reach_slrs(ks, j, stop, tcyc, tt.spec.slrs)[0] if stop > j else j)
            assert got[0] == want, (seed, v, j, got[0], want)
            if got[0] > j:  # the choice is real: each prefix's seconds below v
                assert len(got[2]) == got[0] - j and max(got[3]) < v
    # every reach remembered as exact (stopped short of the end asked) is the knapsack's reach
    for (j, w, md), seen in tt.reached.items():
        ks, _ = planner._knapsack(ref, 0, md, w)
        for tcyc, q, asked in seen:
            if q < asked:
                assert reach_slrs(ks, j, asked, tcyc, tt.spec.slrs)[0] == q, (seed, j, w, md, tcyc)


@pytest.mark.parametrize("seed", range(40))
def test_on_path_is_the_best_plan_on_that_chain(seed):
    from types import SimpleNamespace

    from asymap.partition import planner
    from asymap.partition.segments import segment_table

    L, n, types, wbytes, board_type, link, adj = random_instance(seed)
    ts = candidate_cycles([t[0] for t in types] + [t[1] for t in types])
    tabs = [segment_table(*types[t][:2], types[t][2], types[t][3], wbytes, types[t][4], ts).lower for t in board_type]
    rng = np.random.default_rng(seed)
    path = [int(rng.integers(0, n))]  # a random walk along the links, no board twice
    while True:
        nxt = [b for b in adj[path[-1]] if b not in path]
        if not nxt or rng.random() < 0.2:
            break
        path.append(int(rng.choice(nxt)))
    pb = SimpleNamespace(board_type=board_type, link=link, host=None)
    best = np.inf
    for m in range(1, len(path) + 1):
        for cuts in itertools.combinations(range(1, L), m - 1):
            best = min(best, evaluate(tabs, link, path[:m], [0, *cuts, L]))
    for ub in (np.inf, best * 1.01, best):
        got = planner._on_path(pb, path, ub, tabs)
        if best < ub:
            assert got.interval == best, (seed, ub, got.interval, best)
            assert got.path == path[: len(got.path)] and evaluate(tabs, link, got.path, got.cuts) == best
        else:
            assert not got.interval < ub


@pytest.mark.parametrize("chunk", range(2))
def test_tighten_stays_honest_when_knapsacks_give_up_at_once(chunk, monkeypatch):
    """Plenty of work in all, but every knapsack (probe, settle, retry) gives up after a few
    states: probes then leave those segments out of their witness search (planner.GAVE_UP_MASKS).
    Whatever is proven holds: the bound is at most the true optimum, the plan is real and no
    faster than it."""
    from asymap.partition import planner

    _raw_planner(monkeypatch)
    for name, value in (("PROBE_WORK", 6), ("SETTLE_WORK", 6), ("RETRY_WORK", 12)):
        monkeypatch.setattr(planner, name, value)
    gave_up = []
    settle = planner._settle

    def counted(*a, **k):
        got = settle(*a, **k)
        gave_up.append(not got[0])
        return got

    monkeypatch.setattr(planner, "_settle", counted)
    for seed in range(chunk * 50, (chunk + 1) * 50):
        (L, n, types, wbytes, board_type, link, adj), pb, res, lb = _started(seed)
        if res is None:
            continue
        res, bound = planner._tighten(pb, res, lb, n, 48, planner.EXACT_BOARDS, work=10**6)
        true, _, _ = exhaustive(
            lambda b, j, k: brute_segment(_raw(types[board_type[b]][0]), _raw(types[board_type[b]][1]),
                                          types[board_type[b]][2], types[board_type[b]][3], wbytes,
                                          types[board_type[b]][4], j, k), link, adj, L, n)
        assert bound <= true * (1 + 1e-12), (seed, bound, true)
        assert res.interval >= true * (1 - 1e-12), seed
        assert true * (1 - 1e-12) <= evaluate(pb.seg, link, res.path, res.cuts) <= res.interval * (1 + 1e-12), seed
    assert any(gave_up), "no knapsack gave up: the test tests nothing"


@pytest.mark.parametrize("seed", range(20))
def test_front_at_t_is_the_pareto_set_of_the_options_meeting_t(seed):
    """_Knapsack._at (the options meeting T with no dominator meeting T, from each option's
    fewest dominating cycles) equals _pareto over the options meeting T, in the same order,
    equal rows included (the first is kept)."""
    from asymap.partition.segments import _pareto

    rng = np.random.default_rng(500 + seed)
    n = int(rng.integers(1, 60))
    cyc = rng.integers(1, 30, size=n).astype(np.int64)
    res = rng.integers(0, 4, size=(n, 4)).astype(np.int64)  # small values: many equal and dominated rows
    ks = Knapsack([(cyc, res, np.arange(n))], np.full(4, 10**6, np.int64), 1500, None)
    for t in range(0, 32):
        ok = np.nonzero(cyc <= t)[0]
        want = ok[_pareto(res[ok])] if len(ok) else ok
        front, rows, least = ks._at(0, t)
        assert front.tolist() == want.tolist(), (seed, t)
        assert np.array_equal(rows, res[want])
        if len(want):
            assert np.array_equal(least, res[want].min(axis=0))


def _ask_all(ks, questions):
    """Each question (start, end, T, work or None) asked of ``ks`` in turn: (reach, choice) or
    "gave up", and the work left afterwards (None where it ran out or is not counted)."""
    from asymap.partition.segments import GiveUp, Work

    out = []
    for p, end, t, w in questions:
        ks.work = None if w is None else Work(w)
        try:
            got = ks.reach(p, end, t)
        except GiveUp:
            got = "gave up"
        out.append((got, None if ks.work is None or ks.work.left < 0 else ks.work.left))
    return out


@pytest.mark.parametrize("seed", range(24))
def test_shared_memo_answers_and_spends_as_asking_afresh(seed):
    """_Knapsack.shared (answers by the layers' options, not their positions: ResNets repeat
    their blocks) gives every reach, choice, give-up and work left that a knapsack asking every
    start afresh gives, over a chain that repeats a block of layers, with work budgets small
    enough to run out and state limits small enough to give up on; the reaches are the brute-force
    ones."""
    from asymap.partition.segments import LazyOptions

    rng = np.random.default_rng(9100 + seed)
    block = _mac_kind_options(rng, int(rng.integers(1, 4)))
    n = len(block) * int(rng.integers(2, 5))
    per = np.array([rng.integers(8, 60), rng.integers(0, 6), rng.integers(0, 3), rng.integers(600, 4000)], np.int64)
    kept = [dominance_filter(c, r, per) for c, r in block]
    if any(len(k) == 0 for k in kept):
        return
    shared = [(c[k], r[k], k) for (c, r), k in zip(block, kept)]  # one object per block layer
    limit = int(rng.choice([2, 1500]))
    ks = Knapsack(LazyOptions(lambda i: shared[i % len(block)], lambda i: i % len(block)), per, limit, None)
    plain = Knapsack(LazyOptions(lambda i: shared[i % len(block)]), per, limit, None)  # every layer its own
    ts = np.unique(np.concatenate([c for c, _, _ in shared]))
    questions = [(int(rng.integers(0, n)), n, int(rng.choice(ts)), None if rng.random() < 0.3 else int(rng.integers(1, 400)))
                 for _ in range(60)]
    questions = [(p, int(rng.integers(p + 1, n + 1)), t, w) for p, _, t, w in questions]
    questions += [(p + len(block), e + len(block), t, w) for p, e, t, w in questions if e + len(block) <= n]  # a block on
    got, want = _ask_all(ks, questions), _ask_all(plain, questions)
    assert got == want, seed
    assert len(ks.shared) < len(plain.shared) or seed % 6, "no question was shared: the test tests nothing"
    for (p, end, t, w), (ans, _) in zip(questions, got):
        if ans == "gave up":
            continue
        q, choice = ans
        assert all(shared[(p + i) % len(block)][0][o] <= t for i, o in enumerate(choice))
        assert np.all(np.sum([shared[(p + i) % len(block)][1][o] for i, o in enumerate(choice)], axis=0) <= per) \
            if choice else True
        sub = lambda a, b: [(c[c <= t], r[c <= t]) for c, r, _ in (shared[i % len(block)] for i in range(a, b))]
        if q < end:  # one more layer does not fit
            s = sub(p, q + 1)
            assert any(len(c) == 0 for c, _ in s) or _brute_slr(s, per, 1) is None, (seed, p, q, t)
