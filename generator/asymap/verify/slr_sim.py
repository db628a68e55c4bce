"""A split board's SLR kernels joined as ``v++ --link`` joins them, for ``asymap verify --rtl``.

A board built as one kernel per SLR (codegen/segment_slr.py, docs/deploy.md) has no one kernel that
carries its link in to its link out: ``top_<board>`` (host-started: link in, control, memory) and
the free-running ``top_<board>_slr<n>`` kernels meet only through the ``stream_connect`` FIFOs of
connectivity.cfg (UG1393 "Specifying Streaming Connections") and the register slices v++ puts on
streams crossing SLR boundaries. This module writes that joining as a Verilog top over the kernels'
own exported RTL (each kernel's HLS component exports its own Verilog): every stream of chain.json
``boards[].slr.streams`` goes producer port -> ``asymap_axis_slice`` (``SLR_SLICE_CYCLES`` stages
per boundary crossed, the cycles the planner charges, partition/slrcross.py) ->
``asymap_axis_fifo`` of the stream's depth -> consumer port, and every other kernel port becomes a
port of the top under its own name. The board's generated cocotb test then drives the top exactly
as it drives a one-kernel board's top: link-in frames in, link-out frames compared bit for bit.

The kernels' ports are read from their Verilog (ANSI or the non-ANSI style Vitis HLS writes, widths
given by the module's own parameters), so the top matches whatever widths HLS chose (an
``ap_uint<1>`` stream's TDATA is a byte wide, UG1399 "AXI4-Stream Interfaces").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from asymap.errors import UserError
from asymap.partition.slrcross import SLR_SLICE_CYCLES

__all__ = ["Port", "axi_masters", "module_ports", "render_slr_sim"]

_HANDSHAKE = ("TVALID", "TREADY")
_CLOCKS = ("ap_clk", "ap_rst_n")
_PARAM = re.compile(r"\bparameter\b\s*(?:integer\s+|\[[^\]]*\]\s*)?(\w+)\s*=\s*([^;,\n]+)")
_PORT = re.compile(r"^\s*(input|output|inout)\b\s*(?:wire\b|reg\b|logic\b)?\s*(?:signed\b)?\s*(\[[^\]]+\])?\s*([A-Za-z_]\w*)",
                   re.M)
_ARITH = re.compile(r"^[0-9+\-*/() ]+$")


@dataclass(frozen=True)
class Port:
    name: str
    dir: str  # input | output
    width: int


def _module_text(sources: list[Path], module: str) -> str:
    head = re.compile(rf"^\s*module\s+{re.escape(module)}\b", re.M)
    for p in sources:
        text = p.read_text(encoding="utf-8", errors="replace")
        m = head.search(text)
        if m:
            end = text.find("endmodule", m.end())
            return text[m.start(): end if end >= 0 else len(text)]
    raise UserError(f"module {module} not found in its exported RTL ({', '.join(p.name for p in sources[:4])}"
                    f"{', ...' if len(sources) > 4 else ''}); re-run 'asymap build OUT --step csynth'")


def _literals(text: str) -> str:
    """Verilog's sized/based literals (``8'd72``, ``'h40``, ``1_000``) as plain decimals."""
    text = re.sub(r"(?:\d+)?'[sS]?([dDhHbBoO])([0-9a-fA-F_]+)",
                  lambda m: str(int(m.group(2).replace("_", ""), {"d": 10, "h": 16, "b": 2, "o": 8}[m.group(1).lower()])),
                  text)
    return re.sub(r"(?<=\d)_(?=\d)", "", text)


def _value(expr: str, params: dict[str, str], module: str, depth: int = 0) -> int:
    """An integer constant expression of the module's parameters (Vitis writes e.g.
    ``C_S_AXI_CONTROL_ADDR_WIDTH - 1`` and ``(32 / 8)``); '/' is Verilog's integer division."""
    text = expr.strip()
    for _ in range(8):
        text = _literals(text)
        names = set(re.findall(r"[A-Za-z_]\w*", text))
        if not names:
            break
        for n in names:
            if n not in params:
                raise UserError(f"module {module}: width expression {expr!r} names {n!r}, not a parameter of the module")
            text = re.sub(rf"\b{n}\b", f"({params[n]})", text)
    if not _ARITH.match(text):
        raise UserError(f"module {module}: cannot evaluate the width expression {expr!r}")
    return int(eval(text.replace("/", "//"), {"__builtins__": {}}))  # noqa: S307 - digits and + - * / ( ) only


def _balanced(value: str) -> str:
    """A parameter's value without what closes an ANSI parameter list after it (``W = 16)``)."""
    depth = 0
    for i, ch in enumerate(value):
        depth += (ch == "(") - (ch == ")")
        if depth < 0:
            return value[:i].strip()
    return value.strip()


def module_ports(sources: list[Path], module: str) -> list[Port]:
    """The ports of ``module`` (declaration order) in the given Verilog files, with their widths."""
    text = _module_text(sources, module)
    params = {n: _balanced(v) for n, v in _PARAM.findall(text)}
    ports = []
    for direction, rng, name in _PORT.findall(text):
        if direction == "inout":
            raise UserError(f"module {module}: inout port {name} cannot be joined by the split-board harness")
        width = 1
        if rng:
            hi, _, lo = rng.strip()[1:-1].partition(":")
            width = abs(_value(hi, params, module) - _value(lo, params, module)) + 1
        ports.append(Port(name, direction, width))
    return ports


def axi_masters(sources: list[Path], module: str) -> list[str]:
    """The AXI4 master ports of ``module`` by prefix (``m_axi_gmem0``, ...: a port with a read
    address channel), in declaration order."""
    text = _module_text(sources, module)
    return list(dict.fromkeys(re.findall(r"\b(m_axi_\w+?)_ARVALID\b", text)))


def _payload(ports: dict[str, Port], prefix: str) -> list[Port]:
    """A stream port's payload signals (TDATA and whatever side channels it has), by signal name:
    the two ends may declare them in different orders, the FIFO carries them in one."""
    return sorted((p for n, p in ports.items() if n.startswith(prefix + "_") and n[len(prefix) + 1:] not in _HANDSHAKE),
                  key=lambda p: p.name[len(prefix):])


def render_slr_sim(board: str, kernels: list[tuple[str, list[Port]]], streams: list[dict], version: str) -> str:
    """Verilog of the simulation top (templates/deploy/slr_sim.v.j2). ``kernels``: (module, its
    ports) in chain order; ``streams``: chain.json ``slr.streams`` entries with ``boundaries`` (SLR
    boundaries the stream crosses). A stream whose two ends do not match is a one-line error."""
    from asymap.codegen.env import make_env

    by_kernel = {k: {p.name: p for p in ports} for k, ports in kernels}
    joined: set[str] = set()
    xs = []
    for s in streams:
        ends = []
        for key in ("from", "to"):
            kernel, _, port = s[key].partition(".")
            if kernel not in by_kernel:
                raise UserError(f"board {board}: stream {s['stream']} names kernel {kernel!r}, which is not one of "
                                f"the board's kernels; re-run asymap generate")
            ps = by_kernel[kernel]
            if f"{port}_TVALID" not in ps or f"{port}_TREADY" not in ps:
                raise UserError(f"board {board}: kernel {kernel}'s RTL has no AXI4-Stream port {port} (stream "
                                f"{s['stream']}); re-export it with 'asymap build OUT --step csynth'")
            ends.append((port, _payload(ps, port)))
        (src, sp), (dst, dp) = ends
        if [(p.name[len(src):], p.width) for p in sp] != [(p.name[len(dst):], p.width) for p in dp]:
            raise UserError(f"board {board}: stream {s['stream']}: {s['from']} and {s['to']} differ in their signals "
                            f"or widths ({', '.join(f'{p.name}[{p.width}]' for p in sp)} against "
                            f"{', '.join(f'{p.name}[{p.width}]' for p in dp)})")
        joined.update(p.name for p in sp + dp)
        joined.update(f"{e}_{h}" for e in (src, dst) for h in _HANDSHAKE)
        xs.append({"stream": s["stream"], "src": src, "dst": dst, "width": sum(p.width for p in sp),
                   "depth": max(2, int(s["depth"])), "boundaries": int(s["boundaries"]),
                   "stages": SLR_SLICE_CYCLES * int(s["boundaries"]),
                   "src_payload": [p.name for p in sp], "dst_payload": [p.name for p in dp]})
    top: dict[str, Port] = {}
    wires: dict[str, Port] = {}
    count: dict[str, int] = {}
    for _, ports in kernels:
        for p in ports:
            count[p.name] = count.get(p.name, 0) + 1
    shared = sorted({p.name.rsplit("_", 1)[0] for _, ports in kernels for p in ports
                     if p.name.startswith("m_axi_") and p.name.endswith("_ARVALID") and count[p.name] > 1})
    if shared:  # one AXI RAM per m_axi argument, its base address set on the host-started kernel
        raise UserError(f"board {board}: {', '.join(shared)} is a memory master of more than one kernel; the split "
                        "board's memory arguments belong to its first kernel (re-run asymap generate)")
    conns = []
    for k, ports in kernels:
        conn = []
        for p in ports:
            sig = p.name
            if p.name in joined:
                wires[p.name] = p
            elif count[p.name] > 1 and p.dir == "output":  # a status output every kernel has (HLS's
                sig = f"{k}__{p.name}"                       # ap_local_deadlock, say): one top port each
                top[sig] = Port(sig, p.dir, p.width)
            else:  # clocks, resets and any input the kernels share are driven once
                top.setdefault(p.name, p)
            conn.append((p.name, sig))
        conns.append({"module": k, "ports": conn})
    for c in _CLOCKS:
        if c not in top:
            raise UserError(f"board {board}: no kernel has the port {c}; the RTL is not an HLS kernel's")
    env = make_env()
    return env.get_template("deploy/slr_sim.v.j2").render(
        version=version, board=board, ports=[top[c] for c in _CLOCKS] + [p for n, p in top.items() if n not in _CLOCKS],
        wires=list(wires.values()), streams=xs,
        kernels=conns)
