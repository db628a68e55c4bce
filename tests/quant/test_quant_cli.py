"""`asymap reference`: int and float outputs, user input and calibration files, determinism."""

from __future__ import annotations

import re

import numpy as np
import onnx

from asymap.frontend.onnx_import import load_model
from asymap.frontend.zoo import build_zoo_model
from asymap.quant.quantize import quantize
from asymap.quant.reference import quantize_input, run_float, run_int


def test_reference_int_and_float(run_cli, tmp_path):
    model = tmp_path / "m.onnx"
    onnx.save(build_zoo_model("inception", 32, 0.25, num_classes=12), str(model))
    x = np.random.default_rng(2).standard_normal((1, 3, 32, 32)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    calib = np.random.default_rng(3).standard_normal((3, 3, 32, 32)).astype(np.float32)
    np.save(tmp_path / "calib.npy", calib)

    proc = run_cli("reference", model, "--input", "x.npy", "--int", "--calib", "calib.npy", "-o", "yi.npy", check=True)
    sq = float(re.search(r"SQNR int vs float ([-\d.]+) dB", proc.stdout).group(1))
    assert sq >= 20.0
    yi = np.load(tmp_path / "yi.npy")
    g = load_model(model)
    q = quantize(g, calib=calib)
    want = run_int(q, quantize_input(q, x[0]))
    assert yi.dtype == np.int8 and np.array_equal(yi.astype(np.int16), want)

    run_cli("reference", model, "--input", "x.npy", "--float", "-o", "yf.npy", check=True)
    yf = np.load(tmp_path / "yf.npy")
    assert yf.dtype == np.float32 and np.allclose(yf, run_float(g, x[0]), rtol=1e-6, atol=1e-6)

    # Same inputs -> byte-identical output; default input and calibration are seeded.
    run_cli("reference", model, "-o", "a.npy", "-q", check=True)
    run_cli("reference", model, "-o", "b.npy", "-q", check=True)
    assert (tmp_path / "a.npy").read_bytes() == (tmp_path / "b.npy").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npy", "b.npy", "calib.npy", "m.onnx", "x.npy", "yf.npy", "yi.npy"]


def test_reference_float_mode_and_int_mode_are_exclusive(run_cli, tmp_path):
    model = tmp_path / "t.onnx"
    onnx.save(build_zoo_model("tiny", 16), str(model))
    proc = run_cli("reference", model, "--int", "--float", "-o", "y.npy")
    assert proc.returncode == 2 and not (tmp_path / "y.npy").exists()
