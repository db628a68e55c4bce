"""Start-up of a Vivado-flow board: the block design's fixed address map and the program that uses it.

A Vivado-flow board has no XRT: something on the board's own Linux (the Zynq PS, or the PCIe host
of an XDMA card) must copy the kernel's memory images (``weights/wmem.bin``, ``weights/wpre.bin``)
into the memory its m_axi masters reach, write their addresses into the kernel's base-address
registers and set ``ap_start`` with auto-restart. Both ends must agree on every address, so one
table (:func:`address_map`) decides them: the block design's ``assign_bd_address`` commands, the
exported ``bd/address_map.json`` and the generated ``startup/startup.cpp`` are all printed from it.
"""

from __future__ import annotations

import zlib
from pathlib import Path

from asymap.errors import UserError

# Each AXI4-Lite slave (HLS s_axi_control, AXI DMA S_AXI_LITE) gets a 64 KiB window, one after the other
# from the processor's base: Zynq-7000 M_AXI_GP0 decodes 0x4000_0000-0x7FFF_FFFF (UG585 "System Address
# Map"; 0x43C0_0000 is where Vivado's own assignment starts); an XDMA card's AXI-Lite master BAR is
# translated to AXI address 0 (PG195 "PCIe to AXI Lite Master Translation" left at 0), so the offset in
# /dev/xdma0_user is the AXI address.
CTRL_RANGE = 0x10000
CTRL_BASE = {"ps": 0x43C0_0000, "xdma": 0x0}
CTRL_SPACE = {"ps": "ps7/Data", "xdma": "xdma_0/M_AXI_LITE"}
# The memory the kernel's masters reach, as every master of the design sees it: (address, bytes).
# ZC706's PL DDR3 SODIMM (1 GB, UG954) sits in the PS's M_AXI_GP1 window 0x8000_0000 (UG585); the others
# at 0: the PS DDR of a PYNQ-Z2 (512 MB) through S_AXI_HP0, the VC709 DDR3 SODIMM J1 (4 GB, UG887) and the
# VCU118 DDR4 C1 (4 GB, UG1224) behind the XDMA's M_AXI. A board type not listed takes the smallest.
MEMORY = {"pynq-z2": (0x0, 512 << 20), "zc706": (0x8000_0000, 1 << 30), "vc709": (0x0, 4 << 30),
          "vcu118": (0x0, 4 << 30)}
MEMORY_DEFAULT = {"PS_DDR": (0x0, 512 << 20), "MIG": (0x0, 1 << 30)}
PS_MIG_BASE = 0x8000_0000  # a Zynq-7000 PS reaches PL memory through M_AXI_GP1's window (UG585)
IMAGE_ALIGN = 0x1000  # each image 4 KiB-aligned (one page: the program maps whole pages)
RESERVE_ALIGN = 1 << 20  # the PS DDR region Linux must leave alone (reserved-memory node), whole MiB
# The slave segment of each memory target (the IP's memory map / address block names).
MEM_SEGMENT = {"S_AXI": "memmap/memaddr", "C0_DDR4_S_AXI": "C0_DDR4_MEMORY_MAP/C0_DDR4_ADDRESS_BLOCK",
               "S_AXI_HP0": "S_AXI_HP0/HP0_DDR_LOWOCM"}
# The address space of each kind of master interface (HLS m_axi_<bundle>: Data_m_axi_<bundle>).
MASTER_SPACE = {"M_AXI_MM2S": "Data_MM2S", "M_AXI_S2MM": "Data_S2MM", "M_AXI_GP1": "Data", "M_AXI": "M_AXI"}
# Vitis HLS s_axi_control: 0x00 control (ap_start bit 0, ap_done 1, ap_idle 2, auto_restart 7), then the
# arguments from 0x10 in signature order, a 64-bit pointer taking low word, high word and a reserved
# word (the *_control_s_axi.v address map; the RTL harness reads the same from it).
ARG_BASE, ARG_STRIDE = 0x10, 0x0C


def _size(n: int) -> str:
    """A Tcl -range value: 64K, 1G, 4G ... (UG835 assign_bd_address)."""
    for unit, shift in (("G", 30), ("M", 20), ("K", 10)):
        if n % (1 << shift) == 0:
            return f"{n >> shift}{unit}"
    return str(n)


def _space(pin: str) -> str:
    cell, intf = pin.split("/")
    return f"{cell}/Data_{intf}" if intf.startswith("m_axi_") else f"{cell}/{MASTER_SPACE[intf]}"


def _round(n: int, a: int) -> int:
    return -(-n // a) * a


def address_map(board: str, board_type: str, runtime: str, memory_kind: str, bdv: dict,
                kernels: list[dict]) -> dict:
    """The board's address map. ``bdv``: the block design's cells (deploy._bd_cells: ``ctrl`` the
    AXI4-Lite slaves, ``mem`` the memory masters, ``mem_target`` the memory's slave interface);
    ``kernels``: every HLS top started by control, ``{"cell", "images": [(arg, file, data)]}``
    (file relative to the board directory, its memory arguments in signature order)."""
    ctrl = [{"cell": pin.split("/")[0], "space": CTRL_SPACE[runtime], "segment": f"{pin}/Reg",
             "offset": CTRL_BASE[runtime] + CTRL_RANGE * i, "range": CTRL_RANGE} for i, pin in enumerate(bdv["ctrl"])]
    base, size = MEMORY.get(board_type) or MEMORY_DEFAULT[memory_kind]
    if runtime == "ps" and memory_kind == "MIG":
        base = PS_MIG_BASE
    total = sum(_round(len(data), IMAGE_ALIGN) for k in kernels for _, _, data in k["images"])
    # PS DDR is Linux's memory too: the images take its top, in a region the device tree reserves.
    reserved = None
    at = base
    if memory_kind == "PS_DDR":
        span = _round(max(total, 1), RESERVE_ALIGN)
        reserved = {"address": base + size - span, "bytes": span}
        at = reserved["address"]
    spaces = sorted({_space(m) for m in bdv["mem"]})
    seg = f"{bdv['mem_target'].split('/')[0]}/{MEM_SEGMENT[bdv['mem_target'].split('/')[1]]}"
    images, started = [], []
    for k in kernels:
        c = next(c for c in ctrl if c["cell"] == k["cell"])
        regs = {}
        for j, (arg, file, data) in enumerate(k["images"]):
            regs[arg] = ARG_BASE + ARG_STRIDE * j
            images.append({"cell": k["cell"], "arg": arg, "file": file, "address": at, "bytes": len(data),
                           "crc32": zlib.crc32(data), "register": regs[arg]})
            at += _round(len(data), IMAGE_ALIGN)
        started.append({"cell": k["cell"], "control": c["offset"], "registers": regs})
    if at > base + size or (reserved and reserved["address"] < base):
        raise UserError(f"board {board}: its memory images ({total} bytes, page-aligned) do not fit the {size} bytes its kernel's "
                        "masters reach; keep fewer layers' weights off-chip on it")
    return {"schema": 1, "board": board, "runtime": runtime,
            "control": ctrl,
            "memory": {"segment": seg, "offset": base, "range": size, "spaces": spaces},
            "reserved": reserved, "images": images, "kernels": started}


def tcl_assignments(amap: dict) -> list[dict]:
    """The block design's ``assign_bd_address`` rows (space, segment, offset, range), hex/units ready."""
    rows = [(c["space"], c["segment"], c["offset"], c["range"]) for c in amap["control"]]
    m = amap["memory"]
    rows += [(s, m["segment"], m["offset"], m["range"]) for s in m["spaces"]]
    return [{"space": s, "segment": g, "offset": f"0x{o:08X}", "range": _size(r)} for s, g, o, r in rows]


def program_view(amap: dict) -> dict:
    """What templates/deploy/startup.cpp.j2 prints (numbers as C literals, nothing left to compute)."""
    return {"runtime": amap["runtime"], "board": amap["board"],
            "images": [{**im, "address": f"0x{im['address']:X}ULL", "bytes": f"{im['bytes']}ULL",
                        "crc32": f"0x{im['crc32']:08X}u", "register": f"0x{im['register']:X}u",
                        "control": f"0x{next(k['control'] for k in amap['kernels'] if k['cell'] == im['cell']):X}ULL"}
                       for im in amap["images"]],
            "kernels": [{"cell": k["cell"], "control": f"0x{k['control']:X}ULL"} for k in amap["kernels"]],
            "reserved": amap["reserved"] and {"address": f"0x{amap['reserved']['address']:08x}",
                                              "node": f"{amap['reserved']['address']:x}",
                                              "bytes": f"0x{amap['reserved']['bytes']:08x}"}}


def images_of(root: Path, parts: list[tuple], entries: dict[str, dict], memory_args: tuple[str, ...],
              board_ident: str) -> list[dict]:
    """The started kernels of one block design and their images: ``parts`` (spec, BoardDeploy, ...)
    of every chain entry on the FPGA, ``entries`` each entry's chain.json entry by its ident."""
    out = []
    for sb, own, *_ in parts:
        args = own.kernels[0].args if own.kernels else {}
        files = entries[sb.ident].get("files", {})
        rel = "" if sb.ident == board_ident else f"../{sb.ident}/"
        imgs = [(a, rel + (files.get(a) or f"weights/{a}.bin"),
                 (root / sb.ident / (files.get(a) or f"weights/{a}.bin")).read_bytes())
                for a in memory_args if a in args]
        out.append({"cell": f"{sb.top}_0", "images": imgs})
    return out
