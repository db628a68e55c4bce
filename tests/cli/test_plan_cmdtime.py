"""What ``asymap plan`` skips to be fast must not change what it prints or writes: the model's
hash is taken only when plan.json is written or printed (-o, --json, --layers), the table is the
same either way, and plan.json carries the file's SHA-256 as before."""

from __future__ import annotations

import hashlib
import json

import onnx
import pytest

from asymap.cli import main
from asymap.frontend.zoo import build_zoo_model


@pytest.fixture(scope="module")
def r18(tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "r18s.onnx"
    onnx.save(build_zoo_model("resnet18", 32, width_mult=0.5), str(path))
    return path


def _run(monkeypatch, capsys, args, size):
    """Run the command in-process; count the SHA-256 computations over ``size`` bytes (the model)."""
    real = hashlib.sha256
    calls = []

    def counting(data=b"", **kw):
        if len(memoryview(data)) == size:
            calls.append(1)
        return real(data, **kw)

    monkeypatch.setattr(hashlib, "sha256", counting)
    rc = main(args)
    monkeypatch.setattr(hashlib, "sha256", real)
    out = capsys.readouterr()
    return rc, out.out, len(calls)


def test_table_output_does_not_hash_and_is_unchanged(monkeypatch, capsys, tmp_path, r18):
    size = r18.stat().st_size
    rc, table, hashed = _run(monkeypatch, capsys, ["plan", str(r18), "edge4", "-q"], size)
    assert rc == 0 and hashed == 0
    out = tmp_path / "plan.json"
    rc, table_o, hashed_o = _run(monkeypatch, capsys, ["plan", str(r18), "edge4", "-q", "-o", str(out)], size)
    assert rc == 0 and hashed_o == 1
    assert table == table_o  # -o prints the same table
    assert json.loads(out.read_text())["model"]["sha256"] == hashlib.sha256(r18.read_bytes()).hexdigest()
    rc, text, hashed_j = _run(monkeypatch, capsys, ["plan", str(r18), "edge4", "-q", "--json"], size)
    assert rc == 0 and hashed_j == 1
    assert text == out.read_text()  # --json prints what -o writes


def test_plan_without_a_hash_does_not_read_the_file(monkeypatch, r18):
    """planner.plan with a model_sha256 callable giving None records none and reads nothing;
    with model_sha256=None it hashes the file itself, as before."""
    from pathlib import Path

    from asymap.cluster.load import load_cluster
    from asymap.frontend.onnx_import import load_model
    from asymap.partition.planner import plan

    g, c = load_model(r18, weights=False), load_cluster("edge4")
    read = []
    real = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: read.append(self) or real(self))
    p = plan(g, c, model_path=str(r18), model_sha256=lambda: None)
    assert p.model["sha256"] is None and read == []
    p = plan(g, c, model_path=str(r18))
    assert p.model["sha256"] == hashlib.sha256(real(r18)).hexdigest() and len(read) == 1
