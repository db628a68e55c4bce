"""Generated compute segments (asymap.codegen.segment.render_segment), C-simulated with g++ and
compared bit for bit with the integer reference: residual skips, forks, concat, tensors passing
through a board, off-chip weights, chains of segments as on a multi-board cluster, and zoo models.
"""

from __future__ import annotations

import numpy as np
import pytest
from segsim_harness import GraphBuilder, assert_matches, csim_segment

from asymap.codegen.fifodepth import FIFO_SLACK, fifo_depths
from asymap.codegen.segment import render_segment
from asymap.codegen.weightpack import slot_bytes
from asymap.frontend import ir


def _residual(b: GraphBuilder):
    """stem conv -> basic block (identity skip) -> downsample block (1x1 s2 shortcut)."""
    x = b.conv("x", 8, k=3)
    y = b.conv(x, 8, k=3)
    y = b.conv(y, 8, k=3, act=None)
    x = b.add(x, y)
    s = b.conv(x, 12, k=1, s=2, p=0, act=None)
    y = b.conv(x, 12, k=3, s=2)
    y = b.conv(y, 12, k=3, act=None)
    return b.add(y, s)


def _inception(b: GraphBuilder):
    """Three branches of different widths (lanes 8, 2, 1) joined by a concat, then a 1x1."""
    x = b.conv("x", 8, k=1, p=0)
    a = b.conv(x, 8, k=1, p=0)
    c = b.conv(x, 6, k=3)
    p = b.pool(x, ir.MAXPOOL, k=3, s=1, p=1)
    p = b.conv(p, 5, k=1, p=0)
    y = b.concat([a, c, p])
    return b.conv(y, 6, k=1, p=0, act=None)


def _chain(tmp_path, qg, vals, cuts, factors=None, offchip=()):
    """Run the graph as consecutive segments, each fed with the previous segment's C-sim outputs
    (not the reference's), as boards of a cluster would be; returns the final outputs."""
    bounds = [-1, *cuts, len(qg.layers) - 1]
    live = {qg.graph.input: vals[qg.graph.input]}
    for k in range(len(bounds) - 1):
        first, last = bounds[k] + 1, bounds[k + 1]
        code, outs = csim_segment(tmp_path / f"b{k}", qg, live, first, last, factors=factors,
                                  offchip=offchip, fn=f"board{k}")
        assert_matches(outs, vals)  # every tensor leaving a board is bit-exact
        live = outs
    return live


@pytest.mark.csim
def test_residual_blocks_one_segment(tmp_path):
    b = GraphBuilder((3, 11, 9), seed=5)
    _residual(b)
    qg, vals = b.build()
    factors = {i: (4, 4) for i in range(len(qg.layers))}
    code, outs = csim_segment(tmp_path, qg, vals, 0, len(qg.layers) - 1, factors=factors)
    assert_matches(outs, vals)
    assert code.source.count("asymap::fork2") == 2  # x feeds the conv and the skip, twice


@pytest.mark.csim
def test_inception_concat(tmp_path):
    b = GraphBuilder((4, 7, 10), seed=6)
    _inception(b)
    qg, vals = b.build()
    code, outs = csim_segment(tmp_path, qg, vals, 0, len(qg.layers) - 1, factors={2: (2, 4), 5: (5, 8)})
    assert_matches(outs, vals)
    assert "concat_shift_in" in code.source


@pytest.mark.csim
def test_chain_with_pass_through_and_forked_outputs(tmp_path):
    """Cuts inside the residual block: the skip tensor leaves board 0 while also feeding a conv
    there (fork to an output port), crosses board 1 untouched (copy), meets the add on board 2."""
    b = GraphBuilder((3, 11, 9), seed=5)
    _residual(b)
    qg, vals = b.build()
    g = qg.graph
    assert g.layers[0].output in g.live_across(1) and g.layers[0].output in g.live_across(2)
    final = _chain(tmp_path, qg, vals, cuts=[1, 2, 4], factors={1: (2, 8), 5: (3, 2)})
    assert list(final) == [g.output]
    code = render_segment(qg, 2, 2, {}, set(), g.live_across(1), g.live_across(2), "b")
    assert "copy_stream" in code.source  # the skip tensor passes through


@pytest.mark.csim
@pytest.mark.parametrize("pe_simd", [(5, 3), (4, 12), (12, 8)], ids=lambda f: f"pe{f[0]}_simd{f[1]}")
def test_offchip_weights(tmp_path, pe_simd):
    """conv 3x3, conv 1x1 and fc with weights streamed from wmem; row sizes 15 (pe 5 pads 24 outputs to 25), 48 and 96 bytes
    cover several rows per 512-bit word, one row per word and two words per row."""
    b = GraphBuilder((12, 6, 7), seed=8)
    x = b.conv("x", 24, k=3)
    x = b.conv(x, 24, k=1, p=0)
    b.fc(x, 24)
    qg, vals = b.build()
    factors = {i: pe_simd for i in range(3)}
    code, outs = csim_segment(tmp_path, qg, vals, 0, 2, factors=factors, offchip={0, 1, 2})
    assert_matches(outs, vals)
    assert code.wmem is not None and len(code.wmem) == 64 * code.wmem_words
    assert "const ap_uint<512>* wmem" in code.source and "_w[" not in code.weights["weights.h"]
    pe, simd = pe_simd
    rows0 = -(-24 // pe) * 9 * (12 // simd)
    assert code.wmem_words * 64 >= rows0 * slot_bytes(pe * simd)


def test_segment_is_deterministic_and_sanitized():
    b = GraphBuilder((3, 8, 8), seed=1)
    x = b.conv("x", 8, k=3, name='conv "evil";\n/*x*/')
    b.conv(x, 8, k=3, name="conv/evil")
    qg, _ = b.build()
    g = qg.graph
    args = (qg, 0, 1, {0: (2, 3), 1: (4, 8)}, {1}, g.live_across(-1), g.live_across(1), "seg")
    c1, c2 = render_segment(*args), render_segment(*args)
    assert (c1.header, c1.source, c1.weights, c1.wmem) == (c2.header, c2.source, c2.weights, c2.wmem)
    text = c1.header + c1.source + "".join(c1.weights.values())
    assert 'conv "evil"' not in text and "/*x*/" not in text and ";\n/*" not in text
    assert "/work" not in text and "/tmp" not in text
    assert [p["ident"] for p in c1.in_ports] == ["in_x"]
    assert c1.out_ports[0]["lanes"] == 8 and c1.out_ports[0]["shape"] == (8, 8, 8)
    # compact weights: many packed words per line
    wl = [ln for ln in c1.weights["weights.h"].splitlines() if "ULL" in ln]
    assert wl and all(ln.count("ULL") == 8 for ln in wl[:-1])


def test_skip_fifo_depth_covers_the_main_branch():
    """Identity skip around two 3x3 convs: each reads 2 rows ahead of its output (its window's
    next row plus the row it loads while computing), the main path 4 rows ahead of the add, so the
    skip edge must hold > 4 rows of the tensor; the main-path edge needs nothing extra."""
    b = GraphBuilder((3, 16, 16), seed=2)
    x = b.conv("x", 8, k=3)
    y = b.conv(x, 8, k=3)
    y = b.conv(y, 8, k=3, act=None)
    b.add(x, y)
    layers = b.layers
    shapes = dict(b.shapes)
    row_beats = 16 * 8 // 8
    x = layers[0].output
    # the fork tensor x is produced inside the segment (from the segment input "x"): only its
    # skip edge gets depth, not the input edge that leads to both paths
    # margin: FIFO_SLACK beats per process on the longer path (two convs)
    assert fifo_depths(layers, ["x"], shapes) == {(x, 3, 0): 5 * row_beats + 2 * FIFO_SLACK}
    # same when x itself arrives on an input port
    assert fifo_depths(layers[1:], [x], shapes) == {(x, 3, 0): 5 * row_beats + 2 * FIFO_SLACK}
    # with off-chip weights a conv reads its whole input first: the skip holds the whole tensor
    whole = fifo_depths(layers, ["x"], shapes, frozenset({1}))
    assert whole == {(x, 3, 0): 16 * row_beats + 2 * FIFO_SLACK}
    # a 3x3 pool reads 2 rows ahead (its window's next row, and the row it loads while computing):
    # the skip holds 3 rows of 6 beats (+2); an 11x11 pool on a
    # 6-row image reads everything first: the cap (whole tensor) applies
    b2 = GraphBuilder((8, 6, 6), seed=2)
    z = b2.pool("x", ir.AVGPOOL, k=3, s=1, p=1)
    b2.add("x", z)
    assert fifo_depths(b2.layers, ["x"], dict(b2.shapes)) == {("x", 1, 0): 3 * 6 + FIFO_SLACK}
    b3 = GraphBuilder((8, 6, 6), seed=2)
    z = b3.pool("x", ir.MAXPOOL, k=11, s=1, p=5)
    b3.add("x", z)
    assert fifo_depths(b3.layers, ["x"], dict(b3.shapes)) == {("x", 1, 0): 6 * 6 + FIFO_SLACK}


def test_factor_changes_hardware():
    b = GraphBuilder((8, 8, 8), seed=1)
    b.conv("x", 16, k=3)
    qg, _ = b.build()
    g = qg.graph
    lo = render_segment(qg, 0, 0, {0: (1, 1)}, set(), g.live_across(-1), g.live_across(0), "s")
    hi = render_segment(qg, 0, 0, {0: (8, 8)}, set(), g.live_across(-1), g.live_across(0), "s")
    assert "pe = 1;" in lo.header and "pe = 8;" in hi.header and "simd = 8;" in hi.header
    assert lo.weights != hi.weights  # rows re-packed for the new folding


# ---- zoo models through F's importer and quantizer -------------------------------------------


def _zoo(name, size=32, wm=0.25):
    from asymap.frontend.onnx_import import graph_from_model
    from asymap.frontend.zoo import build_zoo_model
    from asymap.quant.quantize import quantize
    from asymap.quant.reference import run_int

    g = graph_from_model(build_zoo_model(name, input_size=size, width_mult=wm, num_classes=10))
    qg = quantize(g)
    rng = np.random.default_rng(0)
    t = qg.input
    x = rng.integers(t.lo, t.hi + 1, size=t.shape).astype(np.int16)
    return qg, run_int(qg, x, return_all=True)


@pytest.mark.csim
def test_zoo_tiny_one_board(tmp_path):
    qg, vals = _zoo("tiny")
    factors = {i: (2, 4) for i in range(len(qg.layers))}
    code, outs = csim_segment(tmp_path, qg, vals, 0, len(qg.layers) - 1, factors=factors)
    assert_matches(outs, vals)


@pytest.mark.csim
def test_zoo_resnet18_four_boards(tmp_path):
    """ResNet-18 at 32x32, width 0.25, cut into 4 boards (cuts inside residual blocks too), one
    layer's weights off-chip, mixed factors; each board fed by the previous board's C-sim."""
    qg, vals = _zoo("resnet18")
    n = len(qg.layers)
    cuts = [n // 4, n // 2 + 1, 3 * n // 4]
    factors = {i: ((2, 4) if i % 2 else (4, 2)) for i in range(n)}
    fcs = [q.index for q in qg.layers if q.op == ir.FC]
    final = _chain(tmp_path, qg, vals, cuts, factors=factors, offchip=set(fcs))
    assert np.array_equal(final[qg.graph.output], vals[qg.graph.output])


@pytest.mark.csim
def test_wide_weight_rows(tmp_path):
    """PE*SIMD far beyond ap_int's 1024-bit limit: 1024-byte rows on chip, 512-byte rows off chip
    (eight 512-bit words per row)."""
    b = GraphBuilder((32, 4, 5), seed=9)
    x = b.conv("x", 32, k=3)
    b.conv(x, 32, k=1, p=0, act=None)
    qg, vals = b.build()
    code, outs = csim_segment(tmp_path, qg, vals, 0, 1, factors={0: (32, 32), 1: (16, 32)}, offchip={1})
    assert_matches(outs, vals)
    assert "static const unsigned slot_bytes = 512;" in code.header


@pytest.mark.csim
def test_tensor_names_that_look_like_generated_streams(tmp_path):
    """Tensors named 'a' (forked: edge streams of t_a) and 'a_e0' (its own stream s_t_a_e0) must
    get distinct stream names."""
    b = GraphBuilder((4, 5, 6), seed=4)
    a = b.conv("x", 8, k=3, name="a", out="a")
    c = b.conv(a, 8, k=3, name="c", out="a_e0", act=None)
    y = b.add(a, c)
    z = b.concat([y, a])
    qg, vals = b.build()
    code, outs = csim_segment(tmp_path, qg, vals, 0, len(qg.layers) - 1, factors={})
    assert_matches(outs, vals)
    names = list(code.fifo_depths)
    assert len(names) == len(set(names))
    assert z == qg.graph.output
