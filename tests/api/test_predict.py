"""asymap.compile(out).predict(batch): numpy images through the C-simulated chain of boards,
bit-exact against the integer reference, with per-layer traces."""

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
    """tiny (32x32, x0.5) split over the two boards of pair2 by a hand-edited plan."""
    from asymap.cli import main

    d = tmp_path_factory.mktemp("predict")
    model = d / "tiny.onnx"
    assert main(["zoo", "tiny", "--input-size", "32", "--width-mult", "0.5", "-o", str(model), "-q"]) == 0
    shutil.copy(ROOT / "clusters" / "pair2.yaml", d / "pair2.yaml")
    assert main(["plan", str(model), str(d / "pair2.yaml"), "-o", str(d / "plan.json"), "-q"]) == 0
    p = json.loads((d / "plan.json").read_text())
    big = p["boards"][0]
    small = {**big, "name": "small", "type": "zcu102", "first_layer": 5,
             "layers": [ly for ly in big["layers"] if ly["index"] >= 5]}
    big.update(last_layer=4, layers=[ly for ly in big["layers"] if ly["index"] <= 4])
    p["boards"] = [big, small]
    for k in ("options", "options_sha256"):  # a plan written by hand: no planner provenance
        p.pop(k)
    (d / "plan2.json").write_text(json.dumps(p))
    out = d / "out"
    asymap.generate(str(model), str(d / "pair2.yaml"), out, plan=str(d / "plan2.json"), quiet=True)
    return model, out


def test_predict_is_bit_exact_with_the_reference_on_a_batch(two_boards):
    model, out = two_boards
    m = asymap.compile(out)
    assert m.boards == ["big", "small"]
    batch = np.random.default_rng(7).standard_normal((3, 3, 32, 32)).astype(np.float32)
    pred = m.predict(batch, trace=True)
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
    assert len(tr["links"]) >= 2  # the cut between the boards and the output
    for name, arr in tr["links"].items():
        np.testing.assert_array_equal(arr, ref_all[name])


def test_predict_rejects_bad_batches(two_boards):
    _, out = two_boards
    m = asymap.compile(out)
    with pytest.raises(asymap.UserError, match="needs"):
        m.predict(np.zeros((2, 3, 8, 8), np.float32))
    with pytest.raises(asymap.UserError, match="finite"):
        m.predict(np.full((1, 3, 32, 32), np.nan, np.float32))
