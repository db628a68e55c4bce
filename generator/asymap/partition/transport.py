"""What the RTL transport under each link (rtl/asymap_xport.v, docs/link-protocol.md sections 5
and 6) adds to a plan: per link end, the sender's CMAC packet FIFO (block RAM) and the receiver's
credit buffer (block RAM when deeper than 64 entries, else LUTRAM), charged to the boards at those ends; per 100G hop, the packet
store-and-forward latency, added to ``latency_s``. Pipeline links and the host path's hops alike
(a host-path hop has a transport of its own, deploy's forwarding stations; the host link itself
is the host's NIC/PCIe, not charged here). Forwarding boards hold no plan of their own, so their
ends are only counted in their hops' figures.

The search keeps room for them (``transport_reserve``, subtracted from every board type's budget);
the exact ends are charged after it, like the link kernels' beat FIFOs (``links[].buffer_bram36``,
which the search does not reserve).
"""

from __future__ import annotations

import numpy as np

from asymap.cluster.deploy import board_deploy
from asymap.cluster.load import Cluster
from asymap.errors import UserError
from asymap.frontend.ir import Graph
from asymap.linkproto import DEFAULT_MAX_PAYLOAD_BEATS, link_width_bits, wire_beats
from asymap.lanes import PORT_LANE_CHOICES, port_bytes
from asymap.partition.costmodel import (
    credit_seconds, link_kernel_luts, repack_luts, store_forward_s, transport_core, transport_ends,
)
from asymap.partition.planfile import BoardPlan, LinkPlan


def _cages(board) -> tuple[bool, bool]:
    """(any transceiver cage, a 4-lane GTY cage for a CMAC) of a board's deploy data."""
    try:
        dep = board_deploy(board)
    except UserError:  # a malformed deploy block is reported by generate, not by the planner
        return False, False
    if dep is None or not dep.gt:
        return False, False
    return True, any(g.lanes >= 4 and g.gt_type == "GTY" for g in dep.gt)


def has_transport(board, gbps: float, memo: dict | None = None) -> bool:
    """Whether deploy generates an RTL transport at this board's end of a link: the board type has
    transceiver cages (a 100G CMAC needs a 4-lane GTY one). Boards without (PYNQ-Z2: the PS
    forwards frames in software; custom boards: not deployable) carry no transport buffers.
    ``memo``: board name -> ``_cages`` (reading the board file once per call site)."""
    memo = {} if memo is None else memo
    if board.name not in memo:
        memo[board.name] = _cages(board)
    anyc, cmac = memo[board.name]
    return cmac if transport_core(gbps) == "cmac" else anyc


def charge_transport(graph: Graph, cluster: Cluster, bplans: list[BoardPlan], lplans: list[LinkPlan],
                     host_path: dict | None) -> float:
    """Fill ``lplans[*].tx_bram36 / rx_lut / rx_bram36 / store_forward_s`` and the host path hops'
    ``store_forward_s``, add the ends' resources to ``bplans``; return the latency they add."""
    by_name = {bp.name: bp for bp in bplans}
    boards = {b.name: b for b in cluster.boards}
    shapes = graph.tensor_shapes
    added = 0.0
    memo: dict = {}

    def ends(src: str, dst: str, gbps: float, latency_ns: float, width: int) -> tuple[int, int, int]:
        """(tx_bram36, rx_lut, rx_bram36) of the ends that have a transport, charged to plan boards."""
        tx, rx = transport_ends(gbps, latency_ns, width)
        tx_b = tx.tx_bram36 if has_transport(boards[src], gbps, memo) else 0
        rx_on = has_transport(boards[dst], gbps, memo)
        rx_l, rx_b = (rx.rx_lut, rx.rx_bram36) if rx_on else (0, 0)
        if src in by_name:
            by_name[src].resources["bram36"][0] += tx_b
        if dst in by_name:
            by_name[dst].resources["lut"][0] += rx_l
            by_name[dst].resources["bram36"][0] += rx_b
        return tx_b, rx_l, rx_b

    def delay(src: str, gbps: float, tensors: list, width: int) -> float:
        return store_forward_s(gbps, tensors, width) if has_transport(boards[src], gbps, memo) else 0.0

    for lp in lplans:
        lp.tx_bram36, lp.rx_lut, lp.rx_bram36 = ends(lp.src, lp.dst, lp.gbps, lp.latency_ns, lp.width_bits)
        lp.store_forward_s = delay(lp.src, lp.gbps, [tuple(shapes[t]) for t in lp.tensors], lp.width_bits)
        added += lp.store_forward_s
    if not host_path:
        return added
    for key, tensor in (("in", graph.input), ("out", graph.output)):
        for hop in host_path[key]:
            a, b = hop["from"], hop["to"]
            if a not in boards or b not in boards:  # the host link
                hop["store_forward_s"] = 0.0
                continue
            ln = cluster.link(a, b)
            w = link_width_bits(ln.gbps, min(boards[a].spec.clock_mhz, boards[b].spec.clock_mhz))
            ends(a, b, ln.gbps, ln.latency_ns, w)
            hop["store_forward_s"] = delay(a, ln.gbps, [tuple(int(v) for v in shapes[tensor])], w)
            added += hop["store_forward_s"]
    return float(np.float64(added))


def charge_credits(graph: Graph, cluster: Cluster, lplans: list[LinkPlan], host_path: dict | None) -> None:
    """Charge the credit updates that share a link direction with data (``costmodel.credit_seconds``).

    Every data direction's receiver returns its credit word over the reverse direction of the same
    link; that costs bandwidth only where the reverse direction carries data as well: the host
    path's result returning over a pipeline link, an input hop against one, a ring. Each such
    direction's stages (its pipeline link and/or host path hops) get ``credit_s`` (plan.json
    ``links[].credit_s``, host path hops' ``credit_s``) added to their ``interval_s``, the updates
    being bounded by twice the entries the reverse direction's data fills in the receiver's credit
    buffer (at most one per link beat) and by the transport's spacing. Links whose ends have no
    deployed transport (``has_transport``) carry no credits. Like the host path's sharing, this is
    charged after the search (the search does not know which way the host path goes)."""
    boards = {b.name: b for b in cluster.boards}
    shapes = graph.tensor_shapes
    memo: dict = {}
    flows: dict[tuple[str, str], list] = {}  # direction -> [(stage, beats, data seconds, set credit)]

    def add(a: str, b: str, beats: int, data_s: float, setter) -> None:
        flows.setdefault((a, b), []).append((beats, data_s, setter))

    for lp in lplans:
        beats = wire_beats([tuple(shapes[t]) for t in lp.tensors], lp.width_bits, DEFAULT_MAX_PAYLOAD_BEATS)
        add(lp.src, lp.dst, beats, lp.interval_s - lp.latency_ns * 1e-9, lambda v, lp=lp: _credit_link(lp, v))
    for key, tensor in (("in", graph.input), ("out", graph.output)) if host_path else ():
        for hop in host_path[key]:
            a, b = hop["from"], hop["to"]
            hop["credit_s"] = 0.0
            if a not in boards or b not in boards:  # the host link: the host's NIC/PCIe
                continue
            ln = cluster.link(a, b)
            w = link_width_bits(ln.gbps, min(boards[a].spec.clock_mhz, boards[b].spec.clock_mhz))
            beats = wire_beats([tuple(int(v) for v in shapes[tensor])], w, DEFAULT_MAX_PAYLOAD_BEATS)
            add(a, b, beats, hop["interval_s"] - ln.latency_ns * 1e-9, lambda v, hop=hop: _credit_hop(hop, v))
    for (a, b), here in flows.items():
        back = flows.get((b, a))
        ln = cluster.link(a, b)
        if not back or not (has_transport(boards[a], ln.gbps, memo) and has_transport(boards[b], ln.gbps, memo)):
            continue
        entries = sum(f[0] for f in back)  # the reverse data's credit-buffer entries: at most one per link beat
        for _, data_s, setter in here:
            setter(credit_seconds(ln.gbps, max(0.0, data_s), entries))


def _credit_link(lp: LinkPlan, v: float) -> None:
    lp.credit_s = float(v)
    lp.interval_s = float(lp.interval_s + v)


def _credit_hop(hop: dict, v: float) -> None:
    hop["credit_s"] = float(v)
    hop["interval_s"] = float(hop["interval_s"] + v)


HOST_WIDTH_BITS = 64  # the link beat at the host's ends of the chain (codegen.chain.DEFAULT_WIDTH_BITS)


def _cut(graph: Graph, after: int) -> list[tuple[int, int, int]]:
    """Shapes of the tensors crossing a cut after layer ``after`` (-1: the input)."""
    return [tuple(int(v) for v in graph.tensor_shapes[t]) for t in graph.live_across(after)]


def charge_link_kernels(graph: Graph, cluster: Cluster, bplans: list[BoardPlan], lplans: list[LinkPlan],
                        host_path: dict | None) -> dict[str, int]:
    """Add each plan board's link (un)packers (``costmodel.link_kernel_luts``) to its ``lut`` and
    record them as ``link_lut``: an unpacker per tensor it receives, at the width of the link it
    receives on (the pipeline link, the host path's last input hop, or the host's 64-bit beat), and
    a packer per tensor it sends. Returns, per board, the receiving and sending ends' LUTs and their
    flip-flops (``ffmodel.link_kernel_ffs``): ``{"rx_lut", "tx_lut", "rx_ff", "tx_ff"}``."""
    from asymap.partition.ffmodel import link_kernel_ffs

    boards = {b.name: b for b in cluster.boards}

    def hop_width(hops: list, board: str, inbound: bool) -> int:
        for h in hops:
            a, b = h["from"], h["to"]
            if (b if inbound else a) == board and a in boards and b in boards:
                return link_width_bits(float(h.get("gbps") or 10.0),
                                       min(boards[a].spec.clock_mhz, boards[b].spec.clock_mhz))
        return HOST_WIDTH_BITS

    hp = host_path or {"in": [], "out": []}
    ffs = {}
    for i, bp in enumerate(bplans):
        w_in = lplans[i - 1].width_bits if i > 0 else hop_width(hp["in"], bp.name, True)
        w_out = lplans[i].width_bits if i < len(lplans) else hop_width(hp["out"], bp.name, False)
        rx, tx = _cut(graph, bp.first_layer - 1), _cut(graph, bp.last_layer)
        ends = {"rx_lut": int(link_kernel_luts(rx, w_in, bp.port_lanes, send=False)),
                "tx_lut": int(link_kernel_luts(tx, w_out, bp.port_lanes, send=True)),
                "rx_ff": int(link_kernel_ffs(rx, w_in, bp.port_lanes, send=False)),
                "tx_ff": int(link_kernel_ffs(tx, w_out, bp.port_lanes, send=True))}
        bp.link_lut = ends["rx_lut"] + ends["tx_lut"]
        bp.resources["lut"][0] += bp.link_lut
        ffs[bp.name] = ends
    return ffs


def link_kernel_reserve(graph: Graph, cluster: Cluster, board_type: list[int], t: int, slrs: int = 1) -> np.ndarray:
    """LUTs per SLR (as [dsp, bram36, uram, lut]) the search keeps free on boards of type ``t`` for
    their link (un)packers: the largest receiving end over every cut plus the largest sending end,
    at the widest link any board of the type has (or the host's beat) and the port width among
    ``PORT_LANE_CHOICES`` that costs most; spread evenly over the SLRs like ``transport_reserve``.
    ``charge_link_kernels`` charges the plan's own after the search."""
    widths = {HOST_WIDTH_BITS}
    for i, b in enumerate(cluster.boards):
        if board_type[i] != t:
            continue
        for nb in cluster.neighbors(b.name):
            other = next(o for o in cluster.boards if o.name == nb)
            widths.add(link_width_bits(cluster.link(b.name, nb).gbps, min(b.spec.clock_mhz, other.spec.clock_mhz)))
    shapes = graph.tensor_shapes
    cuts = {tuple(tuple(int(v) for v in shapes[t]) for t in graph.live_across(a)) for a in range(-1, len(graph.layers))}
    beats = {tuple(sorted(port_bytes(s, lanes) for s in sh)) for sh in cuts for lanes in PORT_LANE_CHOICES}
    rx = tx = 0
    for w in widths:
        b = w // 8
        for ports in beats:  # the same as link_kernel_luts over each cut's shapes, per distinct port beats
            rx = max(rx, sum(repack_luts(b, p) for p in ports))
            tx = max(tx, sum(repack_luts(p, b) for p in ports))
    s = max(1, int(slrs))
    return np.array([0, 0, 0, -(-(rx + tx) // s)], dtype=np.int64)


def transport_reserve(cluster: Cluster, board_type: list[int], t: int, slrs: int = 1) -> np.ndarray:
    """Resources [dsp, bram36, uram, lut] per SLR the search keeps free on boards of type ``t`` for
    their transport ends (``has_transport``): a board in the pipeline sends on one link and receives on one; with a
    host path, one more of each (the result travels back through the pipeline's boards; at the
    first board the input's hop is its receive end). Charged at the most expensive link any board
    of the type has, per resource (the search does not know which links the plan will use; a
    type with 100G and 10G links keeps the CMAC ends' block RAM and the Aurora credit buffer's
    LUTs), spread evenly over the SLRs. A board that also forwards the input on its way to a later first board has a third
    pair of ends, charged after the search only (``charge_transport``)."""
    boards = cluster.boards
    tx = rx = rxb = 0
    memo: dict = {}
    for i, b in enumerate(boards):
        if board_type[i] != t:
            continue
        for nb in cluster.neighbors(b.name):
            ln = cluster.link(b.name, nb)
            if not has_transport(b, ln.gbps, memo):
                continue
            other = next(o for o in boards if o.name == nb)
            w = link_width_bits(ln.gbps, min(b.spec.clock_mhz, other.spec.clock_mhz))
            te, re = transport_ends(ln.gbps, ln.latency_ns, w)
            # the most expensive end in each resource (a type's links may differ in core and depth)
            tx, rx, rxb = max(tx, te.tx_bram36), max(rx, re.rx_lut), max(rxb, re.rx_bram36)
    ends = 2 if (cluster.host or {}).get("attach") else 1
    s = max(1, int(slrs))
    return np.array([0, -(-ends * (tx + rxb) // s), 0, -(-ends * rx // s)], dtype=np.int64)
