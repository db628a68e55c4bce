"""``asymap plan`` end to end on a small ONNX model, and its user errors."""

from __future__ import annotations

import json

import onnx
import pytest
import yaml

from asymap.partition.planfile import Plan, load_plan

KEYS = {"schema", "model", "cluster", "boards", "links", "interval_s", "throughput_ips", "gops", "latency_s",
        "bottleneck", "baselines", "optimal", "gap_bound"}
BOARD_KEYS = {"name", "type", "index", "clock_mhz", "first_layer", "last_layer", "interval_s", "resources", "layers"}
LAYER_KEYS = {"index", "name", "op", "factors", "cycles", "dsp", "bram36", "uram", "weights"}
LINK_KEYS = {"from", "to", "tensors", "bytes_per_image", "interval_s", "width_bits"}


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from asymap.frontend.zoo import build_zoo_model

    p = tmp_path_factory.mktemp("m") / "tiny.onnx"
    onnx.save(build_zoo_model("tiny", 32), str(p))
    return p


def _small_cluster(tmp_path, lut=6000, star=False, n=5):  # ~2,000 LUTs go to the link (un)packers
    res = {"dsp": 200, "bram36": 100, "uram": 0, "lut": lut, "clock_mhz": 100, "mem_gbps": 1}
    boards = [{"name": f"b{i}", "resources": res} for i in range(n)]
    if star:
        links = [{"a": "b0", "b": f"b{i}", "gbps": 10} for i in range(1, n)]
    else:
        links = [{"a": f"b{i}", "b": f"b{i + 1}", "gbps": 10 if i % 2 else 1, "latency_ns": 800} for i in range(n - 1)]
    p = tmp_path / "small.yaml"
    p.write_text(yaml.safe_dump({"boards": boards, "links": links}))
    return p


def test_plan_writes_schema_and_is_deterministic(tmp_path, run_cli, tiny_model):
    cluster = _small_cluster(tmp_path)
    proc = run_cli("plan", str(tiny_model), str(cluster), "-o", "plan.json", "--sweep", check=True)
    assert "bottleneck" in proc.stdout and "reuse_single" in proc.stdout and "optimal" in proc.stdout
    d = json.loads((tmp_path / "plan.json").read_text())
    assert KEYS <= set(d) and d["schema"] == 1
    L = d["model"]["layers"]
    covered = [lp["index"] for b in d["boards"] for lp in b["layers"]]
    assert covered == list(range(L)), "layers covered once, in order"
    for i, b in enumerate(d["boards"]):
        assert BOARD_KEYS <= set(b) and b["index"] == i
        for lp in b["layers"]:
            assert LAYER_KEYS <= set(lp) and lp["weights"] in ("onchip", "offchip")
        for k, (used, avail) in b["resources"].items():
            assert used <= 0.8 * avail + 1e-9, (b["name"], k)
    assert len(d["links"]) == len(d["boards"]) - 1
    for ln in d["links"]:
        assert LINK_KEYS <= set(ln)
    stages = [b["interval_s"] for b in d["boards"]] + [ln["interval_s"] for ln in d["links"]]
    assert d["interval_s"] == max(stages)
    assert set(d["baselines"]) == {"reuse_single", "even_split", "dsp_proportional", "greedy"}
    assert d["optimal"] is True and d["gap_bound"] == 0.0
    assert [r["boards"] for r in d["sweep"]] == list(range(1, 6))
    ivs = [r["interval_s"] for r in d["sweep"] if r["interval_s"] is not None]
    assert ivs == sorted(ivs, reverse=True), "more boards never hurt"
    assert d["model"]["path"] == "tiny.onnx" or d["model"]["path"].endswith("tiny.onnx")
    first = (tmp_path / "plan.json").read_bytes()
    run_cli("plan", str(tiny_model), str(cluster), "-o", "plan.json", "--sweep", check=True)
    assert (tmp_path / "plan.json").read_bytes() == first
    # the plan reads back without the planner
    p = load_plan(tmp_path / "plan.json")
    assert p.to_dict() == Plan.from_dict(d).to_dict() == d


def test_plan_json_stdout_and_boards_limit(tmp_path, run_cli, tiny_model):
    cluster = _small_cluster(tmp_path, lut=20000)
    d = json.loads(run_cli("plan", str(tiny_model), str(cluster), "--json", "--boards", "2", check=True).stdout)
    assert len(d["boards"]) <= 2 and d["search"]["max_boards"] == 2


def test_plan_user_errors(tmp_path, run_cli, assert_user_error, tiny_model):
    cluster = _small_cluster(tmp_path)
    assert_user_error(run_cli("plan", str(tmp_path / "none.onnx"), str(cluster)), "none.onnx", "not found")
    assert_user_error(run_cli("plan", str(tiny_model), str(tmp_path / "none.yaml")), "none.yaml", "not found")
    assert_user_error(run_cli("plan", str(tiny_model), str(cluster), "--boards", "6"), "--boards 6", "1..5")
    assert_user_error(run_cli("plan", str(tiny_model), str(cluster), "--boards", "0"), "--boards 0")
    tiny = _small_cluster(tmp_path, lut=1000)
    assert_user_error(run_cli("plan", str(tiny_model), str(tiny)), "layer", "fits on no board", "lut")
    star = _small_cluster(tmp_path, lut=4500, star=True)
    assert_user_error(run_cli("plan", str(tiny_model), str(star)), "no path")
    assert_user_error(run_cli("plan", str(tiny_model), str(cluster), "-o", str(tmp_path / "nodir" / "p.json")), "nodir")
    assert not (tmp_path / "nodir").exists()


def test_load_plan_errors(tmp_path):
    from asymap.errors import UserError

    with pytest.raises(UserError, match="not found"):
        load_plan(tmp_path / "x.json")
    (tmp_path / "bad.json").write_text('{"schema": 7}')
    with pytest.raises(UserError, match="schema"):
        load_plan(tmp_path / "bad.json")
