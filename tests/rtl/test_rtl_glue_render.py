"""The link bridge renderer: sizing from latency and bandwidth, determinism, and one-line errors."""

from __future__ import annotations

import pytest

from asymap.codegen.rtl_glue import plan_link_glue, render_link_glue, transport_width_bits
from asymap.errors import UserError

BASE = dict(kernel_width_bits=512, link_width_bits=512, kernel_clock_mhz=300.0, link_gbps=100.0,
            link_latency_ns=500.0)


def test_render_is_deterministic_and_sanitized():
    a = render_link_glue("big0", "small-1", **BASE)
    b = render_link_glue("big0", "small-1", **BASE)
    assert a == b
    assert "module link_big0_small_1_tx (" in a and "module link_big0_small_1_rx (" in a
    assert "asymap_bridge_tx #(" in a and "asymap_bridge_rx #(" in a
    assert "s_axis_link_tdata" in a and "m_axis_link_tdata" in a          # the HLS link_out / link_in
    assert "m_axis_tx_tdata" in a and "s_axis_rx_tdata" in a              # the transport core
    assert "s_axis_credit_tdata" in a and "m_axis_credit_tdata" in a
    assert "`timescale 1ns/1ps" in a


def test_buffer_covers_the_round_trip():
    near = plan_link_glue("a", "b", **{**BASE, "link_latency_ns": 0.0})
    far = plan_link_glue("a", "b", **{**BASE, "link_latency_ns": 5000.0})
    assert far.rx_buffer_beats > near.rx_buffer_beats >= 16
    for g in (near, far):
        assert g.rx_buffer_beats & (g.rx_buffer_beats - 1) == 0
        # one entry per link cycle for a whole round trip: credits never stop a busy link
        assert g.rx_buffer_beats * g.rx_pack >= g.rtt_cycles
        assert g.idle_cycles > 2 * g.rtt_cycles
    assert near.link_clock_mhz == pytest.approx(100e3 / 512)
    wide = plan_link_glue("a", "b", **{**BASE, "kernel_width_bits": 128, "link_width_bits": 64, "link_gbps": 25})
    assert wide.rx_pack == 2


def test_transport_widths():
    assert [transport_width_bits(g) for g in (10, 25, 40, 100)] == [64, 64, 256, 512]


@pytest.mark.parametrize("change,fragment", [
    ({"kernel_width_bits": 32}, "kernel_width_bits=32 is not a multiple of 64"),
    ({"link_width_bits": 100}, "link_width_bits=100 is not a positive multiple of 64"),
    ({"link_width_bits": 192}, "must be powers of two"),
    ({"fifo_depth": 24}, "fifo_depth=24 must be a power of two"),
    ({"rx_buffer_beats": 24}, "rx_buffer_beats=24 must be a power of two"),
    ({"link_gbps": 0}, "link_gbps=0 must be > 0"),
    ({"link_latency_ns": -1}, "link_latency_ns=-1 must be >= 0"),
    ({"link_latency_ns": 1e6}, "exceeds the 16-bit credit counters"),
])
def test_impossible_parameters_one_line(change, fragment):
    with pytest.raises(UserError) as e:
        render_link_glue("b0", "b1", **{**BASE, **change})
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("link b0->b1: ")
    assert fragment in msg, msg
