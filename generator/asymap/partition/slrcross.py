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
* for a layer whose PE lanes are split over SLRs s and s+1 (plan.json ``slr_lanes``,
  hls/include/asymap/lanesplit.h): its input is read in s (the window generator), its output made
  in s+1 (the zip), and two streams cross from s to s+1: the duplicated window/input word
  (KPAR*SIMD bytes) and half A's k result lanes; URAM weights come as one preload stream per half;
  off-chip weights keep their one 512-bit word stream to SLR s, where each row is dealt by lanes
  and half B's (P-k)*SIMD bytes cross to s+1.
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
from asymap.frontend import ir
from asymap.frontend.ir import Graph
from asymap.lanes import fit_factor, port_bytes
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


def lanes_first(ly) -> int:
    """k of a plan layer whose PE lanes are split over two SLRs (``slr_lanes`` = [[s, k], [s+1,
    P-k]]), 0 for an ordinary layer."""
    v = getattr(ly, "slr_lanes", None)
    return int(v[0][1]) if v else 0


def _word_bytes(layer: ir.Layer, factors: dict, offchip: bool) -> int:
    """KPAR*SIMD: bytes of the window/input word a conv/fc engine takes per step, as codegen fits
    the plan's factors (segment_blocks.mac_block: SIMD divides C_in/groups, KPAR the window of a
    row-buffer engine; 1x1, fc and off-chip engines have KPAR 1)."""
    c, h, w = (int(v) for v in layer.in_shapes[0])
    simd, kpar = int(factors.get("simd", 1)), int(factors.get("kpar", 1))
    if layer.op == ir.FC:
        cig, window = c * h * w, 1
    else:
        (kh, kw), (sh, sw) = layer.kernel, layer.stride
        pointwise = (kh, kw, sh, sw) == (1, 1, 1, 1) and not any(layer.pads) and layer.groups == 1
        cig, window = c // layer.groups, 1 if pointwise or offchip else kh * kw
    return fit_factor(cig, simd) * fit_factor(window, kpar)


def lane_split_bits(layer: ir.Layer, ly) -> list[int]:
    """Wires of the streams from SLR s to s+1 that a lane-split engine adds (lanesplit.h), each with
    its handshake: the duplicated window word, half A's k result lanes, and half B's own weights
    where they come from SLR s (off-chip: its (P-k)*SIMD bytes of every row, dealt in SLR s) or
    from the first SLR (URAM: its 64-bit start-up stream; counted by the caller's weight rule)."""
    factors = getattr(ly, "factors", {}) or {}
    offchip = ly.weights == "offchip"
    word = _word_bytes(layer, factors, offchip)
    bits = [8 * word + HANDSHAKE_BITS, 8 * lanes_first(ly) + HANDSHAKE_BITS]
    if offchip:
        bits.append(8 * word * int(ly.slr_lanes[1][1]) + HANDSHAKE_BITS)
    return bits


def crossing_bits(graph: Graph, bp: BoardPlan) -> list[int]:
    """Wires of the streams crossing each of the board's ``slrs - 1`` boundaries (the streams
    codegen/segment_slr.py makes cross, module docstring)."""
    if bp.slrs <= 1:
        return []
    shapes = graph.tensor_shapes
    first = min(ly.slr for ly in bp.layers)
    last = max(ly.slr + (1 if lanes_first(ly) else 0) for ly in bp.layers)
    made: dict[str, int] = {}  # tensor -> SLR it is produced in (received tensors: the first SLR)
    for ly in bp.layers:
        made[graph.layers[ly.index].output] = ly.slr + (1 if lanes_first(ly) else 0)
    streams: list[tuple[int, int, int]] = []  # (from SLR, to SLR, wires)
    for ly in bp.layers:
        for t in graph.layers[ly.index].inputs:
            streams.append((made.get(t, first), ly.slr, stream_bits(shapes[t], bp.port_lanes)))
        if ly.weights in WEIGHT_STREAM_BITS:
            streams.append((first, ly.slr, WEIGHT_STREAM_BITS[ly.weights] + HANDSHAKE_BITS))
        if lanes_first(ly):
            streams += [(ly.slr, ly.slr + 1, bits) for bits in lane_split_bits(graph.layers[ly.index], ly)]
            if ly.weights == "preload":  # each half loads its own URAM table: half B's words too
                streams.append((first, ly.slr + 1, WEIGHT_STREAM_BITS["preload"] + HANDSHAKE_BITS))
    for t in graph.live_across(bp.last_layer):  # sent on from the last engine's SLR
        streams.append((made.get(t, first), last, stream_bits(shapes[t], bp.port_lanes)))
    streams.append((first, last, 1 + HANDSHAKE_BITS))  # the receiver's per-image verdict
    out = [0] * (bp.slrs - 1)
    for src, dst, bits in streams:
        for k in range(src, dst):
            out[k] += bits
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
