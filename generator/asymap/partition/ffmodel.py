"""Flip-flops: an estimate per engine and per link glue block, and the check that a plan's boards
stay within the flip-flops their platform leaves to kernels (issue 12 item 2).

The search budgets DSP, BRAM36, URAM and LUT only. Flip-flops are estimated here from the same
structure the LUT charges count (costmodel.option_resources), block by block, and a plan is
checked after the search: plan.json ``boards[].ff`` = [estimate, available]; a board beyond
``util`` of its available flip-flops is refused. Per block:

* control (loop counters, FSM, stream handshakes): ``FF_LAYER`` (LUT_LAYER's logic, registered);
* the MAC array's fabric registers: an activation byte per multiplier lane, registered twice on
  its way to the DSPs (``FF_PER_LANE``), and per PE the accumulator leaving the DSP's P register
  (48 bits) and the requantized result (32): ``FF_PER_PE``. The DSPs' own A/B/M/P pipeline
  registers are inside the DSP slices, not fabric flip-flops; LUT multipliers (``lut`` kind)
  register their 17-bit product and a partial sum (``FF_PER_LUT_MULT``), a packed pair's split two
  18-bit halves (``FF_PACK_SPLIT``);
* register arrays (gearboxes, wide-port and adapter registers, CHANNELS' shift registers, the
  link (un)packers' buffers): 8 flip-flops per register byte. Where a register byte is charged a
  2:1 multiplexer per bit (4 LUTs per byte, two bits per LUT6_2) that is two flip-flops per LUT:
  ``2 x`` those LUT charges; an adapter's collect register, loaded whole, has no LUT: its bytes
  are counted directly;
* memories: block RAM and URAM register their outputs inside the block (DOA_REG / OREG); LUTRAM
  reads are registered once at their width (weights, tables, small buffers);
* the off-chip weight master: ``FF_DMA`` (an AXI4 read master);
* the link (un)packers: their buffer bytes (8 x (PI + PO)) plus their counters.

What a board has: the board file's ``ff`` is the part's total; the platform leaves kernels the
same share of flip-flops as of LUTs (``ff x lut / device lut``, where the board file gives the
device's LUTs; AMD's own platform examples leave 2.0-2.09 flip-flops per LUT, UG1393/UG1702
"Resource Availability"). An estimate until csynth reports exist (``asymap compare``).
"""

from __future__ import annotations

import numpy as np

from asymap.errors import UserError
from asymap.lanes import port_bytes, port_lanes
from asymap.frontend.ir import AFFINE, AVGPOOL, CHANNELS, CONV, FC, GAP, LUT
from asymap.partition import costmodel as cm

FF_LAYER = 300
FF_PER_LANE = 16
FF_PER_PE = 48 + 32
FF_PER_LUT_MULT = 17 + 17
FF_PACK_SPLIT = 2 * 18
FF_DMA = 1000
FF_PRELOAD = 200
FF_POOL_PE = 2 * 8 + 32  # a compare/select register pair per lane and the wide accumulator
FF_AFFINE_LANE = 8 + 72  # the lane's result and its table read (weight, bias, multiplier, shift)


def option_ffs(info: cm.LayerInfo, spec, mode: int, rows=None, kinds=None) -> np.ndarray:
    """Flip-flops of option rows ``rows`` with MAC kinds ``kinds`` (as costmodel.option_resources)."""
    o = info.options
    lay = info.layer
    if rows is None:
        all_rows, all_kinds = cm.mac_rows(info, spec)
        rows, kinds = all_rows[: len(o.pe)], all_kinds[: len(o.pe)]
    rows = np.asarray(rows)
    kinds = np.asarray(kinds)
    pe, simd, kpar = o.pe[rows], o.simd[rows], o.kpar[rows]
    ml = info.max_lanes
    offchip = mode == cm.OFFCHIP
    ff = np.full(len(rows), FF_LAYER, np.int64)
    # ports: 2 flip-flops per LUT of their register bytes (the SRL FIFOs' share counts the same,
    # generously), and the collect registers of adapters out of an engine (no LUT)
    ff = ff + 2 * cm.port_luts(lay, offchip, ml)
    ff = ff + sum(8 * port_bytes(s) for s, into in cm.adapted_ports(lay, offchip) if not into)
    inl = simd * kpar
    lanes = pe * inl
    if lay.op in (CONV, FC):
        ff = ff + FF_PER_LANE * lanes + FF_PER_PE * pe
        ff = ff + np.where(kinds == cm.LUTMUL, FF_PER_LUT_MULT * lanes, 0)
        ff = ff + np.where(kinds == cm.PACKED, FF_PACK_SPLIT * (pe // 2) * cm.ceil_div(inl, cm.PAIR_CHUNK_MIN), 0)
        store, width, _ = cm.weight_store(info, spec, mode, rows)
        ff = ff + np.where(store == cm.LUTRAM, width, 0)  # the weight row's read register
        if offchip:
            ff = ff + FF_DMA
        else:
            ff = ff + np.where(store == cm.URAM, FF_PRELOAD, 0) + 2 * cm.mac_gearbox_luts(lay, pe, simd, ml)
    else:
        ff = ff + FF_POOL_PE * pe
        if lay.op in (AVGPOOL, GAP):
            ff = ff + 32 * pe
        if lay.op == LUT:
            ff = ff + 8 * port_lanes(lay.out_shape[0], ml)
        if lay.op == AFFINE:
            ff = ff + FF_AFFINE_LANE * port_lanes(lay.c_out, ml)
        if lay.op == CHANNELS:
            ff = ff + 8 * (lay.c_in + lay.c_out)
    # small buffers in LUTRAM: one read register at their width (block RAM / URAM register inside)
    skip_w = 8 * max(port_bytes(s, ml) for s in lay.in_shapes)
    buf, obuf = info.buffer_bytes, 0
    if lay.op in (CONV, FC) and offchip:
        buf, obuf = max(buf, lay.in_bytes), lay.out_bytes
    for nbytes, w in ((buf, inl * 8 if lay.op in (CONV, FC) else pe * 8), (info.skip_bytes, skip_w), (obuf, pe * 8)):
        if 0 < nbytes <= cm.LUTRAM_MAX_BYTES:
            ff = ff + w
    return ff.astype(np.int64)


def repack_ffs(pi: int, po: int) -> int:
    """Flip-flops of one ``repack<PI, PO>``: its buffer bytes and three 32-bit counters."""
    return 8 * (int(pi) + int(po)) + 3 * 32


def link_kernel_ffs(shapes: list, width_bits: int, lanes: int, send: bool) -> int:
    b = int(width_bits) // 8
    return int(sum(repack_ffs(port_bytes(s, lanes), b) if send else repack_ffs(b, port_bytes(s, lanes))
                   for s in shapes))


def ff_available(spec) -> int:
    """Flip-flops the platform leaves to kernels: the part's ``ff`` in the share of LUTs left."""
    dev = dict(spec.device)
    if dev.get("lut"):
        return int(spec.ff * spec.lut // dev["lut"])
    return int(spec.ff)


def _row(info, factors: dict) -> int | None:
    """The option whose factors the plan's layer names (None: no factor choice)."""
    o = info.options
    if o is None or not len(o.pe):
        return None
    mask = np.ones(len(o.pe), bool)
    for k in ("pe", "simd", "kpar"):
        mask &= getattr(o, k) == int(factors.get(k, 1))
    hit = np.flatnonzero(mask)
    return int(hit[0]) if hit.size else None


def layer_ffs(ly, info: cm.LayerInfo, spec) -> int:
    """Flip-flops of one plan layer (``option_ffs`` of its chosen option and MAC kind)."""
    mode = cm.OFFCHIP if ly.weights == "offchip" else cm.ONCHIP
    row = _row(info, ly.factors)
    if row is None:
        return int(option_ffs(info, spec, mode).min())
    kind = cm.MAC_KINDS.index(ly.mac) if ly.mac in cm.MAC_KINDS else cm.NO_MAC
    return int(option_ffs(info, spec, mode, [row], [kind])[0])


def layers_ffs(bp, infos: list, spec) -> int:
    """Flip-flops of a board plan's layers (:func:`layer_ffs` of each)."""
    return sum(layer_ffs(ly, infos[ly.index], spec) for ly in bp.layers)


def _half_a_share(ly, info: cm.LayerInfo, spec) -> float:
    """Fraction of a plan layer's LUTs in its own SLR (``ly.slr``): 1 unless its PE lanes are split
    (``slr_lanes``), then half A's LUTs over both halves' (costmodel.split_resources, whose sum is
    the layer's ``lut``). Its flip-flops are split in the same proportion (an estimate: option_ffs
    has no per-half form)."""
    row = _row(info, ly.factors) if ly.slr_lanes else None
    if row is None:
        return 1.0
    kind = cm.MAC_KINDS.index(ly.mac) if ly.mac in cm.MAC_KINDS else cm.NO_MAC
    mode = cm.OFFCHIP if ly.weights == "offchip" else cm.ONCHIP
    a, b = cm.split_resources(info, spec, mode, row, kind, [int(ly.slr_lanes[0][1])])
    both = int(a[0][3]) + int(b[0][3])
    return int(a[0][3]) / both if both else 0.5


def kernel_estimates(bp, infos: list, spec, link: dict) -> None:
    """Fill ``bp.slr_lut`` and ``bp.slr_ff`` (plan.json, one entry per SLR of the part) of a board
    built as one kernel per SLR: what each SLR's kernel should report in its own csynth report
    (``asymap compare`` holds them against it). Per SLR: the LUTs and flip-flops of its layers'
    engines, plus the link unpackers in the first kernel and the packers in the last (where
    codegen/segment_slr.py puts link_rx and link_tx). ``link``: the board's ``rx_lut``, ``tx_lut``,
    ``rx_ff``, ``tx_ff`` (transport.charge_link_kernels). A board in one SLR keeps ``[]``."""
    used = sorted({ly.slr for ly in bp.layers} | {s for ly in bp.layers for s, _ in (ly.slr_lanes or ())})
    if len(used) < 2:
        bp.slr_lut, bp.slr_ff = [], []
        return
    lut, ff = [0] * bp.slrs, [0] * bp.slrs
    for ly in bp.layers:
        f = layer_ffs(ly, infos[ly.index], spec)
        a = _half_a_share(ly, infos[ly.index], spec)
        lut[ly.slr] += round(a * int(ly.lut))
        ff[ly.slr] += round(a * f)
        if ly.slr_lanes:  # a lane-split engine: half B's share in the next SLR
            lut[ly.slr + 1] += int(ly.lut) - round(a * int(ly.lut))
            ff[ly.slr + 1] += f - round(a * f)
    lut[used[0]] += int(link["rx_lut"])
    ff[used[0]] += int(link["rx_ff"])
    lut[used[-1]] += int(link["tx_lut"])
    ff[used[-1]] += int(link["tx_ff"])
    bp.slr_lut, bp.slr_ff = lut, ff


def check_ffs(bplans: list, util: float) -> None:
    """Refuse a plan whose board's flip-flop estimate (``boards[].ff[0]``) exceeds ``util`` of what
    its platform leaves (``ff_available``)."""
    for bp in bplans:
        used, avail = bp.ff
        if used > util * avail:
            raise UserError(f"board {bp.name}: an estimated {used:,} flip-flops exceed {util:.0%} of the "
                            f"{avail:,} its platform leaves to kernels; plan with a lower --util")
