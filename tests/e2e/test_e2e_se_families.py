"""End to end on the squeeze-excite families: small EfficientNet, MobileNetV3 and RegNetY variants
(asymap.frontend.zoo.build_se_model) -> generate two boards -> C-sim of the chain -> bit-exact.

Each plan cuts *inside* a squeeze-excite block, between its two 1x1 convs: the feature map and the
squeeze vector cross the link together, and the receiving board must hold the whole feature map
(link port FIFO) until the channel-wise Mul has its scale. ``verify`` runs every board with each
DATAFLOW process in its own thread over FIFOs bounded to their depth minus FIFO_SLACK, so a
too-shallow buffer is a reported deadlock, not a pass.
"""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest

from asymap.codegen.fifodepth import FIFO_SLACK
from asymap.codegen.project import generate
from asymap.frontend import ir
from asymap.frontend.onnx_import import load_model
from asymap.frontend.zoo import SE_NAMES, build_se_model
from asymap.verify.runner import verify

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.csim


def _plan(n: int, cut: int) -> dict:
    layers = lambda a, b, pe: [{"index": i, "factors": {"pe": pe if i % 2 else 1, "simd": 4 if i % 3 else 2},  # noqa: E731
                                "weights": "onchip"} for i in range(a, b + 1)]
    return {"schema": 1, "boards": [
        {"name": "big", "first_layer": 0, "last_layer": cut, "layers": layers(0, cut, 4)},
        {"name": "small", "first_layer": cut + 1, "last_layer": n - 1, "layers": layers(cut + 1, n - 1, 2)}],
        "links": [{"from": "big", "to": "small", "width_bits": 64}]}  # fmt: skip


@pytest.mark.parametrize("name", SE_NAMES)
def test_se_family_verifies_bit_exact_on_two_boards(name, tmp_path):
    path = tmp_path / f"{name}.onnx"
    onnx.save(build_se_model(name, input_size=32, seed=0), str(path))
    g = load_model(path)
    assert {ir.LUT, ir.CHMUL} <= {lay.op for lay in g.layers}
    mul = next(lay for lay in g.layers if lay.op == ir.CHMUL)
    cut = mul.index - 3  # after the squeeze's first 1x1 conv (and its activation, if a LUT)
    if g.layers[cut + 1].op == ir.LUT:
        cut += 1
    crossing = g.live_across(cut)
    assert mul.inputs[0] in crossing and len(crossing) >= 2  # RegNetY: the shortcut input too
    out = tmp_path / "out"
    generate(path, ROOT / "clusters" / "pair2.yaml", out, plan=_plan(len(g), cut), quiet=True)
    res = verify(out, jobs=2, quiet=True, fifo_slack=FIFO_SLACK)
    assert res.ok, [(b.name, b.status, b.problems[:3]) for b in res.boards]
    chain = json.loads((out / "chain.json").read_text())
    assert [t["name"] for t in chain["links"][1]["tensors"]] == crossing
    assert all(b.tensors_checked >= 1 for b in res.boards)
