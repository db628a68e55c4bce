"""cocotb bench of the CMAC credit path (tb_cmac_top.v: per board asymap_xport + asymap_cmac_credit).

The two 100G MACs and the cable are modelled here on the MAC user clock: each direction takes the
TX packets (random TREADY stalls, as a MAC stalls its user side), checks what PG203 requires of
them (no TVALID gap inside a packet, no packet under 64 bytes), optionally loses credit packets
(dropped, or delivered with rx_axis_tuser = 1 as a bad-FCS packet) and foreign packets are
injected, then plays the rest, after a fixed latency and with random TVALID gaps, into the other
board's RX. The kernels' frames (random bytes, random lengths) go in on s_a (and s_b when the
traffic is full duplex, so credit packets interleave with data packets on every TX) and must come
out of m_b (m_a) unchanged, in order, with no receive-buffer overflow. Configuration: ASYMAP_TB (JSON).
"""

from __future__ import annotations

import json
import os
import random
from collections import deque
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

ETH_DATA, ETH_CREDIT = 0x88B5, 0x88B6


def _pause(rng: random.Random, p: float):
    while True:
        yield rng.random() < p


def _bursts(rng: random.Random, p: float, on: int, off: int):
    """A consumer that takes beats (with probability 1 - p) for ``on`` cycles, then stops for ``off``."""
    while True:
        for _ in range(on):
            yield rng.random() < p
        for _ in range(off):
            yield True


def etype(beat: int) -> int:
    """EtherType of a header beat: bytes 12-13, big-endian (byte k = bits 8k+7..8k)."""
    return ((beat >> 96) & 0xFF) << 8 | (beat >> 104) & 0xFF


class Cable:
    """One direction: board X's MAC TX -> latency -> board Y's MAC RX."""

    def __init__(self, dut, x: str, y: str, cfg: dict, rng: random.Random):
        self.dut, self.x, self.y, self.cfg, self.rng = dut, x, y, cfg, rng
        self.queue: deque = deque()        # (due cycle, data, keep, last, user)
        self.cycle = 0
        self.packet: list[tuple[int, int, int]] = []
        self.in_packet = False
        self.gaps = self.runts = 0
        self.data_packets = self.credit_packets = self.lost_credits = self.corrupted_credits = 0
        self.foreign_sent = 0
        self.credit_stalls = 0
        self.body_cycles: list[int] = []    # cycles at which a data packet's body beat was taken

    def _tx(self, name):
        return getattr(self.dut, f"tx_{self.x}_{name}")

    def _rx(self, name):
        return getattr(self.dut, f"rx_{self.y}_{name}")

    def _deliver(self, beats, user_last=0):
        due = self.cycle + self.cfg["latency_cycles"]
        for k, (d, kp) in enumerate(beats):
            last = k == len(beats) - 1
            self.queue.append((due, d, kp, int(last), int(last and user_last)))

    async def run(self):
        dut, rng, cfg = self.dut, self.rng, self.cfg
        ready = 1
        self._tx("tready").value = ready
        for s in ("tvalid", "tdata", "tkeep", "tlast", "tuser"):
            self._rx(s).value = 0
        drop_every, corrupt_every = cfg.get("drop_credit_every", 0), cfg.get("corrupt_credit_every", 0)
        foreign_every = cfg.get("foreign_every", 0)
        while True:
            await RisingEdge(dut.c_clk)
            self.cycle += 1
            if int(dut.rst.value):
                continue
            self.credit_stalls += int(getattr(dut, f"stall_{self.x}").value)
            valid = int(self._tx("tvalid").value)
            if self.in_packet and not valid:
                self.gaps += 1               # PG203: the TX path would underflow
            if ready and valid:
                last = int(self._tx("tlast").value)
                self.packet.append((int(self._tx("tdata").value), int(self._tx("tkeep").value)))
                if len(self.packet) > 1:
                    self.body_cycles.append(self.cycle)
                self.in_packet = not last
                if last:
                    self._packet_done(drop_every, corrupt_every, foreign_every)
            ready = 0 if rng.random() < cfg["mac_stall"] else 1
            self._tx("tready").value = ready
            if self.queue and self.queue[0][0] <= self.cycle and rng.random() >= cfg["rx_gap"]:
                _, d, kp, last, user = self.queue.popleft()
                self._rx("tdata").value = d
                self._rx("tkeep").value = kp
                self._rx("tlast").value = last
                self._rx("tuser").value = user
                self._rx("tvalid").value = 1
            else:
                self._rx("tvalid").value = 0

    def _packet_done(self, drop_every, corrupt_every, foreign_every):
        beats, self.packet = self.packet, []
        nbytes = sum(bin(kp).count("1") for _, kp in beats)
        if nbytes < 64:
            self.runts += 1
        kind = etype(beats[0][0])
        assert kind in (ETH_DATA, ETH_CREDIT), f"{self.x}: packet of EtherType {kind:#06x}"
        if kind == ETH_CREDIT:
            assert len(beats) == 1
            self.credit_packets += 1
            if drop_every and self.credit_packets % drop_every == 0:
                self.lost_credits += 1
                return
            if corrupt_every and self.credit_packets % corrupt_every == 0:
                self.corrupted_credits += 1
                self._deliver(beats, user_last=1)
                return
        else:
            self.data_packets += 1
        self._deliver(beats)
        if foreign_every and (self.data_packets + self.credit_packets) % foreign_every == 0:
            # An IPv4 packet from something else on the cable: two beats, dropped by the receiver.
            hdr = (0x00 << 104) | (0x08 << 96) | 0xFFFFFFFFFFFF
            self._deliver([(hdr, (1 << 64) - 1), (0x1234, (1 << 64) - 1)])
            self.foreign_sent += 1


def _frames(rng: random.Random, n: int, kw: int, max_beats: int, fixed: bool = False) -> list[bytes]:
    B = kw // 8
    return [rng.randbytes(B * (max_beats if fixed else rng.randint(1, max_beats))) for _ in range(n)]


@cocotb.test()
async def cmac_credit_link(dut):
    cfg = json.loads(os.environ["ASYMAP_TB"])
    rng = random.Random(cfg["seed"])
    kw = cfg["kw"]
    Clock(dut.ka_clk, cfg.get("ka_ps", 3334), unit="ps").start()
    Clock(dut.kb_clk, 3572, unit="ps").start()
    Clock(dut.c_clk, 3104, unit="ps").start()
    dut.rst.value = 1
    dirs = [("a", "b")] + ([("b", "a")] if cfg["duplex"] else [])
    srcs, snks, want = {}, {}, {}
    for x, y in (("a", "b"), ("b", "a")):
        srcs[x] = AxiStreamSource(AxiStreamBus.from_prefix(dut, f"s_{x}"), getattr(dut, f"k{x}_clk"), dut.rst)
        snks[y] = AxiStreamSink(AxiStreamBus.from_prefix(dut, f"m_{y}"), getattr(dut, f"k{y}_clk"), dut.rst)
        r = random.Random(rng.random())
        snks[y].set_pause_generator(_bursts(r, cfg["sink_stall"], *cfg["sink_bursts"]) if cfg.get("sink_bursts")
                                    else _pause(r, cfg["sink_stall"]))
        srcs[x].set_pause_generator(_pause(random.Random(rng.random()), cfg.get("src_stall", 0.0)))
    cables = {x: Cable(dut, x, y, cfg, random.Random(rng.random())) for x, y in (("a", "b"), ("b", "a"))}
    for c in cables.values():
        cocotb.start_soon(c.run())
    await ClockCycles(dut.c_clk, 8)
    dut.rst.value = 0
    await ClockCycles(dut.c_clk, 8)
    for x, y in dirs:
        want[y] = _frames(rng, cfg["frames"], kw, cfg["max_beats"], cfg.get("fixed_beats", False))
        for f in want[y]:
            srcs[x].send_nowait(AxiStreamFrame(f))
    got = {y: [] for _, y in dirs}
    quiet = 0
    for _ in range(cfg["timeout_cycles"]):
        await RisingEdge(dut.c_clk)
        progress = False
        for y in got:
            while not snks[y].empty():
                got[y].append(bytes(snks[y].recv_nowait().tdata))
                progress = True
        quiet = 0 if progress else quiet + 1
        if all(len(got[y]) >= len(want[y]) for y in got) or quiet > cfg.get("quiet_cycles", 20000):
            break
    await ClockCycles(dut.c_clk, 200)
    for y in got:
        while not snks[y].empty():
            got[y].append(bytes(snks[y].recv_nowait().tdata))
    stats = {
        "frames_in": {y: len(want[y]) for y in got}, "frames_out": {y: len(got[y]) for y in got},
        "equal": {y: got[y] == want[y] for y in got},
        "overflow": {y: int(getattr(dut, f"overflow_{y}").value) for y in "ab"},
        "credit_packets_sent": {x: int(getattr(dut, f"credit_sent_{x}").value) for x in "ab"},
        "credit_updates_received": {x: int(getattr(dut, f"credit_rx_{x}").value) for x in "ab"},
        "rx_dropped": {x: int(getattr(dut, f"dropped_{x}").value) for x in "ab"},
        "credit_stalls": {x: c.credit_stalls for x, c in cables.items()},
        "gaps": sum(c.gaps for c in cables.values()), "runts": sum(c.runts for c in cables.values()),
        "data_packets": {x: c.data_packets for x, c in cables.items()},
        "credit_packets": {x: c.credit_packets for x, c in cables.items()},
        "lost_credits": sum(c.lost_credits for c in cables.values()),
        "corrupted_credits": sum(c.corrupted_credits for c in cables.values()),
        "foreign": {c.y: c.foreign_sent for c in cables.values()},
    }
    bc = cables["a"].body_cycles[cfg.get("skip_beats", 0):]
    if len(bc) > 1:  # MAC cycles per frame beat while sending (header beats and gaps included)
        stats["cycles_per_beat"] = (bc[-1] - bc[0] + 1) / len(bc)
    Path("stats.json").write_text(json.dumps(stats, indent=1))
    dut._log.info("stats %s", json.dumps(stats))
    assert stats["gaps"] == 0, "TVALID gap inside a packet: the MAC's TX would underflow"
    assert stats["runts"] == 0, "a packet under 64 bytes"
    if not cfg.get("expect_loss"):
        for y in got:
            assert stats["overflow"][y] == 0, f"board {y}'s receive buffer overflowed: credits not respected"
            assert got[y] == want[y], f"to {y}: {len(got[y])} of {len(want[y])} frames, equal={stats['equal'][y]}"
