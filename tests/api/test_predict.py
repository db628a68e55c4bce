"""asymap.compile(out).predict(batch): the boards' C-simulation as one shared library, numpy images
through the whole chain in-process, bit-exact against the integer reference, with per-layer traces."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import asymap

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.csim


@pytest.fixture(scope="module")
def two_boards(tmp_path_factory):
    """tiny (32x32, x0.5) split over the two boards of pair2 by a hand-edited plan, inside the
    residual block so the link carries two tensors. The first board reads layer 1's weights from
    off-chip memory (weights/wmem.bin), the second keeps fc's in URAM (a start-up image,
    weights/wpre.bin): both extra top-function arguments occur."""
    from asymap.cli import main

    d = tmp_path_factory.mktemp("predict")
    model = d / "tiny.onnx"
    assert main(["zoo", "tiny", "--input-size", "32", "--width-mult", "0.5", "-o", str(model), "-q"]) == 0
    shutil.copy(ROOT / "clusters" / "pair2.yaml", d / "pair2.yaml")
    assert main(["plan", str(model), str(d / "pair2.yaml"), "-o", str(d / "plan.json"), "-q"]) == 0
    p = json.loads((d / "plan.json").read_text())
    big = p["boards"][0]
    small = {**big, "name": "small", "type": "zcu102", "first_layer": 3,
             "layers": [ly for ly in big["layers"] if ly["index"] >= 3]}
    big.update(last_layer=2, layers=[ly for ly in big["layers"] if ly["index"] <= 2])
    big["layers"][1]["weights"] = "offchip"
    p["boards"] = [big, small]
    for k in ("options", "options_sha256"):  # a plan written by hand: no planner provenance
        p.pop(k)
    (d / "plan2.json").write_text(json.dumps(p))
    out = d / "out"
    asymap.generate(str(model), str(d / "pair2.yaml"), out, plan=str(d / "plan2.json"), quiet=True)
    return model, out


@pytest.fixture(scope="module")
def compiled(two_boards):
    return asymap.compile(two_boards[1])


def _mapped(lib: Path) -> bool:
    return str(lib.resolve()) in Path("/proc/self/maps").read_text()


def test_compile_builds_one_shared_library_of_every_board(two_boards, compiled):
    _, out = two_boards
    chain = json.loads((out / "chain.json").read_text())
    assert [(b["wmem_words"] > 0, b["wpre_words"] > 0) for b in chain["boards"]] == [(True, False), (False, True)]
    lib = out / "predict" / "libasymap_chain.so"
    assert compiled.library.path == lib and lib.is_file()
    assert compiled.boards == ["big", "small"]
    # one library, every board's entry points, nothing else exported
    import subprocess

    syms = subprocess.run(["nm", "-D", "--defined-only", str(lib)], capture_output=True, text=True).stdout.split()
    assert sorted(s for s in syms if s.startswith("asymap_")) == [
        "asymap_board0_load", "asymap_board0_run", "asymap_board1_load", "asymap_board1_run"]
    assert not [s for s in syms if s.startswith("_Z")]  # no C++ symbol leaks (it would pin the library)
    # each board's link kernels are its own template instances (its own sequence numbers and
    # receiver state), although both top.cpp files name their config struct cfg_link_in
    for i in (0, 1):
        names = subprocess.run(["nm", "-C", str(out / "predict" / f"board{i}.o")], capture_output=True,
                               text=True).stdout
        assert f"asymap::link_rx_image<asymap_board{i}_ns::cfg_link_in>" in names
        assert f"asymap_board{1 - i}_ns" not in names
    # no testbench program was built for predict: the boards ran in-process
    assert not (out / "big" / "build" / "dataflow_sim.exe").exists()


def test_predict_is_bit_exact_with_the_reference_on_a_batch(two_boards, compiled):
    model, _ = two_boards
    batch = np.random.default_rng(7).standard_normal((3, 3, 32, 32)).astype(np.float32)
    pred = compiled.predict(batch, trace=True)
    q = asymap.quantize(asymap.load_model(model))
    for n in range(3):
        ref = asymap.run_int(q, asymap.quantize_input(q, batch[n]))
        np.testing.assert_array_equal(pred.y_int[n], ref)
        np.testing.assert_allclose(pred.y[n], ref * q.tensors[q.graph.output].scale)
    assert pred.y_int.shape == (3, *q.tensors[q.graph.output].shape)
    assert not np.array_equal(pred.y_int[0], pred.y_int[1])  # really different images

    # The trace: every tensor the C-simulation sent over a link equals the reference's tensor.
    tr = pred.traces[1]
    assert set(tr["layers"]) == {ly.name for ly in q.graph.layers}
    ref_all = asymap.run_int(q, asymap.quantize_input(q, batch[1]), return_all=True)
    assert set(tr["links"]) == {"conv2_relu", "res.conv1_relu", q.graph.output}  # the cut and the output
    for name, arr in tr["links"].items():
        np.testing.assert_array_equal(arr, np.asarray(ref_all[name]).reshape(arr.shape))

    # check=False skips the reference, not the chain: the same values
    fast = compiled.predict(batch, check=False)
    np.testing.assert_array_equal(fast.y_int, pred.y_int)
    assert fast.traces == []


def test_successive_calls_start_from_reset_boards(two_boards, compiled):
    """Each call loads a fresh copy of the library: the link sequence numbers restart at 0 (a stale
    copy would make board 0's receiver count sequence errors and predict raise), the same batch gives
    the same result, and nothing stays loaded between calls."""
    lib = compiled.library.path
    rng = np.random.default_rng(3)
    a = rng.standard_normal((2, 3, 32, 32)).astype(np.float32)
    b = rng.standard_normal((1, 3, 32, 32)).astype(np.float32)
    first = compiled.predict(a).y_int
    assert not _mapped(lib)
    mid = compiled.predict(b).y_int
    again = compiled.predict(a).y_int
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(mid[0], compiled.predict(b[0]).y_int[0])  # (C, H, W) is one image
    assert not _mapped(lib)
    # a second CompiledChain of the same tree (reused library) predicts the same, interleaved
    other = asymap.compile(two_boards[1])
    assert other.rebuilt is False
    np.testing.assert_array_equal(other.predict(a).y_int, first)
    np.testing.assert_array_equal(compiled.predict(a[:1]).y_int, first[:1])
    # while one session holds the library (its boards mid-stream), another call loads a private copy
    with compiled.library.session() as s:
        s.run(0, (two_boards[1] / "big" / "vectors" / "link_in.frames").read_bytes())
        assert _mapped(lib)
        np.testing.assert_array_equal(other.predict(a).y_int, first)
    assert not _mapped(lib)


def test_library_is_rebuilt_only_when_sources_change(two_boards, compiled, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(two_boards[1], out)
    assert asymap.compile(out).rebuilt is False  # copied tree: same sources, same relative command
    seg = out / "small" / "segment.cpp"
    seg.write_text(seg.read_text() + "\n// edited\n")
    m = asymap.compile(out)
    assert m.rebuilt is True
    assert (out / "predict" / "board1.sha256").read_text() != (two_boards[1] / "predict" / "board1.sha256").read_text()
    assert (out / "predict" / "board0.sha256").read_text() == (two_boards[1] / "predict" / "board0.sha256").read_text()


def test_compile_errors_are_one_line(two_boards, tmp_path):
    # not a generated tree
    (tmp_path / "empty").mkdir()
    with pytest.raises(asymap.UserError, match="no chain.json") as e:
        asymap.compile(tmp_path / "empty")
    assert "\n" not in str(e.value)
    with pytest.raises(asymap.UserError, match="no such directory"):
        asymap.compile(tmp_path / "missing")

    # a board that does not compile: g++'s first error, one line, no library left half-written
    out = tmp_path / "out"
    shutil.copytree(two_boards[1], out, ignore=shutil.ignore_patterns("predict"))
    top = out / "small" / "top.cpp"
    top.write_text(top.read_text() + "\nthis is not C++;\n")
    with pytest.raises(asymap.UserError, match=r"g\+\+ cannot build board small into the C-simulation library: "
                                               r".*top\.cpp.*error") as e:
        asymap.compile(out)
    assert "\n" not in str(e.value)
    assert not (out / "predict" / "libasymap_chain.so").exists()
    assert not list((out / "predict").glob("*.tmp"))


def test_compile_refuses_a_library_that_misses_its_test_vectors(two_boards, tmp_path):
    """The self-check can fail: a corrupted URAM weight image makes board 'small' compute something
    else than the vectors it was generated with."""
    out = tmp_path / "out"
    shutil.copytree(two_boards[1], out)
    w = out / "small" / "weights" / "wpre.bin"
    data = bytearray(w.read_bytes())
    for i in range(0, len(data), 7):
        data[i] ^= 0x5A
    w.write_bytes(bytes(data))
    with pytest.raises(asymap.UserError, match="board small: the C-simulation library sends tensor 'output' "
                                               "different from the test vectors") as e:
        asymap.compile(out)
    assert "\n" not in str(e.value)
    w.write_bytes(w.read_bytes()[:-8])  # and a weight image of the wrong size
    with pytest.raises(asymap.UserError, match="board small: its weight image has the wrong size"):
        asymap.compile(out)


def test_predict_rejects_bad_batches(compiled):
    empty = compiled.predict(np.zeros((0, 3, 32, 32), np.float32))
    assert empty.y_int.shape == (0, 1000, 1, 1) and empty.y.shape == (0, 1000, 1, 1)
    with pytest.raises(asymap.UserError, match="needs"):
        compiled.predict(np.zeros((2, 3, 8, 8), np.float32))
    with pytest.raises(asymap.UserError, match="finite"):
        compiled.predict(np.full((1, 3, 32, 32), np.nan, np.float32))
