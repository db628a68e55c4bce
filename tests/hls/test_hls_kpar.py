"""Window parallelism (kpar) of the KxK conv engine, and the engines' cycle counts.

kpar kernel-window positions per cycle: C-sim output bit-exact against the integer reference
(run_int) for the RGB stem (7x7 stride 2 pad 3 from 3 channels), 3x3 with kpar 3 and 9, padding,
dilation, stride 2 with a padded PE fold and groups. Every case also checks that the cycles the
C++ engine counts in C-sim (its processes' loop iterations per slot and their pipeline depths,
csim_count.h) equal the cost model's
``engine_cycles`` -- the formula the planner optimizes and docs/hls-library.md tabulates.
"""

from __future__ import annotations

import numpy as np
import pytest
from segsim_harness import GraphBuilder, assert_matches, csim_segment

from asymap.frontend import ir
from asymap.partition.costmodel import engine_cycles, layer_options

pytestmark = pytest.mark.csim

# (id, input shape, conv kwargs, (pe, simd, kpar), offchip)
CASES = [
    ("stem7x7_kpar7", (3, 13, 11), dict(cout=8, k=7, s=2, p=3), (4, 3, 7), False),
    ("stem7x7_kpar49", (3, 13, 11), dict(cout=8, k=7, s=2, p=3), (8, 1, 49), False),
    ("k3_kpar3_pad", (5, 9, 11), dict(cout=6, k=3), (2, 5, 3), False),
    ("k3_kpar9_s2_padded_pe", (5, 9, 13), dict(cout=6, k=3, s=2), (4, 1, 9), False),  # 7 wide: narrow port
    ("k3_kpar3_dilated_asym", (5, 9, 11), dict(cout=4, k=3, d=2, p=(1, 2, 2, 1)), (2, 5, 3), False),
    ("k3_kpar9_grouped", (6, 7, 9), dict(cout=4, k=3, groups=2), (2, 3, 9), False),
    ("k3_kpar1", (5, 9, 11), dict(cout=6, k=3, s=2), (3, 5, 1), False),
    ("k1_pointwise", (5, 9, 11), dict(cout=12, k=1, p=0), (4, 5, 1), False),
    ("k1_pointwise_load_bound", (16, 5, 7), dict(cout=8, k=1, p=0), (8, 16, 1), False),
    ("k1_pointwise_emit_bound", (4, 5, 7), dict(cout=24, k=1, p=0), (24, 4, 1), False),
    ("k3_offchip", (5, 9, 11), dict(cout=6, k=3), (2, 5, 1), True),
    # wide ports (3 channels x 8 pixels = 24 bytes per beat): the stem as ResNet has it, and a
    # forced off-chip conv between wide ports (width_convert adapters in the segment)
    ("stem7x7_kpar49_wide_port", (3, 13, 16), dict(cout=8, k=7, s=2, p=3), (8, 3, 49), False),
    ("stem7x7_kpar7_wide_port", (3, 13, 16), dict(cout=16, k=7, s=2, p=3), (16, 3, 7), False),
    ("k3_offchip_wide_ports", (3, 9, 8), dict(cout=6, k=3), (2, 3, 1), True),
]


@pytest.mark.parametrize("shape,kw,factors,offchip", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_kpar_conv_bit_exact_and_cycles(shape, kw, factors, offchip, tmp_path):
    b = GraphBuilder(shape, seed=5)
    kw = dict(kw)
    b.conv("x", kw.pop("cout"), **kw)
    qg, vals = b.build()
    code, outs = csim_segment(tmp_path, qg, vals, 0, 0, factors={0: factors}, offchip=[0] if offchip else [])
    assert_matches(outs, vals)
    pe, simd, kpar = factors
    assert not [n for n in code.notes if "kpar" in n or "simd" in n], code.notes
    assert f"static const unsigned kpar = {kpar};" in code.header
    layer = qg.layers[0].layer
    counted = int((tmp_path / "csim_cycles.txt").read_text())
    assert counted == engine_cycles(layer, pe, simd, kpar, offchip=offchip)


POOLS = [  # (id, input shape, pool kwargs, pe)
    ("max3x3_s2_p1", (8, 9, 11), dict(op=ir.MAXPOOL, k=3, s=2, p=1), 4),
    ("avg3x3_s1_p1", (8, 7, 6), dict(op=ir.AVGPOOL, k=3, s=1, p=1), 8),
    ("max2x2_s2_load_bound", (16, 8, 10), dict(op=ir.MAXPOOL, k=2, s=2), 16),
]


@pytest.mark.parametrize("shape,kw,pe", [c[1:] for c in POOLS], ids=[c[0] for c in POOLS])
def test_pool_bit_exact_and_cycles(shape, kw, pe, tmp_path):
    """The row-overlapped pool engine: bit-exact, and its C-sim cycles equal engine_cycles."""
    b = GraphBuilder(shape, seed=7)
    kw = dict(kw)
    b.pool("x", kw.pop("op"), **kw)
    qg, vals = b.build()
    _, outs = csim_segment(tmp_path, qg, vals, 0, 0, factors={0: (pe, 1)})
    assert_matches(outs, vals)
    counted = int((tmp_path / "csim_cycles.txt").read_text())
    assert counted == engine_cycles(qg.layers[0].layer, pe)


def test_costmodel_offers_kpar_only_to_narrow_kxk_convs():
    b = GraphBuilder((3, 16, 16), seed=1)
    x = b.conv("x", 16, k=7, s=2, p=3)
    x = b.conv(x, 16, k=3)  # 16 input channels: simd alone reaches the MAC budget
    b.conv(x, 8, k=1, p=0)
    qg, _ = b.build()
    opts = [layer_options(ql.layer) for ql in qg.layers]
    assert sorted(set(opts[0].kpar.tolist())) == [1, 7, 49]
    assert set(opts[1].kpar.tolist()) == {1} and set(opts[2].kpar.tolist()) == {1}
    # the stem's fastest choice uses kpar 49 and pe 8: per output pixel one window word, NF = 2
    # MVAU steps and 2 output beats (pe 16 is as fast per pixel, but its 16 -> 8 channel gearbox
    # takes 2 steps per chunk, one more cycle of tail than the 8 -> 8 one)
    o = opts[0]
    best = set(np.nonzero(o.cycles == o.cycles.min())[0].tolist())
    assert {(int(o.pe[k]), int(o.simd[k]), int(o.kpar[k])) for k in best} == {(8, 3, 49)}
    # the 3-channel input is a wide port (8 pixels = 24 bytes per beat): its gearbox (24 -> 3
    # bytes, M = 8) takes one step per pixel, 16 per row. Rows 0..3 are loaded first, then each
    # output row max(8 pixels x 2 output beats, the 2 new rows of 16 steps its successor needs);
    # rows 6 and 7 need no new input (bottom padding); tails: gearbox in (M 8 + 2), SWG 4, MVAU 12,
    # gearbox out (M 1 + 2)
    assert o.cycles.min() == 4 * 16 + 6 * max(2 * 16, 8 * 2) + 2 * 8 * 2 + (8 + 2) + 4 + 12 + (1 + 2)
