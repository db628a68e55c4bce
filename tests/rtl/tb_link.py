"""cocotb testbench: rendered link glue, tx -> link model -> rx, three unrelated clocks.

Configuration comes from the ASYMAP_TB environment variable (JSON, written by test_rtl_link.py).
The link model is this module's coroutine on the link clock: it takes the tx beats (with random
TREADY stalls, as an Aurora/MAC core stalls for clock compensation), injects faults frame by frame,
delays them by a fixed latency and plays them into rx (which cannot be back-pressured); it also
carries rx's credit word back to tx with the same latency. Scoreboards: linkproto.decode_stream
(the Python reference receiver) over the exact beats rx saw, and the numpy tensors sent.
"""

from __future__ import annotations

import json
import os
import random
import zlib
from collections import deque

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

from asymap import linkproto

COUNTERS = ("frames_ok", "crc_errors", "seq_errors", "length_errors", "magic_errors", "dest_errors")


def _pause(rng: random.Random, p: float):
    while True:
        yield rng.random() < p


def flip_class(bit: int, lw: int) -> str:
    """Which rx counter a single bit flip at ``bit`` (0 = header bit 0) of header+payload must hit,
    given the deframer's check order: magic, then length, then CRC."""
    if bit < 8:
        return "magic_errors"
    if 48 <= bit < 64:
        return "length_errors"
    return "crc_errors"


def reference_frames(beats: list[bytes], last: list[bool], *, dst: int, max_beats: int, seq0: int = 0):
    """linkproto.decode_stream(accept_after_gap=True) frame by frame: the counters, plus every
    accepted frame as (tensor id, payload beats, follows-a-loss flag, payload bytes)."""
    st = {c: 0 for c in COUNTERS}
    frames, expect, gap_pending, i, n = [], seq0, False, 0, len(beats)
    while i < n:
        j = i
        while j < n and not last[j]:
            j += 1
        frame, i = beats[i:j + 1], j + 1
        h = linkproto.Header.unpack(int.from_bytes(frame[0][:8], "little"))
        if h.magic != linkproto.MAGIC:
            st["magic_errors"] += 1
            gap_pending = True
            continue
        if len(frame) != h.length + 2 or j >= n or not 1 <= h.length <= max_beats:
            st["length_errors"] += 1
            gap_pending = True
            continue
        if zlib.crc32(b"".join(frame[:-1])) != int.from_bytes(frame[-1][:4], "little"):
            st["crc_errors"] += 1
            gap_pending = True
            continue
        if h.dst != dst:
            st["dest_errors"] += 1
            continue
        gap = gap_pending or h.seq != expect
        if h.seq != expect:
            st["seq_errors"] += 1
            ahead = (h.seq - expect) % linkproto.SEQ_MOD < linkproto.SEQ_MOD // 2
            expect = (h.seq + 1) % linkproto.SEQ_MOD
            if not ahead:
                continue
        else:
            expect = (expect + 1) % linkproto.SEQ_MOD
        st["frames_ok"] += 1
        gap_pending = False
        frames.append((h.tensor_id, h.length, gap, b"".join(frame[1:-1])))
    return st, frames


def track_tensors(frames, tensor_bytes: list[int], lb: int, max_beats: int):
    """What asymap_rx_tensor_track delivers from the accepted frames: per tensor id the list of
    tensors (an interrupted tensor completed with zeros), plus (tensors_filled, frames_discarded)."""
    out = {t: [] for t in range(len(tensor_bytes))}
    synced, remaining, cur, buf, filled, discarded = True, 0, 0, bytearray(), 0, 0
    for tid, length, gap, payload in frames:
        trusted = synced and not gap
        if remaining and not (trusted and tid == cur):
            buf += bytes(remaining * lb)
            out[cur].append(bytes(buf[:tensor_bytes[cur]]))
            remaining, synced, trusted = 0, False, False
            filled += 1
        nbeats = -(-tensor_bytes[tid] // lb)
        if trusted or nbeats < max_beats:
            synced = True
            if remaining == 0:
                remaining, buf, cur = nbeats, bytearray(), tid
            buf += payload
            remaining -= length
            if remaining == 0:
                out[cur].append(bytes(buf[:tensor_bytes[cur]]))
        else:
            synced = False
            discarded += 1
            if length < max_beats:
                synced, remaining = True, 0
    return out, filled, discarded


class LinkModel:
    def __init__(self, dut, cfg, rng):
        self.dut, self.cfg, self.rng = dut, cfg, rng
        self.lw = cfg["lw"]
        self.B = self.lw // 8
        self.latency = cfg["latency_cycles"]
        self.pending: deque = deque()          # (due cycle, data, last) towards rx
        self.credits: deque = deque()          # (due cycle, value) towards tx
        self.delivered: list[tuple[int, bool]] = []
        self.frame: list[int] = []
        self.frames_seen = 0
        self.faults = 0
        self.flip_expect = {c: 0 for c in COUNTERS}
        self.tx_cycles: list[int] = []         # link cycle of every tx beat (throughput)
        self.cycle = 0
        self.credit_stalls = 0

    def apply_fault(self, beats: list[int]) -> list[int] | list[list[int]]:
        """Return the list of frames (each a list of beats) that go on the wire for this frame."""
        mode, f = self.cfg["faults"], self.frames_seen
        if mode == "none":
            return [beats]
        if mode in ("dup", "lose"):              # every 10th frame twice / not at all
            if f % 10 != 5:
                return [beats]
            self.faults += 1
            return [beats, list(beats)] if mode == "dup" else []
        if mode == "flip":
            if f % 2 == 0:                      # every other frame is clean: recovery
                return [beats]
            nbits = (len(beats) - 1) * self.lw  # header + payload beats
            bit = (self.faults * 37) % nbits
            self.faults += 1
            self.flip_expect[flip_class(bit, self.lw)] += 1
            beats = list(beats)
            beats[bit // self.lw] ^= 1 << (bit % self.lw)
            return [beats]
        # mixed faults
        r = self.rng.random()
        if r < 0.5:
            return [beats]
        self.faults += 1
        beats = list(beats)
        if r < 0.65:                            # bit flip anywhere in header/payload
            bit = self.rng.randrange((len(beats) - 1) * self.lw)
            beats[bit // self.lw] ^= 1 << (bit % self.lw)
            return [beats]
        if r < 0.8:                             # a beat lost (header, payload or trailer)
            del beats[self.rng.randrange(len(beats))]
            return [beats]
        if r < 0.9:                             # the frame arrives twice
            return [beats, list(beats)]
        # misrouted: a well-formed frame for another board (valid CRC, wrong destination)
        hdr = beats[0] & ~(0xFF << 16) | ((self.cfg["dst_id"] + 1) & 0xFF) << 16
        data = b"".join(b.to_bytes(self.B, "little") for b in [hdr] + beats[1:-1])
        return [[hdr] + beats[1:-1] + [zlib.crc32(data)]]

    async def run(self):
        dut, rng = self.dut, self.rng
        p_stall = self.cfg["link_stall"]
        ready = 1
        dut.tx_link_tready.value = ready
        dut.rx_link_tvalid.value = 0
        dut.rx_link_tdata.value = 0
        dut.rx_link_tlast.value = 0
        dut.tx_credit_tvalid.value = 0
        dut.tx_credit_tdata.value = 0
        while True:
            await RisingEdge(dut.l_clk)
            self.cycle += 1
            if int(dut.rst.value):
                continue
            self.credit_stalls += int(dut.credit_stall.value)
            # tx side: the beat handshaken at this edge
            if ready and int(dut.tx_link_tvalid.value):
                self.tx_cycles.append(self.cycle)
                self.frame.append(int(dut.tx_link_tdata.value))
                if int(dut.tx_link_tlast.value):
                    for fr in self.apply_fault(self.frame):
                        for k, b in enumerate(fr):
                            self.pending.append((self.cycle + self.latency, b, k == len(fr) - 1))
                    self.frames_seen += 1
                    self.frame = []
            ready = 0 if (p_stall and rng.random() < p_stall) else 1
            dut.tx_link_tready.value = ready
            # rx side: at most one beat per cycle, no back-pressure
            if self.pending and self.pending[0][0] <= self.cycle:
                _, b, last = self.pending.popleft()
                dut.rx_link_tdata.value = b
                dut.rx_link_tlast.value = int(last)
                dut.rx_link_tvalid.value = 1
                self.delivered.append((b, last))
            else:
                dut.rx_link_tvalid.value = 0
            # reverse channel: rx's ACK word back to tx after the same latency
            if int(dut.rx_credit_tvalid.value):
                self.credits.append((self.cycle + self.latency, int(dut.rx_credit_tdata.value)))
            if self.credits and self.credits[0][0] <= self.cycle:
                dut.tx_credit_tdata.value = self.credits.popleft()[1]
                dut.tx_credit_tvalid.value = 1
            else:
                dut.tx_credit_tvalid.value = 0


@cocotb.test()
async def link_loopback(dut):
    cfg = json.loads(os.environ["ASYMAP_TB"])
    rng = random.Random(cfg["seed"])
    nprng = np.random.default_rng(cfg["seed"])
    n, lw, kw = len(cfg["shapes"]), cfg["lw"], cfg["kw"]
    periods = cfg["periods_ps"]
    Clock(dut.k_tx_clk, periods["k_tx"], unit="ps").start()
    Clock(dut.k_rx_clk, periods["k_rx"], unit="ps").start()
    Clock(dut.l_clk, periods["l"], unit="ps").start()

    dut.rst.value = 1
    srcs, sinks = [], []
    for i in range(n):
        src = AxiStreamSource(AxiStreamBus.from_prefix(dut, f"s_t{i}"), dut.k_tx_clk, dut.rst)
        snk = AxiStreamSink(AxiStreamBus.from_prefix(dut, f"m_t{i}"), dut.k_rx_clk, dut.rst)
        if cfg["stall"]:
            src.set_pause_generator(_pause(random.Random(rng.random()), cfg["stall"]))
        if cfg.get("sink_stall", cfg["stall"]):
            snk.set_pause_generator(_pause(random.Random(rng.random()), cfg.get("sink_stall", cfg["stall"])))
        srcs.append(src)
        sinks.append(snk)
    model = LinkModel(dut, cfg, rng)
    cocotb.start_soon(model.run())
    await ClockCycles(dut.k_tx_clk, 8)
    await ClockCycles(dut.l_clk, 8)
    dut.rst.value = 0

    # Random int8 activation tensors (C, H, W), sent in the HWC byte order of the frame format.
    images = cfg["images"]
    sent = [[] for _ in range(n)]
    for _ in range(images):
        for i, shape in enumerate(cfg["shapes"]):
            t = nprng.integers(-128, 128, size=shape, dtype=np.int8)
            payload = linkproto.tensor_bytes_hwc(t)
            if cfg.get("no_magic_in_payload"):
                # A lost header must look like one: no payload beat may start with the magic byte.
                b = bytearray(payload)
                for k in range(0, len(b), lw // 8):
                    if b[k] == linkproto.MAGIC:
                        b[k] = 0
                payload = bytes(b)
            sent[i].append(payload)
            srcs[i].send_nowait(AxiStreamFrame(payload))
    kernel_beats = sum(len(p) // (kw // 8) for s in sent for p in s)
    frames_total = cfg["frames_per_image"] * images

    # Run until tx has framed everything and the link has delivered it (nothing may hang).
    for _ in range(cfg["timeout_cycles"]):
        await RisingEdge(dut.l_clk)
        if int(dut.frames_sent.value) >= frames_total and not model.pending and not model.frame:
            break
    else:
        raise AssertionError(f"hang: tx sent {int(dut.frames_sent.value)} of {frames_total} frames")
    assert int(dut.frames_sent.value) == frames_total

    beats = [b.to_bytes(lw // 8, "little") for b, _ in model.delivered]
    last = [l for _, l in model.delivered]
    seq0 = cfg.get("seq0", 0)
    ref = linkproto.decode_stream(beats, last, dst=cfg["dst_id"], width_bits=lw, seq0=seq0,
                                  accept_after_gap=True, max_payload_beats=cfg["max_beats"])

    # Expected tensors per kernel output, from the frames the reference accepts.
    ref_st, ref_frames = reference_frames(beats, last, dst=cfg["dst_id"], max_beats=cfg["max_beats"],
                                           seq0=seq0)
    assert ref_st == {c: getattr(ref, c) for c in COUNTERS}, (ref_st, ref)   # the model is the reference
    tracked, want_filled, want_discarded = track_tensors(
        ref_frames, [len(s[0]) for s in sent], lw // 8, cfg["max_beats"])
    want = sent if cfg["faults"] in ("none", "dup") else [tracked[i] for i in range(n)]
    for _ in range(cfg["timeout_cycles"]):
        await RisingEdge(dut.k_rx_clk)
        if all(sinks[i].count() >= len(want[i]) for i in range(n)):
            break
    await ClockCycles(dut.k_rx_clk, 200)         # nothing more may arrive
    await ClockCycles(dut.l_clk, 10)

    got_counters = {c: int(getattr(dut, c).value) for c in COUNTERS}
    ref_counters = {c: getattr(ref, c) for c in COUNTERS}
    dut._log.info("frames=%d kernel_beats=%d link_beats=%d faults=%d counters=%s discarded=%d "
                  "filled=%d credit_stall_cycles=%d", frames_total, kernel_beats, len(model.tx_cycles),
                  model.faults, got_counters, int(dut.frames_discarded.value),
                  int(dut.tensors_filled.value), model.credit_stalls)
    assert got_counters == ref_counters, (got_counters, ref_counters)
    assert int(dut.overflow_errors.value) == 0
    assert int(dut.tensors_filled.value) == want_filled, (int(dut.tensors_filled.value), want_filled)
    assert int(dut.frames_discarded.value) == want_discarded, (int(dut.frames_discarded.value), want_discarded)
    if cfg["faults"] == "none":
        assert got_counters == {**{c: 0 for c in COUNTERS}, "frames_ok": frames_total}
    zero = {c: 0 for c in COUNTERS}
    if cfg["faults"] == "dup":        # every duplicate caught by the sequence check, nothing lost
        assert got_counters == {**zero, "frames_ok": frames_total, "seq_errors": model.faults}
    if cfg["faults"] == "lose":       # every lost frame is one sequence gap; the next one gets in
        assert got_counters == {**zero, "frames_ok": frames_total - model.faults,
                                "seq_errors": model.faults}
    if cfg.get("expect_credit_stalls"):
        assert model.credit_stalls > 0, "the transmitter never had to wait for a credit"
    if cfg.get("min_faults"):
        assert model.faults >= cfg["min_faults"], model.faults
    if cfg["faults"] == "flip":
        # Every flipped frame is caught, in the counter the check order predicts; the clean frame
        # after it gets through (with a sequence error for the frame lost before it).
        nbad = model.faults
        assert nbad >= cfg["min_faults"], nbad
        last_bad = (frames_total - 1) % 2 == 1          # the last frame has no clean successor
        expect = {**model.flip_expect, "frames_ok": frames_total - nbad,
                  "seq_errors": nbad - int(last_bad), "dest_errors": 0}
        assert got_counters == expect, (got_counters, expect)
        assert int(dut.frames_discarded.value) == 0

    for i in range(n):
        got = []
        while not sinks[i].empty():
            fr = sinks[i].recv_nowait()
            got.append(bytes(fr.tdata))
        assert len(got) == len(want[i]), (i, len(got), len(want[i]))
        for k, (g, w) in enumerate(zip(got, want[i])):
            assert g == w, f"tensor {i} image {k}: data differs"
    assert kernel_beats >= cfg.get("min_kernel_beats", 0), kernel_beats
    with open(os.path.join(os.getcwd(), "stats.json"), "w") as fh:     # for bench/rtl_sim.py
        json.dump({"kernel_beats": kernel_beats, "link_beats": len(model.tx_cycles),
                   "frames": frames_total, "link_cycles": model.cycle}, fh)

    if cfg.get("measure_throughput"):
        cyc = model.tx_cycles
        skip = cfg["skip_beats"]                # pipeline fill: the first frame(s)
        cpb = (cyc[-1] - cyc[skip]) / (len(cyc) - 1 - skip)
        dut._log.info("link cycles per beat: %.4f over %d beats", cpb, len(cyc) - skip)
        with open(os.path.join(os.getcwd(), "throughput.json"), "w") as fh:
            json.dump({"cycles_per_beat": cpb, "beats": len(cyc) - skip}, fh)
        assert cpb <= 1.05, cpb
