"""Lane-split engines (hls/include/asymap/lanesplit.h): a conv/fc whose PE lanes run in two halves
(lanes 0..k-1 of every fold in half A, the rest in half B) joined by a dup and a zip.

The blocks alone (zip_lanes, fork2 as the dup) on counted data; then whole segments with split
layers C-simulated bit-exact against the integer reference, with the engine cycle counters equal
to the unsplit segment's and to the cost model (the halves run the same folds in lockstep).
Both halves sit in one DATAFLOW region here; tests/e2e/test_e2e_lane_split.py puts them in two
SLR kernels.
"""

from __future__ import annotations

import subprocess

import pytest
from segsim_harness import CXXFLAGS, GraphBuilder, assert_matches, csim_segment

from asymap.codegen.hlsinc import gxx_include_flags
from asymap.frontend import ir
from asymap.partition.costmodel import engine_cycles

pytestmark = pytest.mark.csim

ZIP_DRIVER = r"""
#include <cstdio>
#include "asymap/lanesplit.h"
// 3 + 5 lanes zipped into 8, N words; the dup (fork2) of bytes<4> words gives two equal copies.
int main() {
    const unsigned N = 7;
    hls::stream<asymap::bytes<3> > a("a");
    hls::stream<asymap::bytes<5> > b("b");
    hls::stream<asymap::bytes<8> > z("z");
    for (unsigned i = 0; i < N; ++i) {
        asymap::bytes<3> x; asymap::bytes<5> y;
        for (unsigned p = 0; p < 3; ++p) x.b[p] = (i * 8 + p) * 11 % 256;
        for (unsigned p = 0; p < 5; ++p) y.b[p] = (i * 8 + 3 + p) * 11 % 256;
        a.write(x); b.write(y);
    }
    asymap::zip_lanes<3, 5, N>(a, b, z);
    int bad = 0;
    for (unsigned i = 0; i < N; ++i) {
        asymap::bytes<8> w = z.read();
        for (unsigned p = 0; p < 8; ++p) if (unsigned(w.b[p]) != (i * 8 + p) * 11 % 256) bad |= 1;
    }
    hls::stream<asymap::bytes<4> > s("s"), d1("d1"), d2("d2");
    for (unsigned i = 0; i < N; ++i) { asymap::bytes<4> v; for (unsigned p = 0; p < 4; ++p) v.b[p] = i + p; s.write(v); }
    asymap::fork2<asymap::bytes<4>, N>(s, d1, d2);
    for (unsigned i = 0; i < N; ++i) {
        asymap::bytes<4> u = d1.read(), v = d2.read();
        for (unsigned p = 0; p < 4; ++p) if (unsigned(u.b[p]) != i + p || unsigned(v.b[p]) != i + p) bad |= 2;
    }
    if (!a.empty() || !b.empty() || !z.empty() || !s.empty()) bad |= 4;
    std::printf("bad=%d\n", bad);
    return bad;
}
"""


def test_zip_joins_lanes_and_dup_copies(tmp_path):
    src = tmp_path / "zip.cpp"
    src.write_text(ZIP_DRIVER)
    exe = tmp_path / "zip"
    comp = subprocess.run(["g++", *CXXFLAGS, *gxx_include_flags(), str(src), "-o", str(exe)],
                          capture_output=True, text=True)
    assert comp.returncode == 0, comp.stderr[-3000:]
    run = subprocess.run([str(exe)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout


# (factors, lanes_split, build): conv layers whose PE lanes split unevenly (k != P/2 somewhere)
def _conv3x3_padded(b):  # pe 4 on 10 outputs: the last fold's two padding lanes are in half B
    return {0: (4, 5)}, {0: 1}, b.conv("x", 10, k=3, s=2)


def _conv3x3_kpar(b):  # window parallelism: the dup carries kpar*simd bytes per word
    return {0: (6, 5, 3)}, {0: 4}, b.conv("x", 12, k=3, p=1)


def _conv1x1_then_fc(b):  # a 1x1 engine and an fc, each split; the 1x1 with packed MACs, odd halves
    x = b.conv("x", 10, k=1, p=0)
    x = b.gap(x)
    return {0: (5, 5), 2: (4, 2)}, {0: 3, 2: 1}, b.fc(x, 7, act="relu")


CASES = [_conv3x3_padded, _conv3x3_kpar, _conv1x1_then_fc]


@pytest.mark.parametrize("case", CASES, ids=[c.__name__.strip("_") for c in CASES])
def test_lane_split_segment_bit_exact_with_unsplit_cycles(case, tmp_path):
    b = GraphBuilder((5, 9, 7), seed=7)
    factors, split, _ = case(b)
    qg, vals = b.build()
    macs = {0: "packed"} if case is _conv1x1_then_fc else {}
    (tmp_path / "split").mkdir()
    (tmp_path / "flat").mkdir()
    code, outs = csim_segment(tmp_path / "split", qg, vals, 0, len(qg.layers) - 1, factors=factors,
                              lanes_split=split, macs=macs)
    assert_matches(outs, vals)
    _, flat = csim_segment(tmp_path / "flat", qg, vals, 0, len(qg.layers) - 1, factors=factors, macs=macs)
    assert_matches(flat, vals)
    for i, k in split.items():  # the two halves and the streams between them
        assert code.source.count("_lanes_a<") == len(split) and code.source.count("mac_lanes_b<") == len(split)
        assert f"static const unsigned pe = {k};" in code.header
    cycles = int((tmp_path / "split" / "csim_cycles.txt").read_text())
    assert cycles == int((tmp_path / "flat" / "csim_cycles.txt").read_text())
    want = 0
    for ql in qg.layers:
        f = tuple(factors.get(ql.index, (1, 1))) + (1,)
        pe = min(f[0], ql.layer.c_out) if ql.layer.op in (ir.CONV, ir.FC) else f[0]
        want += engine_cycles(ql.layer, pe, f[1] if ql.layer.op in (ir.CONV, ir.FC) else 1, f[2])
    assert cycles == want


def test_lane_split_with_uram_weights(tmp_path):
    """URAM ("preload") weights: each half fills its own table from its own start-up stream."""
    b = GraphBuilder((5, 9, 7), seed=4)
    factors, split, _ = _conv1x1_then_fc(b)
    factors = {**factors, 0: (6, 5)}
    split = {0: 2, 2: 3}
    qg, vals = b.build()
    code, outs = csim_segment(tmp_path, qg, vals, 0, len(qg.layers) - 1, factors=factors, lanes_split=split,
                              preload={0, 2}, repeat=2)
    assert_matches(outs, vals)
    assert code.source.count("_lanes_a_preload<") == 2 and code.source.count("mac_lanes_b_preload<") == 2
    assert code.wpre is not None and "_a_w" not in code.weights["weights.h"]


OFFCHIP = [((5, 9, 7), {0: (4, 5), 2: (4, 2)}, {0: 1, 2: 3}, lambda b: b.fc(b.gap(b.conv("x", 10, k=3, s=2)), 7)),
           # a wide RGB input port: the off-chip engine's width adapter sits in front of half A
           ((3, 10, 8), {0: (6, 3)}, {0: 4}, lambda b: b.conv("x", 12, k=3, p=1))]


@pytest.mark.parametrize("shape, factors, split, build", OFFCHIP, ids=["conv_fc", "wide_input"])
def test_lane_split_with_offchip_weights(shape, factors, split, build, tmp_path):
    """Off-chip weights: one region of whole rows, split_rows deals each half its lanes; the
    halves run conv_offchip's loops in lockstep and count the unsplit engine's cycles."""
    b = GraphBuilder(shape, seed=9)
    build(b)
    qg, vals = b.build()
    (tmp_path / "split").mkdir()
    (tmp_path / "flat").mkdir()
    offchip = set(split)
    code, outs = csim_segment(tmp_path / "split", qg, vals, 0, len(qg.layers) - 1, factors=factors,
                              lanes_split=split, offchip=offchip, repeat=2)
    assert_matches(outs, vals)
    flat, fouts = csim_segment(tmp_path / "flat", qg, vals, 0, len(qg.layers) - 1, factors=factors, offchip=offchip)
    assert_matches(fouts, vals)
    assert code.source.count("conv_offchip_lanes_a<") == len(split) == code.source.count("split_rows<")
    assert code.wmem == flat.wmem  # the same image of whole rows
    assert int((tmp_path / "split" / "csim_cycles.txt").read_text()) == \
        2 * int((tmp_path / "flat" / "csim_cycles.txt").read_text())  # two images


def test_lane_split_refuses_what_it_cannot_split(tmp_path):
    b = GraphBuilder((5, 9, 7), seed=7)
    b.conv("x", 6, k=3)
    qg, vals = b.build()
    with pytest.raises(ValueError, match="must be 1..3"):
        csim_segment(tmp_path, qg, vals, 0, 0, factors={0: (4, 5)}, lanes_split={0: 4})
