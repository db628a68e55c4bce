"""The 32-beat FIFO margin on the pattern that used to break it: one tensor feeding a 1x1 conv, a
3x3 conv and a 3x3 stride-1 max pool that meet in one concat (an Inception block without the
reduce convs).

Before the fix the depth model (codegen/fifodepth.py) credited the 1x1 engine with a whole row of
read-ahead (``PW_INFLIGHT`` pixels rounded up to rows) on the path whose FIFO buffers the lag, so
the 1x1 edge got one row less than the 3x3 path can need; at the generated depths the engines'
own FIFOs covered it, at ``--fifo-slack 32`` the board deadlocked. Now a buffered path is credited
only what it surely holds, and the slack check shrinks the generated inter-engine FIFOs only (the
engines' internal FIFOs keep their designed depth, hls/include/asymap/dataflow.h).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from asymap.codegen.fifodepth import FIFO_SLACK, fifo_depths
from asymap.codegen.project import generate
from asymap.frontend.onnx_import import load_model
from asymap.verify.runner import verify

ROOT = Path(__file__).resolve().parents[2]
C = 8  # channels of the forked tensor: one beat per pixel on an 8-lane port


def _concat_model(h: int, seed: int = 0) -> onnx.ModelProto:
    """stem 3x3 conv -> t; t -> {1x1 conv, 3x3 conv, 3x3/1 max pool} -> concat."""
    rng = np.random.default_rng(seed)

    def w(*s):
        return (rng.standard_normal(s) * 0.3).astype(np.float32)

    conv = helper.make_node
    nodes = [
        conv("Conv", ["x", "w0", "b0"], ["c0"], name="stem", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        conv("Relu", ["c0"], ["t"], name="r0"),
        conv("Conv", ["t", "w1", "b1"], ["c1"], name="pw", kernel_shape=[1, 1]),
        conv("Relu", ["c1"], ["a1"], name="r1"),
        conv("Conv", ["t", "w2", "b2"], ["c2"], name="k3", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        conv("Relu", ["c2"], ["a2"], name="r2"),
        conv("MaxPool", ["t"], ["p"], name="mp", kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1]),
        conv("Concat", ["a1", "a2", "p"], ["y"], name="cat", axis=1),
    ]
    inits = {"w0": w(C, 3, 3, 3), "b0": w(C), "w1": w(C, C, 1, 1), "b1": w(C), "w2": w(C, C, 3, 3), "b2": w(C)}
    g = helper.make_graph(nodes, "cat3", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, h, h])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3 * C, h, h])],
                          initializer=[numpy_helper.from_array(v, k) for k, v in inits.items()])  # fmt: skip
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    return m


def _one_board_plan(n: int, pe: int, simd: int) -> dict:
    layers = [{"index": i, "factors": {"pe": pe, "simd": simd}, "weights": "onchip"} for i in range(n)]
    return {"schema": 1, "boards": [{"name": "big", "first_layer": 0, "last_layer": n - 1, "layers": layers}],
            "links": []}  # fmt: skip


def test_pointwise_edge_is_credited_no_read_ahead(tmp_path):
    """The 1x1 operand's fork edge buffers the 3x3 path's whole lead: the 3x3 conv (and the pool)
    read rows up to r + 2 (plus the next output row's rows) before output row r, the 1x1 engine
    surely holds only rows up to r. Three rows of t plus the margin; it was two rows."""
    h = 16
    p = tmp_path / "m.onnx"
    onnx.save(_concat_model(h), str(p))
    g = load_model(p)
    extra = fifo_depths(g.layers, [g.input], g.tensor_shapes)
    pw = next(lay.index for lay in g.layers if lay.name == "pw")
    row_beats = h  # C = 8 channels: one 8-lane beat per pixel
    assert extra[("t", pw, 0)] == 3 * row_beats + FIFO_SLACK
    # the 1x1 path is the shortest: the 3x3 conv and the pool need the same rows, so they get one
    # row (the lag within a row) each, and the 1x1 conv's edge is the deepest
    assert max(v for (s, _, _), v in extra.items() if s == "t") == extra[("t", pw, 0)]


@pytest.mark.csim
@pytest.mark.parametrize("h, pe, simd", [(16, 1, 1), (7, 2, 4)])
def test_concat_of_1x1_3x3_pool_passes_at_the_margin(tmp_path, h, pe, simd):
    """Bit-exact at the generated depths and at FIFO_SLACK (deadlocked at slack 32 before); at a
    slack beyond every depth the stall names the engines' internal FIFOs at their own depth."""
    model = tmp_path / "m.onnx"
    onnx.save(_concat_model(h), str(model))
    n = len(load_model(model).layers)
    (tmp_path / "plan.json").write_text(json.dumps(_one_board_plan(n, pe, simd)))
    out = tmp_path / "out"
    generate(model, ROOT / "clusters" / "pair2.yaml", out, plan=tmp_path / "plan.json", quiet=True)
    for slack in (0, FIFO_SLACK):
        res = verify(out, quiet=True, fifo_slack=slack)
        assert res.ok, (slack, [(b.name, b.status, b.problems[:2]) for b in res.boards])
        assert res.boards[0].tensors_checked == 1
    res = verify(out, quiet=True, fifo_slack=100000)
    assert not res.ok and res.boards[0].status == "deadlock"
    full = dict(re.findall(r"(\w+) \(depth ([^)]*)\)", res.boards[0].problems[0]))
    assert any("= " in d for d in full.values())  # the generated FIFOs are cut to 1 ...
    internal = {k: d for k, d in full.items() if k.startswith(("conv_", "pw_", "pool_"))}
    assert all("=" not in d and int(d) >= 2 for d in internal.values()), full  # ... the engines' own are not
