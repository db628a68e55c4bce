"""Bad input: one line on stderr naming the file/node and the fix, exit code 2, no traceback, and
no output file (not even a temp file) left behind."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import helper

from asymap.frontend.zoo import build_zoo_model


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.onnx"
    onnx.save(build_zoo_model("tiny", 16, num_classes=10), str(path))
    return path


def _save(kit, tmp_path, nodes, inits, name="bad.onnx", **kw):
    path = tmp_path / name
    # Skip the checker on purpose: these files are broken in ways the importer must report.
    onnx.save(kit.model(nodes, inits, (3, 8, 8), **kw), str(path))
    return path


def _no_outputs(tmp_path, keep):
    left = sorted(p.name for p in tmp_path.iterdir() if p.name not in keep)
    assert left == [], left


def test_not_onnx(run_cli, assert_user_error, tmp_path):
    p = tmp_path / "notes.onnx"
    p.write_text("this is not a model\n" * 20)
    assert_user_error(run_cli("inspect", p), "notes.onnx", "ONNX")


def test_truncated(run_cli, assert_user_error, tmp_path, tiny):
    data = tiny.read_bytes()
    p = tmp_path / "trunc.onnx"
    p.write_bytes(data[: len(data) // 2])
    assert_user_error(run_cli("inspect", p), "trunc.onnx", "truncated")


def test_missing_file(run_cli, assert_user_error, tmp_path):
    assert_user_error(run_cli("inspect", tmp_path / "nope.onnx"), "nope.onnx", "no such file")


def test_cycle(run_cli, assert_user_error, kit, tmp_path):
    nodes = [
        helper.make_node("Add", ["x", "b"], ["a"], name="loop_a"),
        helper.make_node("Relu", ["a"], ["b"], name="loop_b"),
        helper.make_node("Relu", ["a"], ["y"], name="out"),
    ]
    p = _save(kit, tmp_path, nodes, {})
    assert_user_error(run_cli("inspect", p), "bad.onnx", "loop_a", "cycle")


def test_dangling_input(run_cli, assert_user_error, kit, tmp_path):
    nodes = [helper.make_node("Conv", ["x", "w_missing"], ["y"], name="conv0", kernel_shape=[1, 1])]
    p = _save(kit, tmp_path, nodes, {})
    assert_user_error(run_cli("inspect", p), "bad.onnx", "conv0", "w_missing", "dangling")


def test_unsupported_op(run_cli, assert_user_error, kit, tmp_path):
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv0", kernel_shape=[1, 1]),
        helper.make_node("Tanh", ["c"], ["y"], name="gate7"),
    ]
    p = _save(kit, tmp_path, nodes, {"w": kit.w(4, 3, 1, 1)})
    assert_user_error(run_cli("inspect", p), "bad.onnx", "gate7", "Tanh", "supported:", "Conv", "QuantizeLinear")


def test_non_constant_weight(run_cli, assert_user_error, kit, tmp_path):
    nodes = [
        helper.make_node("Identity", ["x"], ["xw"], name="id"),
        helper.make_node("Conv", ["x", "xw"], ["y"], name="conv_dyn", kernel_shape=[1, 1]),
    ]
    p = _save(kit, tmp_path, nodes, {})
    assert_user_error(run_cli("inspect", p), "bad.onnx", "conv_dyn", "not a constant")


def test_shape_cannot_be_inferred(run_cli, assert_user_error, kit, tmp_path):
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="c", kernel_shape=[1, 1])]
    p = _save(kit, tmp_path, nodes, {"w": kit.w(4, 3, 1, 1)}, in_dims=["N", 3, "H", "W"])
    assert_user_error(run_cli("inspect", p), "bad.onnx", "--input-shape")
    assert run_cli("inspect", p, "--input-shape", "3,8,8").returncode == 0
    assert_user_error(run_cli("inspect", p, "--input-shape", "3,a,8"), "--input-shape")


def test_unreadable_npy(run_cli, assert_user_error, tmp_path, tiny):
    bad = tmp_path / "x.npy"
    bad.write_bytes(b"\x93NUMPY garbage")
    out = tmp_path / "y.npy"
    assert_user_error(run_cli("reference", tiny, "--input", bad, "-o", out), "x.npy", "numpy.save")
    assert_user_error(run_cli("reference", tiny, "--calib", bad, "-o", out), "x.npy")
    assert_user_error(run_cli("reference", tiny, "--input", tmp_path / "none.npy", "-o", out), "none.npy")
    _no_outputs(tmp_path, {"tiny.onnx", "x.npy"})


def test_wrong_input_shapes(run_cli, assert_user_error, tmp_path, tiny):
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((3, 20, 20), np.float32))
    out = tmp_path / "y.npy"
    assert_user_error(run_cli("reference", tiny, "--input", x, "-o", out), "x.npy", "(3, 16, 16)")
    assert_user_error(run_cli("reference", tiny, "--calib", x, "-o", out), "x.npy")
    np.save(x, np.full((3, 16, 16), np.nan, np.float32))
    assert_user_error(run_cli("reference", tiny, "--input", x, "-o", out), "x.npy", "NaN")
    _no_outputs(tmp_path, {"tiny.onnx", "x.npy"})


def test_output_in_missing_directory(run_cli, assert_user_error, tmp_path, tiny):
    assert_user_error(run_cli("reference", tiny, "-o", tmp_path / "nodir" / "y.npy"), "nodir", "does not exist")
    assert_user_error(run_cli("zoo", "tiny", "-o", tmp_path / "nodir" / "m.onnx"), "nodir", "does not exist")
    _no_outputs(tmp_path, {"tiny.onnx"})


def test_bad_model_leaves_no_reference_output(run_cli, assert_user_error, tmp_path):
    p = tmp_path / "notes.onnx"
    p.write_bytes(b"\x00\x01garbage")
    assert_user_error(run_cli("reference", p, "-o", tmp_path / "y.npy"), "notes.onnx")
    _no_outputs(tmp_path, {"notes.onnx"})


def test_unfusable_and_unsupported_patterns(run_cli, assert_user_error, kit, tmp_path):
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv0", kernel_shape=[1, 1]),
        helper.make_node("Concat", ["c", "x"], ["cat"], name="cat_h", axis=2),
        helper.make_node("Relu", ["cat"], ["y"], name="r"),
    ]
    p = _save(kit, tmp_path, nodes, {"w": kit.w(3, 3, 1, 1)})
    assert_user_error(run_cli("inspect", p), "cat_h", "axis")
    # a BatchNormalization on the image itself is a pre-activation affine layer; on a flattened
    # tensor (not after an fc it folds into) it is refused
    nodes = [helper.make_node("Flatten", ["x"], ["f"], name="flat"),
             helper.make_node("BatchNormalization", ["f", "g", "b", "m", "v"], ["y"], name="bn_in")]
    one = np.ones(3 * 8 * 8, np.float32)
    p = _save(kit, tmp_path, nodes, {"g": one, "b": one, "m": one, "v": one}, name="bn.onnx")
    assert_user_error(run_cli("inspect", p), "bn_in", "BatchNormalization")


@pytest.mark.parametrize("cmd", ["zoo", "inspect", "reference"])
def test_help_has_example(run_cli, cmd):
    proc = run_cli(cmd, "--help", check=True)
    assert "example:" in proc.stdout and f"asymap {cmd} " in proc.stdout


def test_inconsistent_shapes(run_cli, assert_user_error, kit, tmp_path):
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="conv_bad", kernel_shape=[1, 1])]
    p = _save(kit, tmp_path, nodes, {"w": kit.w(4, 5, 1, 1)})  # 5 input channels, the image has 3
    assert_user_error(run_cli("inspect", p), "bad.onnx", "conv_bad")


def test_opset_too_old(run_cli, assert_user_error, kit, tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="r")]
    p = _save(kit, tmp_path, nodes, {}, opset=9)
    assert_user_error(run_cli("inspect", p), "bad.onnx", "opset 9")
