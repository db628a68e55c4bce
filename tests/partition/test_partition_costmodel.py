"""The cost model's numbers equal the worked example of docs/cost-model.md exactly, and the
planner's answer on a small real chain equals brute force over the real menus."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from asymap.cluster.boards import load_board_type
from asymap.cluster.load import Link, cluster_from_dict
from asymap.partition.costmodel import (
    OFFCHIP, ONCHIP, bram_count, board_menus, budget, divisors, layer_infos, option_resources, streamed_bytes,
)
from asymap.partition.exhaustive import brute_segment, exhaustive
from asymap.partition.planner import build_problem, plan


@pytest.fixture
def example(chain):
    return chain([("conv", 32, 3, 1), ("conv", 32, 1, 1), ("add", 2)], input_shape=(16, 8, 8))


def _pick(info, pe, simd):
    o = info.options
    return int(np.nonzero((o.pe == pe) & (o.simd == simd))[0][0])


def test_worked_example_numbers(example, repo_root):
    infos = layer_infos(example)
    zcu102, zc706 = load_board_type("zcu102"), load_board_type("zc706")
    doc = (repo_root / "docs" / "cost-model.md").read_text()
    expect = {  # (layer, pe, simd): cycles, zcu102 onchip [dsp, bram, uram, lut], zc706 dsp, offchip
        (0, 8, 4): (9303, [48, 4, 0, 1220], 64, [48, 5, 0, 1884]),
        (1, 8, 8): (1042, [64, 0, 0, 2188], 96, [64, 2, 0, 2772]),
        (2, 1, 1): (262, [32, 0, 0, 394], 32, [32, 0, 0, 394]),
    }
    for (li, pe, simd), (cyc, res, dsp7, off) in expect.items():
        k = _pick(infos[li], pe, simd)
        assert infos[li].options.cycles[k] == cyc
        assert option_resources(infos[li], zcu102, ONCHIP)[k].tolist() == res
        assert option_resources(infos[li], zc706, ONCHIP)[k][0] == dsp7
        assert option_resources(infos[li], zcu102, OFFCHIP)[k].tolist() == off
        assert f"**{cyc}**" in doc
    assert [lay.macs for lay in example.layers] == [294912, 65536, 0]
    assert infos[2].skip_bytes == 512 and infos[0].buffer_bytes == 512
    assert example.cut_bytes(1) == 4096
    assert Link("a", "b", 10, 1000).seconds(example.cut_bytes(1)) == pytest.approx(4.2768e-6, rel=1e-12)
    assert infos[0].options.cycles_off[_pick(infos[0], 8, 4)] == 9616 and "**9616**" in doc
    interval = 9303 / zcu102.clock_hz
    assert interval == pytest.approx(37.212e-6, rel=1e-12)
    assert 2 * example.macs / interval / 1e9 == pytest.approx(19.373, abs=1e-3)
    assert "**4.2768 us**" in doc and "**37.212 us**" in doc and "**19.37 GOPS**" in doc
    # the fair reuse baseline on the same chain (docs/cost-model.md, worked example): any Tn x Tm,
    # Tn over the flattened C_in*kh*kw, double-buffered loads, feature maps on chip
    from asymap.partition.baselines import reuse_interval

    t, (tn, tm) = reuse_interval(example, zcu102, 0.8)
    assert (tn, tm) == (72, 56) and t == pytest.approx(1.28e-6, rel=1e-12)
    assert "**1.28 us**" in doc and "Tn = 72, Tm = 56" in doc


def test_bram_aspect_ratios():
    assert bram_count(8, 1000).item() == 1  # 9 x 4096
    assert bram_count(512, 16).item() == 8  # 72 x 512, 8 wide
    assert bram_count(72, 513).item() == 2
    assert bram_count(1, 32768).item() == 1 and bram_count(1, 32769).item() == 2


def test_factors_are_legal_and_menus_monotone(chain):
    g = chain([("conv", 12, 3, 1), ("conv", 13, 3, 2), ("conv", 8, 1, 1), ("gap",), ("fc", 10)], input_shape=(6, 8, 8))
    infos = layer_infos(g)
    assert not any(i.options.padded.any() for i in layer_infos(g, pad=False))
    for info in infos:
        lay, o = info.layer, info.options
        for pe, simd, pad in zip(o.pe, o.simd, o.padded):
            assert pad or lay.c_out % pe == 0
            cin = int(lay.weight.shape[1]) if lay.op == "fc" else lay.c_in // lay.groups
            assert cin % simd == 0
    o = infos[1].options  # C_out = 13 is prime: padded powers of two below it (pe 7 would waste 1 of 14 > 1/16)
    assert set(o.pe[o.padded].tolist()) == {2, 4, 8}
    o = infos[0].options  # C_out = 12: pe 5 (3 folds) wastes 3 channels of 15, 7 (2 folds) 2 of 14: > 1/16
    assert not o.padded.any()
    for spec in (load_board_type("u250"), load_board_type("pynq-z2")):
        for mode in (ONCHIP, OFFCHIP):
            for m in board_menus(infos, spec, mode):
                assert np.all(np.diff(m.cycles) < 0)
                assert np.all(np.diff(m.lo_res, axis=0) >= 0) and np.all(np.diff(m.lo_cycles) < 0)
    assert divisors(12) == [1, 2, 3, 4, 6, 12]


def test_padded_pe_menu():
    """Padded pe (issue 12): one pe per fold count, never a divisor, waste <= PAD_WASTE, fold counts
    at least PAD_STEP apart; primes keep their powers of two; depthwise and grouped convs, --no-pad
    and wide output ports get divisors only."""
    from asymap.partition.costmodel import PAD_STEP, PAD_WASTE, _padded_pes

    assert _padded_pes(64) == [3, 5, 6, 11, 13, 22]  # 7 and 10 pad to 70: 6 of 64 > 1/16
    assert _padded_pes(48) == [5, 7, 10]
    assert {37, 43} <= set(_padded_pes(256)) and {3, 7} <= set(_padded_pes(1000))
    for c in list(range(4, 130)) + [256, 512, 1000, 1024, 2048]:
        pes = _padded_pes(c)
        ds = divisors(c)
        prime = len(ds) == 2
        powers = {1 << k for k in range(1, c.bit_length()) if (1 << k) < c}
        if prime:
            assert powers <= set(pes), c  # what primes were offered before
        fold = [p for p in pes if not (prime and p in powers)]
        nfs = [-(-c // p) for p in fold]
        assert len(set(nfs)) == len(nfs), c  # one pe per fold count, the smallest
        assert all(p == -(-c // nf) for p, nf in zip(fold, nfs)), c
        for p in pes:
            assert c % p and 1 < p < c, (c, p)
            nf = -(-c // p)
            if p in fold:
                assert nf * p - c <= PAD_WASTE * c, (c, p)
                slower = [-(-c // q) for q in ds + pes if q < p]
                assert min(slower) * (1 - PAD_STEP) >= nf, (c, p)
    assert not _padded_pes(3) and _padded_pes(5) == [2, 4]


def test_padded_pe_only_where_the_engines_take_it(chain):
    """conv (KxK, 1x1) and fc get padded pe, sized to out_cp; grouped and depthwise convs (PE lanes
    of a fold share one input word: conv.h) and --no-pad get divisors only."""
    from asymap.frontend.ir import CONV, Layer
    from asymap.partition.costmodel import layer_options

    g = chain([("conv", 64, 3, 1), ("conv", 64, 1, 1), ("gap",), ("fc", 1000)], input_shape=(8, 8, 8))
    infos = layer_infos(g)
    for i in (0, 1, 3):
        assert infos[i].options.padded.any(), i
    assert not any(i.options.padded.any() for i in layer_infos(g, pad=False))
    o = infos[0].options  # the weight memory holds ceil(C_out / pe) folds of rows
    assert np.array_equal(o.wdepth, (9 // o.kpar) * (8 // o.simd) * -(-64 // o.pe))
    rng = np.random.default_rng(0)
    for groups in (2, 64):  # grouped, depthwise
        lay = Layer(0, "g", CONV, ["x"], "y", [(64, 6, 6)], (64, 6, 6), kernel=(3, 3), stride=(1, 1),
                    pads=(1, 1, 1, 1), groups=groups,
                    weight=rng.standard_normal((64, 64 // groups, 3, 3)).astype(np.float32),
                    bias=np.zeros(64, np.float32))
        o = layer_options(lay)
        assert not o.padded.any() and all((64 // groups if groups < 64 else 64) % p == 0 for p in o.pe)


def test_padded_pe_resources(chain):
    """What a padded engine pays beyond its MACs: the lcm gearbox registers (pe = 7 to 8 lanes:
    56-byte chunks, 48 bytes more than the 8-byte word, 8 LUTs each), bias/requant tables of
    out_cp entries, and weight ROMs of 64-bit banks (a 12-byte row takes 2 banks)."""
    from asymap.partition.costmodel import gearbox_luts, mac_gearbox_luts, option_resources

    assert gearbox_luts(7, 8) == 8 * 48 and gearbox_luts(37, 8) == 8 * (296 - 37)
    assert gearbox_luts(16, 8) == 0 and gearbox_luts(8, 4) == 0 and gearbox_luts(24, 3) == 0
    g = chain([("conv", 64, 3, 1), ("conv", 64, 1, 1)], input_shape=(64, 16, 16))
    infos = layer_infos(g)
    spec = load_board_type("zcu102")
    o, lay = infos[0].options, infos[0].layer
    i11 = int(np.flatnonzero((o.pe == 11) & (o.simd == 8) & o.padded)[0])
    i8 = int(np.flatnonzero((o.pe == 8) & (o.simd == 8))[0])
    assert int(mac_gearbox_luts(lay, 11, 8)) == 8 * (88 - 11)
    r11, r8 = option_resources(infos[0], spec, ONCHIP, [i11, i8], [1, 1])  # one MAC per DSP
    # LUT difference: adder tree and accumulators of 3 more PEs, out_cp 66 vs 64, the 88-byte chunks
    assert r11[3] - r8[3] == 12 * 3 * 8 + 40 * 3 + 2 + 8 * 77
    # ROM: rows of 88 (11 words) vs 64 bytes (8 words), depth 9 * 8 * 6 = 432 vs 9 * 8 * 8 = 576
    assert o.wdepth[i11] == 432 and o.wdepth[i8] == 576
    # banks x ceil(depth / 512), + 1 BRAM36 of line buffer (4 rows x 16 x 64 bytes, simd-wide words)
    assert r11[1] == 11 * 1 + 1 and r8[1] == 8 * 2 + 1
    i3 = int(np.flatnonzero((o.pe == 3) & (o.simd == 4) & o.padded)[0])  # 12-byte rows: 2 banks
    depth = int(o.wdepth[i3])  # 9 * 16 * 22 = 3168 words
    assert depth == 3168
    store = option_resources(infos[0], spec, ONCHIP, [i3], [1])[0]
    # ceil(3168 / 512) = 7 per bank (one 96-bit-wide memory would take 11 as 9x4K), + line buffer
    assert store[1] == 2 * 7 + 1


def test_plan_equals_brute_force_on_a_real_chain(chain):
    """Real menus (every divisor pair, kpar included), small custom boards, four layers: DP == brute force."""
    g = chain([("conv", 4, 3, 1), ("conv", 4, 1, 1), ("add", 2), ("conv", 6, 3, 2)], input_shape=(2, 8, 8))
    # LUTs: the (2, 8, 8) input and the 4-channel tensors travel on wide ports (8 pixels per beat),
    # whose registers and FIFOs each layer pays (costmodel.wide_port_luts)
    # (+2,500 LUTs each for the link (un)packers the search keeps free, transport.link_kernel_reserve)
    small = {"dsp": 8, "bram36": 4, "uram": 0, "lut": 5100, "clock_mhz": 100, "mem_gbps": 0.001}
    big = {"dsp": 30, "bram36": 20, "uram": 0, "lut": 5000, "clock_mhz": 200, "mem_gbps": 0.01, "dsp_type": "DSP48E2"}
    c = cluster_from_dict(yaml.safe_load(yaml.safe_dump({
        "boards": [{"name": "s", "resources": small}, {"name": "b", "resources": big}, {"name": "s2", "resources": small}],
        "links": [{"a": "s", "b": "b", "gbps": 1, "latency_ns": 100}, {"a": "b", "b": "s2", "gbps": 0.5}],
    })))
    p = plan(g, c)
    pb = build_problem(g, c)
    wbytes = streamed_bytes(pb.infos)

    def seg_fn(b, j, k):
        tt = pb.types[pb.board_type[b]]
        return brute_segment(tt.menus[0], tt.menus[1], tt.budget, tt.spec.clock_hz, wbytes, tt.spec.mem_gbps * 1e9, j, k)

    best, path, cuts = exhaustive(seg_fn, pb.link, pb.adj, len(g.layers), 3)
    assert p.interval_s == best
    assert len(p.boards) >= 2, "the instance should need more than one board"
    assert p.optimal and p.gap_bound == 0.0
    # the plan's per-layer choices reproduce its interval and respect every budget
    for bp in p.boards:
        spec = c.board(bp.name).spec
        assert max(lp.cycles for lp in bp.layers) / spec.clock_hz <= p.interval_s * (1 + 1e-12)
        for r, (used, avail) in bp.resources.items():
            assert used <= budget(spec, 0.8)[["dsp", "bram36", "uram", "lut"].index(r)]


def _host_cluster(attach, host_gbps=8, first_big=False):
    small = {"dsp": 1, "bram36": 60, "uram": 0, "lut": 60000, "clock_mhz": 100, "mem_gbps": 1}
    big = {"dsp": 400, "bram36": 200, "uram": 0, "lut": 200000, "clock_mhz": 100, "mem_gbps": 1}
    boards = [{"name": "fwd", "resources": small}, {"name": "big", "resources": big}, {"name": "b2", "resources": big}]
    links = [{"a": "fwd", "b": "big", "gbps": 10, "latency_ns": 1000}, {"a": "big", "b": "b2", "gbps": 100}]
    return cluster_from_dict({"boards": boards, "links": links,
                              "host": {"name": "pc", "attach": attach, "gbps": host_gbps, "latency_ns": 2000}})


def test_host_path_is_charged_and_forwarding_boards_shown(chain):
    g = chain([("conv", 32, 3, 1), ("conv", 32, 3, 1), ("conv", 32, 3, 1), ("fc", 10)], input_shape=(16, 16, 16))
    p = plan(g, _host_cluster("fwd"))
    hp = p.host_path
    assert hp["attach"] == "fwd" and hp["in"][0]["from"] == "pc" and hp["out"][-1]["to"] == "pc"
    names = [b.name for b in p.boards]
    assert "fwd" not in names  # too small for any conv (1 DSP): the image only passes through it
    assert hp["forwarding"] == ["fwd"] and [h["to"] for h in hp["in"]][:2] == ["fwd", "big"]
    in_bytes = 16 * 16 * 16
    assert hp["in"][0]["bytes_per_image"] == in_bytes
    assert hp["in"][0]["interval_s"] == pytest.approx(in_bytes * 8 / 8e9 + 2e-6)
    stages = [h["interval_s"] for h in hp["in"] + hp["out"]]
    assert p.interval_s >= max(stages)
    assert p.latency_s >= sum(stages)
    # a slow host link becomes the bottleneck, and the planner knows it (no plan beats it)
    slow = plan(g, _host_cluster("fwd", host_gbps=0.01))
    assert slow.bottleneck == "pc->fwd"
    assert slow.interval_s == pytest.approx(in_bytes * 8 / 0.01e9 + 2e-6)
    assert slow.optimal
    d = slow.to_dict()
    assert d["host_path"]["in"][0]["gbps"] == 0.01


def test_slr_budget_and_packing(chain):
    from asymap.cluster.boards import load_board_type
    from asymap.partition.costmodel import pack_slrs, slr_budget

    u280 = load_board_type("u280")
    assert slr_budget(u280, 0.8).tolist() == [8490 * 8 // 30, 1487 * 8 // 30, 960 * 8 // 30, 1079000 * 8 // 30]
    assert pack_slrs([np.array([3, 0, 0, 0])] * 3, np.array([6, 1, 1, 1]), 2) == [0, 0, 1]
    assert pack_slrs([np.array([3, 0, 0, 0])] * 5, np.array([6, 1, 1, 1]), 2) is None
    assert pack_slrs([np.array([7, 0, 0, 0])], np.array([6, 1, 1, 1]), 3) is None  # no engine straddles
    g = chain([("conv", 32, 3, 1), ("conv", 32, 3, 1), ("conv", 32, 3, 1), ("conv", 32, 3, 1)], input_shape=(32, 16, 16))
    res = {"dsp": 600, "bram36": 400, "uram": 0, "lut": 400000, "clock_mhz": 100, "mem_gbps": 1}
    one = plan(g, cluster_from_dict({"boards": [{"name": "a", "resources": res}], "links": []}))
    two = plan(g, cluster_from_dict({"boards": [{"name": "a", "resources": {**res, "slrs": 2}}], "links": []}))
    assert two.interval_s >= one.interval_s  # splitting the budget never helps
    slrs = [lp.slr for lp in two.boards[0].layers]
    assert slrs == sorted(slrs) and set(slrs) <= {0, 1}
    per = slr_budget(two.boards[0] and load_board_type("u280"), 0.8)  # noqa: F841 (API smoke)
    for s_ in set(slrs):
        dsp = sum(lp.dsp for lp in two.boards[0].layers if lp.slr == s_)
        assert dsp <= 600 * 0.8 / 2


def test_published_references_are_compared(chain, tmp_path):
    """A board type's published throughput of the planned model shows up with the plan's ratio."""
    from asymap.partition.table import render

    g = chain([("conv", 16, 3, 1), ("conv", 16, 3, 1)], input_shape=(8, 8, 8))
    res = {"dsp": 200, "bram36": 100, "uram": 0, "lut": 60000, "clock_mhz": 100, "mem_gbps": 1,
           "reference": [{"model": "Chain", "ips": 1000.0, "source": "a lab notebook"},
                         {"model": "other", "ips": 5.0, "source": "x"}]}
    p = plan(g, cluster_from_dict({"boards": [{"name": "a", "resources": res}], "links": []}))
    (typ, ref), = p.references.items()
    assert typ == "custom:a" and ref["model"] == "Chain" and ref["ips"] == 1000.0
    assert ref["ratio"] == pytest.approx(p.throughput_ips / 1000.0)
    assert "a lab notebook" in render(p) and p.to_dict()["references"] == p.references
