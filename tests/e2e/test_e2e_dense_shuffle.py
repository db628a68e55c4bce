"""DenseNet and ShuffleNetV2 small variants: ONNX -> two boards -> C-sim chain, bit-exact.

The zoo's torchvision-structured DenseNet-121 and ShuffleNetV2 (exact parameter counts, see
tests/frontend/test_frontend_zoo.py), cut down to two blocks / stages of two units at 32x32 and
width 0.25. Each hand-written plan cuts inside a block so the layers new to the IR cross boards
with their skip tensors: DenseNet's pre-activation BatchNorm (affine) on a concatenation whose
earlier features cross the link, and ShuffleNetV2's channel split whose pass-through half crosses
while the other half's branch runs on the first board. Every board runs in the bounded dataflow
simulation at the FIFO slack the depths are sized for (no deadlock) and matches the numpy integer
reference bit for bit.
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
from asymap.frontend.zoo import build_zoo_model
from asymap.verify.runner import verify

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.csim


def _plan(cut: int, n: int) -> dict:
    boards = []
    for name, first, last, pe in (("big", 0, cut, 4), ("small", cut + 1, n - 1, 2)):
        boards.append({"name": name, "first_layer": first, "last_layer": last, "layers": [
            {"index": i, "factors": {"pe": pe if i % 2 else 1, "simd": 4 if i % 3 else 2}, "weights": "onchip"}
            for i in range(first, last + 1)]})  # fmt: skip
    return {"schema": 1, "boards": boards, "links": [{"from": "big", "to": "small", "width_bits": 64}]}


def _run(tmp_path: Path, name: str, blocks, cut_after) -> tuple[dict, list]:
    model = tmp_path / f"{name}.onnx"
    onnx.save(build_zoo_model(name, input_size=32, width_mult=0.25, seed=0, num_classes=10, blocks=blocks), str(model))
    g = load_model(model)
    cut = cut_after(g)
    out = tmp_path / "out"
    generate(model, ROOT / "clusters" / "pair2.yaml", out, plan=_plan(cut, len(g)), quiet=True)
    res = verify(out, jobs=2, quiet=True, fifo_slack=FIFO_SLACK)
    assert res.ok, [(b.name, b.status, b.problems[:3]) for b in res.boards]
    assert len(res.boards) == 2 and all(b.tensors_checked >= 1 and b.rx["frames_ok"] >= 1 for b in res.boards)
    return json.loads((out / "chain.json").read_text()), g.layers


def test_densenet_small_two_boards_bit_exact(tmp_path):
    def cut(g):  # after the second dense layer's bottleneck conv: three feature maps cross
        return [lay.index for lay in g.layers if lay.op == ir.AFFINE][1] + 1

    chain, layers = _run(tmp_path, "densenet121", (2, 2), cut)
    ops = [lay.op for lay in layers]
    assert ops.count(ir.AFFINE) == 2 * 2 + 1 + 1  # norm1 per dense layer, transition, norm5
    assert len(chain["links"][1]["tensors"]) == 3


def test_shufflenetv2_small_two_boards_bit_exact(tmp_path):
    def cut(g):  # inside the first stride-1 unit: after the split and the branch's 1x1 conv
        return [lay.index for lay in g.layers if lay.op == ir.CHANNELS][2] + 1

    chain, layers = _run(tmp_path, "shufflenetv2", (2, 2), cut)
    maps = [lay.channel_map for lay in layers if lay.op == ir.CHANNELS]
    assert len(maps) == 4 + 2 * 2  # one shuffle per unit, two halves per stride-1 unit
    assert len(chain["links"][1]["tensors"]) == 2  # the pass-through half and the branch
