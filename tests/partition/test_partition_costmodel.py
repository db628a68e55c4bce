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
        (0, 8, 4): (9504, [16, 4, 0, 1100], 32, [16, 5, 0, 1764]),
        (1, 8, 8): (1032, [32, 0, 0, 1948], 64, [32, 2, 0, 2532]),
        (2, 1, 1): (256, [0, 0, 0, 394], 0, [0, 0, 0, 394]),
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
    assert infos[0].options.cycles_off[_pick(infos[0], 8, 4)] == 9744 and "**9744**" in doc
    interval = 9504 / zcu102.clock_hz
    assert interval == pytest.approx(38.016e-6, rel=1e-12)
    assert 2 * example.macs / interval / 1e9 == pytest.approx(18.963, abs=1e-3)
    assert "**4.2768 us**" in doc and "**38.016 us**" in doc and "**18.96 GOPS**" in doc


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
    o = infos[1].options  # C_out = 13 is prime: padded powers of two are offered
    assert set(o.pe[o.padded].tolist()) == {2, 4, 8}
    for spec in (load_board_type("u250"), load_board_type("pynq-z2")):
        for mode in (ONCHIP, OFFCHIP):
            for m in board_menus(infos, spec, mode):
                assert np.all(np.diff(m.cycles) < 0)
                assert np.all(np.diff(m.lo_res, axis=0) >= 0) and np.all(np.diff(m.lo_cycles) < 0)
    assert divisors(12) == [1, 2, 3, 4, 6, 12]


def test_plan_equals_brute_force_on_a_real_chain(chain):
    """Real menus (every divisor pair, kpar included), small custom boards, four layers: DP == brute force."""
    g = chain([("conv", 4, 3, 1), ("conv", 4, 1, 1), ("add", 2), ("conv", 6, 3, 2)], input_shape=(2, 8, 8))
    small = {"dsp": 8, "bram36": 4, "uram": 0, "lut": 1800, "clock_mhz": 100, "mem_gbps": 0.001}
    big = {"dsp": 30, "bram36": 20, "uram": 0, "lut": 1700, "clock_mhz": 200, "mem_gbps": 0.01, "dsp_type": "DSP48E2"}
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
