"""Wide ports into the engines that move ``port_lanes(C)`` channels per beat (lut, chmul, affine,
channels): a few-channel tensor whose rows divide into whole-pixel beats (asymap.lanes.port_bytes)
reaches them through width_convert adapters (codegen/segment_blocks.narrow_adapt). C-simulated with
g++ and compared bit for bit with the integer reference; the C-sim cycle counters (adapters
included, csim_count.h csim_adapter_end) equal the cost model (costmodel.with_adapters)."""

from __future__ import annotations

import pytest
from segsim_harness import GraphBuilder, assert_matches, csim_segment

from asymap.frontend import ir
from asymap.lanes import port_bytes
from asymap.partition.costmodel import adapted_ports, engine_cycles, engine_schedule

pytestmark = pytest.mark.csim


def test_new_kinds_on_wide_ports_bit_exact(tmp_path):
    b = GraphBuilder((3, 6, 8), seed=11)  # the 3-channel input is wide: 8 pixels per 24-byte beat
    f = b.conv("x", 4, k=3, act=None)  # 4 channels, 8 columns: a wide port (8 pixels per beat)
    f = b.lut(f, ir.LUT_SILU)
    f = b.affine(f)
    s = b.gap(f)
    s = b.conv(s, 2, k=1, p=0, act="relu")
    s = b.conv(s, 4, k=1, p=0, act=None)
    s = b.lut(s, ir.LUT_SIGMOID)
    y = b.chmul(f, s)
    y = b.conv(y, 8, k=1, p=0, act="relu")
    y = b.channels(y, [1, 3, 5, 7])  # an 8-channel (narrow) tensor sliced to 4 channels (wide)
    b.lut(y, ir.LUT_HARDSWISH)
    qg, vals = b.build()
    wide = [ql.layer for ql in qg.layers if port_bytes(ql.layer.out_shape) > ql.layer.out_shape[0]]
    assert {lay.op for lay in wide} >= {ir.LUT, ir.AFFINE, ir.CHMUL, ir.CHANNELS}
    code, outs = csim_segment(tmp_path, qg, vals, 0, len(qg.layers) - 1)
    assert_matches(outs, vals)
    # cycles: every engine at factor 1, the adapters charged to the engines they feed or drain
    want = sum(engine_cycles(ql.layer, 1) for ql in qg.layers)
    assert int((tmp_path / "csim_cycles.txt").read_text()) == want
    adapted = [ql.layer for ql in qg.layers if adapted_ports(ql.layer)]
    assert {lay.op for lay in adapted} == {ir.LUT, ir.AFFINE, ir.CHMUL, ir.CHANNELS}
    # ... and they cost something: each adapter's pipeline fills and drains once per image
    bare = sum(sum(engine_schedule(lay, 1)) for lay in adapted)
    assert sum(engine_cycles(lay, 1) for lay in adapted) > bare


@pytest.mark.parametrize("zp", ["uint8", "int8"])
def test_new_kinds_on_wide_ports_with_zero_points(zp, tmp_path):
    """The same chain with onnxruntime-style asymmetric tensors (segsim_harness.asymmetric_qdq):
    the lookup tables, chmul's zx/zs/zo and affine's out_zp behind the width_convert adapters, and
    the conv/GAP zero points on the wide ports around them."""
    b = GraphBuilder((3, 6, 8), seed=11)
    f = b.lut(b.conv("x", 4, k=3, act=None), ir.LUT_SILU)
    f = b.affine(f)
    s = b.conv(b.conv(b.gap(f), 2, k=1, p=0, act="relu"), 4, k=1, p=0, act=None)
    y = b.chmul(f, b.lut(s, ir.LUT_SIGMOID))
    y = b.channels(b.conv(y, 8, k=1, p=0, act="relu"), [1, 3, 5, 7])
    b.lut(y, ir.LUT_HARDSWISH)
    qg, vals = b.build(zero_points=zp)
    assert qg.input.zero_point != 0 and port_bytes(qg.input.shape) == 24
    wide = [ql for ql in qg.layers if port_bytes(ql.layer.out_shape) > ql.layer.out_shape[0]]
    assert {ql.op for ql in wide} >= {ir.LUT, ir.AFFINE, ir.CHMUL, ir.CHANNELS}
    assert all(ql.out_zp != 0 for ql in wide if ql.op != ir.CHANNELS)
    code, outs = csim_segment(tmp_path, qg, vals, 0, len(qg.layers) - 1)
    assert_matches(outs, vals)
