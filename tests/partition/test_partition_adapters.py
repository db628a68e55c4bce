"""The width_convert adapters the code generator puts between a wide port and an engine that takes
``port_lanes(C)`` channels per beat are charged: cycles (costmodel.with_adapters, equal to the
C-sim counters: tests/hls/test_hls_wide_new_kinds.py, test_hls_kpar.py) and LUTs
(costmodel.adapter_luts). Which ports get one is what codegen does (segment_blocks.narrow_adapt
and the off-chip conv block)."""

from __future__ import annotations

import numpy as np

from asymap.cluster.boards import load_board_type
from asymap.codegen.segment_blocks import narrow_adapt
from asymap.frontend.ir import AFFINE, CHANNELS, CHMUL, CONV, LUT, LUT_SILU, Layer
from asymap.lanes import LAT_GEARBOX, LAT_LUT, port_bytes, port_lanes
from asymap.partition import costmodel as cm


def _lut(c, h, w):
    return Layer(0, "silu", LUT, ["x"], "y", [(c, h, w)], (c, h, w), lut_fn=LUT_SILU)


def _conv(cin, h, w, cout):
    rng = np.random.default_rng(0)
    return Layer(0, "conv", CONV, ["x"], "y", [(cin, h, w)], (cout, h, w), kernel=(3, 3), stride=(1, 1),
                 pads=(1, 1, 1, 1), weight=rng.standard_normal((cout, cin, 3, 3)).astype(np.float32),
                 bias=np.zeros(cout, np.float32))  # fmt: skip


def test_adapted_ports_are_those_codegen_adapts():
    layers = [
        _lut(4, 6, 8),  # wide both sides (8 pixels x 4 channels)
        _lut(4, 6, 7),  # odd row: narrow
        _lut(16, 6, 8),  # narrow
        Layer(1, "se", CHMUL, ["x", "s"], "y", [(2, 4, 4), (2, 1, 1)], (2, 4, 4)),
        Layer(2, "bn", AFFINE, ["x"], "y", [(3, 5, 8)], (3, 5, 8)),
        Layer(3, "sl", CHANNELS, ["x"], "y", [(8, 4, 4)], (4, 4, 4), channel_map=(1, 3, 5, 7)),
    ]
    for lay in layers:
        want = narrow_adapt(lay)
        got = cm.adapted_ports(lay)
        assert [into for _, into in got] == [k == "in" for k in ("in", "out") if k in want], lay.name
    assert [into for _, into in cm.adapted_ports(layers[5])] == [False]  # narrow 8 -> wide 4 channels
    # convs: only with off-chip weights (the on-chip engines take wide ports themselves)
    conv = _conv(3, 6, 8, 6)
    assert cm.adapted_ports(conv) == []
    assert [into for _, into in cm.adapted_ports(conv, offchip=True)] == [True, False]


def test_adapter_cycles_formula():
    lay = _lut(4, 6, 8)
    b, p = port_bytes((4, 6, 8)), port_lanes(4)
    assert (b, p) == (32, 4)
    assert cm.adapter_schedule((4, 6, 8), True) == (6 * 8 * 4 // p, b // p + LAT_GEARBOX)
    assert cm.adapter_schedule((4, 6, 8), False) == (6 * 8 * 4 // p, b // p + LAT_GEARBOX)
    bare = 6 * 8 + LAT_LUT
    assert cm.engine_schedule(lay, 1) == (48, LAT_LUT)
    assert cm.engine_cycles(lay, 1) == bare + 2 * (b // p + LAT_GEARBOX)
    assert cm.engine_fill_drain(lay, 1) == LAT_LUT + 2 * (b // p + LAT_GEARBOX)
    # the same layer on a narrow port: no adapter, nothing added
    assert cm.engine_cycles(_lut(4, 6, 7), 1) == 6 * 7 + LAT_LUT
    # layer_options carries the charge (the planner's menus)
    assert set(cm.layer_options(lay).cycles.tolist()) == {cm.engine_cycles(lay, 1)}


def test_offchip_wide_conv_charged_only_off_chip():
    conv = _conv(3, 6, 8, 6)
    on, off = cm.engine_schedule(conv, 2, 3, offchip=True), cm.engine_cycles(conv, 2, 3, offchip=True)
    tails = sum(cm.adapter_schedule(s, into)[1] for s, into in cm.adapted_ports(conv, True))
    assert off == sum(on) + tails  # the off-chip engine's loops are slower than its adapters
    assert cm.engine_cycles(conv, 2, 3) == sum(cm.engine_schedule(conv, 2, 3))
    opts = cm.layer_options(conv)
    i = next(k for k in range(len(opts.pe)) if (opts.pe[k], opts.simd[k], opts.kpar[k]) == (2, 3, 1))
    assert opts.cycles_off[i] == off


def test_adapter_luts_replace_the_wide_register():
    lay = _lut(4, 6, 8)
    b, p = 32, 4
    into = cm.LUT_ADAPTER + cm.LUT_WIDE_IN_BYTE * b + cm.LUT_ADAPTER_FIFO_BYTE * p
    out = cm.LUT_ADAPTER + cm.LUT_ADAPTER_FIFO_BYTE * p
    wide_fifo = (cm.LUT_WIDE_OUT_BYTE - cm.LUT_WIDE_IN_BYTE) * (b - cm.NARROW_PORT_BYTES)
    assert cm.adapter_luts((4, 6, 8), True) == into and cm.adapter_luts((4, 6, 8), False) == out
    assert cm.port_luts(lay) == into + out + wide_fifo
    assert cm.port_luts(_lut(16, 6, 8)) == cm.wide_port_luts(_lut(16, 6, 8)) == 0
    # option_resources charges it: the wide layer costs the adapters' LUTs more than the same
    # layer on a narrow port of as many bytes per beat would
    spec = load_board_type("u250")
    info = cm.layer_infos(_graph_of(lay))[0]
    lut = int(cm.option_resources(info, spec, cm.ONCHIP)[0, 3])
    assert lut == cm.LUT_LAYER + 30 * 1 + 32 * port_lanes(4) + into + out + wide_fifo
    # a wide conv on chip keeps the engine's own wide-port charge; off chip it gets the adapters
    conv = _conv(3, 6, 8, 6)
    assert cm.port_luts(conv) == cm.wide_port_luts(conv)
    assert cm.port_luts(conv, offchip=True) == (
        cm.adapter_luts((3, 6, 8), True) + cm.adapter_luts((6, 6, 8), False)
        + (cm.LUT_WIDE_OUT_BYTE - cm.LUT_WIDE_IN_BYTE) * (48 - cm.NARROW_PORT_BYTES))


def _graph_of(layer):
    from asymap.frontend.ir import Graph

    return Graph(name="g", input="x", input_shape=layer.in_shapes[0], layers=[layer], output=layer.output)
