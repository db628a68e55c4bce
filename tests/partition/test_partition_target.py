"""``--target-ips``: the fewest boards, then the fewest DSPs, reaching a throughput; checked against
brute force on small instances, and end to end (feasible, infeasible, CLI)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import yaml

from asymap.cluster.load import cluster_from_dict
from asymap.partition.exhaustive import simple_paths
from asymap.partition.planner import plan
from asymap.partition.target import fewest_boards


def _brute(seg, link, adj, tau, entry, exit):
    """Every path of distinct linked boards and every cut: min (boards, DSPs) within tau."""
    L = seg[0].shape[0] - 1
    best = None
    for path in simple_paths(adj, len(seg)):
        if len(path) > L or entry[path[0]] > tau or exit[path[-1]] > tau:
            continue
        for inner in itertools.combinations(range(1, L), len(path) - 1):
            cuts = (0, *inner, L)
            if any(link[(path[i - 1], path[i])][cuts[i]] > tau for i in range(1, len(path))):
                continue
            d = sum(seg[b][cuts[i], cuts[i + 1]] for i, b in enumerate(path))
            if np.isfinite(d) and (best is None or (len(path), d) < best):
                best = (len(path), d)
    return best


@pytest.mark.parametrize("seed", range(60))
def test_fewest_boards_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    L = int(rng.integers(2, 9))
    n = int(rng.integers(1, 5))
    seg = []
    for _ in range(n):
        m = np.full((L + 1, L + 1), np.inf)
        for j in range(L):
            for k in range(j + 1, L + 1):
                if rng.random() < 0.6 + 0.4 / (k - j):  # long segments fit less often
                    m[j, k] = float(rng.integers(1, 50) * (k - j))
        seg.append(m)
    adj = [[] for _ in range(n)]
    link = {}
    for a in range(n):
        for b in range(a + 1, n):
            if b == a + 1 or rng.random() < 0.3:
                v = rng.random(L + 1) * 1.2
                link[(a, b)] = link[(b, a)] = v
                adj[a].append(b)
                adj[b].append(a)
    tau = 1.0
    entry, exit = rng.random(n) * 1.1, rng.random(n) * 1.05
    r = fewest_boards(seg, link, adj, tau, entry, exit)
    want = _brute(seg, link, adj, tau, entry, exit)
    if want is None:
        assert r.boards == 0
        return
    assert (r.boards, r.dsp) == want
    assert r.exact and len(r.path) == r.boards and r.cuts[0] == 0 and r.cuts[-1] == L
    got = sum(seg[b][r.cuts[i], r.cuts[i + 1]] for i, b in enumerate(r.path))
    assert got == r.dsp
    for a, b in zip(r.path, r.path[1:]):
        assert b in adj[a]


def _cluster(n=4, dsp=120):
    res = {"dsp": dsp, "bram36": 100, "uram": 0, "lut": 60000, "clock_mhz": 100, "mem_gbps": 1}
    boards = [{"name": f"b{i}", "resources": res} for i in range(n)]
    links = [{"a": f"b{i}", "b": f"b{i + 1}", "gbps": 10, "latency_ns": 100} for i in range(n - 1)]
    return cluster_from_dict({"boards": boards, "links": links})


@pytest.fixture
def small(chain):
    return chain([("conv", 16, 3, 1), ("conv", 16, 3, 1), ("add", 2), ("conv", 32, 3, 2), ("conv", 32, 1, 1),
                  ("gap",), ("fc", 10)], input_shape=(8, 16, 16))


def test_target_feasible_uses_the_fewest_boards(small):
    c = _cluster()
    rates = [plan(small, c, boards=k).throughput_ips for k in range(1, 5)]
    assert rates[-1] > rates[0], "the instance must reward more boards"
    goal = (rates[0] + rates[-1]) / 2
    p = plan(small, c, target_ips=goal)
    need = next(k for k in range(1, 5) if rates[k - 1] >= goal)  # fewest boards able to reach the goal
    assert p.target["met"] and p.target["boards"] == len(p.boards) == need
    assert p.throughput_ips >= goal * (1 - 1e-9)
    # No DSP comparison with the max-throughput plan: with MAC kinds (packed, DSP or LUT
    # multipliers) a faster configuration may trade DSPs for LUTs, so DSPs are not monotone in
    # the interval; the fewest-DSP choice is checked against brute force in
    # test_fewest_boards_equals_brute_force.


def test_target_infeasible_reports_the_best(small, tmp_path, run_cli):
    c = _cluster()
    best = plan(small, c)
    p = plan(small, c, target_ips=best.throughput_ips * 2)
    assert not p.target["met"] and p.throughput_ips == pytest.approx(best.throughput_ips)
    assert p.target["best_ips"] == pytest.approx(best.throughput_ips)
    with pytest.raises(Exception, match="target-ips"):
        plan(small, c, target_ips=-1)


def test_target_cli(tmp_path, run_cli):
    import onnx

    from asymap.frontend.zoo import build_zoo_model

    m = tmp_path / "tiny.onnx"
    onnx.save(build_zoo_model("tiny", 32), str(m))
    res = {"dsp": 200, "bram36": 100, "uram": 0, "lut": 40000, "clock_mhz": 100, "mem_gbps": 1}
    cl = tmp_path / "c.yaml"
    cl.write_text(yaml.safe_dump({"boards": [{"name": f"b{i}", "resources": res} for i in range(3)],
                                  "links": [{"a": "b0", "b": "b1", "gbps": 10}, {"a": "b1", "b": "b2", "gbps": 10}]}))
    ok = run_cli("plan", str(m), str(cl), "--target-ips", "1", "-o", "p.json", check=True)
    assert "target 1 images/s: met with 1 board(s)" in ok.stdout
    # Target mode's optimality is about its own objective: no interval gap bound beside it.
    assert "optimal: yes (the fewest boards reaching the target; DSPs the fewest found;" in ok.stdout
    assert "gap bound" not in ok.stdout
    bad = run_cli("plan", str(m), str(cl), "--target-ips", "1e12")
    assert bad.returncode == 1 and "not reachable" in bad.stderr and "NOT reachable" in bad.stdout


def test_target_builds_each_board_at_the_width_of_its_fewest_dsps(small):
    """Port widths per board: at the target's interval a segment may need fewer DSPs at a narrower
    port than at the width it takes at full speed (its fastest). The target mode minimises the DSPs
    of the width it builds, so plan.json's boards[].port_lanes is that width, each board whose
    segment meets tau with its layers' cheapest menu rows has the fewest DSPs of any width, and
    target.dsp is their sum -- equal to brute force over every path, cut and width where every
    board is such a segment, and at most that where the exact inner solve made another segment
    real. (Before, the search minimised over widths but built the fastest width: 113 DSPs
    reported against 81 minimised here.)"""
    from asymap.partition.planner import build_problem
    from asymap.partition.target_split import menu_dsp

    c = _cluster(dsp=400)
    pb = build_problem(small, c)
    (tt,) = pb.types
    lanes = [w.lanes for w in tt.widths]
    assert len(lanes) > 1, "the instance must offer several port widths"
    differs = 0
    for f in (0.1, 0.3, 0.55, 0.8):
        ips = plan(small, c).throughput_ips * f
        p = plan(small, c, target_ips=ips)
        tau = 1.0 / ips
        assert p.target["met"] and p.target["exact"]
        per_width = [menu_dsp(pb, w, tau) for w in tt.widths]
        menu_only = True
        for bp in p.boards:
            j, k = bp.first_layer, bp.last_layer + 1
            dsp = [d[j, k] for d in per_width]
            if not np.isfinite(min(dsp)):  # (a segment the exact inner solve made real at tau)
                menu_only = False
                continue
            assert bp.resources["dsp"][0] == min(dsp) == dsp[lanes.index(bp.port_lanes)], (f, bp.name, dsp)
            differs += bp.port_lanes != lanes[int(tt.width_of[j, k])]
        assert p.target["dsp"] == sum(bp.resources["dsp"][0] for bp in p.boards)
        seg = [np.min(np.stack(per_width), axis=0)] * len(c.boards)
        z = np.zeros(len(c.boards))
        want = _brute(seg, pb.link, pb.adj, tau, z, z)
        got = (p.target["boards"], p.target["dsp"])
        assert got == want if menu_only else got <= want, (f, got, want)
    assert differs, "some board must be built at another width than its fastest"
