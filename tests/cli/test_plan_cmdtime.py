"""What ``asymap plan`` skips to be fast must not change what it prints or writes: the model's
hash is taken only when plan.json is written or printed (-o, --json, --layers), the table is the
same either way, and plan.json carries the file's SHA-256 as before."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import onnx
import pytest

from asymap.cli import main
from asymap.frontend.zoo import build_zoo_model


@pytest.fixture(scope="module")
def r18(tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "r18s.onnx"
    onnx.save(build_zoo_model("resnet18", 32, width_mult=0.5), str(path))
    return path


def _run(monkeypatch, capsys, args):
    """Run the command in-process; count the model hashes it takes (commands.plan._sha256_of)."""
    import asymap.commands.plan as cmd

    real = cmd._sha256_of
    calls = []
    monkeypatch.setattr(cmd, "_sha256_of", lambda f, out: calls.append(f.name) or real(f, out))
    rc = main(args)
    monkeypatch.setattr(cmd, "_sha256_of", real)
    return rc, capsys.readouterr().out, len(calls)


def test_table_output_does_not_hash_and_is_unchanged(monkeypatch, capsys, tmp_path, r18):
    rc, table, hashed = _run(monkeypatch, capsys, ["plan", str(r18), "edge4", "-q"])
    assert rc == 0 and hashed == 0
    out = tmp_path / "plan.json"
    rc, table_o, hashed_o = _run(monkeypatch, capsys, ["plan", str(r18), "edge4", "-q", "-o", str(out)])
    assert rc == 0 and hashed_o == 1
    assert table == table_o  # -o prints the same table
    assert json.loads(out.read_text())["model"]["sha256"] == hashlib.sha256(r18.read_bytes()).hexdigest()
    rc, text, hashed_j = _run(monkeypatch, capsys, ["plan", str(r18), "edge4", "-q", "--json"])
    assert rc == 0 and hashed_j == 1
    assert text == out.read_text()  # --json prints what -o writes


def test_hash_of_a_file_in_chunks(tmp_path):
    """The hashing thread's chunked read equals hashlib over the whole file (sizes around the
    1 MiB chunk), and a read error leaves no digest (the command then says so in one line)."""
    import asymap.commands.plan as cmd

    rng = np.random.default_rng(0)
    for n in (0, 1, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) + 17):
        p = tmp_path / f"f{n}"
        p.write_bytes(rng.integers(0, 256, n, dtype=np.uint8).tobytes())
        out = []
        f = open(p, "rb")
        cmd._sha256_of(f, out)
        assert f.closed and out == [hashlib.sha256(p.read_bytes()).hexdigest(), n]

    class Broken:
        name = "broken"

        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

        def readinto(self, buf):
            raise OSError(5, "Input/output error")

    out = []
    cmd._sha256_of(Broken(), out)
    assert out == []


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


def test_next_faster_cycle_count_equals_a_scan(r18):
    """planner._next_faster (the board limit's next faster target, vectorized) equals the scan
    over every menu row it replaced, on every layer's menus of every board type of edge4."""
    from asymap.cluster.load import load_cluster
    from asymap.frontend.onnx_import import load_model
    from asymap.partition.planner import _next_faster, build_problem

    pb = build_problem(load_model(r18, weights=False), load_cluster("edge4"))
    rng = np.random.default_rng(1)
    checked = 0
    for tt in pb.types:
        for sub in tt.widths or [tt]:
            for menus in sub.menus:
                for _ in range(40):
                    j = int(rng.integers(0, len(menus)))
                    k = int(rng.integers(j + 1, len(menus) + 1))
                    pool = np.concatenate([m.cycles for m in menus[j:k]])
                    for below in (float(rng.choice(pool)) * (1 - 1e-12), float(pool.min()), float(pool.max()) + 1):
                        want = max((c for m in menus[j:k] for c in m.cycles if c < below), default=None)
                        assert _next_faster(menus[j:k], below) == want
                        checked += 1
    assert checked > 100
