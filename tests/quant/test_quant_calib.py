"""Calibration on real data: files and folders, max-abs and percentile, recorded and honoured by
plan -> generate -> verify, and the per-layer SQNR report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest

from asymap.errors import UserError
from asymap.frontend.onnx_import import graph_from_model
from asymap.frontend.zoo import build_zoo_model
from asymap.quant.calib import from_record, load_calibration
from asymap.quant.quantize import quantize
from asymap.quant.reference import layer_sqnr

ROOT = Path(__file__).resolve().parents[2]
SHAPE = (3, 16, 16)


@pytest.fixture
def tiny(tmp_path):
    p = tmp_path / "tiny.onnx"
    onnx.save(build_zoo_model("tiny", input_size=16), str(p))
    return p


def _images(n, seed=0):
    return np.random.default_rng(seed).standard_normal((n, *SHAPE)).astype(np.float32)


def test_file_and_folder_give_the_same_images(tmp_path):
    imgs = _images(4)
    np.save(tmp_path / "batch.npy", imgs)
    d = tmp_path / "dir"
    d.mkdir()
    np.save(d / "a.npy", imgs[:2])  # a batch
    np.save(d / "b.npy", imgs[2])  # one image
    np.save(d / "c.npy", imgs[3])
    (d / "notes.txt").write_text("ignored")
    f, g = load_calibration(tmp_path / "batch.npy"), load_calibration(d, shape=SHAPE)
    assert np.array_equal(f.images, g.images) and f.images.shape == (4, *SHAPE)
    assert f.sha256 != g.sha256 and len(f.sha256) == 64
    assert load_calibration(d).sha256 == g.sha256  # deterministic
    assert f.record() == {"path": str((tmp_path / "batch.npy").resolve()), "sha256": f.sha256, "images": 4, "method": "maxabs"}


@pytest.mark.parametrize(
    "setup, words",
    [
        (lambda p: None, ("not found",)),
        (lambda p: p.mkdir(), ("no .npy",)),
        (lambda p: p.write_bytes(b"junk"), ("cannot read",)),
        (lambda p: np.save(p, np.zeros((2, 3, 8, 8), np.float32)), ("shape", "(3, 16, 16)")),
        (lambda p: np.save(p, np.full((1, *SHAPE), np.nan, np.float32)), ("NaN",)),
    ],
)
def test_bad_calibration_is_one_line(tmp_path, setup, words):
    p = tmp_path / "cal.npy"
    setup(p)
    with pytest.raises(UserError) as e:
        load_calibration(p, shape=SHAPE)
    assert "\n" not in str(e.value) and all(w in str(e.value) for w in words)
    with pytest.raises(UserError, match="method"):
        load_calibration(p, method="mse")


def test_percentile_clips_an_outlier_that_maxabs_keeps(tiny):
    g = graph_from_model(onnx.load(str(tiny)), "tiny")
    imgs = _images(8)
    imgs[3, 0, 5, 5] = 60.0  # one extreme pixel
    qm = quantize(g, calib=imgs)
    qp = quantize(g, calib=imgs, method="percentile", percentile=99.0)
    assert qp.input.scale < qm.input.scale / 5
    assert qm.calib["method"] == "maxabs" and qp.calib == {"path": None, "sha256": None, "images": 8, "method": "percentile",
                                                           "percentile": 99.0}  # fmt: skip
    # Every tensor's percentile range is at most its max-abs range.
    for name, t in qp.tensors.items():
        assert t.scale <= qm.tensors[name].scale * (1 + 1e-6)
    assert quantize(g).calib["synthetic_seed"] == 0


def test_calibration_changes_the_integers_and_real_data_helps(tiny):
    g = graph_from_model(onnx.load(str(tiny)), "tiny")
    real = _images(6, seed=5) * 0.1  # "real" images: a tenth of the synthetic range
    q_syn, q_real = quantize(g), quantize(g, calib=real)
    assert q_real.input.scale < q_syn.input.scale / 5
    x = real[0]
    worst = lambda q: min(r["sqnr_db"] for r in layer_sqnr(q, x))  # noqa: E731
    assert worst(q_real) > worst(q_syn) + 6.0


def test_layer_sqnr_rows(tiny):
    g = graph_from_model(onnx.load(str(tiny)), "tiny")
    q = quantize(g)
    rows = layer_sqnr(q, _images(1, seed=2)[0])
    assert [r["index"] for r in rows] == list(range(len(g)))
    assert {"name", "op", "tensor", "type", "scale", "zero_point", "sqnr_db"} <= set(rows[0])
    assert all(r["sqnr_db"] > 20.0 for r in rows)


def test_reference_cli_prints_per_layer_sqnr_and_json(run_cli, tiny, tmp_path):
    np.save(tmp_path / "cal.npy", _images(3))
    proc = run_cli("reference", tiny, "--int", "-o", tmp_path / "y.npy", "--calib", tmp_path / "cal.npy",
                   "--calib-method", "percentile", "--sqnr-json", tmp_path / "s.json", check=True)  # fmt: skip
    assert "lowest per-layer SQNR" in proc.stdout and "conv1" in proc.stdout
    doc = json.loads((tmp_path / "s.json").read_text())
    assert doc["calib"]["method"] == "percentile" and doc["calib"]["images"] == 3
    assert len(doc["layers"]) == 9 and all(isinstance(r["sqnr_db"], float) for r in doc["layers"])


def test_plan_generate_verify_use_the_recorded_calibration(run_cli, assert_user_error, tiny, tmp_path):
    cal = tmp_path / "cal"
    cal.mkdir()
    for i, im in enumerate(_images(3, seed=4) * 0.2):
        np.save(cal / f"{i}.npy", im)
    cluster = ROOT / "clusters" / "pair2.yaml"
    run_cli("plan", tiny, cluster, "-o", tmp_path / "plan.json", "--calib", cal, check=True)
    rec = json.loads((tmp_path / "plan.json").read_text())["model"]["calib"]
    assert rec["path"] == str(cal.resolve()) and rec["images"] == 3 and rec["method"] == "maxabs"
    run_cli("generate", tiny, cluster, "--plan", tmp_path / "plan.json", "-o", tmp_path / "out", "--quiet", check=True)
    chain = json.loads((tmp_path / "out" / "chain.json").read_text())
    assert chain["model"]["calib"] == rec
    # The generated reference is the one quantized with those images, not the synthetic default.
    g = graph_from_model(onnx.load(str(tiny)), "tiny")
    q = quantize(g, calib=from_record(rec, "plan"))
    assert q.input.scale != quantize(g).input.scale
    # A changed calibration set is caught before any reference is recomputed.
    np.save(cal / "0.npy", np.zeros(SHAPE, np.float32))
    np.save(tmp_path / "x.npy", _images(1)[0])
    assert_user_error(run_cli("verify", tmp_path / "out", "--input", tmp_path / "x.npy"), "chain.json", "changed", "sha256")
    # An in-memory calibration cannot be re-read: a clean error, not a silently different reference.
    with pytest.raises(UserError, match="in-memory"):
        from_record({"path": None, "sha256": None, "images": 2, "method": "maxabs"}, "chain.json")


def test_vanishing_activations_are_an_error_not_a_clipped_bias(tiny):
    """A bias that does not fit int32 in accumulator units (a calibration range far too small for
    the layer's bias) used to be clipped silently; now it names the layer."""
    g = graph_from_model(onnx.load(str(tiny)), "tiny")
    with pytest.raises(UserError, match=r"node 'conv1'.*beyond int32"):
        quantize(g, calib=_images(2) * 1e-12)
