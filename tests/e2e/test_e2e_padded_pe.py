"""Zero-padded pe end to end (issue 12): a plan whose conv and fc engines compute padding channels.

The model (built here with onnx.helper) has a 3x3 stem 3 -> 48, a 1x1 conv 48 -> 64, a 3x3
stride-2 conv, a 1x1 stride-2 conv, global average pooling and a 1000-way fc. Every conv/fc gets
a pe from the planner's padded menu that neither divides C_out nor is a power of two (7 of 48,
13, 11 and 22 of 64, 7 of 1000), so each engine's last output fold computes zero-weight padding
channels that its output gearbox drops, through lcm(pe, 8)-byte chunks. The plan is cut over two
boards (a U250 and a ZCU102, packed, dsp and LUT multipliers) and `asymap verify` runs the chain
in C-sim, bit-exact against the integer reference, in the bounded dataflow simulation.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from asymap.cluster.load import load_cluster
from asymap.codegen.fifodepth import FIFO_SLACK
from asymap.codegen.project import generate
from asymap.frontend.onnx_import import load_model
from asymap.partition.costmodel import layer_options
from asymap.partition.planner import plan

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.csim
SHAPE = (3, 12, 12)


def _model(path: Path) -> None:
    rng = np.random.default_rng(3)
    w = lambda *s: (rng.standard_normal(s) * np.sqrt(2.0 / np.prod(s[1:]))).astype(np.float32)  # noqa: E731
    b = lambda n: (rng.standard_normal(n) * 0.1).astype(np.float32)  # noqa: E731
    inits = {"w0": w(48, 3, 3, 3), "b0": b(48), "w1": w(64, 48, 1, 1), "b1": b(64), "w2": w(64, 64, 3, 3),
             "b2": b(64), "w3": w(64, 64, 1, 1), "b3": b(64), "wf": w(1000, 64), "bf": b(1000)}
    node = helper.make_node
    nodes = [
        node("Conv", ["input", "w0", "b0"], ["c0"], name="stem", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        node("Relu", ["c0"], ["r0"], name="stem_relu"),
        node("Conv", ["r0", "w1", "b1"], ["c1"], name="expand", kernel_shape=[1, 1]),
        node("Relu", ["c1"], ["r1"], name="expand_relu"),
        node("Conv", ["r1", "w2", "b2"], ["c2"], name="down3x3", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        node("Relu", ["c2"], ["r2"], name="down3x3_relu"),
        node("Conv", ["r2", "w3", "b3"], ["c3"], name="down1x1", kernel_shape=[1, 1], strides=[2, 2]),
        node("Relu", ["c3"], ["r3"], name="down1x1_relu"),
        node("GlobalAveragePool", ["r3"], ["p"], name="gap"),
        node("Flatten", ["p"], ["f"], name="flat"),
        node("Gemm", ["f", "wf", "bf"], ["output"], name="fc", transB=1),
    ]
    graph = helper.make_graph(nodes, "padded_pe", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, *SHAPE])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 1000])],
                              initializer=[numpy_helper.from_array(v, k) for k, v in inits.items()])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.save(m, str(path))


# layer index -> (factors, MAC kind); the cut is after layer 2 (big: 0-2, small: 3-5)
FORCED = {
    0: ({"pe": 7, "simd": 3, "kpar": 3}, "packed"),  # 3x3 stem on the wide RGB port, 48 -> 49 channels
    1: ({"pe": 13, "simd": 16}, "packed"),  # 1x1 engine, 64 -> 65
    2: ({"pe": 11, "simd": 8}, "dsp"),  # 3x3 stride 2, 64 -> 66
    3: ({"pe": 22, "simd": 64}, "packed"),  # 1x1 stride 2 on the row-buffer engine, 64 -> 66
    5: ({"pe": 7, "simd": 8}, "lut"),  # fc, 1000 -> 1001
}


def test_padded_pe_two_boards_bit_exact(tmp_path, run_cli):
    model = tmp_path / "padded.onnx"
    _model(model)
    g = load_model(model)
    assert [lay.op for lay in g.layers] == ["conv", "conv", "conv", "conv", "gap", "fc"]
    # the planner itself takes padded options (the README's narrow ResNet-18 on edge4: this small
    # model fits one board at 32-channel ports and needs none) ...
    from asymap.frontend.zoo import build_zoo_model

    onnx.save(build_zoo_model("resnet18", 32, width_mult=0.5), str(tmp_path / "r18s.onnx"))
    p = plan(load_model(tmp_path / "r18s.onnx", weights=False), load_cluster(ROOT / "clusters" / "edge4.yaml"))
    assert any(lp.factors.get("pe_padded") for b in p.boards for lp in b.layers), p.to_json()
    # ... and every forced choice is one of its padded options (pe neither divides C_out nor is a power of two)
    for i, (f, _) in FORCED.items():
        lay = g.layers[i]
        o = layer_options(lay)
        assert lay.c_out % f["pe"] and f["pe"] & (f["pe"] - 1)
        assert ((o.pe == f["pe"]) & (o.simd == f["simd"]) & (o.kpar == f.get("kpar", 1)) & o.padded).any(), i
    boards = [("big", 0, 2), ("small", 3, 5)]
    hand = {"schema": 1, "links": [{"from": "big", "to": "small", "width_bits": 64}], "boards": [
        {"name": n, "first_layer": a, "last_layer": z, "layers": [
            {"index": i, "factors": ({**FORCED[i][0], "pe_padded": True} if i in FORCED else {"pe": 1, "simd": 1}),
             **({"mac": FORCED[i][1]} if i in FORCED else {}), "weights": "onchip"} for i in range(a, z + 1)]}
        for n, a, z in boards]}
    (tmp_path / "plan.json").write_text(json.dumps(hand))
    out = tmp_path / "out"
    generate(model, ROOT / "clusters" / "pair2.yaml", out, plan=tmp_path / "plan.json", quiet=True)
    params = (out / "big" / "params.h").read_text() + (out / "small" / "params.h").read_text()
    pes = [int(v) for v in re.findall(r"static const unsigned pe = (\d+);", params)]
    cps = [int(v) for v in re.findall(r"static const unsigned out_cp = (\d+);", params)]
    assert pes == [7, 13, 11, 22, 7] and cps == [49, 65, 66, 66, 1001], (pes, cps)
    r = run_cli("verify", out, "--jobs", "2", "--fifo-slack", str(FIFO_SLACK), timeout=1200)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "PASS" in r.stdout and r.stdout.count(" ok") >= 2, r.stdout
