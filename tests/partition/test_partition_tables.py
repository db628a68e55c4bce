"""The planner's table building is fast *and* gives the same answers as the plain definitions.

- ``costmodel.mac_engine_cycles`` (numpy over all options of a layer) equals the scalar
  ``engine_cycles`` (the function the HLS C-sim counters are compared with) on every option of
  several models at every port width, on and off chip, and ``layer_options`` enumerates the same
  (pe, simd, kpar) in the same order as the plain nested loops.
- ``raw_menu``'s vectorized suffix minimum picks the same rows as the plain scan, ties included.
- ``segments.min_feasible_T`` (binary searches on monotone tables, the min-max SLR composition,
  the two-pointer sweep shared by several tables) equals a direct evaluation of the definition
  (per candidate T: each layer's row, each SLR filled in chain order as far as it goes), on random
  menus and on the real menus of a model on every board type.
- ``segments.segment_tables`` over several menu pairs equals ``segment_table`` of each.
- ``util.forked.map_two`` equals the plain map, redoes a failed child's share, and passes on the
  parent's errors; the child's numpy results come back through the shared mapping (views of it,
  writable, equal), in band when it is full or missing.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
import pytest

from asymap.cluster.boards import all_board_specs
from asymap.frontend.ir import CONV, FC
from asymap.frontend.onnx_import import graph_from_model
from asymap.frontend.zoo import build_zoo_model
from asymap.partition import costmodel as cm
from asymap.partition.segments import min_feasible_T, segment_table, segment_tables
from asymap.util.forked import map_two


def _graph(name, size, width):
    return graph_from_model(build_zoo_model(name, size, width), weights=False)


MODELS = [("resnet18", 32, 0.5), ("mobilenetv2", 32, 0.5), ("inception", 64, 0.25), ("shufflenetv2", 32, 0.5),
          ("densenet121", 32, 0.25)]


def _plain_options(layer, pad: bool, ml: int):
    """(pe, simd, kpar, padded, cycles, cycles_off, wdepth) rows by the plain nested loops and the
    scalar engine_cycles."""
    cin, hi, wi = layer.in_shapes[0]
    kh, kw = layer.kernel
    k = kh * kw
    rows = []
    if layer.op == CONV and cm._is_depthwise(layer):
        c = layer.c_out
        for pe in cm.divisors(c):
            rows.append((pe, 1, 1, False, cm.engine_cycles(layer, pe, max_lanes=ml),
                         cm.engine_cycles(layer, pe, offchip=True, max_lanes=ml), k * cm.ceil_div(c, pe)))
        return rows
    if layer.op == CONV:
        cin_g = layer.c_in // layer.groups
    else:
        cin_g = int(layer.weight.shape[1]) if layer.weight is not None else cin * hi * wi
        k = 1
    cout = layer.c_out
    if layer.op == CONV and layer.groups > 1:
        pes = [(d, False) for d in cm.divisors(cout // layer.groups)]
    else:
        wide_out = layer.op == CONV and cm.port_pixels(cout, layer.out_shape[2]) > 1
        pes = [(d, False) for d in cm.divisors(cout)] + [(p, True) for p in (
            cm._padded_pes(cout) if pad and not wide_out else [])]
    for kpar in cm.kpar_choices(layer):
        for simd in cm.divisors(cin_g):
            for pe, padded in pes:
                rows.append((pe, simd, kpar, padded, cm.engine_cycles(layer, pe, simd, kpar, max_lanes=ml),
                             cm.engine_cycles(layer, pe, simd, offchip=True, max_lanes=ml),
                             (k // kpar) * (cin_g // simd) * cm.ceil_div(cout, pe)))
    return rows


@pytest.mark.parametrize("model", MODELS, ids=[m[0] for m in MODELS])
def test_vectorized_cycles_equal_the_scalar_engine_cycles(model):
    g = _graph(*model)
    checked = 0
    for ml in (8, 16, 32):
        for pad in (True, False):
            for layer in g.layers:
                if layer.op not in (CONV, FC):
                    continue
                o = cm.layer_options(layer, pad, ml)
                got = list(zip(o.pe.tolist(), o.simd.tolist(), o.kpar.tolist(), o.padded.tolist(), o.cycles.tolist(),
                               o.cycles_off.tolist(), o.wdepth.tolist()))
                assert got == _plain_options(layer, pad, ml), (layer.name, ml, pad)
                assert all(a.dtype == np.int64 for a in (o.pe, o.simd, o.kpar, o.cycles, o.cycles_off, o.wdepth))
                checked += len(got)
    assert checked > 1000


def test_vectorized_cycles_on_the_wide_stem_and_fc():
    """The stem (3 channels: a wide port, kpar) and the fc layer at every width, option by option."""
    g = _graph("resnet18", 64, 0.5)
    for layer in (g.layers[0], g.layers[-1]):
        for ml in (8, 16, 32):
            o = cm.layer_options(layer, True, ml)
            for off in (False, True):
                want = [cm.engine_cycles(layer, int(p), int(s), 1 if off else int(k), offchip=off, max_lanes=ml)
                        for p, s, k in zip(o.pe, o.simd, o.kpar)]
                got = cm.mac_engine_cycles(layer, o.pe, o.simd, np.ones_like(o.kpar) if off else o.kpar, off, ml)
                assert got.tolist() == want


def _plain_raw_menu_rows(cycles, res, weights, bias):
    cost = res @ weights * bias
    order = np.lexsort((np.arange(len(cycles)), cost, -cycles))
    c, co = cycles[order], cost[order]
    first = np.ones(len(c), bool)
    first[1:] = c[1:] != c[:-1]
    starts = np.nonzero(first)[0]
    rev = co[::-1]
    best_rev = np.zeros(len(c), np.int64)
    run = 0
    for i in range(1, len(c)):
        if rev[i] <= rev[run]:
            run = i
        best_rev[i] = run
    return order[(len(c) - 1 - best_rev[::-1])[starts]]


@pytest.mark.parametrize("seed", range(30))
def test_raw_menu_picks_the_plain_scan_rows(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 40))
    cycles = rng.integers(1, 8, size=k).astype(np.int64) * 10
    res = rng.integers(0, 3, size=(k, 4)).astype(np.int64)  # few values: many cost ties
    w = np.array([1.0, 0.5, 0.25, 1.0])
    bias = np.where(rng.random(k) < 0.3, 1.25, 1.0)
    m = cm.raw_menu(cycles, res, w, bias)
    want = _plain_raw_menu_rows(cycles, res, w, bias)
    keep = np.ones(len(want), bool)
    keep[1:] = want[1:] != want[:-1]
    assert m.opt.tolist() == want[keep].tolist()


def _plain_first_T(menus, budget, ts, slrs, lower):
    """The definition: at candidate T every layer takes the slowest row meeting T (the relaxation's
    rows and its aggregated columns when ``lower``), SLRs are filled in chain order as far as
    they go; the first T at which layers j..k-1 fit, -1 when none."""
    n = len(menus)
    bud = np.asarray(budget, np.int64)
    cols = np.arange(4)
    if lower and menus[0].lo_agg is not None:
        # the aggregated columns the planner keeps: those over at least two budgeted resources
        vec = cm.agg_vectors(menus[0].agg_w)
        cols = np.concatenate([cols, 4 + np.nonzero(np.count_nonzero(vec[:, bud > 0], axis=1) >= 2)[0]])
        bud = np.concatenate([bud, cm.agg_budget(menus[0].agg_w, bud)])[cols]
    out = np.full((n + 1, n + 1), -1, np.int64)
    for t in ts:
        rows = []
        for m in menus:
            cyc = m.lo_cycles if lower else m.cycles
            res = (np.hstack([m.lo_res, m.lo_agg])[:, cols] if m.lo_agg is not None else m.lo_res) if lower else m.res
            ok = np.nonzero(cyc <= t)[0]
            rows.append(res[ok[0]] if len(ok) else np.full(len(bud), np.iinfo(np.int64).max // (4 * n + 4)))
        pref = np.vstack([np.zeros(len(bud), np.int64), np.cumsum(np.array(rows, np.int64), axis=0)])
        # one SLR from j: the largest k with every column's sum of layers j..k-1 within budget
        fits = np.all(pref[None, :, :] - pref[:, None, :] <= bud, axis=2) & ~np.tri(n + 1, k=-1, dtype=bool)
        one = np.array([np.nonzero(fits[j])[0].max() for j in range(n + 1)])
        pos = np.arange(n + 1)
        for _ in range(max(1, slrs)):
            pos = one[pos]
        ks = np.arange(n + 1)
        new = (out < 0) & (ks[None, :] > ks[:, None]) & (ks[None, :] <= pos[:, None])
        out[new] = t
    return out


def _random_menus(rng, n, monotone_share):
    w = 1.0 / rng.integers(20, 200, size=4)
    menus = []
    for _ in range(n):
        k = int(rng.integers(1, 6))
        cyc = rng.choice(np.arange(10, 400, 10), size=k, replace=False).astype(np.int64)
        res = rng.integers(0, 30, size=(k, 4)).astype(np.int64)
        if rng.random() < monotone_share:  # slower options cost no more: monotone achievable rows
            order = np.argsort(-cyc)
            res[order] = np.sort(res, axis=0)
        m = cm.raw_menu(cyc, res, w)
        menus.append(menus[int(rng.integers(0, len(menus)))] if menus and rng.random() < 0.25 else m)
    return menus


@pytest.mark.parametrize("seed", range(40))
def test_min_feasible_T_equals_the_definition_on_random_menus(seed):
    rng = np.random.default_rng(1000 + seed)
    n = int(rng.integers(1, 12))
    menus = _random_menus(rng, n, monotone_share=[0.0, 0.5, 1.0][seed % 3])
    budget = rng.integers(0, 80, size=4).astype(np.int64)
    budget[rng.random(4) < 0.1] = 0
    slrs = int(rng.integers(1, 5))
    for lower in (False, True):
        ts = np.unique(np.concatenate([m.lo_cycles if lower else m.cycles for m in menus]))
        if seed % 4 == 0:  # explicit candidates, some below every option, some between rows
            ts = np.unique(np.concatenate([ts, rng.integers(1, 450, size=5)]))
        got = min_feasible_T(menus, budget, ts, slrs, lower)
        assert np.array_equal(got, _plain_first_T(menus, budget, ts, slrs, lower)), (seed, lower)


@pytest.mark.parametrize("spec", all_board_specs(), ids=lambda s: s.name)
def test_min_feasible_T_equals_the_definition_on_real_menus(spec):
    """ResNet-18 (32x32, x0.5) at 8 and 32 channels per beat on every board type: every table the
    planner builds for it (both weight modes, achievable and relaxation) at the board's SLR count,
    against the definition."""
    g = _graph("resnet18", 32, 0.5)
    bud = cm.slr_budget(spec, 0.8)
    for ml in (8, 32):
        infos = cm.layer_infos(g, True, ml)
        for mode in (cm.ONCHIP, cm.OFFCHIP):
            menus = cm.board_menus(infos, spec, mode)
            for lower in (False, True):
                ts = np.unique(np.concatenate([m.lo_cycles if lower else m.cycles for m in menus]))
                got = min_feasible_T(menus, bud, ts, spec.slrs, lower)
                assert np.array_equal(got, _plain_first_T(menus, bud, ts, spec.slrs, lower)), (ml, mode, lower)


@pytest.mark.parametrize("seed", range(6))
def test_segment_tables_equal_one_table_at_a_time(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 10))
    pairs = [(_random_menus(rng, n, 0.3), _random_menus(rng, n, 0.3)) for _ in range(3)]
    budget = rng.integers(10, 80, size=4).astype(np.int64)
    wbytes = rng.integers(0, 2000, size=n).astype(np.float64)
    slrs = int(rng.integers(1, 4))
    got = segment_tables(pairs, budget, 2e8, wbytes, 1e6, None, slrs)
    for (on, off), tab in zip(pairs, got):
        one = segment_table(on, off, budget, 2e8, wbytes, 1e6, None, slrs)
        for f in ("interval", "mode", "onchip", "lower"):
            assert np.array_equal(getattr(tab, f), getattr(one, f)), f
        assert all(np.array_equal(a, b) for a, b in zip(tab.t_cycles, one.t_cycles))


def _square(x):
    return x * x


@pytest.fixture
def forking(monkeypatch):
    """map_two forks whatever the machine's load (it stays serial where fork() does not exist)."""
    import asymap.util.forked as forked

    if not hasattr(os, "fork"):
        pytest.skip("no fork() on this platform: map_two is the plain map")
    monkeypatch.setattr(forked, "_can_fork", lambda: True)


def test_map_two_equals_the_plain_map(forking):
    assert map_two(_square, range(7)) == [x * x for x in range(7)]
    assert map_two(_square, []) == []
    assert map_two(_square, [3]) == [9]
    assert map_two(_square, range(300)) == [x * x for x in range(300)]  # item numbers above one byte


def test_map_two_shares_one_queue_between_the_processes(forking, tmp_path):
    """Each item is computed once, by whichever process is free: each process holds on to the
    first item it takes until the other has taken one, so both take part."""
    parent = os.getpid()

    def who(x):
        me, other = ("parent", "child") if os.getpid() == parent else ("child", "parent")
        first = not (tmp_path / me).exists()
        (tmp_path / me).touch()
        (tmp_path / f"{me}{x}").touch()
        waited = 0.0
        while first and not (tmp_path / other).exists() and waited < 20:
            time.sleep(0.01)
            waited += 0.01
        return me, x

    got = map_two(who, range(8))
    assert [x for _, x in got] == list(range(8))
    for me in ("parent", "child"):
        mine = [x for w, x in got if w == me]
        assert mine and mine == sorted(mine)  # both took items, each in list order
        assert mine == sorted(int(f.name[len(me):]) for f in tmp_path.glob(f"{me}?"))  # computed there, once


def _arrays_after_the_child_starts(tmp_path):
    """A map_two function whose items are numpy results, the parent's first item waiting until
    the child has taken one (so the child computes some of them)."""
    parent = os.getpid()

    def fn(x):
        if os.getpid() != parent:
            (tmp_path / "child").touch()
        waited = 0.0
        while os.getpid() == parent and x == 0 and not (tmp_path / "child").exists() and waited < 20:
            time.sleep(0.01)
            waited += 0.01
        return os.getpid() != parent, {"t": np.arange(1000 * (x + 1), dtype=np.float64) * x,
                                       "i": np.full((3, 5), x, np.int64), "n": x}

    return fn


def _base_is_mapping(a) -> bool:
    import mmap

    while a is not None:
        if isinstance(a, mmap.mmap):
            return True
        a = a.obj if isinstance(a, memoryview) else getattr(a, "base", None)
    return False


@pytest.mark.parametrize("area", ["shared", "full", "none"])
def test_map_two_returns_the_child_arrays_through_shared_memory(forking, monkeypatch, tmp_path, area):
    import asymap.util.forked as forked

    if area == "full":
        monkeypatch.setattr(forked, "SHARED_BYTES", 4096)  # only the smallest arrays fit
    if area == "none":
        monkeypatch.setattr(forked, "_shared_area", lambda: None)
    got = map_two(_arrays_after_the_child_starts(tmp_path), range(6))
    assert any(child for child, _ in got)
    for x, (child, r) in enumerate(got):
        assert r["n"] == x
        np.testing.assert_array_equal(r["t"], np.arange(1000 * (x + 1), dtype=np.float64) * x)
        np.testing.assert_array_equal(r["i"], np.full((3, 5), x, np.int64))
        assert r["t"].dtype == np.float64 and r["i"].dtype == np.int64 and r["i"].shape == (3, 5)
        if child:
            assert _base_is_mapping(r["t"]) == (area == "shared")
            assert _base_is_mapping(r["i"]) == (area != "none")  # (120 bytes fit even the small area)
            r["t"][:1] = -1.0  # writable, like the parent's own
            assert r["t"][0] == -1.0


def test_map_two_redoes_a_failed_child_share(forking):
    parent = os.getpid()

    def only_here(x):
        if os.getpid() != parent:
            raise RuntimeError("the child fails")
        return x + 1

    assert map_two(only_here, range(5)) == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("error", [ValueError, KeyboardInterrupt])
def test_map_two_passes_on_the_parent_error(forking, monkeypatch, error):
    """An error in the parent's share (Ctrl-C too) propagates, and the child is gone (killed and
    reaped: no process left behind)."""
    parent = os.getpid()
    forks = []
    real_fork = os.fork

    def fork():
        pid = real_fork()
        if pid:
            forks.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", fork)

    def fails_here(x):
        if os.getpid() == parent:
            raise error(f"bad item {x}")
        time.sleep(5)  # the child is still busy when the parent fails
        return x

    with pytest.raises(error, match="bad item"):
        map_two(fails_here, range(4))
    assert len(forks) == 1
    with pytest.raises(ChildProcessError):
        os.waitpid(forks[0], os.WNOHANG)


@pytest.mark.parametrize("preset", ["example16", "mixed4"])
def test_build_problem_forked_equals_serial(monkeypatch, preset):
    """The planner's tables are the same whether or not board types are split over two
    processes."""
    import asymap.util.forked as forked
    from asymap.cluster.load import load_cluster
    from asymap.partition.planner import build_problem

    g = _graph("resnet18", 32, 0.5)
    cluster = load_cluster(preset)
    got, pbs = {}, {}
    for fork in (False, True):
        monkeypatch.setattr(forked, "_can_fork", lambda: fork)
        pb = build_problem(g, cluster)
        got[fork] = [(w.lanes, w.table.interval, w.table.lower, w.table.mode, [m.cycles for m in w.menus[1]])
                     for tt in pb.types for w in (tt.widths or [tt])]
        pbs[fork] = pb
    assert len(got[True]) == len(got[False]) >= 3
    for a, b in zip(got[False], got[True]):
        assert a[0] == b[0]
        assert all(np.array_equal(x, y) for x, y in zip(a[1:4], b[1:4]))
        assert all(np.array_equal(x, y) for x, y in zip(a[4], b[4]))
    one, two = pbs[False], pbs[True]
    assert [tt.budget.tolist() for tt in one.types] == [tt.budget.tolist() for tt in two.types]
    assert one.reuse == two.reuse and None not in one.reuse
    assert one.adj == two.adj and one.link.keys() == two.link.keys()
    assert all(np.array_equal(one.link[k], two.link[k]) for k in one.link)
    assert np.array_equal(one.cut_link_min, two.cut_link_min)
    # the option rows the exact inner solve reads: every one the menus used, from either process
    assert {w: set(d) for w, d in one.rows.items()} == {w: set(d) for w, d in two.rows.items()}
    for w, d in one.rows.items():
        for k, (rows, kinds, res) in d.items():
            r2 = two.rows[w][k]
            assert np.array_equal(rows, r2[0]) and np.array_equal(kinds, r2[1]) and np.array_equal(res, r2[2])
        assert all(np.array_equal(x, y) for x, y in zip(a[4], b[4]))


@pytest.mark.parametrize("shape", [(), (1,), (7,), (13,), (3, 7)])
def test_bram_count_is_the_fewest_blocks_over_every_aspect_ratio(shape):
    """costmodel.bram_count (all BRAM36 shapes at once) equals the plain minimum over the shapes."""
    rng = np.random.default_rng(len(shape) * 10 + sum(shape))
    for _ in range(30):
        w = rng.integers(1, 5000, size=shape)
        d = rng.integers(0, 100_000, size=shape)
        want = np.min([cm.ceil_div(w, bw) * cm.ceil_div(d, bd) for bw, bd in cm.BRAM_SHAPES], axis=0)
        want = np.where(d > 0, want, 0)
        got = cm.bram_count(w, d)
        assert np.shape(got) == np.shape(want) and np.array_equal(got, want)
        assert np.array_equal(cm.bram_count(64, d), np.where(d > 0, np.min(
            [cm.ceil_div(64, bw) * cm.ceil_div(d, bd) for bw, bd in cm.BRAM_SHAPES], axis=0), 0))


def test_menus_shared_between_modes_and_boards_equal_menus_alone():
    """board_menus with one ``cache`` for both weight modes and one ``rows_cache`` for every board
    type (costmodel.resource_class) gives the same menus as each call alone."""
    g = _graph("resnet18", 32, 0.5)
    fields = ("cycles", "res", "opt", "lo_cycles", "lo_res", "lo_agg", "mac")
    for ml in (8, 32):
        infos = cm.layer_infos(g, True, ml)
        rows_cache: dict = {}
        for spec in all_board_specs():
            same: dict = {}
            for mode in (cm.ONCHIP, cm.OFFCHIP):
                shared = cm.board_menus(infos, spec, mode, same, rows_cache)
                alone = cm.board_menus(infos, spec, mode)
                for a, b in zip(shared, alone):
                    assert a.tight == b.tight
                    for f in fields:
                        assert np.array_equal(getattr(a, f), getattr(b, f)), (spec.name, mode, f)
        assert len({k[-2:] for k in rows_cache}) >= 2  # boards of several classes shared the cache


@pytest.mark.parametrize("avg, running, cpus, want", [
    (0.3, "9", 2, True),  # an idle minute
    (2.2, "1", 2, True),  # the minute was busy, but nothing else runs now: a CPU to spare
    (2.2, "2", 2, False),  # something else runs now
    (0.3, "1", 1, False),  # one CPU
    (2.2, "x", 2, False),  # unreadable: no second process
])
def test_can_fork_when_a_cpu_is_free(monkeypatch, tmp_path, avg, running, cpus, want):
    """util.forked._can_fork: the 1-minute load average, or the threads runnable right now."""
    import asymap.util.forked as forked

    if not (sys.platform.startswith("linux") and hasattr(os, "fork") and hasattr(os, "sched_getaffinity")):
        assert not forked._can_fork()
        return
    la = tmp_path / "loadavg"
    la.write_text(f"{avg:.2f} 1.00 1.00 {running}/300 4242\n")
    monkeypatch.setattr(forked, "_LOADAVG", str(la))
    monkeypatch.setattr(os, "getloadavg", lambda: (avg, 1.0, 1.0))
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cpus)))
    assert forked._can_fork() is want


def test_map_two_without_a_process_to_spare(forking, monkeypatch):
    """fork() failing (EAGAIN) leaves the plain map, and no descriptor open."""
    def no_fork():
        raise OSError(11, "Resource temporarily unavailable")

    before = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None
    monkeypatch.setattr(os, "fork", no_fork)
    assert map_two(_square, range(5)) == [0, 1, 4, 9, 16]
    if before is not None:
        assert len(os.listdir("/proc/self/fd")) == before


def test_stream_seconds_from_prefix_sums_equals_the_array_sum():
    """planner._stream_seconds (prefix sums of whole numbers) gives streamed_bytes(...).sum()'s
    number on every segment and board type."""
    from asymap.cluster.load import load_cluster
    from asymap.partition import planner

    pb = planner.build_problem(_graph("resnet18", 32, 0.5), load_cluster("example16"))
    L = len(pb.infos)
    assert any(i.streams for i in pb.infos)
    for t in range(len(pb.types)):
        for j in range(L + 1):
            for k in range(j, L + 1):
                want = float(cm.streamed_bytes(pb.infos[j:k]).sum() / (pb.types[t].spec.mem_gbps * 1e9))
                assert planner._stream_seconds(pb, t, j, k) == want
