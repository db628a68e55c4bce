"""One meaning of -q/--quiet, --json and -o/--output on every command (docs/user-guide.md)."""

from __future__ import annotations

import json

import pytest

from asymap.cli import COMMANDS, build_parser


def _options(cmd):
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return {s for a in sub.choices[cmd]._actions for s in a.option_strings}, sub.choices[cmd].format_help()


@pytest.mark.parametrize("cmd", COMMANDS)
def test_every_command_has_quiet_and_json(cmd):
    opts, text = _options(cmd)
    assert {"-q", "--quiet", "--json"} <= opts, cmd
    assert "--out " not in text and "--out\n" not in text  # one spelling shown: -o/--output


def test_generate_spells_output_like_the_others():
    opts, text = _options("generate")
    assert {"-o", "--output", "--out"} <= opts  # --out: the old spelling, hidden
    assert "-o OUT, --output OUT" in text


def test_quiet_leaves_stderr_empty_and_json_is_one_document(tiny, run_cli):
    runs = {
        "zoo": ["zoo", "tiny", "--input-size", "32", "-o", "z.onnx"],
        "inspect": ["inspect", "tiny.onnx"],
        "reference": ["reference", "tiny.onnx", "-o", "y.npy"],
        "boards": ["boards"],
        "clusters": ["clusters"],
        "plan": ["plan", "tiny.onnx", "pair2.yaml", "-o", "p.json", "--sweep"],
        "generate": ["generate", "tiny.onnx", "pair2.yaml", "--plan", "plan.json", "--out", "out"],
        "verify": ["verify", "out"],
        "report": ["report", "out", "-o", "r.html"],
    }
    for name, argv in runs.items():
        q = run_cli(*argv, "-q", "--json", *(["--force"] if name == "generate" else []))
        assert q.returncode == 0, (name, q.stderr)
        assert q.stderr == "", (name, q.stderr)
        json.loads(q.stdout)  # exactly one JSON document
    # without -q the same commands say what they do on stderr, and print their result on stdout
    p = run_cli("plan", "tiny.onnx", "pair2.yaml", "-q")
    assert p.stdout.startswith("tiny: 9 layers")  # -q keeps the result (README once said otherwise)
    g = run_cli("generate", "tiny.onnx", "pair2.yaml", "-o", "out2")
    assert "quantizing" in g.stderr and g.stdout.startswith("wrote out2/")


def test_generate_without_output_is_one_line(run_cli, tiny, assert_user_error):
    assert_user_error(run_cli("generate", "tiny.onnx", "pair2.yaml"), "-o/--output")


def test_plan_layers_view_text_and_json(tiny, run_cli):
    t = run_cli("plan", "tiny.onnx", "pair2.yaml", "--layers", "-q", check=True).stdout
    head = next(ln for ln in t.splitlines() if ln.lstrip().startswith("#  layer"))
    for col in ("pe", "simd", "kpar", "cycles", "DSP", "BRAM36", "URAM", "LUT", "SQNR dB", "limit"):
        assert col in head
    j = json.loads(run_cli("plan", "tiny.onnx", "pair2.yaml", "--layers", "--json", "-q", check=True).stdout)
    rows = j["layer_view"]
    assert [r["index"] for r in rows] == list(range(j["model"]["layers"]))
    assert all(r["sqnr_db"] is None or 10 < r["sqnr_db"] < 80 for r in rows)
    assert all(r["limit"] == "parallelism" or r["limit"].startswith(("board: ", "slack ")) for r in rows)
    slowest = max(rows, key=lambda r: r["cycles"])
    assert slowest["limit"] in ("parallelism", f"board: {j['boards'][0]['limit']}")
