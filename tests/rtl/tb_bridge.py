"""cocotb testbench: a rendered link bridge, tx -> link model -> rx, three unrelated clocks.

Configuration comes from the ASYMAP_TB environment variable (JSON, written by test_rtl_link.py).
What goes in is what the sending HLS link kernel produces: the frames of ``images`` images
(linkproto.encode_image, interleaved tensors, board 3 -> board 4 as the HLS harness expects). The link model is this module's coroutine on the
link clock: it takes tx's beats (random TREADY stalls, as an Aurora/MAC core stalls for clock
compensation; with ``line_every`` N it takes a beat on one link cycle in N, a line slower than
the core's user side), drops every ``lose_every``-th frame if asked (a MAC discarding a packet with a bad
FCS), delays the rest by a fixed latency and plays them into rx (which cannot be back-pressured);
it carries rx's credit word back to tx with the same latency. Checks: rx hands the receiving
kernel exactly the beats that crossed the wire (TDATA, TLAST), nothing overflows, nothing hangs.
The received beats are written to ``received.frames`` (asymap.codegen.framefile format) so the test
can run the HLS receiver (C-sim) on them.
"""

from __future__ import annotations

import json
import os
import random
from collections import deque
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

from asymap import linkproto


def _pause(rng: random.Random, p: float):
    while True:
        yield rng.random() < p


class LinkModel:
    def __init__(self, dut, cfg, rng):
        self.dut, self.cfg, self.rng = dut, cfg, rng
        self.latency = cfg["latency_cycles"]
        self.pending: deque = deque()          # (due cycle, data, keep, last) towards rx
        self.credits: deque = deque()          # (due cycle, value) towards tx
        self.frame: list[tuple[int, int]] = []
        self.frames_seen = 0
        self.dropped = 0
        self.wire: list[tuple[int, bool]] = []  # link beats that reached rx
        self.tx_cycles: list[int] = []
        self.cycle = 0
        self.credit_stalls = 0

    async def run(self):
        dut, rng = self.dut, self.rng
        p_stall = self.cfg["link_stall"]
        lose = self.cfg.get("lose_every", 0)
        line_every = self.cfg.get("line_every", 0)
        ready = 1
        dut.tx_tready.value = ready
        dut.rx_tvalid.value = 0
        dut.rx_tdata.value = 0
        dut.rx_tkeep.value = 0
        dut.rx_tlast.value = 0
        dut.tx_credit_tvalid.value = 0
        dut.tx_credit_tdata.value = 0
        while True:
            await RisingEdge(dut.l_clk)
            self.cycle += 1
            if int(dut.rst.value):
                continue
            self.credit_stalls += int(dut.credit_stall.value)
            if ready and int(dut.tx_tvalid.value):
                self.tx_cycles.append(self.cycle)
                self.frame.append((int(dut.tx_tdata.value), int(dut.tx_tkeep.value)))
                if int(dut.tx_tlast.value):
                    self.frames_seen += 1
                    if lose and self.frames_seen % lose == 0:
                        self.dropped += 1
                    else:
                        for k, (b, kp) in enumerate(self.frame):
                            self.pending.append((self.cycle + self.latency, b, kp, k == len(self.frame) - 1))
                    self.frame = []
            ready = 0 if (p_stall and rng.random() < p_stall) else 1
            if line_every:  # a core faster than its line: TX takes one beat in line_every cycles
                ready = int(self.cycle % line_every == 0)
            dut.tx_tready.value = ready
            if self.pending and self.pending[0][0] <= self.cycle:
                _, b, kp, last = self.pending.popleft()
                dut.rx_tdata.value = b
                dut.rx_tkeep.value = kp
                dut.rx_tlast.value = int(last)
                dut.rx_tvalid.value = 1
                self.wire.append((b, last))
            else:
                dut.rx_tvalid.value = 0
            if int(dut.rx_credit_tvalid.value):
                self.credits.append((self.cycle + self.latency, int(dut.rx_credit_tdata.value)))
            if self.credits and self.credits[0][0] <= self.cycle:
                dut.tx_credit_tdata.value = self.credits.popleft()[1]
                dut.tx_credit_tvalid.value = 1
            else:
                dut.tx_credit_tvalid.value = 0


def _wire_beats(frames_kw: list[list[bytes]], kw: int, lw: int) -> list[tuple[int, bool]]:
    """What the link carries for kernel frames: width-converted beats (the bridge's converters)."""
    out = []
    for fr in frames_kw:
        data = b"".join(fr)
        n = len(data) * 8 // lw if lw <= kw else -(-len(data) * 8 // lw)
        B = lw // 8
        data += bytes(n * B - len(data))
        for i in range(n):
            out.append((int.from_bytes(data[i * B:(i + 1) * B], "little"), i == n - 1))
    return out


@cocotb.test()
async def bridge_loopback(dut):
    cfg = json.loads(os.environ["ASYMAP_TB"])
    rng = random.Random(cfg["seed"])
    kw, lw = cfg["kw"], cfg["lw"]
    periods = cfg["periods_ps"]
    Clock(dut.k_tx_clk, periods["k_tx"], unit="ps").start()
    Clock(dut.k_rx_clk, periods["k_rx"], unit="ps").start()
    Clock(dut.l_clk, periods["l"], unit="ps").start()

    dut.rst.value = 1
    src = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_link"), dut.k_tx_clk, dut.rst)
    snk = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_link"), dut.k_rx_clk, dut.rst)
    if cfg["stall"]:
        src.set_pause_generator(_pause(random.Random(rng.random()), cfg["stall"]))
    sink_stall = cfg.get("sink_stall", cfg["stall"])
    if sink_stall:
        snk.set_pause_generator(_pause(random.Random(rng.random()), sink_stall))
    model = LinkModel(dut, cfg, rng)
    cocotb.start_soon(model.run())
    await ClockCycles(dut.k_tx_clk, 8)
    await ClockCycles(dut.l_clk, 8)
    dut.rst.value = 0
    await ClockCycles(dut.l_clk, 4)

    # The sending HLS kernel's frames: images of random int8 tensors, interleaved by the schedule.
    shapes = [tuple(s) for s in cfg["shapes"]]
    sched = linkproto.link_schedule(shapes, kw, cfg["max_beats"])
    nprng = np.random.default_rng(cfg["seed"])
    beats, last, seq = [], [], 0
    for _ in range(cfg["images"]):
        payloads = [linkproto.tensor_bytes_hwc(nprng.integers(-128, 128, size=s).astype(np.int8)) for s in shapes]
        b, lst, seq = linkproto.encode_image(payloads, sched, src=3, dst=4, seq0=seq, width_bits=kw)
        beats += b
        last += lst
    frames, cur = [], []
    for b, x in zip(beats, last):
        cur.append(b)
        if x:
            frames.append(cur)
            cur = []
    for fr in frames:
        src.send_nowait(AxiStreamFrame(b"".join(fr)))

    total = len(beats)
    expect_beats = sum(len(fr) for k, fr in enumerate(frames)
                       if not (cfg.get("lose_every") and (k + 1) % cfg["lose_every"] == 0))
    got: list[bytes] = []
    got_last: list[bool] = []
    timeout = cfg["timeout_cycles"]
    B = kw // 8
    for _ in range(timeout):
        await RisingEdge(dut.k_rx_clk)
        while not snk.empty():
            f = snk.recv_nowait()
            data = bytes(f.tdata)
            n = len(data) // B
            got += [data[i * B:(i + 1) * B] for i in range(n)]
            got_last += [i == n - 1 for i in range(n)]
        if len(got) >= expect_beats and not model.pending:
            break
    else:
        raise AssertionError(f"hang: rx delivered {len(got)} of {expect_beats} beats "
                             f"(tx sent {int(dut.beats_sent.value)}, credit stalls {model.credit_stalls})")
    await ClockCycles(dut.k_rx_clk, 100)          # nothing more may arrive
    assert snk.empty()
    assert int(dut.overflow_errors.value) == 0, "rx buffer overflowed: credits were not respected"
    # Exactly the beats that crossed the wire, unchanged, frame boundaries intact.
    sent = [(b, x) for k, fr in enumerate(frames)
            if not (cfg.get("lose_every") and (k + 1) % cfg["lose_every"] == 0)
            for b, x in zip(fr, [False] * (len(fr) - 1) + [True])]
    assert list(zip(got, got_last)) == sent
    kept = [fr for k, fr in enumerate(frames) if not (cfg.get("lose_every") and (k + 1) % cfg["lose_every"] == 0)]
    assert model.wire == _wire_beats(kept, kw, lw)
    if cfg.get("expect_credit_stalls"):
        assert model.credit_stalls > 0, "the transmitter never waited for credits"
    Path("received.frames").write_bytes(b"".join(b + bytes([int(x)]) for b, x in zip(got, got_last)))
    stats = {"beats_in": total, "beats_out": len(got), "link_beats": len(model.wire),
             "link_cycles": model.cycle, "dropped_frames": model.dropped, "credit_stalls": model.credit_stalls}
    if model.tx_cycles:
        skip = cfg.get("skip_beats", 0)
        span = model.tx_cycles[-1] - model.tx_cycles[skip] + 1 if len(model.tx_cycles) > skip + 1 else 0
        stats["cycles_per_beat"] = span / max(1, len(model.tx_cycles) - skip)
    Path("stats.json").write_text(json.dumps(stats))
