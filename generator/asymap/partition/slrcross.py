"""SLR crossings of a plan: the streams between a multi-SLR board's engines that cross each SLR
boundary, checked against the super long lines (SLLs) of that boundary.

A segment fills its SLRs in chain order (costmodel.pack_slrs), and deploy makes one kernel per SLR
(codegen/segment_slr.py), so a stream produced in SLR ``p`` and read in SLR ``q > p`` crosses every
boundary between them (a stacked device's SLRs form a column: SLR0 to SLR2 goes through SLR1,
UG906 "Grid vs Stacked SLR Crossing Reporting"). The streams counted are the ones codegen makes
cross, each as its beat plus TVALID and TREADY (registered on both sides: Laguna flip-flops, no
change to the interval):
* one per consumer of a tensor: a tensor's fork sits in its producer's SLR (the board's first SLR
  for a received tensor), so a tensor read by two engines beyond a boundary crosses it twice;
* one per tensor sent on, from its producer's SLR to the last engine's (the packers and the link
  transmitter live there);
* one ``wmem`` word (512 bits) per off-chip-weight layer beyond the first SLR, and one 64-bit
  preload stream per URAM-weight layer there: the kernel the host starts, in the first SLR, owns
  every memory port and streams the weights across;
* the receiver's one-bit per-image verdict, from the first SLR to the last;
* a lane-split engine (plan.json ``slr_lanes`` [[s, k], [s + 1, P - k]]) reads its inputs in SLR s
  and makes its output in SLR s + 1 (the zip), and adds two streams from s to s + 1: the copy of
  its window stream (SIMD x kpar bytes a beat) and half A's k lanes (k bytes); streamed or
  preloaded weights come as one stream per half (``split_streams``).
Not counted: the platform's own crossings (its memory and host interconnect).

The SLLs per boundary are the board file's ``slls`` (with ``slls_source``). AMD gives no fixed figure
(UG949 "Super Long Line (SLL) Routes": read it from the device, ``get_property NUM_TOP_SLLS
[get_slrs SLR0]``) and none was found per Alveo device, so no board file has one and the count is
recorded, not checked, until a user gives it: a plan then may use ``SLL_SHARE`` of them (the rest is
routing slack and the platform's own crossings; a fixed share: ``--util`` scales the budgets a plan
may use, not the device's wires) and is refused beyond that.
"""

from __future__ import annotations

from asymap.errors import UserError
from asymap.frontend.ir import Graph
from asymap.lanes import port_bytes
from asymap.partition.planfile import BoardPlan

SLL_SHARE = 0.8
#: Cycles a stream between two SLR kernels adds on the way of an image's first beat (latency, never
#: interval: every block below passes a beat per cycle, no bubbles):
#: * ``PORT_REGSLICE_CYCLES``: the producer kernel's AXI4-Stream output and the consumer kernel's
#:   input each get Vitis HLS's port register slice (``regslice_both``; UG1399 "set_directive_interface
#:   -register_mode", ``both`` by default on AXI4-Stream ports), one cycle each;
#: * ``CONNECT_FIFO_CYCLES``: the AXI4-Stream data FIFO v++ puts on a ``stream_connect`` with a depth
#:   (PG085 gives its latency as "TBD": charged as a first-word-fall-through FIFO's write, memory read
#:   and output register, whatever its depth; the generated depth is 16 or the stream's own when less,
#:   codegen/segment_slr.CROSS_FIFO);
#: * ``SLR_SLICE_CYCLES`` per SLR boundary the stream passes: the register slice pair v++ puts across
#:   it (Laguna flip-flops on both sides; PG373 "SLR TDM Crossing": three ACLK cycles source to
#:   destination, the most of its SLR crossing modes at one pipeline stage per side).
PORT_REGSLICE_CYCLES = 2
CONNECT_FIFO_CYCLES = 3
SLR_SLICE_CYCLES = 3
HANDSHAKE_BITS = 2  # TVALID, TREADY
#: Beat of the stream carrying a layer's weights from the first SLR's memory reader, by weight mode
#: (hls/include/asymap/weights_offchip.h ``wmem_word_t``; the URAM preloader's 64-bit words).
WEIGHT_STREAM_BITS = {"offchip": 512, "preload": 64}


def stream_bits(shape, lanes: int) -> int:
    """Wires one stream of a (C, H, W) tensor takes across a boundary: its port beat and handshake."""
    return 8 * port_bytes(shape, lanes) + HANDSHAKE_BITS


def sll_limit(spec) -> int | None:
    """SLLs per boundary a board's streams may use: ``SLL_SHARE`` of the board file's ``slls``;
    None when the board file gives none (nothing to check against)."""
    return int(SLL_SHARE * spec.slls) if spec.slls else None


def crossing_bits(graph: Graph, bp: BoardPlan) -> list[int]:
    """Wires of the streams crossing each of the board's ``slrs - 1`` boundaries (the streams
    codegen/segment_slr.py makes cross, module docstring)."""
    if bp.slrs <= 1:
        return []
    shapes = graph.tensor_shapes
    first = min(ly.slr for ly in bp.layers)
    made: dict[str, int] = {}  # tensor -> SLR it is produced in (received tensors: the first SLR)
    for ly in bp.layers:
        split = getattr(ly, "slr_lanes", None)  # (None: not a lane-split engine)
        made[graph.layers[ly.index].output] = ly.slr if not split else int(split[1][0])
    last = max(made[graph.layers[ly.index].output] for ly in bp.layers)
    streams: list[tuple[int, int, int]] = []  # (from SLR, to SLR, wires)
    for ly in bp.layers:
        for t in graph.layers[ly.index].inputs:
            streams.append((made.get(t, first), ly.slr, stream_bits(shapes[t], bp.port_lanes)))
        if ly.weights in WEIGHT_STREAM_BITS:
            streams.append((first, ly.slr, WEIGHT_STREAM_BITS[ly.weights] + HANDSHAKE_BITS))
        if getattr(ly, "slr_lanes", None):
            streams += split_streams(ly, first)
    for t in graph.live_across(bp.last_layer):  # sent on from the last engine's SLR
        streams.append((made.get(t, first), last, stream_bits(shapes[t], bp.port_lanes)))
    streams.append((first, last, 1 + HANDSHAKE_BITS))  # the receiver's per-image verdict
    out = [0] * (bp.slrs - 1)
    for src, dst, bits in streams:
        for k in range(src, dst):
            out[k] += bits
    return out


def split_streams(ly, first: int) -> list[tuple[int, int, int]]:
    """(from SLR, to SLR, wires) of the streams a lane-split engine adds (module docstring): the
    window stream's copy and half A's lanes from SLR s to s + 1, and half B's own weight stream."""
    (s, k), (s2, _) = ly.slr_lanes
    inl = int(ly.factors.get("simd", 1)) * int(ly.factors.get("kpar", 1))
    out = [(s, s2, 8 * inl + HANDSHAKE_BITS), (s, s2, 8 * int(k) + HANDSHAKE_BITS)]
    if ly.weights in WEIGHT_STREAM_BITS:
        out.append((first, s2, WEIGHT_STREAM_BITS[ly.weights] + HANDSHAKE_BITS))
    return out


def board_slrs(bp: BoardPlan) -> list[int]:
    """The SLRs a board's kernels occupy, in chain order: every layer's ``slr``, and both SLRs of a
    layer whose PE lanes are split over two (plan.json ``layers[].slr_lanes``, when present)."""
    used = set()
    for ly in bp.layers:
        used.add(ly.slr)
        used.update(s for s, _ in (getattr(ly, "slr_lanes", None) or ()))
    return sorted(used)


def crossing_cycles(bp: BoardPlan) -> int:
    """Kernel cycles the SLR crossings add to a board's latency: the longest way from the first
    SLR kernel (link receiver) to the last (link transmitter) passes every kernel in chain order
    (layers fill the SLRs in chain order, so each kernel feeds the next), one ``stream_connect`` per
    kernel-to-kernel hop (two port register slices and the connect FIFO) and a register-slice pair
    per SLR boundary. A stream from SLR ``p`` to ``q`` that skips a kernel (a residual tensor) takes
    fewer hops on the same boundaries, so it is never the longer way; a deep crossing's buffer in
    the consuming kernel (segment_slr: the copy behind the 16-deep connect FIFO) is on such skip
    streams only, which wait for the main path anyway. 0 on a board in one SLR."""
    used = board_slrs(bp)
    if len(used) < 2:
        return 0
    hops = len(used) - 1
    return hops * (PORT_REGSLICE_CYCLES + CONNECT_FIFO_CYCLES) + (used[-1] - used[0]) * SLR_SLICE_CYCLES


def charge_crossing_latency(bplans: list[BoardPlan]) -> float:
    """Fill ``bp.slr_crossing_s`` (plan.json ``boards[].slr_crossing_s``: :func:`crossing_cycles`
    at the board's clock) and return their sum, which the plan adds to ``latency_s``. Charged after
    the search and never to an interval: the crossings pipeline the streams, they do not slow them."""
    total = 0.0
    for bp in bplans:
        bp.slr_crossing_s = crossing_cycles(bp) / (bp.clock_mhz * 1e6)
        total += bp.slr_crossing_s
    return total


def check_crossings(graph: Graph, bplans: list[BoardPlan], specs: dict) -> None:
    """Fill ``bp.slr_crossing_bits`` and refuse a plan whose crossings exceed a boundary's SLLs.
    ``specs``: board name -> BoardSpec."""
    for bp in bplans:
        bits = crossing_bits(graph, bp)
        bp.slr_crossing_bits = bits
        cap = sll_limit(specs[bp.name])
        if not bits or cap is None:
            continue
        for k, v in enumerate(bits):
            if v > cap:
                raise UserError(
                    f"board {bp.name}: the streams crossing SLR{k}/SLR{k + 1} need {v:,} super long lines, "
                    f"more than {cap:,} ({SLL_SHARE:.0%} of the board file's slls: {specs[bp.name].slls:,} per boundary); "
                    f"if the device has more, correct 'slls' "
                    f"(Vivado: get_property NUM_TOP_SLLS [get_slrs SLR{k}])")
