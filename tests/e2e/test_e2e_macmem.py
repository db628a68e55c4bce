"""End to end with plan.json's MAC kinds and URAM-preloaded weights: generate the tiny CNN's two
board projects from a hand-written plan that uses every kind ("packed", "dsp", "lut") and puts some
layers' weights in URAM ("weights": "preload"), then run the C-sim chain (each board's testbench
loads weights/wpre.bin into the kernel's start-up load phase) and compare bit for bit."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest

from asymap.codegen.project import generate
from asymap.frontend.zoo import build_zoo_model
from asymap.verify.runner import verify

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.csim

# tiny CNN: 0 conv1 (3->8), 1 conv2 (8->16, s2), 2-3 res convs, 4 add, 5 depthwise, 6 maxpool, 7 gap, 8 fc
LAYERS = {
    0: ({"pe": 4, "simd": 3}, "packed", "onchip"),
    1: ({"pe": 3, "simd": 4}, "packed", "preload"),  # odd pe: one unpaired PE
    2: ({"pe": 2, "simd": 4}, "lut", "onchip"),
    3: ({"pe": 4, "simd": 2}, "dsp", "preload"),
    5: ({"pe": 4, "simd": 1}, "dsp", "onchip"),      # depthwise: never packed
    8: ({"pe": 8, "simd": 4}, "packed", "preload"),
}


def _plan() -> dict:
    boards = []
    for name, first, last in (("big", 0, 3), ("small", 4, 8)):
        layers = []
        for i in range(first, last + 1):
            f, mac, weights = LAYERS.get(i, ({"pe": 1, "simd": 1}, "", "onchip"))
            ly = {"index": i, "factors": f, "weights": weights}
            if mac:
                ly["mac"] = mac
            layers.append(ly)
        boards.append({"name": name, "first_layer": first, "last_layer": last, "layers": layers})
    return {"schema": 1, "boards": boards, "links": [{"from": "big", "to": "small", "width_bits": 64}]}


def test_mac_kinds_and_preload_chain_bit_exact(tmp_path):
    model = tmp_path / "tiny.onnx"
    onnx.save(build_zoo_model("tiny", input_size=32, width_mult=1.0, seed=0), str(model))
    out = tmp_path / "out"
    generate(model, ROOT / "clusters" / "pair2.yaml", out, plan=_plan(), quiet=True)
    chain = json.loads((out / "chain.json").read_text())
    for b in chain["boards"]:
        assert b["files"]["wpre"] == "weights/wpre.bin" and b["wpre_words"] > 0
        assert (out / b["dir"] / "weights" / "wpre.bin").stat().st_size == 8 * b["wpre_words"]
        top = (out / b["dir"] / "top.cpp").read_text()
        assert "m_axi port=wpre" in top
        assert "wpre.data()" in (out / b["dir"] / "tb.cpp").read_text()
        assert f"sp={b['top']}_1.wpre:" in (out / b["dir"] / "connectivity.cfg").read_text()
    big = (out / "big" / "params.h").read_text()
    assert "static const unsigned mac = 0;" in big and "static const unsigned mac = 2;" in big
    kinds = {ly["index"]: (ly["mac"], ly["weights"]) for b in chain["boards"] for ly in b["layers"]}
    assert kinds[1] == ("packed", "preload") and kinds[2] == ("lut", "onchip")
    res = verify(out, jobs=2, quiet=True)
    assert res.ok, [(b.name, b.status, b.problems[:3]) for b in res.boards]
    for b in res.boards:
        assert b.tensors_checked >= 1
