"""Per-layer cost model: cycles and resources of every legal parallelism choice on a board.

A board runs its segment as a dataflow pipeline with one engine per layer (FINN/hls4ml style).
A layer's engine has ``pe`` output lanes, ``simd`` input lanes and (KxK convs with few input
channels) ``kpar`` kernel-window positions per cycle; its cycles per image are exactly those of
the generated HLS engine (``engine_cycles``: the 1x1/fc engine overlaps loading, MACs and emitting
of successive pixels, the KxK conv engine loads rows while it computes, the other engines run
them one after another; ports carry at most the board's
8, 16 or 32 channels per beat, ``max_lanes``); see docs/cost-model.md for every formula and a worked example. The numbers here are the model the partitioner optimizes;
they are estimates of what HLS will produce, compared with real reports by ``asymap compare``.

Inner-problem device: for each layer and board the factor choices become a *menu*
(``raw_menu``): for every target T the cheapest real option meeting T (achievable plans), and the
per-resource minimum over the options meeting T (a relaxation that bounds every plan from below).
asymap.partition.segments solves every segment with both; the plan uses the achievable one and
its proven gap comes from the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np

from asymap.cluster.boards import BoardSpec
from asymap.frontend.ir import ADD, AVGPOOL, CONCAT, CONV, FC, GAP, MAXPOOL, Graph, Layer
from asymap.frontend.ir import CHMUL, LUT
from asymap.frontend.ir import AFFINE, CHANNELS
from asymap.lanes import LAT_AFFINE, LAT_CHANSEL
from asymap.lanes import (
    LAT_CONCAT, LAT_GAP, LAT_GEARBOX, LAT_MVAU, LAT_POOL, LAT_SWG, LAT_ADD, PW_INFLIGHT, concat_slot_steps, gearbox_steps,
    DEFAULT_PORT_LANES, port_bytes, port_lanes, port_pixels,
)
from asymap.lanes import LAT_CHMUL, LAT_LUT

RES = ("dsp", "bram36", "uram", "lut")
BRAM_BITS = 36 * 1024
URAM_BITS = 288 * 1024
# BRAM36 aspect ratios (width, depth) in simple dual-port mode; URAM is 72 x 4096.
BRAM_SHAPES = ((1, 32768), (2, 16384), (4, 8192), (9, 4096), (18, 2048), (36, 1024), (72, 512))
URAM_SHAPE = (72, 4096)
_BRAM_W = np.array([w for w, _ in BRAM_SHAPES], np.int64)
_BRAM_D = np.array([d for _, d in BRAM_SHAPES], np.int64)
LUTRAM_MAX_DEPTH = 64  # shallower memories go to LUTRAM (one LUT6 = 64 x 1 bit)
URAM_MIN_DEPTH = 1024  # deep weight memories go to URAM when the board has it
LUTRAM_MAX_BYTES = 1024  # small line/pixel buffers are LUTRAM
# LUT estimate: fixed control per layer + per-lane adder tree + per-PE accumulator/requant.
LUT_LAYER = 300
LUT_PER_LANE = 12
LUT_PER_PE = 40
LUT_DMA = 600  # AXI master reading weights from off-chip memory (offchip mode)
# A wide port (several pixels per beat, asymap.lanes.port_pixels), per byte of its beat beyond the
# 8 a narrow port has (LUT_LAYER covers those): the gearbox's (or holding register's) beat-wide
# shift register (8 bits, one 2:1 multiplexer per bit, two per LUT6_2: 4 LUTs per byte) at each
# end, and on the output side the beat-wide stream FIFO in SRLs (8 LUTs per byte, up to 32 deep;
# every stream has one producer, so it is charged once).
LUT_WIDE_IN_BYTE = 4
LUT_WIDE_OUT_BYTE = 4 + 8
NARROW_PORT_BYTES = 8
# The gearbox between a PI-byte and a PO-byte word (stream_utils.h ``gearbox``) works on chunks of
# lcm(PI, PO) bytes held in two completely partitioned registers (collect, send): each element of
# a completely partitioned array is a register (UG1399 "Array Partitioning"), and each register
# byte has one 2:1 multiplexer per bit (shift or load; hold is the flip-flop enable), two bits per
# LUT6_2: 4 LUTs per byte per register. When one width divides the other the chunk is the wider
# word, which LUT_LAYER / LUT_PER_PE cover; a padded pe that neither divides nor is a multiple of
# the port's lanes (pe = 7: 56-byte chunks, pe = 37: 296) pays the bytes beyond the wider word.
LUT_GEARBOX_BYTE = 2 * 4

# MAC kinds (hls/include/asymap/mac.h), per conv/fc layer; plan.json "mac". Index = the kind's code.
MAC_KINDS = ("packed", "dsp", "lut")
PACKED, DSP1, LUTMUL = 0, 1, 2
NO_MAC = -1  # layers without weight multipliers
# One int8 x (int8|uint8) multiplier in fabric: FINN's MVAU LUT estimate
# (2*ceil((W+A)/6) - 1) * (W+A) with W = 8 weight bits and A = 9 activation bits (act_t holds
# int8 and uint8) = 85 LUTs; finn/src/finn/custom_op/fpgadataflow/matrixvectoractivation.py
# lut_estimation, after Blott et al., "FINN-R", ACM TRETS 11(3), 2018.
LUT_PER_MULT = 85
# Packed pairs: the sign-corrected split of every PAIR_CHUNK products (mac.h packed_split): one
# 30-bit add per pair and chunk. Costed with the uint8 chunk (4), the smaller of the two.
LUT_PACK_SPLIT = 30
PAIR_CHUNK_MIN = 4
# LUT multipliers are offered to engines with at most this many multipliers (87k LUTs): it bounds
# what the monotone envelope charges a faster DSP choice for a slower LUT one. On the zoo x preset
# plans 64, 256 and 1024 never differed for the worse; 1024 saved a board on ResNet-152/example16.
LUT_MAC_MAX = 1024
# A LUT-multiplier choice must be this much cheaper (as a share of the board) than the DSP choice of
# the same speed to be kept: fabric multipliers also cost routing, timing and power that the LUT
# count leaves out, and DSPs that would otherwise sit idle are free.
LUT_BIAS = 1.25
# Requantization multipliers (requant.h), always on DSPs. acc (32 bits) x multiplier (31 bits):
# 2 x 2 tiles of the 27x18 (DSP48E2) or 25x18 (DSP48E1) multiplier. An activation (9 bits) times a
# 31-bit constant (add, concat): 2 tiles.
REQUANT_DSP = 4
SCALE_DSP = 2
# A layer whose weights are preloaded into URAM: its share of the start-up loader (its stream, its
# load loop and a share of the loader's 64-bit AXI master; a per-layer constant keeps menus per layer).
LUT_PRELOAD = 150

# Window parallelism (kpar) is offered to KxK standard convs with fewer input channels than this:
# wider layers reach their MAC budget through simd alone, and small menus keep planning fast.
KPAR_MAX_CIN = 16

ONCHIP, OFFCHIP = 0, 1
MODES = ("onchip", "offchip")
# Where a layer's weights live (plan.json "weights"): a ROM initialized by the bitstream (BRAM or
# LUTRAM: UltraScale+ URAM has no bitstream initialization, AMD UG573), URAM loaded once at
# start-up from off-chip memory ("preload"), or streamed from off-chip memory per image.
WEIGHT_PLACES = ("onchip", "preload", "offchip")


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
    # every aspect ratio at once (one row per shape), the fewest blocks
    col = (-1,) + (1,) * max(width_bits.ndim, depth.ndim)
    best = (ceil_div(width_bits, _BRAM_W.reshape(col)) * ceil_div(depth, _BRAM_D.reshape(col))).min(axis=0)
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
    max_lanes: int = DEFAULT_PORT_LANES  # the board's port width these options assume (lanes.port_lanes)
    signature: tuple = field(default=(), repr=False, compare=False)  # _signature, set by layer_infos


def streamed_bytes(infos: list["LayerInfo"]) -> np.ndarray:
    """Weight bytes each layer reads from off-chip memory per image in offchip mode."""
    return np.array([i.weight_bytes if i.streams else 0 for i in infos], dtype=np.float64)


def _is_depthwise(layer: Layer) -> bool:
    return layer.op == CONV and layer.groups > 1 and layer.groups == layer.c_in == layer.c_out


# Padded pe (pe not dividing C_out): an option may waste at most PAD_WASTE of its engine's MACs on
# padding channels, and its fold count must be at least PAD_STEP below the next slower option's
# (divisor or padded). Measured on ResNet-152 (bench/padded_pe.py): the waste bound only prunes
# pe < 8 (pe = ceil(C/nf) wastes fewer than nf = C/pe channels, under 1/pe of them), and thinning
# fold counts to 1/16 steps drops ~15 % of the options for < 0.1 % of segment speed.
PAD_WASTE = 1 / 16
PAD_STEP = 1 / 16


def _padded_pes(c: int) -> list[int]:
    """Padded pe alternatives: for each fold count nf the smallest pe = ceil(c / nf) that is not a
    divisor of c, kept when the zero-padded channels waste at most PAD_WASTE of the engine's MACs
    and its fold count is at least PAD_STEP below the last kept option's (divisors always kept);
    for a prime c also every power of two below it (the menu primes always had).

    Why: with divisors only, parallelism of a power-of-two channel count comes in steps of 2x, so a
    layer that needs 1.3x the MACs of the next smaller option gets 2x of them (and the board's DSP
    budget runs out early); padded pe fills those gaps. A larger pe with the same fold count is
    never faster (cycles follow the folds), so one pe per fold count is enough, and fold counts a
    few percent apart add options (planning time) more than speed."""
    if c <= 3:
        return []
    ds = set(divisors(c))
    cand = {-(-c // nf) for nf in range(1, c + 1)}
    out, last = set(), None
    for p in sorted(cand | ds):
        nf = -(-c // p)
        if p in ds:
            last = nf
        elif p > 1 and nf * p - c <= PAD_WASTE * c and (last is None or nf <= last * (1 - PAD_STEP)):
            out.add(p)
            last = nf
    if len(ds) == 2:  # prime: its only divisors are 1 and c
        out.update(1 << k for k in range(1, c.bit_length()) if (1 << k) < c)
    return sorted(out)


def is_pointwise(layer: Layer) -> bool:
    """Runs on the 1x1 engine (no row buffer): fc, and 1x1 stride-1 ungrouped convs without padding."""
    return layer.op == FC or (layer.op == CONV and tuple(layer.kernel) == (1, 1) and layer.groups == 1
                              and tuple(layer.stride) == (1, 1) and not any(layer.pads))


def kpar_choices(layer: Layer) -> list[int]:
    """Window parallelism offered to a layer: divisors of kh*kw for KxK standard convs with fewer
    than KPAR_MAX_CIN input channels (the RGB stem), else only 1."""
    kh, kw = layer.kernel
    if layer.op != CONV or layer.groups != 1 or kh * kw == 1 or layer.c_in >= KPAR_MAX_CIN:
        return [1]
    return divisors(kh * kw)


def slot_rows(layer: Layer) -> np.ndarray:
    """Input rows each slot of a row-buffer engine loads (line_buffer.h swg_rows_by_slot): slot 0
    the rows output row 0 needs, slot oy+1 those output row oy+1 needs in addition (the last slot:
    the rest of the input, read and dropped)."""
    return _slot_rows(layer.in_shapes[0][1], layer.out_shape[1], layer.stride[0], layer.pads[0], layer.kernel[0],
                      layer.dilation[0])


@lru_cache(maxsize=None)
def _slot_rows(hi: int, ho: int, sh: int, pt: int, kh: int, dh: int) -> np.ndarray:
    oy = np.arange(ho, dtype=np.int64)
    need = np.clip(oy * sh - pt + (kh - 1) * dh + 1, 0, hi)
    rows = np.diff(np.concatenate([[0], need, [hi]]))
    rows.setflags(write=False)
    return rows


def port_gearbox(shape, pi: int, po: int, into_port: bool, max_lanes: int = DEFAULT_PORT_LANES) -> tuple[int, int, int]:
    """(iterations per item, tail, pixels per item) of the gearbox between a tensor port and an
    engine's ``pi``/``po``-byte words (stream_utils.h ``gearbox``, items of ``port_item``): one
    pixel of C bytes, or one wide beat of whole pixels (conv.h/pool.h pass the same items)."""
    c, _, w = shape
    g = port_pixels(c, w)
    item = port_bytes(shape, max_lanes) if g > 1 else c
    steps, tail = gearbox_steps(pi, po, item)
    return steps, tail, g


def row_engine_cycles(layer: Layer, bw: int, gin: tuple[int, int, int], words_per_pixel: int,
                      mac_per_pixel: int, gout: tuple[int, int, int], lat_compute: int) -> tuple[int, int]:
    """Cycles of a row-buffer engine (conv.h conv2d_core, pool.h pool2d_core): gearbox in, window
    generator, compute process, gearbox out, each one pipelined loop. Per slot the slowest process
    sets the pace -- the input gearbox (``gin[0]`` iterations per item of ``gin[2]`` input pixels:
    a wide port's beat holds several), the window generator (max of its row loads, W*C/BW words per
    row, and the W_out*words_per_pixel window words), the compute process (W_out*mac_per_pixel)
    and the output gearbox (W_out/gout[2] items of gout[0]) -- and every process adds its tail
    (pipeline depth, csim_count.h) once. Returns (slots, tails)."""
    cin, _, wi = layer.in_shapes[0]
    wo = layer.out_shape[2]
    rows = slot_rows(layer)
    loads_in = rows * (wi // gin[2]) * gin[0]
    swg = rows * wi * (cin // bw)
    compute = np.full(len(rows), wo * max(words_per_pixel, mac_per_pixel, gout[0] // gout[2]), dtype=np.int64)
    swg[1:] = np.maximum(swg[1:], wo * words_per_pixel)
    compute[0] = 0
    per_slot = np.maximum(np.maximum(loads_in, swg), compute)
    return int(per_slot.sum()), gin[1] + LAT_SWG + lat_compute + gout[1]


def conv_geometry(layer: Layer, pe: int, simd: int, kpar: int) -> dict:
    """Folding of a conv/fc engine (conv.h conv_shape): NF, SF, KF, buffer word BW, window words
    per output pixel and MVAU iterations per output pixel."""
    cin = layer.in_shapes[0][0]
    cout = layer.out_shape[0]
    kh, kw = layer.kernel
    if layer.op == FC:
        cing = int(layer.weight.shape[1]) if layer.weight is not None else cin * layer.in_shapes[0][1] * layer.in_shapes[0][2]
        groups, kk = 1, 1
    else:
        groups, kk = layer.groups, kh * kw
        cing = cin // groups
    coutg = cout // groups
    dw = cing == 1 and coutg == 1
    nf, sf, kf = ceil_div(cout, pe), cing // simd, kk // kpar
    s = 1 if dw else sf
    return {"nf": nf, "sf": sf, "kf": kf, "bw": pe if dw else simd, "cing": cing,
            "words": nf * kf * s, "steps": nf * kf * s}  # the window generator sends words once per fold


def engine_cycles(layer: Layer, pe: int, simd: int = 1, kpar: int = 1, offchip: bool = False,
                  max_lanes: int = DEFAULT_PORT_LANES) -> int:
    """Cycles per image of the layer's generated HLS engine, fill and drain included (see
    ``engine_schedule``)."""
    steady, tail = with_adapters(layer, engine_schedule(layer, pe, simd, kpar, offchip, max_lanes), offchip)
    return steady + tail


def engine_fill_drain(layer: Layer, pe: int, simd: int = 1, kpar: int = 1, offchip: bool = False,
                      max_lanes: int = DEFAULT_PORT_LANES) -> int:
    """The part of ``engine_cycles`` spent filling and draining the engine's pipelines (the
    processes' tails): what a model that assumed II=1 loops without fill would leave out."""
    return with_adapters(layer, engine_schedule(layer, pe, simd, kpar, offchip, max_lanes), offchip)[1]


# Engines that take port_lanes(C) channels per beat only: a wide port reaches them through a
# width_convert adapter (codegen segment_blocks.narrow_adapt; conv_offchip: segment_blocks' conv).
NARROW_ENGINES = (LUT, CHMUL, AFFINE, CHANNELS)


def adapted_ports(layer: Layer, offchip: bool = False) -> list[tuple[tuple[int, int, int], bool]]:
    """The layer's ports that get a width_convert adapter, as (shape, into the engine): operand 0
    and the output, where they are wide (``port_bytes`` > C), of the narrow engines and of a conv
    whose weights are off chip (conv_offchip reads and writes one pixel per beat at most)."""
    if not (layer.op in NARROW_ENGINES or (offchip and layer.op == CONV)):
        return []
    ports = [(tuple(int(v) for v in layer.in_shapes[0]), True), (tuple(int(v) for v in layer.out_shape), False)]
    return [(s, into) for s, into in ports if port_bytes(s) > s[0]]


def adapter_schedule(shape, into_engine: bool) -> tuple[int, int]:
    """(steady, tail) per image of stream_utils.h ``width_convert<C, wide, narrow, H*W>`` (or back):
    a gearbox over items of one wide beat (``port_bytes`` bytes), H*W*C/port_bytes items."""
    c, h, w = shape
    wide, narrow = port_bytes(shape), port_lanes(c)
    steps, tail = gearbox_steps(wide, narrow, wide) if into_engine else gearbox_steps(narrow, wide, wide)
    return h * w * c // wide * steps, tail


def with_adapters(layer: Layer, sched: tuple[int, int], offchip: bool = False) -> tuple[int, int]:
    """An engine's (steady, tail) with its width adapters (``adapted_ports``): each is one more
    process of the chain beside the engine (these engines count the image as one slot), so the
    steady part is the slowest of them and every adapter's pipeline fills and drains once
    (csim_count.h ``csim_adapter_end`` counts the same)."""
    steady, tail = sched
    for shape, into in adapted_ports(layer, offchip):
        s, t = adapter_schedule(shape, into)
        steady, tail = max(steady, s), tail + t
    return steady, tail


# conv_offchip.h runs load, MACs and emit as three loops one after another: each fills and drains
# its pipeline once per image (two gearbox-like loops and one MVAU-like loop).
OFFCHIP_TAIL = 2 * LAT_GEARBOX + LAT_MVAU


def engine_schedule(layer: Layer, pe: int, simd: int = 1, kpar: int = 1, offchip: bool = False,
                    max_lanes: int = DEFAULT_PORT_LANES) -> tuple[int, int]:
    """(steady-state cycles, fill/drain cycles) per image of the layer's generated HLS engine, pipeline fill and drain included, term
    for term the table "Cycles of each engine" of docs/hls-library.md (and what the C-sim counters
    of csim_count.h count).

    ``pe`` is the PE count of a conv/fc and the channels per cycle of a pool; add and concat move one
    port beat per cycle whatever their factors. Input/output ports carry ``port_lanes(C)`` channels
    per beat, or whole pixels per beat when C is small (``port_bytes``: the wide stem port);
    gearboxes convert them to the engine's SIMD/PE-wide words and back. ``max_lanes``: the board's
    port width (channels per beat at most, lanes.port_lanes)."""
    ml = max_lanes
    cout, ho, wo = layer.out_shape
    cin, hi, wi = layer.in_shapes[0]
    kh, kw = layer.kernel
    kk = kh * kw
    pin, pout = port_lanes(cin, ml), port_lanes(cout, ml)  # off-chip engines: narrow ports (segment adapters)
    bin_, bout = port_bytes(layer.in_shapes[0], ml), port_bytes(layer.out_shape, ml)
    if layer.op in (CONV, FC):
        g = conv_geometry(layer, pe, simd, kpar)
        nf = g["nf"]
        emit = cout // pout
        load = hi * wi * (cin // pin)
        if layer.op == FC and offchip:  # conv_offchip.h with one output pixel: load, NF*SF MACs, emit gearbox
            cin_g = int(layer.weight.shape[1]) if layer.weight is not None else cin * hi * wi
            return cin * hi * wi // bin_ + nf * (cin_g // simd) + max(nf, emit), OFFCHIP_TAIL
        if offchip:  # conv_offchip.h: load; NF x pixels x fold rows (weights stream in on pixel 0); emit gearbox
            sf = layer.c_in // layer.groups // simd
            return load + nf * kk * sf * ho * wo + ho * wo * max(nf, emit), OFFCHIP_TAIL
        if port_pixels(cout, wo) > 1:  # a wide output has no padding channels (layer_options)
            gout = port_gearbox(layer.out_shape, pe, bout, True, ml)
        else:
            gout = gearbox_steps(pe, bout, nf * pe) + (1,)
        if layer.op == FC:  # one "pixel": the whole tensor, in port beats of the input tensor
            gin = gearbox_steps(bin_, simd, g["cing"])
            return max(gin[0], g["steps"], gout[0]), gin[1] + LAT_MVAU + gout[1]
        gin = port_gearbox(layer.in_shapes[0], bin_, simd if is_pointwise(layer) else g["bw"], False, ml)
        if is_pointwise(layer):  # per slot of G pixels (a wide port's beat): gearbox in, MVAU, gearbox out overlap
            grp = max(gin[2], gout[2])
            slot = max(gin[0] * (grp // gin[2]), grp * g["steps"], gout[0] * (grp // gout[2]))
            return hi * wi // grp * slot, gin[1] + LAT_MVAU + gout[1]
        return row_engine_cycles(layer, g["bw"], gin, g["words"], g["steps"], gout, LAT_MVAU)
    c = cout
    p = port_lanes(c, ml)
    if layer.op in (MAXPOOL, AVGPOOL):  # row-buffer engine like the KxK conv (pool.h pool2d_core)
        cf = ceil_div(c, pe)
        return row_engine_cycles(layer, pe, port_gearbox(layer.in_shapes[0], bin_, pe, False, ml), cf * kk, cf * kk,
                                 port_gearbox(layer.out_shape, pe, bout, True, ml), LAT_POOL)
    if layer.op == GAP:  # a wide input beat adds its pixels per channel in one step
        gi = port_pixels(cin, wi)
        return hi * wi // gi * (1 if gi > 1 else c // p) + c // p, LAT_GAP
    if layer.op == CONCAT:
        return (ho * wo + 1) * concat_slot_steps(layer.in_shapes, layer.out_shape, ml), LAT_CONCAT
    # The layer kinds below run at port_lanes(C) channels per step; a wide port reaches them
    # through width_convert adapters (codegen/segment.py), charged by ``with_adapters``.
    if layer.op == LUT:  # lut.h: one beat per cycle
        return ho * wo * (c // p), LAT_LUT
    if layer.op == CHMUL:  # chmul.h: the scale's C/P beats, then one beat of the feature map per cycle
        return (ho * wo + 1) * (c // p), LAT_CHMUL
    if layer.op == AFFINE:  # affine.h: one beat per cycle
        return ho * wo * (c // p), LAT_AFFINE
    if layer.op == CHANNELS:  # chansel.h: pixel k shifted in while pixel k-1 is sent
        return (ho * wo + 1) * max(cin // port_lanes(cin, ml), c // p), LAT_CHANSEL
    return ho * wo * (c // p), LAT_ADD  # ADD: port_lanes(C) channels per cycle (a wide port is held)


def _gearbox_steps_v(pi, po, ci) -> tuple[np.ndarray, np.ndarray]:
    """``lanes.gearbox_steps`` over arrays (element by element the same integers)."""
    pi, po, ci = (np.asarray(v, dtype=np.int64) for v in (pi, po, ci))
    lcm = pi // np.gcd(pi, po) * po
    m = np.maximum(lcm // pi, lcm // po)
    return -(-ci // lcm) * m, m + LAT_GEARBOX


def mac_engine_cycles(layer: Layer, pe, simd, kpar, offchip: bool = False,
                      max_lanes: int = DEFAULT_PORT_LANES) -> np.ndarray:
    """``engine_cycles`` of a conv/fc layer for arrays of (pe, simd, kpar) choices at once.

    Why: ``layer_options`` asks for every option of every layer at every port width (ResNet-152:
    ~45,000 calls of the scalar function, most of the planner's table-building time). This is the
    same schedule term for term (``engine_schedule``'s CONV/FC branches, ``row_engine_cycles``,
    ``with_adapters``) in numpy; the scalar function stays the reference the C-sim counters are
    compared with, and tests/partition/test_partition_tables.py checks the two agree on every
    option of several models."""
    ml = max_lanes
    pe, simd, kpar = (np.asarray(v, dtype=np.int64) for v in (pe, simd, kpar))
    cout, ho, wo = layer.out_shape
    cin, hi, wi = layer.in_shapes[0]
    kh, kw = layer.kernel
    kk = kh * kw
    pout = port_lanes(cout, ml)
    pin = port_lanes(cin, ml)
    bin_, bout = port_bytes(layer.in_shapes[0], ml), port_bytes(layer.out_shape, ml)
    if layer.op == FC:
        cing = int(layer.weight.shape[1]) if layer.weight is not None else cin * hi * wi
        groups, kk_g = 1, 1
    else:
        groups, kk_g = layer.groups, kk
        cing = cin // groups
    dw = cing == 1 and cout // groups == 1
    nf = -(-cout // pe)
    sf = cing // simd
    kf = kk_g // kpar
    steps = nf * kf * (1 if dw else sf)
    emit = cout // pout
    load = hi * wi * (cin // pin)
    if layer.op == FC and offchip:
        steady = cin * hi * wi // bin_ + nf * (cing // simd) + np.maximum(nf, emit)
        tail = np.full_like(steady, OFFCHIP_TAIL)
    elif offchip:
        sf_off = layer.c_in // layer.groups // simd
        steady = load + nf * kk * sf_off * ho * wo + ho * wo * np.maximum(nf, emit)
        tail = np.full_like(steady, OFFCHIP_TAIL)
    else:
        gout_pix = port_pixels(cout, wo)
        if gout_pix > 1:
            item = port_bytes(layer.out_shape, ml)
            go0, go1 = _gearbox_steps_v(pe, bout, item)
        else:
            go0, go1 = _gearbox_steps_v(pe, bout, nf * pe)
            gout_pix = 1
        if layer.op == FC:
            gi0, gi1 = _gearbox_steps_v(bin_, simd, cing)
            steady = np.maximum(np.maximum(gi0, steps), go0)
            tail = gi1 + LAT_MVAU + go1
        else:
            pw = is_pointwise(layer)
            bw = simd if (pw or not dw) else pe
            gin_pix = port_pixels(cin, wi)
            item_in = port_bytes(layer.in_shapes[0], ml) if gin_pix > 1 else cin
            gi0, gi1 = _gearbox_steps_v(bin_, bw, item_in)
            if pw:
                grp = max(gin_pix, gout_pix)
                slot = np.maximum(np.maximum(gi0 * (grp // gin_pix), grp * steps), go0 * (grp // gout_pix))
                steady = hi * wi // grp * slot
                tail = gi1 + LAT_MVAU + go1
            else:  # row_engine_cycles, one column per slot
                words = steps
                rows = slot_rows(layer)[None, :]
                loads_in = rows * (wi // gin_pix) * gi0[:, None]
                swg = rows * wi * (cin // bw)[:, None]
                comp = wo * np.maximum(np.maximum(words, steps), go0 // gout_pix)
                compute = np.broadcast_to(comp[:, None], swg.shape).copy()
                swg[:, 1:] = np.maximum(swg[:, 1:], (wo * words)[:, None])
                compute[:, 0] = 0
                steady = np.maximum(np.maximum(loads_in, swg), compute).sum(axis=1)
                tail = gi1 + LAT_SWG + LAT_MVAU + go1
    for shape, into in adapted_ports(layer, offchip):
        s, t = adapter_schedule(shape, into)
        steady, tail = np.maximum(steady, s), tail + t
    return (steady + tail).astype(np.int64)


def port_beats(layer: Layer, max_lanes: int = DEFAULT_PORT_LANES) -> int:
    """A lower bound of ``engine_cycles`` (on-chip weights) that no factor choice beats: loading
    the input and emitting the output through the tensor ports, with the compute steps at zero."""
    cout, ho, wo = layer.out_shape
    cin, hi, wi = layer.in_shapes[0]
    bin_, bout = port_bytes(layer.in_shapes[0], max_lanes), port_bytes(layer.out_shape, max_lanes)
    if layer.op in (CONV, MAXPOOL, AVGPOOL) and not is_pointwise(layer):
        rows = slot_rows(layer)
        per = np.maximum(rows * (wi * cin // bin_), np.r_[0, np.full(len(rows) - 1, wo * cout // bout)])
        return int(per.sum())
    if layer.op in (CONV, FC):
        return max(cin * hi * wi // bin_, cout * ho * wo // bout)
    return engine_cycles(layer, 1, max_lanes=max_lanes)


def layer_options(layer: Layer, pad: bool = True, max_lanes: int = DEFAULT_PORT_LANES) -> Options:
    """Every legal (pe, simd, kpar) of a layer with its cycles per image (see docs/cost-model.md).

    ``pad`` adds zero-padded pe choices (``_padded_pes``) to ungrouped conv and fc layers with a
    narrow output port, which the HLS engines support (``out_cp``, the padded channel count, in
    conv.h/fc.h); grouped and depthwise convs keep divisors (a fold's PE lanes share one input
    word), and so does a wide output port (the padding would sit inside a beat)."""
    cin, hi, wi = layer.in_shapes[0]
    kh, kw = layer.kernel
    k = kh * kw
    rows = []  # (pe, simd, kpar, padded, cycles, cycles_off, wdepth)
    if layer.op == CONV and _is_depthwise(layer):
        c = layer.c_out
        pe = np.array(divisors(c), dtype=np.int64)  # depthwise: pe divides C, no padding
        one = np.ones_like(pe)
        return _options(pe, one, one, np.zeros(len(pe), bool),
                        mac_engine_cycles(layer, pe, one, one, max_lanes=max_lanes),
                        mac_engine_cycles(layer, pe, one, one, offchip=True, max_lanes=max_lanes), k * (-(-c // pe)))
    elif layer.op in (CONV, FC):
        if layer.op == CONV:
            cin_g = layer.c_in // layer.groups
        else:
            cin_g = int(layer.weight.shape[1]) if layer.weight is not None else cin * hi * wi
            k = 1
        cout = layer.c_out
        if layer.op == CONV and layer.groups > 1:  # grouped: PE divides C_out/groups (conv.h)
            pes = [(d, False) for d in divisors(cout // layer.groups)]
        else:
            # a wide output port carries whole pixels, so no padding channels (conv.h)
            wide_out = layer.op == CONV and port_pixels(cout, layer.out_shape[2]) > 1
            pes = [(d, False) for d in divisors(cout)] + [(p, True) for p in (
                _padded_pes(cout) if pad and not wide_out else [])]
        # Every (kpar, simd, pe) in that nesting order (the option order plan.json's indices use).
        kp_, sd_, pe_ = np.meshgrid(np.array(kpar_choices(layer), np.int64), np.array(divisors(cin_g), np.int64),
                                    np.arange(len(pes)), indexing="ij")
        kp_, sd_, pe_ = kp_.ravel(), sd_.ravel(), pe_.ravel()
        pe = np.array([p for p, _ in pes], np.int64)[pe_]
        padded = np.array([d for _, d in pes], bool)[pe_]
        one = np.ones_like(pe)
        return _options(pe, sd_, kp_, padded, mac_engine_cycles(layer, pe, sd_, kp_, max_lanes=max_lanes),
                        mac_engine_cycles(layer, pe, sd_, one, offchip=True, max_lanes=max_lanes),
                        (k // kp_) * (cin_g // sd_) * (-(-cout // pe)))
    else:
        c = layer.c_out
        pes = divisors(c) if layer.op in (MAXPOOL, AVGPOOL) else [1]  # others: beats, not lanes
        for pe in pes:
            cyc = engine_cycles(layer, pe, max_lanes=max_lanes)
            rows.append((pe, 1, 1, False, cyc, cyc, 0))
    a = np.array(rows, dtype=np.int64).reshape(-1, 7)
    return Options(a[:, 0], a[:, 1], a[:, 2], a[:, 3].astype(bool), a[:, 4], a[:, 5], a[:, 6])


def _options(pe, simd, kpar, padded, cycles, cycles_off, wdepth) -> Options:
    """Options from per-option arrays (int64, ``padded`` bool)."""
    i64 = [np.ascontiguousarray(v, dtype=np.int64) for v in (pe, simd, kpar)]
    return Options(*i64, np.ascontiguousarray(padded, dtype=bool),
                   *(np.ascontiguousarray(v, dtype=np.int64) for v in (cycles, cycles_off, wdepth)))


def _skip_bytes(graph: Graph, layer: Layer) -> int:
    """FIFO for the operand of an add/concat that arrives early (the residual skip).

    The skip tensor waits while the other branch fills its line buffers: each k x k conv or pool
    on the branch delays it by (k - 1) rows, each overlapped 1x1 conv by the rows its ping-pong
    buffers hold (``fifodepth.PW_INFLIGHT`` pixels), plus one row of slack. The branch is the
    layers between the skip's producer and this layer in chain order.
    """
    if layer.op == CHMUL:  # the feature map waits, whole, while the squeeze path pools all of it
        c, h, w = layer.in_shapes[0]
        return int(c * h * w)
    if layer.op not in (ADD, CONCAT) or len(layer.inputs) < 2:
        return 0
    prods = [graph.producer.get(t, -1) for t in layer.inputs]
    early = min(range(len(prods)), key=lambda i: prods[i])
    # A DenseNet concat also holds every other operand that a later operand is computed from (each
    # earlier feature waits while the newer ones are computed from it); branches that only share
    # an input (Inception) or a split (ShuffleNet) are charged once, by the earliest operand.
    feeds = _operand_ancestors(graph, layer.inputs, min(prods))
    waiting = [early] + [i for i, t in enumerate(layer.inputs) if i != early and t in feeds]
    total = 0
    for i in waiting:
        c, h, w = layer.in_shapes[i]
        rows = 1
        for lyr in graph.layers[prods[i] + 1 : layer.index]:
            if lyr.op == CONV and is_pointwise(lyr):
                rows += ceil_div(PW_INFLIGHT, lyr.in_shapes[0][2])
            elif lyr.op in (CONV, MAXPOOL, AVGPOOL):  # row buffers also load the next output row's rows
                rows += lyr.kernel[0] - 1 + lyr.stride[0]
        total += int(c * w * min(rows, h))
    return total


def _operand_ancestors(graph: Graph, tensors: list[str], floor: int) -> set[str]:
    """Tensors (produced at or after layer ``floor``) that some tensor of ``tensors`` is computed
    from, the tensors themselves excluded."""
    seen: set[str] = set()
    stack = list(tensors)
    while stack:
        p = graph.producer.get(stack.pop(), -1)
        if p < 0 or p < floor:
            continue
        for u in graph.layers[p].inputs:
            if u not in seen and graph.producer.get(u, -1) >= floor:
                seen.add(u)
                stack.append(u)
    return seen


def gearbox_luts(pi, po) -> np.ndarray:
    """LUTs of a ``gearbox<PI, PO>``'s chunk registers beyond the wider of its two words
    (LUT_GEARBOX_BYTE): zero when one width divides the other."""
    pi, po = np.asarray(pi, dtype=np.int64), np.asarray(po, dtype=np.int64)
    return LUT_GEARBOX_BYTE * (np.lcm(pi, po) - np.maximum(pi, po))


def mac_gearbox_luts(layer: Layer, pe, simd, max_lanes: int = DEFAULT_PORT_LANES) -> np.ndarray:
    """``gearbox_luts`` of an on-chip conv/fc engine's two gearboxes (conv.h): tensor port ->
    SIMD words (PE words for depthwise) and PE result words -> tensor port. conv_offchip.h
    converts with a buffer of fill-indexed bytes instead (no lcm chunks)."""
    pe, simd = np.asarray(pe, dtype=np.int64), np.asarray(simd, dtype=np.int64)
    bw = pe if (layer.op == CONV and _is_depthwise(layer)) else simd
    return (gearbox_luts(port_bytes(layer.in_shapes[0], max_lanes), bw)
            + gearbox_luts(pe, port_bytes(layer.out_shape, max_lanes)))


def wide_port_luts(layer: Layer, max_lanes: int = DEFAULT_PORT_LANES) -> int:
    """LUTs of the layer's ports beyond what an 8-byte port costs (LUT_WIDE_*_BYTE): whole-pixel
    (wide stem) ports and ports of more than 8 channels per beat (a board's ``port_lanes`` above 8)
    alike pay for the beat-wide shift registers of their gearboxes and the output's SRL FIFO."""
    def extra(s) -> int:
        return max(0, port_bytes(s, max_lanes) - NARROW_PORT_BYTES)
    return (LUT_WIDE_IN_BYTE * sum(extra(s) for s in layer.in_shapes)
            + LUT_WIDE_OUT_BYTE * extra(layer.out_shape))


# A width_convert adapter (stream_utils.h gearbox over one wide beat of B bytes, P = port_lanes(C)
# bytes per narrow beat): loop counters and compares; into the engine the send register loads the
# beat or shifts by P (one 2:1 multiplexer per bit: 4 LUTs per byte of B, as LUT_WIDE_IN_BYTE),
# out of it the collect register only shifts and loads whole (flip-flops with enable, no LUT); on
# the engine side a depth-2 stream of P bytes in SRLs (8 LUTs per byte). The wide stream on the
# other side is the tensor's own (charged as a wide output, LUT_WIDE_OUT_BYTE's FIFO share).
LUT_ADAPTER = 30
LUT_ADAPTER_FIFO_BYTE = 8


def adapter_luts(shape, into_engine: bool) -> int:
    """LUTs of one width_convert adapter (see LUT_ADAPTER); its flip-flops (two registers of B
    bytes) are not a budgeted resource."""
    wide, narrow = port_bytes(shape), port_lanes(int(shape[0]))
    return LUT_ADAPTER + (LUT_WIDE_IN_BYTE * wide if into_engine else 0) + LUT_ADAPTER_FIFO_BYTE * narrow


def port_luts(layer: Layer, offchip: bool = False, max_lanes: int = DEFAULT_PORT_LANES) -> int:
    """``wide_port_luts``, except that a port reaching its engine through a width_convert adapter
    (``adapted_ports``) is charged the adapter instead of the engine's wide register (an adapted
    output keeps the wide stream FIFO's share of LUT_WIDE_OUT_BYTE)."""
    adapted = adapted_ports(layer, offchip)
    if not adapted:
        return wide_port_luts(layer, max_lanes)
    a_in, a_out = any(into for _, into in adapted), any(not into for _, into in adapted)
    wide_in = wide_port_luts(layer, max_lanes) - LUT_WIDE_OUT_BYTE * _beyond_narrow(layer.out_shape)
    if a_in:
        wide_in -= LUT_WIDE_IN_BYTE * _beyond_narrow(layer.in_shapes[0])
    out_rate = LUT_WIDE_OUT_BYTE - LUT_WIDE_IN_BYTE if a_out else LUT_WIDE_OUT_BYTE
    return (wide_in + out_rate * _beyond_narrow(layer.out_shape)
            + sum(adapter_luts(s, into) for s, into in adapted))


def _beyond_narrow(shape) -> int:
    """Bytes of a wide port's beat beyond a narrow port's 8 (0 unless wide; wide_port_luts)."""
    c, _, w = (int(v) for v in shape)
    return max(0, port_bytes(shape) - NARROW_PORT_BYTES) if port_pixels(c, w) > 1 else 0


def _wide_ports(layer: Layer) -> bool:
    """A conv whose input or output port carries several pixels per beat (``port_pixels``)."""
    return layer.op == CONV and (port_pixels(layer.in_shapes[0][0], layer.in_shapes[0][2]) > 1
                                 or port_pixels(layer.out_shape[0], layer.out_shape[2]) > 1)


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


def layer_infos(graph: Graph, pad: bool = True, max_lanes: int = DEFAULT_PORT_LANES,
                like: list[LayerInfo] | None = None) -> list[LayerInfo]:
    """Every layer's options and fixed charges on boards whose ports carry up to ``max_lanes``
    channels per beat. ``like``: the same graph's infos at another width, whose width-independent
    charges (buffers, skip FIFOs, streaming) are taken instead of computed again."""
    out = []
    cache: dict[tuple, Options] = {}  # ResNet-152 repeats a few block shapes dozens of times
    for li, layer in enumerate(graph.layers):
        has_w = layer.op in (CONV, FC)
        key = (layer.op, tuple(layer.in_shapes), layer.out_shape, layer.kernel, layer.stride, tuple(layer.pads),
               layer.groups,
               None if layer.weight is None else layer.weight.shape)
        if key not in cache:
            cache[key] = layer_options(layer, pad, max_lanes)
        if like is not None:
            info = replace(like[li], options=cache[key], max_lanes=max_lanes, signature=())
            info.signature = _signature(info)
            out.append(info)
            continue
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
                # conv_offchip takes narrow ports only: wide-port layers stay on chip.
                streams=(has_w and int(layer.weight_bytes) > int(layer.in_bytes)
                         and kpar_choices(layer) == [1] and not _wide_ports(layer)),
                max_lanes=max_lanes,
            )
        )
        out[-1].signature = _signature(out[-1])
    return out


def mac_rows(info: LayerInfo, spec: BoardSpec) -> tuple[np.ndarray, np.ndarray]:
    """(option index, MAC kind) of every menu row of a layer on a board.

    A conv/fc option is offered as ``packed`` on DSP48E2 boards when two PEs share activations
    (groups == 1, pe >= 2; one-per-DSP is then never cheaper), else as ``dsp``; options with at most
    LUT_MAC_MAX multipliers are offered with LUT multipliers as well. Other layers: NO_MAC."""
    o = info.options
    n = len(o.pe)
    idx = np.arange(n)
    lay = info.layer
    if lay.op not in (CONV, FC):
        return idx, np.full(n, NO_MAC, np.int64)
    can_pack = spec.macs_per_dsp >= 2 and (lay.op == FC or lay.groups == 1)
    first = np.where(can_pack & (o.pe >= 2), PACKED, DSP1).astype(np.int64)
    lut = o.pe * o.simd * o.kpar <= LUT_MAC_MAX
    return (np.concatenate([idx, idx[lut]]),
            np.concatenate([first, np.full(int(lut.sum()), LUTMUL, np.int64)]))


def mac_cost(pe, inl, kind) -> tuple[np.ndarray, np.ndarray]:
    """(DSPs, LUTs) of the weight multipliers of ``pe`` PEs with ``inl`` inputs each (mac.h)."""
    pe, inl, kind = (np.asarray(v, dtype=np.int64) for v in (pe, inl, kind))
    mults = pe * inl
    dsp = np.where(kind == PACKED, inl * ceil_div(pe, 2), np.where(kind == DSP1, mults, 0))
    lut = np.where(kind == LUTMUL, LUT_PER_MULT * mults, 0) + np.where(
        kind == PACKED, LUT_PACK_SPLIT * (pe // 2) * ceil_div(inl, PAIR_CHUNK_MIN), 0)
    return dsp, lut


def requant_dsps(layer: Layer, pe, max_lanes: int = DEFAULT_PORT_LANES) -> np.ndarray:
    """DSPs of the requantization multipliers an engine instantiates (requant.h): one 32x31
    product per PE of a conv/fc/avgpool, one per cycle in global average pooling, two 9x31
    constant products per lane of an add and one per lane of each concat operand."""
    pe = np.asarray(pe, dtype=np.int64)
    if layer.op in (CONV, FC, AVGPOOL):
        return REQUANT_DSP * pe
    if layer.op == GAP:
        return np.full_like(pe, REQUANT_DSP)
    if layer.op == ADD:
        return np.full_like(pe, 2 * SCALE_DSP * port_lanes(layer.out_shape[0], max_lanes))
    if layer.op == CONCAT:  # a wide operand places one pixel (C channels) per step
        return np.full_like(pe, SCALE_DSP * sum(min(port_bytes(s, max_lanes), int(s[0])) for s in layer.in_shapes))
    if layer.op == CHMUL:  # per lane: the 10x10-bit product (1 DSP) and its 32x31 requantization
        return np.full_like(pe, (1 + REQUANT_DSP) * port_lanes(layer.out_shape[0], max_lanes))
    if layer.op == AFFINE:  # one 32x31 requantization product per lane
        return np.full_like(pe, REQUANT_DSP * port_lanes(layer.out_shape[0], max_lanes))
    return np.zeros_like(pe)


LUTRAM, BRAM, URAM = 0, 1, 2
STORES = ("lutram", "bram", "uram")


def weight_store(info: LayerInfo, spec: BoardSpec, mode: int, rows=None,
                 c_out=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(store, width bits, depth) of the weight memory of each option row: LUTRAM when shallow,
    URAM when deep on a board that has it, else BRAM. In ``onchip`` mode a URAM store is a RAM
    preloaded at start-up (URAM cannot be initialized by the bitstream), never a ROM; in
    ``offchip`` mode the memory is the fold buffer the weight stream refills."""
    o = info.options
    rows = np.arange(len(o.pe)) if rows is None else np.asarray(rows)
    pe, inl = o.pe[rows], o.simd[rows] * o.kpar[rows]
    width = pe * inl * 8
    depth = o.wdepth[rows]
    if mode == OFFCHIP:
        # Weights stream from DRAM once per image: loop order output fold outer, pixels inner,
        # so only one output fold's weights (depth / nf words) are held, double-buffered.
        depth = np.minimum(2 * (depth // ceil_div(info.layer.c_out if c_out is None else c_out, pe)), depth)
    small = depth <= LUTRAM_MAX_DEPTH
    big = (~small) & (depth >= URAM_MIN_DEPTH) & (spec.uram > 0)
    return np.where(small, LUTRAM, np.where(big, URAM, BRAM)), width, depth


def weight_place(info: LayerInfo, spec: BoardSpec, mode: int, oi: int) -> tuple[str, str]:
    """plan.json ``weights`` and ``weight_mem`` of option ``oi``: ("onchip", "lutram"|"bram"),
    ("preload", "uram") or ("offchip", <fold buffer store>); ("", "") without weights."""
    if not info.has_weights:
        return "", ""
    m = mode if info.streams else ONCHIP
    store = STORES[int(weight_store(info, spec, m, [oi])[0][0])]
    if m == OFFCHIP:
        return "offchip", store
    return ("preload" if store == "uram" else "onchip"), store


def option_resources(info: LayerInfo, spec: BoardSpec, mode: int, rows=None, kinds=None,
                     c_out=None) -> np.ndarray:
    """Resources [K, 4] (dsp, bram36, uram, lut) of option rows ``rows`` (default: every option)
    of ``info`` on ``spec``, conv/fc multipliers of MAC kind ``kinds`` (default: the first kind
    mac_rows offers). ``c_out``: output channels of each row's engine where it computes fewer
    than the layer's (the halves of a lane-split engine, ``split_resources``)."""
    o = info.options
    lay = info.layer
    if rows is None:
        all_rows, all_kinds = mac_rows(info, spec)
        rows, kinds = all_rows[: len(o.pe)], all_kinds[: len(o.pe)]
    rows = np.asarray(rows)
    kinds = np.asarray(kinds)
    pe, simd, kpar = o.pe[rows], o.simd[rows], o.kpar[rows]
    n = len(rows)
    ml = info.max_lanes
    dsp = requant_dsps(lay, pe, ml)
    bram = np.zeros(n, np.int64)
    uram = np.zeros(n, np.int64)
    lut = np.full(n, LUT_LAYER, np.int64)
    mac = lay.op in (CONV, FC)
    lut = lut + port_luts(lay, mode == OFFCHIP, ml)
    inl = simd * kpar  # inputs per PE per cycle
    lanes = pe * inl
    if mac:
        mdsp, mlut = mac_cost(pe, inl, kinds)
        dsp = dsp + mdsp
        lut = lut + mlut + LUT_PER_LANE * lanes + LUT_PER_PE * pe
        store, width, depth = weight_store(info, spec, mode, rows, c_out)
        if mode == OFFCHIP:
            lut = lut + LUT_DMA
        lut = lut + np.where(store == LUTRAM, width * ceil_div(depth, LUTRAM_MAX_DEPTH), 0)
        if mode == ONCHIP:
            # The ROM (or preloaded URAM) is rom_wpr banks of 64-bit words, one bank per word of a
            # row (conv.h: cyclic partition by rom_wpr): each bank fills its own BRAM/URAM columns
            # (a 72-bit column holds one 64-bit word), a row's last word zero-padded.
            banks = ceil_div(width, 64)
            uram = uram + np.where(store == URAM, banks * ceil_div(depth, URAM_SHAPE[1]), 0)
            bram = bram + np.where(store == BRAM, banks * bram_count(64, depth), 0)
            lut = lut + np.where(store == URAM, LUT_PRELOAD, 0)  # URAM weights are preloaded: the loader's share
            lut = lut + mac_gearbox_luts(lay, pe, simd, ml)
        else:  # conv_offchip's fold buffer holds whole rows (AGGREGATE)
            uram = uram + np.where(store == URAM, uram_count(width, depth), 0)
            bram = bram + np.where(store == BRAM, bram_count(width, depth), 0)
        # int32 bias + requant multiplier per output channel, in LUTRAM: out_cp channels (C_out
        # rounded up to a multiple of pe: a padded fold reads its padding channels' entries too).
        lut = lut + ceil_div(lay.c_out if c_out is None else c_out, pe) * pe
    else:
        lut = lut + 30 * pe
        if lay.op in (AVGPOOL, GAP):
            lut = lut + 40 * pe  # wide accumulators and the integer divide/requant
        if lay.op == LUT:  # one 256 x 8-bit LUTRAM ROM per lane (lut.h): 4 LUT6 per output bit
            lut = lut + 32 * port_lanes(lay.out_shape[0], ml)
        if lay.op == AFFINE:  # LUTRAM tables: int8 weight, int32 bias and multiplier, shift per channel
            lut = lut + ceil_div(lay.c_out * 80, 64) + LUT_PER_LANE * port_lanes(lay.c_out, ml)
        if lay.op == CHANNELS:  # fill and snd shift registers: a 2:1 byte mux per register byte
            lut = lut + 4 * (lay.c_in + lay.c_out)
    buf, obuf = info.buffer_bytes, 0
    if mac and mode == OFFCHIP:
        # Streaming weights once per image means the loop order is output fold outer, pixels inner,
        # so the whole input tensor is held on chip (not just a few rows), and so is the output
        # (its stream wants all channels of a pixel together), as in hls/include/asymap/conv.h.
        buf, obuf = max(buf, lay.in_bytes), lay.out_bytes
    # The skip FIFO is a stream of the operand's port beats: its word is the port's width (BRAM36
    # is 72 x 512 at most, so a 128- or 256-bit beat takes 2 or 4 of them side by side, URAM 2 or 4
    # columns of 72). Where it goes is decided by its bytes (over 1 KiB: URAM where the board has
    # it), whatever the width, as it was for 8-byte ports.
    skip_w = 8 * max(port_bytes(s, ml) for s in lay.in_shapes)
    for nbytes, w, wsel in ((buf, inl * 8 if mac else pe * 8, None), (info.skip_bytes, skip_w, 8), (obuf, pe * 8, None)):
        if nbytes <= 0:
            continue
        depth = ceil_div(nbytes * 8, w)
        if nbytes <= LUTRAM_MAX_BYTES:
            lut = lut + ceil_div(nbytes * 8, 64)
            continue
        big = ((depth if wsel is None else ceil_div(nbytes * 8, wsel)) >= URAM_MIN_DEPTH) & (spec.uram > 0)
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
    lo_agg: np.ndarray | None = None  # [K', A] floor(AGG_SCALE * min weighted sums), see agg_vectors
    agg_w: np.ndarray | None = None  # the weights of those sums (1 / the board's resources)
    mac: np.ndarray | None = None  # MAC kind of each row (MAC_KINDS index, NO_MAC without multipliers)


# Aggregated constraints of the relaxation: for weights v >= 0 any real choice satisfies
# sum_layers v.r <= v.budget, so the per-layer minimum of v.r over the options meeting T is a
# valid relaxed "resource" too (a Lagrangian bound with fixed multipliers). The per-resource minima
# alone miss trade-offs (one option low in DSPs, another low in BRAM); sums over these resource
# subsets (weighted by 1 / the board's amount) catch them. Per-layer values are floored and
# budgets ceiled, so the bound stays valid. The MAC kinds trade DSPs for LUTs at fixed rates
# (mac_cost: a ``dsp`` multiplier against LUT_PER_MULT LUTs, half a ``packed`` one against about
# twice that): the exact inner solve (segments.Knapsack) prunes with those directions too
# (AGG_LUT_RATES); the segment tables leave them out (two more columns for every segment cost
# more planning time than the tighter lower table saves in the exact solve).
AGG_SETS = ((0, 1), (0, 2), (1, 2), (0, 1, 2, 3))
AGG_LUT_RATES = (LUT_PER_MULT, 2 * LUT_PER_MULT)  # LUTs per DSP of the exchange directions
AGG_SCALE = 1_000_000


def agg_vectors(w: np.ndarray, lut_rates: tuple = ()) -> np.ndarray:
    """[A, 4] weight vectors of the aggregated constraints for a board's weights ``w`` (1 / amounts),
    plus one DSP+LUT direction per rate in ``lut_rates``."""
    rows = []
    for s_ in AGG_SETS:
        v = np.zeros(4)
        v[list(s_)] = w[list(s_)]
        rows.append(v)
    for rate in lut_rates:
        rows.append(np.array([w[0], 0.0, 0.0, w[0] / rate]))
    return np.array(rows)


def agg_budget(w: np.ndarray, budget: np.ndarray) -> np.ndarray:
    """Budgets of the aggregated constraints for a per-SLR ``budget`` (ceiled: never too tight)."""
    return np.ceil(AGG_SCALE * (agg_vectors(w) @ np.asarray(budget, np.float64)) + 1e-6).astype(np.int64)


def agg_values(w: np.ndarray, res: np.ndarray, vec: np.ndarray | None = None) -> np.ndarray:
    """[K, A] floored aggregated values of resource rows ``res`` (never above the true sums);
    ``vec``: ``agg_vectors(w)`` when the caller has it."""
    vec = agg_vectors(w) if vec is None else vec
    return np.maximum(0, np.floor(AGG_SCALE * (np.asarray(res, np.float64) @ vec.T) - 1e-6)).astype(np.int64)


def raw_menu(cycles: np.ndarray, res: np.ndarray, weights: np.ndarray, bias: np.ndarray | None = None,
             agg_vec: np.ndarray | None = None) -> Menu:
    """The achievable menu and the ideal-point relaxation of one layer's options.

    For a target of T cycles the layer may take any option with cycles <= T. The achievable row
    is the cheapest of those by ``weights`` (its real resource vector, so every plan built from
    these rows exists); the ideal row is the per-resource minimum over them (no single option may
    have it, so sums of ideal rows only bound the best choice from below). Both are exact per
    layer; asymap.partition.segments turns them into an achievable and a lower-bound interval of
    every segment. ``bias`` scales the cost of each option (LUT multipliers are kept only when
    clearly cheaper, see ``mac_rows``)."""
    cost = res @ weights
    if bias is not None:
        cost = cost * bias
    order = np.lexsort((np.arange(len(cycles)), cost, -cycles))  # cycles desc, cost asc, stable
    c = cycles[order]
    r = res[order]
    co = cost[order]
    first = np.ones(len(c), bool)
    first[1:] = c[1:] != c[:-1]
    starts = np.nonzero(first)[0]  # options with cycles <= c[starts[i]] are order[starts[i]:]
    # Suffix minima (from the fastest end): the cheapest option and the ideal point of every suffix.
    # best_rev[i]: the last k <= i where rev[k] reaches the running minimum of rev[:i + 1] (ties
    # prefer the later one there, the slower option: it uses the fewest lanes).
    rev = co[::-1]
    at_min = rev <= np.minimum.accumulate(rev)
    best_rev = np.maximum.accumulate(np.where(at_min, np.arange(len(c)), 0))
    best = (len(c) - 1 - best_rev[::-1])[starts]
    lo = np.minimum.accumulate(r[::-1], axis=0)[::-1][starts]
    per_level = order[best]
    tight = bool(np.array_equal(res[per_level], lo))
    agg = None
    if weights is not None:
        comb = agg_values(weights, r, agg_vec)
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
            info.weight_bytes, info.buffer_bytes, info.skip_bytes, info.max_lanes, len(info.options.cycles),
            info.options.cycles.tobytes(), info.options.cycles_off.tobytes(), info.options.kpar.tobytes(),
            info.options.wdepth.tobytes())


def resource_class(spec: BoardSpec) -> tuple[bool, bool]:
    """All that ``option_resources`` and ``mac_rows`` read from a board: whether it has URAM and
    whether a DSP packs two MACs. Boards of one class get the same option rows and resources
    (their menus still differ: ``cost_weights``); keep this in step with those two functions."""
    return (spec.uram > 0, spec.macs_per_dsp >= 2)


def option_rows(info: LayerInfo, spec: BoardSpec, mode: int, rows_cache: dict | None = None,
                cls: tuple | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(option index, MAC kind) of every menu row of a layer on a board (``mac_rows``) and their
    resources [K, 4] in weight mode ``mode`` (ONCHIP for a layer that never streams), kept in
    ``rows_cache`` (a dict for one layer list, any boards) for every board of the same
    ``resource_class`` (``cls``, when the caller has it). The menus and the exact inner solve
    (planner._layer_options) read the same rows."""
    key = (info.signature or _signature(info)) + (info.streams, mode) + (resource_class(spec) if cls is None else cls)
    got = None if rows_cache is None else rows_cache.get(key)
    if got is None:
        rows, kinds = mac_rows(info, spec)
        got = (rows, kinds, option_resources(info, spec, mode, rows, kinds))
        if rows_cache is not None:
            rows_cache[key] = got
    return got


def board_menus(infos: list[LayerInfo], spec: BoardSpec, mode: int, cache: dict | None = None,
                rows_cache: dict | None = None) -> list[Menu]:
    """Every layer's menu on ``spec`` in weight mode ``mode``. Equal layers share one Menu object;
    so do the two modes' menus of a layer that never streams, when both calls get the same
    ``cache`` (a dict for one ``infos`` and ``spec``). ``rows_cache`` (a dict for one ``infos``,
    any boards) keeps each layer's option rows and resources for the boards of its
    ``resource_class``."""
    w = cost_weights(spec)
    vec = agg_vectors(w)
    cls = resource_class(spec)
    cache = {} if cache is None else cache
    rows_cache = {} if rows_cache is None else rows_cache
    out = []
    for i in infos:
        m = mode if i.streams else ONCHIP  # offchip mode streams only the layers that pay for it
        key = (i.signature or _signature(i)) + (i.streams, m)
        if key not in cache:
            cyc = i.options.cycles_off if m == OFFCHIP else i.options.cycles
            rows, kinds, res = option_rows(i, spec, m, rows_cache, cls)
            bias = np.where(kinds == LUTMUL, LUT_BIAS, 1.0)
            menu = raw_menu(cyc[rows], res, w, bias, vec)
            menu.mac = kinds[menu.opt]
            menu.opt = rows[menu.opt]
            cache[key] = menu
        out.append(cache[key])
    return out


def budget(spec: BoardSpec, util: float) -> np.ndarray:
    """Resources one board may use: ``util`` of each (the rest is shell, links and routing slack)."""
    return np.floor(np.array([spec.dsp, spec.bram36, spec.uram, spec.lut], dtype=np.float64) * util).astype(np.int64)


# --- link cost: the link kernels of hls/include/asymap/link.h (docs/link-protocol.md) -------------
def link_wire_beats(graph: Graph, width_bits: int, max_payload_beats: int | None = None) -> np.ndarray:
    """Link beats per image (payload, padding, a header and a trailer per frame) for a cut after
    p layers, p = 0..L: the tensors alive across the cut, framed and interleaved by linkproto."""
    from asymap import linkproto

    m = max_payload_beats or linkproto.DEFAULT_MAX_PAYLOAD_BEATS
    shapes = graph.tensor_shapes
    L = len(graph.layers)
    out = np.zeros(L + 1, np.int64)
    for p in range(L + 1):
        names = [graph.input] if p == 0 else [graph.output] if p == L else graph.live_across(p - 1)
        out[p] = linkproto.wire_beats([tuple(shapes[t]) for t in names], width_bits, m)
    return out


def link_cmac_packets(graph: Graph, width_bits: int, max_payload_beats: int | None = None) -> np.ndarray:
    """Data packets per image on a 100G CMAC link for a cut after p layers, p = 0..L: each frame of
    the link kernels (payload + header + trailer beats of ``width_bits``, linkproto's chunks) goes
    out as ``asymap_cmac_credit`` packets of at most ``CMAC_PKT_BEATS`` 512-bit core beats (the
    width converter closes a core beat at a frame's TLAST)."""
    from asymap import linkproto

    m = max_payload_beats or linkproto.DEFAULT_MAX_PAYLOAD_BEATS
    shapes = graph.tensor_shapes
    L = len(graph.layers)
    B = width_bits // 8
    body = CMAC_PKT_BEATS * CORE_WIDTH["cmac"]

    def packets(payload_beats: int) -> int:  # one frame
        return ceil_div((payload_beats + 2) * width_bits, body)

    out = np.zeros(L + 1, np.int64)
    for p in range(L + 1):
        names = [graph.input] if p == 0 else [graph.output] if p == L else graph.live_across(p - 1)
        sh = [tuple(shapes[t]) for t in names]
        n = 0
        for (c, h, w), ch in zip(sh, linkproto.chunk_beats(sh, width_bits, m)):
            total = ceil_div(c * h * w, B)
            full, rest = divmod(total, ch)
            n += full * packets(ch) + (packets(rest) if rest else 0)
        out[p] = n
    return out


def link_seconds(wire_beats, width_bits: int, gbps: float, latency_ns: float, kernel_clock_hz: float,
                 cmac_packets=None, credits: bool = False):
    """Seconds one image occupies a link: the slower of the line rate (what the wire carries,
    framing and padding included, i.e. line rate x framing efficiency for the payload) and the
    link kernels' rate (one ``width_bits`` beat per kernel clock), plus the one-way latency.
    On a 100G CMAC link (``transport_core``) the wire also carries, per data packet
    (``cmac_packets``, from :func:`link_cmac_packets`), ``asymap_cmac_credit``'s 64-byte header
    beat and Ethernet's FCS, preamble and minimum inter-packet gap (``CMAC_PACKET_OVERHEAD_BYTES``).
    ``credits`` (both ends have a deployed transport, ``transport.has_transport``): on Aurora the
    sender's own credit word goes out as a UFC keepalive at least every ``UFC_KEEPALIVE`` cycles
    even when it does not change (:func:`credit_keepalive_share`), taking that share of the line."""
    beats = np.asarray(wire_beats, dtype=np.float64)
    bits = beats * width_bits
    if cmac_packets is not None and transport_core(gbps) == "cmac":
        bits = bits + np.asarray(cmac_packets, dtype=np.float64) * (8 * CMAC_PACKET_OVERHEAD_BYTES)
    line = bits / (gbps * 1e9)
    if credits:
        line = line / (1.0 - credit_keepalive_share(gbps))
    kernel = beats / kernel_clock_hz
    return np.maximum(line, kernel) + latency_ns * 1e-9


def link_buffer_bram36(shapes: list[tuple[int, int, int]], width_bits: int,
                       max_payload_beats: int | None = None) -> int:
    """BRAM36 of one end's link-kernel beat FIFOs: one per tensor, a frame's payload deep
    (``rxb``/``txb`` in the generated top.cpp; shallow ones are LUTRAM)."""
    from asymap import linkproto

    m = max_payload_beats or linkproto.DEFAULT_MAX_PAYLOAD_BEATS
    depth = max(linkproto.chunk_beats(shapes, width_bits, m)) + 2
    if depth <= LUTRAM_MAX_DEPTH:
        return 0
    return len(shapes) * int(bram_count(width_bits, depth))


# --- the link kernels' (un)packers (link.h ``link_pack``/``link_unpack``: stream_utils.h ``repack``) ---
# Between a PI-byte and a PO-byte word ``repack`` keeps a completely partitioned buffer of PI + PO
# bytes (each a register, UG1399 "Array Partitioning"). A read writes PI bytes at the variable
# offset ``fill`` (a multiple of g = gcd(PI, PO) below PO when it loads: PO / g positions): a
# barrel shifter over the buffer, ceil(log2(PO / g)) stages of 2:1 multiplexers, two stages per
# LUT6 (a 4:1 multiplexer); then every buffer byte chooses between the loaded value, its neighbour
# PO bytes on (the shift after a write) and itself: one more LUT per bit. Its three loop counters
# and their compares: LUT_REPACK_CTRL. An estimate of the structure the code asks for, until
# csynth reports exist. Flip-flops: the buffer's bits, not a budgeted resource.
LUT_REPACK_CTRL = 100


def repack_luts(pi: int, po: int) -> int:
    """LUTs of one ``repack<PI, PO>`` (see LUT_REPACK_CTRL)."""
    pi, po = int(pi), int(po)
    pos = max(1, po // int(np.gcd(pi, po)))
    stages = (pos - 1).bit_length()  # ceil(log2(pos))
    return LUT_REPACK_CTRL + 8 * (pi + po) * (1 + (stages + 1) // 2)


def link_kernel_luts(shapes: list, width_bits: int, lanes: int, send: bool) -> int:
    """LUTs of one board end's link (un)packers: one per tensor of the cut, between the tensor's
    port beat (``port_bytes(shape, lanes)``) and the link's ``width_bits`` beat."""
    from asymap.lanes import port_bytes

    b = int(width_bits) // 8
    return int(sum(repack_luts(port_bytes(s, lanes), b) if send else repack_luts(b, port_bytes(s, lanes))
                   for s in shapes))


# --- transport ends: the RTL under the link kernels (rtl/asymap_xport.v, docs/link-protocol.md 5, 6) ---
# The same numbers codegen.deploy gives the transport it generates (tests/partition/test_partition_transport.py
# compares them with deploy._credit_sizing).
CMAC_MIN_GBPS = 25.0  # links above this run on a 100G CMAC (deploy.CMAC_MIN_GBPS); at or below, Aurora
CORE_WIDTH = {"cmac": 512, "aurora": 64}  # the core's user-side stream (PG203, PG074)
CORE_CLOCK_MHZ = {"cmac": 322.265625, "aurora": 156.25}
CMAC_PKT_BEATS = 128  # asymap_cmac_credit's TX packet FIFO: 2**PKT_ADDR_W beats (deploy.CMAC_PKT_ADDR_W = 7)
CMAC_CREDIT_SPACING = 64  # its SPACING: cycles between two credit packets
CMAC_WORD_BITS = 512 + 64 + 1  # a packet FIFO entry: TDATA, TKEEP, TLAST
RX_BLOCK_MIN_BITS = 512  # credit buffers with entries this wide (and > 64 deep) are block RAM (asymap_bridge_rx)
# Per data packet on the wire besides the frame's bytes: asymap_cmac_credit's header beat (64 B),
# the MAC's FCS (4 B), preamble + SFD (8 B) and the minimum inter-packet gap (12 B) (IEEE 802.3).
CMAC_PACKET_OVERHEAD_BYTES = 64 + 4 + 8 + 12
TRANSPORT_PIPELINE_CYCLES = 32  # rtl_glue.PIPELINE_CYCLES: the credit loop's pipeline besides the wire


def transport_core(gbps: float) -> str:
    return "cmac" if gbps > CMAC_MIN_GBPS else "aurora"


def rx_buffer_entries(gbps: float, latency_ns: float, width_bits: int) -> int:
    """Entries of the receiving end's credit buffer (asymap_bridge_rx's clock-crossing FIFO), as
    deploy sizes it: the beats the credit round trip (twice the latency at the core clock, plus the
    loop's pipeline) holds at the link's line rate (at most one per core cycle), in entries of
    ``rx_pack`` core beats, + 16; on CMAC also one packet body (the sender
    stores it before the MAC sees it) and the credit word's extra age (a packet plus the credit
    spacing); the next power of two, at least 16."""
    core = transport_core(gbps)
    cw = CORE_WIDTH[core]
    pack = width_bits // cw if width_bits > cw else 1
    rtt = int(np.ceil(2 * latency_ns * CORE_CLOCK_MHZ[core] / 1000.0)) + TRANSPORT_PIPELINE_CYCLES
    # Beats a round trip holds: one per core cycle at most, and no more than the line carries (a
    # core faster than its line throttles TX to it): the bandwidth-delay product at the line rate.
    per_cycle = min(1.0, gbps * 1000.0 / (cw * CORE_CLOCK_MHZ[core]))
    need = -(-int(np.ceil(rtt * per_cycle - 1e-9)) // pack) + 16
    if core == "cmac":
        need += -(-CMAC_PKT_BEATS // pack) + -(-(CMAC_PKT_BEATS + 1 + CMAC_CREDIT_SPACING) // pack)
    return 1 << max(4, (need - 1).bit_length())


def lutram_sdp_luts(width_bits: int, depth: int) -> int:
    """LUTs of a simple-dual-port LUTRAM with an asynchronous read (UG574: RAM64M8 is 64 x 7 bits
    in 8 LUTs) plus the read multiplexer over its 64-deep banks (4 banks per LUT6 with the F7/F8
    muxes)."""
    banks = ceil_div(depth, LUTRAM_MAX_DEPTH)
    return int(banks * ceil_div(width_bits, 7) * 8 + (width_bits * ceil_div(banks, 4) if banks > 1 else 0))


@dataclass
class TransportEnd:
    """What one link end's transport adds to its board: the sender's CMAC packet FIFO (block RAM:
    its read is registered) and the receiver's credit buffer (asymap_bridge_rx, by its shape: entries
    of ``RX_BLOCK_MIN_BITS`` data bits or more in more than ``LUTRAM_MAX_DEPTH`` rows, a 100G CMAC's,
    are block RAM behind a read register, at 94 % of the blocks' bits for 1,024 x 577; narrower
    ones, Aurora's 73 bits, LUTRAM read asynchronously, where block RAM would be half empty)."""

    tx_bram36: int = 0
    rx_lut: int = 0
    rx_bram36: int = 0


def transport_ends(gbps: float, latency_ns: float, width_bits: int) -> tuple[TransportEnd, TransportEnd]:
    """(sending end, receiving end) of one link direction."""
    tx = TransportEnd(tx_bram36=int(bram_count(CMAC_WORD_BITS, CMAC_PKT_BEATS)) if transport_core(gbps) == "cmac" else 0)
    cw = CORE_WIDTH[transport_core(gbps)]
    fw = max(width_bits, cw)
    bits, depth = fw + fw // 8 + 1, rx_buffer_entries(gbps, latency_ns, width_bits)
    if fw >= RX_BLOCK_MIN_BITS and depth > LUTRAM_MAX_DEPTH:  # asymap_bridge_rx's RX_BLOCK
        rx = TransportEnd(rx_bram36=int(bram_count(bits, depth)))
    else:
        rx = TransportEnd(rx_lut=lutram_sdp_luts(bits, depth))
    return tx, rx


# --- credit words on the wire (asymap_cmac_credit.v, asymap_ufc_credit.v; docs/link-protocol.md 5, 7) ---
# Credits for a direction's data travel on the reverse direction of the same link. They cost that
# direction's bandwidth only where it carries data too (a host path's result returning over a
# pipeline link, a ring); ``transport.charge_credits`` charges them there after the search.
# CMAC: a credit packet is the 64-byte header beat alone (+ FCS, preamble, gap: 88 bytes on the
# wire), at most one per CMAC_CREDIT_SPACING MAC cycles, only when the word changed (every data
# header carries the word and resets the keepalive, so a busy direction sends no keepalive).
# Aurora: a 4-byte UFC message takes the data path for UFC_MESSAGE_BLOCKS 64-bit blocks (PG074: a
# UFC header block, then the data block), at most one per UFC_SPACING user cycles, and at least
# one per UFC_KEEPALIVE cycles whether the word changed or not (UFC messages are separate from the
# data, so the keepalive runs on busy directions too).
CMAC_CREDIT_PACKET_BITS = 8 * CMAC_PACKET_OVERHEAD_BYTES
UFC_SPACING = 32  # asymap_ufc_credit SPACING (its default, as deploy instantiates it)
UFC_KEEPALIVE = 1024  # asymap_ufc_credit KEEPALIVE
UFC_MESSAGE_BLOCKS = 2


def credit_message_bits(gbps: float) -> int:
    """Line bits one credit update takes on a link direction."""
    return CMAC_CREDIT_PACKET_BITS if transport_core(gbps) == "cmac" else UFC_MESSAGE_BLOCKS * CORE_WIDTH["aurora"]


def credit_rate_share(gbps: float) -> float:
    """The largest share of a direction's line its credit updates can take (one per spacing):
    CMAC 704 bits per 64 cycles of 322.27 MHz = 3.55 Gb/s (3.5 % of 100G); Aurora 2 of 32 blocks."""
    if transport_core(gbps) == "cmac":
        return min(1.0, CMAC_CREDIT_PACKET_BITS * CORE_CLOCK_MHZ["cmac"] * 1e6 / CMAC_CREDIT_SPACING / (gbps * 1e9))
    return UFC_MESSAGE_BLOCKS / UFC_SPACING


def credit_keepalive_share(gbps: float) -> float:
    """Share of a busy direction's line its own keepalive credit updates take: Aurora 2 of 1,024
    blocks (0.2 %); CMAC none (its data headers carry the word)."""
    return 0.0 if transport_core(gbps) == "cmac" else UFC_MESSAGE_BLOCKS / UFC_KEEPALIVE


def credit_seconds(gbps: float, data_s: float, reverse_entries: int) -> float:
    """Seconds per image the credit updates for the reverse direction's data add to a direction
    that carries ``data_s`` seconds of its own data: the receiver's word (entries written, entries
    freed) changes at most twice per entry it takes in, so at most ``2 * reverse_entries + 1``
    updates per image, and never more than ``credit_rate_share`` of the line (over the busy time
    T = data + credits: credits <= share x T + one update)."""
    share = credit_rate_share(gbps)
    msg = credit_message_bits(gbps) / (gbps * 1e9)
    by_count = (2 * int(reverse_entries) + 1) * msg
    if share >= 1.0:
        return by_count
    return float(min(by_count, (share * data_s + msg) / (1.0 - share)))


def store_forward_s(gbps: float, shapes: list[tuple[int, int, int]] | None = None, width_bits: int = 512,
                    max_payload_beats: int | None = None) -> float:
    """Latency a 100G CMAC hop adds: the sender stores each packet body (a frame, or a 128-beat
    piece of a longer one) before the MAC sends it, so a beat leaves up to one packet later; the
    packet fills at the link's rate (the line rate: the link kernels' width carries it). ``shapes``:
    the tensors of the cut (None: a full 128-beat packet). Aurora hops add nothing."""
    if transport_core(gbps) != "cmac":
        return 0.0
    beats = CMAC_PKT_BEATS
    if shapes:
        from asymap import linkproto

        m = max_payload_beats or linkproto.DEFAULT_MAX_PAYLOAD_BEATS
        frame = max(linkproto.chunk_beats(shapes, width_bits, m)) + 2  # header and trailer beats
        beats = min(beats, ceil_div(frame * width_bits, CORE_WIDTH["cmac"]))
    return beats * CORE_WIDTH["cmac"] / (gbps * 1e9)


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


def pack_slrs(rows: list[np.ndarray], per_slr: np.ndarray, slrs: int,
              splits: dict | None = None) -> list[int] | None:
    """SLR of each layer (chain order, each SLR filled as far as it goes), or None if they do not
    fit. Filling greedily is optimal for contiguous packing: a later start never helps.

    ``splits``: {layer position: (half A row, half B row)} of layers whose PE lanes are split
    over the boundary where they stand (``split_resources``): half A ends SLR s, half B starts
    SLR s + 1 (the layer's SLR is s). A split layer must close its SLR: if its half A does not
    fit what is left, or its whole row would have fitted, the packing is refused (None)."""
    splits = splits or {}
    out, slr, used = [], 0, np.zeros(4, np.int64)
    for i, r in enumerate(rows):
        if i in splits:
            a, b = (np.asarray(x, np.int64) for x in splits[i])
            if not np.any(used + r > per_slr) or np.any(used + a > per_slr) or slr + 1 >= slrs \
                    or np.any(b > per_slr):
                return None
            out.append(slr)
            slr, used = slr + 1, b
            continue
        if np.any(used + r > per_slr):
            slr, used = slr + 1, np.zeros(4, np.int64)
            if slr >= slrs or np.any(r > per_slr):
                return None
        used = used + r
        out.append(slr)
    return out


# ---- Lane-split engines (docs/cost-model.md "Lane-split engines") --------------------------------
# A conv/fc engine of P PE lanes may split over the boundary of two adjacent SLRs: lanes 0..k-1 in
# SLR s (half A), lanes k..P-1 in SLR s + 1 (half B), both over the same folds in lockstep (NF =
# C_out / P, same SIMD, same cycles). Each half is the MVAU of C_out' = NF * PE' output channels
# at PE' = k or P - k, charged by ``option_resources`` itself (memories rounded per half). The
# input side (line/window buffer, skip FIFO, off-chip weight reader of half A) and a stream
# duplicator stay in SLR s; half B takes the window stream's copy, its own weight reader when
# streamed, and the zip that joins the halves' lanes into the layer's P-lane word, plus the two
# crossing streams' connect FIFOs (LUTRAM of SPLIT_FIFO_DEPTH words, as v++ inserts for a
# depth-suffixed stream_connect). Padded options (pe not dividing C_out) do not split.
LUT_SPLIT_DUP = LUT_ADAPTER  # read one word, write two: the loop's counters and handshakes
LUT_SPLIT_ZIP = LUT_ADAPTER  # read two words, write their concatenation
SPLIT_FIFO_DEPTH = 16


def can_split(info: LayerInfo, oi: int) -> bool:
    """Option ``oi`` of this layer may split its PE lanes over an SLR boundary."""
    o = info.options
    return info.layer.op in (CONV, FC) and int(o.pe[oi]) >= 2 and not bool(o.padded[oi])


def split_resources(info: LayerInfo, spec: BoardSpec, mode: int, oi: int, kind: int,
                    ks) -> tuple[np.ndarray, np.ndarray]:
    """(half A rows [len(ks), 4], half B rows [len(ks), 4]) of option ``oi`` (MAC kind ``kind``)
    split k | P - k for each k of ``ks`` (1 <= k < P; see the section comment). Each half is
    ``option_resources`` at its own PE and output channels; its ports are charged as the whole
    layer's (and, streamed, its output buffer: the zip's side needs it whole), which only
    overstates a half."""
    ks = np.asarray(ks, np.int64).reshape(-1)
    n = len(ks)
    return split_rows(info, spec, mode, np.full(n, oi, np.int64), np.full(n, kind), ks)


def split_rows(info: LayerInfo, spec: BoardSpec, mode: int, ois, kinds, ks) -> tuple[np.ndarray, np.ndarray]:
    """``split_resources`` of many splits at once, row m splitting option ``ois[m]`` (MAC kind
    ``kinds[m]``) k = ``ks[m]`` | P - k: the same rows from one vectorized cost call per half
    instead of one per option (the lane-split planner asks about every option of a layer)."""
    o = info.options
    ois = np.asarray(ois, np.int64).reshape(-1)
    kinds = np.asarray(kinds).reshape(-1)
    ks = np.asarray(ks, np.int64).reshape(-1)
    n = len(ks)
    pe = o.pe[ois].astype(np.int64)
    simd, kpar = o.simd[ois].astype(np.int64), o.kpar[ois].astype(np.int64)
    nf = info.layer.c_out // pe
    m = mode if info.streams else ONCHIP
    fifo: dict = {}  # width bits -> LUTs of a SPLIT_FIFO_DEPTH-deep crossing FIFO

    def fifo_luts(bits: np.ndarray) -> np.ndarray:
        for b in np.unique(bits).tolist():
            fifo.setdefault(b, lutram_sdp_luts(b, SPLIT_FIFO_DEPTH))
        return np.array([fifo[b] for b in bits.tolist()], np.int64).reshape(n)

    out = []
    for side, lanes in ((0, ks), (1, pe - ks)):
        opts = Options(pe=lanes, simd=simd, kpar=kpar, padded=np.zeros(n, bool), cycles=o.cycles[ois],
                       cycles_off=o.cycles_off[ois], wdepth=o.wdepth[ois])
        half = replace(info, options=opts, buffer_bytes=info.buffer_bytes if side == 0 else 0,
                       skip_bytes=info.skip_bytes if side == 0 else 0)
        kk = np.where((kinds == PACKED) & (lanes < 2), DSP1, kinds)  # one lane: nothing to pair
        r = option_resources(half, spec, m, np.arange(n), kk, nf * lanes).copy()
        if side == 0:
            r[:, 3] += LUT_SPLIT_DUP
        else:  # the zip and the two crossing FIFOs (the window copy, half A's k lanes)
            r[:, 3] += LUT_SPLIT_ZIP + fifo_luts(8 * simd * kpar) + fifo_luts(8 * ks)
        out.append(r.reshape(n, 4))
    return out[0], out[1]
