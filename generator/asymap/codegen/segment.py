"""Code of one board's compute *segment*: the layers ``first..last`` as an HLS DATAFLOW region.

The segment is a C++ function whose arguments are tensor ports (``asymap.codegen.ports``): one
input port per tensor arriving on the board, one output port per tensor leaving it, plus the
off-chip weight memory when the plan streams some layer's weights from DRAM. Inside, every layer
is one process of the hand-written library (``hls/include/asymap/*.h``) parametrized by a config
struct; tensors read by several consumers are duplicated by ``fork2`` chains; tensors that only
pass through the board are copied from their input to their output port.

Off-chip weights: one generated streamer process is the only reader of ``wmem`` (one reader per
m_axi argument); it bursts each off-chip layer's region, in layer order, into that layer's word
FIFO, and a ``weights_unpack`` process per layer turns words into weight rows
(``hls/include/asymap/weights_offchip.h``).

Every call records the streams it reads and writes and the m_axi arguments it accesses;
``asymap.codegen.graphcheck`` checks that record (one producer and one consumer per stream, one
reader per m_axi argument, the emitted arguments match) before any text is rendered.

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

from asymap.codegen.env import make_env
from asymap.codegen.fifodepth import fifo_depths
from asymap.codegen.graphcheck import DataflowGraph, Process, check_dataflow
from asymap.lanes import DEFAULT_PORT_LANES, pixel_beats as _pixel_beats, port_bytes
from asymap.codegen.segment_blocks import (
    add_block, beat_type, concat_block, BlockCtx, mac_block, pool_block, stream_type, tensor_beats,
)
from asymap.codegen.segment_blocks import chmul_block, lut_block
from asymap.codegen.segment_chan import affine_block, channels_block
from asymap.codegen.weightpack import WMEM_WORD_BYTES
from asymap.frontend import ir
from asymap.quant.qgraph import QGraph
from asymap.util.names import c_ident, unique_idents

__all__ = ["SegmentCode", "render_segment", "fifo_depths", "fork_call"]

#: Depth of the FIFO between the weight streamer and a layer's row unpacker, in 512-bit words. The
#: burst itself is buffered by the m_axi adapter (num_read_outstanding x max_read_burst_length
#: words, set on the top function), so this FIFO only decouples the two processes.
WORD_FIFO_DEPTH = 2
#: Depth of the two streams between the halves of a lane-split engine (lanesplit.h). The halves
#: run in lockstep, so two words keep both at II=1; across SLRs each becomes a stream_connect whose
#: AXI4-Stream register slices carry the crossing at full rate.
LANES_FIFO_DEPTH = 2


def fork_call(btype: str, beats: int, src: str, a: str, b: str, comment: str) -> dict:
    """A fork2 process: reads ``src``, writes ``a`` and ``b`` (one call dict of the segment)."""
    return {"func": f"asymap::fork2<{btype}, {beats}>", "args": [src, a, b], "comment": comment,
            "reads": [src], "writes": [a, b]}


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
    wpre: bytes | None = None  # start-up image of the URAM weights (64-bit little-endian words)
    wpre_words: int = 0
    fifo_depths: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # Several SLRs (codegen.segment_slr): one function per SLR part instead of ``fn``, and the
    # streams between parts (name, type, depth, src/dst SLR); empty for a single-SLR segment.
    parts: list[dict] = field(default_factory=list)
    crossings: list[dict] = field(default_factory=list)


def render_segment(qg: QGraph, first: int, last: int, factors: dict[int, tuple[int, ...]],
                   offchip: set[int], inputs: list[str], outputs: list[str], fn: str,
                   macs: dict[int, str] | None = None, preload: set[int] | None = None,
                   port_lanes: int = DEFAULT_PORT_LANES, slr_of: dict[int, int] | None = None,
                   lanes_split: dict[int, int] | None = None) -> SegmentCode:
    """Generate the DATAFLOW function ``fn`` computing layers ``first..last`` (inclusive).

    ``factors[i] = (pe, simd)`` or ``(pe, simd, kpar)`` from the plan (missing layers get (1, 1); a
    SIMD or KPAR, or a pooling
    PE, that does not divide its channel count falls back to the largest divisor below it, a conv/fc
    PE that does not divide C_out pads the last fold; all recorded in ``notes``); ``offchip`` holds
    the layer indices whose weights stream from ``wmem``; ``inputs``/``outputs`` are the tensor
    names crossing the segment's boundaries (``graph.live_across(first - 1)`` / ``(last)``);
    ``macs[i]`` is layer i's MAC kind (plan.json "mac"; absent: "dsp"); ``preload`` holds the
    layers whose weights live in URAM and are loaded at start-up from the ``wpre`` argument by the
    segment's loader (``<fn>_preload`` in weights.h), which runs before the engines.
    ``port_lanes``: the board's port width (plan.json ``boards[].port_lanes``): every tensor
    port, FIFO and engine of the segment carries up to that many channels per beat.
    ``slr_of``: layer index -> SLR (plan.json layers[].slr); when the layers span several SLRs the
    source holds one function ``<fn>_slr<n>`` per SLR part instead of ``fn``
    (:mod:`asymap.codegen.segment_slr`), described by ``parts`` and ``crossings``.
    ``lanes_split``: layer index -> k for a conv/fc whose PE lanes are split over SLRs ``slr_of[i]``
    and ``slr_of[i] + 1`` (plan.json ``slr_lanes``): two processes (hls/include/asymap/lanesplit.h),
    half A in the layer's SLR, half B in the next, joined by two streams (``x_<layer>``: the
    duplicated window/input words, ``r_<layer>``: half A's lanes).
    """
    lanes_split = dict(lanes_split or {})
    macs = dict(macs or {})
    preload = set(preload or ())
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
        return {"tensor": t, "ident": ident, "shape": (c, h, w), "lanes": port_bytes(qt.shape, port_lanes),
                "signed": bool(qt.signed), "beats": tensor_beats(qt.shape, port_lanes)}

    in_ports = [port(t, in_id[t]) for t in inputs]
    out_ports = [port(t, out_id[t]) for t in outputs]

    ctx = BlockCtx(ns=ns, lanes=port_lanes)
    extra = fifo_depths(layers, list(inputs), shapes,
                        frozenset(l.index for l in layers if l.index in offchip and l.op in (ir.CONV, ir.FC)),
                        port_lanes)

    # consumer edges of every tensor: (layer index, operand) in order, then the output port
    edges: dict[str, list] = {t: [] for t in shapes}
    for l in layers:
        for j, t in enumerate(l.inputs):
            edges[t].append((l.index, j))
    for t in outputs:
        edges[t].append(("out", t))

    streams: list[dict] = []
    calls: list[dict] = []
    loads: list[dict] = []  # preloaded layers: their weight stream and share of the start-up image
    regions: list[dict] = []  # off-chip weight regions, in layer order (the streamer's order)
    operand_stream: dict[tuple[int, int], str] = {}

    def pixel_beats(t: str) -> int:
        return _pixel_beats(shapes[t], port_lanes)

    def new_stream(name: str, t: str, depth: int) -> str:
        streams.append({"name": name, "type": stream_type(port_bytes(shapes[t], port_lanes)), "depth": depth,
                        "beat": beat_type(port_bytes(shapes[t], port_lanes)), "beats": tensor_beats(shapes[t], port_lanes)})
        return name

    # Stream names: s_<tensor> (a block's output), e<n>_<tensor> (fork edge n), f<n>_<tensor>
    # (fork chain), w_<layer> (weight rows). The prefixes differ and the idents are unique, so no
    # two names collide, whatever the model calls its tensors.
    def edge_target(t: str, base: str, e, n: int) -> str:
        """Stream that carries tensor t along edge e (created on demand)."""
        if e[0] == "out":
            return out_id[t]
        depth = max(2, pixel_beats(t), extra.get((t, e[0], e[1]), 0))
        name = new_stream(f"e{n}_{base}", t, depth)
        operand_stream[(e[0], e[1])] = name
        return name

    def distribute(t: str, src: str, base: str) -> None:
        """Route tensor t from stream src to all its consumer edges (copy / direct / fork chain)."""
        es = edges[t]
        beats = tensor_beats(shapes[t], port_lanes)
        btype = beat_type(port_bytes(shapes[t], port_lanes))
        if not es:
            raise ValueError(f"segment {fn}: tensor {t!r} is produced but never used")
        if len(es) == 1:
            e = es[0]
            if e[0] == "out":
                calls.append({"func": f"asymap::copy_stream<{btype}, {beats}>", "args": [src, out_id[t]],
                              "comment": f"pass-through of {t_ident(t)}", "reads": [src], "writes": [out_id[t]]})
            else:
                operand_stream[(e[0], e[1])] = src
            return
        cur = src
        for n, e in enumerate(es[:-1]):
            a = edge_target(t, base, e, n)
            if n == len(es) - 2:
                b = edge_target(t, base, es[-1], n + 1)
            else:
                b = new_stream(f"f{n}_{base}", t, 2)
            calls.append(fork_call(btype, beats, cur, a, b, f"fork {t_ident(t)} ({len(es)} consumers)"))
            cur = b

    def t_ident(t: str) -> str:
        return in_id.get(t) or t_id.get(t) or out_id[t]

    for t in inputs:
        distribute(t, in_id[t], in_id[t])

    for ql, layer in zip(layers_q, layers):
        ident = l_id[layer.index]
        op = layer.op
        n0 = len(calls)  # this layer's own processes (engine, adapters, weight unpacker): its SLR part
        if op in (ir.CONV, ir.FC):
            code = mac_block(qg, ql, ident, factors, layer.index in offchip, ctx, macs.get(layer.index, ""),
                             layer.index in preload, lanes_split.get(layer.index, 0))
        elif op in (ir.MAXPOOL, ir.AVGPOOL, ir.GAP):
            code = pool_block(qg, ql, ident, factors, ctx)
        elif op == ir.ADD:
            code = add_block(qg, ql, ident, ctx)
        elif op == ir.CONCAT:
            code = concat_block(qg, ql, ident, ctx)
        elif op == ir.LUT:
            code = lut_block(qg, ql, ident, ctx)
        elif op == ir.CHMUL:
            code = chmul_block(qg, ql, ident, ctx)
        elif op == ir.AFFINE:
            code = affine_block(qg, ql, ident, ctx)
        elif op == ir.CHANNELS:
            code = channels_block(qg, ql, ident, ctx)
        else:
            raise ValueError(f"segment {fn}: op {op!r} of layer {layer.name!r} has no HLS block")
        t = layer.output
        es = edges[t]
        if len(es) == 1 and es[0][0] == "out":
            dst = out_id[t]
        else:
            dst = new_stream(f"s_{t_id[t]}", t, max(2, pixel_beats(t)))
        reads = [operand_stream[(layer.index, j)] for j in range(len(layer.inputs))]
        edst = dst
        if "in" in code.adapt:  # a wide port into an engine that takes one pixel per beat at most
            c, wl, nl, pix = code.adapt["in"]
            aname = f"a_{ident}"
            streams.append({"name": aname, "type": stream_type(nl), "depth": 2})
            calls.append({"func": f"asymap::width_convert<{c}, {wl}, {nl}, {pix}>", "args": [reads[0], aname],
                          "comment": f"wide port -> {nl} channels per beat for {ident}", "reads": [reads[0]],
                          "writes": [aname]})
            reads = [aname] + reads[1:]
        if "out" in code.adapt:
            c, wl, nl, pix = code.adapt["out"]
            edst = f"b_{ident}"
            streams.append({"name": edst, "type": stream_type(nl), "depth": 2})
        args = reads + [edst]
        if code.reader is not None:
            # the streamer bursts this layer's region into q_<layer>; weights_unpack makes rows
            qname, wname = f"q_{ident}", f"w_{ident}"
            streams.append({"name": qname, "type": "hls::stream<asymap::wmem_word_t>", "depth": WORD_FIFO_DEPTH})
            streams.append({"name": wname, "type": f"hls::stream<asymap::wrow<{code.reader['row_bytes']}> >",
                            "depth": code.reader["depth"]})
            calls.append({"func": f"asymap::weights_unpack<{code.reader['cfg']}>", "args": [qname, wname],
                          "comment": f"off-chip weight rows of {ident}", "reads": [qname], "writes": [wname]})
            regions.append({"cfg": code.reader["cfg"], "queue": qname, "layer": ident})
            args.append(wname)
            reads = reads + [wname]
        if code.preload is not None:
            pname = f"p_{ident}"
            streams.append({"name": pname, "type": "hls::stream<ap_uint<64> >", "depth": 2})
            loads.append({"stream": pname, **code.preload})
            args.append(pname)
            reads = reads + [pname]
        if code.lanes is not None:  # lane split: half A writes the two streams half B reads
            x, r = f"x_{ident}", f"r_{ident}"
            streams.append({"name": x, "type": f"hls::stream<asymap::bytes<{code.lanes['x_bytes']}> >",
                            "depth": LANES_FIFO_DEPTH})
            streams.append({"name": r, "type": f"hls::stream<asymap::bytes<{code.lanes['a_bytes']}> >",
                            "depth": LANES_FIFO_DEPTH})
            s0 = (slr_of or {}).get(layer.index, 0)
            pre = []  # URAM weights: one start-up stream per half
            for half, ld in zip("ab", code.lanes["preload"]):
                pre.append(f"p_{ident}_{half}")
                streams.append({"name": pre[-1], "type": "hls::stream<ap_uint<64> >", "depth": 2})
                loads.append({"stream": pre[-1], **ld})
            pa, pb = (pre[:1], pre[1:]) if pre else ([], [])
            if code.reader is not None:  # off-chip: the layer's whole rows, dealt to the halves by lanes
                ra_b, rb_b, nrows = code.lanes["rows"]
                pa, pb = [f"wa_{ident}"], [f"wb_{ident}"]
                for nm, nb in ((pa[0], ra_b), (pb[0], rb_b)):
                    streams.append({"name": nm, "type": f"hls::stream<asymap::wrow<{nb}> >", "depth": LANES_FIFO_DEPTH})
                calls.append({"func": f"asymap::split_rows<{ra_b}, {rb_b}, {nrows}>", "args": [wname, pa[0], pb[0]],
                              "reads": [wname], "writes": [pa[0], pb[0]], "slr": s0,
                              "comment": f"off-chip weight rows of {ident}, dealt to the two halves by lanes"})
            calls.append({"func": code.func, "args": [reads[0], x, r] + pa + code.consts, "reads": [reads[0]] + pa,
                          "writes": [x, r], "slr": s0,
                          "comment": f"layer {layer.index}: {layer.op} ({ident}), lanes 0..{code.lanes['a_bytes'] - 1}"
                                     " of every fold (lane split, half A)"})
            calls.append({"func": code.lanes["func"], "args": [x, r, edst] + pb + code.lanes["consts"],
                          "reads": [x, r] + pb, "writes": [edst], "slr": s0 + 1,
                          "comment": f"layer {layer.index}: {layer.op} ({ident}), the other lanes and the zip "
                                     "(lane split, half B)"})
        else:
            args += code.consts
            calls.append({"func": code.func, "args": args, "comment": f"layer {layer.index}: {layer.op} ({ident})",
                          "reads": reads, "writes": [edst]})
        if edst != dst:
            calls.append({"func": f"asymap::width_convert<{c}, {nl}, {wl}, {pix}>", "args": [edst, dst],
                          "comment": f"{ident}: {nl} channels per beat -> wide port", "reads": [edst],
                          "writes": [dst]})
        for c in calls[n0:]:
            c["layer"] = layer.index
            if code.lanes is not None and "slr" not in c:  # adapters, unpacker: beside the half they serve
                c["slr"] = (slr_of or {}).get(layer.index, 0) + (1 if edst in c["reads"] else 0)
        if dst != out_id.get(t):
            distribute(t, dst, t_id[t])

    wmem = bytes(ctx.wmem) if ctx.wmem else None
    wpre = bytes(ctx.wpre) if loads else None
    if loads:  # the loader runs first: in sequential C-sim its streams are full before any engine reads
        lstreams = [ld["stream"] for ld in loads]
        calls.insert(0, {"func": f"{ns}::{fn}_preload", "args": ["wpre", *lstreams], "reads": [],
                         "writes": lstreams, "maxi": ["wpre"],
                         "comment": f"start-up load of the URAM weights of {len(loads)} layer(s)"})
    streamer = None
    if regions:
        streamer = {"name": f"{ns}::weights_streamer", "regions": regions}
        queues = [r["queue"] for r in regions]
        calls.insert(0, {"func": streamer["name"], "args": ["wmem", *queues], "reads": [], "writes": queues,
                         "maxi": ["wmem"], "comment": "off-chip weights: the only reader of wmem, layer by layer"})
    check_dataflow(DataflowGraph(
        where=f"segment {fn}", streams=[st["name"] for st in streams], inputs=[p["ident"] for p in in_ports],
        outputs=[p["ident"] for p in out_ports],
        maxi=(["wmem"] if wmem is not None else []) + (["wpre"] if wpre is not None else []),
        processes=[Process(c["comment"], tuple(c["reads"]), tuple(c["writes"]), tuple(c.get("maxi", ())),
                           tuple(c["args"])) for c in calls]))
    params = [f"{stream_type(p['lanes'])}& {p['ident']}" for p in in_ports + out_ports]
    if wmem is not None:
        params.append("const ap_uint<512>* wmem")
    if wpre is not None:
        params.append("const ap_uint<64>* wpre")
    env = make_env()
    guard = f"ASYMAP_{fn.upper()}_"
    header = env.get_template("segment_params.h.j2").render(
        fn=fn, ns=ns, guard=guard + "PARAMS_H", cfgs=ctx.cfgs)
    weights = env.get_template("segment_weights.h.j2").render(
        fn=fn, ns=ns, guard=guard + "WEIGHTS_H", arrays=ctx.arrays, loads=loads)
    parts, crossings = [], []
    if slr_of and len({slr_of[l.index] for l in layers} | {slr_of[i] + 1 for i in lanes_split}) > 1:
        from asymap.codegen.segment_slr import split_processes

        parts, crossings = split_processes(fn, calls, streams, in_ports, out_ports, slr_of,
                                           lambda p: stream_type(p["lanes"]))
        # the same template, once per part; the shared helpers (concat wrappers, weight streamer) once
        source = "\n".join(env.get_template("segment_top.cpp.j2").render(
            fn=p["fn"], ns=ns, params=p["params"], in_ports=in_ports, out_ports=out_ports, streams=p["streams"],
            calls=p["calls"], wrappers=ctx.wrappers if k == 0 else [], notes=ctx.notes if k == 0 else [],
            first=p["first"], last=p["last"], streamer=streamer if k == 0 else None) for k, p in enumerate(parts))
    else:
        source = env.get_template("segment_top.cpp.j2").render(
            fn=fn, ns=ns, params=params, in_ports=in_ports, out_ports=out_ports, streams=streams,
            calls=calls, wrappers=ctx.wrappers, notes=ctx.notes, first=first, last=last, streamer=streamer)
    return SegmentCode(
        fn=fn, header=header, weights={"weights.h": weights}, source=source, in_ports=in_ports,
        out_ports=out_ports, wmem=wmem, wmem_words=len(wmem) // WMEM_WORD_BYTES if wmem else 0,
        wpre=wpre, wpre_words=len(wpre) // 8 if wpre else 0,
        fifo_depths={s["name"]: s["depth"] for s in streams}, notes=list(ctx.notes), parts=parts, crossings=crossings)
