"""The link's cost in the planner: width from line rate and kernel clock, beats from the framing,
interval = the slower of line rate and width x kernel clock (docs/cost-model.md, link cost)."""

from __future__ import annotations

import numpy as np
import pytest

from asymap import linkproto
from asymap.frontend.zoo import build_zoo_model
from asymap.frontend.onnx_import import graph_from_model
from asymap.partition.costmodel import CMAC_PACKET_OVERHEAD_BYTES, link_cmac_packets, link_seconds, link_wire_beats


@pytest.mark.parametrize("gbps, mhz, width", [(10, 300, 64), (25, 300, 128), (40, 250, 256), (100, 300, 512),
                                              (100, 250, 512), (10, 100, 128), (200, 300, 1024)])
def test_width_carries_line_rate_at_kernel_clock(gbps, mhz, width):
    assert linkproto.link_width_bits(gbps, mhz) == width
    assert width * mhz >= gbps * 1000 and (width == 64 or width // 2 * mhz < gbps * 1000)


def test_wire_beats_equal_the_schedule():
    for shapes in ([(3, 224, 224)], [(64, 56, 56), (256, 56, 56)], [(24, 7, 9), (5, 3, 3), (7, 1, 1)]):
        for w in (64, 128, 512):
            for m in (4, 256):
                sched = linkproto.link_schedule(shapes, w, m)
                assert linkproto.wire_beats(shapes, w, m) == linkproto.schedule_beats(sched)
                # every byte is carried exactly once, padding only at each tensor's end
                per = {}
                for k, n in sched:
                    per[k] = per.get(k, 0) + n
                B = w // 8
                assert [per[k] for k in range(len(shapes))] == [-(-(c * h * ww) // B) for c, h, ww in shapes]


def test_link_seconds_is_the_slower_of_line_and_kernel():
    beats = np.array([1000, 5000])
    # 100G at 512 bits and 300 MHz: the line is slower (512 * 300e6 = 153.6 Gb/s > 100 Gb/s).
    t = link_seconds(beats, 512, 100, 0, 300e6)
    assert np.allclose(t, beats * 512 / 100e9)
    # The same link at 64 bits: the kernel is slower (19.2 Gb/s).
    t = link_seconds(beats, 64, 100, 500, 300e6)
    assert np.allclose(t, beats / 300e6 + 500e-9)


def test_planner_charges_framing_on_every_cut():
    g = graph_from_model(build_zoo_model("tiny", input_size=32, width_mult=1.0, seed=0), where="tiny")
    w = 128
    wire = link_wire_beats(g, w)
    for p in range(1, len(g.layers)):
        payload = sum(int(np.prod(g.tensor_shapes[t])) for t in g.live_across(p - 1))
        # more beats than the payload alone, at most a few percent more for these row-sized frames
        assert payload / (w // 8) < wire[p] < payload / (w // 8) * 1.5 + 64


@pytest.mark.parametrize("w", [512, 1024])
def test_cmac_packets_equal_the_schedule_and_are_charged_on_the_wire(w):
    """On a 100G CMAC link each frame of the schedule leaves as packets of at most 128 core beats
    of 512 bits; each packet adds the transport's 64-byte header beat and Ethernet's FCS, preamble
    and inter-packet gap (88 bytes) to the wire. Aurora links carry no such packets."""
    assert CMAC_PACKET_OVERHEAD_BYTES == 88
    g = graph_from_model(build_zoo_model("tiny", input_size=32, width_mult=1.0, seed=0), where="tiny")
    pk = link_cmac_packets(g, w)
    beats = link_wire_beats(g, w)
    L = len(g.layers)
    for p in range(L + 1):
        names = [g.input] if p == 0 else [g.output] if p == L else g.live_across(p - 1)
        sched = linkproto.link_schedule([tuple(g.tensor_shapes[t]) for t in names], w,
                                        linkproto.DEFAULT_MAX_PAYLOAD_BEATS)
        assert pk[p] == sum(-(-(n + 2) * w // (128 * 512)) for _, n in sched) >= len(sched)
    t = link_seconds(beats, w, 100, 0, 300e6, pk)
    assert np.allclose(t, (beats * w + pk * 88 * 8) / 100e9)
    assert np.allclose(link_seconds(beats, 64, 10, 0, 300e6, pk), np.maximum(beats * 64 / 10e9, beats / 300e6))
    # The ResNet-50 residual cut of docs/link-protocol.md: 56 row frames of 58 beats (one packet
    # each) and 56 of 226 (two each): 168 packets, 82.6 us at 100G.
    sched = linkproto.link_schedule([(64, 56, 56), (256, 56, 56)], 512, 256)
    n_pk = sum(-(-(n + 2) * 512 // (128 * 512)) for _, n in sched)
    assert n_pk == 168 and linkproto.schedule_beats(sched) == 15904
    assert link_seconds(np.array([15904]), 512, 100, 0, 300e6, np.array([168]))[0] == pytest.approx(82.6e-6, abs=0.05e-6)
