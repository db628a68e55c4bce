"""The plan table says so when a baseline design is faster than the plan (asymap.partition.table)."""

from __future__ import annotations

import copy

from asymap.cluster.load import cluster_from_dict
from asymap.partition.planner import plan
from asymap.partition.table import render


def test_a_faster_baseline_is_named_under_the_baselines(chain):
    """No note while the plan is the fastest; a baseline made faster than the plan is named with
    its rate, and the note says whether a faster pipeline may exist (the plan's gap) or provably
    does not (a proven plan)."""
    g = chain([("conv", 16, 3, 1)] * 6, input_shape=(16, 8, 8))
    res = {"dsp": 60, "bram36": 40, "uram": 0, "lut": 20000, "clock_mhz": 100, "mem_gbps": 1}
    p = plan(g, cluster_from_dict({"boards": [{"name": "a", "resources": res}], "links": []}))
    assert p.optimal and all(b["throughput_ips"] <= p.throughput_ips for b in p.baselines.values())
    assert "note:" not in render(p)

    q = copy.deepcopy(p)
    q.baselines["reuse_single"]["throughput_ips"] = 2 * p.throughput_ips
    ips = 2 * p.throughput_ips
    lines = [ln for ln in render(q).splitlines() if "note:" in ln]
    assert lines == [f"  note: the baseline reuse_single on a ({ips:.1f} images/s) is faster than this plan; "
                     "this plan is proven optimal: no pipeline on this cluster beats it"]

    q.optimal, q.gap_bound = False, 0.25
    (line,) = [ln for ln in render(q).splitlines() if "note:" in ln]
    assert line.endswith("this plan is not proven optimal (gap bound 25.00%): a faster pipeline may exist")
