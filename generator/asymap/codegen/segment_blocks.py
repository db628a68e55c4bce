"""Per-layer code of a segment: the config struct, constant arrays and process call of each block.

Every number the C++ needs is computed here (factors fitted to the layer, weight rows packed for
the on-chip ROM or the off-chip image) so the templates only lay text out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from asymap.codegen.ports import port_lanes
from asymap.codegen.weightpack import (
    WMEM_WORD_BYTES, fit_factor, pack_offchip, pack_rom, pad_channels, slot_bytes, weight_rows,
)
from asymap.errors import UserError
from asymap.frontend import ir
from asymap.lanes import DEFAULT_PORT_LANES, concat_slot_steps, pixel_beats, port_bytes, port_pixels, tensor_port_beats
from asymap.quant.qgraph import QGraph, QLayer

ROM_WORDS_PER_LINE = 8  # packed 64-bit words per line of weights.h
INT_PER_LINE = 16


def _lines(values: list[str], per_line: int) -> list[str]:
    return [", ".join(values[i : i + per_line]) for i in range(0, len(values), per_line)]


def _array(ctype: str, name: str, values: list[str], per_line: int) -> dict:
    return {"ctype": ctype, "name": name, "n": len(values), "lines": _lines(values, per_line)}


def _ints(a) -> list[str]:
    return [str(int(v)) for v in np.asarray(a).reshape(-1)]


def beat_type(lanes: int) -> str:
    return f"ap_uint<{8 * lanes}>"


def stream_type(lanes: int) -> str:
    return f"hls::stream<{beat_type(lanes)} >"


def tensor_beats(shape, lanes: int = DEFAULT_PORT_LANES) -> int:
    """Beats of a tensor on its port, the board's ports carrying up to ``lanes`` channels."""
    return tensor_port_beats(shape, lanes)


def narrow_beats(shape, lanes: int = DEFAULT_PORT_LANES) -> int:
    """Beats of a tensor at ``port_lanes(C, lanes)`` channels per beat (never whole pixels)."""
    c, h, w = (int(v) for v in shape)
    return h * w * c // port_lanes(c, lanes)


def narrow_adapt(layer: ir.Layer, lanes: int = DEFAULT_PORT_LANES) -> dict:
    """Width adapters for an engine that takes ``port_lanes(C)`` channels per beat (lut, chmul,
    affine, channels): its operand 0 and its output, where their ports are wide, go through a
    width_convert process (segment.py); the engine keeps its narrow pace, which the cost model
    charges."""
    adapt = {}
    (c, h, w), (co, ho, wo) = layer.in_shapes[0], layer.out_shape
    if port_bytes(layer.in_shapes[0], lanes) > c:
        adapt["in"] = (c, port_bytes(layer.in_shapes[0], lanes), port_lanes(c, lanes), h * w)
    if port_bytes(layer.out_shape, lanes) > co:
        adapt["out"] = (co, port_bytes(layer.out_shape, lanes), port_lanes(co, lanes), ho * wo)
    return adapt


@dataclass
class BlockCtx:
    """What the per-layer builders append to."""

    ns: str
    lanes: int = DEFAULT_PORT_LANES  # the board's port width: channels per beat at most (plan.json port_lanes)
    cfgs: list[dict] = field(default_factory=list)
    arrays: list[dict] = field(default_factory=list)
    wrappers: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    wmem: bytearray = field(default_factory=bytearray)
    wpre: bytearray = field(default_factory=bytearray)  # start-up image of the URAM ("preload") weights


@dataclass
class BlockCall:
    """How the segment calls one block: ``func(<operand streams>, <output stream>, [<weight
    stream>], *consts)``; ``reader`` describes the off-chip weight reader process, if any
    (its config struct, row bytes and FIFO depth)."""

    func: str
    consts: list[str] = field(default_factory=list)
    reader: dict | None = None
    preload: dict | None = None  # {"offset", "words"}: this layer's 64-bit words in the preload image
    # Wide ports the engine cannot take (conv_offchip reads and writes one pixel per beat or less):
    # {"in": (C, wide lanes, narrow lanes, pixels), "out": ...}; the segment puts a width_convert
    # process (stream_utils.h) between the port and the engine.
    adapt: dict = field(default_factory=dict)
    # A lane-split engine (lanesplit.h): ``func``/``consts`` are half A's; ``lanes`` = {"func",
    # "consts": half B's, "x_bytes": bytes of the duplicated window/input word, "a_bytes": half A's
    # lanes}; the segment wires the two streams between the halves.
    lanes: dict | None = None


def _u(name, v):
    return ("unsigned", name, str(int(v)))


def _b(name, v):
    return ("bool", name, "true" if v else "false")


def _i(name, v):
    return ("int", name, str(int(v)))


def _ll(name, v):
    return ("long long", name, f"{int(v)}LL")


def _zps(ql: QLayer, i: int = 0) -> list[tuple[str, str, str]]:
    """Zero points of input ``i`` and of the output (requant.h in_zp_of / out_zp_of; 0 unless a QDQ
    model is asymmetric). The input's is also the value a conv's padding reads (real 0)."""
    return [_i("in_zp", ql.zp(i)), _i("out_zp", ql.out_zp)]


def _plan_factors(factors: dict, index: int) -> tuple[int, int, int]:
    """(pe, simd, kpar) of layer ``index``; plans and tests may give (pe, simd) pairs (kpar 1)."""
    f = tuple(factors.get(index, (1, 1)))
    return int(f[0]), int(f[1]), int(f[2]) if len(f) > 2 else 1


def _factors(ql: QLayer, factors: dict, ident: str, ctx: BlockCtx, n_pe: int, n_simd: int) -> tuple[int, int]:
    pe0, simd0, _ = _plan_factors(factors, ql.index)
    pe, simd = fit_factor(n_pe, pe0), fit_factor(n_simd, simd0)
    if (pe, simd) != (pe0, simd0):
        ctx.notes.append(
            f"{ident}: factors (pe={pe0}, simd={simd0}) do not divide ({n_pe}, {n_simd}); "
            f"using (pe={pe}, simd={simd})"
        )
    return pe, simd


def _mac_factors(ql: QLayer, factors: dict, ident: str, ctx: BlockCtx, c_out: int, cin_g: int,
                 window: int) -> tuple[int, int, int]:
    """(pe, simd, kpar) of a conv/fc. SIMD must divide C_in/groups and KPAR the kernel window
    ``window`` = kh*kw of a row-buffer engine, 1 otherwise (else: largest divisor below it);
    PE may leave the last output fold partly empty (zero padding channels, as the cost model's
    "padded" options assume), but never exceeds C_out."""
    pe0, simd0, kpar0 = _plan_factors(factors, ql.index)
    pe, simd, kpar = max(1, min(int(pe0), c_out)), fit_factor(cin_g, simd0), fit_factor(window, kpar0)
    if simd != simd0:
        ctx.notes.append(f"{ident}: simd={simd0} does not divide C_in/groups={cin_g}; using simd={simd}")
    if kpar != kpar0:
        ctx.notes.append(f"{ident}: kpar={kpar0} does not divide this engine's kernel window ({window} "
                         f"positions per output); using kpar={kpar}")
    if pe != pe0:
        ctx.notes.append(f"{ident}: pe={pe0} exceeds C_out={c_out}; using pe={pe}")
    elif c_out % pe:
        ctx.notes.append(f"{ident}: pe={pe} does not divide C_out={c_out}; the last fold computes "
                         f"{-(-c_out // pe) * pe - c_out} padding channels")
    return pe, simd, kpar


def _grouped_factors(ident: str, ctx: BlockCtx, pe: int, kpar: int, cout: int, cig: int,
                     groups: int) -> tuple[int, int]:
    """PE (and KPAR) of a grouped conv on the row-buffer engine, whose window generator gives all
    PE lanes of a fold one input word (conv.h): PE must divide C_out/groups, or, for depthwise
    (one input and one output channel per group), PE lanes read PE consecutive channels, so PE
    divides C and KPAR is 1."""
    coutg = cout // groups
    if cig == 1 and coutg == 1:
        fit, k = fit_factor(cout, pe), 1
        if kpar != 1:
            ctx.notes.append(f"{ident}: depthwise engine reads one window position per cycle; using kpar=1")
        if fit != pe:
            ctx.notes.append(f"{ident}: depthwise pe={pe} does not divide C={cout}; using pe={fit}")
        return fit, k
    fit = fit_factor(coutg, pe)
    if fit != pe:
        ctx.notes.append(f"{ident}: grouped pe={pe} does not divide C_out/groups={coutg}; using pe={fit}")
    return fit, kpar


MAC_CODES = {"packed": 0, "dsp": 1, "lut": 2}  # hls/include/asymap/mac.h MAC_PACKED, MAC_DSP, MAC_LUT


def _check_split_pe(ql: QLayer, ident: str, pe0: int, pe: int, k: int, cout: int, cig: int) -> None:
    """Refuse, in one line, a plan whose ``slr_lanes`` no longer describe the engine codegen builds:
    the plan's split is k | pe - k lanes of the plan's pe, so a pe that codegen refits (above C_out,
    a grouped/depthwise or wide-port refit; see the notes above) would build different halves than
    the plan placed and charged (docs/plan-format.md ``slr_lanes``)."""
    where = f"plan: layer {ql.index} ({ident})"
    if pe != pe0:
        raise UserError(f"{where}: its PE lanes are split k={k} | {pe0 - k} (slr_lanes) but pe={pe0} does not fit "
                        f"this layer (C_out={cout}) and would be refit to pe={pe}; give a pe codegen keeps with "
                        f"slr_lanes [[s, k], [s+1, pe - k]], 1 <= k < pe, or drop slr_lanes; re-run 'asymap plan'")
    if cig == 1 and -(-cout // pe) * min(k, pe - k) == 1:
        raise UserError(f"{where}: slr_lanes splits a one-channel-input engine so that a half computes one "
                        f"channel; give each half two or more channels (another k or pe) or drop slr_lanes")


def lane_half(a, pe: int, lo: int, hi: int) -> np.ndarray:
    """Lanes ``lo..hi-1`` of every output fold of a per-output-channel array ``a`` (axis 0: the
    padded channels, a multiple of ``pe``), in fold order: what one half of a lane-split engine
    computes (lanesplit.h), as that half's own channel list."""
    a = np.asarray(a)
    return np.ascontiguousarray(a.reshape((a.shape[0] // pe, pe) + a.shape[1:])[:, lo:hi].reshape(
        (a.shape[0] // pe * (hi - lo),) + a.shape[1:]))


def mac_block(qg: QGraph, ql: QLayer, ident: str, factors, offchip: bool, ctx: BlockCtx, mac: str = "",
              preload: bool = False, lanes_a: int = 0) -> BlockCall:
    """conv (any kind) and fc: config struct, weights (ROM, URAM preload image or wmem), call.

    ``mac`` is the plan's MAC kind ("" = "dsp", the kind every engine can take); ``packed`` needs
    PEs that share activations, so grouped and depthwise convs fall back to ``dsp`` (noted).
    ``lanes_a`` > 0: the engine's PE lanes are split over two SLRs (plan.json ``slr_lanes``), lanes
    0..lanes_a-1 of every fold in half A, the rest in half B (:func:`lane_split_call`)."""
    layer = ql.layer
    tin = qg.tensors[layer.inputs[0]]
    cin, hin, win = layer.in_shapes[0]
    cout, hout, wout = layer.out_shape
    if layer.op == ir.FC:
        w = ql.weight.reshape(cout, cin, hin, win).transpose(0, 2, 3, 1).reshape(cout, -1, 1, 1)
        groups, kh, kw, sh, sw, dh, dw, pt, pl = 1, 1, 1, 1, 1, 1, 1, 0, 0
        cfg_in = (cin * hin * win, 1, 1)
        cfg_out = (cout, 1, 1)
        pointwise = True
    else:
        w = ql.weight
        groups = layer.groups
        (kh, kw), (sh, sw), (dh, dw) = layer.kernel, layer.stride, layer.dilation
        pt, pl = layer.pads[0], layer.pads[1]
        cfg_in, cfg_out = (cin, hin, win), (cout, hout, wout)
        pointwise = (kh, kw, sh, sw) == (1, 1, 1, 1) and not any(layer.pads) and groups == 1
    cig = cfg_in[0] // groups
    # window parallelism lives in the row-buffer engine only (conv_offchip, 1x1 and fc: kpar 1)
    window = kh * kw if not (pointwise or offchip) else 1
    pe, simd, kpar = _mac_factors(ql, factors, ident, ctx, cout, cig, window)
    if groups > 1 and not offchip:
        pe, kpar = _grouped_factors(ident, ctx, pe, kpar, cout, cig, groups)
    if layer.op == ir.CONV and port_pixels(cout, wout) > 1 and cout % pe and not offchip:
        # a wide output port carries whole pixels: no padding channels inside its beats (conv.h)
        ctx.notes = [n for n in ctx.notes if not (n.startswith(f"{ident}: pe=") and "padding channels" in n)]
        ctx.notes.append(f"{ident}: pe={pe} does not divide C_out={cout} and the wide output port (whole "
                         f"pixels per beat) has no room for padding channels; using pe={fit_factor(cout, pe)}")
        pe = fit_factor(cout, pe)
    if lanes_a:
        _check_split_pe(ql, ident, int(_plan_factors(factors, ql.index)[0]), pe, lanes_a, cout, cig)
    cout_p = -(-cout // pe) * pe  # padded output channels: the last fold may compute zeros
    w = pad_channels(w, cout_p, 0)
    rows = weight_rows(w, pe, simd, kpar)
    words, wpr = pack_rom(rows)
    lb_part = simd if groups == 1 else fit_factor(cfg_in[0], pe * simd)
    # kpar window positions per cycle: their columns differ modulo kw*dw (one bank each)
    lb_wpart = kw * dw if kpar > 1 else 1
    kind = mac or "dsp"
    if kind == "packed" and groups != 1:
        ctx.notes.append(f"{ident}: mac=packed needs PEs that share activations (groups = 1); using mac=dsp")
        kind = "dsp"
    preload = preload and not offchip
    in_lanes, out_lanes = port_bytes(layer.in_shapes[0], ctx.lanes), port_bytes(layer.out_shape, ctx.lanes)
    adapt = {}
    if offchip and layer.op == ir.CONV:
        if in_lanes > cin:
            adapt["in"] = (cin, in_lanes, port_lanes(cin, ctx.lanes), hin * win)
            in_lanes = port_lanes(cin, ctx.lanes)
        if out_lanes > cout:
            adapt["out"] = (cout, out_lanes, port_lanes(cout, ctx.lanes), hout * wout)
            out_lanes = port_lanes(cout, ctx.lanes)
    cfg = f"{ident}_cfg"
    fields = [
        _u("in_c", cfg_in[0]), _u("in_h", cfg_in[1]), _u("in_w", cfg_in[2]),
        _u("out_c", cfg_out[0]), _u("out_cp", cout_p), _u("out_h", cfg_out[1]), _u("out_w", cfg_out[2]),
        _u("kh", kh), _u("kw", kw), _u("sh", sh), _u("sw", sw), _u("dh", dh), _u("dw", dw),
        _u("pt", pt), _u("pl", pl), _u("groups", groups), _u("pe", pe), _u("simd", simd),
        _u("kpar", kpar), _u("in_lanes", in_lanes), _u("out_lanes", out_lanes),
        _b("in_signed", tin.signed), _i("lo", ql.lo), _i("hi", ql.hi), *_zps(ql),
        _u("lb_rows", (kh - 1) * dh + 1), _u("lb_part", lb_part), _u("lb_wpart", lb_wpart),
        _u("rom_wpr", wpr),
        _u("rom_words", 0 if offchip else len(words)), _u("mac", MAC_CODES[kind]),
    ]
    engine = "fc" if layer.op == ir.FC else ("conv1x1" if pointwise else "conv2d")
    shape = f"{pe}x{kpar}x{simd}" if kpar > 1 else f"{pe}x{simd}"
    where = " in URAM, loaded at start-up" if preload else ""
    ctx.cfgs.append({"name": cfg, "comment": f"{ident}: {engine}, {rows.shape[0]} weight rows of {shape}{where}, "
                                            f"{kind} MACs", "fields": fields})
    ns = ctx.ns
    ctx.arrays += [
        _array("int32_t", f"{ident}_bias", _ints(pad_channels(ql.bias, cout_p, 0)), INT_PER_LINE),
        _array("int32_t", f"{ident}_mult", _ints(pad_channels(ql.mult, cout_p, 0)), INT_PER_LINE),
        _array("uint8_t", f"{ident}_shift", _ints(pad_channels(ql.shift, cout_p, 1)), INT_PER_LINE),
    ]
    tail = [f"{ns}::{ident}_bias", f"{ns}::{ident}_mult", f"{ns}::{ident}_shift"]
    if lanes_a:
        if groups != 1:
            raise ValueError(f"{ident}: a lane-split engine needs groups = 1")
        ctx.arrays = ctx.arrays[:-3]  # each half gets its own rows
        mode = "offchip" if offchip else "preload" if preload else "rom"
        call = lane_split_call(ctx, ident, engine, fields, w, ql, pe, simd, kpar, lanes_a, cout_p, mode)
        if offchip:  # one image of whole rows; split_rows (lanesplit.h) deals each half its lanes
            call.reader = _offchip_reader(ctx, ident, rows, cig // simd)
            call.adapt = adapt
        return call
    if preload:  # URAM has no bitstream initialization: the words go to the start-up image
        offset = len(ctx.wpre) // 8
        ctx.wpre += np.asarray(words, dtype="<u8").tobytes()
        return BlockCall(f"asymap::{engine}_preload<{ns}::{cfg}>", tail,
                         preload={"offset": offset, "words": len(words)})
    if not offchip:
        ctx.arrays.append(
            _array("uint64_t", f"{ident}_w", [f"0x{int(v):016x}ULL" for v in words], ROM_WORDS_PER_LINE)
        )
        return BlockCall(f"asymap::{engine}<{ns}::{cfg}>", [f"{ns}::{ident}_w", *tail])
    okind = "fc_offchip" if layer.op == ir.FC else "conv_offchip"
    return BlockCall(f"asymap::{okind}<{ns}::{cfg}>", tail, _offchip_reader(ctx, ident, rows, cig // simd), adapt=adapt)


def _offchip_reader(ctx: BlockCtx, ident: str, rows: np.ndarray, sf: int) -> dict:
    """Off-chip weights: the rows go to the wmem image and a reader process feeds them through a
    stream (its config struct, row bytes and FIFO depth, for segment.py)."""
    offset = len(ctx.wmem) // WMEM_WORD_BYTES
    image = pack_offchip(rows)
    ctx.wmem += image
    rb = int(rows.shape[1])
    reps = 1  # conv_offchip: output folds outer, every weight row read once per image
    rcfg = f"{ident}_wcfg"
    ctx.cfgs.append({"name": rcfg, "comment": f"off-chip weight reader of {ident}", "fields": [
        _u("rows", rows.shape[0]), _u("row_bytes", rb), _u("slot_bytes", slot_bytes(rb)),
        _u("words", len(image) // WMEM_WORD_BYTES), _u("offset", offset), _u("reps", reps),
    ]})
    return {"cfg": f"{ctx.ns}::{rcfg}", "row_bytes": rb, "depth": max(2, 2 * sf)}


def lane_split_call(ctx: BlockCtx, ident: str, engine: str, fields: list, w: np.ndarray, ql: QLayer, pe: int,
                    simd: int, kpar: int, k: int, cout_p: int, mode: str = "rom") -> BlockCall:
    """The two halves of a lane-split on-chip engine (lanesplit.h): the layer's config (its window
    generator, gearboxes and NF folds), one config per half (PE = k and PE - k, each half's NF folds
    of its lanes as its own channels) and each half's weight rows, bias and requantization rows.
    ``mode`` "preload": each half's ROM words go to the URAM start-up image instead of a ROM table
    (``lanes["preload"]``: half A's and half B's {"offset", "words"} in it); "offchip": the engine
    is conv_offchip's halves and the rows come from the layer's off-chip reader (the caller adds it;
    ``lanes["rows"]``: each half's row bytes and the rows per image, for split_rows)."""
    if not 1 <= k < pe:
        raise ValueError(f"{ident}: slr_lanes gives {k} lanes to the first SLR; the engine has pe={pe}, so "
                         f"it must be 1..{pe - 1}")
    cig = int(w.shape[1])
    if cig == 1 and cout_p // pe * min(k, pe - k) == 1:  # conv_shape would read a half as depthwise
        raise ValueError(f"{ident}: a lane split of a one-channel input needs two or more channels per half")
    ns, cfg = ctx.ns, f"{ident}_cfg"
    calls, loads = [], []
    for half, (lo, hi) in zip("ab", ((0, k), (k, pe))):
        n = cout_p // pe * (hi - lo)
        rows = weight_rows(lane_half(w, pe, lo, hi), hi - lo, simd, kpar)
        words, wpr = pack_rom(rows)
        over = {"pe": hi - lo, "out_c": n, "out_cp": n, "rom_wpr": wpr, "rom_words": len(words)}
        hcfg = f"{ident}_{half}_cfg"
        ctx.cfgs.append({"name": hcfg, "comment": f"{ident}: lanes {lo}..{hi - 1} of every fold (lane-split "
                                                 f"engine, half {half.upper()}), {rows.shape[0]} weight rows",
                         "fields": [(t, nm, str(over[nm])) if nm in over else (t, nm, v) for t, nm, v in fields]})
        names = [f"{ident}_{half}_{x}" for x in ("w", "bias", "mult", "shift")]
        if mode == "offchip":
            names = names[1:]
            over["rom_words"] = 0
        elif mode == "preload":  # URAM has no bitstream initialization: the words go to the start-up image
            loads.append({"offset": len(ctx.wpre) // 8, "words": len(words)})
            ctx.wpre += np.asarray(words, dtype="<u8").tobytes()
            names = names[1:]
        else:
            ctx.arrays.append(_array("uint64_t", names[0], [f"0x{int(v):016x}ULL" for v in words], ROM_WORDS_PER_LINE))
        ctx.arrays += [
            _array("int32_t", names[-3], _ints(lane_half(pad_channels(ql.bias, cout_p, 0), pe, lo, hi)), INT_PER_LINE),
            _array("int32_t", names[-2], _ints(lane_half(pad_channels(ql.mult, cout_p, 0), pe, lo, hi)), INT_PER_LINE),
            _array("uint8_t", names[-1], _ints(lane_half(pad_channels(ql.shift, cout_p, 1), pe, lo, hi)), INT_PER_LINE),
        ]
        calls.append([f"{ns}::{x}" for x in names])
    lanes = {"consts": calls[1], "x_bytes": simd * kpar, "a_bytes": k, "preload": loads}
    if mode == "offchip":
        lanes.update(func=f"asymap::conv_offchip_lanes_b<{ns}::{cfg}, {ns}::{ident}_b_cfg>",
                     rows=(k * simd, (pe - k) * simd, rows.shape[0]))
        return BlockCall(f"asymap::conv_offchip_lanes_a<{ns}::{cfg}, {ns}::{ident}_a_cfg>", calls[0], lanes=lanes)
    pw = engine != "conv2d"
    slots = f"asymap::{'pointwise' if pw else 'conv2d'}_slots<{ns}::{cfg}>"
    pre = "_preload" if mode == "preload" else ""
    lanes["func"] = f"asymap::mac_lanes_b{pre}<{ns}::{cfg}, {ns}::{ident}_b_cfg, {slots}, {'true' if pw else 'false'}>"
    return BlockCall(f"asymap::{'pointwise' if pw else 'conv2d'}_lanes_a{pre}<{ns}::{cfg}, {ns}::{ident}_a_cfg>",
                     calls[0], lanes=lanes)


def pool_block(qg: QGraph, ql: QLayer, ident: str, factors, ctx: BlockCtx) -> BlockCall:
    """maxpool / avgpool (row-buffer engine, ``pe`` channels per cycle) and global average pooling."""
    layer = ql.layer
    tin = qg.tensors[layer.inputs[0]]
    c, hin, win = layer.in_shapes[0]
    _, hout, wout = layer.out_shape
    ns = ctx.ns
    pe, _ = _factors(ql, factors, ident, ctx, c, 1)
    cfg = f"{ident}_cfg"
    if layer.op == ir.GAP:
        fields = [_u("c", c), _u("pixels", hin * win), _u("lanes", port_bytes(layer.out_shape, ctx.lanes)),
                  _u("in_lanes", port_bytes(layer.in_shapes[0], ctx.lanes)),
                  _b("in_signed", tin.signed), _i("lo", ql.lo), _i("hi", ql.hi), *_zps(ql),
                  _ll("mult", ql.mult[0]), _u("shift", ql.shift[0])]
        ctx.cfgs.append({"name": cfg, "comment": f"{ident}: global average pooling", "fields": fields})
        return BlockCall(f"asymap::global_avgpool<{ns}::{cfg}>")
    (kh, kw), (sh, sw), (dh, dw) = layer.kernel, layer.stride, layer.dilation
    fields = [
        _u("c", c), _u("in_h", hin), _u("in_w", win), _u("out_h", hout), _u("out_w", wout),
        _u("kh", kh), _u("kw", kw), _u("sh", sh), _u("sw", sw), _u("dh", dh), _u("dw", dw),
        _u("pt", layer.pads[0]), _u("pl", layer.pads[1]), _u("pe", pe), _u("lanes", port_bytes(layer.in_shapes[0], ctx.lanes)),
        _u("out_lanes", port_bytes(layer.out_shape, ctx.lanes)),
        _b("in_signed", tin.signed), _i("lo", ql.lo), _i("hi", ql.hi), *_zps(ql),
        _b("count_include_pad", layer.count_include_pad), _u("lb_rows", (kh - 1) * dh + 1), _u("lb_part", pe),
    ]
    ctx.cfgs.append({"name": cfg, "comment": f"{ident}: {layer.op}", "fields": fields})
    if layer.op == ir.MAXPOOL:
        return BlockCall(f"asymap::maxpool2d<{ns}::{cfg}>")
    n = kh * kw + 1
    mult = np.zeros(n, np.int64)
    shift = np.ones(n, np.int64)
    mult[: len(ql.mult)] = ql.mult[:n]
    shift[: len(ql.shift)] = ql.shift[:n]
    ctx.arrays += [_array("int32_t", f"{ident}_mult", _ints(mult), INT_PER_LINE),
                   _array("uint8_t", f"{ident}_shift", _ints(shift), INT_PER_LINE)]
    return BlockCall(f"asymap::avgpool2d<{ns}::{cfg}>", [f"{ns}::{ident}_mult", f"{ns}::{ident}_shift"])


def add_block(qg: QGraph, ql: QLayer, ident: str, ctx: BlockCtx) -> BlockCall:
    """Residual add: both multipliers and the shared shift as compile-time constants."""
    layer = ql.layer
    a, b = (qg.tensors[t] for t in layer.inputs)
    c, h, w = layer.out_shape
    cfg = f"{ident}_cfg"
    fields = [_u("beats", h * w * c // port_lanes(c, ctx.lanes)), _u("lanes", port_bytes(layer.out_shape, ctx.lanes)),
              _u("clanes", port_lanes(c, ctx.lanes)),
              _b("a_signed", a.signed), _b("b_signed", b.signed), _ll("ma", ql.mult[0]),
              _ll("mb", ql.mult[1]), _u("s", ql.shift[0]), _i("lo", ql.lo), _i("hi", ql.hi),
              _i("a_zp", ql.zp(0)), _i("b_zp", ql.zp(1)), _i("out_zp", ql.out_zp)]
    ctx.cfgs.append({"name": cfg, "comment": f"{ident}: residual add", "fields": fields})
    return BlockCall(f"asymap::add2<{ctx.ns}::{cfg}>")


def concat_block(qg: QGraph, ql: QLayer, ident: str, ctx: BlockCtx) -> BlockCall:
    """Concat: one part config per operand and a generated per-layer wrapper (concat.h)."""
    layer = ql.layer
    cout, h, w = layer.out_shape
    parts, offset = [], 0
    for i, t in enumerate(layer.inputs):
        ci = layer.in_shapes[i][0]
        pname = f"{ident}_in{i}_cfg"
        ctx.cfgs.append({"name": pname, "comment": f"{ident}: concat operand {i}", "fields": [
            _u("c", ci), _u("lanes", port_bytes(layer.in_shapes[i], ctx.lanes)), _u("offset", offset), _u("out_c", cout),
            _b("in_signed", qg.tensors[t].signed), _ll("mult", ql.mult[i]), _u("shift", ql.shift[i]),
            _i("lo", ql.lo), _i("hi", ql.hi), *_zps(ql, i)]})
        offset += ci
        end = (parts[-1]["end"] if parts else 0) + pixel_beats(layer.in_shapes[i], ctx.lanes)
        lanes = port_bytes(layer.in_shapes[i], ctx.lanes)
        parts.append({"cfg": f"{ctx.ns}::{pname}", "lanes": lanes, "end": end, "wide": lanes > ci})
    slot = concat_slot_steps(layer.in_shapes, layer.out_shape, ctx.lanes)
    ctx.wrappers.append({"name": f"{ident}_concat", "parts": parts, "pixels": h * w, "out_c": cout,
                         "out_lanes": port_bytes(layer.out_shape, ctx.lanes), "out_beats": pixel_beats(layer.out_shape, ctx.lanes),
                         "out_wide": port_bytes(layer.out_shape, ctx.lanes) > cout,
                         "slot": slot, "steps": (h * w + 1) * slot})
    return BlockCall(f"{ctx.ns}::{ident}_concat")


def lut_block(qg: QGraph, ql: QLayer, ident: str, ctx: BlockCtx) -> BlockCall:
    """Lookup-table activation (lut.h): the 256-entry table written once per lane (lane l reads
    copy l, a bank of its own), as raw output bytes."""
    layer = ql.layer
    c = layer.out_shape[0]
    lanes = port_lanes(c, ctx.lanes)
    cfg = f"{ident}_cfg"
    ctx.cfgs.append({"name": cfg, "comment": f"{ident}: {layer.lut_fn} by table lookup",
                     "fields": [_u("beats", narrow_beats(layer.out_shape, ctx.lanes)), _u("lanes", lanes)]})
    raw = [str(int(v) & 0xFF) for v in np.asarray(ql.table).reshape(-1)]
    ctx.arrays.append(_array("uint8_t", f"{ident}_table", raw * lanes, INT_PER_LINE))
    return BlockCall(f"asymap::lut_map<{ctx.ns}::{cfg}>", [f"{ctx.ns}::{ident}_table"], adapt=narrow_adapt(layer, ctx.lanes))


def chmul_block(qg: QGraph, ql: QLayer, ident: str, ctx: BlockCtx) -> BlockCall:
    """Channel-wise Mul (chmul.h): zero points, clamp and the one multiplier as constants."""
    layer = ql.layer
    x, s = (qg.tensors[t] for t in layer.inputs)
    c, h, w = layer.out_shape
    cfg = f"{ident}_cfg"
    fields = [_u("c", c), _u("pixels", h * w), _u("lanes", port_lanes(c, ctx.lanes)), _b("x_signed", x.signed),
              _b("s_signed", s.signed), _i("zx", ql.zp(0)), _i("zs", ql.zp(1)), _i("zo", ql.out_zp),
              _i("lo", ql.lo), _i("hi", ql.hi), _ll("mult", ql.mult[0]), _u("shift", ql.shift[0])]
    ctx.cfgs.append({"name": cfg, "comment": f"{ident}: channel-wise Mul (squeeze-excite)", "fields": fields})
    return BlockCall(f"asymap::channel_mul<{ctx.ns}::{cfg}>", adapt=narrow_adapt(layer, ctx.lanes))
