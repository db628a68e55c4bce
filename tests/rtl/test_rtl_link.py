"""The link's RTL: the rendered bridge (cocotb + Icarus), frames in -> frames out.

Each test renders ``link_b0_b1.v`` with asymap.codegen.rtl_glue, wraps its tx and rx halves in a
testbench top and runs tb_bridge.py: the frames the sending HLS link kernel makes
(linkproto.encode_image: interleaved tensors, several images) cross tx -> link model -> rx with
three unrelated clocks (tx kernel 300 MHz, link 322.265625 MHz, rx kernel 280 MHz). The bridge is
pure transport, so the check is exact: the receiving kernel gets every beat that crossed the wire,
unchanged. Where the protocol lives (the HLS receiver), the received beats are then run through
the C-simulated ``link_rx_image`` (tests/hls/link_harness.cpp) and compared with the reference
model: frames in -> RTL -> HLS kernel -> tensors out, including a lossy link.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from rtl_harness import HAVE_ICARUS, loopback_wrapper, run_cocotb
from asymap import linkproto
from asymap.codegen import framefile
from asymap.codegen.hlsinc import gxx_include_flags
from asymap.codegen.rtl_glue import plan_link_glue, render_glue, rtl_sources

pytestmark = [pytest.mark.cocotb,
              pytest.mark.skipif(not HAVE_ICARUS and not os.environ.get("CI"), reason="Icarus Verilog (iverilog) not installed")]

HLS_HARNESS = Path(__file__).resolve().parents[1] / "hls" / "link_harness.cpp"
LINK_MHZ = 322.265625
PERIODS = {"k_tx": 3334, "l": 3104, "k_rx": 3572}   # ps: ~300, ~322.27, ~280 MHz
SHAPES = [(8, 5, 3), (4, 3, 3), (3, 7, 7)]          # the HLS harness's three tensors (8, 4, 1 lanes)


def run_link(tmp_path, kw, lw, images, *, shapes=SHAPES, stall=0.3, link_stall=0.1, max_beats=4,
             latency_ns=60.0, periods=PERIODS, seed=1, glue_opts=None, line_every=1, **extra):
    glue = plan_link_glue("b0", "b1", kernel_width_bits=kw, link_width_bits=lw, kernel_clock_mhz=300,
                          link_gbps=lw * LINK_MHZ / 1000 / line_every, link_latency_ns=latency_ns,
                          link_clock_mhz=LINK_MHZ, **(glue_opts or {}))
    (tmp_path / "link_b0_b1.v").write_text(render_glue(glue))
    (tmp_path / "tb_loopback.v").write_text(loopback_wrapper(glue))
    cfg = {"shapes": [list(s) for s in shapes], "kw": kw, "lw": lw, "images": images, "stall": stall,
           "link_stall": link_stall, "seed": seed, "max_beats": max_beats,
           "latency_cycles": round(latency_ns * LINK_MHZ / 1000), "periods_ps": periods,
           "timeout_cycles": 400_000, "line_every": line_every if line_every > 1 else 0, **extra}
    run_cocotb(tmp_path / "sim", rtl_sources() + [tmp_path / "link_b0_b1.v", tmp_path / "tb_loopback.v"],
               "tb_loopback", "tb_bridge", config=cfg)
    return glue, json.loads((tmp_path / "sim" / "stats.json").read_text())


@pytest.fixture(scope="module")
def hls_rx(tmp_path_factory) -> Path:
    exe = tmp_path_factory.mktemp("hls") / "link_harness"
    subprocess.run(["g++", "-std=c++14", "-O2", "-Wno-unknown-pragmas", *gxx_include_flags(), str(HLS_HARNESS),
                    "-o", str(exe)], check=True, capture_output=True)
    return exe


def _hls_receive(exe: Path, d: Path, frames: Path, kw: int, max_beats: int, images: int):
    sched = linkproto.link_schedule(SHAPES, kw, max_beats)
    (d / "sched.txt").write_text("".join(f"{k} {n}\n" for k, n in sched))
    outs = [d / f"o{k}.bin" for k in range(3)]
    p = subprocess.run([str(exe), "rx", str(kw), str(d / "sched.txt"), str(max_beats), str(images),
                        *[str(c * h * w) for c, h, w in SHAPES], str(frames), *map(str, outs)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    line = next(ln for ln in p.stdout.splitlines() if ln.startswith("RX_STATUS"))
    status = {k: int(v) for k, v in (kv.split("=") for kv in line.split()[1:])}
    verdicts = next(ln for ln in p.stdout.splitlines() if ln.startswith("BAD="))[4:]
    return status, [int(c) for c in verdicts], [o.read_bytes() for o in outs]


# Width pairs (HLS kernel, transport): equal, kernel narrower than the link, kernel wider.
@pytest.mark.parametrize("kw,lw,images", [(64, 64, 40), (64, 512, 12), (512, 64, 6), (128, 64, 20)])
def test_bridge_loopback_random_stalls_then_hls_receiver(tmp_path, hls_rx, kw, lw, images):
    """Every beat arrives unchanged under random stalls on both kernel ends and the link; the HLS
    receiver (C-sim) then takes the tensors out of the received frames with no error."""
    glue, stats = run_link(tmp_path, kw, lw, images, max_beats=4 if kw < 512 else 1)
    assert stats["beats_out"] == stats["beats_in"]
    status, verdicts, outs = _hls_receive(hls_rx, tmp_path, tmp_path / "sim" / "received.frames", kw,
                                          4 if kw < 512 else 1, images)
    assert verdicts == [0] * images
    assert status["frames_ok"] == images * len(linkproto.link_schedule(SHAPES, kw, 4 if kw < 512 else 1))


def test_lossy_link_bridge_keeps_going_and_hls_receiver_recovers(tmp_path, hls_rx):
    """A transport that drops every 29th frame (a MAC discarding bad-FCS packets), a small receiving
    buffer: the bridge's idle resync returns the lost frames' credits so nothing deadlocks, and
    the HLS receiver counts the lost frames, zero-fills their slots and marks exactly those images
    bad (counters equal to linkproto.CutThroughRx on the same beats)."""
    glue, stats = run_link(tmp_path, 64, 64, 12, stall=0.1, link_stall=0.05, lose_every=29,
                           glue_opts={"rx_buffer_beats": 16})
    assert stats["dropped_frames"] >= 5 and glue.rx_buffer_beats == 16
    frames = tmp_path / "sim" / "received.frames"
    beats, last = framefile.split_beats(frames.read_bytes(), 64)
    rx = linkproto.CutThroughRx(linkproto.link_schedule(SHAPES, 64, 4), 4, 64, 4)
    verdicts, pos = [], 0
    try:
        while True:
            _, bad, pos = rx.receive_image(beats, last, pos)
            verdicts.append(int(bad))
    except EOFError:
        pass
    status, got_verdicts, _ = _hls_receive(hls_rx, tmp_path, frames, 64, 4, len(verdicts))
    assert got_verdicts == verdicts and 1 in verdicts and 0 in verdicts
    assert status == rx.status()
    assert status["frames_lost"] >= 5


def test_bridge_credits_stop_overflow_with_slow_consumer(tmp_path):
    """A slow receiving kernel (ready 10 % of cycles), a long link and the smallest buffer: the
    transmitter waits for credits, the receiving FIFO never overflows, all beats arrive."""
    glue, stats = run_link(tmp_path, 64, 64, 6, stall=0.0, sink_stall=0.9, link_stall=0.0,
                           latency_ns=300.0, glue_opts={"rx_buffer_beats": 16}, expect_credit_stalls=True)
    assert glue.rx_buffer_beats == 16 and stats["credit_stalls"] > 0


def test_bridge_throughput_one_beat_per_cycle(tmp_path):
    """No stalls, kernel side faster than the link (128 bits at 300 MHz into 64 bits at 322 MHz):
    the link carries one beat per link cycle once running (<= 1.05 cycles per beat)."""
    periods = {"k_tx": 3334, "l": 3104, "k_rx": 3334}
    glue, stats = run_link(tmp_path, 128, 64, 10, stall=0.0, link_stall=0.0, latency_ns=200.0,
                           periods=periods, skip_beats=20)
    assert stats["link_beats"] > 400
    assert stats["cycles_per_beat"] <= 1.05, stats


@pytest.mark.parametrize("half", [False, True])
def test_credit_buffer_sized_at_the_line_rate_keeps_the_line_busy(tmp_path, half):
    """A line carrying a quarter of the core's user side (one beat in 4 link cycles, as a 100G
    CMAC's 165 Gb/s interface or an Aurora core run above the link's rate) and a long link (a
    1,200-cycle round trip): the credit buffer sized from the bandwidth-delay product at the line
    rate (300 beats in flight: 512 entries, where one beat per link cycle would ask for 2,048) keeps
    the line busy (<= 4.2 cycles per beat, no credit stall); half of it (256 < 300 beats in flight)
    cannot, so the sizing is what carries the rate. (The link model also stores each frame before
    delivering it, which lengthens the loop by a frame: the 512 entries cover that too.)"""
    lat = 1812.0  # ns: 2 x 1812 ns x 322.27 MHz + 32 = 1,200 link cycles
    ref = plan_link_glue("b0", "b1", kernel_width_bits=64, link_width_bits=64, kernel_clock_mhz=300,
                         link_gbps=64 * LINK_MHZ / 1000 / 4, link_latency_ns=lat, link_clock_mhz=LINK_MHZ)
    assert ref.rtt_cycles == 1200 and ref.rtt_beats == 300 and ref.rx_buffer_beats == 512
    periods = {"k_tx": 3334, "l": 3104, "k_rx": 3334}
    glue, stats = run_link(tmp_path, 64, 64, 1, shapes=[(64, 16, 16)], stall=0.0, link_stall=0.0,
                           max_beats=64, latency_ns=lat, periods=periods, skip_beats=200, line_every=4,
                           glue_opts={"rx_buffer_beats": 256} if half else None)
    assert stats["beats_out"] == stats["beats_in"] and stats["link_beats"] > 2000
    if half:
        assert glue.rx_buffer_beats == 256 and stats["cycles_per_beat"] > 4.2, stats
        assert stats["credit_stalls"] > 0
    else:
        assert glue.rx_buffer_beats == 512 and stats["cycles_per_beat"] <= 4.2, stats
        assert stats["credit_stalls"] == 0
