"""C-sim unit tests of lut.h (table activations) and chmul.h (squeeze-excite's channel-wise Mul).

Each case is a small segment C-simulated with g++ and compared bit for bit with the integer
reference; odd channel counts give 1-, 2- and 4-lane ports. The squeeze-excite segment has the
feature map forked to the pooling path and to the Mul: the fork FIFO must hold the whole tensor
(asymap.codegen.fifodepth), which the bounded run (every FIFO bounded to its depth) checks.
"""

from __future__ import annotations

import os
import subprocess

import numpy as np
import pytest
from segsim_harness import CXXFLAGS, GraphBuilder, assert_matches, csim_segment

from asymap.codegen.fifodepth import FIFO_SLACK, fifo_depths
from asymap.codegen.hlsinc import gxx_include_flags, library_include_dir
from asymap.frontend import ir

pytestmark = pytest.mark.csim


def _luts(b):  # every function, int8 and uint8 inputs, 1- and 2-lane ports (5 and 6 channels)
    x = b.conv("x", 6, k=3, act=None)
    y = b.lut(x, ir.LUT_SILU)
    y = b.lut(y, ir.LUT_HARDSWISH)
    z = b.conv(y, 5, k=1, p=0, act="relu")  # uint8 input to the next table
    z = b.lut(z, ir.LUT_HARDSIGMOID, (0.2, 0.5))
    return {0: (2, 5)}, b.lut(z, ir.LUT_SIGMOID)


def _se(b, gate=ir.LUT_SIGMOID, act="relu", c=12):  # EfficientNet/RegNetY squeeze-excite
    f = b.conv("x", c, k=3, act=None)
    f = b.lut(f, ir.LUT_SILU)
    s = b.gap(f)
    s = b.conv(s, 4, k=1, p=0, act=act)
    s = b.conv(s, c, k=1, p=0, act=None)
    s = b.lut(s, gate, (1 / 6, 0.5) if gate == ir.LUT_HARDSIGMOID else ())
    return {0: (4, 5), 3: (2, 4), 4: (4, 2)}, b.chmul(f, s)


def _se_hard(b):  # MobileNetV3: HardSigmoid gate, 20 channels (4-lane port)
    return _se(b, ir.LUT_HARDSIGMOID, "relu", 20)


CASES = [_luts, _se, _se_hard]


@pytest.mark.parametrize("case", CASES, ids=[c.__name__.strip("_") for c in CASES])
def test_lut_and_chmul_blocks_bit_exact(case, tmp_path):
    b = GraphBuilder((5, 7, 9), seed=5)
    factors, _ = case(b)
    qg, vals = b.build()
    _, outs = csim_segment(tmp_path, qg, vals, 0, len(qg.layers) - 1, factors=factors)
    assert_matches(outs, vals)
    # the tables are not trivial: many distinct outputs per layer
    for ql in qg.layers:
        if ql.op == ir.LUT:
            assert len(np.unique(vals[ql.layer.output])) > 10


def test_se_fork_buffers_the_whole_feature_map():
    b = GraphBuilder((5, 7, 9), seed=5)
    _se(b)
    layers = b.layers
    shapes = dict(b.shapes)
    extra = fifo_depths(layers, ["x"], shapes)
    f = layers[1].output  # the SiLU output forks to the pool and to the Mul
    c, h, w = shapes[f]
    beats = h * w * c // 4  # 12 channels: 4-lane port
    assert extra[(f, 6, 0)] >= beats
    assert (f, 2, 0) not in extra  # the pooling path needs no buffer


@pytest.mark.parametrize("case", [_se, _se_hard], ids=["se", "se_hard"])
def test_se_segment_does_not_deadlock_with_bounded_fifos(case, tmp_path):
    """Every process in its own thread, every FIFO bounded to its generated depth minus the
    guaranteed slack: the squeeze-excite fork must not stall (bounded_stream.h)."""
    b = GraphBuilder((5, 7, 9), seed=5)
    factors, _ = case(b)
    qg, vals = b.build()
    d = tmp_path / "b"
    code, _ = csim_segment(d, qg, vals, 0, len(qg.layers) - 1, factors=factors)
    exe = d / "bsim"
    cmd = ["g++", *CXXFLAGS, "-pthread", "-DASYMAP_BOUNDED_SIM", "-I", str(library_include_dir() / "asymap" / "bounded"),
           *gxx_include_flags(), "-I", str(d), str(d / "driver.cpp"), "-o", str(exe)]
    comp = subprocess.run(cmd, capture_output=True, text=True)
    assert comp.returncode == 0, comp.stderr[-3000:]
    env = {**os.environ, "ASYMAP_FIFO_SLACK": str(FIFO_SLACK)}
    run = subprocess.run([str(exe)], cwd=d, capture_output=True, text=True, timeout=120, env=env)
    assert run.returncode == 0, (run.stdout[-2000:], run.stderr[-2000:])
    # and the run really is bounded: with every FIFO cut to depth 1 the fork stalls
    env["ASYMAP_FIFO_SLACK"] = "100000"
    run = subprocess.run([str(exe)], cwd=d, capture_output=True, text=True, timeout=120, env=env)
    assert run.returncode == 3 and "DEADLOCK" in run.stdout, (run.returncode, run.stdout[-2000:])


def test_lut_and_chmul_with_zero_points(tmp_path):
    """A QDQ model's asymmetric tensors: the gate's pre-activation (int8, zero point -7), the gate
    (uint8, zero point 3), the feature map (int8, zero point 10), the Mul's output (uint8, zero
    point 128). The segment holds only the table and the Mul, so its inputs come straight from the
    reference."""
    b = GraphBuilder((5, 7, 9), seed=5)
    _se(b)
    qg0, _ = b.build()
    grid = {1: (10, True), 4: (-7, True), 5: (3, False), 6: (128, False)}  # layer -> (zero point, signed)
    for lay in b.layers:
        if lay.index in grid:
            t = qg0.tensors[lay.output]
            lay.qdq_out_scale = t.scale * 1.5
            lay.qdq_out_zero_point, lay.qdq_out_signed = grid[lay.index]
    qg, vals = b.build()
    assert qg.layers[6].in_zp == (10, 3) and qg.layers[6].out_zp == 128 and qg.layers[5].out_zp == 3
    code, outs = csim_segment(tmp_path, qg, vals, 5, 6)
    assert len(code.in_ports) == 2
    assert_matches(outs, vals)
