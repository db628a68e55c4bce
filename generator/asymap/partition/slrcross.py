"""SLR crossings of a plan: the streams between a multi-SLR board's engines that cross each SLR
boundary, checked against the super long lines (SLLs) of that boundary.

A segment fills its SLRs in chain order (costmodel.pack_slrs), so a tensor produced in SLR ``p``
and read in SLR ``q > p`` crosses every boundary between them (a stacked device's SLRs form a
column: SLR0 to SLR2 goes through SLR1, UG906 "Grid vs Stacked SLR Crossing Reporting"). Each
stream (one per consumer: one producer, one consumer) crosses as its port beat plus TVALID and
TREADY, registered on both sides (Laguna flip-flops, no change to the interval), once per
boundary: a tensor read by several engines beyond a boundary crosses it once and is forked on the
far side (counted per consumer, DenseNet's dense blocks would need one crossing per later layer of
the block). The board's
received tensors enter in SLR 0 (its first engines) and its sent tensors leave from the SLR of its
last engine. Not counted: the platform's own crossings (its memory and host interconnect) and the
kernel's off-chip memory port (one AXI master per board, routed by the platform's interconnect).

The SLLs per boundary are the board file's ``slls`` (with ``slls_source``), else ``SLL_FLOOR``:
AMD's guides give no fixed figure (UG949 "Super Long Line (SLL) Routes": read it from the device,
``get_property NUM_TOP_SLLS [get_slrs SLR0]``); the smallest figure found for any UltraScale+ part
is about 3,840 per boundary, claimed for the VU9P in public design notes without a source (a
Vivado 2024.1 reading of the XCVU19P gives 23,040), so that smaller one is taken for every
multi-SLR board. A boundary's streams may use ``SLL_SHARE`` of them (the rest is routing slack and
the platform's own crossings; a fixed share: ``--util`` scales the budgets a plan may use, not the
device's wires); a plan beyond that is refused.
"""

from __future__ import annotations

from asymap.errors import UserError
from asymap.frontend.ir import Graph
from asymap.lanes import port_bytes
from asymap.partition.planfile import BoardPlan

SLL_FLOOR = 3840
SLL_SHARE = 0.8
HANDSHAKE_BITS = 2  # TVALID, TREADY


def stream_bits(shape, lanes: int) -> int:
    """Wires one stream of a (C, H, W) tensor takes across a boundary: its port beat and handshake."""
    return 8 * port_bytes(shape, lanes) + HANDSHAKE_BITS


def sll_limit(spec) -> int:
    """SLLs per boundary a board's streams may use: ``SLL_SHARE`` of the board file's ``slls``
    (else ``SLL_FLOOR``)."""
    return int(SLL_SHARE * (spec.slls or SLL_FLOOR))


def crossing_bits(graph: Graph, bp: BoardPlan) -> list[int]:
    """Wires of the streams crossing each of the board's ``slrs - 1`` boundaries."""
    if bp.slrs <= 1:
        return []
    shapes = graph.tensor_shapes
    slr = {ly.index: ly.slr for ly in bp.layers}
    last = max(slr.values())
    made: dict[str, int] = {}  # tensor -> SLR it is produced in (received tensors: SLR 0)
    for ly in bp.layers:
        made[graph.layers[ly.index].output] = ly.slr
    reach: dict[str, int] = {}  # tensor -> the farthest SLR it is read in (or sent from)
    for ly in bp.layers:
        for t in graph.layers[ly.index].inputs:
            reach[t] = max(reach.get(t, 0), ly.slr)
    for t in graph.live_across(bp.last_layer):  # sent on the link (or to the host) from the last engine's SLR
        reach[t] = last
    out = [0] * (bp.slrs - 1)
    for t, far in reach.items():
        for k in range(made.get(t, 0), far):  # once per boundary: forked on the far side
            out[k] += stream_bits(shapes[t], bp.port_lanes)
    return out


def check_crossings(graph: Graph, bplans: list[BoardPlan], specs: dict) -> None:
    """Fill ``bp.slr_crossing_bits`` and refuse a plan whose crossings exceed a boundary's SLLs.
    ``specs``: board name -> BoardSpec."""
    for bp in bplans:
        bits = crossing_bits(graph, bp)
        bp.slr_crossing_bits = bits
        if not bits:
            continue
        cap = sll_limit(specs[bp.name])
        for k, v in enumerate(bits):
            if v > cap:
                raise UserError(
                    f"board {bp.name}: the streams crossing SLR{k}/SLR{k + 1} need {v:,} super long lines, "
                    f"more than {cap:,} ({SLL_SHARE:.0%} of {specs[bp.name].slls or SLL_FLOOR:,} per boundary); "
                    f"if the device has more, give them as the board file's 'slls' "
                    f"(Vivado: get_property NUM_TOP_SLLS [get_slrs SLR{k}])")
