"""C-sim of the per-channel blocks: ``affine`` (pre-activation BatchNorm, affine.h) and
``channel_select`` (split / slice / shuffle, chansel.h).

Each case is a small segment C-simulated bit-exact against the integer reference
(asymap.quant.reference.run_int), with the engines' C-sim cycle counters equal to the cost model
(``engine_cycles``) summed over the segment's layers, as tests/hls/test_engine_cycles.py does for
the other engines. Port widths vary (C = 5, 6, 12, 20, 16 channels: 1, 2, 4, 4, 8 lanes), so
the shift registers convert between lane counts.
"""

from __future__ import annotations

import numpy as np
import pytest
from segsim_harness import GraphBuilder, assert_matches, csim_segment

from asymap.frontend import ir
from asymap.partition.costmodel import engine_cycles


def _shuffle(c, g):
    return np.arange(c).reshape(g, c // g).T.reshape(-1)


def _affine_relu(b):  # int8 input (no ReLU before), ReLU fused: uint8 out; 20 channels, 4 lanes
    x = b.conv("x", 20, k=1, p=0, act=None)
    return {0: (4, 5)}, b.affine(x)


def _affine_no_act(b):  # uint8 input, int8 output (no activation), 6 channels, 2 lanes
    x = b.conv("x", 6, k=3)
    return {0: (2, 5)}, b.affine(x, act=None)


def _affine_odd(b):  # 5 channels: one lane per beat
    x = b.conv("x", 5, k=1, p=0)
    y = b.affine(x)
    return {0: (5, 5)}, b.conv(y, 6, k=3)


def _split_slices(b):  # chunk(2): 12 channels (4 lanes) -> two 6-channel halves (2 lanes)
    x = b.conv("x", 12, k=1, p=0)
    u = b.channels(x, range(0, 6))
    v = b.channels(x, range(6, 12))
    v = b.conv(v, 6, k=3, groups=6)
    return {0: (4, 5), 3: (3, 1)}, b.concat([u, v])


def _shuffle_unit(b):  # ShuffleNetV2 stride-1 unit: split, branch, concat, shuffle (16 channels, 8 lanes)
    x = b.conv("x", 16, k=1, p=0)
    u = b.channels(x, range(8))
    v = b.channels(x, range(8, 16))
    v = b.conv(v, 8, k=1, p=0)
    v = b.conv(v, 8, k=3, groups=8, act=None)
    v = b.conv(v, 8, k=1, p=0)
    y = b.concat([u, v])
    return {0: (8, 5), 3: (4, 4), 4: (8, 1), 5: (2, 8)}, b.channels(y, _shuffle(16, 2))


def _shuffle_then_slice(b):  # a shuffle of 3 groups of 4, then the odd slice 2..8 of it (12 -> 7: 1 lane)
    x = b.conv("x", 12, k=1, p=0, act=None)
    y = b.channels(x, _shuffle(12, 3))
    return {0: (3, 5)}, b.channels(y, range(2, 9))


def _shuffle_back_half_first(b):  # map (4, 0, 5, 1, ...): start 4, groups 2, stride -4 (a signed stride)
    x = b.conv("x", 8, k=1, p=0, act=None)
    return {0: (2, 5)}, b.channels(x, [4, 0, 5, 1, 6, 2, 7, 3])


CASES = [_affine_relu, _affine_no_act, _affine_odd, _split_slices, _shuffle_unit, _shuffle_then_slice, _shuffle_back_half_first]


@pytest.mark.csim
@pytest.mark.parametrize("case", CASES, ids=[c.__name__.strip("_") for c in CASES])
def test_channel_blocks_bit_exact_and_cycles_match_costmodel(case, tmp_path):
    b = GraphBuilder((5, 7, 6), seed=3)
    factors, _ = case(b)
    qg, vals = b.build()
    assert any(ql.op in (ir.AFFINE, ir.CHANNELS) for ql in qg.layers)
    code, outs = csim_segment(tmp_path, qg, vals, 0, len(qg.layers) - 1, factors=factors)
    assert_matches(outs, vals)
    assert not code.notes, code.notes  # factors above all divide: what runs is what is costed
    want = sum(engine_cycles(ql.layer, *(tuple(factors.get(ql.index, (1, 1))) + (1,))[:3]) for ql in qg.layers)
    assert int((tmp_path / "csim_cycles.txt").read_text()) == want


def test_affine_reference_matches_float_and_keeps_negative_scales():
    """The integer affine follows the float one within a quantization step, negative BatchNorm
    scales included (weight -127), and a channel map layer is exact (same scale, no rounding)."""
    b = GraphBuilder((6, 5, 5), seed=5)
    x = b.conv("x", 12, k=1, p=0, act=None)
    y = b.affine(x, act=None)
    b.channels(y, _shuffle(12, 4))
    qg, vals = b.build()
    aff, sel = qg.layers[1], qg.layers[2]
    assert set(np.abs(aff.weight).tolist()) == {127} and (aff.weight < 0).any()
    assert qg.tensors[sel.layer.output].scale == qg.tensors[aff.layer.output].scale
    assert np.array_equal(vals[sel.layer.output], vals[aff.layer.output][_shuffle(12, 4)])
    sx, sy = qg.tensors[x].scale, qg.tensors[y].scale
    real = (vals[x] * sx) * aff.layer.weight[:, None, None] + aff.layer.bias[:, None, None]
    real = np.clip(real, -128 * sy, 127 * sy)  # the seeded test image saturates some outputs
    # half an output step, plus the rounding of the bias to the grid sx * |k| / 127
    assert np.abs(vals[y] * sy - real).max() <= sy * 0.5 + sx * np.abs(aff.layer.weight).max() / 127


def test_dense_block_joins_get_skip_buffers():
    """A DenseNet concat joins paths from several forks, each reaching only some of its operands:
    feature ``a`` goes straight to the block's final concat and, through concat -> affine -> conv,
    to its last operand. The direct edge must buffer the rows the long path reads ahead, though
    the concat's first operand (``x``) reaches ``a``'s fork by no path at all."""
    from asymap.codegen.fifodepth import FIFO_SLACK, fifo_depths

    b = GraphBuilder((4, 6, 5), seed=2)
    x = b.conv("x", 8, k=1, p=0)
    a = b.conv(x, 4, k=3, act=None)
    y = b.affine(b.concat([x, a]))
    f = b.conv(y, 4, k=3, act=None)
    b.concat([x, a, f])
    extra = fifo_depths(b.layers, ["x"], dict(b.shapes))
    last = len(b.layers) - 1
    assert extra[(a, last, 1)] >= 2 * 5 * 4 // 4 + FIFO_SLACK  # >= two rows of a, plus the slack
