"""Per-layer cost model: cycles and resources of every legal parallelism choice on a board.

A board runs its segment as a dataflow pipeline with one engine per layer (FINN/hls4ml style).
A layer's engine has ``pe`` output lanes, ``simd`` input lanes and (KxK convs with few input
channels) ``kpar`` kernel-window positions per cycle; its cycles per image are exactly those of
the generated HLS engine (``engine_cycles``: the 1x1/fc engine overlaps loading, MACs and emitting
of successive pixels, the KxK conv engine loads rows while it computes, the other engines run
them one after another; ports carry at most 8 channels
per beat); see docs/cost-model.md for every formula and a worked example. The numbers here are the model the partitioner optimizes;
they are estimates of what HLS will produce, compared with real reports by ``asymap compare``.

Inner-problem device: for each layer and board the factor choices become a *menu*
(``raw_menu``): for every target T the cheapest real option meeting T (achievable plans), and the
per-resource minimum over the options meeting T (a relaxation that bounds every plan from below).
asymap.partition.segments solves every segment with both; the plan uses the achievable one and
its proven gap comes from the other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from asymap.cluster.boards import BoardSpec
from asymap.frontend.ir import ADD, AVGPOOL, CONCAT, CONV, FC, GAP, MAXPOOL, Graph, Layer
from asymap.lanes import PW_INFLIGHT, port_lanes

RES = ("dsp", "bram36", "uram", "lut")
BRAM_BITS = 36 * 1024
URAM_BITS = 288 * 1024
# BRAM36 aspect ratios (width, depth) in simple dual-port mode; URAM is 72 x 4096.
BRAM_SHAPES = ((1, 32768), (2, 16384), (4, 8192), (9, 4096), (18, 2048), (36, 1024), (72, 512))
URAM_SHAPE = (72, 4096)
LUTRAM_MAX_DEPTH = 64  # shallower memories go to LUTRAM (one LUT6 = 64 x 1 bit)
URAM_MIN_DEPTH = 1024  # deep weight memories go to URAM when the board has it
LUTRAM_MAX_BYTES = 1024  # small line/pixel buffers are LUTRAM
# LUT estimate: fixed control per layer + per-lane adder tree + per-PE accumulator/requant.
LUT_LAYER = 300
LUT_PER_LANE = 12
LUT_PER_PE = 40
LUT_DMA = 600  # AXI master reading weights from off-chip memory (offchip mode)

# Window parallelism (kpar) is offered to KxK standard convs with fewer input channels than this:
# wider layers reach their MAC budget through simd alone, and small menus keep planning fast.
KPAR_MAX_CIN = 16

ONCHIP, OFFCHIP = 0, 1
MODES = ("onchip", "offchip")


def divisors(n: int) -> list[int]:
    n = max(1, int(n))
    small = [d for d in range(1, int(n**0.5) + 1) if n % d == 0]
    return sorted(set(small + [n // d for d in small]))


def ceil_div(a, b):
    return -(-a // b)


def bram_count(width_bits, depth):
    """BRAM36 blocks for a memory of ``width_bits`` x ``depth`` (best aspect ratio)."""
    width_bits = np.asarray(width_bits, dtype=np.int64)
    depth = np.asarray(depth, dtype=np.int64)
    best = None
    for w, d in BRAM_SHAPES:
        n = ceil_div(width_bits, w) * ceil_div(depth, d)
        best = n if best is None else np.minimum(best, n)
    return np.where(depth > 0, best, 0)


def uram_count(width_bits, depth):
    """URAM blocks (72 x 4096, fixed width). A memory narrower than 72 bits is packed, several
    of its words per 72-bit URAM word (read serially: weights are consumed in order), so it costs
    its capacity; wider ones cost whole 72-bit columns."""
    w, d = URAM_SHAPE
    width_bits = np.asarray(width_bits, dtype=np.int64)
    depth = np.asarray(depth, dtype=np.int64)
    wide = ceil_div(width_bits, w) * ceil_div(depth, d)
    packed = ceil_div(width_bits * depth, w * d)
    return np.where(depth > 0, np.where(width_bits < w, packed, wide), 0)


@dataclass
class Options:
    """Board-independent factor choices of one layer and their cycles per image."""

    pe: np.ndarray
    simd: np.ndarray
    kpar: np.ndarray  # kernel-window positions per cycle (1 except KxK convs with few inputs)
    padded: np.ndarray  # pe does not divide C_out: the last fold computes zero-padded channels
    cycles: np.ndarray  # int64 cycles per image of the on-chip-weight engine
    cycles_off: np.ndarray  # the same choice as an off-chip-weight engine (conv_offchip)
    wdepth: np.ndarray  # depth of the weight memory (words of pe*kpar*simd bytes); 0 without weights


@dataclass
class LayerInfo:
    """What the cost model reads from a layer, precomputed once per graph."""

    layer: Layer
    has_weights: bool
    weight_bytes: int
    buffer_bytes: int  # line buffer / input-pixel buffer (bytes), independent of the factors
    skip_bytes: int  # FIFO holding the earlier operand of an add/concat while the branch computes
    options: Options
    streams: bool = False  # in a board's offchip mode, this layer's weights come from DRAM


def streamed_bytes(infos: list["LayerInfo"]) -> np.ndarray:
    """Weight bytes each layer reads from off-chip memory per image in offchip mode."""
    return np.array([i.weight_bytes if i.streams else 0 for i in infos], dtype=np.float64)


def _is_depthwise(layer: Layer) -> bool:
    return layer.op == CONV and layer.groups > 1 and layer.groups == layer.c_in == layer.c_out


def _padded_pes(c: int) -> list[int]:
    """Padded alternatives for channel counts with few divisors (primes): powers of two below c."""
    if c <= 3 or len(divisors(c)) > 2:
        return []
    out, p = [], 2
    while p < c:
        out.append(p)
        p *= 2
    return out


def is_pointwise(layer: Layer) -> bool:
    """Runs on the 1x1 engine (no row buffer): fc, and 1x1 stride-1 convs without padding."""
    return layer.op == FC or (layer.op == CONV and tuple(layer.kernel) == (1, 1)
                              and tuple(layer.stride) == (1, 1) and not any(layer.pads))


def kpar_choices(layer: Layer) -> list[int]:
    """Window parallelism offered to a layer: divisors of kh*kw for KxK standard convs with fewer
    than KPAR_MAX_CIN input channels (the RGB stem), else only 1."""
    kh, kw = layer.kernel
    if layer.op != CONV or layer.groups != 1 or kh * kw == 1 or layer.c_in >= KPAR_MAX_CIN:
        return [1]
    return divisors(kh * kw)


def flow_cycles(items: int, stages: tuple[int, ...]) -> int:
    """Cycles of a DATAFLOW loop over ``items`` whose body is a chain of processes taking
    ``stages`` cycles each per item, linked by ping-pong channels: the first item passes every
    process, each further one leaves after the slowest process (``csim_flow`` in conv.h)."""
    if items <= 0:
        return 0
    return sum(stages) + (items - 1) * max(stages)


def _rows_needed(layer: Layer, oy: int) -> int:
    """Input rows the row buffer holds before output row ``oy`` (line_buffer.h lb_rows_needed)."""
    hi = layer.in_shapes[0][1]
    last = oy * layer.stride[0] - layer.pads[0] + (layer.kernel[0] - 1) * layer.dilation[0]
    return min(hi, max(0, last + 1))


def row_flow_cycles(layer: Layer, per_row: int) -> int:
    """Cycles of the KxK conv engine whose output rows take ``per_row`` compute steps each (conv.h
    conv2d_core): the rows output row 0 needs are loaded first, then each output row runs
    max(its compute steps, the beats of the rows output row oy+1 still needs -- for the last row,
    the rest of the input) because the engine loads those while it computes."""
    cin, hi, wi = layer.in_shapes[0]
    ho = layer.out_shape[1]
    bpr = wi * (cin // port_lanes(cin))
    need = [_rows_needed(layer, oy) for oy in range(ho)] + [hi]
    loads = np.diff(np.array(need, dtype=np.int64)) * bpr
    return int(need[0] * bpr + np.maximum(loads, per_row).sum())


def engine_cycles(layer: Layer, pe: int, simd: int = 1, kpar: int = 1, offchip: bool = False) -> int:
    """Cycles per image of the layer's generated HLS engine (pipelined loops at II=1, fill ignored),
    term for term the table "Cycles of each engine" of docs/hls-library.md.

    ``pe`` is the PE count of a conv/fc and the channels per cycle of a pool; add and concat move one
    port beat per cycle whatever their factors. Input/output ports carry ``port_lanes(C)`` channels
    per beat. The 1x1 engine overlaps load, MACs and emit of successive pixels (``flow_cycles``),
    the KxK engine loads the next output row's input rows while it computes (``row_flow_cycles``);
    the pool and off-chip engines load, compute and emit one after the other."""
    cout, ho, wo = layer.out_shape
    cin, hi, wi = layer.in_shapes[0]
    kh, kw = layer.kernel
    kk = kh * kw
    pin, pout = port_lanes(cin), port_lanes(cout)
    if layer.op in (CONV, FC):
        nf = ceil_div(cout, pe)
        emit = cout // pout
        load = hi * wi * (cin // pin)
        if layer.op == FC:
            cin_g = int(layer.weight.shape[1]) if layer.weight is not None else cin * hi * wi
            sf = cin_g // simd
            return load + nf * sf * (2 if offchip else 1) + emit
        sf = layer.c_in // layer.groups // simd
        if offchip:  # conv_offchip: fold weights loaded once, then every output pixel of the fold
            return load + nf * kk * sf * (1 + ho * wo) + ho * wo * emit
        if is_pointwise(layer):
            return flow_cycles(hi * wi, (cin // pin, nf * sf, emit))
        return row_flow_cycles(layer, wo * (nf * (kk // kpar) * sf + emit))
    c = cout
    p = port_lanes(c)
    if layer.op in (MAXPOOL, AVGPOOL):  # row-overlapped like the KxK conv (pool.h pool2d_core)
        return row_flow_cycles(layer, wo * (ceil_div(c, pe) * kk + c // p))
    if layer.op == GAP:
        return hi * wi * (c // p) + c + c // p
    if layer.op == CONCAT:
        return ho * wo * (sum(s[0] // port_lanes(s[0]) for s in layer.in_shapes) + c // p)
    return ho * wo * (c // p)  # ADD and anything element-wise: one beat per cycle


def port_beats(layer: Layer) -> int:
    """The part of ``engine_cycles`` (on-chip weights) spent loading the input and emitting the
    output through the tensor ports: no factor choice makes a layer faster than this."""
    cout, ho, wo = layer.out_shape
    cin, hi, wi = layer.in_shapes[0]
    if layer.op == CONV and is_pointwise(layer):  # overlapped: the MAC stage at its shortest, 0
        return flow_cycles(hi * wi, (cin // port_lanes(cin), 0, cout // port_lanes(cout)))
    if layer.op == CONV:  # row buffer: loads overlap the row's MACs and emits; MACs at their shortest, 0
        return row_flow_cycles(layer, wo * (cout // port_lanes(cout)))
    if layer.op in (CONV, FC):
        emit = cout // port_lanes(cout)
        return hi * wi * (cin // port_lanes(cin)) + (emit if layer.op == FC else ho * wo * emit)
    p = port_lanes(cout)
    if layer.op in (MAXPOOL, AVGPOOL):
        return row_flow_cycles(layer, wo * (cout // p))
    if layer.op == GAP:
        return hi * wi * (cout // p) + cout // p
    return engine_cycles(layer, 1)


def layer_options(layer: Layer, pad: bool = True) -> Options:
    """Every legal (pe, simd, kpar) of a layer with its cycles per image (see docs/cost-model.md).

    ``pad`` adds zero-padded pe choices for prime C_out of conv (groups 1 or grouped) and fc layers,
    which the HLS engines support (``out_cp``, the padded channel count, in conv.h/fc.h)."""
    cin, hi, wi = layer.in_shapes[0]
    kh, kw = layer.kernel
    k = kh * kw
    rows = []  # (pe, simd, kpar, padded, cycles, cycles_off, wdepth)
    if layer.op == CONV and _is_depthwise(layer):
        c = layer.c_out
        for pe in divisors(c):  # depthwise: pe divides C, no padding
            f = ceil_div(c, pe)
            rows.append((pe, 1, 1, False, engine_cycles(layer, pe), engine_cycles(layer, pe, offchip=True), k * f))
    elif layer.op in (CONV, FC):
        if layer.op == CONV:
            cin_g = layer.c_in // layer.groups
        else:
            cin_g = int(layer.weight.shape[1]) if layer.weight is not None else cin * hi * wi
            k = 1
        cout = layer.c_out
        pes = [(d, False) for d in divisors(cout)] + [(p, True) for p in (_padded_pes(cout) if pad else [])]
        for kpar in kpar_choices(layer):
            for simd in divisors(cin_g):
                sf = cin_g // simd
                for pe, padded in pes:
                    nf = ceil_div(cout, pe)
                    rows.append((pe, simd, kpar, padded, engine_cycles(layer, pe, simd, kpar),
                                 engine_cycles(layer, pe, simd, offchip=True), (k // kpar) * sf * nf))
    else:
        c = layer.c_out
        pes = divisors(c) if layer.op in (MAXPOOL, AVGPOOL) else [1]  # others: beats, not lanes
        for pe in pes:
            cyc = engine_cycles(layer, pe)
            rows.append((pe, 1, 1, False, cyc, cyc, 0))
    a = np.array(rows, dtype=np.int64).reshape(-1, 7)
    return Options(a[:, 0], a[:, 1], a[:, 2], a[:, 3].astype(bool), a[:, 4], a[:, 5], a[:, 6])


def _skip_bytes(graph: Graph, layer: Layer) -> int:
    """FIFO for the operand of an add/concat that arrives early (the residual skip).

    The skip tensor waits while the other branch fills its line buffers: each k x k conv or pool
    on the branch delays it by (k - 1) rows, each overlapped 1x1 conv by the rows its ping-pong
    buffers hold (``fifodepth.PW_INFLIGHT`` pixels), plus one row of slack. The branch is the
    layers between the skip's producer and this layer in chain order.
    """
    if layer.op not in (ADD, CONCAT) or len(layer.inputs) < 2:
        return 0
    prods = [graph.producer.get(t, -1) for t in layer.inputs]
    early = min(range(len(prods)), key=lambda i: prods[i])
    c, h, w = layer.in_shapes[early]
    rows = 1
    for lyr in graph.layers[prods[early] + 1 : layer.index]:
        if lyr.op == CONV and is_pointwise(lyr):
            rows += ceil_div(PW_INFLIGHT, lyr.in_shapes[0][2])
        elif lyr.op in (CONV, MAXPOOL, AVGPOOL):  # row buffers also load the next output row's rows
            rows += lyr.kernel[0] - 1 + lyr.stride[0]
    return int(c * w * min(rows, h))


def _buffer_bytes(layer: Layer) -> int:
    cin, _, wi = layer.in_shapes[0]
    kh = layer.kernel[0]
    cout = layer.out_shape[0]
    if layer.op == CONV and is_pointwise(layer):
        return int(2 * (cin + cout))  # ping-pong input and output pixels of the DATAFLOW loop
    if layer.op in (CONV, MAXPOOL, AVGPOOL):  # row buffer: window rows + the stride's rows loaded ahead
        return int((kh + layer.stride[0]) * wi * cin)
    if layer.op == FC:
        return int(2 * (layer.in_bytes + cout))
    return 0


def layer_infos(graph: Graph, pad: bool = True) -> list[LayerInfo]:
    out = []
    cache: dict[tuple, Options] = {}  # ResNet-152 repeats a few block shapes dozens of times
    for layer in graph.layers:
        has_w = layer.op in (CONV, FC)
        key = (layer.op, tuple(layer.in_shapes), layer.out_shape, layer.kernel, layer.stride, tuple(layer.pads),
               layer.groups,
               None if layer.weight is None else layer.weight.shape)
        if key not in cache:
            cache[key] = layer_options(layer, pad)
        out.append(
            LayerInfo(
                layer=layer,
                has_weights=has_w,
                weight_bytes=int(layer.weight_bytes) if has_w else 0,
                buffer_bytes=_buffer_bytes(layer),
                skip_bytes=_skip_bytes(graph, layer),
                options=cache[key],
                # Streaming pays when the weights outweigh the input tensor it forces on chip;
                # window parallelism needs the row buffer, so layers offered kpar never stream.
                streams=(has_w and int(layer.weight_bytes) > int(layer.in_bytes)
                         and kpar_choices(layer) == [1]),
            )
        )
    return out


def option_resources(info: LayerInfo, spec: BoardSpec, mode: int) -> np.ndarray:
    """Resources [K, 4] (dsp, bram36, uram, lut) of every option of ``info`` on ``spec``."""
    o = info.options
    lay = info.layer
    n = len(o.pe)
    dsp = np.zeros(n, np.int64)
    bram = np.zeros(n, np.int64)
    uram = np.zeros(n, np.int64)
    lut = np.full(n, LUT_LAYER, np.int64)
    mac = lay.op in (CONV, FC)
    inl = o.simd * o.kpar  # inputs per PE per cycle
    lanes = o.pe * inl
    if mac:
        # DSP48E2 packs two int8 products sharing the activation: two PEs per DSP (WP486).
        dsp = inl * ceil_div(o.pe, spec.macs_per_dsp)
        lut = lut + LUT_PER_LANE * lanes + LUT_PER_PE * o.pe
        width = lanes * 8
        depth = o.wdepth
        if mode == OFFCHIP:
            # Weights stream from DRAM once per image: loop order output fold outer, pixels inner,
            # so only one output fold's weights (depth / nf words) are held, double-buffered.
            depth = np.minimum(2 * (depth // ceil_div(lay.c_out, o.pe)), depth)
            lut = lut + LUT_DMA
        small = depth <= LUTRAM_MAX_DEPTH
        lut = lut + np.where(small, width * ceil_div(depth, LUTRAM_MAX_DEPTH), 0)
        big = (~small) & (depth >= URAM_MIN_DEPTH) & (spec.uram > 0)
        uram = uram + np.where(big, uram_count(width, depth), 0)
        bram = bram + np.where(~small & ~big, bram_count(width, depth), 0)
        # int32 bias + requant multiplier per output channel, in LUTRAM.
        lut = lut + ceil_div(lay.c_out * 64, 64)
    else:
        lut = lut + 30 * o.pe
        if lay.op in (AVGPOOL, GAP):
            lut = lut + 40 * o.pe  # wide accumulators and the integer divide/requant
    buf, obuf = info.buffer_bytes, 0
    if mac and mode == OFFCHIP:
        # Streaming weights once per image means the loop order is output fold outer, pixels inner,
        # so the whole input tensor is held on chip (not just a few rows), and so is the output
        # (its stream wants all channels of a pixel together), as in hls/include/asymap/conv.h.
        buf, obuf = max(buf, lay.in_bytes), lay.out_bytes
    for nbytes, w in ((buf, inl * 8 if mac else o.pe * 8), (info.skip_bytes, o.pe * 8), (obuf, o.pe * 8)):
        if nbytes <= 0:
            continue
        depth = ceil_div(nbytes * 8, w)
        if nbytes <= LUTRAM_MAX_BYTES:
            lut = lut + ceil_div(nbytes * 8, 64)
            continue
        big = (depth >= URAM_MIN_DEPTH) & (spec.uram > 0)
        uram = uram + np.where(big, uram_count(w, depth), 0)
        bram = bram + np.where(big, 0, bram_count(w, depth))
    return np.stack([dsp, bram, uram, lut], axis=1).astype(np.int64)


@dataclass
class Menu:
    """Choices of one layer on one board in one weight mode (see ``raw_menu``).

    Achievable rows, slowest first: ``cycles`` (strictly decreasing) and ``res`` are the real
    cycles and resources of option ``opt``, the cheapest (by ``cost_weights``) of the options at
    least that fast; resources are *not* made monotone. ``lo_cycles``/``lo_res``: for every
    distinct cycle count of the layer, the component-wise minimum of the resources of every
    option at least that fast (the ideal point: a relaxation, used only for lower bounds)."""

    cycles: np.ndarray
    res: np.ndarray  # [K, 4]
    opt: np.ndarray  # index into LayerInfo.options
    lo_cycles: np.ndarray  # strictly decreasing
    lo_res: np.ndarray  # [K', 4], non-decreasing down the rows
    tight: bool = False  # the achievable row is the ideal point at every T (the relaxation is exact)
    lo_agg: np.ndarray | None = None  # [K', len(AGG_SETS)] floor(AGG_SCALE * min weighted sums), see agg_budget
    agg_w: np.ndarray | None = None  # the weights of those sums (1 / the board's resources)


# Aggregated constraints of the relaxation: for weights w >= 0 any real choice satisfies
# sum_layers w.r <= w.budget, so the per-layer minimum of w.r over the options meeting T is a
# valid relaxed "resource" too. The per-resource minima alone miss trade-offs (one option low in
# DSPs, another low in BRAM); sums over these resource subsets (weighted by 1 / the board's
# amount) catch them. Per-layer values are floored and budgets ceiled, so the bound stays valid.
AGG_SETS = ((0, 1), (0, 2), (1, 2), (0, 1, 2, 3))
AGG_SCALE = 1_000_000


def agg_budget(w: np.ndarray, budget: np.ndarray) -> np.ndarray:
    """Budgets of the aggregated constraints for a per-SLR ``budget`` (ceiled: never too tight)."""
    return np.array([int(np.ceil(AGG_SCALE * sum(w[r] * budget[r] for r in s_) + 1e-6)) for s_ in AGG_SETS],
                    dtype=np.int64)


def raw_menu(cycles: np.ndarray, res: np.ndarray, weights: np.ndarray) -> Menu:
    """The achievable menu and the ideal-point relaxation of one layer's options.

    For a target of T cycles the layer may take any option with cycles <= T. The achievable row
    is the cheapest of those by ``weights`` (its real resource vector, so every plan built from
    these rows exists); the ideal row is the per-resource minimum over them (no single option may
    have it, so sums of ideal rows only bound the best choice from below). Both are exact per
    layer; asymap.partition.segments turns them into an achievable and a lower-bound interval of
    every segment."""
    cost = res @ weights
    order = np.lexsort((np.arange(len(cycles)), cost, -cycles))  # cycles desc, cost asc, stable
    c = cycles[order]
    r = res[order]
    co = cost[order]
    first = np.ones(len(c), bool)
    first[1:] = c[1:] != c[:-1]
    starts = np.nonzero(first)[0]  # options with cycles <= c[starts[i]] are order[starts[i]:]
    # Suffix minima (from the fastest end): the cheapest option and the ideal point of every suffix.
    rev = co[::-1]
    best_rev = np.zeros(len(c), np.int64)
    run = 0
    for i in range(1, len(c)):
        if rev[i] <= rev[run]:  # ties prefer the slower option (uses the fewest lanes)
            run = i
        best_rev[i] = run
    best = (len(c) - 1 - best_rev[::-1])[starts]
    lo = np.minimum.accumulate(r[::-1], axis=0)[::-1][starts]
    per_level = order[best]
    tight = bool(np.array_equal(res[per_level], lo))
    agg = None
    if weights is not None:
        comb = np.maximum(0, np.stack([np.floor(AGG_SCALE * (r[:, list(s_)] * weights[list(s_)]).sum(axis=1) - 1e-6)
                         for s_ in AGG_SETS], axis=1)).astype(np.int64)
        agg = np.minimum.accumulate(comb[::-1], axis=0)[::-1][starts]
    keep = np.ones(len(per_level), bool)
    keep[1:] = per_level[1:] != per_level[:-1]  # a faster level with the same cheapest option adds nothing
    pick = per_level[keep]
    return Menu(cycles=cycles[pick].copy(), res=res[pick].copy(), opt=pick, lo_cycles=c[starts].copy(), lo_res=lo,
                tight=tight, lo_agg=agg, agg_w=weights)


def cost_weights(spec: BoardSpec) -> np.ndarray:
    """Tie-break weights: resources as fractions of the board's supply."""
    return np.array([1.0 / max(spec.dsp, 1), 1.0 / max(spec.bram36, 1), 1.0 / max(spec.uram, 1), 1.0 / spec.lut])


def _signature(info: LayerInfo) -> tuple:
    """Everything option_resources reads: equal layers (ResNet repeats its blocks) share a menu."""
    lay = info.layer
    return (lay.op, tuple(lay.in_shapes), lay.out_shape, lay.kernel, lay.stride, lay.groups, lay.c_out,
            info.weight_bytes, info.buffer_bytes, info.skip_bytes, len(info.options.cycles),
            info.options.cycles.tobytes(), info.options.cycles_off.tobytes(), info.options.kpar.tobytes(),
            info.options.wdepth.tobytes())


def board_menus(infos: list[LayerInfo], spec: BoardSpec, mode: int) -> list[Menu]:
    w = cost_weights(spec)
    cache: dict[tuple, Menu] = {}
    out = []
    for i in infos:
        key = _signature(i) + (i.streams,)
        if key not in cache:
            m = mode if i.streams else ONCHIP  # offchip mode streams only the layers that pay for it
            cyc = i.options.cycles_off if m == OFFCHIP else i.options.cycles
            cache[key] = raw_menu(cyc, option_resources(i, spec, m), w)
        out.append(cache[key])
    return out


def budget(spec: BoardSpec, util: float) -> np.ndarray:
    """Resources one board may use: ``util`` of each (the rest is shell, links and routing slack)."""
    return np.floor(np.array([spec.dsp, spec.bram36, spec.uram, spec.lut], dtype=np.float64) * util).astype(np.int64)


# ---- Super logic regions (multi-SLR parts) -------------------------------------------------------
# A board with S SLRs gets 1/S of its budget in each SLR (the board files give the platform's
# leftover resources; an even split is the simple, documented assumption). A layer's engine lives
# in one SLR, and the segment fills the SLRs in chain order, so a stream between consecutive
# engines crosses at most one SLR boundary. Crossing cost (docs/cost-model.md): the crossing
# stream gets a register slice on each side (Laguna flip-flops, a few cycles of latency, no change
# to the interval); the cost that matters is the packing: no engine straddles a boundary.


def slr_budget(spec: BoardSpec, util: float) -> np.ndarray:
    """The budget of one SLR: ``util`` of the board's resources divided evenly among its SLRs."""
    tot = np.array([spec.dsp, spec.bram36, spec.uram, spec.lut], dtype=np.float64) * util
    return np.floor(tot / max(1, spec.slrs)).astype(np.int64)


def pack_slrs(rows: list[np.ndarray], per_slr: np.ndarray, slrs: int) -> list[int] | None:
    """SLR of each layer (chain order, each SLR filled as far as it goes), or None if they do not
    fit. Filling greedily is optimal for contiguous packing: a later start never helps."""
    out, slr, used = [], 0, np.zeros(4, np.int64)
    for r in rows:
        if np.any(used + r > per_slr):
            slr, used = slr + 1, np.zeros(4, np.int64)
            if slr >= slrs or np.any(r > per_slr):
                return None
        used = used + r
        out.append(slr)
    return out
