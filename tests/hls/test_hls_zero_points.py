"""Zero points in the HLS engines: onnxruntime-style asymmetric tensors (uint8 and int8 with
non-zero zero points on every tensor) through each block, C-simulated with g++ and compared bit
for bit with the integer reference (run_int), which matches onnxruntime's QDQ run
(tests/quant/test_quant_qdq_ort.py).

What each case exercises: conv padding reads the input zero point (bias holds -zx*sum(w)),
requant adds the output zero point before the clamp (a ReLU clamps at it), max pooling keeps the
zero point, average / global pooling subtract it from the sum, add and concat subtract each
operand's; the off-chip conv engine pads with it too.
"""

from __future__ import annotations

import pytest
from segsim_harness import GraphBuilder, assert_matches, csim_segment
from test_engine_cycles import WIDE_CASES
from test_hls_blocks import BLOCKS
from test_segment_csim import _inception, _residual

pytestmark = pytest.mark.csim

BY_NAME = {f.__name__.strip("_"): f for f in BLOCKS}
WIDE_BY_NAME = {f.__name__.strip("_"): f for f in WIDE_CASES}


def _residual_case(b):
    return {0: (2, 5), 1: (4, 4), 4: (3, 4)}, _residual(b)


def _inception_case(b):
    return {1: (4, 4), 2: (2, 4)}, _inception(b)


CASES = {**BY_NAME, "residual_add": _residual_case, "inception_concat": _inception_case}
INT8 = ["conv_7x7_stem", "conv_1x1_fast", "depthwise", "maxpool", "avgpool", "gap_fc", "residual_add",
        "inception_concat"]


def _check(tmp_path, case, zp, offchip=(), mac=None):
    b = GraphBuilder((5, 9, 11), seed=3)
    factors, _ = case(b)
    qg, vals = b.build(zero_points=zp)
    assert qg.input.zero_point != 0 and qg.input.signed == (zp == "int8")
    assert sum(1 for lay in qg.layers if lay.has_zero_points) == len(qg.layers)
    macs = {q.index: mac for q in qg.layers if q.weight is not None} if mac else None
    code, outs = csim_segment(tmp_path, qg, vals, 0, len(qg.layers) - 1, factors=factors, offchip=offchip, macs=macs)
    if mac:
        from asymap.codegen.segment_blocks import MAC_CODES

        assert f"static const unsigned mac = {MAC_CODES[mac]};" in code.header
    assert outs
    assert_matches(outs, vals)


@pytest.mark.parametrize("name", list(CASES))
def test_uint8_zero_points_bit_exact(name, tmp_path):
    _check(tmp_path, CASES[name], "uint8")


@pytest.mark.parametrize("name", INT8)
def test_int8_zero_points_bit_exact(name, tmp_path):
    _check(tmp_path, CASES[name], "int8")


@pytest.mark.parametrize("zp", ["uint8", "int8"])
def test_offchip_conv_pads_with_zero_point(zp, tmp_path):
    def case(b):
        x = b.conv("x", 6, k=3, s=2)
        return {0: (2, 5), 1: (3, 2)}, b.conv(x, 4, k=3, act=None)

    _check(tmp_path, case, zp, offchip=(0, 1))


@pytest.mark.parametrize("zp", ["uint8", "int8"])
@pytest.mark.parametrize("mac", ["packed", "lut"])
def test_mac_kinds_with_zero_points(zp, mac, tmp_path):
    """Packed DSP48E2 pairs (uint8 inputs split every 4 products) and LUT multipliers."""
    _check(tmp_path, _residual_case, zp, mac=mac)


def test_zero_points_reach_the_config_structs(tmp_path):
    """The generated params.h carries each block's zero points (0 for symmetric layers)."""
    b = GraphBuilder((5, 9, 11), seed=3)
    _, _ = _residual_case(b)
    qg, vals = b.build(zero_points="uint8")
    code, _ = csim_segment(tmp_path, qg, vals, 0, len(qg.layers) - 1)
    conv0 = qg.layers[0]
    assert f"static const int in_zp = {qg.input.zero_point};" in code.header
    assert f"static const int out_zp = {conv0.out_zp};" in code.header
    add = next(q for q in qg.layers if q.op == "add")
    assert f"static const int a_zp = {add.zp(0)};" in code.header and f"static const int b_zp = {add.zp(1)};" in code.header


ZP_REQUANT_DRIVER = r"""
#include <cstdio>
#include "asymap/requant.h"
// the output zero point as requant.h adds it: uint8 with a ReLU clamp at zo = 131, int8 zo = -37
int main() {
    long long acc, m; unsigned s;
    while (std::scanf("%lld %lld %u", &acc, &m, &s) == 3) {
        int a = asymap::requant<131, 255, 131>(asymap::acc_t(acc), m, s);
        int b = asymap::requant<-128, 127, -37>(asymap::acc_t(acc), m, s);
        int c = asymap::rshift_round<-128, 127, 90>(asymap::wide_t(acc), s);
        std::printf("%d %d %d\n", a, b, c);
    }
    return 0;
}
"""


def test_requant_output_zero_point_equals_the_reference(tmp_path):
    """requant<LO, HI, ZO> is the reference's requant(acc, m, s, lo - zo, hi - zo) + zo."""
    import subprocess

    import numpy as np
    from segsim_harness import CXXFLAGS

    from asymap.codegen.hlsinc import gxx_include_flags
    from asymap.quant.arith import requant, rshift_round

    rng = np.random.default_rng(5)
    acc = np.concatenate([rng.integers(-(2**16), 2**16, 400), [0, 1, -1, 2**31 - 1, -(2**31) + 1]])
    m = np.concatenate([rng.integers(2**30, 2**31, 400), [2**30, 2**30, 2**30, 2**31 - 1, 2**31 - 1]])
    s = np.concatenate([rng.integers(38, 47, 400), [30, 1, 1, 62, 62]])  # results mostly in range
    src, exe = tmp_path / "zq.cpp", tmp_path / "zq"
    src.write_text(ZP_REQUANT_DRIVER)
    comp = subprocess.run(["g++", *CXXFLAGS, *gxx_include_flags(), str(src), "-o", str(exe)], capture_output=True, text=True)
    assert comp.returncode == 0, comp.stderr[-3000:]
    run = subprocess.run([str(exe)], input="\n".join(f"{a} {b} {c}" for a, b, c in zip(acc, m, s)),
                         capture_output=True, text=True)
    got = np.array([[int(v) for v in ln.split()] for ln in run.stdout.splitlines()])
    assert np.array_equal(got[:, 0], requant(acc, m, s, 131 - 131, 255 - 131) + 131)
    assert np.array_equal(got[:, 1], requant(acc, m, s, -128 + 37, 127 + 37) - 37)
    assert np.array_equal(got[:, 2], rshift_round(acc, s, -128 - 90, 127 - 90) + 90)
    assert len(set(got[:, 0])) > 20 and got[:, 0].min() == 131  # the ReLU clamp at the zero point bites


@pytest.mark.parametrize("zp", ["uint8", "int8"])
@pytest.mark.parametrize("name", list(WIDE_BY_NAME))
def test_wide_ports_with_zero_points(name, zp, tmp_path):
    """Both features at once: an asymmetric (3, 10, 8) input carries 8 pixels per beat, and every
    few-channel tensor on the way is a wide port. wide_add_concat puts it through a padded 3x3 conv
    and a padded depthwise conv on wide ports (the window generator pads with in_zp after the
    gearbox), an add of two wide operands (holding registers, a_zp/b_zp/out_zp per compute lane)
    and a concat of wide operands into a wide output (each operand's in_zp, out_zp); the pool case
    a wide GAP input (in_zp per pixel of the beat). Bit-exact against run_int, and the zero points
    leave the counted cycles equal to the cost model's."""
    from test_engine_cycles import _effective

    from asymap import lanes
    from asymap.partition.costmodel import engine_cycles

    b = GraphBuilder((3, 10, 8), seed=5)
    factors, _ = WIDE_BY_NAME[name](b)
    qg, vals = b.build(zero_points=zp)
    assert lanes.port_bytes(qg.input.shape) == 24 and qg.input.zero_point != 0
    assert all(lay.has_zero_points for lay in qg.layers)
    wide = [t for t in qg.tensors.values() if lanes.port_bytes(t.shape) > t.shape[0]]
    assert wide and all(t.zero_point != 0 for t in wide)
    for ql in qg.layers:  # add and concat operands and outputs, padded convs' inputs: all wide ports
        ports = (*ql.layer.inputs, ql.layer.output) if ql.op in ("add", "concat") else ql.layer.inputs
        if ql.op in ("add", "concat") or (ql.op == "conv" and max(ql.layer.pads) > 0):
            assert all(qg.tensors[t] in wide for t in ports), ql.layer.name
    code, outs = csim_segment(tmp_path, qg, vals, 0, len(qg.layers) - 1, factors=factors)
    assert outs
    assert_matches(outs, vals)
    want = 0
    for ql in qg.layers:
        pe, simd, kpar = _effective(ql.layer, *(tuple(factors.get(ql.index, (1, 1))) + (1,))[:3])
        want += engine_cycles(ql.layer, pe, simd, kpar)
    assert int((tmp_path / "csim_cycles.txt").read_text()) == want
