"""The start-up of a Vivado-flow board: the block design's fixed address map (bd/block_design.tcl)
agrees with the exported bd/address_map.json, and the generated startup/startup.cpp, compiled with
g++ -Wall -Werror and run against regular files standing in for /dev/mem, /dev/xdma0_user and
/dev/xdma0_h2c_0, puts every memory image at its address, every base-address register to it and
ap_start | auto_restart into every kernel's control register; a bad image or a busy kernel stops
it with one line and a nonzero exit before anything is written."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import onnx
import pytest

from asymap.codegen.project import generate
from asymap.frontend.zoo import build_zoo_model
from asymap.verify.cocotb_frames import axilite_offsets

HERE = Path(__file__).resolve().parent
pytestmark = pytest.mark.skipif(shutil.which("g++") is None, reason="g++ not installed")

CLUSTER = """
boards:
  - {name: pynq, type: pynq-z2}
  - {name: v118, type: vcu118}
  - {name: z706, type: zc706}
links:
  - {a: pynq, b: v118, gbps: 1, latency_ns: 20000}
  - {a: v118, b: z706, gbps: 10, latency_ns: 1000}
"""
# pynq: Zynq PS, images in PS DDR (reserved); v118: XDMA, wmem and the URAM start-up image wpre in
# DDR4; z706: Zynq PS, images in the PL DDR3 behind M_AXI_GP1.
WEIGHTS = {1: "offchip", 2: "preload", 3: "offchip", 5: "offchip", 8: "offchip"}
CUTS = {"pynq": (0, 1), "v118": (2, 3), "z706": (4, 8)}
BOARDS = list(CUTS)
ASSIGN = re.compile(r"^assign_bd_address -offset (0x[0-9A-F]+) -range (\d+)([KMG]) -target_address_space "
                    r"\[get_bd_addr_spaces (\S+)\] \[get_bd_addr_segs (\S+)\]$", re.M)
NET = re.compile(r"connect_bd_intf_net \[get_bd_intf_pins (\S+)\] \[get_bd_intf_pins (\S+)\]")
AP_IDLE, STARTED = 0x4, 0x81  # control register after reset; ap_start | auto_restart


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("startup")
    onnx.save(build_zoo_model("tiny", input_size=16, width_mult=1.0, seed=0), str(d / "tiny.onnx"))
    (d / "c.yaml").write_text(CLUSTER)
    plan = {"schema": 1, "boards": [
        {"name": n, "first_layer": a, "last_layer": b,
         "layers": [{"index": i, "factors": {"pe": 2, "simd": 2}, "weights": WEIGHTS.get(i, "onchip")}
                    for i in range(a, b + 1)]} for n, (a, b) in CUTS.items()]}
    (d / "plan.json").write_text(json.dumps(plan))
    generate(d / "tiny.onnx", d / "c.yaml", d / "out", plan=d / "plan.json", quiet=True)
    return d / "out"


@pytest.fixture(scope="module")
def programs(tree, tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("startup_bin")
    out = {}
    for b in BOARDS:
        exe = d / f"startup_{b}"
        p = subprocess.run(["g++", "-std=c++17", "-Wall", "-Wextra", "-Werror", "-o", str(exe),
                            str(tree / b / "startup" / "startup.cpp")], capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr
        out[b] = exe
    return out


def _map(tree: Path, board: str) -> dict:
    return json.loads((tree / board / "bd" / "address_map.json").read_text())


def _space(pin: str) -> str:
    """The address space Vivado names for a master interface pin (HLS m_axi_<bundle>: Data_m_axi_<bundle>)."""
    cell, intf = pin.split("/")
    return f"{cell}/" + {"M_AXI_MM2S": "Data_MM2S", "M_AXI_S2MM": "Data_S2MM", "M_AXI_GP1": "Data",
                         "M_AXI": "M_AXI"}.get(intf, f"Data_{intf}")


@pytest.mark.parametrize("board", BOARDS)
def test_block_design_assigns_the_exported_address_map(tree, board):
    tcl = (tree / board / "bd" / "block_design.tcl").read_text()
    amap = _map(tree, board)
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    rows = {(s, g, int(o, 16), int(n) * units[u]) for o, n, u, s, g in ASSIGN.findall(tcl)}
    want = {(c["space"], c["segment"], c["offset"], c["range"]) for c in amap["control"]}
    m = amap["memory"]
    want |= {(s, m["segment"], m["offset"], m["range"]) for s in m["spaces"]}
    assert rows == want
    assert not re.search(r"^assign_bd_address\s*$", tcl, re.M)  # nothing left to Vivado's own choice
    # Every AXI4-Lite slave behind the control SmartConnect and every master into the memory one is mapped.
    nets = NET.findall(tcl)
    assert {f"{dst}/Reg" for src, dst in nets if src.startswith("ctrl_sc/M")} == {c["segment"] for c in amap["control"]}
    assert {_space(src) for src, dst in nets if dst.startswith("mem_sc/S")} == set(m["spaces"])
    runtime = json.loads((tree / board / "deploy.json").read_text())["runtime"]
    assert amap["runtime"] == runtime and (runtime == "ps") == ("ps7/Data" in {c["space"] for c in amap["control"]})
    spans = sorted((c["offset"], c["offset"] + c["range"]) for c in amap["control"])
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))
    # Images: the generated files, page-aligned, apart, inside the memory (PS DDR: inside the reserved top).
    lo, hi = m["offset"], m["offset"] + m["range"]
    if amap["reserved"]:
        r = amap["reserved"]
        assert lo <= r["address"] and r["address"] + r["bytes"] == hi and r["bytes"] % (1 << 20) == 0
        lo = r["address"]
    at = lo
    for im in amap["images"]:
        data = (tree / board / im["file"]).read_bytes()
        assert (im["bytes"], im["crc32"]) == (len(data), zlib.crc32(data))
        assert im["address"] % 4096 == 0 and at <= im["address"] and im["address"] + im["bytes"] <= hi
        at = im["address"] + im["bytes"]
    top = f"top_{board}_0"
    assert [k["cell"] for k in amap["kernels"]] == [top]
    assert sorted(im["arg"] for im in amap["images"]) == (["wmem", "wpre"] if board == "v118" else ["wmem"])


def test_base_registers_are_where_hls_puts_them():
    """The map's register offsets are those of the Vitis HLS control map (*_control_s_axi.v, as the
    RTL harness reads it) of a top with wmem and wpre: the v118 kernel's."""
    hls = axilite_offsets((HERE / "hls_standin_control_s_axi.v").read_text())
    from asymap.codegen.startup import ARG_BASE, ARG_STRIDE
    assert {a: ARG_BASE + ARG_STRIDE * k for k, a in enumerate(("wmem", "wpre"))} == \
        {a: hls[a] for a in ("wmem", "wpre")}


def _devices(d: Path, amap: dict, control: int = AP_IDLE) -> tuple[Path, Path]:
    """Sparse files standing in for the memory device and the register space, each kernel's control
    register at ``control`` (after reset: ap_idle). A Zynq PS reaches both through one /dev/mem."""
    regs = d / "regs.dev"
    mem = regs if amap["runtime"] == "ps" else d / "h2c.dev"
    ends = [c["offset"] + 0x1000 for c in amap["control"]] + [im["address"] + im["bytes"] for im in amap["images"]]
    with open(regs, "wb") as f:
        f.truncate(max(ends) if mem == regs else max(ends[:len(amap["control"])]))
        for k in amap["kernels"]:  # argument registers hold stale words: each must be written, high words too
            f.seek(k["control"])
            f.write(struct.pack("<I", control) + b"\xa5" * 0xFC)
    if mem != regs:
        mem.write_bytes(b"")
    return mem, regs


def _word(path: Path, at: int) -> int:
    with open(path, "rb") as f:
        f.seek(at)
        return struct.unpack("<I", f.read(4))[0]


def _check_started(tree: Path, board: str, amap: dict, mem: Path, regs: Path) -> None:
    for im in amap["images"]:
        data = (tree / board / im["file"]).read_bytes()
        with open(mem, "rb") as f:
            f.seek(im["address"])
            assert f.read(len(data)) == data, (im["arg"], hex(im["address"]))
        k = next(k for k in amap["kernels"] if k["cell"] == im["cell"])
        reg = k["control"] + k["registers"][im["arg"]]
        assert _word(regs, reg) | _word(regs, reg + 4) << 32 == im["address"], im["arg"]
    for k in amap["kernels"]:
        assert _word(regs, k["control"]) == STARTED


@pytest.mark.parametrize("board", BOARDS)
def test_startup_program_loads_images_sets_registers_and_starts(tree, programs, tmp_path, board):
    amap = _map(tree, board)
    mem, regs = _devices(tmp_path, amap)
    p = subprocess.run([str(programs[board]), "--dir", str(tree / board), "--mem", str(mem), "--regs", str(regs)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    n = len(amap["images"])
    assert p.stdout == (f"asymap_startup: {board}: {n} images ({sum(i['bytes'] for i in amap['images'])} bytes) "
                        f"written, 1 kernels started\n")
    _check_started(tree, board, amap, mem, regs)
    # The check can fail: the same devices read with another address table do not hold the images.
    wrong = json.loads(json.dumps(amap))
    for im in wrong["images"]:
        im["address"] += 4096
    with pytest.raises(AssertionError):
        _check_started(tree, board, wrong, mem, regs)


@pytest.mark.parametrize("case", ["missing", "corrupted", "short"])
def test_startup_program_refuses_a_bad_image_before_writing(tree, programs, tmp_path, case):
    board = "v118"
    amap = _map(tree, board)
    shutil.copytree(tree / board / "weights", tmp_path / "b" / "weights")
    wpre = tmp_path / "b" / "weights" / "wpre.bin"
    if case == "missing":
        wpre.unlink()
    else:
        data = bytearray(wpre.read_bytes())
        if case == "corrupted":
            data[100] ^= 0x01
        wpre.write_bytes(bytes(data[:-8] if case == "short" else data))
    mem, regs = _devices(tmp_path, amap)
    p = subprocess.run([str(programs[board]), "--dir", str(tmp_path / "b"), "--mem", str(mem), "--regs", str(regs)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.count("\n") == 1 and p.stderr.startswith("asymap_startup: ") and "weights/wpre.bin" in p.stderr
    assert {"missing": "No such file", "corrupted": "CRC-32", "short": "the design expects"}[case] in p.stderr
    assert mem.stat().st_size == 0 and _word(regs, amap["kernels"][0]["control"]) == AP_IDLE  # nothing written


@pytest.mark.parametrize("control", [STARTED, 0xFFFFFFFF])
def test_startup_program_refuses_a_kernel_that_is_not_idle(tree, programs, tmp_path, control):
    """A kernel already running (or a register space that reads all ones: no bitstream, another
    address map) is not touched: exit 3, one line naming the kernel."""
    board = "z706"
    amap = _map(tree, board)
    mem, regs = _devices(tmp_path, amap, control)
    p = subprocess.run([str(programs[board]), "--dir", str(tree / board), "--mem", str(mem), "--regs", str(regs)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 3 and p.stderr.count("\n") == 1 and "top_z706_0" in p.stderr, p.stderr
    im = amap["images"][0]
    with open(mem, "rb") as f:
        f.seek(im["address"])
        assert f.read(16) == bytes(16)  # no image written


def test_startup_program_usage_error(programs):
    p = subprocess.run([str(programs["pynq"]), "--bogus"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "--bogus" in p.stderr


def test_verify_rtl_checks_the_start_up_registers_against_the_exported_control_map(tree, tmp_path):
    """Once csynth has exported the kernel's RTL, `asymap verify --rtl` fails the board when the
    start-up map's base registers are not where the exported *_control_s_axi.v puts them."""
    import sys

    sys.path.insert(0, str(HERE))
    from hls_standin import write_export

    from asymap.verify.rtl import resolve, startup_registers_differ

    out = tmp_path / "out"
    shutil.copytree(tree, out)
    rtl = out / "v118" / "hls_v118" / "hls" / "syn" / "verilog"
    write_export(rtl, "top_v118", (out / "v118" / "weights" / "wpre.bin").read_bytes())
    dut = out / "v118" / "cocotb" / "dut.json"
    desc, sources = resolve(dut)
    assert sources and startup_registers_differ(dut, desc) == ""
    control = rtl / "top_v118_control_s_axi.v"
    text = control.read_text()  # an HLS version that left a gap before wpre
    control.write_text(text.replace("0x1c : Data signal of wpre", "0x28 : Data signal of wpre")
                       .replace("0x20 : Data signal of wpre", "0x2c : Data signal of wpre"))
    desc, _ = resolve(dut)
    why = startup_registers_differ(dut, desc)
    assert why.startswith("v118/bd/address_map.json puts the base register of wpre at 0x1c (the RTL: 0x28)"), why


@pytest.mark.parametrize("kind, board_type, runtime", [("PS_DDR", "pynq-z2", "ps"), ("MIG", "vcu118", "xdma")])
def test_images_larger_than_the_memory_are_refused_in_one_line(monkeypatch, kind, board_type, runtime):
    from asymap.codegen import startup
    from asymap.errors import UserError

    monkeypatch.setitem(startup.MEMORY, board_type, (0, 1 << 20))
    target = {"PS_DDR": "ps7/S_AXI_HP0", "MIG": "mem_0/C0_DDR4_S_AXI"}[kind]
    bdv = {"ctrl": ["top_x_0/s_axi_control"], "mem": ["top_x_0/m_axi_gmem0"], "mem_target": target}
    fits = [{"cell": "top_x_0", "images": [("wmem", "weights/wmem.bin", bytes(1 << 20))]}]
    assert startup.address_map("x", board_type, runtime, kind, bdv, fits)["images"][0]["bytes"] == 1 << 20
    big = [{"cell": "top_x_0", "images": [("wmem", "weights/wmem.bin", bytes((1 << 20) + 1))]}]
    with pytest.raises(UserError, match=r"^board x: its memory images \(1052672 bytes, page-aligned\) do not fit the 1048576 bytes"):
        startup.address_map("x", board_type, runtime, kind, bdv, big)
