"""Every bad input and file-system fault a user can meet: exit code 2, exactly one line on
stderr, no traceback, and nothing left behind (the directory is byte-for-byte as before).

Each row is (id, setup, argv, fragment): ``setup(d, monkeypatch)`` prepares the case in the
test's own directory ``d`` (a copy of a tiny model, the pair2 cluster, a plan and a generated
tree); ``argv`` runs in-process through ``asymap.cli.main`` so faults can be injected with
monkeypatch (root ignores file permissions, so read-only and full-disk are simulated at the
system-call boundary with the errno the kernel would give).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from asymap.cli import main

ROOT = Path(__file__).resolve().parents[2]


# --- shared inputs, made once --------------------------------------------------------------------
@pytest.fixture(scope="module")
def base(tmp_path_factory):
    d = tmp_path_factory.mktemp("base")
    cwd = os.getcwd()
    os.chdir(d)
    try:
        assert main(["zoo", "tiny", "--input-size", "32", "--width-mult", "0.5", "-o", "tiny.onnx", "-q"]) == 0
        shutil.copy(ROOT / "clusters" / "pair2.yaml", "pair2.yaml")
        assert main(["plan", "tiny.onnx", "pair2.yaml", "-o", "plan.json", "-q"]) == 0
        assert main(["generate", "tiny.onnx", "pair2.yaml", "--plan", "plan.json", "-o", "out", "-q"]) == 0
    finally:
        os.chdir(cwd)
    return d


def _conv_model(path: Path, w: np.ndarray) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, w.shape[0], 8, 8])
    node = helper.make_node("Conv", ["x", "W"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], name="c0")
    g = helper.make_graph([node], "g", [x], [y], [numpy_helper.from_array(w.astype(np.float32), "W")])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)


def _weights(bad=None) -> np.ndarray:
    w = np.random.default_rng(0).standard_normal((4, 3, 3, 3))
    if bad is not None:
        w[1, 2, 0, 0] = bad
    return w


# --- setups --------------------------------------------------------------------------------------
TWO = "boards:\n  - {name: a, type: u250}\n  - {name: b, type: zcu102}\n"


def cluster(text):
    def setup(d, mp):
        (d / "c.yaml").write_text(text)
    return setup


def custom(res):
    return cluster("boards:\n  - {name: a, resources: {" + res + "}}\n")


def raw(name, data: bytes):
    def setup(d, mp):
        (d / name).write_bytes(data)
    return setup


def mkdir(name):
    def setup(d, mp):
        (d / name).mkdir()
    return setup


def model(w):
    def setup(d, mp):
        _conv_model(d / "m.onnx", w)
    return setup


def plan_edit(fn):
    def setup(d, mp):
        p = json.loads((d / "plan.json").read_text())
        fn(p)
        (d / "p2.json").write_text(json.dumps(p))
    return setup


def layer(p, i):
    return next(ly for b in p["boards"] for ly in b["layers"] if ly["index"] == i)


def npy(name, arr):
    def setup(d, mp):
        np.save(d / name, arr)
    return setup


def nothing(d, mp):
    pass


def fail_writes(err):
    """Every write through asymap's atomic writer fails with ``err`` (full disk, I/O error)."""
    def setup(d, mp):
        import asymap.util.fileio as fileio

        real = open

        class Failing:
            def __init__(self, fh):
                self.fh = fh

            def write(self, data):
                self.fh.write(data[: len(data) // 2])  # a partial write, then the fault
                raise OSError(err, os.strerror(err))

            def __getattr__(self, k):
                return getattr(self.fh, k)

            def __enter__(self):
                return self

            def __exit__(self, *a):
                self.fh.close()

        mp.setattr(fileio, "open", lambda *a, **k: Failing(real(*a, **k)), raising=False)
    return setup


def read_only(d, mp):
    import asymap.util.fileio as fileio

    def refuse(*a, dir=None, **k):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(dir))
    mp.setattr(fileio.tempfile, "mkstemp", refuse)


def permission_denied(d, mp):
    import asymap.util.fileio as fileio

    def refuse(*a, dir=None, **k):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(dir))
    mp.setattr(fileio.tempfile, "mkstemp", refuse)


def generate_disk_full(d, mp):
    import asymap.codegen.project as project

    real, calls = project._write, []

    def write(path, data):
        calls.append(path)
        if len(calls) > 5:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real(path, data)
    mp.setattr(project, "_write", write)


def delete(rel):
    def setup(d, mp):
        p = d / rel
        for f in p.parent.glob(p.name):
            f.unlink()
    return setup


def dir_for(rel):
    def setup(d, mp):
        (d / rel).unlink()
        (d / rel).mkdir()
    return setup


def lock_tree(d, mp):
    from asymap.util.lock import tree_lock

    cm = tree_lock(d / "out", "build --step csim")  # held by "another run" for the case
    cm.__enter__()
    _HELD.append(cm)


_HELD: list = []  # locks taken by a setup, released after the case


P = ["plan", "tiny.onnx"]
G = ["generate", "tiny.onnx", "pair2.yaml", "-o", "o2"]

CASES = [
    # cluster files: numbers that are not numbers, absurd values, structure
    ("gbps-nan", cluster(TWO + "links:\n  - {a: a, b: b, gbps: .nan}\n"), P + ["c.yaml"], "'gbps' must be a finite"),
    ("gbps-inf", cluster(TWO + "links:\n  - {a: a, b: b, gbps: .inf}\n"), P + ["c.yaml"], "'gbps' must be a finite"),
    ("gbps-negative", cluster(TWO + "links:\n  - {a: a, b: b, gbps: -10}\n"), P + ["c.yaml"], "'gbps' must be positive"),
    ("gbps-absurd", cluster(TWO + "links:\n  - {a: a, b: b, gbps: 1.0e+9}\n"), P + ["c.yaml"], "beyond any real"),
    ("latency-nan", cluster(TWO + "links:\n  - {a: a, b: b, gbps: 10, latency_ns: .nan}\n"), P + ["c.yaml"],
     "'latency_ns' must be a finite"),
    ("clock-nan", custom("dsp: 90, bram36: 50, uram: 0, lut: 9000, clock_mhz: .nan, mem_gbps: 10"), P + ["c.yaml"],
     "'clock_mhz' must be a finite"),
    ("clock-absurd", custom("dsp: 90, bram36: 50, uram: 0, lut: 9000, clock_mhz: 3000000, mem_gbps: 10"),
     P + ["c.yaml"], "'clock_mhz' = 3e+06 is beyond"),
    ("dsp-inf", custom("dsp: .inf, bram36: 50, uram: 0, lut: 9000, clock_mhz: 200, mem_gbps: 10"), P + ["c.yaml"],
     "'dsp' must be a finite"),
    ("dsp-negative", custom("dsp: -4, bram36: 50, uram: 0, lut: 9000, clock_mhz: 200, mem_gbps: 10"), P + ["c.yaml"],
     "'dsp' must be non-negative"),
    ("dsp-text", custom("dsp: many, bram36: 50, uram: 0, lut: 9000, clock_mhz: 200, mem_gbps: 10"), P + ["c.yaml"],
     "'dsp' must be a number"),
    ("mem-negative", custom("dsp: 9, bram36: 50, uram: 0, lut: 9000, clock_mhz: 200, mem_gbps: -1"), P + ["c.yaml"],
     "'mem_gbps' must be positive"),
    ("unknown-key", cluster(TWO + "linkz: []\n"), P + ["c.yaml"], "unknown key 'linkz'"),
    ("unknown-board", cluster("boards:\n  - {name: a, type: u999}\n"), P + ["c.yaml"], "u999"),
    ("disconnected", cluster(TWO), P + ["c.yaml"], "disconnected"),
    ("duplicate-board", cluster("boards:\n  - {name: a, type: u250}\n  - {name: a, type: u250}\n"), P + ["c.yaml"],
     "duplicate board name"),
    ("yaml-syntax", cluster("boards: [\n"), P + ["c.yaml"], "not valid YAML"),
    ("yaml-empty", cluster(""), P + ["c.yaml"], "c.yaml"),
    ("yaml-binary", raw("c.yaml", b"\xff\xfe\x00\x01garbage"), P + ["c.yaml"], "c.yaml"),
    ("cluster-is-dir", mkdir("c.yaml"), P + ["c.yaml"], "c.yaml"),
    ("cluster-missing", nothing, P + ["nope.yaml"], "nope.yaml"),
    # models: weights that are not numbers, empty tensors, not ONNX
    ("weights-nan", model(_weights(np.nan)), ["plan", "m.onnx", "pair2.yaml", "-o", "p.json"], "NaN/infinite"),
    ("weights-inf", model(_weights(np.inf)), ["plan", "m.onnx", "pair2.yaml", "-o", "p.json"], "NaN/infinite"),
    ("weights-nan-reference", model(_weights(np.nan)), ["reference", "m.onnx", "-o", "y.npy"], "node 'c0'"),
    ("zero-channels", model(np.zeros((0, 3, 3, 3))), ["plan", "m.onnx", "pair2.yaml"], "zero-sized"),
    ("onnx-garbage", raw("m.onnx", b"\x00\x01garbage" * 9), ["inspect", "m.onnx"], "m.onnx"),
    ("onnx-empty", raw("m.onnx", b""), ["plan", "m.onnx", "pair2.yaml"], "m.onnx"),
    ("model-is-dir", mkdir("m.onnx"), ["plan", "m.onnx", "pair2.yaml"], "m.onnx"),
    ("model-missing", nothing, ["generate", "nope.onnx", "pair2.yaml", "-o", "o2"], "nope.onnx"),
    # options
    ("util-zero", nothing, P + ["pair2.yaml", "--util", "0"], "--util"),
    ("util-nan", nothing, P + ["pair2.yaml", "--util", "nan"], "--util"),
    ("util-above-one", nothing, P + ["pair2.yaml", "--util", "1.5"], "--util"),
    ("boards-zero", nothing, P + ["pair2.yaml", "--boards", "0"], "--boards"),
    ("boards-too-many", nothing, P + ["pair2.yaml", "--boards", "9"], "--boards"),
    ("input-shape-bad", nothing, ["inspect", "tiny.onnx", "--input-shape", "3,x,4"], "3,x,4"),
    # outputs that would overwrite an input, or cannot be files
    ("plan-over-model", nothing, P + ["pair2.yaml", "-o", "tiny.onnx"], "names an input file"),
    ("plan-over-cluster", nothing, P + ["pair2.yaml", "-o", "./pair2.yaml"], "names an input file"),
    ("reference-over-model", nothing, ["reference", "tiny.onnx", "-o", "tiny.onnx"], "names an input file"),
    ("report-over-plan", nothing, ["report", "plan.json", "-o", "plan.json"], "names an input file"),
    ("plan-output-is-dir", mkdir("p.json"), P + ["pair2.yaml", "-o", "p.json"], "is a directory"),
    ("plan-output-no-parent", nothing, P + ["pair2.yaml", "-o", "missing/p.json"], "does not exist"),
    ("plan-output-device", nothing, P + ["pair2.yaml", "-o", "/dev/full"], "not a regular file"),
    ("zoo-output-is-dir", mkdir("z.onnx"), ["zoo", "tiny", "-o", "z.onnx"], "is a directory"),
    ("generate-into-foreign-dir", raw("o2", b""), G, "o2"),
    # file-system faults
    ("plan-disk-full", fail_writes(errno.ENOSPC), P + ["pair2.yaml", "-o", "p.json"], "p.json: No space left"),
    ("plan-io-error", fail_writes(errno.EIO), P + ["pair2.yaml", "-o", "p.json"], "check the disk"),
    ("plan-read-only", read_only, P + ["pair2.yaml", "-o", "p.json"], "p.json: Read-only file system"),
    ("reference-permission", permission_denied, ["reference", "tiny.onnx", "-o", "y.npy"], "Permission denied"),
    ("zoo-disk-full", fail_writes(errno.ENOSPC), ["zoo", "tiny", "-o", "z.onnx"], "No space left"),
    ("generate-disk-full", generate_disk_full, G, "No space left"),
    # plans: not JSON, not numbers, illegal or edited
    ("plan-not-json", raw("p2.json", b"{boards: ["), G + ["--plan", "p2.json"], "p2.json"),
    ("plan-nan", raw("p2.json", b'{"schema": 1, "interval_s": NaN}'), G + ["--plan", "p2.json"], "NaN"),
    ("plan-list", raw("p2.json", b"[1, 2]"), G + ["--plan", "p2.json"], "JSON object"),
    ("plan-is-dir", mkdir("p2.json"), G + ["--plan", "p2.json"], "p2.json"),
    ("plan-illegal-pe", plan_edit(lambda p: layer(p, 1)["factors"].update(pe=7)), G + ["--plan", "p2.json"],
     "factors.pe"),
    ("plan-pe-zero", plan_edit(lambda p: layer(p, 1)["factors"].update(pe=0)), G + ["--plan", "p2.json"],
     "factors.pe"),
    ("plan-options-edited", plan_edit(lambda p: p["options"].update(pad=False)), G + ["--plan", "p2.json"],
     "options_sha256"),
    ("plan-other-cluster", plan_edit(lambda p: p["cluster"].update(sha256="0" * 64)), G + ["--plan", "p2.json"],
     "cluster.sha256"),
    ("report-bad-field", plan_edit(lambda p: p.update(boards="x")), ["report", "p2.json", "-o", "r.html"],
     "boards"),
    # generated trees: missing vectors, a directory in place of a file, held by another run
    ("verify-missing-vectors", delete("out/big/vectors/link_in.frames"), ["verify", "out"], "link_in.frames"),
    ("verify-missing-expected", delete("out/big/vectors/expected_*.bin"), ["verify", "out"], "expected_"),
    ("verify-chain-is-dir", dir_for("out/chain.json"), ["verify", "out"], "chain.json"),
    ("verify-not-generated", mkdir("empty"), ["verify", "empty"], "chain.json"),
    ("build-missing-tree", nothing, ["build", "nope", "--step", "csim"], "nope"),
    ("build-while-held", lock_tree, ["build", "out", "--step", "csim"], "in use by 'asymap build --step csim' (pid"),
    ("reference-input-nan", npy("x.npy", np.full((3, 32, 32), np.nan, np.float32)),
     ["reference", "tiny.onnx", "--input", "x.npy", "-o", "y.npy"], "NaN"),
    ("reference-input-shape", npy("x.npy", np.zeros((3, 8, 8), np.float32)),
     ["reference", "tiny.onnx", "--input", "x.npy", "-o", "y.npy"], "shape"),
    ("compare-calibrate-over-plan", nothing, ["compare", "out", "--plan", "plan.json", "--calibrate", "plan.json"],
     "names an input file"),
]


def _snapshot(d: Path) -> dict:
    out = {}
    for p in sorted(d.rglob("*")):
        st = p.lstat()
        out[str(p.relative_to(d))] = ("d", 0, 0) if p.is_dir() else ("f", st.st_size, st.st_mtime_ns)
    return out


def test_at_least_40_cases():
    assert len(CASES) >= 40 and len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input(case, base, tmp_path, monkeypatch, capsys):
    _, setup, argv, fragment = case
    d = tmp_path / "w"
    shutil.copytree(base, d, symlinks=True)
    monkeypatch.chdir(d)
    try:
        setup(d, monkeypatch)
        before = _snapshot(d)
        capsys.readouterr()
        code = main([*argv, "-q"])
        err = capsys.readouterr().err
    finally:
        while _HELD:  # the holder's own info file goes with its lock
            _HELD.pop().__exit__(None, None, None)
            before.pop("out/.asymap.lock", None)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2, err
    assert len(lines) == 1, err
    assert "Traceback" not in err and lines[0].startswith(f"asymap {argv[0]}: error: ")
    assert fragment in lines[0], lines[0]
    assert _snapshot(d) == before, "files were created, changed or removed"
