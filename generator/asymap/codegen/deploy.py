"""From HLS projects to a cluster that links and runs: per-board flow, kernels, connectivity, transport.

For every board of the chain this module decides, from the board library's ``deploy:`` block
(:mod:`asymap.cluster.deploy`) and the cluster's links, which compute units the board's build
produces and how they connect, and writes:

* Vitis flow (Alveo, Zynq UltraScale+ MPSoC): ``connectivity.cfg`` for ``v++ --link``, the data
  movers' HLS components (``movers/``) on the first and last board, and the link transport as a
  packaged RTL kernel (``transport/``: bridge + Aurora 64b/66b or 100G CMAC core, a ``kernel.xml``
  and the Vivado Tcl that packages the ``.xo``);
* Vivado IP flow (Zynq-7000, Virtex-7, VCU118): ``bd/block_design.tcl`` that instantiates the HLS
  IP, the PS or the XDMA PCIe bridge, the memory controller, an AXI DMA and the link transport, and
  ``bd/constraints.xdc`` with the transceiver reference clocks, its fixed address map
  ``bd/address_map.json`` and the start-up program ``startup/startup.cpp`` (codegen.startup);
* ``deploy.json``: the flow, platform, kernels (name, instance, the file a build step produces,
  ports) and connections. ``asymap build`` reads it to run each board's flow, and the tests check
  every name in the cfg and Tcl against it and against the sources that define the ports.

The link transport follows the link protocol's split: framing, sequence numbers and CRC live in the
HLS link kernels; the transport is the one credit bridge of rtl/ (``asymap_xport`` = asymap_bridge_tx
+ asymap_bridge_rx: clock-domain crossing, width conversion, credits) between the kernel's
AXI4-Stream and the transceiver core, so its frames out equal its frames in and none is lost under
back-pressure, which the generated cocotb harness checks (``cocotb/``).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from asymap import __version__
from asymap.cluster.deploy import Deploy, GtPort, board_deploy, type_deploy
from asymap.codegen.rtl_glue import plan_link_glue
from asymap.errors import DeployRefusal, UserError
from asymap.resources import resource_dir
from asymap.util.progress import status

CMAC_MIN_GBPS = 25.0  # links above this use 100G CMAC on QSFP28; at or below, one Aurora 64b/66b lane
CORE_WIDTH = {"cmac": 512, "aurora": 64}  # user-side AXI4-Stream width of each core (PG203, PG074)
CORE_CLOCK_MHZ = {"cmac": 322.265625, "aurora": 156.25}  # user clock of each core at its line rate
HOST_ID = 255
# rtl/ files of the transport: asymap_xport (both directions of a link) and the credit bridge it is built from
BRIDGE_RTL = ("asymap_xport.v", "asymap_bridge_tx.v", "asymap_bridge_rx.v", "asymap_async_fifo.v", "asymap_axis_width.v",
              "asymap_ufc_credit.v",  # the credit channel over Aurora UFC
              "asymap_cmac_credit.v")  # data and credit packets over 100G Ethernet
CMAC_CREDIT_SPACING = 64  # asymap_cmac_credit's SPACING (its default): cycles between credit packets
# asymap_cmac_credit's PKT_ADDR_W (its default): packet bodies of at most 128 link beats, so a packet is
# at most 129 x 64 = 8256 bytes, under the CMAC's default maximum packet length (9600 bytes).
CMAC_PKT_ADDR_W = 7

# Interfaces of the Xilinx IP the block designs instantiate, as their product guides name them
# (PG021 AXI DMA, PG082/PG150 PS7/MIG, PG150 DDR4, PG195 XDMA, PG074 Aurora 64b/66b, PG203 CMAC,
# PG247 SmartConnect). The tests check every pin a generated block design names against this table.
IP_INTERFACES = {
    "xilinx.com:ip:axi_dma": {"S_AXI_LITE", "M_AXI_MM2S", "M_AXI_S2MM", "M_AXIS_MM2S", "S_AXIS_S2MM"},
    "xilinx.com:ip:processing_system7": {"M_AXI_GP0", "M_AXI_GP1", "S_AXI_HP0", "S_AXI_HP1", "DDR", "FIXED_IO"},
    "xilinx.com:ip:mig_7series": {"S_AXI", "DDR3", "SYS_CLK"},
    "xilinx.com:ip:ddr4": {"C0_DDR4_S_AXI", "C0_DDR4", "C0_SYS_CLK"},
    "xilinx.com:ip:xdma": {"M_AXI", "M_AXI_LITE", "pcie_mgt", "pcie_refclk"},
    "xilinx.com:ip:aurora_64b66b": {"USER_DATA_S_AXIS_TX", "USER_DATA_M_AXIS_RX", "GT_SERIAL_RX", "GT_SERIAL_TX",
                                    "GT_DIFF_REFCLK1", "INIT_DIFF_CLK", "UFC_S_AXIS_TX", "UFC_M_AXIS_RX"},
    "xilinx.com:ip:cmac_usplus": {"axis_tx", "axis_rx", "gt_serial_port", "gt_ref_clk"},
    # SmartConnect: NUM_SI and NUM_MI 1..16 (PG247), S00_AXI.. / M00_AXI.. as many as configured.
    "xilinx.com:ip:smartconnect": {f"{d}{i:02d}_AXI" for d in "SM" for i in range(16)},
    "xilinx.com:ip:axis_data_fifo": {"S_AXIS", "M_AXIS"},  # PG085 AXI4-Stream Data FIFO
}


@dataclass
class KernelInst:
    """One compute unit (Vitis) or IP cell (Vivado) a board's build produces or instantiates."""

    kernel: str  # kernel name (HLS top / RTL kernel) or IP VLNV prefix
    instance: str
    origin: str  # hls | rtl | ip
    artifact: str | None  # file a build step writes (relative to the board dir), None for catalog IP
    step: str | None  # the build step that writes it
    ports: dict[str, str]  # port/interface -> axis_in | axis_out | m_axi | s_axilite | gt | clock
    args: dict[str, str] = field(default_factory=dict)  # memory argument -> its m_axi interface (sp= names args)
    dir: str = ""  # the station project that builds it when not this directory (one xclbin per physical board)
    clock_mhz: float | None = None  # the kernel clock its HLS/RTL was built for (v++ --clock.freqHz per CU)


@dataclass
class Transport:
    """The transceiver end of one board-to-board link on one board."""

    role: str  # in | out
    link: int
    peer: str
    gbps: float
    core: str  # cmac | aurora
    port: str  # the board's cage (gt port name)
    lanes: int
    lane: int  # first lane of the cage this link uses (Aurora on a QSFP28 breakout: 0..3)
    refclk_mhz: float
    platform_gt: str | None = None
    platform_refclk: str | None = None
    quad: int | None = None
    refclk_pins: tuple[str, ...] = ()
    latency_ns: float = 0.0  # one way, from the cluster YAML: sizes the credit buffer
    peer_index: int = 0  # the peer's board id (pipeline position): the CMAC packets' destination address
    peer_name: str = ""  # the peer's cluster board name (a refusal names the link ends it conflicts on)


@dataclass
class BoardDeploy:
    name: str
    ident: str
    type: str
    flow: str
    runtime: str
    platform: str | None
    board_part: str | None
    memory_kind: str
    banks: list[str]
    kernels: list[KernelInst] = field(default_factory=list)
    streams: list[tuple[str, str]] = field(default_factory=list)  # (src inst.port, dst inst.port)
    sp: list[tuple[str, str]] = field(default_factory=list)  # (inst.port, bank)
    gt: list[tuple[str, str]] = field(default_factory=list)  # (inst.port, platform interface)
    transports: list[Transport] = field(default_factory=list)
    movers: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unconnected: list[str] = field(default_factory=list)
    linked_by: str | None = None  # another station of this FPGA whose link step builds the one xclbin
    # One kernel per SLR (codegen.segment_slr): the CUs' SLRs (connectivity.slr), the FIFO depth of each
    # stream_connect between them (by its source ``cu.port``) and the HLS components that build the
    # SLR kernels other than the board's top ({kernel, config, work_dir}, built like the movers).
    slr: list[tuple[str, str]] = field(default_factory=list)
    fifo: dict[str, int] = field(default_factory=dict)
    hls_kernels: list[dict] = field(default_factory=list)
    # Link ends that got no transceiver cage (peer's cluster name, in | out, core, the note saying so) and
    # the board's cages: what :func:`check_link_ends` refuses for ``asymap plan`` (not in deploy.json).
    no_cage: list[tuple[str, str, str, str]] = field(default_factory=list)
    gts: tuple[GtPort, ...] = ()

    def kernel(self, instance: str) -> KernelInst:
        return next(k for k in self.kernels if k.instance == instance)


# --- flows ----------------------------------------------------------------------------------------
def flow_context(board_type: str) -> dict:
    """What hls_config.cfg / run_hls.tcl need to know about the flow: Vitis kernels are packaged as
    ``.xo`` (flow_target=vitis), Vivado-flow boards export to the IP catalog (flow_target=vivado,
    UG1399 "Package Options"). Boards without deployment data default to the Vitis flow."""
    dep = type_deploy(board_type) if board_type and not board_type.startswith("custom:") else None
    vivado = dep is not None and dep.flow == "vivado"
    return {"flow_target": "vivado" if vivado else "vitis", "package_format": "ip_catalog" if vivado else "xo"}


def _core_for(gbps: float) -> str:
    return "cmac" if gbps > CMAC_MIN_GBPS else "aurora"


# --- the kernel's own ports -----------------------------------------------------------------------
_PRAGMA = re.compile(r"#pragma\s+HLS\s+INTERFACE\s+mode=(\w+)\s+port=(\w+)(?:.*?bundle=(\w+))?")


def top_ports(top_cpp: str) -> dict[str, str]:
    """Interface ports of a generated top (from its INTERFACE pragmas), as the HLS tools name them:
    AXI4-Stream ports keep the argument name, m_axi arguments become ``m_axi_<bundle>``, s_axilite
    arguments share ``s_axi_control``. Direction of a stream follows the naming (``*_in``/``*_out``)."""
    ports: dict[str, str] = {}
    for mode, port, bundle in _PRAGMA.findall(top_cpp):
        if mode == "axis":
            ports[port] = "axis_in" if port.endswith("_in") or "_in_" in port else "axis_out"
        elif mode == "m_axi":
            ports[f"m_axi_{bundle or 'gmem'}"] = "m_axi"
            ports.setdefault(f"arg:{port}", f"m_axi_{bundle or 'gmem'}")
        elif mode == "s_axilite":
            ports["s_axi_control"] = "s_axilite"
    return ports


def _hls_ports(kind: dict[str, str]) -> dict[str, str]:
    return {p: k for p, k in kind.items() if not p.startswith("arg:")}


# --- transport planning ---------------------------------------------------------------------------
def _transports(dep: Deploy, b, cl_links: dict, notes: list[str], idents: dict[str, str],
                cages: tuple[dict, dict] | None = None, no_cage: list | None = None) -> list[Transport]:
    """The board's link ends (in from the previous board, out to the next) and the cage each uses.
    ``cages``: (lanes taken per cage, peer -> (cage, lane)) shared by the projects of one physical
    board (host-path stations), so the link to a peer keeps its cable in both directions. An end
    that gets no cage is noted (and appended to ``no_cage``: peer, role, core, the note)."""
    ends = []
    if b.link_in.src != HOST_ID:
        ends.append(("in", b.link_in))
    if b.link_out.dst != HOST_ID:
        ends.append(("out", b.link_out))
    out: list[Transport] = []
    used: dict[str, int] = cages[0] if cages is not None else {}  # cage -> lanes taken
    by_peer: dict = cages[1] if cages is not None else {}
    for role, link in ends:
        raw_peer = link.src_name if role == "in" else link.dst_name
        cl = cl_links.get(frozenset((b.name, raw_peer)))
        peer = idents.get(raw_peer, "peer")  # cluster names never reach generated text, their idents do
        gbps = float(cl.gbps) if cl is not None else (100.0 if link.width_bits > 64 else 10.0)
        core = _core_for(gbps)
        need = 4 if core == "cmac" else 1
        gt, lane = by_peer.get(raw_peer, (None, 0))
        if gt is None:
            gt = _pick_cage(dep.gt, used, need, core)
        if gt is None:
            have = ", ".join(f"{g.port} ({g.kind})" for g in dep.gt) or "none"
            notes.append(f"link {link.index} ({role}, {gbps:g} Gb/s to {peer}): no free transceiver cage for "
                         f"{'100G CMAC (a QSFP28)' if core == 'cmac' else 'an Aurora 64b/66b lane'} on "
                         f"{b.type} (cages: {have}); no transport generated for it")
            if no_cage is not None:
                no_cage.append((raw_peer, role, core, notes[-1]))
            continue
        if raw_peer not in by_peer:
            lane = used.get(gt.port, 0)
            used[gt.port] = lane + need
            by_peer[raw_peer] = (gt, lane)
        out.append(Transport(role=role, link=link.index, peer=peer, gbps=gbps, core=core, port=gt.port,
                             lanes=need, lane=lane, refclk_mhz=gt.refclk_mhz, platform_gt=gt.platform_gt,
                             platform_refclk=gt.platform_refclk, quad=gt.quad, refclk_pins=gt.refclk_pins,
                             latency_ns=float(getattr(cl, "latency_ns", 0.0) or 0.0),
                             peer_index=int(link.src if role == "in" else link.dst), peer_name=raw_peer))
    return out


def _pick_cage(gts: tuple[GtPort, ...], used: dict[str, int], need: int, core: str) -> GtPort | None:
    """A cage with ``need`` free lanes: CMAC needs a whole QSFP28 on GTY (UltraScale+ only); an
    Aurora lane prefers an unused cage, else shares a QSFP28 through a breakout cable."""
    ok = [g for g in gts if g.lanes >= need and (core != "cmac" or g.gt_type == "GTY")]
    for g in ok:
        if used.get(g.port, 0) == 0:
            return g
    for g in ok:
        if g.lanes - used.get(g.port, 0) >= need:
            return g
    return None


# --- per-board kernels and connections ------------------------------------------------------------
# Memory arguments that move little in steady state, so they are the first to share a bank: the
# start-up image of URAM weights (read once), s2mm's TLAST flags (one byte per link beat) and its
# beat count (one word per call); every other argument moves a tensor or the weights per image.
LIGHT_ARGS = ("wpre", "last", "count")
MEMORY_ARGS = ("wmem", "wpre")  # a segment top's m_axi arguments (templates/project/top.cpp.j2)


def assign_banks(ports: list[str], banks: list[str]) -> list[tuple[str, str]]:
    """Memory bank of every m_axi argument (``inst.arg``) of one ``v++ --link``: one bank each while
    the platform has banks (on HBM parts a pseudo channel per m_axi port is the bandwidth-friendly
    default, UG1352 "HBM" guidance; on DDR each bank has its own controller). Assigned per physical
    board, over every chain entry linked into its one xclbin, so two entries never share a bank by
    accident. With more ports than banks the light arguments (``LIGHT_ARGS``) are placed last and
    share first; a bank shared by heavy ports splits its bandwidth between them (see
    :func:`bank_sharing`). Order of ``ports`` is kept in the result."""
    order = sorted(range(len(ports)), key=lambda i: (ports[i].rpartition(".")[2] in LIGHT_ARGS, i))
    out: list[tuple[str, str] | None] = [None] * len(ports)
    for n, i in enumerate(order):
        out[i] = (ports[i], banks[n % len(banks)])
    return [x for x in out if x is not None]


def bank_sharing(sp: list[tuple[str, str]], banks: list[str]) -> list[str]:
    """One note per bank that carries several ports, saying what the sharing costs."""
    on: dict[str, list[str]] = {}
    for port, bank in sp:
        on.setdefault(bank, []).append(port)
    notes = []
    for bank, ports in on.items():
        if len(ports) < 2:
            continue
        heavy = [p for p in ports if p.rpartition(".")[2] not in LIGHT_ARGS]
        cost = (f"the {len(heavy)} streaming ports ({', '.join(heavy)}) split its bandwidth"
                if len(heavy) > 1 else "the others are light (start-up weights, TLAST flags, beat count): "
                "negligible bandwidth")
        notes.append(f"memory bank {bank} is shared by {', '.join(ports)} ({len(sp)} memory ports, "
                     f"{len(banks)} banks on this platform); {cost}")
    return notes


# Arguments of the data movers (templates/deploy/mover.cpp.j2) and the m_axi bundle of each.
MOVER_ARGS = {"mm2s": {"mem": "m_axi_gmem0"},
              "s2mm": {"mem": "m_axi_gmem0", "last": "m_axi_gmem1", "count": "m_axi_gmem2"}}


def _mover(kind: str, width: int, bd: BoardDeploy, clock_mhz: float | None = None) -> KernelInst:
    name = f"asymap_{kind}"
    wd = f"hls_{kind}"
    ports = {("out" if kind == "mm2s" else "in"): ("axis_out" if kind == "mm2s" else "axis_in"),
             "s_axi_control": "s_axilite"}
    ports.update({bundle: "m_axi" for bundle in MOVER_ARGS[kind].values()})
    bd.movers.append({"kind": kind, "kernel": name, "width_bits": width, "config": f"hls_config_{kind}.cfg",
                      "source": f"movers/{kind}.cpp", "work_dir": wd})
    return KernelInst(name, f"{kind}_1", "hls", f"{wd}/{name}.xo", "export", ports, dict(MOVER_ARGS[kind]),
                      clock_mhz=clock_mhz)


def _xport_instance(t: Transport) -> str:
    """The transport kernel's compute unit: one per cage (and lane of a QSFP28 breakout)."""
    return f"xport_{t.port}" + (f"_l{t.lane}" if t.lane else "")


def _xport_kernel(t: Transport, width: int, clock_mhz: float | None = None) -> KernelInst:
    dirs = "rx" if t.role == "in" else "tx"
    name = f"asymap_xport_{t.core}_{dirs}_w{width}"
    ports = {"m_axis_rx": "axis_out"} if dirs == "rx" else {"s_axis_tx": "axis_in"}
    ports.update({"gt_serial_port": "gt", "gt_refclk": "clock"})
    return KernelInst(name, _xport_instance(t), "rtl",
                      f"transport/{name}.xo", "export", ports, clock_mhz=clock_mhz)


def kernel_source(text: str, name: str) -> str:
    """The definition of the kernel ``name`` in a source that defines several (one per SLR)."""
    m = re.search(rf"^void\s+{re.escape(name)}\s*\(", text, re.M)
    if not m:
        return ""
    end = text.find("\n}\n", m.start())
    return text[m.start():end + 3 if end >= 0 else len(text)]


def plan_board(b, dep: Deploy | None, top_cpp: str, wmem: bool, first: bool, last: bool, cl_links: dict,
               idents: dict[str, str] | None = None, cages: tuple[dict, dict] | None = None,
               split: dict | None = None) -> BoardDeploy:
    """Kernels, connections and transports of one board (``b``: codegen.chain.BoardSpec).
    ``split``: chain.json ``boards[].slr`` of a board with one kernel per SLR (its kernels and the
    streams between them): the first kernel takes link in and memory, the last one link out, every
    CU gets its SLR, the movers and transports the SLR of the kernel their stream ends in."""
    if dep is None:
        bd = BoardDeploy(b.name, b.ident, b.type, "none", "none", None, None, "none", [])
        bd.notes.append(f"board type {b.type!r} has no deployment data (a 'deploy:' block); "
                        "only C-simulation and HLS synthesis are generated")
        return bd
    bd = BoardDeploy(b.name, b.ident, b.type, dep.flow, dep.runtime, dep.platform, dep.board_part,
                     dep.memory_kind, list(dep.banks))
    ports = top_ports(kernel_source(top_cpp, b.top) if split else top_cpp)
    top = KernelInst(b.top, f"{b.top}_1" if dep.flow == "vitis" else f"{b.top}_0", "hls",
                     f"hls_{b.ident}/{b.top}.xo" if dep.flow == "vitis" else f"hls_{b.ident}",
                     "export", _hls_ports(ports), {p[4:]: k for p, k in ports.items() if p.startswith("arg:")},
                     clock_mhz=b.clock_mhz)
    bd.kernels.append(top)
    out = top  # the CU whose link_out leaves the board
    place: dict[str, int] = {}  # CU -> SLR (split boards only)
    if split:  # Vitis: CUs <kernel>_1 (connectivity.cfg); Vivado flow: IP cells <kernel>_0 (block design)
        cu = top.instance[len(b.top):]
        place[top.instance] = split["kernels"][0]["slr"]
        for k in split["kernels"][1:]:
            kp = _hls_ports(top_ports(kernel_source(top_cpp, k["kernel"])))
            out = KernelInst(k["kernel"], f"{k['kernel']}{cu}", "hls", f"{k['work_dir']}/{k['kernel']}.xo"
                             if dep.flow == "vitis" else k["work_dir"], "export", kp, clock_mhz=b.clock_mhz)
            bd.kernels.append(out)
            bd.hls_kernels.append({"kernel": k["kernel"], "config": k["config"], "work_dir": k["work_dir"]})
            place[out.instance] = k["slr"]
        for x in split["streams"]:
            src, dst = (f"{e.split('.')[0]}{cu}.{e.split('.')[1]}" for e in (x["from"], x["to"]))
            bd.streams.append((src, dst))
            bd.fifo[src] = int(x["depth"])
    bd.gts = dep.gt
    bd.transports = _transports(dep, b, cl_links, bd.notes, idents or {}, cages, bd.no_cage)
    if dep.flow == "vivado":  # the block design (block_design.tcl) wires the Vivado-flow board
        bd.slr = [(k, f"SLR{n}") for k, n in place.items()]  # pblocks in bd/constraints.xdc
        roles = {t.role for t in bd.transports}
        for role, port, needed in (("in", "link_in", b.link_in.src != HOST_ID), ("out", "link_out", b.link_out.dst != HOST_ID)):
            if needed and role not in roles:
                if dep.runtime == "ps":
                    bd.notes.append(f"{port}: no transceiver for this link; the AXI DMA moves its frames to the "
                                    "Arm, which forwards them over the PS Ethernet in software (not line rate)")
                else:
                    bd.unconnected.append(f"{(top if port == 'link_in' else out).instance}.{port}")
        return bd
    mem: list[str] = []  # m_axi arguments; banks are assigned below, and again per physical board
    if wmem:
        mem.append(f"{top.instance}.wmem")
    if "arg:wpre" in ports:  # the start-up image of URAM weights (asymap/preload.h)
        mem.append(f"{top.instance}.wpre")
    if first:
        mm2s = _mover("mm2s", b.link_in.width_bits, bd, b.clock_mhz)
        bd.kernels.append(mm2s)
        bd.streams.append((f"{mm2s.instance}.out", f"{top.instance}.link_in"))
        mem.append(f"{mm2s.instance}.mem")
    if last:
        s2mm = _mover("s2mm", b.link_out.width_bits, bd, b.clock_mhz)
        bd.kernels.append(s2mm)
        bd.streams.append((f"{out.instance}.link_out", f"{s2mm.instance}.in"))
        for arg in MOVER_ARGS["s2mm"]:
            mem.append(f"{s2mm.instance}.{arg}")
    bd.sp = assign_banks(mem, bd.banks)
    for t in bd.transports:
        width = b.link_in.width_bits if t.role == "in" else b.link_out.width_bits
        k = _xport_kernel(t, width, b.clock_mhz)
        have = next((x for x in bd.kernels if x.instance == k.instance), None)
        both = _xport_both(*((have, k) if "_rx_" in have.kernel else (k, have))) if have is not None else None
        if both is not None:  # both directions of one cable (host path): one bidirectional kernel
            bd.kernels[bd.kernels.index(have)] = k = both
        else:
            if have is not None:
                k.instance += f"_{t.role}"
                bd.notes.append(f"{t.port}: {have.kernel} and {k.kernel} cannot be one transport kernel; both "
                                "claim the same GT, which v++ rejects")
            bd.kernels.append(k)
        if t.role == "in":
            bd.streams.append((f"{k.instance}.m_axis_rx", f"{top.instance}.link_in"))
        else:
            bd.streams.append((f"{out.instance}.link_out", f"{k.instance}.s_axis_tx"))
        if t.platform_gt and t.platform_refclk:
            for pair in ((f"{k.instance}.gt_serial_port", t.platform_gt), (f"{k.instance}.gt_refclk", t.platform_refclk)):
                if pair not in bd.gt:
                    bd.gt.append(pair)
        else:
            bd.notes.append(f"transport {k.instance}: the platform {dep.platform} exposes no GT interface to "
                            "kernels; link it against a custom platform that does and give its interface names "
                            "as platform_gt/platform_refclk in the board's deploy block")
    connected = {s for pair in bd.streams for s in pair}
    for k in [k for k in bd.kernels if k.origin == "hls" and not k.kernel.startswith("asymap_")]:
        for p, kind in k.ports.items():
            if kind.startswith("axis") and f"{k.instance}.{p}" not in connected:
                bd.unconnected.append(f"{k.instance}.{p}")
    if place:  # movers and transports sit in the SLR of the kernel their stream ends in
        for a, z in bd.streams:
            ka, kz = a.split(".")[0], z.split(".")[0]
            if kz in place and ka not in place:
                place[ka] = place[kz]
            elif ka in place and kz not in place:
                place[kz] = place[ka]
        bd.slr = [(k.instance, f"SLR{place[k.instance]}") for k in bd.kernels if k.instance in place]
    return bd


# --- one xclbin per physical board -------------------------------------------------------------------
def check_cages(specs: list, boards: list[BoardDeploy]) -> None:
    """Refuse, in one line naming the board, the cage and the links, the two transceiver uses one
    FPGA's build cannot link:

    * two links on lanes of one QSFP28 through a breakout cable on an Alveo card: the platform
      exposes the cage as ONE GT interface (``io_gt_qsfp0_00``, all four lanes), and one interface
      connects to one kernel's GT port, so the two Aurora transport kernels cannot both be linked;
      on a Vivado-flow board the block design would hold one Aurora core per lane, but sets neither
      the GT channel of each lane nor one shared reference-clock buffer for the quad (two cores
      with their own IBUFDS_GTE on one pin pair do not place);
    * two chain entries sending (or receiving) on one cable in the same direction: a host-path hop
      over a pipeline link the same way (plan.json ``shared``). ``asymap_xport`` has one send and one
      receive side and one credit window per direction; two streams on one side would need a frame
      arbiter and a credit window per stream (a shared window lets one stalled consumer block the
      other's frames, a deadlock when the blocked stream feeds the stalled one), which the link
      protocol does not have (docs/deploy.md, "One xclbin per FPGA")."""
    phys: dict[str, list[tuple]] = {}
    for b, bd in zip(specs, boards):
        if bd.flow in ("vitis", "vivado"):
            phys.setdefault(b.name, []).extend((b, bd, t) for t in bd.transports)
    for name, ends in phys.items():
        side: dict[tuple[str, int, str], tuple] = {}
        for b, bd, t in ends:
            key = (t.port, t.lane, t.role)
            if key in side:
                b0, _, t0 = side[key]
                way = "send to" if t.role == "out" else "receive from"
                raise DeployRefusal(
                    f"board {name!r}: chain entries {b0.ident} (link {t0.link}) and {b.ident} (link {t.link}) would both "
                    f"{way} {t.peer} on cage {t.port}, one cable in one direction; the host path's route runs over a "
                    "pipeline link the same way (plan.json 'shared'), which one transport cannot carry: change the "
                    "cluster YAML so the host's route avoids it (host: attach to another board, or a direct link), "
                    "then re-run 'asymap plan'", name, [(t0.peer_name, t0.role), (t.peer_name, t.role)])
            side[key] = (b, bd, t)
        lanes: dict[str, dict[int, tuple]] = {}
        for b, bd, t in ends:
            if bd.flow == "vivado" or t.platform_gt:
                lanes.setdefault(t.port, {}).setdefault(t.lane, (b, bd, t))
        for cage, by_lane in lanes.items():
            if len(by_lane) > 1:
                uses = [by_lane[k] for k in sorted(by_lane)]
                links = " and ".join(f"link {t.link} ({t.gbps:g} Gb/s {'to' if t.role == 'out' else 'from'} {t.peer}, "
                                     f"lane {t.lane})" for _, _, t in uses)
                why = (f"the platform exposes the cage as one GT interface ({uses[0][2].platform_gt}) that only one "
                       "transport kernel can use" if uses[0][1].flow == "vitis" else
                       "the block design would put one Aurora core per lane on the quad without a GT channel "
                       "placement per lane or one shared reference-clock buffer")
                # Which links share a cage follows from all the board's peers: with Aurora lanes only, any plan
                # giving it all of them is refused ("all"); a 100G CMAC takes a whole cage when one is free
                # when its turn comes, so with one the order matters and only this plan's links are named.
                rule = "all" if all(t.core == "aurora" for _, _, t in ends) else "features"
                raise DeployRefusal(
                    f"board {name!r} ({uses[0][0].type}): {links} would share cage {cage} through a breakout cable, but "
                    f"{why}; in the cluster YAML give {name!r} no more neighbours than cages (e.g. make it an end of "
                    "the chain), then re-run 'asymap plan'", name, [(t.peer_name, t.role) for _, _, t in ends], rule)


def _cages_fit(gts: tuple[GtPort, ...], cores: list[str]) -> bool:
    """Whether some assignment gives every peer (its core: cmac | aurora) a cage, as _pick_cage
    could at best: a 100G CMAC a whole QSFP28 on GTY, an Aurora lane one lane of any cage
    (whatever the order the peers come in; a handful of peers and cages, so by trying them all)."""
    import itertools

    need = [4 if c == "cmac" else 1 for c in cores]
    for pick in itertools.product(range(len(gts)), repeat=len(cores)):
        used = [0] * len(gts)
        ok = True
        for g, c, n in zip(pick, cores, need):
            ok = gts[g].lanes >= n and (c != "cmac" or (gts[g].gt_type == "GTY" and used[g] == 0))
            used[g] += n if c == "aurora" else gts[g].lanes
            if not ok or used[g] > gts[g].lanes:
                ok = False
                break
        if ok:
            return True
    return not cores


def check_link_ends(specs: list, boards: list[BoardDeploy]) -> None:
    """Refuse a link end that gets no transceiver cage where ``asymap build --step link`` refuses the
    board (its link port stays unconnected: Vitis-flow boards, and Vivado-flow boards without a
    processor; a Zynq-7000 PS forwards such a link's frames in software instead). ``generate`` writes
    such a tree with a note (it C-simulates and synthesizes); ``asymap plan`` passes this check too,
    so it never returns a plan the build refuses (docs/deploy.md, "Avoided where the plan is made").

    Which plans share the refusal follows from the board's peers (both directions to one peer use
    one cage): a peer no cage of the board can carry refuses every plan linking the two ("any"); a
    set of peers no assignment of cages can carry refuses every plan giving the board all of them
    ("all", the smallest such set found); otherwise only the order of the greedy assignment failed,
    and only plans with this plan's ends on the board are refused ("features")."""
    phys: dict[str, list[BoardDeploy]] = {}
    for b, bd in zip(specs, boards):
        if bd.flow in ("vitis", "vivado"):
            phys.setdefault(b.name, []).append(bd)
    for name, parts in phys.items():
        bd0 = parts[0]
        if bd0.flow == "vivado" and bd0.runtime == "ps":
            continue
        missing = [m for bd in parts for m in bd.no_cage]
        if not missing:
            continue
        peers: dict[str, str] = {}  # every peer of the physical board -> its core
        ends: list[tuple[str, str]] = []
        for bd in parts:
            for t in bd.transports:
                peers.setdefault(t.peer_name, t.core)
                ends.append((t.peer_name, t.role))
            for p, role, core, _ in bd.no_cage:
                peers.setdefault(p, core)
                ends.append((p, role))
        alone = [p for p in peers if not _cages_fit(bd0.gts, [peers[p]])]
        if alone:
            rule, named = "any", [e for e in ends if e[0] in alone]
        elif not _cages_fit(bd0.gts, list(peers.values())):
            need = list(peers)
            for p in list(need):  # the smallest set found that no assignment carries
                rest = [q for q in need if q != p]
                if not _cages_fit(bd0.gts, [peers[q] for q in rest]):
                    need = rest
            rule, named = "all", [e for e in ends if e[0] in need]
        else:
            rule, named = "features", ends
        _, _, _, note = missing[0]
        raise DeployRefusal(
            f"board {name!r} ({bd0.type}): {note}, so 'asymap build --step link' would refuse the board; in the "
            f"cluster YAML link {name!r} only to as many peers as its cages carry (or give it a deploy block "
            "with the cage a card adds), then re-run 'asymap plan'", name, named, rule)


def _xport_both(rx: KernelInst, tx: KernelInst) -> KernelInst | None:
    """One transport kernel for both directions of a cage: asymap_xport has a transmit and a receive
    side, so the rx kernel of one station and the tx kernel of another on the same cage become one
    instance (the ``rxtx`` variant of templates/deploy/xport_kernel.v.j2), which v++ needs: one GT
    is claimed by one kernel. The two links of a cage may differ in kernel width (asymap_xport's KW for
    the send side, KW_RX for the receive side): the name says both, ``..._rxtx_w<send>[_r<receive>]``."""
    (ca, da, wa), (cb, db, wb) = (k.kernel.split("_")[2:5] for k in (rx, tx))
    if (da, db) != ("rx", "tx") or ca != cb:
        return None
    name = f"asymap_xport_{ca}_rxtx_{wb}" + (f"_r{wa[1:]}" if wa != wb else "")
    return KernelInst(name, rx.instance, "rtl", f"transport/{name}.xo", "export",
                      {"m_axis_rx": "axis_out", "s_axis_tx": "axis_in", "gt_serial_port": "gt", "gt_refclk": "clock"},
                      clock_mhz=tx.clock_mhz)


def merge_physical(specs: list, boards: list[BoardDeploy]) -> list[BoardDeploy]:
    """What each station's directory links: a physical board that carries several chain entries (a
    stage and a host-path forwarding station, or two stations) is one FPGA, so its first station's
    link step builds the one xclbin the host program loads, with every station's kernel (distinct
    compute-unit names: the tops differ per station), the movers and one transport kernel per cage.
    The other stations keep their projects (C-sim, HLS, export of their own kernels) and link nothing.
    On the Vivado flow the first station's block design holds every station's IP the same way."""
    groups: dict[str, list[int]] = {}
    for i, b in enumerate(specs):
        groups.setdefault(b.name, []).append(i)
    out = list(boards)
    for idx in groups.values():
        if len(idx) < 2:
            continue
        first = idx[0]
        if len({boards[i].flow for i in idx}) != 1 or boards[first].flow not in ("vitis", "vivado"):
            continue  # no deployment data: nothing is linked
        m = replace(boards[first], kernels=[], streams=[], sp=[], gt=[], transports=[], notes=[], unconnected=[],
                    movers=list(boards[first].movers), slr=[], fifo={}, hls_kernels=list(boards[first].hls_kernels))
        owner: dict[str, str] = {}  # transport instance -> the entry that first placed it
        for i in idx:
            bd, own = boards[i], specs[i].ident
            rename: dict[str, str] = {}
            for k in bd.kernels:
                if k.origin != "rtl":
                    m.kernels.append(k if i == first else replace(k, dir=own, artifact=f"../{own}/{k.artifact}"))
                    continue
                have = next((x for x in m.kernels if x.instance == k.instance), None)
                if have is None:
                    owner[k.instance] = own
                    m.kernels.append(k)
                elif have.kernel != k.kernel:
                    pair = (have, k) if "_rx_" in have.kernel else (k, have)
                    both = _xport_both(*pair)
                    if both is not None and have.clock_mhz != k.clock_mhz:
                        # asymap_xport has one kernel clock (k_clk) for both directions.
                        raise DeployRefusal(
                            f"board {specs[first].name!r}: cage {k.instance[len('xport_'):]} carries the links of chain "
                            f"entries {owner[have.instance]} ({have.clock_mhz:g} MHz) and {own} ({k.clock_mhz:g} MHz) "
                            "through one transport kernel, which has one kernel clock; give the board one clock_mhz "
                            "in the cluster YAML and re-run 'asymap plan'", specs[first].name,
                            [(t.peer_name, t.role) for i2 in idx for t in boards[i2].transports])
                    if both is not None:
                        m.kernels[m.kernels.index(have)] = both
                    else:
                        rename[k.instance] = f"{k.instance}_{own}"
                        m.kernels.append(replace(k, instance=rename[k.instance]))
                        m.notes.append(f"{k.instance}: {have.kernel} and {k.kernel} cannot be one transport kernel; "
                                       "both claim one GT, which v++ rejects")

            def ren(end: str, rename=rename) -> str:
                inst, _, port = end.partition(".")
                return f"{rename.get(inst, inst)}.{port}"
            for lst, src in ((m.streams, bd.streams), (m.sp, bd.sp), (m.gt, bd.gt)):
                for a, b in src:
                    pair = (ren(a), b if lst is not m.streams else ren(b))
                    if pair not in lst:
                        lst.append(pair)
            m.transports += bd.transports
            m.notes += bd.notes
            m.unconnected += [ren(u) for u in bd.unconnected]
            m.slr += [x for x in ((ren(f"{cu}.")[:-1], n) for cu, n in bd.slr) if x not in m.slr]
            m.fifo.update({ren(src): d for src, d in bd.fifo.items()})
        m.sp = assign_banks([p for p, _ in m.sp], m.banks)  # distinct banks over the whole FPGA
        out[first] = m
        for i in idx[1:]:
            out[i] = replace(boards[i], kernels=[k for k in boards[i].kernels if k.origin != "rtl"], streams=[], sp=[],
                             gt=[], unconnected=[], linked_by=specs[first].ident, notes=[], slr=[], fifo={})
    return out


# --- rendering --------------------------------------------------------------------------------------
def cu_clocks(bd: BoardDeploy) -> list[tuple[int, list[str]]]:
    """Kernel clock of every compute unit of one ``v++ --link``, as ``[clock] freqHz=<Hz>:<cu>[,<cu>]``
    lines take it (UG1393 "--clock Options": ``--clock.freqHz=<Hz>:<cu_0>[.<clk_pin_0>][,<cu_n>...]``;
    config-file section ``[clock]``, UG1393 "Vitis Compiler Configuration File"). Each CU runs at the
    clock its HLS was synthesized for (hls_config.cfg ``clock``) or, for the transport and the movers,
    the clock of the chain entry whose streams they carry; without these lines v++ puts every CU on
    the platform's default clock (300 MHz on the Alveo shells), above the 250 MHz the kernels were
    built for. Frequencies in whole Hz, highest first."""
    by_hz: dict[int, list[str]] = {}
    for k in bd.kernels:
        if k.clock_mhz:
            by_hz.setdefault(int(round(k.clock_mhz * 1e6)), []).append(k.instance)
    return sorted(by_hz.items(), reverse=True)


def _credit_sizing(b, t: Transport, kw: int):
    """The credit bridge's buffers of one link end, sized as for the RTL glue from the cluster
    link's latency, the core's user clock and the link's line rate (the beats a round trip holds at
    the line rate: rtl_glue.rtt_line_beats; docs/link-protocol.md section 5); both ends of a link
    get the same numbers because they are sized from the same link. On CMAC the sender stores a
    packet body (up to 2**CMAC_PKT_ADDR_W link beats) before the MAC sees it and the credit word
    rides between packets, so the receive buffer also holds one packet body and the credit word's
    extra age (a packet plus the credit spacing), and the idle resync waits that much longer."""
    def plan(rx_buffer_beats=None):
        return plan_link_glue(f"{b.ident}.{t.port}", t.peer, kernel_width_bits=kw, link_width_bits=CORE_WIDTH[t.core],
                              kernel_clock_mhz=b.clock_mhz, link_gbps=t.gbps, link_latency_ns=t.latency_ns,
                              link_clock_mhz=CORE_CLOCK_MHZ[t.core], rx_buffer_beats=rx_buffer_beats)

    glue = plan()
    if t.core != "cmac":
        return glue
    body, pack = 1 << CMAC_PKT_ADDR_W, glue.rx_pack
    need = -(-glue.rtt_beats // pack) + 16 + -(-body // pack) + -(-(body + 1 + CMAC_CREDIT_SPACING) // pack)
    glue = plan(1 << (need - 1).bit_length())
    return replace(glue, idle_cycles=glue.idle_cycles + 2 * (body + 1 + CMAC_CREDIT_SPACING))


def _bd_cells(bd: BoardDeploy, parts: list[tuple]) -> dict:
    """Cells and nets of a Vivado-flow block design (all names decided here, the template only prints).
    ``parts``: (spec, its own BoardDeploy, wmem, first, last) of every chain entry on this FPGA, the
    first one the board's own: one block design holds every entry's HLS IP, one PS or XDMA, one memory
    controller, the DMA and one transceiver core + bridge per cage (both directions when two entries,
    or one entry's two links, use the same cage)."""
    b = parts[0][0]
    family7 = b.part.startswith("xc7")
    cells: list[dict] = [{"name": f"{p[0].top}_0", "vlnv": f"xilinx.com:hls:{p[0].top}:1.0", "kind": "hls"}
                         for p in parts]
    nets: list[tuple[str, str]] = []
    pins: list[tuple[str, str]] = []  # plain (non-interface) pin nets: clocks and resets
    external: list[str] = []
    ctrl_masters: list[str] = []
    mem_masters: list[str] = []
    top = f"{b.top}_0"
    # One IP per SLR (codegen.segment_slr): the other SLR kernels of each entry, on the one kernel clock,
    # joined by AXI4-Stream Data FIFOs of the stream's depth (PG085: 16..32768, a power of two), each
    # cell in a pblock of its SLR (constraints.xdc); link out leaves from the entry's last kernel.
    out_cell = {p[0].ident: f"{p[0].top}_0" for p in parts}
    pblocks: list[tuple[str, int]] = []
    repos: list[str] = []
    for sb, own, *_ in parts:
        rel = "" if sb is b else f"../{sb.ident}/"
        repos += [rel + k["work_dir"] for k in own.hls_kernels]
        for k in own.kernels[1:]:
            if k.origin == "hls" and not k.kernel.startswith("asymap_"):
                cells.append({"name": k.instance, "vlnv": f"xilinx.com:hls:{k.kernel}:1.0", "kind": "hls"})
                pins += [(f"{top}/ap_clk", f"{k.instance}/ap_clk"), (f"{top}/ap_rst_n", f"{k.instance}/ap_rst_n")]
                out_cell[sb.ident] = k.instance
        for a, z in own.streams:
            if a in own.fifo:
                fifo = f"fifo_{a.replace('.', '_')}"
                cells.append({"name": fifo, "vlnv": "xilinx.com:ip:axis_data_fifo", "kind": "fifo",
                              "depth": max(16, 1 << (own.fifo[a] - 1).bit_length())})
                nets += [(a.replace(".", "/"), f"{fifo}/S_AXIS"), (f"{fifo}/M_AXIS", z.replace(".", "/"))]
                pins += [(f"{top}/ap_clk", f"{fifo}/s_axis_aclk"), (f"{top}/ap_rst_n", f"{fifo}/s_axis_aresetn")]
        pblocks += [(cell, int(n[3:])) for cell, n in own.slr]
    if bd.runtime == "ps":
        cells.append({"name": "ps7", "vlnv": "xilinx.com:ip:processing_system7", "kind": "ps", "gp1": False})
        ctrl_src = "ps7/M_AXI_GP0"
        external += ["ps7/DDR", "ps7/FIXED_IO"]
    else:
        cells.append({"name": "xdma_0", "vlnv": "xilinx.com:ip:xdma", "kind": "pcie"})
        ctrl_src = "xdma_0/M_AXI_LITE"
        mem_masters.append("xdma_0/M_AXI")
        external += ["xdma_0/pcie_mgt", "xdma_0/pcie_refclk"]
    mem_target = None
    if bd.memory_kind == "MIG":
        vlnv = "xilinx.com:ip:mig_7series" if family7 else "xilinx.com:ip:ddr4"
        cells.append({"name": "mem_0", "vlnv": vlnv, "kind": "mig", "board_interface": _mig_interface(b.type)})
        mem_target = "mem_0/S_AXI" if family7 else "mem_0/C0_DDR4_S_AXI"
        external += ["mem_0/DDR3", "mem_0/SYS_CLK"] if family7 else ["mem_0/C0_DDR4", "mem_0/C0_SYS_CLK"]
    else:
        mem_target = "ps7/S_AXI_HP0"
    if bd.runtime == "ps" and bd.memory_kind == "MIG":  # the PS writes the images into PL memory (startup.cpp)
        mem_masters.append("ps7/M_AXI_GP1")
        next(c for c in cells if c["kind"] == "ps")["gp1"] = True
    for sb, own, _, _, _ in parts:
        ctrl_masters.append(f"{sb.top}_0/s_axi_control")
        # Every memory argument of the entry's first kernel reaches memory: the off-chip weights
        # (wmem, m_axi_gmem0) and the start-up image of its URAM weights (wpre, m_axi_gmem1).
        args = own.kernels[0].args if own.kernels else {}
        mem_masters += [f"{sb.top}_0/{args[a]}" for a in MEMORY_ARGS if a in args]
    for sb, *_ in parts[1:]:  # every kernel on the one kernel clock (the clock automation drives the first)
        pins.append((f"{top}/ap_clk", f"{sb.top}_0/ap_clk"))
    # The AXI DMA feeds link_in from memory (first board: the host's images; a Zynq-7000 board whose
    # link has no transceiver: frames the Arm receives over the PS Ethernet) and drains link_out.
    soft = bd.runtime == "ps"
    feeds = [(sb, f"{sb.top}_0") for sb, own, _, first, _ in parts
             if first or ("in" not in {t.role for t in own.transports} and soft)]
    drains = [(sb, out_cell[sb.ident]) for sb, own, _, _, last in parts
              if last or ("out" not in {t.role for t in own.transports} and soft)]
    for i in range(max(len(feeds), len(drains))):
        dma = f"dma_{i}"
        feed = feeds[i] if i < len(feeds) else None
        drain = drains[i] if i < len(drains) else None
        w_in = feed[0].link_in.width_bits if feed else drain[0].link_out.width_bits
        w_out = drain[0].link_out.width_bits if drain else w_in
        cells.append({"name": dma, "vlnv": "xilinx.com:ip:axi_dma", "kind": "dma", "mm2s": feed is not None,
                      "s2mm": drain is not None, "mm2s_width": w_in, "s2mm_width": w_out})
        ctrl_masters.append(f"{dma}/S_AXI_LITE")
        if feed:
            nets.append((f"{dma}/M_AXIS_MM2S", f"{feed[1]}/link_in"))
            mem_masters.append(f"{dma}/M_AXI_MM2S")
        if drain:
            nets.append((f"{drain[1]}/link_out", f"{dma}/S_AXIS_S2MM"))
            mem_masters.append(f"{dma}/M_AXI_S2MM")
    # One transceiver core and bridge per cage; its receive side feeds the entry whose link comes in
    # there, its send side takes the entry whose link goes out there (asymap_xport: both directions).
    cages: dict[tuple[str, int], dict[str, tuple]] = {}
    for sb, own, *_ in parts:
        for t in own.transports:
            cages.setdefault((t.port, t.lane), {})[t.role] = (sb, t)
    used: list[Transport] = []
    for ends in cages.values():
        sb_in, t_in = ends.get("in", (None, None))
        sb_out, t_out = ends.get("out", (None, None))
        t = t_out or t_in
        used.append(t)
        cage = t.port + (f"_l{t.lane}" if t.lane else "")  # a lane of a QSFP28 breakout: a core of its own
        core_cell = f"{t.core}_{cage}"
        br = f"bridge_{cage}"
        vlnv = "xilinx.com:ip:cmac_usplus" if t.core == "cmac" else "xilinx.com:ip:aurora_64b66b"
        cells.append({"name": core_cell, "vlnv": vlnv, "kind": t.core, "transport": asdict(t)})
        kw = sb_out.link_out.width_bits if t_out else sb_in.link_in.width_bits
        glue = _credit_sizing(sb_out or sb_in, t, kw)
        config = {"KW": kw, "CW": CORE_WIDTH[t.core], "RX_ADDR_W": glue.rx_addr_w, "IDLE_CYCLES": glue.idle_cycles}
        if t_in and t_out:  # both directions: the receive side at its own link's width and buffer
            kw_rx = sb_in.link_in.width_bits
            config.update(RX_ADDR_W=_credit_sizing(sb_in, t_in, kw_rx).rx_addr_w, KW_RX=kw_rx,
                          FAR_ADDR_W=glue.rx_addr_w)
        cells.append({"name": br, "module": "asymap_xport", "kind": "bridge", "config": config})
        # The credit channel (docs/link-protocol.md section 5), as in the Vitis-flow transport kernel:
        # on CMAC asymap_cmac_credit sits between the bridge and the MAC (data and credit packets), on
        # Aurora asymap_ufc_credit carries the credit words as UFC messages beside the data.
        if t.core == "cmac":
            mac = f"pkt_{cage}"
            cells.append({"name": mac, "module": "asymap_cmac_credit", "kind": "credit",
                          "config": {"PKT_ADDR_W": CMAC_PKT_ADDR_W, "RX_PACK": max(1, kw // CORE_WIDTH["cmac"])}})
            nets += [(f"{br}/m_axis_c", f"{mac}/s_data"), (f"{mac}/tx_axis", f"{core_cell}/axis_tx"),
                     (f"{core_cell}/axis_rx", f"{mac}/rx_axis"), (f"{mac}/m_data", f"{br}/s_axis_c"),
                     (f"{br}/m_axis_cc", f"{mac}/s_cc"), (f"{mac}/m_cc", f"{br}/s_axis_cc")]
            pins += [(f"{core_cell}/gt_txusrclk2", f"{mac}/clk"), (f"{core_cell}/usr_tx_reset", f"{mac}/rst")]
        else:
            ufc = f"ufc_{cage}"
            cells.append({"name": ufc, "module": "asymap_ufc_credit", "kind": "credit", "config": {}})
            nets += [(f"{br}/m_axis_c", f"{core_cell}/USER_DATA_S_AXIS_TX"),
                     (f"{core_cell}/USER_DATA_M_AXIS_RX", f"{br}/s_axis_c"),
                     (f"{br}/m_axis_cc", f"{ufc}/s_cc"), (f"{ufc}/m_cc", f"{br}/s_axis_cc"),
                     (f"{ufc}/s_axi_ufc_tx", f"{core_cell}/UFC_S_AXIS_TX"),
                     (f"{core_cell}/UFC_M_AXIS_RX", f"{ufc}/m_axi_ufc_rx")]
            # PG074's UFC request and message size are plain pins beside the UFC stream.
            pins += [(f"{ufc}/ufc_tx_req", f"{core_cell}/ufc_tx_req"), (f"{ufc}/ufc_tx_ms", f"{core_cell}/ufc_tx_ms"),
                     (f"{core_cell}/user_clk_out", f"{ufc}/clk"), (f"{core_cell}/sys_reset_out", f"{ufc}/rst")]
        if t_in:
            nets.append((f"{br}/m_axis_k", f"{sb_in.top}_0/link_in"))
        if t_out:
            nets.append((f"{out_cell[sb_out.ident]}/link_out", f"{br}/s_axis_k"))
        # Plain pins: the bridge runs between the kernel clock and the core's user clock; the core's
        # init/DRP clock is the kernel clock (free-running once the clock wizard locks).
        if t.core == "cmac":
            pins += [(f"{core_cell}/gt_txusrclk2", f"{br}/c_clk"), (f"{core_cell}/gt_txusrclk2", f"{core_cell}/rx_clk"),
                     (f"{top}/ap_clk", f"{core_cell}/init_clk"), (f"{core_cell}/usr_tx_reset", f"{br}/rst")]
        else:
            pins += [(f"{core_cell}/user_clk_out", f"{br}/c_clk"), (f"{top}/ap_clk", f"{core_cell}/init_clk"),
                     (f"{core_cell}/sys_reset_out", f"{br}/rst")]
        pins.append((f"{top}/ap_clk", f"{br}/k_clk"))
        external += [f"{core_cell}/gt_serial_port", f"{core_cell}/gt_ref_clk"] if t.core == "cmac" else \
            [f"{core_cell}/GT_SERIAL_RX", f"{core_cell}/GT_SERIAL_TX", f"{core_cell}/GT_DIFF_REFCLK1"]
    cells.append({"name": "ctrl_sc", "vlnv": "xilinx.com:ip:smartconnect", "kind": "sc",
                  "si": 1, "mi": len(ctrl_masters)})
    nets.append((ctrl_src, "ctrl_sc/S00_AXI"))
    for i, m in enumerate(ctrl_masters):
        nets.append((f"ctrl_sc/M{i:02d}_AXI", m))
    if mem_masters:
        cells.append({"name": "mem_sc", "vlnv": "xilinx.com:ip:smartconnect", "kind": "sc",
                      "si": len(mem_masters), "mi": 1})
        for i, m in enumerate(mem_masters):
            nets.append((m, f"mem_sc/S{i:02d}_AXI"))
        nets.append(("mem_sc/M00_AXI", mem_target))
    return {"cells": cells, "nets": nets, "pins": pins, "external": external, "transports": used,
            "pblocks": pblocks, "repos": repos, "ctrl": ctrl_masters, "mem": mem_masters, "mem_target": mem_target,
            "stations": [p[0].ident for p in parts[1:]]}


def _mig_interface(board_type: str) -> str:
    """The Vivado board-file interface of the board's first memory (board automation picks pins)."""
    return {"vc709": "ddr3_sdram_socket_j1", "zc706": "ddr3_sdram", "vcu118": "ddr4_sdram_c1"}.get(board_type,
                                                                                                     "ddr_sdram")


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")


def check_block_clocks(specs: list, boards: list[BoardDeploy]) -> None:
    """Refuse a Vivado-flow board whose chain entries (a stage and host-path stations) run at
    different kernel clocks: its one block design drives every entry's IP from one clock."""
    for b, bd in zip(specs, boards):
        if bd.flow != "vivado" or bd.linked_by is not None:
            continue
        parts = [s for s in specs if s.name == b.name]
        if len({s.clock_mhz for s in parts}) > 1:
            raise DeployRefusal(
                f"board {b.name!r} ({b.type}, Vivado IP flow): its chain entries run at different kernel clocks ("
                + ", ".join(f"{s.ident} {s.clock_mhz:g} MHz" for s in parts)
                + ") but its one block design has one kernel clock; give the board one clock_mhz in the "
                "cluster YAML and re-run 'asymap plan'", b.name, [(t.peer_name, t.role) for t in bd.transports])


def _plan_boards(specs: list, cluster, tops: list[str], wmems: list[bool],
                 splits: list[dict | None] | None = None) -> list[BoardDeploy]:
    """:func:`plan_board` of every chain entry, on the cluster's deployment data (or the board
    library's, without a cluster); a wrong deploy override of any cluster board is an error."""
    cl_links = {frozenset((ln.a, ln.b)): ln for ln in (getattr(cluster, "links", None) or [])}
    by_name = {b.name: b for b in (getattr(cluster, "boards", None) or [])}
    where = getattr(cluster, "path", "cluster") or "cluster"
    for cb in by_name.values():  # every board of the cluster, idle ones too: a wrong override is an error
        board_deploy(cb, where)
    boards: list[BoardDeploy] = []
    phys: dict[str, tuple[dict, dict]] = {}  # cages of each physical board, shared by its host-path stations
    n = len(specs)
    for i, b in enumerate(specs):
        cb = by_name.get(b.name)
        dep = board_deploy(cb, where) if cb is not None else \
            (type_deploy(b.type) if b.type else None)
        bd = plan_board(b, dep, tops[i], wmems[i], i == 0, i == n - 1, cl_links,
                        {s.name: s.ident for s in reversed(specs)}, phys.setdefault(b.name, ({}, {})),
                        (splits or [None] * n)[i])
        boards.append(bd)
    return boards


def check_deployable(graph, plan: dict, cluster, where: str = "plan", link_step: bool = False) -> None:
    """Raise the one-line refusal :func:`write_deploy` would raise for ``plan`` on ``cluster``
    (a wrong deploy block, two links on one cage, a host-path hop over a pipeline link the same
    way, two kernel clocks on one transport or block design, a link whose latency the credit
    bridge cannot cover), from the plan alone: it reads and
    writes no file and prints nothing, so ``asymap generate`` runs it before its first progress
    line and ``asymap plan`` on the plan it found, and a plan deploy would refuse stops where it
    is made. The decisions are :func:`write_deploy`'s own (same cage assignment and checks); the
    kernels' ports, which need the generated sources, play no part in them. ``link_step``: also
    refuse what ``asymap build --step link`` would (:func:`check_link_ends`: a link end without a
    cage); ``asymap plan`` asks for it, ``generate`` does not (the tree still C-simulates)."""
    from collections import defaultdict

    from asymap.codegen.chain import build_chain, plan_parts, plan_stations

    parts = plan_parts(plan, cluster, where)
    stations = plan_stations(plan, cluster, where)
    specs = build_chain(graph, defaultdict(bool), plan, parts, stations=stations)  # signedness plays no part
    boards = _plan_boards(specs, cluster, [""] * len(specs), [False] * len(specs))
    check_cages(specs, boards)
    check_block_clocks(specs, merge_physical(specs, boards))
    if link_step:  # what 'asymap build --step link' refuses ('asymap plan' asks; generate writes it with a note)
        check_link_ends(specs, boards)
    for b, bd in zip(specs, boards):  # every link end's credit bridge, as write_deploy sizes it (a latency too
        for t in bd.transports:      # long for its counters is refused, whichever way and whoever uses the link)
            try:
                _credit_sizing(b, t, b.link_in.width_bits if t.role == "in" else b.link_out.width_bits)
            except DeployRefusal:
                raise
            except UserError as exc:
                raise DeployRefusal(str(exc), b.name, [(t.peer_name, t.role)], "any") from None


def plan_checks(graph, cluster):
    """What a plan must pass to be deployed, as the planner takes it (``planner.plan(deployable=)``):
    :func:`check_deployable` with the link step's refusals too. ``asymap plan``, the plan step of
    ``asymap run`` and ``generate`` without a plan pass it, so none of them makes a plan
    ``generate`` or ``asymap build --step link`` refuses."""
    return lambda plan: check_deployable(graph, plan, cluster, link_step=True)


def write_deploy(env, root: Path, specs: list, entries: list[dict], cluster, ref: dict, quiet: bool = False) -> dict:
    """Write every board's deployment files and the host programs under ``root``; return the
    ``deploy`` section of chain.json (see docs/deploy.md). Its refusals are the checks of
    :func:`check_deployable`, which ``generate`` runs before writing anything."""
    from asymap.codegen import hostprog, startup, vectors

    n = len(specs)
    boards = _plan_boards(specs, cluster, [(root / b.ident / "top.cpp").read_text(encoding="utf-8") for b in specs],
                          [bool(entry.get("files", {}).get("wmem")) for entry in entries], [e.get("slr") for e in entries])
    check_cages(specs, boards)  # what one FPGA's transports cannot share: refused before anything is linked
    linked = merge_physical(specs, boards)  # what each directory links: one xclbin per physical board
    check_block_clocks(specs, linked)
    for bd in linked:
        if bd.flow == "vitis" and bd.linked_by is None:
            bd.notes += bank_sharing(bd.sp, bd.banks)
    for i, (b, entry, bd) in enumerate(zip(specs, entries, linked)):
        d = root / b.ident
        wmem = bool(entry.get("files", {}).get("wmem"))
        ctx = {"version": __version__, "b": b, "bd": bd, "wmem": wmem, "first": i == 0, "last": i == n - 1,
               "core_width": CORE_WIDTH, "core_clock_mhz": CORE_CLOCK_MHZ, "bridge_rtl": BRIDGE_RTL}
        (d / "vectors" / "link_out.frames").write_bytes(vectors.link_frames(b.link_out, ref))
        if bd.flow == "vitis" and bd.linked_by is None:
            nk: dict[str, list[str]] = {}
            for k in bd.kernels:
                nk.setdefault(k.kernel, []).append(k.instance)
            _write(d / "connectivity.cfg", env.get_template("project/connectivity.cfg.j2").render(
                ctx, nk=nk, clocks=cu_clocks(bd)))
        if bd.flow == "vitis":
            for m in bd.movers:
                mctx = dict(ctx, m=m, clock_ns=f"{1000.0 / b.clock_mhz:.4f}".rstrip("0").rstrip("."))
                _write(d / m["source"], env.get_template("deploy/mover.cpp.j2").render(mctx))
                _write(d / m["config"], env.get_template("deploy/mover_hls.cfg.j2").render(mctx))
            for k in bd.kernels:
                if k.origin != "rtl":
                    continue
                on = [t for t in bd.transports if _xport_instance(t) == k.instance] or \
                    [t for t in bd.transports if k.instance.startswith(_xport_instance(t) + "_")]  # renamed
                dirs = k.kernel.split("_")[3]
                widths = re.search(r"_w(\d+)(?:_r(\d+))?$", k.kernel)
                kw = int(widths.group(1))
                kw_rx = int(widths.group(2) or kw)
                # Send side sized from the outgoing link, receive buffer from the incoming one.
                t = next(t for t in on if dirs == "rxtx" and t.role == "out" or dirs != "rxtx")
                t_rx = next(t for t in on if dirs == "rxtx" and t.role == "in" or dirs != "rxtx")
                glue, glue_rx = _credit_sizing(b, t, kw), _credit_sizing(b, t_rx, kw_rx)
                kctx = dict(ctx, k=k, t=t, kw=kw, kw_rx=kw_rx, cw=CORE_WIDTH[t.core], rx_addr_w=glue_rx.rx_addr_w,
                            far_addr_w=glue.rx_addr_w, idle_cycles=glue.idle_cycles, pkt_addr_w=CMAC_PKT_ADDR_W,
                            dirs=dirs)
                _write(d / "transport" / f"{k.kernel}.v", env.get_template("deploy/xport_kernel.v.j2").render(kctx))
                _write(d / "transport" / f"{k.kernel}.xml", env.get_template("deploy/xport_kernel.xml.j2").render(kctx))
                _write(d / "transport" / f"package_{k.kernel}.tcl",
                       env.get_template("deploy/package_xport.tcl.j2").render(kctx))
        elif bd.flow == "vivado" and bd.linked_by is None:
            parts = [(specs[j], boards[j], bool(entries[j].get("files", {}).get("wmem")), j == 0, j == n - 1)
                     for j in range(n) if specs[j].name == b.name]
            bdv = _bd_cells(bd, parts)
            amap = startup.address_map(b.ident, b.type, bd.runtime, bd.memory_kind, bdv, startup.images_of(
                root, parts, {s.ident: e for s, e in zip(specs, entries)}, MEMORY_ARGS, b.ident))
            bdv["addresses"] = startup.tcl_assignments(amap)
            _write(d / "bd" / "address_map.json", json.dumps(amap, indent=2, sort_keys=True) + "\n")
            _write(d / "startup" / "startup.cpp", env.get_template("deploy/startup.cpp.j2").render(
                ctx, m=startup.program_view(amap)))
            _write(d / "bd" / "block_design.tcl", env.get_template("deploy/block_design.tcl.j2").render(ctx, bdv=bdv))
            _write(d / "bd" / "constraints.xdc", env.get_template("deploy/constraints.xdc.j2").render(ctx, bdv=bdv))
        if bd.transports and bd.linked_by is None:  # a linked entry's transport is in its FPGA's first entry
            for name in BRIDGE_RTL:  # the bridge's building blocks travel with the board project
                _write(d / "transport" / "rtl" / name, (resource_dir("rtl") / name).read_text(encoding="utf-8"))
        top_cpp = (d / "top.cpp").read_text(encoding="utf-8")
        mems = kernel_memories(kernel_source(top_cpp, b.top) if entry.get("slr") else top_cpp, entry.get("files", {}))
        _write(d / "cocotb" / "dut.json", json.dumps(_kernel_dut(b, bd, entry.get("slr"), mems), indent=2,
                                                     sort_keys=True) + "\n")
        _write(d / "cocotb" / f"test_{b.ident}.py", env.get_template("deploy/cocotb_test.py.j2").render(ctx))
        _write(d / "deploy.json", json.dumps(_board_json(bd), indent=2, sort_keys=True) + "\n")
    link_duts = _write_link_harnesses(env, root, specs, boards)
    host_name = re.sub(r"[^A-Za-z0-9_]", "_", str((getattr(cluster, "host", None) or {}).get("name") or "host"))
    hosts = hostprog.write_hosts(env, root, specs, entries, boards, host_name or "host")
    notes = [f"{bd.ident}: {m}" for bd in linked for m in bd.notes]
    for note in notes:  # what stands between this tree and a running cluster, said once at generation
        status(f"note: {note}", quiet)
    return {"boards": {(s.ident if s.forward else bd.name): {  # host-path stations by their own (unique) name
                "flow": bd.flow, "runtime": bd.runtime, "platform": bd.platform, "board_part": bd.board_part,
                "file": f"{bd.ident}/deploy.json"} for s, bd in zip(specs, boards)},
            "hosts": hosts, "cocotb": link_duts + [f"{b.ident}/cocotb" for b in specs],
            "notes": notes}


def _board_json(bd: BoardDeploy) -> dict:
    return {
        "schema": 1, "name": bd.name, "dir": bd.ident, "type": bd.type, "flow": bd.flow, "runtime": bd.runtime,
        "platform": bd.platform, "board_part": bd.board_part,
        "memory": {"kind": bd.memory_kind, "banks": bd.banks},
        "kernels": [asdict(k) for k in bd.kernels],
        "streams": [list(s) for s in bd.streams], "sp": [list(s) for s in bd.sp], "gt": [list(s) for s in bd.gt],
        "transports": [{k: v for k, v in asdict(t).items() if k != "peer_name"} for t in bd.transports],  # (a cluster name)
        "movers": bd.movers,
        "notes": bd.notes, "unconnected": bd.unconnected, "linked_by": bd.linked_by,
        **({"slr": [list(s) for s in bd.slr], "fifo": bd.fifo, "hls_kernels": bd.hls_kernels}
           if bd.slr or bd.hls_kernels else {}),  # one kernel per SLR only
    }


# Where the harness puts each memory argument's image in its own AXI RAM: distinct, 4 KiB-aligned
# (as XRT buffers are) and not 0, so an RTL that ignores its base-address register, or takes one
# argument's register for another's master, reads zeros instead of the image.
MEMORY_BASE = 0x1000


def kernel_memories(top_src: str, files: dict) -> list[dict]:
    """The harness's memories of one kernel (dut.json ``memories``): one per m_axi argument of the
    host-started top (``MEMORY_ARGS``, from its INTERFACE pragmas: ``wmem`` on ``m_axi_gmem0``, the
    URAM start-up image ``wpre`` on ``m_axi_gmem1``), each with the AXI port prefix HLS names,
    the image file (relative to ``cocotb/``) and the base address written to its register."""
    ports = top_ports(top_src)
    out = []
    for k, arg in enumerate(a for a in MEMORY_ARGS if f"arg:{a}" in ports):
        out.append({"arg": arg, "prefix": ports[f"arg:{arg}"], "file": f"../{files.get(arg) or f'weights/{arg}.bin'}",
                    "base": MEMORY_BASE * (k + 1)})
    return out


def _kernel_dut(b, bd: BoardDeploy, split: dict | None = None, memories: list[dict] | None = None) -> dict:
    """The cocotb harness's view of the board's kernel RTL (what `asymap build --step csynth` exports).
    ``memories``: :func:`kernel_memories`, every m_axi argument served by its own AXI RAM.
    A board of one kernel per SLR (``split``: its chain.json ``slr`` entry) is driven the same way,
    on a top that joins its kernels' RTL as v++ links them (asymap.verify.slr_sim): ``kernels``
    names each kernel's export, ``streams`` the stream_connects between them with the SLR
    boundaries each crosses (the register slices v++ puts on it), ``sources`` the joining blocks."""
    dut = {
        "name": b.ident, "toplevel": b.top,
        # Paths are relative to this file; the first glob that matches wins (v++ component, vitis_hls project).
        "sources": [f"../hls_{b.ident}/hls/syn/verilog/*.v", f"../prj_{b.ident}/solution1/syn/verilog/*.v"],
        "clocks": [{"name": "ap_clk", "mhz": b.clock_mhz}],
        "resets": [{"name": "ap_rst_n", "active_low": True, "clock": "ap_clk"}],
        "control": {"kind": "axilite", "prefix": "s_axi_control", "clock": "ap_clk", "ap_start": 0},
        "memories": list(memories or []),
        "inputs": [{"prefix": "link_in", "clock": "ap_clk", "frames": "../vectors/link_in.frames",
                    "width_bits": b.link_in.width_bits}],
        "outputs": [{"prefix": "link_out", "clock": "ap_clk", "frames": "../vectors/link_out.frames",
                     "width_bits": b.link_out.width_bits}],
    }
    if not split:
        return dut
    slr = {k["kernel"]: k["slr"] for k in split["kernels"]}
    first = split["kernels"][0]["kernel"]
    vivado = bd.flow == "vivado"  # the block design's axis_data_fifo: a power of two, at least 16 (PG085)
    dut.update(
        toplevel="asymap_slr_sim", sources=["rtl:asymap_axis_slice.v", "rtl:asymap_axis_fifo.v"],
        kernels=[{"kernel": k["kernel"], "slr": k["slr"],
                  "sources": [f"../{k['work_dir']}/hls/syn/verilog/*.v"]
                  + ([f"../prj_{b.ident}/solution1/syn/verilog/*.v"] if k["kernel"] == first else [])}
                 for k in split["kernels"]],
        streams=[{"stream": x["stream"], "from": x["from"], "to": x["to"],
                  "depth": max(16, 1 << (x["depth"] - 1).bit_length()) if vivado else x["depth"],
                  "boundaries": abs(slr[x["to"].split(".")[0]] - slr[x["from"].split(".")[0]])}
                 for x in split["streams"]])
    return dut


def _write_link_harnesses(env, root: Path, specs: list, boards: list[BoardDeploy]) -> list[str]:
    """Per board-to-board link: the transport bridges of both ends back to back (the transceiver
    core replaced by a wire), driven with the link's frames; frames out must equal frames in."""
    out = []
    for a, b, bda in zip(specs, specs[1:], boards):
        t = next((t for t in bda.transports if t.role == "out"), None)
        core = t.core if t else ("cmac" if a.link_out.width_bits > 64 else "aurora")
        rel = f"cocotb/link_{a.ident}_{b.ident}"
        d = root / rel
        ctx = {"version": __version__, "a": a, "b": b, "kw": a.link_out.width_bits, "cw": CORE_WIDTH[core],
               "core": core}
        _write(d / "link_sim.v", env.get_template("deploy/link_sim.v.j2").render(ctx))
        dut = {
            "name": f"link_{a.ident}_{b.ident}", "toplevel": "asymap_link_sim",
            "sources": ["link_sim.v", *(f"rtl:{name}" for name in BRIDGE_RTL)],
            # A 16-entry receive buffer so the harness's random backpressure runs the credits dry (on
            # CMAC with 8-beat packet bodies, which such a buffer holds).
            "parameters": {"KW": a.link_out.width_bits, "CW": CORE_WIDTH[core], "RX_ADDR_W": 4,
                           **({"PKT_ADDR_W": 3} if core == "cmac" else {})},
            "clocks": [{"name": "a_clk", "mhz": a.clock_mhz}, {"name": "c_clk", "mhz": CORE_CLOCK_MHZ[core]},
                       {"name": "b_clk", "mhz": b.clock_mhz}],
            "resets": [{"name": "rst", "active_low": False, "clock": "c_clk"}],
            "control": None, "memories": [], "zero_counters": ["overflow_errors"],
            "inputs": [{"prefix": "s_axis", "clock": "a_clk", "frames": f"../../{b.ident}/vectors/link_in.frames",
                        "width_bits": a.link_out.width_bits}],
            "outputs": [{"prefix": "m_axis", "clock": "b_clk", "frames": f"../../{b.ident}/vectors/link_in.frames",
                         "width_bits": a.link_out.width_bits}],
        }
        _write(d / "dut.json", json.dumps(dut, indent=2, sort_keys=True) + "\n")
        _write(d / f"test_link_{a.ident}_{b.ident}.py", env.get_template("deploy/cocotb_test.py.j2").render(
            {"version": __version__, "b": a}))
        out.append(rel)
    return out
