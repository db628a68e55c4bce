"""Code of one board's compute *segment*: the layers ``first..last`` as an HLS DATAFLOW region.

The segment is a C++ function whose arguments are tensor ports (``asymap.codegen.ports``): one
input port per tensor arriving on the board, one output port per tensor leaving it, plus the
off-chip weight memory when the plan streams some layer's weights from DRAM. Inside, every layer
is one process of the hand-written library (``hls/include/asymap/*.h``) parametrized by a config
struct; tensors read by several consumers are duplicated by ``fork2`` chains; tensors that only
pass through the board are copied from their input to their output port.

Everything numeric (config values, weight images, FIFO depths) is computed here in Python; the
Jinja2 templates (``templates/segment_*.j2``) only lay the text out. Output is deterministic.

FIFO depths: HLS DATAFLOW channels are bounded, so when a tensor forks into two paths that meet
again (a residual skip), the shorter path must buffer everything the longer path consumes before
its first result appears, or the region deadlocks. :func:`fifo_depths` derives that from a
row-level model of each block (how many input rows it reads before emitting output row r), which
matches the row buffers of ``line_buffer.h``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from asymap.codegen.env import make_env
from asymap.codegen.ports import port_lanes
from asymap.frontend import ir
from asymap.quant.qgraph import QGraph, QLayer
from asymap.util.names import c_ident, unique_idents

WMEM_WORD_BYTES = 64  # 512-bit off-chip words
ROM_WORDS_PER_LINE = 8  # packed 64-bit words per line of weights.h
INT_PER_LINE = 16


@dataclass
class SegmentCode:
    """Everything the board project writer needs from one segment.

    - ``header``: text of ``params.h`` (library includes, one config struct per layer, all in
      ``namespace <fn>_seg``).
    - ``weights``: extra files by name (``weights.h``: packed ROM words, bias, multipliers).
    - ``source``: text defining ``void <fn>(in ports..., out ports..., [wmem])``; it includes
      ``"params.h"`` and ``"weights.h"``, so write them beside it under those names.
    - ``in_ports`` / ``out_ports``: ``{"tensor", "ident", "shape": (C, H, W), "lanes", "signed",
      "beats"}`` in argument order; ``beats`` = H*W*C/lanes per image.
    - ``wmem``: off-chip weight image (little-endian 512-bit words) or None; ``wmem_words`` its
      length in words (0 when None).
    - ``fifo_depths``: internal stream name -> depth; ``notes``: factor fallbacks and other
      remarks (also written as comments into the source).
    """

    fn: str
    header: str
    weights: dict[str, str]
    source: str
    in_ports: list[dict]
    out_ports: list[dict]
    wmem: bytes | None = None
    wmem_words: int = 0
    fifo_depths: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# small helpers


def fit_factor(n: int, f: int) -> int:
    """Largest divisor of ``n`` that is <= ``f`` (at least 1)."""
    f = max(1, min(int(f), n))
    while n % f:
        f -= 1
    return f


def slot_bytes(row_bytes: int) -> int:
    """Off-chip row slot: next power of two up to 64 bytes, else a multiple of 64 bytes."""
    if row_bytes > WMEM_WORD_BYTES:
        return -(-row_bytes // WMEM_WORD_BYTES) * WMEM_WORD_BYTES
    s = 1
    while s < row_bytes:
        s *= 2
    return s


def weight_rows(w: np.ndarray, pe: int, simd: int) -> np.ndarray:
    """Reorder int8 weights (C_out, CinG, kh, kw) into rows of PE*SIMD bytes, in (nf, ky, kx, sf)
    order; byte ``p*SIMD + s`` of a row is ``w[nf*PE + p, sf*SIMD + s, ky, kx]`` (conv.h)."""
    co, cig, kh, kw = w.shape
    nf, sf = co // pe, cig // simd
    r = w.astype(np.int8).reshape(nf, pe, sf, simd, kh, kw).transpose(0, 4, 5, 2, 1, 3)
    return np.ascontiguousarray(r.reshape(nf * kh * kw * sf, pe * simd))


def pack_rom(rows: np.ndarray) -> tuple[np.ndarray, int]:
    """Pad rows to whole 64-bit words; returns (uint64 words, words per row)."""
    n, rb = rows.shape
    wpr = -(-rb // 8)
    buf = np.zeros((n, wpr * 8), np.uint8)
    buf[:, :rb] = rows.view(np.uint8)
    return buf.reshape(-1).view("<u8"), wpr


def pack_offchip(rows: np.ndarray) -> bytes:
    """Rows padded to their slot, region padded to whole 512-bit words (weights_offchip.h)."""
    n, rb = rows.shape
    sb = slot_bytes(rb)
    buf = np.zeros((n, sb), np.uint8)
    buf[:, :rb] = rows.view(np.uint8)
    data = buf.tobytes()
    pad = -len(data) % WMEM_WORD_BYTES
    return data + bytes(pad)


def _lines(values: list[str], per_line: int) -> list[str]:
    return [", ".join(values[i : i + per_line]) for i in range(0, len(values), per_line)]


def _array(ctype: str, name: str, values: list[str], per_line: int) -> dict:
    return {"ctype": ctype, "name": name, "n": len(values), "lines": _lines(values, per_line)}


def _ints(a) -> list[str]:
    return [str(int(v)) for v in np.asarray(a).reshape(-1)]


def _beat_type(lanes: int) -> str:
    return f"ap_uint<{8 * lanes}>"


def _stream_type(lanes: int) -> str:
    return f"hls::stream<{_beat_type(lanes)} >"


def _tensor_beats(shape) -> int:
    c, h, w = shape
    return h * w * c // port_lanes(c)


# ---------------------------------------------------------------------------------------------
# FIFO depth model


def _row_map(layer: ir.Layer, j: int, r: int, whole: frozenset = frozenset()) -> int:
    """Rows of operand ``j`` a block reads before emitting its output row ``r`` (all of 0..r).

    ``whole``: indices of layers that read their entire input first (off-chip weights)."""
    h_in = layer.in_shapes[j][1]
    if layer.index in whole:
        return h_in
    if layer.op in (ir.CONV, ir.MAXPOOL, ir.AVGPOOL):
        last = r * layer.stride[0] - layer.pads[0] + (layer.kernel[0] - 1) * layer.dilation[0]
        return min(h_in, max(0, last + 1))
    if layer.op in (ir.ADD, ir.CONCAT):
        return r + 1
    return h_in  # gap, fc: the whole input before any output


def fifo_depths(layers: list[ir.Layer], inputs: list[str], shapes: dict,
                whole: frozenset = frozenset()) -> dict[tuple, int]:
    """Extra depth (beats) for fork edges ``(tensor, consumer_layer_index, operand)``.

    For every join (a block with several operands derived from one forked tensor ``s``) we
    compute, per output row r, how many rows of ``s`` each operand's path must have consumed; the
    path that needs fewer must buffer the difference (plus one row of margin) on its edge out of
    the fork. Capped at the whole tensor, which is always enough.
    """
    need: dict[str, dict[str, np.ndarray]] = {t: {t: np.arange(1, shapes[t][1] + 1)} for t in inputs}
    consumers: dict[str, list[tuple[int, int]]] = {}
    for layer in layers:
        for j, t in enumerate(layer.inputs):
            consumers.setdefault(t, []).append((layer.index, j))
    for layer in layers:
        h_out = layer.out_shape[1]
        acc: dict[str, np.ndarray] = {}
        for j, t in enumerate(layer.inputs):
            m = np.array([_row_map(layer, j, r, whole) for r in range(h_out)])
            for s, arr in need.get(t, {}).items():
                d = np.where(m > 0, arr[np.maximum(m - 1, 0)], 0)
                acc[s] = np.maximum(acc[s], d) if s in acc else d
        need[layer.output] = acc

    # tensors reachable from each tensor (inside the segment)
    reach: dict[str, set[str]] = {}
    for layer in reversed(layers):
        reach.setdefault(layer.output, {layer.output})
    for layer in reversed(layers):
        for t in layer.inputs:
            reach.setdefault(t, {t})
            reach[t] |= reach[layer.output]

    extra: dict[tuple, int] = {}
    for layer in layers:
        if len(layer.inputs) < 2:
            continue
        h_out = layer.out_shape[1]
        srcs = set.intersection(*(set(need.get(t, {})) for t in layer.inputs))
        for s in sorted(srcs):
            dem = []
            for j, t in enumerate(layer.inputs):
                m = np.array([_row_map(layer, j, r, whole) for r in range(h_out)])
                dem.append(np.where(m > 0, need[t][s][np.maximum(m - 1, 0)], 0))
            mx = np.max(dem, axis=0)
            c, h, w = shapes[s]
            row_beats = w * c // port_lanes(c)
            for j, t in enumerate(layer.inputs):
                lag = int(np.max(mx - dem[j]))
                if lag <= 0:
                    continue
                depth = min(h, lag + 1) * row_beats + 2
                for ci, cj in consumers.get(s, []):
                    cons = next(x for x in layers if x.index == ci)
                    leads = (ci == layer.index and cj == j) or (
                        ci != layer.index and t in reach.get(cons.output, set())
                    )
                    if leads:
                        key = (s, ci, cj)
                        extra[key] = max(extra.get(key, 0), depth)
    return extra


# ---------------------------------------------------------------------------------------------
# per-layer code


@dataclass
class _Ctx:
    """What the per-layer builders append to."""

    ns: str
    cfgs: list[dict] = field(default_factory=list)
    arrays: list[dict] = field(default_factory=list)
    wrappers: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    wmem: bytearray = field(default_factory=bytearray)
    offchip_cfgs: list[tuple[str, str, int]] = field(default_factory=list)


def _u(name, v):
    return ("unsigned", name, str(int(v)))


def _b(name, v):
    return ("bool", name, "true" if v else "false")


def _i(name, v):
    return ("int", name, str(int(v)))


def _ll(name, v):
    return ("long long", name, f"{int(v)}LL")


def _factors(ql: QLayer, factors: dict, ident: str, ctx: _Ctx, n_pe: int, n_simd: int) -> tuple[int, int]:
    pe0, simd0 = factors.get(ql.index, (1, 1))
    pe, simd = fit_factor(n_pe, pe0), fit_factor(n_simd, simd0)
    if (pe, simd) != (pe0, simd0):
        ctx.notes.append(
            f"{ident}: factors (pe={pe0}, simd={simd0}) do not divide ({n_pe}, {n_simd}); "
            f"using (pe={pe}, simd={simd})"
        )
    return pe, simd


def _pad0(a: np.ndarray, n: int, fill) -> np.ndarray:
    """``a`` extended along axis 0 to length ``n`` with ``fill`` (padding channels)."""
    a = np.asarray(a)
    if a.shape[0] == n:
        return a
    pad = np.full((n - a.shape[0],) + a.shape[1:], fill, a.dtype)
    return np.concatenate([a, pad])


def _mac_factors(ql: QLayer, factors: dict, ident: str, ctx: _Ctx, c_out: int, cin_g: int) -> tuple[int, int]:
    """(pe, simd) of a conv/fc. SIMD must divide C_in/groups (else: largest divisor below it);
    PE may leave the last output fold partly empty (zero padding channels, as the cost model's
    "padded" options assume), but never exceeds C_out."""
    pe0, simd0 = factors.get(ql.index, (1, 1))
    pe, simd = max(1, min(int(pe0), c_out)), fit_factor(cin_g, simd0)
    if simd != simd0:
        ctx.notes.append(f"{ident}: simd={simd0} does not divide C_in/groups={cin_g}; using simd={simd}")
    if pe != pe0:
        ctx.notes.append(f"{ident}: pe={pe0} exceeds C_out={c_out}; using pe={pe}")
    elif c_out % pe:
        ctx.notes.append(f"{ident}: pe={pe} does not divide C_out={c_out}; the last fold computes "
                         f"{-(-c_out // pe) * pe - c_out} padding channels")
    return pe, simd


def _mac_layer(qg: QGraph, ql: QLayer, ident: str, factors, offchip: bool, ctx: _Ctx) -> dict:
    """conv (any kind) and fc: config struct, weights (ROM or wmem), call."""
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
        pointwise = (kh, kw, sh, sw) == (1, 1, 1, 1) and not any(layer.pads)
    cig = cfg_in[0] // groups
    pe, simd = _mac_factors(ql, factors, ident, ctx, cout, cig)
    cout_p = -(-cout // pe) * pe  # padded output channels: the last fold may compute zeros
    w = _pad0(w, cout_p, 0)
    rows = weight_rows(w, pe, simd)
    words, wpr = pack_rom(rows)
    lb_part = simd if groups == 1 else fit_factor(cfg_in[0], pe * simd)
    cfg = f"{ident}_cfg"
    fields = [
        _u("in_c", cfg_in[0]), _u("in_h", cfg_in[1]), _u("in_w", cfg_in[2]),
        _u("out_c", cfg_out[0]), _u("out_cp", cout_p), _u("out_h", cfg_out[1]), _u("out_w", cfg_out[2]),
        _u("kh", kh), _u("kw", kw), _u("sh", sh), _u("sw", sw), _u("dh", dh), _u("dw", dw),
        _u("pt", pt), _u("pl", pl), _u("groups", groups), _u("pe", pe), _u("simd", simd),
        _u("in_lanes", port_lanes(cin)), _u("out_lanes", port_lanes(cout)),
        _b("in_signed", tin.signed), _i("lo", ql.lo), _i("hi", ql.hi),
        _u("lb_rows", (kh - 1) * dh + 1), _u("lb_part", lb_part), _u("rom_wpr", wpr),
        _u("rom_words", 0 if offchip else len(words)),
    ]
    kind = "fc" if layer.op == ir.FC else ("conv1x1" if pointwise else "conv2d")
    ctx.cfgs.append({"name": cfg, "comment": f"{ident}: {kind}, {rows.shape[0]} weight rows of {pe}x{simd}",
                     "fields": fields})
    ns = ctx.ns
    ctx.arrays += [
        _array("int32_t", f"{ident}_bias", _ints(_pad0(ql.bias, cout_p, 0)), INT_PER_LINE),
        _array("int32_t", f"{ident}_mult", _ints(_pad0(ql.mult, cout_p, 0)), INT_PER_LINE),
        _array("uint8_t", f"{ident}_shift", _ints(_pad0(ql.shift, cout_p, 1)), INT_PER_LINE),
    ]
    tail = [f"{ns}::{ident}_bias", f"{ns}::{ident}_mult", f"{ns}::{ident}_shift"]
    if not offchip:
        ctx.arrays.append(
            _array("uint64_t", f"{ident}_w", [f"0x{int(v):016x}ULL" for v in words], ROM_WORDS_PER_LINE)
        )
        return {"func": f"asymap::{kind}<{ns}::{cfg}>", "weights": [f"{ns}::{ident}_w"], "tail": tail,
                "ws": None}
    # off-chip: rows go to the wmem image, a reader process feeds them through a stream
    offset = len(ctx.wmem) // WMEM_WORD_BYTES
    image = pack_offchip(rows)
    ctx.wmem += image
    rb = pe * simd
    reps = 1  # conv_offchip: output folds outer, every weight row read once per image
    rcfg = f"{ident}_wcfg"
    ctx.cfgs.append({"name": rcfg, "comment": f"off-chip weight reader of {ident}", "fields": [
        _u("rows", rows.shape[0]), _u("row_bytes", rb), _u("slot_bytes", slot_bytes(rb)),
        _u("words", len(image) // WMEM_WORD_BYTES), _u("offset", offset), _u("reps", reps),
    ]})
    okind = "fc_offchip" if layer.op == ir.FC else "conv_offchip"
    return {"func": f"asymap::{okind}<{ns}::{cfg}>", "weights": None, "tail": tail,
            "ws": {"cfg": f"{ns}::{rcfg}", "row_bytes": rb, "depth": max(2, 2 * (cig // simd))}}


def _pool_layer(qg: QGraph, ql: QLayer, ident: str, factors, ctx: _Ctx) -> dict:
    layer = ql.layer
    tin = qg.tensors[layer.inputs[0]]
    c, hin, win = layer.in_shapes[0]
    _, hout, wout = layer.out_shape
    ns = ctx.ns
    pe, _ = _factors(ql, factors, ident, ctx, c, 1)
    cfg = f"{ident}_cfg"
    if layer.op == ir.GAP:
        fields = [_u("c", c), _u("pixels", hin * win), _u("lanes", port_lanes(c)),
                  _b("in_signed", tin.signed), _i("lo", ql.lo), _i("hi", ql.hi),
                  _ll("mult", ql.mult[0]), _u("shift", ql.shift[0])]
        ctx.cfgs.append({"name": cfg, "comment": f"{ident}: global average pooling", "fields": fields})
        return {"func": f"asymap::global_avgpool<{ns}::{cfg}>", "weights": None, "tail": [], "ws": None}
    (kh, kw), (sh, sw), (dh, dw) = layer.kernel, layer.stride, layer.dilation
    fields = [
        _u("c", c), _u("in_h", hin), _u("in_w", win), _u("out_h", hout), _u("out_w", wout),
        _u("kh", kh), _u("kw", kw), _u("sh", sh), _u("sw", sw), _u("dh", dh), _u("dw", dw),
        _u("pt", layer.pads[0]), _u("pl", layer.pads[1]), _u("pe", pe), _u("lanes", port_lanes(c)),
        _b("in_signed", tin.signed), _i("lo", ql.lo), _i("hi", ql.hi),
        _b("count_include_pad", layer.count_include_pad), _u("lb_rows", (kh - 1) * dh + 1), _u("lb_part", pe),
    ]
    ctx.cfgs.append({"name": cfg, "comment": f"{ident}: {layer.op}", "fields": fields})
    if layer.op == ir.MAXPOOL:
        return {"func": f"asymap::maxpool2d<{ns}::{cfg}>", "weights": None, "tail": [], "ws": None}
    n = kh * kw + 1
    mult = np.zeros(n, np.int64)
    shift = np.ones(n, np.int64)
    mult[: len(ql.mult)] = ql.mult[:n]
    shift[: len(ql.shift)] = ql.shift[:n]
    ctx.arrays += [_array("int32_t", f"{ident}_mult", _ints(mult), INT_PER_LINE),
                   _array("uint8_t", f"{ident}_shift", _ints(shift), INT_PER_LINE)]
    return {"func": f"asymap::avgpool2d<{ns}::{cfg}>", "weights": None,
            "tail": [f"{ns}::{ident}_mult", f"{ns}::{ident}_shift"], "ws": None}


def _add_layer(qg: QGraph, ql: QLayer, ident: str, ctx: _Ctx) -> dict:
    layer = ql.layer
    a, b = (qg.tensors[t] for t in layer.inputs)
    c = layer.out_shape[0]
    cfg = f"{ident}_cfg"
    fields = [_u("beats", _tensor_beats(layer.out_shape)), _u("lanes", port_lanes(c)),
              _b("a_signed", a.signed), _b("b_signed", b.signed), _ll("ma", ql.mult[0]),
              _ll("mb", ql.mult[1]), _u("s", ql.shift[0]), _i("lo", ql.lo), _i("hi", ql.hi)]
    ctx.cfgs.append({"name": cfg, "comment": f"{ident}: residual add", "fields": fields})
    return {"func": f"asymap::add2<{ctx.ns}::{cfg}>", "weights": None, "tail": [], "ws": None}


def _concat_layer(qg: QGraph, ql: QLayer, ident: str, ctx: _Ctx) -> dict:
    layer = ql.layer
    cout, h, w = layer.out_shape
    parts, offset = [], 0
    for i, t in enumerate(layer.inputs):
        ci = layer.in_shapes[i][0]
        pname = f"{ident}_in{i}_cfg"
        ctx.cfgs.append({"name": pname, "comment": f"{ident}: concat operand {i}", "fields": [
            _u("c", ci), _u("lanes", port_lanes(ci)), _u("offset", offset), _u("out_c", cout),
            _b("in_signed", qg.tensors[t].signed), _ll("mult", ql.mult[i]), _u("shift", ql.shift[i]),
            _i("lo", ql.lo), _i("hi", ql.hi)]})
        parts.append({"cfg": f"{ctx.ns}::{pname}", "lanes": port_lanes(ci)})
        offset += ci
    ctx.wrappers.append({"name": f"{ident}_concat", "parts": parts, "pixels": h * w, "out_c": cout,
                         "out_lanes": port_lanes(cout)})
    return {"func": f"{ident}_concat", "weights": None, "tail": [], "ws": None}


# ---------------------------------------------------------------------------------------------
# the segment


def render_segment(qg: QGraph, first: int, last: int, factors: dict[int, tuple[int, int]],
                   offchip: set[int], inputs: list[str], outputs: list[str], fn: str) -> SegmentCode:
    """Generate the DATAFLOW function ``fn`` computing layers ``first..last`` (inclusive).

    ``factors[i] = (pe, simd)`` from the plan (missing layers get (1, 1); factors that do not
    divide fall back to the largest divisor below them, recorded in ``notes``); ``offchip`` holds
    the layer indices whose weights stream from ``wmem``; ``inputs``/``outputs`` are the tensor
    names crossing the segment's boundaries (``graph.live_across(first - 1)`` / ``(last)``).
    """
    if c_ident(fn) != fn:
        raise ValueError(f"segment function name {fn!r} is not a sanitized C identifier")
    layers_q = [ql for ql in qg.layers if first <= ql.index <= last]
    layers = [ql.layer for ql in layers_q]
    if not layers or len(layers) != last - first + 1:
        raise ValueError(f"segment {fn}: layers {first}..{last} not in the graph")
    produced = [l.output for l in layers]
    shapes = {t: qg.tensors[t].shape for t in list(inputs) + produced}
    for l in layers:
        for t in l.inputs:
            if t not in shapes:
                raise ValueError(f"segment {fn}: layer {l.name!r} reads {t!r}, which is neither an input "
                                 "of the segment nor produced in it")
    for t in outputs:
        if t not in shapes:
            raise ValueError(f"segment {fn}: output {t!r} is neither an input nor produced here")

    ns = f"{fn}_seg"
    raw = ([f"in_{t}" for t in inputs] + [f"out_{t}" for t in outputs] + [f"t_{t}" for t in produced]
           + [f"L{l.index}_{l.name}" for l in layers])
    ids = unique_idents(raw)
    k = 0
    in_id = dict(zip(inputs, ids[k : k + len(inputs)])); k += len(inputs)
    out_id = dict(zip(outputs, ids[k : k + len(outputs)])); k += len(outputs)
    t_id = dict(zip(produced, ids[k : k + len(produced)])); k += len(produced)
    l_id = dict(zip([l.index for l in layers], ids[k:]))

    def port(t: str, ident: str) -> dict:
        qt = qg.tensors[t]
        c, h, w = qt.shape
        return {"tensor": t, "ident": ident, "shape": (c, h, w), "lanes": port_lanes(c),
                "signed": bool(qt.signed), "beats": _tensor_beats(qt.shape)}

    in_ports = [port(t, in_id[t]) for t in inputs]
    out_ports = [port(t, out_id[t]) for t in outputs]

    ctx = _Ctx(ns=ns)
    extra = fifo_depths(layers, list(inputs), shapes,
                        frozenset(l.index for l in layers if l.index in offchip and l.op in (ir.CONV, ir.FC)))

    # consumer edges of every tensor: (layer index, operand) in order, then the output port
    edges: dict[str, list] = {t: [] for t in shapes}
    for l in layers:
        for j, t in enumerate(l.inputs):
            edges[t].append((l.index, j))
    for t in outputs:
        edges[t].append(("out", t))

    streams: list[dict] = []
    calls: list[dict] = []
    operand_stream: dict[tuple[int, int], str] = {}

    def pixel_beats(t: str) -> int:
        c = shapes[t][0]
        return c // port_lanes(c)

    def new_stream(name: str, t: str, depth: int) -> str:
        streams.append({"name": name, "type": _stream_type(port_lanes(shapes[t][0])), "depth": depth})
        return name

    def edge_target(t: str, base: str, e, n: int) -> str:
        """Stream that carries tensor t along edge e (created on demand)."""
        if e[0] == "out":
            return out_id[t]
        depth = max(2, pixel_beats(t), extra.get((t, e[0], e[1]), 0))
        name = new_stream(f"{base}_e{n}", t, depth)
        operand_stream[(e[0], e[1])] = name
        return name

    def distribute(t: str, src: str, base: str) -> None:
        """Route tensor t from stream src to all its consumer edges (copy / direct / fork chain)."""
        es = edges[t]
        beats = _tensor_beats(shapes[t])
        btype = _beat_type(port_lanes(shapes[t][0]))
        if not es:
            raise ValueError(f"segment {fn}: tensor {t!r} is produced but never used")
        if len(es) == 1:
            e = es[0]
            if e[0] == "out":
                calls.append({"func": f"asymap::copy_stream<{btype}, {beats}>", "args": [src, out_id[t]],
                              "comment": f"pass-through of {t_ident(t)}"})
            else:
                operand_stream[(e[0], e[1])] = src
            return
        cur = src
        for n, e in enumerate(es[:-1]):
            a = edge_target(t, base, e, n)
            if n == len(es) - 2:
                b = edge_target(t, base, es[-1], n + 1)
            else:
                b = new_stream(f"{base}_f{n}", t, 2)
            calls.append({"func": f"asymap::fork2<{btype}, {beats}>", "args": [cur, a, b],
                          "comment": f"fork {t_ident(t)} ({len(es)} consumers)"})
            cur = b

    def t_ident(t: str) -> str:
        return in_id.get(t) or t_id.get(t) or out_id[t]

    for t in inputs:
        distribute(t, in_id[t], f"s_{in_id[t]}")

    for ql, layer in zip(layers_q, layers):
        ident = l_id[layer.index]
        op = layer.op
        if op in (ir.CONV, ir.FC):
            code = _mac_layer(qg, ql, ident, factors, layer.index in offchip, ctx)
        elif op in (ir.MAXPOOL, ir.AVGPOOL, ir.GAP):
            code = _pool_layer(qg, ql, ident, factors, ctx)
        elif op == ir.ADD:
            code = _add_layer(qg, ql, ident, ctx)
        elif op == ir.CONCAT:
            code = _concat_layer(qg, ql, ident, ctx)
        else:
            raise ValueError(f"segment {fn}: op {op!r} of layer {layer.name!r} has no HLS block")
        t = layer.output
        es = edges[t]
        if len(es) == 1 and es[0][0] == "out":
            dst = out_id[t]
        else:
            dst = new_stream(f"s_{t_id[t]}", t, max(2, pixel_beats(t)))
        args = [operand_stream[(layer.index, j)] for j in range(len(layer.inputs))] + [dst]
        if code["ws"] is not None:
            ws = code["ws"]
            wname = f"w_{ident}"
            streams.append({"name": wname, "type": f"hls::stream<asymap::wrow<{ws['row_bytes']}> >",
                            "depth": ws["depth"]})
            calls.append({"func": f"asymap::weights_offchip<{ws['cfg']}>", "args": ["wmem", wname],
                          "comment": f"off-chip weights of {ident}"})
            args.append(wname)
        if code["weights"]:
            args += code["weights"]
        args += code["tail"]
        calls.append({"func": code["func"], "args": args, "comment": f"layer {layer.index}: {layer.op} ({ident})"})
        if dst != out_id.get(t):
            distribute(t, dst, f"s_{t_id[t]}")

    wmem = bytes(ctx.wmem) if ctx.wmem else None
    params = [f"{_stream_type(p['lanes'])}& {p['ident']}" for p in in_ports + out_ports]
    if wmem is not None:
        params.append("const ap_uint<512>* wmem")
    env = make_env()
    guard = f"ASYMAP_{fn.upper()}_"
    header = env.get_template("segment_params.h.j2").render(
        fn=fn, ns=ns, guard=guard + "PARAMS_H", cfgs=ctx.cfgs)
    weights = env.get_template("segment_weights.h.j2").render(
        fn=fn, ns=ns, guard=guard + "WEIGHTS_H", arrays=ctx.arrays)
    source = env.get_template("segment_top.cpp.j2").render(
        fn=fn, ns=ns, params=params, in_ports=in_ports, out_ports=out_ports, streams=streams,
        calls=calls, wrappers=ctx.wrappers, notes=ctx.notes, first=first, last=last,
        has_wmem=wmem is not None, wmem_words=len(wmem) // WMEM_WORD_BYTES if wmem else 0)
    return SegmentCode(
        fn=fn, header=header, weights={"weights.h": weights}, source=source, in_ports=in_ports,
        out_ports=out_ports, wmem=wmem, wmem_words=len(wmem) // WMEM_WORD_BYTES if wmem else 0,
        fifo_depths={s["name"]: s["depth"] for s in streams}, notes=list(ctx.notes))
