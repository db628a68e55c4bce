"""The generated cocotb tests' body: drive a DUT's AXI4-Stream inputs with frame files and compare
the frames on its outputs bit for bit, under random backpressure and random input bubbles.

A DUT is described by ``dut.json`` beside its generated test (written by asymap.codegen.deploy):
clocks, resets, an optional AXI4-Lite control port (``ap_start`` of an HLS top), the top's AXI4
memory ports (``memories``: one per m_axi argument, each served by its own AXI RAM holding the
argument's image at its base address: the off-chip weights ``wmem``, the URAM start-up image
``wpre``), input streams with the frame file to send and output streams with the frame file expected.
The same harness runs on a board's exported HLS RTL and on the link transport between two boards.
Runs inside the simulator (imported by the generated test module), so it only uses cocotb,
cocotbext-axi and the standard library.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, with_timeout
from cocotbext.axi import AxiRamRead, AxiRamWrite, AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource
from cocotbext.axi.memory import Memory

_AXILITE_MAP = re.compile(r"//\s*0x([0-9a-fA-F]+)\s*:\s*Data signal of (\w+)")


def read_frames(path: Path, width_bits: int) -> list[bytes]:
    """Frames of a frame file (W/8 data bytes + a TLAST flag byte per beat), each as its beats' bytes."""
    data = path.read_bytes()
    B = width_bits // 8
    frames, cur = [], bytearray()
    for i in range(0, len(data) - B, B + 1):
        cur += data[i:i + B]
        if data[i + B] & 1:
            frames.append(bytes(cur))
            cur = bytearray()
    if cur:
        frames.append(bytes(cur))  # a tail without TLAST is sent as it is
    return frames


def axilite_offsets(verilog: str) -> dict[str, int]:
    """Register offsets of an HLS top's arguments from its ``*_control_s_axi.v`` address-map comment
    (a 64-bit pointer spans two words: the lower offset is the argument's)."""
    out: dict[str, int] = {}
    for off, name in _AXILITE_MAP.findall(verilog):
        out[name] = min(out.get(name, 1 << 30), int(off, 16))
    return out


def _pause(rng: random.Random, busy: float):
    while True:
        yield rng.random() < busy


async def frames_test_body(dut, desc_path: str | Path, seed: int | None = None) -> None:
    # `asymap verify --rtl` hands over a resolved copy (absolute paths, the RTL's control files).
    desc_path = Path(os.environ.get("ASYMAP_DUT_RESOLVED") or desc_path)
    desc = json.loads(desc_path.read_text())
    base = desc_path.parent
    seed = int(os.environ.get("ASYMAP_TB_SEED", "1")) if seed is None else seed
    rng = random.Random(seed)
    clocks = {}
    for c in desc["clocks"]:
        sig = getattr(dut, c["name"])
        period_ps = int(round(1e6 / c["mhz"] / 2)) * 2
        cocotb.start_soon(Clock(sig, period_ps, unit="ps").start())
        clocks[c["name"]] = sig
    resets = []
    for r in desc["resets"]:
        sig = getattr(dut, r["name"])
        sig.value = 0 if r["active_low"] else 1
        resets.append((sig, r))
    sources, sinks = [], []
    for s in desc["inputs"]:
        r = resets[0]
        src = AxiStreamSource(AxiStreamBus.from_prefix(dut, s["prefix"]), clocks[s["clock"]], r[0],
                              reset_active_level=not r[1]["active_low"])
        src.set_pause_generator(_pause(rng, 0.2))
        src.log.setLevel(logging.WARNING)  # cocotbext-axi logs every frame at INFO
        sources.append((src, read_frames(base / s["frames"], s["width_bits"])))
    for s in desc["outputs"]:
        r = resets[0]
        snk = AxiStreamSink(AxiStreamBus.from_prefix(dut, s["prefix"]), clocks[s["clock"]], r[0],
                            reset_active_level=not r[1]["active_low"])
        snk.set_pause_generator(_pause(rng, float(s.get("busy", 0.4))))  # "busy": a slower consumer
        snk.log.setLevel(logging.WARNING)
        sinks.append((snk, read_frames(base / s["frames"], s["width_bits"]), s))
    slowest = min(desc["clocks"], key=lambda c: c["mhz"])["name"]
    await ClockCycles(clocks[slowest], 8)
    for sig, r in resets:
        sig.value = 1 if r["active_low"] else 0
    await ClockCycles(clocks[slowest], 8)
    ctrl = _control_master(dut, desc, clocks, resets) if desc.get("control") else None
    rams = [await _serve_memory(dut, m, desc, base, ctrl, clocks, resets) for m in memories_of(desc)]
    if ctrl is not None:
        await ctrl.write_dword(int(desc["control"].get("ap_start", 0)), 1)  # ap_start (UG1399 ap_ctrl_hs)
    for src, frames in sources:
        for fr in frames:
            await src.send(AxiStreamFrame(fr))
    total = sum(len(f) for _, fs in sources for f in fs) + sum(len(f) for _, fs, _ in sinks for f in fs)
    for snk, expected, s in sinks:
        B = s["width_bits"] // 8
        for k, want in enumerate(expected):
            got = await with_timeout(snk.recv(), 200 * total // B + 100_000, "ns")
            data = bytes(got.tdata)
            assert len(data) == len(want), f"{s['prefix']}: frame {k} has {len(data)} bytes, expected {len(want)}"
            if data != want:
                first = next(i for i in range(len(want)) if data[i] != want[i])
                raise AssertionError(f"{s['prefix']}: frame {k} differs from byte {first} "
                                     f"(beat {first // B}): got {data[first:first + 8].hex()}, "
                                     f"expected {want[first:first + 8].hex()}")
            dut._log.info("%s: frame %d of %d equal (%d beats)", s["prefix"], k + 1, len(expected), len(want) // B)
        assert snk.empty(), f"{s['prefix']}: frames beyond the {len(expected)} expected"
    for m, ram in rams:  # the weights came from where dut.json says (an image nobody read was not used)
        assert ram.reads, f"{m['prefix']} ({m['arg']}): the DUT never read its image"
        lo, hi = min(a for a, _ in ram.reads), max(a + n for a, n in ram.reads)
        dut._log.info("%s (%s): %d bytes read in %d beats, addresses 0x%x..0x%x (image 0x%x..0x%x)", m["prefix"],
                      m["arg"], sum(n for _, n in ram.reads), len(ram.reads), lo, hi, m.get("base", 0),
                      m.get("base", 0) + ram.image_bytes)
    for name in desc.get("zero_counters", []):  # error counters the DUT must leave at zero (e.g. overflow)
        value = int(getattr(dut, name).value)
        assert value == 0, f"{name} = {value} at the end, expected 0"


def _control_master(dut, desc, clocks, resets):
    """One AXI4-Lite master on the top's s_axi_control (a second one would fight over its signals)."""
    from cocotbext.axi import AxiLiteBus, AxiLiteMaster

    c = desc["control"]
    r = resets[0]
    return AxiLiteMaster(AxiLiteBus.from_prefix(dut, c["prefix"]), clocks[c["clock"]], r[0],
                         reset_active_level=not r[1]["active_low"])


def memories_of(desc: dict) -> list[dict]:
    """The memories a DUT description serves: ``memories`` (one per m_axi argument), or the one
    ``memory`` of descriptions written before the start-up image had its own port."""
    if "memories" in desc:
        return list(desc["memories"] or [])
    return [desc["memory"]] if desc.get("memory") else []


class _RecordingRead(AxiRamRead):
    """AxiRam's read side, recording every beat it serves (address, bytes)."""

    def __init__(self, *args, **kwargs):
        self.reads: list[tuple[int, int]] = []
        super().__init__(*args, **kwargs)

    async def _read(self, address, length):
        self.reads.append((address, length))
        return await super()._read(address, length)


class _ImageRam(Memory):
    """The AXI4 slave memory of one m_axi argument: cocotbext-axi's AxiRam with a read side that
    records every beat it serves, so the harness can say which part of which image the DUT read."""

    def __init__(self, bus, clock, reset, active_high: bool, size: int):
        super().__init__(size)
        self.write_if = AxiRamWrite(bus.write, clock, reset, active_high, mem=self.mem)
        self.read_if = _RecordingRead(bus.read, clock, reset, active_high, mem=self.mem)
        for side in (self.write_if, self.read_if):
            side.log.setLevel(logging.WARNING)  # cocotbext-axi logs every burst at INFO
        self.image_bytes = 0

    @property
    def reads(self) -> list[tuple[int, int]]:
        return self.read_if.reads


async def _serve_memory(dut, mem: dict, desc, base: Path, ctrl, clocks, resets):
    """Serve one m_axi port of the top from its own memory holding the argument's image at
    ``mem["base"]``, and point the argument's base-address register (from the exported
    ``*_control_s_axi.v`` address map) at it. Returns (the entry, the memory)."""
    from cocotbext.axi import AxiBus

    r = resets[0]
    clk = clocks[desc["clocks"][0]["name"]]
    image = (base / mem["file"]).read_bytes()
    at = int(mem.get("base", 0))
    assert at % 4096 == 0, f"{mem['prefix']}: base address 0x{at:x} is not 4 KiB-aligned"
    ram = _ImageRam(AxiBus.from_prefix(dut, mem["prefix"]), clk, r[0], not r[1]["active_low"],
                    max(4096, 1 << (at + max(len(image), 1) - 1).bit_length()))
    ram.write(at, image)
    ram.image_bytes = len(image)
    offsets = axilite_offsets("\n".join(Path(p).read_text() for p in mem.get("control_files", [])))
    assert ctrl is not None, "a memory port needs the s_axi_control port to set its base address"
    arg = mem.get("arg", "wmem")
    assert arg in offsets, f"no base-address register of '{arg}' in {mem.get('control_files')}"
    await ctrl.write_dword(offsets[arg], at & 0xFFFF_FFFF)  # the argument's 64-bit address, low word first
    await ctrl.write_dword(offsets[arg] + 4, at >> 32)
    return mem, ram
