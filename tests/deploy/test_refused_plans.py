"""Plans deployment refuses: ``asymap plan`` finds the best plan it accepts, and a refused
``generate`` is one line.

``asymap generate`` refuses (docs/deploy.md, "One xclbin per FPGA") two links on lanes of one
Alveo cage, a host-path hop over a pipeline link in the same direction, two kernel clocks on one
transport or block design, and a link whose latency its credit bridge cannot cover. ``asymap plan``
passes the same checks (``codegen.deploy.check_deployable``) to the planner, which branches on the
link ends a refusal names (asymap.partition.deployable): its plan is the best plan deployment
accepts, with its proven bound, checked here against brute force over every path of small
clusters; it refuses, in generate's own words, only when no plan is accepted. ``generate`` runs
the checks from the plan alone before its first progress line and its first file, with the other
refusals a user can cause (calibration set, input image).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from pathlib import Path

import numpy as np
import onnx
import pytest

from asymap.cluster.load import load_cluster
from asymap.frontend.zoo import build_zoo_model
from clusters_yaml import RING, U50_LINE, cluster_yaml

LONG_LINK = cluster_yaml([("a", "u250"), ("b", "u250")], [("a", "b", 10, 1000000)])
# 60 us one way on 10G: the credit bridge's receive buffer would need 32,768 entries, beyond its counters.
LONG_ZCU = cluster_yaml([("a", "zcu102"), ("b", "zcu102")], [("a", "b", 10, 60000)])
# A U50 hub between three cards, the host on the hub: every chain through the hub takes two of its
# links on its one cage, and every route from the hub runs over one.
HUB = cluster_yaml([("hub", "u50"), ("x", "u250"), ("y", "u280"), ("z", "u55c")],
                   [("hub", "x", 10, 500), ("hub", "y", 10, 500), ("x", "z", 100, 500), ("y", "z", 100, 500)],
                   ("hub", 64))
# The same line on 100G: a CMAC takes the middle card's whole cage, so its second link gets none, which
# 'generate' notes and 'asymap build --step link' refuses (the plan's checks refuse it: link_step).
U50_LINE_100G = cluster_yaml([("ua", "u50"), ("mid", "u50"), ("ub", "u50")],
                             [("ua", "mid", 100, 500), ("mid", "ub", 100, 500)])
# Five U50s in a line: every accepted plan has at most two cards, and the branches split the line
# into parts the deployable search takes one by one (deployable.parts).
U50_LINE5 = cluster_yaml([(f"u{i}", "u50") for i in range(5)], [(f"u{i}", f"u{i + 1}", 10, 500) for i in range(4)])
# The edge4 preset: the ZCU104 has no cage at all, so none of its links is built.
EDGE4 = (Path(__file__).resolve().parents[2] / "clusters" / "edge4.yaml").read_text()
CAGE = ("board 'mid' (u50)", "link 1 (10 Gb/s from ua, lane 0)", "link 2 (10 Gb/s to ub, lane 1)", "cage qsfp0",
        "io_gt_qsfp0_00", "end of the chain")


def _files(tmp_path, yaml_text: str, model: str = "tiny", size: int = 32, width: float = 1.0):
    (tmp_path / "c.yaml").write_text(yaml_text)
    onnx.save(build_zoo_model(model, input_size=size, width_mult=width, seed=0), str(tmp_path / "m.onnx"))
    return tmp_path / "m.onnx", tmp_path / "c.yaml"


def _message(proc) -> str:
    """The one stderr line without its 'asymap <command>: error: ' prefix."""
    return proc.stderr.strip().split(": error: ", 1)[1]


def _paths(pb) -> list[list[int]]:
    """Every simple path of the cluster's topology, each way, one board included."""
    n = len(pb.adj)
    out = []
    for k in range(1, n + 1):
        for p in itertools.permutations(range(n), k):
            if all(b in pb.adj[a] for a, b in zip(p, p[1:])):
                out.append(list(p))
    return out


def _brute_deployable(graph, cluster, util: float, max_boards: int | None = None):
    """(interval, path) of the best plan deployment accepts, by brute force over paths: on each
    simple path of the topology the best plan on exactly that path (every other link, first and
    last board forbidden; proven by the planner), kept if check_deployable accepts it. What deploy
    checks depends on the path alone (its links, and the host routes its ends fix), not on the cuts."""
    from asymap.codegen.deploy import check_deployable
    from asymap.partition import deployable, planner

    pb = planner.build_problem(graph, cluster, util)
    best = (np.inf, None)
    for path in _paths(pb):
        if max_boards is not None and len(path) > max_boards:
            continue
        pf = deployable.forbid(pb, _path_forbidden(pb, path))
        k = len(path)
        res, lb = planner._solve(pf, k, planner._bounds(pf, k)[-1], planner.DEFAULT_BEAM, planner.EXACT_BOARDS)
        if not np.isfinite(res.interval):
            continue
        assert res.path == path
        assert planner._proven_bound(pf, res, lb, k) >= res.interval * (1 - 1e-12), path  # the path's optimum
        bplans, lplans, hp, _ = planner._expand(pb, graph, res, res.interval, [None] * k)
        if planner._refusal(lambda d: check_deployable(graph, d, cluster, link_step=True), graph, bplans, lplans, hp) is None:
            best = min(best, (res.interval, path), key=lambda x: x[0])
    return best


@pytest.mark.parametrize("yaml_text,model,size,width,utils", [
    (U50_LINE, "tiny", 32, 1.0, (0.04, 0.05)),
    (U50_LINE, "resnet18", 32, 0.5, (0.05, 0.1)),
    (U50_LINE_100G, "resnet18", 32, 0.5, (0.05, 0.1)),
    (U50_LINE5, "resnet18", 32, 0.5, (0.05, 0.1)),
    (EDGE4, "tiny", 32, 1.0, (0.1, 0.8)),
    (RING, "resnet18", 32, 0.5, (0.06, 0.1)),
    (LONG_ZCU, "resnet18", 64, 1.0, (0.8,)),
    (HUB, "resnet18", 32, 0.5, (0.03, 0.06)),
])
def test_plan_is_the_best_deployable_plan_by_brute_force(tmp_path, yaml_text, model, size, width, utils):
    """On small clusters where the fastest plan is refused (a cage carrying two links, a result route
    over a pipeline link the same way, a link too long for its credit bridge), ``plan`` with deploy's
    checks returns a plan they accept, as fast as the best accepted plan over every path, proven."""
    from asymap.codegen.deploy import check_deployable
    from asymap.frontend.onnx_import import load_model
    from asymap.partition.planner import plan

    m, c = _files(tmp_path, yaml_text, model, size, width)
    g, cl = load_model(m, weights=False), load_cluster(c)
    refused = 0
    for util in utils:
        want, path = _brute_deployable(g, cl, util)
        fastest = plan(g, cl, util=util)
        p = plan(g, cl, util=util, deployable=lambda d: check_deployable(g, d, cl, link_step=True))
        check_deployable(g, p.to_dict(), cl, link_step=True)
        assert p.interval_s == pytest.approx(want, rel=1e-9), (util, path, [b.name for b in p.boards])
        assert p.optimal and p.lower_bound_s <= want * (1 + 1e-9)
        dep = p.search.get("deploy")
        try:
            check_deployable(g, fastest.to_dict(), cl, link_step=True)
            assert dep is None and p.interval_s == fastest.interval_s  # nothing refused: the same plan
        except Exception:
            refused += 1
            assert dep["refused"] >= 1 and not dep["capped"] and p.interval_s >= fastest.interval_s * (1 - 1e-12)
    assert refused, "the fastest plan is deployable at every utilization: the test tests nothing"


def _path_forbidden(pb, path: list[int]) -> set:
    """Everything but ``path``: every other link (each way), first board and last board."""
    on = set(zip(path, path[1:]))
    n = len(pb.adj)
    return ({("link", a, b) for a, b in pb.link if (a, b) not in on}
            | {("entry", b) for b in range(n) if b != path[0]} | {("exit", b) for b in range(n) if b != path[-1]})


@pytest.mark.parametrize("yaml_text,util,ips,fewest", [(HUB, 0.06, 30000, True), (RING, 0.06, 40000, False),
                                                      (U50_LINE, 0.05, 20000, False)])
def test_target_mode_is_the_fewest_deployable_boards_by_brute_force(tmp_path, yaml_text, util, ips, fewest):
    """``--target-ips`` with deploy's checks: the fewest boards reaching the target among the plans
    deploy accepts (brute force over every path: the fewest-boards search on that path alone; HUB at
    30,000: three boards, the fewest-boards plan without the checks is refused. At 20,000 the target
    search once read only the achievable table and claimed three boards, proven, where two reach
    it, deployable at once); when the fewest-boards search reaches it with no accepted plan, the fastest accepted plan
    (brute force), ``target.met`` if that one reaches it (the exact inner solve may: RING) and false if
    not (U50_LINE)."""
    from asymap.codegen.deploy import check_deployable
    from asymap.frontend.onnx_import import load_model
    from asymap.partition import deployable, planner

    m, c = _files(tmp_path, yaml_text, "resnet18", 32, 0.5)
    g, cl = load_model(m, weights=False), load_cluster(c)
    pb = planner.build_problem(g, cl, util)
    accept = lambda d: check_deployable(g, d, cl, link_step=True)  # noqa: E731
    want = None
    for path in _paths(pb):
        r = planner._solve_target(deployable.forbid(pb, _path_forbidden(pb, path)), len(path), float(ips))
        if r.boards:
            res = planner.OrderResult(1.0 / ips, r.path, r.cuts, r.exact)
            parts = planner._expand(pb, g, res, res.interval, r.widths)[:3]
            if planner._refusal(accept, g, *parts) is None and (want is None or (r.boards, r.dsp) < want):
                want = (r.boards, r.dsp)
    fastest = planner.plan(g, cl, util=util, target_ips=ips)
    p = planner.plan(g, cl, util=util, target_ips=ips, deployable=accept)
    check_deployable(g, p.to_dict(), cl, link_step=True)
    assert p.search["deploy"]["refused"] >= 1
    with pytest.raises(Exception):
        check_deployable(g, fastest.to_dict(), cl, link_step=True)  # the plan without the checks is refused
    assert (want is not None) == fewest
    if fewest:
        # The board count is proven; the DSPs are the fewest over the segments each search knows
        # (its settles), so the brute force's per-path searches may know other choices.
        assert p.target["boards"] == want[0] and p.search["method"] == "target-fewest-boards"
        assert p.target["dsp"] == sum(b.resources["dsp"][0] for b in p.boards)
        assert p.target["met"] and p.optimal
    else:
        best, _ = _brute_deployable(g, cl, util)
        assert p.interval_s == pytest.approx(best, rel=1e-9)
        assert p.target["met"] == (1.0 / best >= ips * (1 - 1e-12))


def test_plan_avoids_a_chain_through_a_one_cage_alveo_card(tmp_path, run_cli, assert_user_error):
    """At 4 % utilization the fastest plan needs all three cards and generate refuses it; plan writes the
    best plan on two cards instead (proven over the plans generate accepts), and generate takes it."""
    m, c = _files(tmp_path, U50_LINE)
    from asymap.frontend.onnx_import import load_model
    from asymap.partition.planner import plan

    d = plan(load_model(m, weights=False), load_cluster(c), util=0.04).to_dict()  # the fastest plan: refused
    assert [b["name"] for b in d["boards"]] == ["ua", "mid", "ub"]
    (tmp_path / "q.json").write_text(json.dumps(d))
    g = run_cli("generate", m, c, "--plan", tmp_path / "q.json", "-o", tmp_path / "out")
    assert_user_error(g, *CAGE)
    p = run_cli("plan", m, c, "--util", "0.04", "-o", tmp_path / "p.json", check=True)
    assert p.stderr == ""
    assert "deployable: the best plan 'asymap generate' and 'build' accept (" in p.stdout and "optimal: yes" in p.stdout
    got = json.loads((tmp_path / "p.json").read_text())
    assert len(got["boards"]) == 2 and got["optimal"] and got["search"]["deploy"]["refused"] >= 1
    assert got["throughput_ips"] < d["throughput_ips"]
    run_cli("generate", m, c, "--plan", tmp_path / "p.json", "-o", tmp_path / "ok", "-q", check=True)


def test_plan_refuses_when_every_plan_is_refused(tmp_path, run_cli, assert_user_error):
    """At 3 % utilization the model needs all three cards, and every chain over them runs through the
    middle card's one cage: no plan deployment accepts exists, so plan refuses in generate's words."""
    m, c = _files(tmp_path, U50_LINE, "resnet18", 32, 0.5)
    p = run_cli("plan", m, c, "--util", "0.03", "-o", tmp_path / "p.json")
    assert_user_error(p, "board 'mid' (u50)", "cage qsfp0", "io_gt_qsfp0_00", "end of the chain")
    assert not (tmp_path / "p.json").exists() and p.stdout == ""


def test_plan_avoids_a_result_route_over_a_pipeline_link_the_same_way(tmp_path, run_cli):
    """The fastest plan sa -> sb -> sc sends the result back sc -> sa -> sb, over the pipeline link
    sa -> sb the same way; the plan found runs the other way round the ring, as fast, and shares nothing."""
    m, c = _files(tmp_path, RING, "resnet18", 32, 0.5)
    p = run_cli("plan", m, c, "--util", "0.06", "--json", check=True)
    d = json.loads(p.stdout)
    assert [b["name"] for b in d["boards"]] != ["sa", "sb", "sc"] and d["optimal"]
    assert not any(h["shared"] for h in d["host_path"]["in"] + d["host_path"]["out"])
    assert d["search"]["deploy"]["refused"] >= 1


def test_plan_avoids_a_link_longer_than_its_credit_bridge_covers(tmp_path, run_cli):
    """60 us one way on 10G: the credit bridge's receive buffer would need 32,768 entries, beyond its
    counters; the plan uses one board (whichever way the link would run, it is refused)."""
    m, c = _files(tmp_path, LONG_ZCU, "resnet18", 64)
    p = run_cli("plan", m, c, "-o", tmp_path / "p.json", check=True)
    d = json.loads((tmp_path / "p.json").read_text())
    assert len(d["boards"]) == 1 and d["links"] == [] and d["optimal"]
    assert d["search"]["deploy"] == {"refused": 1, "replans": 1, "capped": False, "max_replans": 24}  # both ways at once


def test_the_branching_cap_keeps_an_honest_bound(tmp_path, monkeypatch):
    """With DEPLOY_REPLANS too small to finish, the plan is the best accepted plan found, the output says
    the cap stopped it, and the bound is still below the best accepted plan (brute force)."""
    from asymap.codegen.deploy import check_deployable
    from asymap.frontend.onnx_import import load_model
    from asymap.partition import deployable, planner
    from asymap.partition.table import render

    m, c = _files(tmp_path, HUB, "resnet18", 32, 0.5)
    g, cl = load_model(m, weights=False), load_cluster(c)
    want, _ = _brute_deployable(g, cl, 0.06)
    full = planner.plan(g, cl, util=0.06, deployable=lambda d: check_deployable(g, d, cl, link_step=True))
    assert full.search["deploy"]["replans"] >= 2, full.search
    monkeypatch.setattr(deployable, "DEPLOY_REPLANS", 1)
    p = planner.plan(g, cl, util=0.06, deployable=lambda d: check_deployable(g, d, cl, link_step=True))
    check_deployable(g, p.to_dict(), cl, link_step=True)
    assert p.search["deploy"]["capped"] and "stopped at the cap of 1 re-plans" in render(p)
    assert p.lower_bound_s <= want * (1 + 1e-9) and p.interval_s >= want * (1 - 1e-9)
    assert p.optimal == (p.interval_s <= p.lower_bound_s * (1 + 1e-12))


@pytest.mark.parametrize("quiet", [True, False])
@pytest.mark.parametrize("case", ["cage", "latency", "input", "int_input", "calib"])
def test_a_refused_generate_prints_one_line_and_writes_nothing(tmp_path, run_cli, assert_user_error, quiet, case):
    """Every refusal comes before the first progress line: stderr is the one error line with or
    without -q, and neither OUT nor generate's staging directory beside it exists afterwards."""
    from asymap.frontend.onnx_import import load_model
    from asymap.partition.planner import plan

    if case == "latency":  # a hand-written plan over a 1 ms link (the planner would not use it: its
        m, c = _files(tmp_path, LONG_LINK)  # credit buffer takes a whole board's LUTs)
        d = {"schema": 1, "boards": [
            {"name": n, "first_layer": a, "last_layer": b,
             "layers": [{"index": i, "factors": {"pe": 2, "simd": 2}} for i in range(a, b + 1)]}
            for n, a, b in (("a", 0, 3), ("b", 4, 8))]}
    else:
        m, c = _files(tmp_path, U50_LINE)
        d = plan(load_model(m, weights=False), load_cluster(c), util=0.04 if case == "cage" else 0.8).to_dict()
    (tmp_path / "p.json").write_text(json.dumps(d))
    extra, want = {"cage": ([], CAGE), "latency": ([], ("link a.qsfp0->b", "latency is too long")),
                   "input": (["--input", tmp_path / "img.npy"], ("img.npy", "(3, 8, 8)", "(3, 32, 32)")),
                   "int_input": (["--input", tmp_path / "int.npy"], ("int.npy", "[-128, 127]")),
                   "calib": (["--calib", tmp_path / "nosuch"], ("nosuch",))}[case]
    np.save(tmp_path / "img.npy", np.zeros((3, 8, 8), np.float32))
    np.save(tmp_path / "int.npy", np.full((3, 32, 32), 200, np.int32))  # outside int8: refused before quantizing
    (tmp_path / "o").mkdir()
    out = tmp_path / "o" / "out"
    g = run_cli("generate", m, c, "--plan", tmp_path / "p.json", "-o", out, *extra, *(["-q"] if quiet else []))
    assert_user_error(g, *want)
    assert list((tmp_path / "o").iterdir()) == []
    if case == "cage" and not quiet:  # the same plan without the refusal does print progress
        ok = run_cli("generate", m, c, "-o", out, check=True)
        assert len(ok.stderr.splitlines()) > 1


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["example16", "u280x16"])
def test_headline_plans_pass_every_deploy_check(tmp_path, preset):
    """ResNet-152 (224x224) on the headline clusters: the plan passes the checks generate runs
    first (example16's host path forwards through zc706_1 and shares no link the same way)."""
    from asymap.codegen.deploy import check_deployable
    from asymap.frontend.onnx_import import load_model
    from asymap.partition.planner import plan

    path = tmp_path / "r152.onnx"
    onnx.save(build_zoo_model("resnet152", 224), str(path))
    g = load_model(path, weights=False)
    cl = load_cluster(preset)
    d = plan(g, cl).to_dict()
    check_deployable(g, d, cl, link_step=True)
    assert not any(h.get("shared") for h in (d.get("host_path") or {}).get("out", []) + (d.get("host_path") or {}).get("in", []))


@pytest.mark.parametrize("preset", ["example16", "u280x16", "edge4", "mixed4", "ring8"])
def test_preset_plans_of_a_small_model_pass_every_deploy_check(preset, run_cli, tmp_path):
    """Every preset's plan of a small ResNet passes the deploy checks (asymap plan runs them)."""
    m = tmp_path / "m.onnx"
    onnx.save(build_zoo_model("resnet18", input_size=64, width_mult=0.5, seed=0), str(m))
    p = run_cli("plan", m, preset, "-o", tmp_path / "p.json")
    assert p.returncode == 0 and p.stderr == "", p.stderr


def test_sweep_rows_are_deployable_and_bounded_by_brute_force(tmp_path):
    """``--sweep`` rows below the plan's board count are re-planned around deployment's refusals as
    the plan is: each row's plan is one deploy accepts, no faster than the best accepted plan on at
    most k boards (brute force over paths), and its bound never above that plan (equal when the row
    says it is proven)."""
    from asymap.codegen.deploy import check_deployable
    from asymap.frontend.onnx_import import load_model
    from asymap.partition import planner

    m, c = _files(tmp_path, U50_LINE, "resnet18", 32, 0.5)
    g, cl = load_model(m, weights=False), load_cluster(c)
    dep = lambda d: check_deployable(g, d, cl, link_step=True)  # noqa: E731
    util = 0.1
    pb = planner.build_problem(g, cl, util)
    n = len(pb.adj)
    lbs = planner._bounds(pb, n)
    res = planner.solve_order(pb, n, lbs[-1])
    refused_rows = 0
    for k, r, lbk in planner._sweep(pb, res, lbs, n, planner.DEFAULT_BEAM, planner.EXACT_BOARDS, range(1, n + 1),
                                    None, g, dep):
        want = _brute_deployable_upto(g, cl, util, k)
        assert lbk <= want * (1 + 1e-9), k
        if not np.isfinite(r.interval):
            assert not np.isfinite(want), k
            continue
        bplans, lplans, hp, _ = planner._expand(pb, g, r, r.interval, [None] * len(r.path))
        assert planner._refusal(dep, g, bplans, lplans, hp) is None, k
        assert r.interval >= want * (1 - 1e-9), k
        if r.interval <= lbk * (1 + 1e-12):
            assert r.interval == pytest.approx(want, rel=1e-9), k
        fastest = planner.solve_order(pb, k, lbs[k - 1])
        fb, fl, fh, _ = planner._expand(pb, g, fastest, fastest.interval, [None] * len(fastest.path))
        refused_rows += planner._refusal(dep, g, fb, fl, fh) is not None
    assert refused_rows >= 1, "no row's fastest plan is refused: the test tests nothing"


def _brute_deployable_upto(graph, cluster, util: float, k: int) -> float:
    """The best accepted plan's interval on at most k boards (``_brute_deployable`` over paths of at
    most k boards)."""
    return _brute_deployable(graph, cluster, util, max_boards=k)[0]


@pytest.mark.parametrize("yaml_text,util,board,rule,peers", [(U50_LINE_100G, 0.05, "mid", "all", {"ua", "ub"}),
                                                            (EDGE4, 0.8, "zcu104", "any", {"zcu102"})])
def test_a_link_end_without_a_cage_is_refused_where_the_plan_is_made(tmp_path, run_cli, assert_user_error, yaml_text,
                                                                   util, board, rule, peers):
    """A link end that gets no cage (the second 100G link of a one-cage U50; any link of the cageless
    ZCU104): ``generate`` writes the tree with a note (it C-simulates) and ``asymap build --step link``
    refuses the board; the plan's checks (``link_step``) refuse it with the peers that share the
    refusal, so ``asymap plan`` returns a plan the link step accepts."""
    from asymap.codegen.deploy import check_deployable
    from asymap.errors import DeployRefusal
    from asymap.frontend.onnx_import import load_model
    from asymap.partition.planner import plan

    m, c = _files(tmp_path, yaml_text, "resnet18", 32, 0.5)
    g, cl = load_model(m, weights=False), load_cluster(c)
    d = plan(g, cl, util=util).to_dict()  # the fastest plan, unchecked
    assert board in [b["name"] for b in d["boards"]]
    check_deployable(g, d, cl)  # what generate checks: accepted
    with pytest.raises(DeployRefusal) as exc:
        check_deployable(g, d, cl, link_step=True)
    assert (exc.value.board, exc.value.rule, {p for p, _ in exc.value.ends}) == (board, rule, peers)
    assert "no free transceiver cage" in str(exc.value) and "build --step link" in str(exc.value)
    (tmp_path / "q.json").write_text(json.dumps(d))
    run_cli("generate", m, c, "--plan", tmp_path / "q.json", "-o", tmp_path / "out", "-q", check=True)
    dep = json.loads(next((tmp_path / "out").glob(f"{board}*/deploy.json")).read_text())
    assert dep["unconnected"] and any("no free transceiver cage" in n for n in dep["notes"])
    assert_user_error(run_cli("build", tmp_path / "out", "--step", "link", "--dry-run"), f"step 'link' of board {board!r}")
    p = run_cli("plan", m, c, "--util", str(util), "-o", tmp_path / "p.json", check=True)
    got = json.loads((tmp_path / "p.json").read_text())
    check_deployable(g, got, cl, link_step=True)
    assert got["search"]["deploy"]["refused"] >= 1 and "deployable:" in p.stdout
    run_cli("generate", m, c, "--plan", tmp_path / "p.json", "-o", tmp_path / "ok", "-q", check=True)
    assert not any(json.loads(f.read_text())["unconnected"] for f in (tmp_path / "ok").glob("*/deploy.json"))


def _main(capsys, *argv) -> tuple[int, str, str]:
    """``asymap ARGV`` in this process (so a monkeypatched cap applies): (exit code, stdout, stderr)."""
    from asymap.cli import main

    capsys.readouterr()
    rc = main([str(a) for a in argv])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_a_cap_that_stops_before_any_accepted_plan_says_not_decided(tmp_path, monkeypatch, capsys):
    """Five U50s at 5 %: the search finds an accepted two-card plan; with the cap at one re-plan it stops
    before any is accepted, and plan says the search did not decide (exit 2, one line, no plan.json)
    instead of printing the refusal as if no plan were accepted."""
    from asymap.partition import deployable

    m, c = _files(tmp_path, U50_LINE5, "resnet18", 32, 0.5)
    rc, _, err = _main(capsys, "plan", m, c, "--util", "0.05", "-q", "-o", tmp_path / "full.json")
    assert rc == 0 and err == "" and len(json.loads((tmp_path / "full.json").read_text())["boards"]) == 2
    monkeypatch.setattr(deployable, "DEPLOY_REPLANS", 1)
    rc, out, err = _main(capsys, "plan", m, c, "--util", "0.05", "-q", "-o", tmp_path / "p.json")
    lines = err.strip().splitlines()
    assert rc == 2 and out == "" and len(lines) == 1 and not (tmp_path / "p.json").exists()
    assert "not decided within 1 re-plans" in lines[0] and "left open" in lines[0] and "board 'u" in lines[0]


def test_a_capped_target_search_is_not_called_unreachable(tmp_path, monkeypatch, capsys):
    """U50 hub at 6 %, target 90 % of the best accepted plan: the full search meets it; with the cap at one
    re-plan neither the target's search nor the fastest plan's finishes, the plan found falls short and
    its bound does not rule the target out: plan says 'not decided within 1 re-plans' (exit 1, as an
    unmet target), plan.json ``target.decided`` false, never 'not reachable'."""
    from asymap.partition import deployable

    m, c = _files(tmp_path, HUB, "resnet18", 32, 0.5)
    rc, _, _ = _main(capsys, "plan", m, c, "--util", "0.06", "-q", "-o", tmp_path / "full.json")
    ips = 0.9 * json.loads((tmp_path / "full.json").read_text())["throughput_ips"]
    rc, _, err = _main(capsys, "plan", m, c, "--util", "0.06", "-q", "--target-ips", ips, "-o", tmp_path / "t.json")
    assert rc == 0 and err == "" and json.loads((tmp_path / "t.json").read_text())["target"]["met"]
    monkeypatch.setattr(deployable, "DEPLOY_REPLANS", 1)
    rc, out, err = _main(capsys, "plan", m, c, "--util", "0.06", "-q", "--target-ips", ips, "-o", tmp_path / "p.json")
    d = json.loads((tmp_path / "p.json").read_text())
    assert rc == 1 and d["target"]["met"] is False and d["target"]["decided"] is False and d["search"]["deploy"]["capped"]
    assert d["lower_bound_s"] <= 1 / ips
    (line,) = err.strip().splitlines()
    assert "not decided within 1 re-plans" in line and "not reachable" not in line
    assert "not decided within 1 re-plans" in out and "NOT reachable" not in out


def test_a_sweep_row_without_a_plan_says_why(tmp_path, monkeypatch):
    """``--sweep`` rows left without a plan because of deployment say which case holds: ``no_plan:
    "refused"`` when the search over every branch found no accepted plan on at most k boards, ``"not
    decided"`` when the re-plan cap stopped the row first (branches that may hold one were left open);
    the table prints them apart. A stand-in for deployment's checks refuses every single-card plan
    (naming nothing a re-plan could avoid) and every plan over a link (naming the link, so the search
    branches); with the cap at 0 re-plans the multi-card rows are not decided, without it every row is
    refused. Rows with a plan carry no ``no_plan`` key (byte-identical sweeps when nothing is refused)."""
    from asymap.errors import DeployRefusal
    from asymap.frontend.onnx_import import load_model
    from asymap.partition import deployable, planner
    from asymap.partition.table import render

    m, c = _files(tmp_path, U50_LINE, "resnet18", 32, 0.5)
    g, cl = load_model(m, weights=False), load_cluster(c)

    def refuse(d):
        b = d["boards"]
        if len(b) == 1:
            raise DeployRefusal(f"board {b[0]['name']!r} refused", b[0]["name"], ())
        ln = d["links"][0]
        raise DeployRefusal(f"link {ln['from']}->{ln['to']} refused", ln["from"], [(ln["to"], "out")])

    plain = planner.plan(g, cl, util=0.1, sweep=True)
    assert all("no_plan" not in r for r in plain.sweep) and len(plain.boards) >= 2
    pb = planner.build_problem(g, cl, 0.1)
    lbs = planner._bounds(pb, 3)
    res = planner.solve_order(pb, 3, lbs[-1])
    for cap, want in ((0, {1: "refused", 2: "not decided", 3: "not decided"}),
                      (24, {1: "refused", 2: "refused", 3: "refused"})):
        monkeypatch.setattr(deployable, "DEPLOY_REPLANS", cap)
        got: dict = {}
        rows = planner._sweep(pb, res, lbs, 3, planner.DEFAULT_BEAM, planner.EXACT_BOARDS, range(1, 4), None, g,
                              refuse, got)
        assert got == want and all(not np.isfinite(r.interval) for _, r, _ in rows)
    # Through plan(): the table says which; a row at or above the plan's board count carries the plan.
    monkeypatch.setattr(deployable, "DEPLOY_REPLANS", 24)
    accept_two = lambda d: refuse(d) if len(d["boards"]) == 1 else None  # noqa: E731
    p = planner.plan(g, cl, util=0.1, sweep=True, deployable=accept_two)
    d = p.to_dict()
    assert [r.get("no_plan") for r in d["sweep"]] == ["refused", None, None]
    assert "no plan deployment accepts" in render(p) and "not decided" not in render(p)
    fake = dataclasses.replace(p, sweep=[{**d["sweep"][0], "no_plan": "not decided"}] + d["sweep"][1:])
    assert "not decided: the re-plan cap stopped it" in render(fake)


def test_a_sub_problem_left_above_its_bound_is_taken_up_again(tmp_path, monkeypatch):
    """ResNet-50 224 px on nine U50s on 10G, the host on the middle card: every accepted plan has at
    most two cards next to b4. With the default work the exact inner solve now proves b4 -> b5
    optimal (0.922 ms); with a tenth of it (REFINE_WORK = 30,000) each two-card part
    runs out of work the first time it is searched, as all did before the long-question solve
    (docs/cost-model.md). Taking a part up again (deployable.RESUMES) on the tables the other part
    tightened then gives a plan at least as fast with a higher bound, never above the plan (brute
    force over two-card paths needs the exact inner solve to finish, which it does not there)."""
    from asymap.codegen.deploy import check_deployable
    from asymap.frontend.onnx_import import load_model
    from asymap.partition import deployable, planner
    from asymap.partition.planner import plan

    names = [f"b{i}" for i in range(9)]
    m, c = _files(tmp_path, cluster_yaml([(n, "u50") for n in names], [(a, b, 10, 500) for a, b in zip(names, names[1:])],
                                         ("b4", 64)), "resnet50", 224)
    g, cl = load_model(m, weights=False), load_cluster(c)
    dep = lambda d: check_deployable(g, d, cl, link_step=True)  # noqa: E731
    full = plan(g, cl, deployable=dep)
    assert full.optimal and [b.name for b in full.boards] == ["b4", "b5"]
    monkeypatch.setattr(planner, "REFINE_WORK", 30_000)
    got = {}
    for resumes in (0, 1):
        monkeypatch.setattr(deployable, "RESUMES", resumes)
        p = plan(g, cl, deployable=dep)
        dep(p.to_dict())
        got[resumes] = p
    assert not got[0].optimal
    assert got[1].interval_s <= got[0].interval_s
    assert got[0].lower_bound_s * (1 + 1e-3) < got[1].lower_bound_s <= got[1].interval_s
    assert got[1].lower_bound_s <= full.interval_s * (1 + 1e-12)  # (the proven optimum)
    assert got[1].search["deploy"]["replans"] > got[0].search["deploy"]["replans"]


def test_a_part_whose_exact_solve_runs_out_of_work_is_not_called_refused(tmp_path, monkeypatch):
    """Three U50s at 3 %: every plan is refused, and the deployable search proves it (the refusal).
    When a part's exact inner solve instead ends with no plan and a finite bound (its work ran out:
    stood in here for every sub-problem, the relaxation's bound of which is infinite at 3 %), that
    part may hold an accepted plan: the search raises
    DeployUndecided ('not decided'), not the refusal as if none existed."""
    from asymap.codegen.deploy import check_deployable
    from asymap.errors import DeployRefusal
    from asymap.frontend.onnx_import import load_model
    from asymap.partition import deployable, planner

    m, c = _files(tmp_path, U50_LINE, "resnet18", 32, 0.5)
    g, cl = load_model(m, weights=False), load_cluster(c)
    dep = lambda d: check_deployable(g, d, cl, link_step=True)  # noqa: E731
    pb = planner.build_problem(g, cl, 0.03)
    lb = planner._bounds(pb, 3)[-1]
    root = planner.solve_order(pb, 3, lb)
    why = planner._refusal(dep, g, *planner._expand(pb, g, root, root.interval, [None] * len(root.path))[:3])
    assert why is not None
    with pytest.raises(DeployRefusal):
        deployable.deployable_search(pb, g, root, lb, 3, planner.DEFAULT_BEAM, planner.EXACT_BOARDS, dep, why)
    none = planner.OrderResult(np.inf, [], [], False)
    monkeypatch.setattr(deployable.planner, "solve_order", lambda *a, **k: none)
    monkeypatch.setattr(deployable.planner, "_solve", lambda pf, k, bound, *a: (none, 1e-3))  # (a finite bound)
    with pytest.raises(deployable.DeployUndecided, match="ran out of work before deciding"):
        deployable.deployable_search(pb, g, root, lb, 3, planner.DEFAULT_BEAM, planner.EXACT_BOARDS, dep, why)
