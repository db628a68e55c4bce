"""cocotb tests of single blocks: the clock-crossing FIFO's boundaries and the width converter.

Configuration in ASYMAP_TB (JSON); the pytest side is test_rtl_blocks.py.
"""

from __future__ import annotations

import json
import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge, Timer
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource


def _cfg() -> dict:
    return json.loads(os.environ.get("ASYMAP_TB", "{}"))


async def _fifo_setup(dut, wr_ps: int, rd_ps: int):
    Clock(dut.s_clk, wr_ps, unit="ps").start()
    Clock(dut.m_clk, rd_ps, unit="ps").start()
    dut.s_tvalid.value = 0
    dut.s_tdata.value = 0
    dut.m_tready.value = 0
    dut.rst.value = 1
    await ClockCycles(dut.s_clk, 4)
    await ClockCycles(dut.m_clk, 4)
    dut.rst.value = 0
    await ClockCycles(dut.s_clk, 2)


async def _writer(dut, words, *, pause=0.0, rng=None, stalls=None):
    """Drive words into the FIFO; record the write-side cycles where it was not ready."""
    i = 0
    dut.s_tvalid.value = 0
    while i < len(words):
        want = not (pause and rng.random() < pause)
        dut.s_tvalid.value = int(want)
        dut.s_tdata.value = words[i]
        await RisingEdge(dut.s_clk)
        if want:
            if int(dut.s_tready.value):
                i += 1
            elif stalls is not None:
                stalls.append(i)
    dut.s_tvalid.value = 0


async def _reader(dut, n, out, *, pause=0.0, rng=None):
    while len(out) < n:
        ready = not (pause and rng.random() < pause)
        dut.m_tready.value = int(ready)
        await RisingEdge(dut.m_clk)
        if ready and int(dut.m_tvalid.value):
            out.append(int(dut.m_tdata.value))
    dut.m_tready.value = 0


@cocotb.test()
async def fifo_full_empty_at_depth(dut):
    """Exactly DEPTH words fit (block RAM: DEPTH + the one in the read register); full rises on
    the last one, empty falls only after the pointer crosses, and reading them all empties it
    again (data in order)."""
    depth = _cfg()["depth"] + _cfg().get("block", 0)
    await _fifo_setup(dut, 3334, 3104)
    assert int(dut.empty.value) == 1 and int(dut.full.value) == 0 and int(dut.m_tvalid.value) == 0
    accepted = 0
    dut.s_tvalid.value = 1
    for k in range(depth + 12):                 # try more than fits, long enough for the pointers to cross
        dut.s_tdata.value = 0x100 + accepted
        await RisingEdge(dut.s_clk)
        if int(dut.s_tready.value):
            accepted += 1
    dut.s_tvalid.value = 0
    await RisingEdge(dut.s_clk)
    assert accepted == depth, accepted
    assert int(dut.full.value) == 1 and int(dut.s_tready.value) == 0
    await ClockCycles(dut.m_clk, 4)             # the write pointer crosses two flops
    assert int(dut.empty.value) == 0 and int(dut.m_tvalid.value) == 1
    out = []
    await _reader(dut, depth, out)
    assert out == [0x100 + k for k in range(depth)], out
    await RisingEdge(dut.m_clk)
    assert int(dut.empty.value) == 1 and int(dut.m_tvalid.value) == 0
    await ClockCycles(dut.s_clk, 4)             # the read pointer crosses back: not full any more
    assert int(dut.full.value) == 0 and int(dut.s_tready.value) == 1


@cocotb.test()
async def fifo_back_to_back_at_slower_clock(dut):
    """Write side slower (100 MHz into 322 MHz): a word every write cycle, never refused; then the
    read side slower (322 MHz into 100 MHz): a word every read cycle once it fills."""
    cfg = _cfg()
    n = cfg["words"]
    words = [(k * 0x9E3779B1) & ((1 << cfg["width"]) - 1) for k in range(n)]
    await _fifo_setup(dut, 10000, 3104)
    stalls, out = [], []
    r = cocotb.start_soon(_reader(dut, n, out))
    await _writer(dut, words, stalls=stalls)
    await r
    assert out == words
    assert stalls == [], f"writer at the slower clock was refused {len(stalls)} times"


@cocotb.test()
async def fifo_read_back_to_back_at_slower_clock(dut):
    cfg = _cfg()
    n = cfg["words"]
    words = [(k * 0x61C88647 + 3) & ((1 << cfg["width"]) - 1) for k in range(n)]
    await _fifo_setup(dut, 3104, 10000)
    out = []
    w = cocotb.start_soon(_writer(dut, words))
    # Wait until the FIFO is full and shows its first word (block RAM: once its read register is
    # loaded), then the slow reader must take a word on every cycle.
    while not (int(dut.full.value) and int(dut.m_tvalid.value)):
        await RisingEdge(dut.s_clk)
    dut.m_tready.value = 1
    gaps = 0
    while len(out) < n:
        await RisingEdge(dut.m_clk)
        if int(dut.m_tvalid.value):
            out.append(int(dut.m_tdata.value))
        elif len(out) < n - 1:
            gaps += 1
    dut.m_tready.value = 0
    await w
    assert out == words
    assert gaps == 0, gaps


@cocotb.test()
async def fifo_reset_mid_traffic(dut):
    """Reset while both sides are busy: afterwards the FIFO is empty and not full, no stale word
    comes out, and new traffic (random stalls both sides) arrives complete and in order."""
    cfg = _cfg()
    rng = random.Random(5)
    await _fifo_setup(dut, 3334, 3104)
    first = [0xA000 + k for k in range(40)]
    out = []
    w = cocotb.start_soon(_writer(dut, first, pause=0.3, rng=rng))
    r = cocotb.start_soon(_reader(dut, 40, out, pause=0.5, rng=rng))
    await ClockCycles(dut.s_clk, 15)
    w.cancel()
    r.cancel()
    dut.rst.value = 1
    dut.s_tvalid.value = 0
    dut.m_tready.value = 0
    await Timer(1, unit="ns")
    assert int(dut.empty.value) == 1 and int(dut.full.value) == 0   # asynchronous reset
    await ClockCycles(dut.s_clk, 3)
    await ClockCycles(dut.m_clk, 3)
    dut.rst.value = 0
    await ClockCycles(dut.m_clk, 6)
    assert int(dut.m_tvalid.value) == 0, "stale data after reset"
    second = [(0xB000 + k) & ((1 << cfg["width"]) - 1) for k in range(cfg["words"])]
    out2 = []
    r = cocotb.start_soon(_reader(dut, len(second), out2, pause=0.3, rng=rng))
    await _writer(dut, second, pause=0.3, rng=rng)
    await r
    assert out2 == second


@cocotb.test()
async def width_frames(dut):
    """Random frames (byte lengths not multiples of either width) through the converter with
    random stalls on both sides: the bytes TKEEP marks valid come out unchanged, frame by frame,
    and no beat is all padding."""
    cfg = _cfg()
    rng = random.Random(cfg["seed"])
    Clock(dut.clk, 3104, unit="ps").start()
    dut.rst.value = 1
    src = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s"), dut.clk, dut.rst)
    snk = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m"), dut.clk, dut.rst)

    def pauses(p, seed):
        r = random.Random(seed)
        while True:
            yield r.random() < p
    src.set_pause_generator(pauses(0.3, 1))
    snk.set_pause_generator(pauses(0.3, 2))
    await ClockCycles(dut.clk, 4)
    dut.rst.value = 0
    await ClockCycles(dut.clk, 2)
    sb = cfg["s_w"] // 8
    mb = cfg["m_w"] // 8
    frames = []
    for _ in range(cfg["frames"]):
        n = rng.randrange(1, 4 * max(sb, mb)) // sb * sb or sb     # whole input bytes lanes
        data = bytes(rng.randrange(256) for _ in range(n))
        frames.append(data)
        src.send_nowait(AxiStreamFrame(data))
    beats = 0
    for data in frames:
        fr = await snk.recv(compact=False)
        beats += len(fr.tdata) // mb
        for k in range(0, len(fr.tkeep), mb):
            assert any(fr.tkeep[k:k + mb]), "an all-padding beat was sent"
        fr.compact()
        assert bytes(fr.tdata) == data, (len(fr.tdata), len(data))
    dut._log.info("%d frames, %d output beats", len(frames), beats)
