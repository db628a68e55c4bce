"""Lane-split engines (docs/cost-model.md "Lane-split engines"): the planner side.

* ``segments.reach_slrs`` with ``halves`` is the exact reach over every combination of raw options
  and every lane split (every k of every option) that packs the SLRs in chain order with at most
  one split layer per boundary, by plain enumeration; its choice and splits pack
  (costmodel.pack_slrs);
* the lane-split relaxation table (``lower_split``) is at most the exact optimum with splits of
  every segment of a real model on a multi-SLR board;
* ``costmodel.split_resources`` charges each half with ``option_resources`` at its own PE;
* the planner: a plan with splits allowed is never slower than without, an equally fast one is
  the same plan, a single-SLR cluster plans the same, and ResNet-18 on a small 3-SLR board gets
  a faster plan with a split layer whose plan.json ``slr_lanes`` follows the contract.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_partition_exact import _mac_kind_options

from asymap.partition.costmodel import pack_slrs
from asymap.partition.segments import Knapsack, dominance_filter, reach_slrs


def _synthetic_halves(rng, ks):
    """Per layer and knapsack option, random splits (k, half A, half B): each half roughly its
    share of the whole row plus an overhead, not monotone in k, sometimes below the whole row."""
    table, seen = [], {}
    for cyc, res, _ in ks.opts:
        if id(cyc) in seen:  # a repeated layer: the same splits (as the planner's ``_halves``)
            table.append(seen[id(cyc)])
            continue
        per = seen[id(cyc)] = []
        for o in range(len(cyc)):
            row = res[o]
            got = []
            for k in range(1, int(rng.integers(2, 6))):
                f = rng.uniform(0.1, 0.9)
                a = np.floor(row * f).astype(np.int64) + rng.integers(0, 3, 4)
                b = np.floor(row * (1 - f)).astype(np.int64) + rng.integers(-1, 3, 4)
                got.append((k, a, np.maximum(b, 0)))
            per.append(got)
        table.append(per)

    def halves(i, t):
        cyc = ks.opts[i][0]
        rows = [(o, k, a, b) for o in range(len(cyc)) if cyc[o] <= t for k, a, b in table[i][o]]
        if not rows:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 4), np.int64), np.zeros((0, 4), np.int64)
        o, k, a, b = zip(*rows)
        return np.array(o), np.array(k), np.array(a), np.array(b)

    return table, halves


def _brute_reach(ks, table, j, end, t, bud, slrs) -> int:
    """The furthest end of layers j.. packing ``slrs`` SLRs at T with any options and any splits
    (one per boundary, half A closing SLR s and half B opening s + 1), by depth-first enumeration."""
    best = j

    def go(i, s, used):
        nonlocal best
        best = max(best, i)
        if i >= end:
            return
        cyc, res, _ = ks.opts[i]
        for o in range(len(cyc)):
            if cyc[o] > t:
                continue
            if (used + res[o] <= bud).all():
                go(i + 1, s, used + res[o])
            if s + 1 < slrs and (res[o] <= bud).all():
                go(i + 1, s + 1, res[o].copy())
            for _, a, b in table[i][o]:
                if s + 1 < slrs and (used + a <= bud).all() and (b <= bud).all():
                    go(i + 1, s + 1, b.copy())

    go(j, 0, np.zeros(4, np.int64))
    return best


@pytest.mark.parametrize("block", range(4))
def test_reach_with_splits_equals_enumeration(block):
    gained = sum(_reach_case(seed) for seed in range(16 * block, 16 * block + 16))
    assert gained, "no split ever reached further: the test tests nothing"


def test_reach_with_splits_on_repeated_layers_equals_enumeration():
    """Layers sharing one options object (ResNet repeats its blocks): the knapsack's memo answers
    a question (``tails``, ``reach_head``) once for all their positions; still the enumeration's."""
    gained = sum(_reach_case(seed, repeat=True) for seed in range(24))
    assert gained, "no split ever reached further: the test tests nothing"


def test_wide_tails_give_up_and_never_answer_wrong(monkeypatch):
    """A tails question whose SLR has more candidate states than segments.FRONT_KEEP_LIMIT gives
    up (its Pareto pass would cost about candidates x front) instead of answering: with the limit
    lowered, every reach either gives up or still equals the enumeration."""
    from asymap.partition import segments

    monkeypatch.setattr(segments, "FRONT_KEEP_LIMIT", 3)
    gave = []
    for seed in range(16):
        try:
            _reach_case(seed)
        except segments.GiveUp:
            gave.append(seed)
    assert gave, "no tails question was wide: the test tests nothing"
    assert len(gave) < 16, "every instance gave up: nothing was compared"


def _reach_case(seed: int, repeat: bool = False) -> int:
    """Checks one random instance; how many reaches a split made longer. ``repeat``: the layers
    cycle through two distinct ones (the same options objects at several positions)."""
    rng = np.random.default_rng(9100 + seed)
    n = int(rng.integers(3, 7)) + (3 if repeat else 0)
    slrs = int(rng.integers(2, 4))
    opts = [(c[pick], r[pick]) for c, r in _mac_kind_options(rng, 2 if repeat else n)
            for pick in [rng.choice(len(c), size=min(len(c), 5), replace=False)]]
    if repeat:
        opts = [opts[i % 2] for i in range(n)]
    # SLRs holding about two layers each, so that the boundaries bind
    typical = np.median(np.concatenate([r for _, r in opts]), axis=0)
    per = np.maximum(1, (typical * rng.uniform(1.5, 2.6, 4))).astype(np.int64)
    kept = [dominance_filter(c, r, per) for c, r in opts]
    if any(len(k) == 0 for k in kept):
        return 0
    made: dict = {}  # (one tuple per distinct layer: the knapsack keys its memo by the object)
    ks = Knapsack([made.setdefault(id(c), (c[k], r[k], k)) for (c, r), k in zip(opts, kept)], per, 1500, None)
    ks.splits = True
    table, halves = _synthetic_halves(rng, ks)
    ts = np.unique(np.concatenate([ks.opts[i][0] for i in range(n)]))
    gained = 0
    for t in ts[:: max(1, len(ts) // 6)]:
        for j in range(n):
            want = _brute_reach(ks, table, j, n, int(t), per, slrs)
            q, choice, splits = reach_slrs(ks, j, n, int(t), slrs, halves)
            assert q == want, (seed, t, j)
            plain = reach_slrs(ks, j, n, int(t), slrs)[0]
            assert plain <= q
            gained += q > plain
            if q > j:  # the choice is real: every option meets T and the layers pack
                assert len(choice) == q - j
                assert all(ks.opts[j + i][0][o] <= t for i, o in enumerate(choice))
                rows = [ks.opts[j + i][1][o] for i, o in enumerate(choice)]
                halves_at = {}
                for li, k in splits.items():
                    a, b = next((a, b) for k2, a, b in table[li][choice[li - j]] if k2 == k)
                    halves_at[li - j] = (a, b)
                assert pack_slrs(rows, per, slrs, halves_at) is not None, (seed, t, j, splits)
                assert len(splits) <= slrs - 1
    return gained


def test_split_resources_charge_each_half_at_its_own_pe():
    from asymap.cluster.boards import load_board_type
    from asymap.frontend.ir import CONV, Layer
    from asymap.partition import costmodel as cm

    lay = Layer(index=0, name="c", op=CONV, inputs=["x"], output="y", in_shapes=[(64, 14, 14)],
                out_shape=(128, 14, 14), kernel=(3, 3), pads=(1, 1, 1, 1))
    info = cm.LayerInfo(layer=lay, has_weights=True, weight_bytes=64 * 128 * 9, buffer_bytes=cm._buffer_bytes(lay),
                        skip_bytes=0, options=cm.layer_options(lay))
    spec = load_board_type("u280")
    o = info.options
    oi = next(i for i in range(len(o.pe)) if o.pe[i] == 16 and not o.padded[i])
    a, b = cm.split_resources(info, spec, cm.ONCHIP, oi, cm.PACKED, [4, 12])
    whole = cm.option_resources(info, spec, cm.ONCHIP, [oi], [cm.PACKED])[0]
    # DSPs per lane (requantization) and per lane pair (packed multipliers): the halves add up
    simd = int(o.simd[oi]) * int(o.kpar[oi])
    assert a[0, 0] == 4 * cm.REQUANT_DSP + simd * 2 and b[0, 0] == 12 * cm.REQUANT_DSP + simd * 6
    assert a[0, 0] + b[0, 0] == whole[0]
    assert (a[0] + b[0] >= whole).all()  # here: two engines' fixed LUTs, the dup, zip and FIFOs
    assert b[1, 0] == 4 * cm.REQUANT_DSP + simd * 2


@pytest.mark.parametrize("board", ["u280", "vcu118"])
def test_split_rows_are_split_resources_row_for_row(board):
    """The vectorized ``split_rows`` (every option of a layer in one call, as the planner's
    ``_halves`` asks) gives exactly ``split_resources``' rows, option by option, in both weight
    modes and every MAC kind, on layers with and without a skip and a line buffer."""
    from asymap.cluster.boards import load_board_type
    from asymap.frontend.ir import CONV, FC, Layer
    from asymap.partition import costmodel as cm

    spec = load_board_type(board)
    layers = [Layer(index=0, name="c", op=CONV, inputs=["x"], output="y", in_shapes=[(64, 14, 14)],
                    out_shape=(128, 14, 14), kernel=(3, 3), pads=(1, 1, 1, 1)),
              Layer(index=1, name="p", op=CONV, inputs=["x"], output="y", in_shapes=[(256, 7, 7)],
                    out_shape=(96, 7, 7), kernel=(1, 1)),
              Layer(index=2, name="f", op=FC, inputs=["x"], output="y", in_shapes=[(512, 1, 1)],
                    out_shape=(100, 1, 1))]
    checked = 0
    for lay in layers:
        c_in = lay.in_shapes[0][0]
        kh, kw = lay.kernel if lay.op == CONV else (1, 1)
        for skip in (0, 4096):
            info = cm.LayerInfo(layer=lay, has_weights=True, weight_bytes=c_in * lay.c_out * kh * kw,
                                buffer_bytes=cm._buffer_bytes(lay), skip_bytes=skip, options=cm.layer_options(lay),
                                streams=True)
            o = info.options
            todo = [(oi, kind) for oi in range(len(o.pe)) if cm.can_split(info, oi)
                    for kind in (cm.DSP1, cm.PACKED)]
            for mode in (cm.ONCHIP, cm.OFFCHIP):
                ois = np.concatenate([np.full(int(o.pe[oi]) - 1, oi) for oi, _ in todo])
                kinds = np.concatenate([np.full(int(o.pe[oi]) - 1, kind) for oi, kind in todo])
                ks = np.concatenate([np.arange(1, int(o.pe[oi])) for oi, _ in todo])
                a, b = cm.split_rows(info, spec, mode, ois, kinds, ks)
                at = 0
                for oi, kind in todo:
                    a1, b1 = cm.split_resources(info, spec, mode, oi, kind, np.arange(1, int(o.pe[oi])))
                    assert np.array_equal(a[at : at + len(a1)], a1) and np.array_equal(b[at : at + len(b1)], b1)
                    at += len(a1)
                    checked += len(a1)
    assert checked > 1000


def _resnet18(tmp_path):
    import onnx

    from asymap.frontend.onnx_import import load_model
    from asymap.frontend.zoo import build_zoo_model

    path = tmp_path / "r18.onnx"
    onnx.save(build_zoo_model("resnet18", 32, width_mult=0.5), str(path))
    return load_model(path, weights=False)


def _cluster(slrs: int, boards: int = 1):
    """``boards`` U280s in a line (3 SLRs), or boards of 1 SLR with the same resources."""
    from asymap.cluster.load import cluster_from_dict

    names = [f"b{i}" for i in range(boards)]
    one = {"dsp": 2800, "bram36": 400, "uram": 300, "lut": 400000, "clock_mhz": 250, "mem_gbps": 10.0,
           "dsp_type": "DSP48E2", "slrs": 1}
    return cluster_from_dict({"boards": [{"name": n, "type": "u280"} if slrs == 3 else {"name": n, "resources": dict(one)}
                                         for n in names],
                              "links": [{"a": a, "b": b, "gbps": 100} for a, b in zip(names, names[1:])]})


# ResNet-18 (32 x 32, x0.5) on one U280 at this utilization: 26,801.0 images/s without splits,
# 29,246.6 with (both proven optimal).
UTIL = 0.12


def _check_slrs(plan, cluster, pb):
    """Every board's SLRs within their budgets, split layers' halves counted where they run."""
    from asymap.partition import costmodel as cm

    d = plan.to_dict()
    for b, bd in zip(plan.boards, d["boards"]):
        spec = next(x.spec for x in cluster.boards if x.name == b.name)
        tt = next(w for w in (pb.types[0].widths or [pb.types[0]]) if w.lanes == b.port_lanes)
        use = np.zeros((spec.slrs, 4), np.int64)
        for ly, lj in zip(b.layers, bd["layers"]):
            row = np.array([ly.dsp, ly.bram36, ly.uram, ly.lut])
            if ly.slr_lanes is None:
                assert "slr_lanes" not in lj
                use[ly.slr] += row
                continue
            (s, k), (s2, k2) = ly.slr_lanes
            assert s == ly.slr and s2 == s + 1 and k >= 1 and k2 >= 1 and k + k2 == ly.factors["pe"]
            info = (tt.infos or pb.infos)[ly.index]
            o = info.options
            oi = next(i for i in range(len(o.pe)) if o.pe[i] == ly.factors["pe"] and o.simd[i] == ly.factors["simd"]
                      and o.kpar[i] == ly.factors.get("kpar", 1) and not o.padded[i])
            a, bb = cm.split_resources(info, spec, cm.MODES.index(b.weights), oi, cm.MAC_KINDS.index(ly.mac), [k])
            assert (a[0] + bb[0] == row).all()
            use[s] += a[0]
            use[s2] += bb[0]
        assert (use <= tt.budget).all(), (b.name, use, tt.budget)
        splits = [ly.index for ly in b.layers if ly.slr_lanes]
        assert len({ly.slr for ly in b.layers if ly.slr_lanes}) == len(splits)  # one per boundary


def test_split_plan_beats_the_plan_without(tmp_path):
    from asymap.partition.planner import build_problem, plan

    g = _resnet18(tmp_path)
    cl = _cluster(3)
    whole = plan(g, cl, util=UTIL)
    split = plan(g, cl, util=UTIL, lane_split=True)
    assert split.interval_s < whole.interval_s * (1 - 1e-9)
    assert split.optimal and whole.optimal
    assert any(ly.slr_lanes for b in split.boards for ly in b.layers)
    assert not any(ly.slr_lanes for b in whole.boards for ly in b.layers)
    assert '"slr_lanes"' in split.to_json() and '"slr_lanes"' not in whole.to_json()
    assert split.options["lane_split"] is True and "lane_split" not in whole.options
    _check_slrs(split, cl, build_problem(g, cl, UTIL, True, True))


def test_single_slr_boards_plan_the_same(tmp_path):
    from asymap.partition.planner import plan

    g = _resnet18(tmp_path)
    cl = _cluster(1, boards=2)
    a, b = plan(g, cl).to_dict(), plan(g, cl, lane_split=True).to_dict()
    for d in (a, b):
        d.pop("options"), d.pop("options_sha256")
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


@pytest.mark.parametrize("seed", range(6))
def test_splits_never_slower_and_equal_plans_unchanged(chain, seed):
    from test_partition_search_reuse import _problem

    from asymap.partition.planner import plan

    g, cl, _ = _problem(chain, seed)
    try:
        whole = plan(g, cl)
    except Exception:  # (no fit: the test of that is elsewhere)
        return
    split = plan(g, cl, lane_split=True)
    assert split.interval_s <= whole.interval_s * (1 + 1e-12)
    assert split.lower_bound_s <= split.interval_s * (1 + 1e-12)
    if split.interval_s >= whole.interval_s * (1 - 1e-12):
        a, b = whole.to_dict(), split.to_dict()
        assert a["boards"] == b["boards"]


def test_lower_split_bounds_the_exact_segments(tmp_path):
    """Every short segment's lane-split relaxation is at most its exact optimum with splits (the
    first candidate T at which the exact reach, itself checked against enumeration, covers it)."""
    from asymap.partition import planner

    g = _resnet18(tmp_path)
    cl = _cluster(3)
    pb = planner.build_problem(g, cl, UTIL, True, True)
    tt = pb.types[0]
    planner._enable_split(pb)
    low = tt.table.lower_split
    L = len(pb.infos)
    clk = tt.spec.clock_hz
    checked = 0
    for w in range(max(1, len(tt.widths))):
        sub = planner._width(pb, 0, w)
        ks, _ = planner._knapsack(pb, 0, 0, w)
        ts = np.unique(np.concatenate([ks.opts[i][0] for i in range(L)]))
        for j in range(0, L - 3, 3):
            k = j + 4
            first = next((int(t) for t in ts if reach_slrs(ks, j, k, int(t), tt.spec.slrs, ks.halves)[0] >= k), None)
            if first is None:
                continue
            assert sub.table.lower_split[j, k] <= first / clk * (1 + 1e-12)
            assert low[j, k] <= first / clk * (1 + 1e-12)
            checked += 1
    assert checked


def test_crossings_count_the_split_streams(tmp_path):
    """partition/slrcross.py: a split layer's output is made in its second SLR (the zip), and the
    window stream's copy and half A's lanes cross its boundary."""
    import dataclasses

    from asymap.partition.planner import plan
    from asymap.partition.slrcross import HANDSHAKE_BITS, WEIGHT_STREAM_BITS, crossing_bits, lane_split_bits, stream_bits

    g = _resnet18(tmp_path)
    p = plan(g, _cluster(3), util=UTIL, lane_split=True)
    bp = next(b for b in p.boards if any(ly.slr_lanes for ly in b.layers))
    i, ly = next((i, ly) for i, ly in enumerate(bp.layers) if ly.slr_lanes)
    (s, k), (s2, _) = ly.slr_lanes
    whole = dataclasses.replace(bp, layers=list(bp.layers))
    whole.layers[i] = dataclasses.replace(ly, slr_lanes=None)
    out = g.layers[ly.index].output
    moved = sum(stream_bits(g.tensor_shapes[out], bp.port_lanes) for c in bp.layers
                if out in g.layers[c.index].inputs and c.slr >= s2)
    moved += sum(stream_bits(g.tensor_shapes[t], bp.port_lanes) for t in g.live_across(bp.last_layer) if t == out)
    added = sum(lane_split_bits(g.layers[ly.index], ly))  # the window copy, half A's lanes (and B's off-chip rows)
    first = min(c.slr for c in bp.layers)
    preload = WEIGHT_STREAM_BITS["preload"] + HANDSHAKE_BITS if ly.weights == "preload" else 0  # B's own URAM stream
    a, b = crossing_bits(g, bp), crossing_bits(g, whole)
    assert a[s] - b[s] == added + preload - moved
    assert all(a[x] - b[x] == (preload if first <= x < s else 0) for x in range(len(a)) if x != s)


def test_contract_accepts_the_split_plan_and_charges_its_halves(tmp_path):
    """partition/contract.py sums a split layer's two halves (split_resources), as the planner did."""
    from asymap.partition.contract import _layer_resources, check_contract
    from asymap.partition.costmodel import MAC_KINDS, MODES, layer_infos, split_resources
    from asymap.partition.planner import plan

    g = _resnet18(tmp_path)
    cl = _cluster(3)
    p = plan(g, cl, util=UTIL, lane_split=True)
    d = json.loads(p.to_json())
    check_contract(d, g, cl, "plan.json")
    b = d["boards"][0]
    ly = next(ly for ly in b["layers"] if "slr_lanes" in ly)
    infos = layer_infos(g, True, b["port_lanes"])
    info, spec = infos[ly["index"]], cl.boards[0].spec
    o = info.options
    oi = next(i for i in range(len(o.pe)) if o.pe[i] == ly["factors"]["pe"] and o.simd[i] == ly["factors"]["simd"]
              and o.kpar[i] == ly["factors"].get("kpar", 1) and not o.padded[i])
    md = MODES.index(b["weights"])
    a, h = split_resources(info, spec, md, oi, MAC_KINDS.index(ly["mac"]), [ly["slr_lanes"][0][1]])
    got = _layer_resources(info, spec, md, oi, ly["mac"], ly["slr_lanes"][0][1])
    assert (got == a[0] + h[0]).all()
    assert [ly["dsp"], ly["bram36"], ly["uram"], ly["lut"]] == (a[0] + h[0]).tolist()


def test_kernel_estimates_put_each_half_in_its_own_slr(tmp_path):
    """partition/ffmodel.py: a split layer's LUTs go half A's to its SLR and half B's to the next
    (split_resources), its flip-flops in the same proportion; the board's totals do not change."""
    import dataclasses

    from asymap.partition.costmodel import MAC_KINDS, MODES, layer_infos, split_resources
    from asymap.partition.ffmodel import kernel_estimates
    from asymap.partition.planner import plan

    g = _resnet18(tmp_path)
    cl = _cluster(3)
    p = plan(g, cl, util=UTIL, lane_split=True)
    bp = next(b for b in p.boards if any(ly.slr_lanes for ly in b.layers))
    i, ly = next((i, ly) for i, ly in enumerate(bp.layers) if ly.slr_lanes)
    (s, k), _ = ly.slr_lanes
    infos, spec = layer_infos(g, True, bp.port_lanes), cl.boards[0].spec
    o = infos[ly.index].options
    oi = next(r for r in range(len(o.pe)) if o.pe[r] == ly.factors["pe"] and o.simd[r] == ly.factors["simd"]
              and o.kpar[r] == ly.factors.get("kpar", 1))
    a, b = split_resources(infos[ly.index], spec, MODES.index(ly.weights if ly.weights == "offchip" else "onchip"),
                           oi, MAC_KINDS.index(ly.mac), [k])
    link = {"rx_lut": 7, "tx_lut": 11, "rx_ff": 13, "tx_ff": 17}
    whole = dataclasses.replace(bp, layers=list(bp.layers))
    whole.layers[i] = dataclasses.replace(ly, slr_lanes=None)
    kernel_estimates(bp, infos, spec, link)
    kernel_estimates(whole, infos, spec, link)
    moved = [x - y for x, y in zip(bp.slr_lut, whole.slr_lut)]
    assert moved[s] == -int(b[0][3]) and moved[s + 1] == int(b[0][3]) and int(a[0][3]) + int(b[0][3]) == ly.lut
    assert sum(moved) == 0 and [m for j, m in enumerate(moved) if j not in (s, s + 1)] == [0] * (len(moved) - 2)
    moved_ff = [x - y for x, y in zip(bp.slr_ff, whole.slr_ff)]
    assert sum(moved_ff) == 0 and moved_ff[s + 1] > 0
