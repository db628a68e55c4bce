"""Two linked boards with different port widths (plan.json ``boards[].port_lanes``), end to end.

The tiny CNN at width x2 (16/32 channels) is cut inside its residual block, so the link carries two
32-channel tensors interleaved. One board's ports carry up to 32 (or 8) channels per beat, the
other's 8 (or 16): the segments, FIFOs and skip buffers are generated at each board's width, the
link kernels repack between each board's port words and the link beats, and the chain verifies bit
for bit against the integer reference through ``asymap verify`` with bounded FIFOs (slack 32).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import onnx
import pytest

from asymap.codegen.fifodepth import FIFO_SLACK
from asymap.codegen.project import generate
from asymap.errors import UserError
from asymap.frontend.zoo import build_zoo_model
from asymap.verify.runner import verify

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.csim


def _plan(widths: tuple[int, int]) -> dict:
    boards = [("big", 0, 3), ("small", 4, 8)]
    plan = {"schema": 1, "boards": [], "links": [{"from": "big", "to": "small", "width_bits": 128}]}
    for (name, first, last), lanes in zip(boards, widths):
        plan["boards"].append({"name": name, "first_layer": first, "last_layer": last, "port_lanes": lanes,
                               "layers": [{"index": i, "factors": {"pe": 4 if i % 2 else 2, "simd": 8 if i % 3 else 4}}
                                          for i in range(first, last + 1)]})
    return plan


@pytest.mark.parametrize("widths", [(32, 8), (8, 16)], ids=["32to8", "8to16"])
def test_boards_of_different_port_widths_verify_bit_exact(widths, tmp_path):
    model = tmp_path / "tiny.onnx"
    onnx.save(build_zoo_model("tiny", input_size=32, width_mult=2.0, seed=0), str(model))
    (tmp_path / "plan.json").write_text(json.dumps(_plan(widths)))
    out = tmp_path / "out"
    generate(model, ROOT / "clusters" / "pair2.yaml", out, plan=tmp_path / "plan.json", quiet=True)
    chain = json.loads((out / "chain.json").read_text())
    assert [b["port_lanes"] for b in chain["boards"]] == list(widths)
    cut = chain["links"][1]["tensors"]
    assert len(cut) == 2 and all(t["shape"][0] == 32 for t in cut)
    # the same tensor leaves one board and enters the other on ports of different widths
    assert {(t["src_lanes"], t["lanes"]) for t in cut} == {(min(32, widths[0]), min(32, widths[1]))}
    for b, lanes in zip(("big", "small"), widths):
        top = (out / b / "top.cpp").read_text()
        # every 32-channel port of the board (link FIFOs included) is min(32, lanes) bytes wide
        assert f"hls::stream<ap_uint<{8 * min(32, lanes)}> > " in top
        seg = (out / b / "segment.cpp").read_text()
        words = {int(w) for w in re.findall(r"hls::stream<ap_uint<(\d+)> >", seg)}
        assert max(words) <= 8 * max(lanes, 24) and 8 * min(32, lanes) in words
    res = verify(out, jobs=2, quiet=True, fifo_slack=FIFO_SLACK)
    assert res.ok, [(b.name, b.status, b.problems[:3]) for b in res.boards]
    assert all(b.tensors_checked >= 1 for b in res.boards)


def test_port_lanes_outside_the_menu_is_refused(tmp_path):
    model = tmp_path / "tiny.onnx"
    onnx.save(build_zoo_model("tiny", input_size=32, width_mult=2.0, seed=0), str(model))
    plan = _plan((12, 8))
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    with pytest.raises(UserError, match="port_lanes must be one of 8, 16, 32"):
        generate(model, ROOT / "clusters" / "pair2.yaml", tmp_path / "out", plan=tmp_path / "plan.json", quiet=True)
    assert not (tmp_path / "out").exists()
