"""Plans are contracts: generate refuses a stale, edited-out-of-bounds or infeasible plan.json
with one line naming board, layer and key, and copies an accepted plan to OUT/plan.json."""

from __future__ import annotations

import json

from asymap.partition.contract import options_sha256

SMALL = """\
boards:
  - {name: tinyfpga, resources: {dsp: 100, bram36: 200, uram: 0, lut: 60000, clock_mhz: 200, mem_gbps: 10}}
links: []
"""


def _edit(path, fn):
    d = json.loads(path.read_text())
    fn(d)
    path.write_text(json.dumps(d, indent=2))


def _layer(plan, index):
    return next(ly for b in plan["boards"] for ly in b["layers"] if ly["index"] == index)


def test_plan_records_hashes_of_model_cluster_options(tiny):
    p = json.loads((tiny / "plan.json").read_text())
    assert len(p["model"]["sha256"]) == 64 and len(p["cluster"]["sha256"]) == 64
    assert p["options"]["util"] == 0.8 and p["options"]["pad"] is True
    assert p["options_sha256"] == options_sha256(p["options"])


def test_generate_writes_plan_into_out(tiny, run_cli):
    run_cli("generate", "tiny.onnx", "pair2.yaml", "--plan", "plan.json", "-o", "out", "-q", check=True)
    assert json.loads((tiny / "out" / "plan.json").read_text()) == json.loads((tiny / "plan.json").read_text())
    # report and compare find OUT/plan.json without --plan
    r = run_cli("report", "out", "-o", "r.html", "-q")
    assert r.returncode == 0, r.stderr
    assert (tiny / "r.html").is_file()


def test_illegal_pe_refused(tiny, run_cli, assert_user_error):
    _edit(tiny / "plan.json", lambda d: _layer(d, 1)["factors"].update(pe=7))
    r = run_cli("generate", "tiny.onnx", "pair2.yaml", "--plan", "plan.json", "-o", "out")
    assert_user_error(r, "board big", "layer 1", "factors.pe", "legal here: 1, 2, 4, 8")
    assert not (tiny / "out").exists()


def test_pe_beyond_channels_refused(tiny, run_cli, assert_user_error):
    _edit(tiny / "plan.json", lambda d: _layer(d, 2)["factors"].update(pe=_layer(d, 2)["factors"]["pe"] * 64))
    r = run_cli("generate", "tiny.onnx", "pair2.yaml", "--plan", "plan.json", "-o", "out")
    assert_user_error(r, "layer 2", "factors.pe")


def test_illegal_simd_and_kpar_refused(tiny, run_cli, assert_user_error):
    _edit(tiny / "plan.json", lambda d: _layer(d, 1)["factors"].update(simd=3))
    r = run_cli("generate", "tiny.onnx", "pair2.yaml", "--plan", "plan.json", "-o", "out")
    assert_user_error(r, "layer 1", "factors.simd", "C_in/groups")
    _edit(tiny / "plan.json", lambda d: (_layer(d, 1)["factors"].update(simd=1), _layer(d, 0)["factors"].update(kpar=2)))
    r = run_cli("generate", "tiny.onnx", "pair2.yaml", "--plan", "plan.json", "-o", "out")
    assert_user_error(r, "layer 0", "factors.kpar")


def test_resources_that_do_not_fit_refused(tmp_path, run_cli, assert_user_error):
    run_cli("zoo", "tiny", "--input-size", "32", "--width-mult", "0.5", "-o", "tiny.onnx", "-q", check=True)
    (tmp_path / "small.yaml").write_text(SMALL)
    run_cli("plan", "tiny.onnx", "small.yaml", "-o", "plan.json", "-q", check=True)

    def widen(d):  # legal factors, every 3x3 conv at full parallelism: too many DSPs
        for ly in d["boards"][0]["layers"]:
            if ly["index"] in (1, 2, 3):
                ly["factors"].update(pe=8, simd=8)
    _edit(tmp_path / "plan.json", widen)
    r = run_cli("generate", "tiny.onnx", "small.yaml", "--plan", "plan.json", "-o", "out")
    assert_user_error(r, "board tinyfpga", "resources.dsp", "> 80", "layer")
    assert not (tmp_path / "out").exists()


def test_stale_cluster_refused_unless_allowed(tiny, run_cli, assert_user_error):
    with open(tiny / "pair2.yaml", "a") as fh:
        fh.write("# edited after planning\n")
    r = run_cli("generate", "tiny.onnx", "pair2.yaml", "--plan", "plan.json", "-o", "out")
    assert_user_error(r, "cluster.sha256", "--allow-stale")
    r = run_cli("generate", "tiny.onnx", "pair2.yaml", "--plan", "plan.json", "-o", "out", "--allow-stale", "-q")
    assert r.returncode == 0, r.stderr


def test_edited_options_refused_even_with_allow_stale(tiny, run_cli, assert_user_error):
    _edit(tiny / "plan.json", lambda d: d["options"].update(util=1.0))
    r = run_cli("generate", "tiny.onnx", "pair2.yaml", "--plan", "plan.json", "-o", "out", "--allow-stale")
    assert_user_error(r, "options_sha256")


def test_other_model_refused_even_with_allow_stale(tiny, run_cli, assert_user_error):
    run_cli("zoo", "tiny", "--input-size", "32", "--width-mult", "0.5", "--seed", "3", "-o", "other.onnx", "-q",
            check=True)
    r = run_cli("generate", "other.onnx", "pair2.yaml", "--plan", "plan.json", "-o", "out", "--allow-stale")
    assert_user_error(r, "different model")
