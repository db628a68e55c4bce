"""C-sim unit tests of each block of hls/include/asymap/: compile a one- or two-layer segment with
g++, run it on random data and compare bit for bit with the integer reference (run_int).

Odd sizes on purpose: channel counts that no lane/PE/SIMD count divides evenly, odd heights and
widths with stride 2, padding, 1x1, 7x7, dilation, depthwise and grouped convolutions.
"""

from __future__ import annotations

import subprocess

import pytest
from segsim_harness import CXXFLAGS, GraphBuilder, assert_matches, csim_segment

from asymap.codegen.hlsinc import gxx_include_flags
from asymap.frontend import ir

pytestmark = pytest.mark.csim


def _conv_3x3_odd(b):  # 5 -> 6 channels, 9x11, padding 1; pe/simd factors divide
    return {0: (2, 5)}, b.conv("x", 6, k=3)


def _conv_stride2_padded(b):  # stride 2 on odd sizes; pe=4 leaves 2 padding channels of 8
    return {0: (4, 5)}, b.conv("x", 6, k=3, s=2)


def _conv_7x7_stem(b):  # ResNet stem: 7x7 stride 2 pad 3 from 3 channels
    return {0: (4, 3)}, b.conv("x", 8, k=7, s=2, p=3)


def _conv_1x1_fast(b):  # 1x1 fast path, no activation (int8 output)
    return {0: (4, 5)}, b.conv("x", 12, k=1, p=0, act=None)


def _conv_1x1_stride2(b):  # downsample shortcut: 1x1 stride 2 goes through the row buffer
    return {0: (3, 1)}, b.conv("x", 6, k=1, s=2, p=0, act=None)


def _conv_dilated(b):  # dilation 2 with asymmetric padding
    return {0: (2, 5)}, b.conv("x", 4, k=3, d=2, p=(1, 2, 2, 1))


def _depthwise(b):  # depthwise 3x3 stride 1 then stride 2 (PE channels per cycle)
    x = b.conv("x", 5, k=3, groups=5, act="relu")
    return {0: (5, 1), 1: (2, 1)}, b.conv(x, 5, k=3, s=2, groups=5, act=None)  # pe 2: padded to 6


def _grouped(b):  # grouped conv: 2 groups, input 5 -> use 6 channels first
    x = b.conv("x", 6, k=1, p=0)
    return {0: (2, 5), 1: (2, 3)}, b.conv(x, 4, k=3, groups=2)


def _maxpool(b):  # 3x3 stride 2 pad 1 (padding never wins), then 2x2 stride 2
    x = b.conv("x", 8, k=3, act=None)
    x = b.pool(x, ir.MAXPOOL, k=3, s=2, p=1)
    return {0: (2, 5), 1: (4, 1), 2: (8, 1)}, b.pool(x, ir.MAXPOOL, k=2, s=2)


def _avgpool(b):  # both divisor rules
    x = b.conv("x", 6, k=1, p=0)
    x = b.pool(x, ir.AVGPOOL, k=3, s=1, p=1, count_include_pad=False)
    return {2: (3, 1)}, b.pool(x, ir.AVGPOOL, k=3, s=2, p=1, count_include_pad=True)


def _gap_fc(b):  # global average pooling then fully connected
    x = b.conv("x", 12, k=3, s=2)
    x = b.gap(x)
    return {0: (3, 5), 2: (4, 4)}, b.fc(x, 10)  # pe 4 on 10 outputs: padded to 12


def _fc_spatial(b):  # fc straight from a spatial tensor: CHW flattening vs HWC stream order
    x = b.conv("x", 6, k=3, s=2)
    return {1: (4, 6)}, b.fc(x, 7, act="relu")


BLOCKS = [_conv_3x3_odd, _conv_stride2_padded, _conv_7x7_stem, _conv_1x1_fast, _conv_1x1_stride2,
          _conv_dilated, _depthwise, _grouped, _maxpool, _avgpool, _gap_fc, _fc_spatial]


@pytest.mark.parametrize("case", BLOCKS, ids=[f.__name__.strip("_") for f in BLOCKS])
def test_block_matches_reference(case, tmp_path):
    b = GraphBuilder((5, 9, 11), seed=3)
    factors, _ = case(b)
    qg, vals = b.build()
    code, outs = csim_segment(tmp_path, qg, vals, 0, len(qg.layers) - 1, factors=factors)
    assert outs, "segment has an output"
    assert_matches(outs, vals)


def test_factor_fallback_is_recorded(tmp_path):
    """simd=2 does not divide C_in=5 -> largest divisor 1; pe=4 on 6 outputs -> padded fold (the
    output is 7 pixels wide, so its port is narrow: wide ports have no padded folds)."""
    b = GraphBuilder((5, 9, 13), seed=3)
    b.conv("x", 6, k=3, s=2)
    qg, vals = b.build()
    code, outs = csim_segment(tmp_path, qg, vals, 0, 0, factors={0: (4, 2)})
    assert_matches(outs, vals)
    assert any("simd=1" in n for n in code.notes) and any("2 padding channels" in n for n in code.notes)
    assert "NOTE:" in code.source
    assert "static const unsigned pe = 4;" in code.header and "static const unsigned out_cp = 8;" in code.header
    assert "static const unsigned simd = 1;" in code.header


STREAM_UTILS_DRIVER = r"""
#include <cstdio>
#include "asymap/stream_utils.h"
// 12 channels x 5 pixels: 4 lanes -> 6 lanes -> 3 lanes must give the same bytes back; fork2
// duplicates; copy_stream passes through.
int main() {
    const unsigned C = 12, PIX = 5;
    hls::stream<ap_uint<32> > a("a"), f1("f1"), f2("f2"), back("back");
    hls::stream<ap_uint<48> > b("b");
    hls::stream<ap_uint<24> > c("c");
    for (unsigned i = 0; i < PIX * C / 4; ++i) {
        ap_uint<32> v = 0;
        for (unsigned l = 0; l < 4; ++l) v.range(8 * l + 7, 8 * l) = (i * 4 + l) * 7 % 256;
        a.write(v);
    }
    asymap::fork2<ap_uint<32>, PIX * C / 4>(a, f1, f2);
    asymap::width_convert<C, 4, 6, PIX>(f1, b);
    asymap::width_convert<C, 6, 3, PIX>(b, c);
    hls::stream<ap_uint<24> > c2("c2");
    asymap::copy_stream<ap_uint<24>, PIX * C / 3>(c, c2);
    int bad = 0;
    for (unsigned i = 0; i < PIX * C / 3; ++i) {
        ap_uint<24> v = c2.read();
        for (unsigned l = 0; l < 3; ++l)
            if (unsigned(v.range(8 * l + 7, 8 * l)) != (i * 3 + l) * 7 % 256) bad = 1;
    }
    for (unsigned i = 0; i < PIX * C / 4; ++i) {
        ap_uint<32> v = f2.read();
        for (unsigned l = 0; l < 4; ++l)
            if (unsigned(v.range(8 * l + 7, 8 * l)) != (i * 4 + l) * 7 % 256) bad |= 2;
    }
    if (!c2.empty() || !f2.empty() || !b.empty()) bad |= 4;
    std::printf("bad=%d\n", bad);
    return bad;
}
"""


def test_stream_utils_width_convert_fork_copy(tmp_path):
    src = tmp_path / "su.cpp"
    src.write_text(STREAM_UTILS_DRIVER)
    exe = tmp_path / "su"
    comp = subprocess.run(["g++", *CXXFLAGS, *gxx_include_flags(), str(src), "-o", str(exe)],
                          capture_output=True, text=True)
    assert comp.returncode == 0, comp.stderr[-3000:]
    run = subprocess.run([str(exe)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout


REQUANT_DRIVER = r"""
#include <cstdio>
#include "asymap/requant.h"
int main(int argc, char** argv) {
    long long acc, m; unsigned s;
    while (std::scanf("%lld %lld %u", &acc, &m, &s) == 3) {
        int a = asymap::requant<-128, 127>(asymap::acc_t(acc), m, s);
        int b = asymap::requant<0, 255>(asymap::acc_t(acc), m, s);
        std::printf("%d %d\n", a, b);
    }
    return 0;
}
"""


def test_requant_bit_exact_with_arith(tmp_path):
    """Edge cases of the rounding rule (ties, negative values, extreme shifts and multipliers)."""
    import numpy as np

    from asymap.quant.arith import requant

    rng = np.random.default_rng(7)
    acc = np.concatenate([rng.integers(-(2**31) + 1, 2**31 - 1, 300), [0, 1, -1, 2**31 - 1, -(2**31) + 1, 3, -3, 5, -5]])
    m = np.concatenate([rng.integers(0, 2**31, 300), [2**31 - 1, 2**30, 1, 2**30, 2**31 - 1, 1, 1, 1, 1]])
    s = np.concatenate([rng.integers(1, 63, 300), [62, 31, 1, 40, 62, 1, 1, 2, 2]])
    src = tmp_path / "rq.cpp"
    src.write_text(REQUANT_DRIVER)
    exe = tmp_path / "rq"
    comp = subprocess.run(["g++", *CXXFLAGS, *gxx_include_flags(), str(src), "-o", str(exe)],
                          capture_output=True, text=True)
    assert comp.returncode == 0, comp.stderr[-3000:]
    inp = "\n".join(f"{a} {b} {c}" for a, b, c in zip(acc, m, s))
    run = subprocess.run([str(exe)], input=inp, capture_output=True, text=True)
    got = np.array([[int(v) for v in ln.split()] for ln in run.stdout.splitlines()])
    assert np.array_equal(got[:, 0], requant(acc, m, s, -128, 127))
    assert np.array_equal(got[:, 1], requant(acc, m, s, 0, 255))


def test_wide_output_port_refits_a_padded_pe(tmp_path):
    """pe=4 on 6 outputs of 6-pixel rows: the 6-channel output is a wide port (2 pixels = 12 bytes
    per beat) with no room for padding channels, so the generator uses pe=3 and says so."""
    b = GraphBuilder((5, 9, 11), seed=3)
    b.conv("x", 6, k=3, s=2)
    qg, vals = b.build()
    code, outs = csim_segment(tmp_path, qg, vals, 0, 0, factors={0: (4, 1)})
    assert_matches(outs, vals)
    assert [n for n in code.notes if "wide output port" in n and "using pe=3" in n]
    assert not [n for n in code.notes if "2 padding channels" in n]
    assert "static const unsigned out_lanes = 12;" in code.header and "static const unsigned out_cp = 6;" in code.header


WIDE_PORT_DRIVER = r"""
#include <cstdio>
#include "asymap/link.h"
#include "asymap/stream_utils.h"
// A wide port (3 channels x 8 pixels = 24 bytes per word) of a 3x5x8 tensor (120 bytes): packed
// into W-bit link beats (bytes contiguous, the last beat zero-padded) and unpacked back;
// width_convert turns the wide port into one-channel beats and back.
template <unsigned W>
struct lc {
    static const unsigned width = W, lanes = 24, bytes = 120;
};
template <unsigned W>
int roundtrip() {
    const unsigned B = W / 8, BEATS = (120 + B - 1) / B;
    hls::stream<ap_uint<192> > a("a"), back("back");
    hls::stream<ap_uint<W> > beats("beats");
    for (unsigned i = 0; i < 5; ++i) {
        ap_uint<192> v = 0;
        for (unsigned l = 0; l < 24; ++l) v.range(8 * l + 7, 8 * l) = (i * 24 + l) * 11 % 256;
        a.write(v);
    }
    asymap::link_pack<lc<W> >(a, beats);
    int bad = beats.size() == BEATS ? 0 : 1;
    hls::stream<ap_uint<W> > again("again");
    for (unsigned k = 0; k < BEATS; ++k) {
        ap_uint<W> v = beats.read();
        for (unsigned l = 0; l < B; ++l) {
            unsigned byte = k * B + l, want = byte < 120 ? byte * 11 % 256 : 0;
            if (unsigned(v.range(8 * l + 7, 8 * l)) != want) bad |= 2;
        }
        again.write(v);
    }
    asymap::link_unpack<lc<W> >(again, back);
    for (unsigned i = 0; i < 5; ++i) {
        ap_uint<192> v = back.read();
        for (unsigned l = 0; l < 24; ++l)
            if (unsigned(v.range(8 * l + 7, 8 * l)) != (i * 24 + l) * 11 % 256) bad |= 4;
    }
    if (!back.empty() || !again.empty()) bad |= 8;
    return bad;
}
int main() {
    int bad = roundtrip<64>() | roundtrip<512>() << 4;
    hls::stream<ap_uint<192> > w("w"), w2("w2");
    hls::stream<ap_uint<8> > n("n");
    for (unsigned i = 0; i < 5; ++i) {
        ap_uint<192> v = 0;
        for (unsigned l = 0; l < 24; ++l) v.range(8 * l + 7, 8 * l) = i * 24 + l;
        w.write(v);
    }
    asymap::width_convert<3, 24, 1, 40>(w, n);
    if (n.size() != 120) bad |= 256;
    hls::stream<ap_uint<8> > n2("n2");
    for (unsigned k = 0; k < 120; ++k) {
        ap_uint<8> v = n.read();
        if (unsigned(v) != k) bad |= 512;
        n2.write(v);
    }
    asymap::width_convert<3, 1, 24, 40>(n2, w2);
    for (unsigned i = 0; i < 5; ++i) {
        ap_uint<192> v = w2.read();
        for (unsigned l = 0; l < 24; ++l)
            if (unsigned(v.range(8 * l + 7, 8 * l)) != i * 24 + l) bad |= 1024;
    }
    std::printf("bad=%d\n", bad);
    return bad != 0;
}
"""


def test_wide_port_link_pack_unpack_and_width_convert(tmp_path):
    """24-byte wide-port words (8 RGB pixels) into 64- and 512-bit link beats and back, bytes
    contiguous as docs/link-protocol.md says (24 does not divide 8 or 64); width_convert between
    the wide port and one channel per beat."""
    src = tmp_path / "wp.cpp"
    src.write_text(WIDE_PORT_DRIVER)
    exe = tmp_path / "wp"
    comp = subprocess.run(["g++", *CXXFLAGS, *gxx_include_flags(), str(src), "-o", str(exe)],
                          capture_output=True, text=True)
    assert comp.returncode == 0, comp.stderr[-3000:]
    run = subprocess.run([str(exe)], capture_output=True, text=True)
    assert run.returncode == 0 and "bad=0" in run.stdout, run.stdout
