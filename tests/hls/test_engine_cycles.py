"""Every engine's C-sim cycle count equals the cost model, pipeline fill and drain included.

Each case is a small segment (odd shapes, padding, padded PE folds, width conversions that are
not multiples of each other) C-simulated bit-exact against the integer reference; the engines
record what their pipelined loops ran (csim_count.h) and the sum over the segment's layers must
equal ``engine_cycles`` summed over the same layers. A second test checks that the pipeline-depth
constants of the C++ (csim_count.h ``lat_*``) and of the Python (asymap/lanes.py ``LAT_*``) agree:
one source of truth per language, this test keeps them equal.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from segsim_harness import GraphBuilder, assert_matches, csim_segment

from asymap import lanes
from asymap.codegen.weightpack import fit_factor
from asymap.frontend import ir
from asymap.partition.costmodel import engine_cycles

REPO = Path(__file__).resolve().parents[2]


def _depthwise(b):
    x = b.conv("x", 8, k=1, p=0)
    return {0: (4, 6), 1: (4, 1)}, b.conv(x, 8, k=3, s=2, groups=8)


def _grouped(b):
    x = b.conv("x", 8, k=1, p=0)
    return {0: (8, 6), 1: (2, 2)}, b.conv(x, 12, k=3, groups=2, p=(1, 0, 0, 1))


def _grouped_1x1(b):  # grouped 1x1 runs on the row-buffer engine (kernel 1)
    x = b.conv("x", 8, k=1, p=0)
    return {0: (8, 3), 1: (3, 2)}, b.conv(x, 6, k=1, p=0, groups=2)


def _pools(b):
    x = b.conv("x", 12, k=1, p=0)
    x = b.pool(x, ir.MAXPOOL, k=3, s=2, p=1)
    return {0: (3, 6), 1: (3, 1), 2: (6, 1)}, b.pool(x, ir.AVGPOOL, k=2, s=1, p=0)


def _gap_fc(b):
    x = b.conv("x", 20, k=3, s=2)
    x = b.gap(x)
    return {0: (5, 3), 2: (3, 5)}, b.fc(x, 7)


def _add_concat(b):
    x = b.conv("x", 6, k=1, p=0)
    y = b.conv(x, 6, k=3)
    z = b.add(x, y)
    w = b.conv(z, 3, k=1, p=0)
    return {0: (6, 6), 1: (2, 3), 3: (3, 2)}, b.concat([z, w])


def _pointwise_wide_simd(b):  # in_lanes 1 (C = 5), SIMD 5: gearbox 1 -> 5; PE 8 on 12 outputs (padded)
    return {0: (8, 5)}, b.conv("x", 12, k=1, p=0)


def _lut_chmul(b):  # squeeze-excite: SiLU, pool, 1x1 convs, sigmoid table, channel-wise Mul
    f = b.lut(b.conv("x", 12, k=3, act=None), ir.LUT_SILU)
    s = b.conv(b.conv(b.gap(f), 4, k=1, p=0), 12, k=1, p=0, act=None)
    return {0: (4, 5), 3: (2, 4)}, b.chmul(f, b.lut(s, ir.LUT_SIGMOID))


CASES = [_depthwise, _grouped, _grouped_1x1, _pools, _gap_fc, _add_concat, _pointwise_wide_simd, _lut_chmul]


# Wide ports (asymap.lanes.port_pixels): the input is (3, 10, 8), so its port carries 8 RGB pixels
# (24 bytes) per beat, and every few-channel tensor of an even-width row carries whole pixels.
def _wide_stem(b):  # the stem: 9 window positions x 3 channels per cycle, input 8 pixels per beat
    return {0: (16, 3, 9)}, b.conv("x", 16, k=3, s=2, p=1)


def _wide_stem_simd1(b):  # one channel per SWG word: the input gearbox sends 24 words per beat
    return {0: (8, 1, 3)}, b.conv("x", 8, k=3, s=1, p=1)


def _wide_pool_gap_fc(b):  # wide in and out (3 -> 4 channels, 8 and 4 pixels per beat), GAP of a wide port
    x = b.conv("x", 4, k=1, p=0)
    x = b.pool(x, ir.MAXPOOL, k=2, s=2, p=0)
    y = b.pool(x, ir.AVGPOOL, k=3, s=1, p=1)
    y = b.gap(y)
    return {0: (2, 3), 1: (2, 1), 2: (4, 1), 4: (3, 4)}, b.fc(y, 5)


def _wide_add_concat(b):  # wide operands and output of add and concat, a depthwise conv on a wide port
    x = b.conv("x", 2, k=1, p=0)
    y = b.conv(x, 2, k=3)
    z = b.add(x, y)
    d = b.conv("x", 3, k=3, groups=3)
    c = b.concat([z, d])
    return {0: (2, 3), 1: (1, 2, 3), 3: (3, 1), 5: (4, 5)}, b.conv(c, 12, k=1, p=0)


WIDE_CASES = [_wide_stem, _wide_stem_simd1, _wide_pool_gap_fc, _wide_add_concat]


def _effective(layer, pe, simd, kpar):
    """The factors codegen really uses (it falls back to divisors; see segment_blocks)."""
    if layer.op == ir.FC:
        return min(pe, layer.c_out), fit_factor(int(layer.weight.shape[1]), simd), 1
    if layer.op == ir.CONV:
        cing, coutg = layer.c_in // layer.groups, layer.c_out // layer.groups
        pe, simd = min(pe, layer.c_out), fit_factor(cing, simd)
        if layer.groups > 1:
            pe = fit_factor(layer.c_out if cing == coutg == 1 else coutg, pe)
        return pe, simd, kpar
    if layer.op in (ir.MAXPOOL, ir.AVGPOOL):
        return fit_factor(layer.c_out, pe), 1, 1
    return pe, simd, kpar


@pytest.mark.csim
@pytest.mark.parametrize("case", CASES, ids=[c.__name__.strip("_") for c in CASES])
def test_engine_cycles_match_costmodel(case, tmp_path):
    b = GraphBuilder((5, 9, 7), seed=11)
    factors, _ = case(b)
    qg, vals = b.build()
    code, outs = csim_segment(tmp_path, qg, vals, 0, len(qg.layers) - 1, factors=factors)
    assert_matches(outs, vals)
    want = 0
    for ql in qg.layers:
        pe, simd, kpar = _effective(ql.layer, *(tuple(factors.get(ql.index, (1, 1))) + (1,))[:3])
        want += engine_cycles(ql.layer, pe, simd, kpar)
    assert int((tmp_path / "csim_cycles.txt").read_text()) == want


@pytest.mark.csim
@pytest.mark.parametrize("case", WIDE_CASES, ids=[c.__name__.strip("_") for c in WIDE_CASES])
def test_wide_port_engine_cycles_match_costmodel(case, tmp_path):
    b = GraphBuilder((3, 10, 8), seed=5)
    factors, _ = case(b)
    qg, vals = b.build()
    assert lanes.port_bytes(qg.tensors["x"].shape) == 24  # 8 pixels x 3 channels per beat
    code, outs = csim_segment(tmp_path, qg, vals, 0, len(qg.layers) - 1, factors=factors)
    assert_matches(outs, vals)
    want = 0
    for ql in qg.layers:
        pe, simd, kpar = _effective(ql.layer, *(tuple(factors.get(ql.index, (1, 1))) + (1,))[:3])
        want += engine_cycles(ql.layer, pe, simd, kpar)
    assert int((tmp_path / "csim_cycles.txt").read_text()) == want


def test_latency_constants_agree():
    text = (REPO / "hls" / "include" / "asymap" / "csim_count.h").read_text()
    cpp = {m.group(1).upper(): int(m.group(2)) for m in re.finditer(r"const unsigned lat_(\w+) = (\d+);", text)}
    py = {k[4:]: v for k, v in vars(lanes).items() if k.startswith("LAT_")}
    assert cpp and cpp == py


# Zero-padded PE (issue 12): pe does not divide C_out, so the last output fold computes padding
# channels on zero weights (out_cp = C_out rounded up to a multiple of pe) and the output gearbox
# drops them; pe is neither a divisor nor a power of two, so the PE -> 8-lane gearbox works on
# lcm(pe, 8)-byte chunks (pe = 7: 56 bytes). Every case is an option of the planner's menu
# (costmodel._padded_pes); one layer per case, so each engine's count is checked on its own.
# (id, input shape, layer kwargs, (pe, simd), offchip, MAC kind)
PADDED = [
    ("k3s1_c48_pe7_packed", (8, 6, 7), dict(cout=48, k=3), (7, 8), False, "packed"),
    ("k3s1_c64_pe3", (8, 5, 6), dict(cout=64, k=3), (3, 4), False, "dsp"),
    ("k3s2_c64_pe11", (16, 7, 6), dict(cout=64, k=3, s=2), (11, 16), False, "dsp"),
    ("k1_c64_pe13_emit_bound", (8, 5, 6), dict(cout=64, k=1, p=0), (13, 8), False, "dsp"),  # 13 gearbox steps vs 5 folds
    ("k1_c48_pe7_emit_bound", (8, 5, 6), dict(cout=48, k=1, p=0), (7, 8), False, "packed"),  # 1 chunk of 56: 8 vs 7
    ("k1_c64_pe5", (8, 5, 6), dict(cout=64, k=1, p=0), (5, 2), False, "lut"),
    ("k1_c64_pe6", (8, 5, 6), dict(cout=64, k=1, p=0), (6, 4), False, "packed"),
    ("k1s2_c64_pe22_downsample", (16, 7, 6), dict(cout=64, k=1, s=2, p=0), (22, 16), False, "packed"),
    ("k1_c256_pe37", (8, 3, 4), dict(cout=256, k=1, p=0), (37, 8), False, "dsp"),
    ("k3_c256_pe43", (8, 4, 5), dict(cout=256, k=3), (43, 4), False, "packed"),
    ("k3_c64_pe11_offchip", (8, 5, 6), dict(cout=64, k=3), (11, 8), True, "dsp"),
    ("k3_c48_pe10_offchip", (8, 5, 6), dict(cout=48, k=3), (10, 4), True, "packed"),
    ("fc1000_pe3", (8, 2, 2), dict(cout=1000, fc=True), (3, 8), False, "dsp"),
    ("fc1000_pe7_emit_bound", (8, 2, 2), dict(cout=1000, fc=True), (7, 32), False, "packed"),
]


@pytest.mark.csim
@pytest.mark.parametrize("shape,kw,factors,offchip,mac", [c[1:] for c in PADDED], ids=[c[0] for c in PADDED])
def test_padded_pe_engine_bit_exact_and_cycles(shape, kw, factors, offchip, mac, tmp_path):
    from asymap.partition.costmodel import layer_options

    b = GraphBuilder(shape, seed=13)
    kw = dict(kw)
    cout = kw.pop("cout")
    b.fc("x", cout) if kw.pop("fc", False) else b.conv("x", cout, **kw)
    qg, vals = b.build()
    layer = qg.layers[0].layer
    pe, simd = factors
    # the option is on the planner's menu, as a padded one
    o = layer_options(layer)
    assert ((o.pe == pe) & (o.simd == simd) & o.padded).any(), (pe, simd)
    code, outs = csim_segment(tmp_path, qg, vals, 0, 0, factors={0: factors}, offchip=[0] if offchip else [],
                              macs={0: mac})
    assert_matches(outs, vals)
    assert f"static const unsigned pe = {pe};" in code.header
    cp = -(-cout // pe) * pe
    assert f"static const unsigned out_cp = {cp};" in code.header
    # bias, multiplier and shift tables hold out_cp entries (the padded fold reads its padding channels')
    tables = re.findall(r"static const (?:int32_t|uint8_t) \w+_(bias|mult|shift)\[(\d+)\]", code.weights["weights.h"])
    assert sorted(tables) == [("bias", str(cp)), ("mult", str(cp)), ("shift", str(cp))], tables
    assert not [n for n in code.notes if "using" in n], code.notes
    counted = int((tmp_path / "csim_cycles.txt").read_text())
    assert counted == engine_cycles(layer, pe, simd, 1, offchip=offchip)
