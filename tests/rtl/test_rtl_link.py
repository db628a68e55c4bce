"""Loopback, fault injection and throughput of the rendered link glue (cocotb + Icarus).

Each test renders ``link_b0_b1.v`` with asymap.codegen.rtl_glue, wraps its tx and rx halves in a
testbench top and runs tb_link.py: random int8 tensors (numpy) cross tx -> link model -> rx with
three unrelated clocks (tx kernel 300 MHz, link 322.265625 MHz, rx kernel 280 MHz).
"""

from __future__ import annotations

import json
import os

import pytest

from rtl_harness import HAVE_ICARUS, loopback_wrapper, run_cocotb
from asymap.codegen.rtl_glue import plan_link_glue, render_glue, rtl_sources

pytestmark = [pytest.mark.cocotb,
              pytest.mark.skipif(not HAVE_ICARUS and not os.environ.get("CI"), reason="Icarus Verilog (iverilog) not installed")]

LINK_MHZ = 322.265625
PERIODS = {"k_tx": 3334, "l": 3104, "k_rx": 3572}   # ps: ~300, ~322.27, ~280 MHz


def run_link(tmp_path, shapes, kw, lw, images, *, faults="none", stall=0.3, link_stall=0.1,
             max_payload=8, latency_ns=60.0, periods=PERIODS, seed=1, glue_opts=None, **extra):
    tensors = [{"id": i, "name": f"act{i}", "bytes": c * h * w} for i, (c, h, w) in enumerate(shapes)]
    glue = plan_link_glue("b0", "b1", tensors, kernel_width_bits=kw, link_width_bits=lw,
                          kernel_clock_mhz=300, link_gbps=lw * LINK_MHZ / 1000,
                          link_latency_ns=latency_ns, link_clock_mhz=LINK_MHZ,
                          max_payload_beats=max_payload, src_id=0, dst_id=1, **(glue_opts or {}))
    (tmp_path / "link_b0_b1.v").write_text(render_glue(glue))
    (tmp_path / "tb_loopback.v").write_text(loopback_wrapper(glue, extra.get("seq0", 0)))
    frames = sum(-(-glue.link_beats(i) // glue.max_payload_beats) for i in range(len(tensors)))
    cfg = {"shapes": [list(s) for s in shapes], "kw": kw, "lw": lw, "images": images,
           "faults": faults, "stall": stall, "link_stall": link_stall, "seed": seed,
           "dst_id": 1, "max_beats": glue.max_payload_beats, "frames_per_image": frames,
           "latency_cycles": round(latency_ns * LINK_MHZ / 1000), "periods_ps": periods,
           "timeout_cycles": 400_000, **extra}
    run_cocotb(tmp_path / "sim", rtl_sources() + [tmp_path / "link_b0_b1.v", tmp_path / "tb_loopback.v"],
               "tb_loopback", "tb_link", config=cfg)
    return glue


# Width pairs (kernel, link): equal, narrow kernel into wide link, wide kernel into narrow link.
# Tensor sizes leave a partial last link beat (TKEEP) and span several frames.
# The first pair alone moves >= 10,000 kernel beats (and more link beats); the others >= 2,000
# kernel beats or, for the wide kernel, >= 4,000 link beats.
LOOPBACK = [
    pytest.param(64, 64, [(8, 5, 3), (16, 2, 3)], 371, 10_000, id="k64-l64"),
    pytest.param(8, 64, [(4, 5, 3), (1, 7, 9)], 18, 2_000, id="k8-l64"),
    pytest.param(64, 512, [(8, 9, 7), (16, 4, 4)], 22, 2_000, id="k64-l512"),
    pytest.param(512, 64, [(64, 3, 3), (64, 2, 1)], 46, 500, id="k512-l64"),   # 8 link beats each
]


@pytest.mark.parametrize("kw,lw,shapes,images,min_beats", LOOPBACK)
def test_link_loopback_random_stalls(tmp_path, kw, lw, shapes, images, min_beats):
    """Random tensors arrive bit-exact, in order, under random stalls on both kernel ends and the
    link, with no error counted (the testbench asserts every counter)."""
    run_link(tmp_path, shapes, kw, lw, images, min_kernel_beats=min_beats)


def test_link_every_single_bit_flip_is_caught(tmp_path):
    """1,000 frames with one flipped bit each (header or payload; positions sweep all 192 bits),
    interleaved with 1,000 clean frames. Each flip lands in the counter the check order predicts
    (magic byte -> magic, length field -> length, anything else -> CRC); every clean frame after a
    bad one is delivered (recovery on the next good frame, counted as one sequence gap)."""
    run_link(tmp_path, [(16, 1, 1)], 64, 64, 2000, faults="flip", stall=0.2, link_stall=0.05,
             min_faults=1000)


def test_link_lost_and_duplicated_frames(tmp_path):
    """Random beat drops (header, payload or trailer), duplicated frames, misrouted frames and bit
    flips, on a one-frame tensor and a two-frame tensor: the rx counters equal the reference
    receiver's (linkproto.decode_stream) on the beats rx saw; the kernels get exactly what the
    reference accepts, as whole tensors (an interrupted tensor is completed with zeros and counted,
    frames of a tensor whose start was lost are discarded and counted); nothing hangs."""
    run_link(tmp_path, [(16, 1, 1), (8, 5, 3)], 64, 64, 300, faults="mixed", stall=0.2,
             link_stall=0.05, seed=7, no_magic_in_payload=True)


@pytest.mark.parametrize("mode", ["dup", "lose"])
def test_link_sequence_check_catches_duplicates_and_losses(tmp_path, mode):
    """Every 10th frame duplicated (or lost entirely): seq_errors counts exactly those, duplicates
    never reach the kernel, and the frame after a lost one is delivered. Sequence numbers start
    at 0xFFC0, so credits and checks also cross the 16-bit wrap-around."""
    run_link(tmp_path, [(8, 2, 1)], 64, 64, 300, faults=mode, stall=0.2, link_stall=0.05,
             min_faults=30, seq0=0xFFC0)


def test_link_credits_stop_overflow_with_slow_consumer(tmp_path):
    """A slow receiving kernel (ready 10% of cycles), a long link and the fewest credits: the
    transmitter waits for credits (the testbench counts credit-stall cycles), the receiver's
    buffer never overflows (overflow_errors == 0) and all data arrives."""
    glue = run_link(tmp_path, [(8, 5, 3)], 64, 64, 40, stall=0.0, sink_stall=0.9, link_stall=0.0,
                    latency_ns=300.0, glue_opts={"credits": 1}, expect_credit_stalls=True)
    assert glue.credits == 1 and glue.rx_buffer_beats == 32


def test_link_throughput_one_beat_per_cycle(tmp_path):
    """No stalls, kernel side faster than the link (128 bits at 300 MHz into 64 bits at 322 MHz):
    after the first frame the link carries one beat per link cycle (<= 1.05 cycles per beat)."""
    periods = {"k_tx": 3334, "l": 3104, "k_rx": 3334}
    run_link(tmp_path, [(64, 8, 8)], 128, 64, 6, stall=0.0, link_stall=0.0, max_payload=64,
             latency_ns=200.0, periods=periods, measure_throughput=True, skip_beats=70)
    result = json.loads((tmp_path / "sim" / "throughput.json").read_text())
    assert result["beats"] > 2500
