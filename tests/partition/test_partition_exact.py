"""Proof of optimality on small instances: the DP equals an exhaustive search exactly.

Each random instance has <= 12 layers, <= 4 boards of random types (random budgets, clocks,
memory bandwidth), random link speeds and latencies on a random connected topology, and random
factor options (turned into the cost model's menus). The exhaustive search enumerates every path
of boards and every cut; the inner solve is checked against brute force over every combination of
the *raw* per-layer options: the achievable table is never better than it, the relaxation never
worse, and ``exact_segment`` equals it.
"""

from __future__ import annotations

import numpy as np
import pytest

from asymap.partition.bounds import lower_bounds
from types import SimpleNamespace

from asymap.partition.costmodel import pack_slrs, raw_menu
from asymap.partition.exhaustive import brute_segment, exhaustive
from asymap.partition.order import evaluate, search
from asymap.partition.segments import candidate_cycles, exact_segment, segment_table

N_INSTANCES = 200
CHUNKS = 4


def random_instance(seed: int):
    rng = np.random.default_rng(seed)
    L = int(rng.integers(2, 13))
    n = int(rng.integers(1, 5))
    ntypes = int(rng.integers(1, n + 1))
    wts = np.ones(4)

    def menus():
        out = []
        for _ in range(L):
            k = int(rng.integers(1, 4))
            cyc = rng.integers(10, 200, size=k) * rng.integers(1, 4)
            res = rng.integers(0, 40, size=(k, 4))
            m = raw_menu(cyc.astype(np.int64), res.astype(np.int64), wts)
            m.raw = SimpleNamespace(cycles=cyc.astype(np.int64), res=res.astype(np.int64))
            out.append(m)
        return out

    types = []
    for _ in range(ntypes):
        on, off = menus(), menus()
        bud = rng.integers(20, 200, size=4).astype(np.int64)
        clock = float(rng.choice([100e6, 200e6, 250e6, 300e6]))
        mem = float(rng.choice([2e9, 17e9, 77e9])) * 1e-5  # scaled so streaming sometimes binds
        types.append((on, off, bud, clock, mem))
    wbytes = rng.integers(0, 2000, size=L).astype(np.float64)
    board_type = [int(rng.integers(0, ntypes)) for _ in range(n)]
    # random connected topology: a random spanning tree plus extra edges
    edges = set()
    perm = rng.permutation(n)
    for i in range(1, n):
        a, b = int(perm[i]), int(perm[rng.integers(0, i)])
        edges.add((min(a, b), max(a, b)))
    for a in range(n):
        for b in range(a + 1, n):
            if rng.random() < 0.3:
                edges.add((a, b))
    cut_bytes = rng.integers(0, 5000, size=L + 1).astype(np.float64)
    link, adj = {}, [[] for _ in range(n)]
    for a, b in sorted(edges):
        gbps = float(rng.choice([1, 10, 25, 100]))
        lat = float(rng.integers(0, 3)) * 1e-7
        v = cut_bytes * 8 / (gbps * 1e9) * 1e3 + lat  # scaled so links sometimes bind
        link[(a, b)] = link[(b, a)] = v
        adj[a].append(b)
        adj[b].append(a)
    return L, n, types, wbytes, board_type, link, adj


def solve_dp(L, n, types, wbytes, board_type, link, adj, beam=None, lower=False):
    ts = candidate_cycles([t[0] for t in types] + [t[1] for t in types])
    full = [segment_table(on, off, bud, clock, wbytes, mem, ts) for on, off, bud, clock, mem in types]
    tables = [f.lower if lower else f.interval for f in full]
    seg = [tables[t] for t in board_type]
    return search(seg, link, adj, n, beam=beam, tau=0.0), seg, tables


def _raw(menus):
    return [m.raw for m in menus]


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_dp_equals_exhaustive_on_random_instances(chunk):
    per = N_INSTANCES // CHUNKS
    feasible = 0
    for seed in range(chunk * per, (chunk + 1) * per):
        L, n, types, wbytes, board_type, link, adj = random_instance(seed)
        res, seg, tables = solve_dp(L, n, types, wbytes, board_type, link, adj)

        def seg_fn(b, j, k):  # the outer search is exact over the achievable segment table
            return tables[board_type[b]][j, k]

        # the achievable table is never better than brute force over the raw options, the
        # relaxation never worse; the outer search is exact over the achievable table
        _, _, lows = solve_dp(L, n, types, wbytes, board_type, link, adj, lower=True)
        for t in range(len(types)):
            on, off, bud, clock, mem = types[t]
            for j in range(L):
                for k in range(j + 1, L + 1):
                    raw = brute_segment(_raw(on), _raw(off), bud, clock, wbytes, mem, j, k)
                    assert lows[t][j, k] <= raw <= tables[t][j, k], (seed, t, j, k)
        ex, path, cuts = exhaustive(seg_fn, link, adj, L, n)
        assert res.interval == ex, (seed, res.interval, ex, path, cuts)
        assert res.exact
        if np.isfinite(ex):
            feasible += 1
            assert evaluate(seg, link, res.path, res.cuts) == res.interval
            assert len(set(res.path)) == len(res.path)
            for a, b in zip(res.path, res.path[1:]):
                assert b in adj[a], "consecutive boards must be linked"
            counts = [board_type.count(t) for t in range(len(types))]
            lmin = np.min(np.stack(list(link.values())), axis=0) if link else np.full(L + 1, np.inf)
            lb = lower_bounds(tables, counts, lmin, n)[-1]
            assert lb <= res.interval
            beam, _, _ = solve_dp(L, n, types, wbytes, board_type, link, adj, beam=1)
            assert beam.interval >= res.interval
    assert feasible >= per // 3, "too few feasible instances: the generator no longer tests anything"


@pytest.mark.parametrize("seed", range(20))
def test_beam_is_bounded_by_the_relaxation(seed):
    """Heuristic (beam) results are never below the exact optimum, and the relaxation's lower bound
    is never above it: the reported gap bound is a real bound."""
    L, n, types, wbytes, board_type, link, adj = random_instance(1000 + seed)
    exact, _, tables = solve_dp(L, n, types, wbytes, board_type, link, adj)
    beam, _, _ = solve_dp(L, n, types, wbytes, board_type, link, adj, beam=1)
    counts = [board_type.count(t) for t in range(len(types))]
    lmin = np.min(np.stack(list(link.values())), axis=0) if link else np.full(L + 1, np.inf)
    lbs = lower_bounds(tables, counts, lmin, n)
    assert all(a >= b for a, b in zip(lbs, lbs[1:])), "more boards never raise the bound"
    assert lbs[-1] <= exact.interval <= beam.interval
    if not beam.exact and np.isfinite(beam.interval):
        assert (beam.interval - lbs[-1]) / lbs[-1] >= (beam.interval - exact.interval) / lbs[-1]


def test_plan_reports_heuristic_honestly(chain):
    """Force the beam on a 4-board cluster: optimal/gap_bound must match the bound it proves."""
    from asymap.cluster.load import cluster_from_dict
    from asymap.partition.planner import plan

    g = chain([("conv", 16, 3, 1), ("conv", 16, 3, 1), ("add", 2), ("conv", 32, 3, 2), ("conv", 32, 3, 1),
               ("add", 2), ("conv", 32, 3, 1), ("conv", 32, 3, 1), ("gap",), ("fc", 10)], input_shape=(16, 16, 16))
    # DSPs include the requantization multipliers (4 per PE, 4 per add lane)
    boards = [{"name": f"b{i}", "resources": {"dsp": 48 * (1 + i % 3), "bram36": 8, "uram": 0, "lut": 30000,
                                              "clock_mhz": 100 + 50 * i, "mem_gbps": 1}} for i in range(8)]
    links = [{"a": f"b{i}", "b": f"b{(i + 1) % 8}", "gbps": 1 + 9 * (i % 2)} for i in range(8)]
    c = cluster_from_dict({"boards": boards, "links": links + [{"a": "b0", "b": "b2", "gbps": 5}]})
    exact = plan(g, c)
    heur = plan(g, c, beam=1, exact_boards=1, sweep=True)
    assert exact.search["method"] == "exact-subset-dp"
    # optimal only when proven: the relaxed inner table's exact outer optimum meets the plan
    assert exact.optimal == (exact.interval_s <= exact.lower_bound_s * (1 + 1e-12))
    assert exact.lower_bound_s <= exact.interval_s
    assert heur.interval_s >= exact.interval_s >= heur.lower_bound_s
    assert len(exact.boards) >= 3
    if heur.search["method"] == "exact-subset-dp":  # the widened beam dropped nothing: exact after all
        assert heur.interval_s == pytest.approx(exact.interval_s, rel=1e-12)
    else:
        assert heur.search["method"] == "beam-1"
    assert heur.gap_bound == pytest.approx((heur.interval_s - heur.lower_bound_s) / heur.lower_bound_s)
    assert heur.optimal == (heur.interval_s <= heur.lower_bound_s)  # proven only through the bound
    for row in heur.sweep:
        if row["interval_s"] is not None:
            assert row["lower_bound_s"] <= row["interval_s"]


@pytest.mark.parametrize("seed", range(40))
def test_exact_segment_equals_brute_force(seed):
    """The exact inner solve (Pareto DP over the raw options, every resource, SLR packing) equals
    enumerating every combination of options; the achievable and relaxed menus bracket it."""
    rng = np.random.default_rng(5000 + seed)
    n = int(rng.integers(1, 6))
    slrs = int(rng.integers(1, 3))
    opts = []
    for _ in range(n):
        k = int(rng.integers(1, 5))
        opts.append((rng.integers(10, 100, size=k).astype(np.int64), rng.integers(0, 30, size=(k, 4)).astype(np.int64)))
    bud = rng.integers(20, 80, size=4).astype(np.int64)
    best = None
    import itertools
    for combo in itertools.product(*[range(len(c)) for c, _ in opts]):
        res = [opts[i][1][o] for i, o in enumerate(combo)]
        # contiguous packing into slrs bins, greedily (optimal for contiguous bins)
        if pack_slrs(res, bud, slrs) is None:
            continue
        t = max(int(opts[i][0][o]) for i, o in enumerate(combo))
        best = t if best is None else min(best, t)
    got = exact_segment(opts, bud, slrs)
    assert (got[0] if got else None) == best
    if got:
        t, choice = got
        assert max(int(opts[i][0][o]) for i, o in enumerate(choice)) <= t
        assert pack_slrs([opts[i][1][o] for i, o in enumerate(choice)], bud, slrs) is not None
    # the segment table's two rows bracket the exact optimum
    menus = [raw_menu(c, r, np.ones(4)) for c, r in opts]
    ts = candidate_cycles([menus])
    tab = segment_table(menus, menus, bud, 1.0, np.zeros(n), 1.0, ts, slrs)
    exact = float(best) if best is not None else np.inf
    assert tab.lower[0, n] <= exact <= tab.interval[0, n]


@pytest.mark.parametrize("dsp,bram", [(40, 6), (24, 4), (64, 3)])
def test_plan_bound_brackets_the_true_optimum_on_real_layers(chain, dsp, bram):
    """One board, real layers: brute force over every raw factor combination (both weight modes)
    is the true optimum; the plan's lower bound (relaxed table, tightened by exact segments) never
    exceeds it, the plan never beats it, and "optimal" is claimed only when they meet."""
    from asymap.cluster.load import cluster_from_dict
    from asymap.partition.costmodel import OFFCHIP, ONCHIP, mac_rows, option_resources, streamed_bytes
    from asymap.partition.planner import build_problem, plan

    g = chain([("conv", 8, 3, 1), ("conv", 8, 3, 1), ("conv", 8, 1, 1)], input_shape=(8, 8, 8))
    res = {"dsp": dsp, "bram36": bram, "uram": 0, "lut": 20000, "clock_mhz": 100, "mem_gbps": 1}
    c = cluster_from_dict({"boards": [{"name": "a", "resources": res}], "links": []})
    p = plan(g, c)
    pb = build_problem(g, c)
    spec, bud = pb.types[0].spec, pb.types[0].budget
    raw = {}
    for md in (ONCHIP, OFFCHIP):
        raw[md] = []
        for info in pb.infos:
            m = md if info.streams else ONCHIP
            cyc = info.options.cycles_off if m == OFFCHIP else info.options.cycles
            rows, kinds = mac_rows(info, spec)  # every (option, MAC kind) pair
            raw[md].append(SimpleNamespace(cycles=cyc[rows], res=option_resources(info, spec, m, rows, kinds)))
    wb = streamed_bytes(pb.infos)
    true = brute_segment(raw[ONCHIP], raw[OFFCHIP], bud, spec.clock_hz, wb, spec.mem_gbps * 1e9, 0, len(pb.infos))
    assert np.isfinite(true)
    assert p.lower_bound_s <= true * (1 + 1e-12)
    assert p.interval_s >= true * (1 - 1e-12)
    if p.optimal:
        assert p.interval_s == pytest.approx(true, rel=1e-12)


def _exact_against_brute(opts, per, slrs: int, seed):
    """exact_segment's interval equals brute force's, and its choice meets it and packs the SLRs:
    (exact_segment's answer, brute force's interval)."""
    want = _brute_slr(opts, per, slrs)
    got = exact_segment(opts, per, slrs)
    assert (got[0] if got else None) == want, (seed, got, want)
    if got:
        t, choice = got
        assert max(int(opts[i][0][o]) for i, o in enumerate(choice)) <= t
        assert pack_slrs([opts[i][1][o] for i, o in enumerate(choice)], per, slrs) is not None
    return got, want


def _brute_slr(opts, bud, slrs):
    """Best worst-case cycles over every combination of raw options that packs into the SLRs in
    chain order (costmodel.pack_slrs), by plain enumeration; None if none fits."""

    cyc = [np.asarray(c) for c, _ in opts]
    res = [np.asarray(r) for _, r in opts]
    grid = np.stack([g.ravel() for g in np.meshgrid(*[np.arange(len(c)) for c in cyc], indexing="ij")], axis=1)
    worst = np.max([cyc[i][grid[:, i]] for i in range(len(cyc))], axis=0)
    tot = np.sum([res[i][grid[:, i]] for i in range(len(res))], axis=0)
    cand = np.nonzero(np.all(tot <= np.asarray(bud) * slrs, axis=1))[0]  # necessary, not sufficient
    for q in cand[np.argsort(worst[cand], kind="stable")]:
        if pack_slrs([res[i][o] for i, o in enumerate(grid[q])], bud, slrs) is not None:
            return int(worst[q])
    return None


def _mac_kind_options(rng, n):
    """Random layers shaped like the cost model's: (pe, simd) choices, each in the MAC kinds a
    DSP48E2 board offers (packed: half the DSPs plus split LUTs, dsp, lut: 85 LUTs a multiplier),
    with weight memories in BRAM or URAM by depth."""
    from asymap.partition.costmodel import DSP1, LUTMUL, PACKED, mac_cost

    opts = []
    for _ in range(n):
        c_in, c_out = int(rng.choice([2, 4, 6])), int(rng.choice([2, 4, 8]))
        work = int(rng.integers(20, 200)) * c_in * c_out
        cyc, res = [], []
        for pe in [d for d in range(1, c_out + 1) if c_out % d == 0]:
            for simd in [d for d in range(1, c_in + 1) if c_in % d == 0]:
                for kind in (PACKED, DSP1, LUTMUL):
                    if kind == PACKED and pe < 2:
                        continue
                    dsp, lut = mac_cost(pe, simd, kind)
                    depth = c_in * c_out // (pe * simd)
                    bram = int(np.ceil(pe * simd * 8 / 36)) if depth > 4 else 0
                    uram = 1 if depth > 8 and rng.random() < 0.5 else 0
                    cyc.append(work // (pe * simd) + 7)
                    res.append((int(dsp) + 4 * pe, bram if not uram else 0, uram, int(lut) + 300 + 12 * pe * simd))
        opts.append((np.array(cyc, np.int64), np.array(res, np.int64)))
    return opts


@pytest.mark.parametrize("seed", range(40))
def test_exact_segment_mac_kinds_and_slrs_equal_brute_force(seed):
    """Layers with three MAC kinds each (the DSP/LUT trade-off the relaxation is weakest on), on
    one to four SLRs: the exact solve equals enumerating every combination, its choice is real
    (meets the cycles, packs into the SLRs), and a search forced to drop states (tiny ``limit``)
    either still finds the optimum or gives up: it never answers wrongly."""

    rng = np.random.default_rng(7000 + seed)
    n = int(rng.integers(1, 5))
    slrs = int(rng.integers(1, 5))
    opts = _mac_kind_options(rng, n)
    per = np.array([rng.integers(8, 60), rng.integers(0, 6), rng.integers(0, 3), rng.integers(600, 4000)], np.int64)
    got, want = _exact_against_brute(opts, per, slrs, seed)
    if got:
        t, choice = got
        hi = exact_segment(opts, per, slrs, t_hi=int(max(c.max() for c, _ in opts)))
        assert hi is not None and hi[0] == t  # a (loose) achievable hint does not change the answer
    small = exact_segment(opts, per, slrs, limit=2)
    assert small is None or small[0] == want


def test_dominance_filter_keeps_every_undominated_option():
    """An option is dropped only if another is no slower and no larger in every kind (or it alone
    exceeds one SLR)."""
    from asymap.partition.segments import dominance_filter

    rng = np.random.default_rng(3)
    for _ in range(50):
        k = int(rng.integers(1, 30))
        cyc = rng.integers(1, 6, size=k).astype(np.int64)
        res = rng.integers(0, 5, size=(k, 4)).astype(np.int64)
        bud = np.array([4, 4, 4, 3], np.int64)
        kept = set(dominance_filter(cyc, res, bud).tolist())
        pts = np.hstack([cyc[:, None], res])
        for i in range(k):
            fits = bool(np.all(res[i] <= bud))
            dominated = any(np.all(pts[j] <= pts[i]) and (np.any(pts[j] < pts[i]) or (j in kept and j != i))
                            for j in range(k) if j != i and np.all(res[j] <= bud))
            assert (i in kept) == (fits and not dominated), (i, pts[i])


def test_lagrange_certificate_is_sound():
    """A positive Lagrangian value proves infeasibility: never on an instance brute force solves;
    a witness it returns always fits."""
    import itertools

    from asymap.partition.segments import lagrange_bound

    rng = np.random.default_rng(11)
    for _ in range(200):
        n = int(rng.integers(1, 5))
        menus = [rng.integers(0, 20, size=(int(rng.integers(1, 5)), 4)).astype(np.int64) for _ in range(n)]
        bud = rng.integers(5, 50, size=4).astype(np.int64)
        feasible = any(np.all(np.sum([menus[i][o] for i, o in enumerate(c)], axis=0) <= bud)
                       for c in itertools.product(*[range(len(m)) for m in menus]))
        g, w, witness = lagrange_bound(menus, bud, 1)
        if g > 1e-9:
            assert not feasible
        if witness is not None:
            assert np.all(np.sum([menus[i][o] for i, o in enumerate(witness)], axis=0) <= bud)


@pytest.mark.parametrize("seed", range(10))
def test_plan_equals_brute_force_on_random_real_chains(chain, seed):
    """Real layers (every option in every MAC kind, both weight modes) on 1-3 random boards, some
    with several SLRs and DSP48E2 packing: the true optimum is the exhaustive search over every
    path and cut with every segment solved by enumerating the raw options. The plan is never
    better than it (it is real), its lower bound never above it, "optimal" is claimed only when
    it meets it, and on these small instances it does meet it."""
    from asymap.cluster.load import cluster_from_dict
    from asymap.partition.costmodel import OFFCHIP, ONCHIP, mac_rows, option_resources, streamed_bytes
    from asymap.partition.planner import build_problem, plan

    rng = np.random.default_rng(900 + seed)
    steps = [("conv", int(rng.choice([2, 4])), int(rng.choice([1, 3])), 1) for _ in range(int(rng.integers(2, 4)))]
    g = chain(steps, input_shape=(2, 4, 4))
    n = int(rng.integers(1, 4))
    boards = []
    for i in range(n):
        boards.append({"name": f"b{i}", "resources": {
            "dsp": int(rng.integers(12, 60)), "bram36": int(rng.integers(0, 4)), "uram": int(rng.integers(0, 3)),
            "lut": int(rng.integers(1500, 9000)), "clock_mhz": int(rng.choice([100, 200, 300])), "mem_gbps": 1,
            "dsp_type": str(rng.choice(["DSP48E1", "DSP48E2"])), "slrs": int(rng.integers(1, 4))}})
    links = [{"a": f"b{i}", "b": f"b{i + 1}", "gbps": 10} for i in range(n - 1)]
    c = cluster_from_dict({"boards": boards, "links": links})
    try:
        p = plan(g, c)
    except Exception as exc:  # nothing fits: then brute force must agree
        p, err = None, exc
    pb = build_problem(g, c)
    L = len(pb.infos)
    memo = {}

    def seg_fn(b, j, k):
        t = pb.board_type[b]
        if (t, j, k) not in memo:
            spec, bud = pb.types[t].spec, pb.types[t].budget
            best = np.inf
            for md in (ONCHIP, OFFCHIP):
                opts = []
                for info in pb.infos[j:k]:
                    m = md if info.streams else ONCHIP
                    cyc = info.options.cycles_off if m == OFFCHIP else info.options.cycles
                    rows, kinds = mac_rows(info, spec)
                    opts.append((cyc[rows], option_resources(info, spec, m, rows, kinds)))
                got = _brute_slr(opts, bud, spec.slrs)
                if got is not None:
                    v = got / spec.clock_hz
                    if md == OFFCHIP:
                        v = max(v, streamed_bytes(pb.infos[j:k]).sum() / (spec.mem_gbps * 1e9))
                    best = min(best, v)
            memo[(t, j, k)] = best
        return memo[(t, j, k)]

    true, _, _ = exhaustive(seg_fn, pb.link, pb.adj, L, n)
    if p is None:
        assert not np.isfinite(true), err
        return
    assert p.interval_s >= true * (1 - 1e-9)
    assert p.lower_bound_s <= true * (1 + 1e-9)
    if p.optimal:
        assert p.interval_s == pytest.approx(true, rel=1e-9)
    assert p.optimal and p.interval_s == pytest.approx(true, rel=1e-9)
    for bp in p.boards:  # the expansion is real: every board within its SLR budgets
        assert all(used <= avail for used, avail in bp.resources.values()) or bp.slrs > 1


def _raw_planner(monkeypatch) -> None:
    """Make the planner's exact inner solve read a random instance's raw options (``pb.raw``)
    instead of a model's layer options, and its weight stream time from ``pb.wbytes``."""
    from asymap.partition import planner

    def layer_options(pb, t, md, i, w=0):
        m = pb.raw[t][md][i]
        return m.raw.cycles, m.raw.res, [(o, -1) for o in range(len(m.raw.cycles))]

    monkeypatch.setattr(planner, "_layer_options", layer_options)
    monkeypatch.setattr(planner, "_stream_seconds", lambda pb, t, j, k: float(np.sum(pb.wbytes[j:k])) / pb.raw[t][4])


def _instance_problem(L, n, types, wbytes, board_type, link, adj, ts) -> SimpleNamespace:
    """The planner's Problem for a random instance: fresh segment tables per board type (the
    exact solve tightens them in place)."""
    from asymap.partition import planner

    tts = []
    for on, off, bud, clock, mem in types:
        tab = segment_table(on, off, bud, clock, wbytes, mem, ts)
        tts.append(planner._TypeTables(SimpleNamespace(clock_hz=clock, slrs=1), bud, (on, off), tab))
    lmin = np.min(np.stack(list(link.values())), axis=0) if link else np.full(L + 1, np.inf)
    return SimpleNamespace(cluster=SimpleNamespace(boards=list(range(n))), host=None, types=tts,
                           board_type=board_type, seg=[tts[t].table.interval for t in board_type], link=link,
                           adj=adj, cut_link_min=lmin, raw=types, wbytes=wbytes)


def _problem(seed: int):
    """A random instance and its planner Problem (fresh tables)."""
    inst = L, n, types, wbytes, board_type, link, adj = random_instance(seed)
    ts = candidate_cycles([t[0] for t in types] + [t[1] for t in types])
    return inst, _instance_problem(L, n, types, wbytes, board_type, link, adj, ts)


def _started(seed: int):
    """A random instance, its planner Problem, the plan over its achievable table (None if that
    has none) and the relaxed bound: where ``planner._tighten`` starts."""
    from asymap.partition import planner

    inst, pb = _problem(seed)
    n = inst[1]
    lb = planner._relaxed_bound(pb, n)
    res = planner.solve_order(pb, n, lb)
    return inst, pb, (res if np.isfinite(res.interval) else None), lb


@pytest.mark.parametrize("chunk", range(4))
def test_tighten_reaches_the_raw_optimum_on_random_instances(chunk, monkeypatch):
    """The planner's lazy exact inner solve (planner._tighten) on the random instances above: it
    starts from the plan over the achievable table and the bound over the relaxed one, and must
    end at the true optimum (exhaustive search over paths and cuts, every segment by brute force
    over every raw option combination in both modes) with a bound that proves it."""
    from asymap.partition import planner

    _raw_planner(monkeypatch)
    per = N_INSTANCES // CHUNKS
    moved = 0
    for seed in range(chunk * per, (chunk + 1) * per):
        (L, n, types, wbytes, board_type, link, adj), pb, res, lb = _started(seed)
        if res is None:
            continue
        start = res.interval
        res, bound = planner._tighten(pb, res, lb, n, 48, planner.EXACT_BOARDS, work=10**9)
        true, _, _ = exhaustive(
            lambda b, j, k: brute_segment(_raw(types[board_type[b]][0]), _raw(types[board_type[b]][1]),
                                          types[board_type[b]][2], types[board_type[b]][3], wbytes,
                                          types[board_type[b]][4], j, k), link, adj, L, n)
        assert bound <= true * (1 + 1e-12), seed
        assert res.interval == pytest.approx(true, rel=1e-12), (seed, res.interval, true)
        assert bound >= res.interval * (1 - 1e-12), seed  # proven
        # the plan's segments are real: each within the exact (brute-force) value it is charged
        for i, b in enumerate(res.path):
            t, j, k = board_type[b], res.cuts[i], res.cuts[i + 1]
            assert pb.types[t].table.interval[j, k] >= brute_segment(
                _raw(types[t][0]), _raw(types[t][1]), types[t][2], types[t][3], wbytes, types[t][4], j, k) * (1 - 1e-12)
        moved += start > true * (1 + 1e-12)
    assert moved >= 1, "no instance where the achievable table alone misses the optimum: the test tests nothing"


def test_tightening_on_a_real_model_is_real_and_proven(tmp_path, monkeypatch):
    """A narrow ResNet-18 on edge4 (the achievable table alone left a 45 % gap): the plan with the
    exact inner solve is proven optimal, at least as fast as the one without it, and real: every
    board's interval is the max of its layers' cycles (or its weight stream), the cluster interval
    is the slowest stage, and each SLR of each board holds its layers within its budget."""
    import onnx

    from asymap.cluster.load import load_cluster
    from asymap.frontend.onnx_import import load_model
    from asymap.frontend.zoo import build_zoo_model
    from asymap.partition import planner
    from asymap.partition.costmodel import slr_budget

    path = tmp_path / "r18s.onnx"
    onnx.save(build_zoo_model("resnet18", 32, width_mult=0.5), str(path))
    g = load_model(path, weights=False)
    c = load_cluster("edge4")
    p = planner.plan(g, c)
    monkeypatch.setattr(planner, "REFINE_WORK", 0)
    before = planner.plan(g, c)
    assert p.optimal and p.gap_bound == 0.0
    assert p.interval_s < before.interval_s * (1 - 1e-6)  # the raw options beat the menus here
    assert p.lower_bound_s >= before.lower_bound_s
    for bp in p.boards:
        spec = next(b.spec for b in c.boards if b.name == bp.name)
        per = slr_budget(spec, p.util)
        for s_ in range(spec.slrs):
            use = np.sum([[ly.dsp, ly.bram36, ly.uram, ly.lut] for ly in bp.layers if ly.slr == s_] or [[0] * 4], axis=0)
            assert np.all(use <= per), (bp.name, s_, use, per)
        assert bp.interval_s >= max(ly.cycles for ly in bp.layers) / (spec.clock_mhz * 1e6) * (1 - 1e-12)
        assert bp.interval_s <= p.interval_s * (1 + 1e-12)


@pytest.mark.parametrize("seed", range(30))
def test_narrow_knapsack_passes_never_answer_wrongly(seed, monkeypatch):
    """The knapsack's iterative deepening (narrow DP passes first, segments.QUICK_LIMIT): with the
    first pass as narrow as one state, the exact solve still equals enumerating every combination
    (a narrow pass's path is a witness; its "none" counts only if it dropped nothing)."""
    from asymap.partition import segments

    monkeypatch.setattr(segments, "QUICK_LIMIT", 1)
    rng = np.random.default_rng(9000 + seed)
    n = int(rng.integers(2, 6))
    slrs = int(rng.integers(1, 3))
    opts = _mac_kind_options(rng, n)
    per = np.array([rng.integers(8, 60), rng.integers(0, 6), rng.integers(0, 3), rng.integers(600, 4000)], np.int64)
    got = exact_segment(opts, per, slrs)
    assert (got[0] if got else None) == _brute_slr(opts, per, slrs), seed


@pytest.mark.parametrize("seed", range(20))
def test_reach_one_slr_equals_a_scan(seed):
    """segments._reach_one_slr (two pointers over all candidate T at once) equals the plain
    definition: the largest k >= j whose prefix-sum difference stays within the budget in every
    column, including zero-cost layers, budgets of 0 and rows where everything fits."""
    from asymap.partition.segments import _reach_one_slr

    rng = np.random.default_rng(seed)
    nt, n, R = int(rng.integers(1, 7)), int(rng.integers(1, 12)), int(rng.integers(1, 5))
    step = rng.integers(0, 6, size=(nt, n, R)) * (rng.random((nt, n, R)) < 0.8)
    pref = np.zeros((nt, n + 1, R), np.int32)
    np.cumsum(step, axis=1, out=pref[:, 1:, :])
    budget = rng.integers(0, 12, size=R).astype(np.int64)
    got = _reach_one_slr(pref, budget)
    for t in range(nt):
        for j in range(n + 1):
            want = max(k for k in range(j, n + 1) if np.all(pref[t, k] - pref[t, j] <= budget))
            assert got[t, j] == want, (seed, t, j)


@pytest.mark.parametrize("seed", range(12))
def test_search_stays_exact_within_its_state_budget(seed):
    """order.search with a beam cuts only after ``exact_states`` states: on the random instances a
    beam of one state with a large state budget is the exact search (same interval, exact flag),
    and a beam that did cut is never better than exact."""
    L, n, types, wbytes, board_type, link, adj = random_instance(seed)
    ts = candidate_cycles([t[0] for t in types] + [t[1] for t in types])
    seg = [segment_table(*types[t][:2], types[t][2], types[t][3], wbytes, types[t][4], ts).interval
           for t in board_type]
    exact = search(seg, link, adj, n)
    wide = search(seg, link, adj, n, beam=1, exact_states=10**6)
    assert wide.exact and wide.interval == exact.interval
    cut = search(seg, link, adj, n, beam=1, exact_states=0)
    assert cut.interval >= exact.interval


@pytest.mark.parametrize("seed", range(10))
def test_band_is_the_first_and_last_end_within_the_threshold(seed):
    """order._band: per first layer, the first and last end whose (finite) segment value is at most
    the threshold, (L + 1, -1) where none is; memoized per matrix and threshold."""
    from asymap.partition.order import _band

    rng = np.random.default_rng(seed)
    L = int(rng.integers(1, 12))
    s = np.where(rng.random((L + 1, L + 1)) < 0.3, np.inf, rng.random((L + 1, L + 1)))
    memo: dict = {}
    for thr in (0.0, 0.2, 0.5, 0.99, np.inf):
        first, last = _band(s, thr, memo, L)
        for j in range(L + 1):
            ks = [k for k in range(L + 1) if s[j, k] <= thr and np.isfinite(s[j, k])]
            assert (first[j], last[j]) == ((ks[0], ks[-1]) if ks else (L + 1, -1)), (seed, thr, j)
        assert _band(s, thr, memo, L) is memo[(id(s), thr)]


@pytest.mark.parametrize("seed", range(60))
def test_search_below_ub_equals_the_unbounded_search(seed):
    """order.search with an upper bound (each transition computes only the cuts below ub and the
    ends whose segments can stay within it, order._band): whenever the optimum is below ub it
    finds the same interval as the unbounded search, and any plan it returns is real (its
    interval is what the tables charge for it)."""
    L, n, types, wbytes, board_type, link, adj = random_instance(seed)
    ts = candidate_cycles([t[0] for t in types] + [t[1] for t in types])
    seg = [segment_table(*types[t][:2], types[t][2], types[t][3], wbytes, types[t][4], ts).interval
           for t in board_type]
    for k in range(1, n + 1):
        free = search(seg, link, adj, k)
        if not np.isfinite(free.interval):
            continue
        for f in (0.5, 0.999, 1.0, 1.001, 1.05, 1.3, 4.0):
            ub = free.interval * f
            for beam, tau in ((None, 0.0), (1, free.interval * 1.2)):
                got = search(seg, link, adj, k, beam=beam, tau=tau, ub=ub, exact_states=10**6)
                if free.interval < ub:
                    assert got.interval == free.interval, (seed, k, f, beam)
                    for c, v in free.best_by_count.items():
                        if v < ub:
                            assert got.best_by_count[c] == v, (seed, k, f, beam, c)
                if np.isfinite(got.interval):
                    assert evaluate(seg, link, got.path, got.cuts) == got.interval, (seed, k, f, beam)
                    assert len(set(got.path)) == len(got.path) <= k


@pytest.mark.parametrize("chunk", range(2))
def test_tighten_bound_stays_honest_when_the_work_runs_out(chunk, monkeypatch):
    """The bisecting exact inner solve (planner._tighten) on small work budgets: whatever it
    proves before the work runs out, its bound never exceeds the true optimum (exhaustive search,
    brute-force segments) and its plan never beats it. (A search pruned by an upper bound returns
    plans above that bound; taking such a plan's interval as the lower tables' optimum once
    raised the bound past the optimum.)"""
    from asymap.partition import planner

    _raw_planner(monkeypatch)
    for seed in range(chunk * 50, (chunk + 1) * 50):
        L, n, types, wbytes, board_type, link, adj = random_instance(seed)
        ts = candidate_cycles([t[0] for t in types] + [t[1] for t in types])
        true, _, _ = exhaustive(
            lambda b, j, k: brute_segment(_raw(types[board_type[b]][0]), _raw(types[board_type[b]][1]),
                                          types[board_type[b]][2], types[board_type[b]][3], wbytes,
                                          types[board_type[b]][4], j, k), link, adj, L, n)
        for work in (0, 40, 400, 4000):
            pb = _instance_problem(L, n, types, wbytes, board_type, link, adj, ts)
            lb = planner._relaxed_bound(pb, n)
            res = planner.solve_order(pb, n, lb)
            if not np.isfinite(res.interval):
                continue
            res, bound = planner._tighten(pb, res, lb, n, 48, planner.EXACT_BOARDS, work=work)
            assert bound <= true * (1 + 1e-12), (seed, work, bound, true)
            assert res.interval >= true * (1 - 1e-12), (seed, work)
            # the plan is real: on the (tightened) achievable table it is no slower than reported
            real = evaluate(pb.seg, link, res.path, res.cuts)
            assert true * (1 - 1e-12) <= real <= res.interval * (1 + 1e-12), (seed, work)


def _brute_seg_fn(types, board_type, wbytes):
    """Board b's exact segment interval j..k-1 of a random instance (brute force, memoized per type)."""
    memo: dict = {}

    def seg_fn(b, j, k):
        t = board_type[b]
        if (t, j, k) not in memo:
            memo[(t, j, k)] = brute_segment(_raw(types[t][0]), _raw(types[t][1]), types[t][2], types[t][3],
                                            wbytes, types[t][4], j, k)
        return memo[(t, j, k)]

    return seg_fn


def test_search_proves_the_optimum_on_the_fewest_boards(monkeypatch):
    """planner._search on the random instances: the plan is the exhaustive optimum (every path and
    cut, every segment by brute force over the raw options), proven, and of the optimal plans one
    on the fewest boards (the step after the proof, within FEWER_WORK)."""
    from asymap.partition import planner

    _raw_planner(monkeypatch)
    fewer = 0
    for seed in range(60):
        (L, n, types, wbytes, board_type, link, adj), pb = _problem(seed)
        seg_fn = _brute_seg_fn(types, board_type, wbytes)
        start = planner.solve_order(pb, n, 0.0)
        if not np.isfinite(start.interval):  # (the exact solve starts from a plan of the achievable table)
            continue
        res, bound = planner._search(pb, n, planner._bounds(pb, n)[-1], 48, planner.EXACT_BOARDS)
        true = exhaustive(seg_fn, link, adj, L, n)[0]
        assert res.interval == pytest.approx(true, rel=1e-12) and bound >= res.interval * (1 - 1e-12), seed
        least = min(k for k in range(1, n + 1) if exhaustive(seg_fn, link, adj, L, k)[0] <= true * (1 + 1e-12))
        assert len(res.path) == least, (seed, res.path, least)
        fewer += len(res.path) < len(start.path)
    assert fewer >= 1, "no instance where the step to fewer boards mattered: the test tests nothing"


@pytest.mark.parametrize("work", [0, 400, 4000])
def test_sweep_rows_are_real_and_bounded(work, monkeypatch):
    """``--sweep`` rows (planner._sweep) on the random instances, with the rows' own exact solve
    given little work (SWEEP_WORK) and the plan's as much as it needs: every row's plan is real
    (on at most k boards, no faster than the exhaustive optimum on at most k boards) and its
    bound never above that optimum, however the work ran out; more boards never give a slower
    plan or a higher bound; rows at or above the plan's board count carry the plan and its proof."""
    from asymap.partition import planner

    _raw_planner(monkeypatch)
    monkeypatch.setattr(planner, "SWEEP_WORK", work)
    rows_checked = 0
    for seed in range(60):
        (L, n, types, wbytes, board_type, link, adj), pb = _problem(seed)
        seg_fn = _brute_seg_fn(types, board_type, wbytes)
        lbs = planner._bounds(pb, n)
        res = planner.solve_order(pb, n, lbs[-1])
        if not np.isfinite(res.interval):
            continue
        res, lb = planner._tighten(pb, res, lbs[-1], n, 48, planner.EXACT_BOARDS, work=10**9)
        lb = planner._proven_bound(pb, res, lb, n)
        rows = planner._sweep(pb, res, lbs, n, 48, planner.EXACT_BOARDS, range(1, n + 1), (res, lb))
        assert [k for k, _, _ in rows] == list(range(1, n + 1))
        for k, r, lbk in rows:
            true = exhaustive(seg_fn, link, adj, L, k)[0]
            assert lbk <= true * (1 + 1e-12), (seed, k, lbk, true)
            if np.isfinite(r.interval):
                assert 1 <= len(r.path) <= k and r.interval >= true * (1 - 1e-12), (seed, k)
                assert evaluate(pb.seg, link, r.path, r.cuts) <= r.interval * (1 + 1e-12), (seed, k)
            if k >= len(res.path):
                assert r is res and lbk == lb
            rows_checked += 1
        ivs = [r.interval for _, r, _ in rows]
        assert ivs == sorted(ivs, reverse=True), seed
        bounds = [b for _, _, b in rows]
        assert bounds == sorted(bounds, reverse=True), seed
    assert rows_checked >= 40


@pytest.mark.slow
@pytest.mark.parametrize("preset,proven", [("example16", True), ("u280x16", True)])
def test_resnet152_headline_plans_are_real_and_bounded(tmp_path, preset, proven):
    """Issue 12 item 6 on the headline clusters: ResNet-152 (224x224) within the deterministic
    work budget: both are proven optimal (example16 since its mixed pass also spends what the
    uniform-width passes leave, planner._search).
    Every board is real (its interval is at least its slowest layer's cycles, within its SLR
    budgets). Before port widths per board the plans sat on the stem's 8-channel port floor; with
    16/32-channel ports that floor no longer holds them."""
    import onnx

    from asymap.cluster.load import load_cluster
    from asymap.frontend.onnx_import import load_model
    from asymap.frontend.zoo import build_zoo_model
    from asymap.partition import planner
    from asymap.partition.costmodel import slr_budget

    path = tmp_path / "r152.onnx"
    onnx.save(build_zoo_model("resnet152", 224), str(path))
    g = load_model(path, weights=False)
    c = load_cluster(preset)
    p = planner.plan(g, c)
    assert p.optimal == proven and (p.gap_bound == 0.0) == proven
    assert 0 < p.lower_bound_s <= p.interval_s * (1 + 1e-12)
    # a target the plan meets is reported met (once the fallback's exact solve reached it, while
    # the fewest-boards search over the achievable tables alone said it could not)
    t = planner.plan(g, c, target_ips=0.9 / p.interval_s)
    assert t.target["met"] and t.throughput_ips >= 0.9 / p.interval_s * (1 - 1e-12)
    for bp in p.boards:
        spec = next(b.spec for b in c.boards if b.name == bp.name)
        per = slr_budget(spec, p.util)
        for s_ in range(spec.slrs):
            use = np.sum([[ly.dsp, ly.bram36, ly.uram, ly.lut] for ly in bp.layers if ly.slr == s_] or [[0] * 4], axis=0)
            assert np.all(use <= per), (bp.name, s_, use, per)
        assert bp.interval_s >= max(ly.cycles for ly in bp.layers) / (spec.clock_mhz * 1e6) * (1 - 1e-12)
        assert bp.interval_s <= p.interval_s * (1 + 1e-12)


def test_tighten_leaves_no_given_up_settle_marked(monkeypatch):
    """``_tighten`` marks a settle that gave up as settled at its target only while it runs (so its
    probes do not ask it again): when it returns, no such mark is left, so a later call on the same
    tables (the deploy branches, the sweep rows and the fewer-boards step share them) asks that
    knapsack again instead of taking the mark for an answer. Left in place, it once stopped a
    deploy branch at its plan's own interval 0.11 % short of the proof (the U50 line of
    tests/deploy/test_refused_plans.py at util 0.1)."""
    from asymap.partition import planner

    _raw_planner(monkeypatch)
    real_settle = planner._settle
    last: dict = {}

    def settle(pb, t, j, v, w, upto=None, refill=None):
        out = real_settle(pb, t, j, v, w, upto, refill)
        last[(t, j, v)] = out[0]
        return out

    monkeypatch.setattr(planner, "_settle", settle)
    gave_up = 0
    for seed, work in ((s, w) for s in range(60) for w in (40, 400)):
        (L, n, types, wbytes, board_type, link, adj), pb, res, lb = _started(seed)
        if res is None:
            continue
        last.clear()
        planner._tighten(pb, res, lb, n, 48, planner.EXACT_BOARDS, work=work)
        for (t, j, v), ok in last.items():
            if not ok:
                gave_up += 1
                assert (j, v) not in pb.types[t].settled, (seed, t, j, v)
    assert gave_up >= 1, "no settle gave up: the test tests nothing"


def test_dual_search_is_sound_and_decides_where_the_short_bound_does_not():
    """``segments.dual_search`` (the knapsack's longer multiplier search and repair): a positive
    bound only on instances brute force finds infeasible, a witness always fits, and on tight
    instances (budget near the relaxation's edge) it decides questions the 30-step bound left to
    the dynamic program."""
    import itertools

    from asymap.partition.segments import dual_search, lagrange_bound

    rng = np.random.default_rng(12)
    decided = 0
    for _ in range(300):
        n = int(rng.integers(2, 7))
        menus = [rng.integers(0, 30, size=(int(rng.integers(1, 5)), 4)).astype(np.int64) for _ in range(n)]
        mins = np.sum([m.min(axis=0) for m in menus], axis=0)
        maxs = np.sum([m.max(axis=0) for m in menus], axis=0)
        bud = (mins + (maxs - mins) * rng.uniform(0.2, 0.6, size=4)).astype(np.int64)
        feasible = any(np.all(np.sum([menus[i][o] for i, o in enumerate(c)], axis=0) <= bud)
                       for c in itertools.product(*[range(len(m)) for m in menus]))
        g, w, witness = dual_search(menus, bud)
        if g > 1e-9:
            assert not feasible
        if witness is not None:
            assert np.all(np.sum([menus[i][o] for i, o in enumerate(witness)], axis=0) <= bud)
        g0, _, w0 = lagrange_bound(menus, bud, 1)
        if not g0 > 1e-9 and w0 is None and (g > 1e-9 or witness is not None):
            decided += 1
    assert decided > 0


@pytest.mark.parametrize("seed", range(24))
def test_exact_segment_long_multi_slr_segments_equal_brute_force(seed):
    """Longer segments (5-7 layers, a few options each) on two to four tight SLRs, where the
    knapsack questions need the longer multiplier search: the exact solve equals enumerating every
    combination, and its choice packs into the SLRs."""

    rng = np.random.default_rng(9100 + seed)
    n = int(rng.integers(5, 8))
    slrs = int(rng.integers(2, 5))
    opts = []
    for c, r in _mac_kind_options(rng, n):
        pick = rng.choice(len(c), size=min(len(c), 4), replace=False)
        opts.append((c[pick], r[pick]))
    mins = np.sum([r.min(axis=0) for _, r in opts], axis=0)
    per = np.maximum(mins * rng.uniform(0.35, 0.6, size=4) * 4 / slrs, 1).astype(np.int64)
    _exact_against_brute(opts, per, slrs, seed)


def test_settle_keeps_the_real_reaches_when_one_knapsack_gives_up(monkeypatch):
    """A settle whose on-chip knapsack gives up still asks the off-chip one (with its own share of
    work, counted in ``Work.extra``): the reach it finds goes into the achievable table as real
    choices (each entry at least the brute-force optimum of its segment, and below the target),
    and the lower table rises only past the Lagrangian reach bound (never above a segment's
    brute-force optimum)."""
    from asymap.partition import planner, segments
    from asymap.partition.costmodel import ONCHIP

    _raw_planner(monkeypatch)
    real_reach = segments.reach_slrs
    kept = 0
    for seed in range(40):
        (L, n, types, wbytes, board_type, link, adj), pb = _problem(seed)
        for t, tt in enumerate(pb.types):
            onchip = planner._knapsack(pb, t, ONCHIP, 0)[0]

            asked = []

            def reach(ks, *a, **k):
                if ks is onchip:
                    asked.append(1)
                    raise segments.GiveUp
                return real_reach(ks, *a, **k)

            monkeypatch.setattr(segments, "reach_slrs", reach)
            finite = tt.table.lower[0, 1:][np.isfinite(tt.table.lower[0, 1:])]
            if not len(finite):
                continue
            v = float(finite.max()) * 1.5
            low, ach = tt.table.lower.copy(), tt.table.interval.copy()
            work = segments.Work(10**9)
            ok, changed = planner._settle(pb, t, 0, v, work)
            monkeypatch.setattr(segments, "reach_slrs", real_reach)
            for k in range(1, L + 1):
                true = brute_segment(_raw(types[t][0]), _raw(types[t][1]), types[t][2], types[t][3], wbytes,
                                     types[t][4], 0, k)
                assert tt.table.lower[0, k] <= max(low[0, k], true * (1 + 1e-12))  # a rise is a bound
                if tt.table.interval[0, k] < ach[0, k]:
                    assert tt.table.interval[0, k] < v
                    assert tt.table.interval[0, k] >= true * (1 - 1e-12)
            if asked and changed:
                kept += 1
                assert work.extra > 0  # the other knapsacks' own work, for the caller to count
    assert kept >= 1, "no settle kept a reach past a knapsack that gave up: the test tests nothing"


@pytest.mark.parametrize("seed", range(12))
def test_relaxed_reach_bounds_the_exact_reach(seed):
    """``segments.relaxed_reach`` (the Lagrangian bound of a multi-SLR reach, used when a settle's
    knapsack gives up) is never below the exact reach (``reach_slrs`` with no work limit) and is
    often the reach itself."""
    from asymap.partition.segments import Knapsack, dominance_filter, reach_slrs, relaxed_reach

    rng = np.random.default_rng(9300 + seed)
    tight = exact = 0
    for _ in range(8):
        n = int(rng.integers(4, 9))
        slrs = int(rng.integers(1, 5))
        raw = _mac_kind_options(rng, n)
        mins = np.sum([r.min(axis=0) for _, r in raw], axis=0)
        per = np.maximum(mins * rng.uniform(0.3, 0.7, size=4) / slrs, 1).astype(np.int64)
        opts = []
        for c, r in raw:
            keep = dominance_filter(c, r, per)
            opts.append((c[keep], r[keep], keep))
        if any(len(o[0]) == 0 for o in opts):
            continue
        for t in np.unique(np.concatenate([o[0] for o in opts]))[::5]:
            want = reach_slrs(Knapsack(opts, per, 10**6), 0, n, int(t), slrs)[0]
            got = relaxed_reach(Knapsack(opts, per, 10**6), 0, n, int(t), slrs)
            assert want <= got <= n, (seed, t, want, got)
            tight += got < n
            exact += got == want
    assert tight >= 1 and exact >= 1
