"""``asymap plan`` reads the model file on demand (onnx_import.map_model, os.pread in blocks)
instead of reading it whole: the parse touches only the headers, a second thread hashes the file.
A file shrunk while it is read is a one-line error (a memory map would die of SIGBUS). The IR must equal the one built from
the file's bytes and from a full load (every shape), errors must stay the same one line, and the
short cuts of the load path (a weight placeholder checked once, initializer headers built
directly) must equal what they replace."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

from asymap.errors import UserError
from asymap.frontend import onnx_import as oi
from asymap.frontend.onnx_import import load_model, map_model
from asymap.frontend.zoo import build_zoo_model
from asymap.util.validate import check_graph_values


def _shapes(g):
    return [(ly.name, ly.op, tuple(ly.out_shape), tuple(map(tuple, ly.in_shapes)),
             None if ly.weight is None else tuple(ly.weight.shape), ly.params) for ly in g.layers]


@pytest.fixture(scope="module")
def r18(tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "r18s.onnx"
    onnx.save(build_zoo_model("resnet18", 32, width_mult=0.5), str(path))
    return path


def test_mapped_load_equals_bytes_and_full_load(r18):
    data = r18.read_bytes()
    buf = map_model(r18)
    try:
        assert isinstance(buf, oi.ModelFile)
        assert hashlib.sha256(bytes(buf)).hexdigest() == hashlib.sha256(data).hexdigest()
        mapped = load_model(r18, weights=False, data=buf)
    finally:
        buf.close()  # nothing may still refer to the map (a BufferError here would say so)
    by_path = load_model(r18, weights=False)  # maps the file itself, and closes it
    from_bytes = load_model(r18, weights=False, data=data)
    full = load_model(r18)
    assert _shapes(mapped) == _shapes(by_path) == _shapes(from_bytes) == _shapes(full)
    for a, b in zip(mapped.layers, full.layers, strict=True):
        if b.bias is not None:  # small tensors (BatchNorm-folded biases) are real values
            np.testing.assert_array_equal(a.bias, b.bias)


def test_mapped_full_load_keeps_the_weights(r18):
    buf = map_model(r18)
    try:
        g = load_model(r18, data=buf)  # weights=True from a map: parsed from a copy
    finally:
        buf.close()
    full = load_model(r18)
    for a, b in zip(g.layers, full.layers, strict=True):
        if b.weight is not None:
            np.testing.assert_array_equal(a.weight, b.weight)


def test_empty_and_damaged_files_are_the_same_one_line_errors(tmp_path, r18):
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    with map_model(empty) as buf:
        assert len(buf) == 0 and bytes(buf) == b"" and buf[0:10] == b""
    with pytest.raises(UserError, match="empty.onnx: not an ONNX model"):
        load_model(empty, weights=False)
    cut = tmp_path / "cut.onnx"
    cut.write_bytes(r18.read_bytes()[: r18.stat().st_size // 2])
    with pytest.raises(UserError) as by_map:
        load_model(cut, weights=False)
    with pytest.raises(UserError) as by_bytes:
        load_model(cut, weights=False, data=cut.read_bytes())
    assert str(by_map.value) == str(by_bytes.value)


def test_a_directory_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="cannot read the model"):
        map_model(tmp_path)


def test_unreadable_model_is_a_user_error(tmp_path, r18, monkeypatch):
    """A path through a regular file (ENOTDIR, which root gets too) and a permission error (made
    by the open call itself, since CI may run as root, who reads a chmod-0 file)."""
    import asymap.frontend.onnx_import as oi

    with pytest.raises(UserError, match="cannot read the model"):
        map_model(r18 / "model.onnx")
    p = tmp_path / "locked.onnx"
    p.write_bytes(r18.read_bytes())

    def denied(path, *a, **k):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(oi, "open", denied, raising=False)
    with pytest.raises(UserError, match=r"locked.onnx: cannot read the model \(Permission denied\)"):
        map_model(p)


def test_plan_command_hashes_the_mapped_file(tmp_path, r18):
    """plan.json's model.sha256 is the file's hash (taken on the hashing thread from the map)."""
    import json

    from asymap.cli import main

    out = tmp_path / "plan.json"
    assert main(["plan", str(r18), "edge4", "-q", "-o", str(out)]) == 0
    model = json.loads(out.read_text())["model"]
    assert model["sha256"] == hashlib.sha256(r18.read_bytes()).hexdigest()


def test_broadcast_placeholder_is_checked_like_real_weights():
    """check_graph_values checks a one-value broadcast (the planner's placeholder) once; the
    verdict equals the real array's."""
    from asymap.frontend.ir import CONV, Graph, Layer

    def graph(w):
        lay = Layer(index=0, name="c", op=CONV, inputs=["x"], output="y", in_shapes=[(4, 4, 4)],
                    out_shape=(8, 4, 4), weight=w)
        return Graph("g", "x", (4, 4, 4), "y", [lay])

    for v in (0.0, 1.5):
        check_graph_values(graph(np.broadcast_to(np.float32(v), (8, 4, 1, 1))), "m.onnx")
    for v in (np.nan, np.inf):
        with pytest.raises(UserError, match="weights contain 32 NaN/infinite") as placeholder:
            check_graph_values(graph(np.broadcast_to(np.float32(v), (8, 4, 1, 1))), "m.onnx")
        with pytest.raises(UserError) as real:
            check_graph_values(graph(np.full((8, 4, 1, 1), v, np.float32)), "m.onnx")
        assert str(placeholder.value) == str(real.value)


@pytest.mark.parametrize("dims", [[64, 3, 7, 7], [1000], [5, 1], [2, 3, 4, 5, 6]])
@pytest.mark.parametrize("dtype", [onnx.TensorProto.FLOAT, onnx.TensorProto.INT64, onnx.TensorProto.FLOAT16])
def test_initializer_short_cuts_equal_the_onnx_helpers(dims, dtype):
    vi = oi._value_info("w", dtype, dims)
    assert vi == helper.make_tensor_value_info("w", dtype, list(dims))
    rng = np.random.default_rng(0)
    arr = rng.standard_normal(dims).astype(helper.tensor_dtype_to_np_dtype(dtype))
    for t in (numpy_helper.from_array(arr, "w"),  # raw_data
              helper.make_tensor("w", dtype, dims, arr.ravel().tolist())):  # typed fields
        a, b = oi._to_array(t), numpy_helper.to_array(t)
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)


def test_model_file_reads_equal_the_bytes(r18):
    """Indexing and slicing a ModelFile (within a block, across blocks, long runs, negative and
    open ends) equal the same on the file's bytes."""
    data = r18.read_bytes()
    n, blk = len(data), oi.ModelFile.BLOCK
    rng = np.random.default_rng(1)
    cuts = [(0, 1), (blk - 1, blk + 1), (blk, 2 * blk), (3, 9 * blk + 5), (n - 7, n), (n - 1, n + 50), (5, 5), (9, 3)]
    cuts += [tuple(sorted(rng.integers(0, n, 2))) for _ in range(200)]
    with map_model(r18) as buf:
        assert len(buf) == n
        for a, b in cuts:
            assert buf[a:b] == data[a:b]
        for i in list(rng.integers(0, n, 200)) + [0, n - 1, -1, -n]:
            assert buf[int(i)] == data[int(i)]
        assert buf[-10:] == data[-10:] and buf[:10] == data[:10]
        for i in (n, -n - 1):
            with pytest.raises(IndexError):
                buf[i]
        assert bytes(buf) == data


def test_a_file_shrunk_while_read_is_a_one_line_error(tmp_path, r18):
    """Another process truncating the model between opening and parsing: a UserError naming the
    file (with a memory map, the next touch of a page past the new end killed the process)."""
    p = tmp_path / "m.onnx"
    p.write_bytes(r18.read_bytes())
    buf = map_model(p)
    try:
        os.truncate(p, p.stat().st_size // 3)
        with pytest.raises(UserError, match=r"m.onnx: the file shrank while it was read \(it had \d+ bytes\)"):
            load_model(p, weights=False, data=buf)
    finally:
        buf.close()


def test_plan_command_survives_a_model_truncated_during_the_plan(tmp_path, r18):
    """The command in its own process (a SIGBUS would end it by signal): the model is truncated
    right after the command opens it; exit 2 and one line on stderr naming the file."""
    p = tmp_path / "m.onnx"
    p.write_bytes(r18.read_bytes())
    code = (
        "import os, sys\n"
        "import asymap.frontend.onnx_import as oi\n"
        "real = oi.map_model\n"
        "def shrinking(path):\n"
        "    buf = real(path)\n"
        "    os.truncate(path, 1000)\n"
        "    return buf\n"
        "oi.map_model = shrinking\n"
        "from asymap.cli import main\n"
        f"sys.exit(main(['plan', {str(p)!r}, 'edge4', '-q', '-o', {str(tmp_path / 'plan.json')!r}]))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "m.onnx: the file shrank while it was read" in lines[0]
    assert not (tmp_path / "plan.json").exists()


def test_plan_command_refuses_a_hash_of_fewer_bytes_than_it_planned(tmp_path, r18, monkeypatch, capsys):
    """The hashing thread reads its own handle: had the file shrunk before it read, plan.json's
    model.sha256 would name other bytes than the planned ones. One line, exit 2, no plan.json."""
    import asymap.commands.plan as cmd
    from asymap.cli import main

    import threading

    p = tmp_path / "m.onnx"
    p.write_bytes(r18.read_bytes())
    real, real_load = cmd._sha256_of, oi.load_model
    loaded = threading.Event()

    def load(*a, **k):
        try:
            return real_load(*a, **k)
        finally:
            loaded.set()

    def shrunk_first(f, out):  # after the planner's read, before the hash's
        loaded.wait(60)
        os.truncate(p, 1000)
        real(f, out)

    monkeypatch.setattr(oi, "load_model", load)
    monkeypatch.setattr(cmd, "_sha256_of", shrunk_first)
    out = tmp_path / "plan.json"
    assert main(["plan", str(p), "edge4", "-q", "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "m.onnx: the file changed size while it was read" in err[0]
    assert not out.exists()
