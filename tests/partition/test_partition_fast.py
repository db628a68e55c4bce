"""The compiled inner loops (partition/_fast.c, built by setup.py) against their numpy paths: the
outer search's transition (order.search), the Pareto scan (segments._pareto), the Lagrangian bound's
steps (segments.lagrange_bound) and the others give identical results on random instances, and
``asymap plan`` writes the same plan.json either way.

The module is optional (an install without a C compiler runs the numpy paths), but wherever the
tests run a compiler is present (scripts/test installs g++ before the project), so its absence
here is an install fault and fails the first test."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from asymap.partition import order, segments


def test_the_compiled_module_is_built():
    assert order._fast is not None and segments._fast is not None


def _instance(seed: int):
    """A random outer problem: n boards on a random connected topology, L layers, segment tables
    (upper triangle, some segments infeasible), link times per cut, and sometimes a host path."""
    rng = np.random.default_rng(seed)
    n, L = int(rng.integers(2, 7)), int(rng.integers(2, 30))
    seg = []
    for _ in range(n):
        s = np.full((L + 1, L + 1), np.inf)
        for j in range(L):
            w = rng.uniform(0.1, 1.0, L - j)
            s[j, j + 1:] = np.cumsum(w) * rng.uniform(0.5, 2.0)
            s[j, j + 1:][rng.random(L - j) < 0.1] = np.inf
        if rng.random() < 0.3:  # equal values: ties in every argmin
            s = np.round(s, 0)
        seg.append(s)
    if rng.random() < 0.3:  # boards sharing one table (as board types do)
        seg[-1] = seg[0]
    adj: list[list[int]] = [[] for _ in range(n)]
    link = {}
    for a, b in itertools.combinations(range(n), 2):
        if b == a + 1 or rng.random() < 0.4:
            v = rng.uniform(0.0, 3.0, L + 1)
            if rng.random() < 0.3:
                v = np.round(v, 0)
            link[(a, b)] = link[(b, a)] = v
            adj[a].append(b)
            adj[b].append(a)
    hx = {}
    if rng.random() < 0.4:
        hx = {"entry": rng.uniform(0, 2, n), "exit": rng.uniform(0, 2, n)}
    return n, L, seg, link, adj, hx


def _result(r: order.OrderResult):
    return (r.interval, r.path, r.cuts, r.exact, r.states, r.best_by_count)


@pytest.mark.parametrize("seed", range(200))
def test_search_compiled_equals_numpy(seed, monkeypatch):
    n, L, seg, link, adj, hx = _instance(seed)
    rng = np.random.default_rng(1000 + seed)
    kinds = [{}, {"beam": 2, "tau": float(rng.uniform(0.5, 3.0))},
             {"ub": float(rng.uniform(1.0, 6.0))}, {"beam": 1, "tau": 1.0, "exact_states": 3}]
    for max_k in sorted({1, 2, n}):
        for kw in kinds:
            fast = order.search(seg, link, adj, max_k, **kw, **hx)
            with monkeypatch.context() as m:
                m.setattr(order, "_fast", None)
                slow = order.search(seg, link, adj, max_k, **kw, **hx)
            assert _result(fast) == _result(slow), (seed, max_k, kw)


def _brute_pareto(points: np.ndarray) -> list[int]:
    """Rows no other row is <= everywhere, of equal rows the first (by index)."""
    keep = []
    for i, p in enumerate(points):
        if not any(np.all(q <= p) and (np.any(q < p) or j < i) for j, q in enumerate(points) if j != i):
            keep.append(i)
    return keep


@pytest.mark.parametrize("seed", range(60))
def test_pareto_compiled_equals_numpy_and_brute_force(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    n, d = int(rng.integers(0, 120)), int(rng.integers(1, 6))
    pts = rng.integers(0, int(rng.integers(2, 20)), size=(n, d)).astype(np.int64)
    fast = segments._pareto(pts)
    with monkeypatch.context() as m:
        m.setattr(segments, "_fast", None)
        slow = segments._pareto(pts, block=int(rng.integers(1, 64)))
    assert fast.dtype == slow.dtype == np.int64
    assert fast.tolist() == slow.tolist() == _brute_pareto(pts)


@pytest.mark.parametrize("cluster", ["example16", "mixed4", "u280x16"])
def test_plan_json_compiled_equals_numpy(cluster, tmp_path, monkeypatch):
    import onnx

    from asymap import cli
    from asymap.frontend.zoo import build_zoo_model

    model = tmp_path / "r18.onnx"
    onnx.save(build_zoo_model("resnet18", 32, 0.5), str(model))
    out = {}
    for fast in (True, False):
        with monkeypatch.context() as m:
            if not fast:
                m.setattr(order, "_fast", None)
                m.setattr(segments, "_fast", None)
            path = tmp_path / f"plan_{fast}.json"
            assert cli.main(["plan", str(model), cluster, "--quiet", "-o", str(path)]) == 0
            out[fast] = path.read_bytes()
    assert out[True] == out[False]


@pytest.mark.parametrize("model", [("resnet18", 32, 0.5), ("densenet121", 32, 0.25), ("inception", 64, 0.25),
                                   ("shufflenetv2", 32, 0.5)])
def test_live_across_from_one_sweep_equals_its_definition(model):
    """Graph.live_across's every-cut sweep (ir.Graph._live) against the definition, per cut."""
    from asymap.frontend.onnx_import import graph_from_model
    from asymap.frontend.zoo import build_zoo_model

    g = graph_from_model(build_zoo_model(*model), weights=False)
    for i in range(-1, len(g.layers)):
        live = [t for t, p in g.producer.items() if p <= i and g.last_use.get(t, -2) > i]
        assert g.live_across(i) == sorted(live, key=lambda t: (g.producer[t], t)), i
    assert g.live_across(len(g.layers)) == []  # (past the end: the definition, nothing crosses)


@pytest.mark.parametrize("seed", range(30))
def test_reach_packed_compiled_equals_numpy(seed, monkeypatch):
    from test_partition_tables_packed import _capped_pref, _packed

    rng = np.random.default_rng(seed)
    R = int(rng.integers(1, 6))
    budget = rng.integers(0, 1 << int(rng.integers(1, 64 // R - 1)), size=R).astype(np.int64)
    shifts = segments._packing(budget)
    step, _ = _capped_pref(rng, int(rng.integers(1, 30)), int(rng.integers(1, 40)), budget)
    pref = _packed(step, budget, shifts)
    fast = segments._reach_packed(pref, budget)
    with monkeypatch.context() as m:
        m.setattr(segments, "_fast", None)
        slow = segments._reach_packed(pref, budget)
    assert fast.dtype == slow.dtype and np.array_equal(fast, slow)


@pytest.mark.parametrize("seed", range(30))
def test_prefix_rows_compiled_equals_numpy(seed, monkeypatch):
    """int32 and int64 rows and uint64 words (sums wrapping modulo 2**64)."""
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(0, 40)), int(rng.integers(1, 6))
    shape = (m, int(rng.integers(1, 9))) + ((int(rng.integers(1, 5)),) if seed % 2 else ())
    dt = [np.int32, np.int64, np.uint64][seed % 3]
    hi = 1 << 20 if dt == np.int32 else 1 << 62
    rows = rng.integers(0, hi, size=shape, dtype=np.int64).astype(dt)
    cols = rng.integers(0, m, size=n).tolist()
    out = {}
    for fast in (True, False):
        pref = np.empty((n + 1 + seed % 2,) + shape[1:], dt)
        pref[0] = rng.integers(0, 100, size=shape[1:], dtype=np.int64).astype(dt) if fast else out[True][0]
        with monkeypatch.context() as mp:
            if not fast:
                mp.setattr(segments, "_fast", None)
            segments._prefix_rows(rows, cols, pref)
        out[fast] = pref
    assert np.array_equal(out[True][: n + 1], out[False][: n + 1])


@pytest.mark.parametrize("seed", range(40))
def test_dominated_at_compiled_equals_numpy(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    cyc = rng.integers(1, 50, size=n).astype(np.int64)
    res = rng.integers(0, int(rng.integers(2, 8)), size=(n, 4)).astype(np.int64)
    ks = segments.Knapsack([(cyc, res, None)], np.array([100, 100, 100, 100]), 100, None)
    fast = ks._dominated_at(cyc, res)
    with monkeypatch.context() as m:
        m.setattr(segments, "_fast", None)
        ks.dominated.clear()
        slow = ks._dominated_at(cyc, res)
    assert np.array_equal(fast, slow)


@pytest.mark.parametrize("seed", range(40))
def test_first_monotone_and_compose_compiled_equal_numpy(seed, monkeypatch):
    """Prefix sums whose rows only shrink as T grows (int32 and int64), over 1-3 SLRs, with and
    without the split relaxation."""
    rng = np.random.default_rng(seed)
    n, nt, R = int(rng.integers(1, 25)), int(rng.integers(1, 30)), int(rng.integers(1, 6))
    budget = rng.integers(0, 40, size=R).astype(np.int64)
    start = rng.integers(0, 30, size=(n, 1, R))
    step = np.maximum(start - np.cumsum(rng.integers(0, 4, size=(n, nt, R)), axis=1), 0)  # shrinks with T
    dt = np.int32 if seed % 2 else np.int64
    pref = np.zeros((n + 1, nt, R), dt)
    np.cumsum(np.minimum(step, budget + 1), axis=0, out=pref[1:])
    slrs, split = int(rng.integers(1, 4)), bool(seed % 3 == 0)
    fast = segments._first_monotone(pref, budget, slrs, split)
    with monkeypatch.context() as m:
        m.setattr(segments, "_fast", None)
        slow = segments._first_monotone(pref, budget, slrs, split)
    assert np.array_equal(fast, slow)


@pytest.mark.parametrize("seed", range(20))
def test_step_column_minima_equal_numpy_argmin(seed):
    """Every column of one compiled transition against np.maximum(...).argmin() (the first
    minimum), on whole-number tables with many ties and infinities (the SSE2 two-pass search
    and the scalar tail both), and its value (the least of f[1:L])."""
    rng = np.random.default_rng(seed)
    for _ in range(50):
        L = int(rng.integers(2, 60))
        tr = rng.integers(0, 6, size=(L + 1, L + 1)).astype(float)
        tr[rng.random(tr.shape) < 0.2] = np.inf
        fin, lk = (rng.integers(0, 6, size=L - 1).astype(float) for _ in range(2))
        fin[rng.random(L - 1) < 0.1] = np.inf
        first, last = np.zeros(L + 1, np.int64), np.full(L + 1, L, np.int64)
        f, pj, par = np.empty(L + 1), np.empty(L + 1, np.int64), np.empty(L + 1, np.int64)
        ub = float(rng.integers(1, 7))
        got = order._fast.step(fin, lk, ub, first, last, np.ascontiguousarray(tr), f, pj, par, 3, False)
        a = np.maximum(fin, lk)
        low = a < ub
        assert (got is not None) == bool(low.any())
        if got is None:
            continue
        assert got == f[1:L].min()  # (the least of f[1:L]: order.search's per-state test)
        r0, r1 = int(low.argmax()), L - 1 - int(low[::-1].argmax())
        a = np.where(low, a, np.inf)[r0:r1]
        for c in range(L + 1):
            m = np.maximum(tr[c, r0 + 1 : r1 + 1], a)
            assert (f[c], pj[c], par[c]) == (m[m.argmin()], m.argmin() + r0 + 1, 3)


def _repair_case(seed: int):
    """Whole-number options with infinite padding and ties, a budget that a few switches from
    each layer's heaviest real option can (mostly) meet."""
    rng = np.random.default_rng(seed)
    n, K = int(rng.integers(1, 12)), int(rng.integers(1, 9))
    big = rng.integers(0, 8, size=(n, K, 4)).astype(np.float64)
    big[:, 1:][rng.random((n, K - 1)) < 0.2] = np.inf  # (padding rows; option 0 always real)
    total = rng.integers(2 * n, 5 * n + 2, size=4).astype(np.float64)
    arg = np.argmax(np.where(np.isfinite(big).all(axis=2), big.sum(axis=2), -1), axis=1)
    return big, arg, total


@pytest.mark.parametrize("seed", range(60))
def test_repair_compiled_equals_numpy(seed, monkeypatch):
    """segments._repair's steps (the least summed excess, its first position)."""
    big, arg, total = _repair_case(seed)
    fast = segments._repair(big, arg, total)
    with monkeypatch.context() as m:
        m.setattr(segments, "_fast", None)
        slow = segments._repair(big, arg, total)
    assert fast == slow


def test_repair_cases_mostly_reach_a_witness():
    """(the cases above exercise the switches: most end at a witness, not a give-up)"""
    got = [segments._repair(*_repair_case(seed)) for seed in range(60)]
    assert sum(g is not None for g in got) >= 30


def _lagrange_case(seed: int):
    """Scaled options [n, K, R] (R = 0..4 kinds), some infinite padding rows, ties, and multipliers."""
    rng = np.random.default_rng(seed)
    n, K, R = int(rng.integers(1, 25)), int(rng.integers(1, 20)), int(rng.integers(0, 5))
    scaled = rng.uniform(0.0, 1.0, (n, K, R))
    if seed % 3 == 0:  # whole numbers / budgets: equal weighted sums, ties in every argmin
        scaled = rng.integers(0, 4, (n, K, R)) / rng.integers(5, 40, R)
    scaled[:, 1:][rng.random((n, K - 1)) < 0.2] = np.inf
    p = rng.dirichlet(np.ones(R)) if R else np.zeros(0)
    return scaled, p


@pytest.mark.parametrize("seed", range(200))
def test_lagrange_step_and_update_compiled_equal_numpy(seed):
    """segments.lagrange_bound's multiplier step (weighted sums left to right, first minima, g and
    the subgradient) and update (C library exp, normalized left to right): the same doubles."""
    scaled, p = _lagrange_case(seed)
    n, K, R = scaled.shape
    g, arg, sub = segments._lagrange_step(scaled, p)
    arg2, sub2 = np.empty(n, np.int64), np.empty(R)
    g2 = segments._fast.lagrange_step(np.ascontiguousarray(scaled), p, arg2, sub2, n, K, R)
    assert (g, arg.tolist(), sub.tolist()) == (g2, arg2.tolist(), sub2.tolist())
    for it in (0, 1, 7, 29):
        p2 = p.copy()
        segments._fast.lagrange_update(p2, sub, R, it)
        assert segments._lagrange_update(p, sub, it).tolist() == p2.tolist()


def _knapsack_case(seed: int):
    """Whole-number option rows of n layers (ragged menus) and a budget near what they need."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 12))
    menus = [rng.integers(0, 50, (int(rng.integers(1, 9)), 4)).astype(np.int64) for _ in range(n)]
    need = np.sum([m.min(axis=0) for m in menus], axis=0)
    budget = (need * rng.uniform(1.0, 3.0, 4)).astype(np.int64) + 1
    if seed % 5 == 0:
        budget[int(rng.integers(0, 4))] = 0  # a kind left out
    return menus, budget


@pytest.mark.parametrize("seed", range(80))
def test_lagrange_bound_compiled_equals_numpy(seed, monkeypatch):
    """The whole bound (value, multipliers, witness) with and without the compiled steps, on one
    and on several SLRs, with and without looking for a witness."""
    menus, budget = _knapsack_case(seed)
    for slrs, find in ((1, True), (1, False), (2, True), (3, False)):
        fast = segments.lagrange_bound(menus, budget, slrs, find=find)
        with monkeypatch.context() as m:
            m.setattr(segments, "_fast", None)
            slow = segments.lagrange_bound(menus, budget, slrs, find=find)
        assert (fast[0], fast[1].tolist(), fast[2]) == (slow[0], slow[1].tolist(), slow[2])


def test_lagrange_cases_prove_and_find_both():
    """(the cases above exercise both ends: some bounds prove that nothing fits, some find a witness)"""
    got = [segments.lagrange_bound(*_knapsack_case(seed), 1) for seed in range(80)]
    assert sum(g > 1e-9 for g, _, _ in got) >= 20 and sum(w is not None for _, _, w in got) >= 20


@pytest.mark.parametrize("seed", range(30))
def test_next_slr_compiled_equals_numpy(seed):
    """min_feasible_Ts' SLR composition step: one[min(reach + plus, n1 - 1), t] per (j, t), as
    the numpy path's take of the flat table."""
    rng = np.random.default_rng(seed)
    n1, nt = int(rng.integers(1, 40)), int(rng.integers(0, 50))
    one = np.maximum(np.sort(rng.integers(0, n1, (n1, nt)), axis=0), np.arange(n1)[:, None])
    reach = one if seed % 2 else np.maximum(np.sort(rng.integers(0, n1, (n1, nt)), axis=0), np.arange(n1)[:, None])
    for plus in (0, 1):
        want = np.take(one.ravel(), np.minimum(reach + plus, n1 - 1) * nt + np.arange(nt))
        got = np.empty_like(one)
        segments._fast.next_slr(one, np.ascontiguousarray(reach), got, n1, nt, plus)
        assert got.tolist() == want.reshape(n1, nt).tolist()


@pytest.mark.parametrize("board", ["u250", "u280", "vcu118"])
def test_min_feasible_ts_compiled_equals_numpy_on_several_slrs(board, monkeypatch):
    """The segment tables of a multi-SLR board (each extra SLR composed by next_slr), with and
    without the compiled module, lane-split relaxation included."""
    from asymap.cluster.boards import all_board_specs
    from asymap.frontend.onnx_import import graph_from_model
    from asymap.frontend.zoo import build_zoo_model
    from asymap.partition import costmodel as cm

    spec = next(s for s in all_board_specs() if board in s.name.lower())
    infos = cm.layer_infos(graph_from_model(build_zoo_model("resnet18", 32, 0.5), weights=False))
    menus = cm.board_menus(infos, spec, cm.ONCHIP)
    budget = cm.budget(spec, 0.8) // max(1, spec.slrs)
    ts = np.unique(np.concatenate([m.cycles for m in menus] + [m.lo_cycles for m in menus]))
    calls = [(menus, ts, False), (menus, ts, True, True)]
    fast = segments.min_feasible_Ts(calls, budget, spec.slrs)
    with monkeypatch.context() as m:
        m.setattr(segments, "_fast", None)
        slow = segments.min_feasible_Ts(calls, budget, spec.slrs)
    assert spec.slrs > 1
    for a, b in zip(fast, slow):
        assert a.tolist() == b.tolist()


@pytest.mark.parametrize("seed", range(30))
def test_band_compiled_equals_numpy(seed, monkeypatch):
    """order._band: per row the first and last finite entry within the threshold (none: L + 1, -1)."""
    rng = np.random.default_rng(seed)
    L = int(rng.integers(1, 40))
    s = np.round(rng.uniform(0, 5, (L + 1, L + 1)), 0)
    s[rng.random(s.shape) < 0.3] = np.inf
    for thr in (0.0, 2.0, 4.5, np.inf):
        fast = order._band(s, thr, {}, L)
        with monkeypatch.context() as m:
            m.setattr(order, "_fast", None)
            slow = order._band(s, thr, {}, L)
        assert [a.tolist() for a in fast] == [a.tolist() for a in slow]
