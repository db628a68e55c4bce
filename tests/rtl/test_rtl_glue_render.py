"""The link glue renderer: sizing from latency and bandwidth, determinism, and one-line errors."""

from __future__ import annotations

import pytest

from asymap.codegen.rtl_glue import plan_link_glue, render_link_glue
from asymap.errors import UserError

TENSORS = [{"id": 0, "name": "layer3/out;drop table", "bytes": 56 * 56 * 64},
           {"id": 1, "name": "skip", "bytes": 28 * 28 * 128}]
BASE = dict(kernel_width_bits=64, link_width_bits=512, kernel_clock_mhz=300.0, link_gbps=100.0,
            link_latency_ns=500.0)


def test_render_is_deterministic_and_sanitized():
    a = render_link_glue("big0", "small-1", TENSORS, **BASE)
    b = render_link_glue("big0", "small-1", TENSORS, **BASE)
    assert a == b
    assert "module link_big0_small_1_tx (" in a and "module link_big0_small_1_rx (" in a
    assert "s_axis_layer3_out_drop_table_tdata" in a and "m_axis_skip_tvalid" in a
    assert ";drop" not in a.split("`timescale")[1]          # names never reach code raw
    assert "`timescale 1ns/1ps" in a


def test_sizing_follows_latency_and_keeps_last_frames_short():
    near = plan_link_glue("a", "b", TENSORS, **{**BASE, "link_latency_ns": 0.0})
    far = plan_link_glue("a", "b", TENSORS, **{**BASE, "link_latency_ns": 5000.0})
    assert far.credits > near.credits >= 2
    for g in (near, far):
        assert g.rx_buffer_beats >= (g.credits + 2) * g.max_payload_beats
        assert g.rx_buffer_beats & (g.rx_buffer_beats - 1) == 0
        # credits cover the round trip plus two frame times at one beat per cycle
        assert g.credits * (g.max_payload_beats + 2) >= g.rtt_cycles + 2 * (g.max_payload_beats + 2)
        for i in range(len(TENSORS)):
            assert g.link_beats(i) % g.max_payload_beats != 0
    assert near.link_clock_mhz == pytest.approx(100e3 / 512)
    # 56*56*64 bytes = 3136 link beats of 64 bytes: 256 does not divide it, so it stays
    assert near.max_payload_beats == 256
    g = plan_link_glue("a", "b", [{"id": 0, "name": "t", "bytes": 64 * 512}], **BASE)
    assert g.max_payload_beats == 255        # 512 beats would end on a full 256-beat frame


@pytest.mark.parametrize("change,fragment", [
    ({"kernel_width_bits": 12}, "kernel_width_bits=12 is not a positive multiple of 8"),
    ({"link_width_bits": 100}, "link_width_bits=100 is not a positive multiple of 64"),
    ({"link_width_bits": 192}, "must be powers of two"),
    ({"fifo_depth": 24}, "fifo_depth=24 must be a power of two"),
    ({"credits": 0}, "credits=0"),
    ({"rx_buffer_beats": 64}, "rx_buffer_beats=64 is below"),
    ({"link_gbps": 0}, "link_gbps=0 must be > 0"),
    ({"link_latency_ns": -1}, "link_latency_ns=-1 must be >= 0"),
    ({"dst_id": 300}, "dst_id=300"),
    ({"tensors": []}, "no tensors"),
    ({"tensors": [{"id": 1, "name": "x", "bytes": 8}]}, "tensor ids [1] must be 0..0"),
    ({"tensors": [{"id": 0, "name": "x", "bytes": 0}]}, "bytes=0"),
    ({"tensors": [{"id": 0, "name": "x", "bytes": 12}]}, "not a whole number of 64-bit kernel beats"),
])
def test_impossible_parameters_one_line(change, fragment):
    args = {**BASE, "tensors": TENSORS, **change}
    tensors = args.pop("tensors")
    with pytest.raises(UserError) as e:
        render_link_glue("b0", "b1", tensors, **args)
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("link b0->b1: ")
    assert fragment in msg, msg
