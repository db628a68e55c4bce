"""The board chain as code generation sees it: boards, links and the tensors crossing each cut.

Computed once from the graph and the plan (already validated by :mod:`asymap.codegen.planio`), then
used by every template and written to ``OUT/chain.json``. Board ``i`` receives link ``i`` and sends
link ``i + 1``; link 0 comes from the host and the last link goes back to it. A link carries, in a
fixed order (the order of ``Graph.live_across``), every tensor alive across its cut, so the
producer and consumer side agree on tensor ids without talking to each other.

When the plan has a ``host_path`` (the cluster's host attaches to a board that is not the first
stage, docs/cost-model.md "Host path"), the chain also holds the *forwarding* stations of that path:
the boards between the host and the first stage (``forward == "in"``) and between the last stage
and the host (``forward == "out"``), each a board of its own in the chain (no layers, link rx ->
link tx), so board ``i`` still receives link ``i`` and sends link ``i + 1``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from asymap import linkproto
from asymap.codegen.fifodepth import _row_map
from asymap.errors import UserError
from asymap.lanes import DEFAULT_PORT_LANES, port_bytes
from asymap.frontend import ir
from asymap.frontend.ir import Graph
from asymap.util.names import unique_idents

DEFAULT_WIDTH_BITS = 64
DEFAULT_PART = "xcu250-figd2104-2L-e"  # for custom boards without a part number
DEFAULT_MAX_PAYLOAD_BEATS = linkproto.DEFAULT_MAX_PAYLOAD_BEATS


@dataclass(frozen=True)
class CutTensor:
    id: int  # position on its link
    name: str  # raw model name: chain.json only
    ident: str  # C identifier, unique in the project
    shape: tuple[int, int, int]
    signed: bool
    producer: int  # layer index, -1 for the graph input

    @property
    def bytes(self) -> int:
        c, h, w = self.shape
        return c * h * w

    @property
    def lanes(self) -> int:
        """Bytes per beat of its port on a board of 8-channel ports (``lanes_at`` for others)."""
        return port_bytes(self.shape)

    @property
    def words(self) -> int:
        return self.bytes // self.lanes

    def lanes_at(self, port_lanes: int) -> int:
        """Bytes per beat of its port on a board whose ports carry up to ``port_lanes`` channels
        (plan.json ``boards[].port_lanes``). The link carries the same bytes in the same order
        whatever either end's width: each end's link (un)packer repacks between its port beats
        and the link beats (link.h ``link_pack``/``link_unpack``)."""
        return port_bytes(self.shape, port_lanes)

    def words_at(self, port_lanes: int) -> int:
        return self.bytes // self.lanes_at(port_lanes)


@dataclass
class LinkSpec:
    index: int
    src: int  # board index or linkproto.HOST
    dst: int
    src_name: str
    dst_name: str
    width_bits: int
    max_payload_beats: int
    tensors: list[CutTensor]

    @cached_property
    def schedule(self) -> list[tuple[int, int]]:
        """Frame slots of one image (tensor id, payload beats): linkproto.link_schedule."""
        return linkproto.link_schedule([t.shape for t in self.tensors], self.width_bits, self.max_payload_beats)

    def frames_of(self, t: CutTensor) -> int:
        return sum(1 for k, _ in self.schedule if k == t.id)

    @property
    def frames(self) -> int:
        return len(self.schedule)

    @property
    def beats(self) -> int:
        return linkproto.schedule_beats(self.schedule)

    @property
    def max_chunk(self) -> int:
        """Longest frame payload (beats): what one tensor's beat FIFO holds so the framer never waits."""
        return max(n for _, n in self.schedule)

    @property
    def rom(self) -> list[int]:
        """The schedule as the link kernels' ROM words: tensor id << 16 | payload beats."""
        return [k << 16 | n for k, n in self.schedule]

    @property
    def bytes(self) -> int:
        return sum(t.bytes for t in self.tensors)


def _source_rows(layers: list[ir.Layer], sources: list[str], shapes: dict, whole: frozenset,
                 least: bool = False) -> dict:
    """need[t][s][r]: rows of source tensor ``s`` that row ``r`` of tensor ``t`` depends on (the row
    maps of fifodepth, composed along every path; sources map to themselves). ``least``: the rows
    surely read (1x1 engines credited no read-ahead, fifodepth._row_map)."""
    need = {s: {s: np.arange(1, shapes[s][1] + 1)} for s in sources}
    for layer in layers:
        acc: dict[str, np.ndarray] = {}
        for j, t in enumerate(layer.inputs):
            if t not in need:
                continue
            m = np.array([_row_map(layer, j, r, whole, least) for r in range(layer.out_shape[1])])
            for s, arr in need[t].items():
                d = np.where(m > 0, arr[np.maximum(m - 1, 0)], 0)
                acc[s] = np.maximum(acc[s], d) if s in acc else d
        need[layer.output] = acc
    return need


def link_buffer_rows(layers: list[ir.Layer], ins: list[str], outs: list[str], shapes: dict,
                     whole: frozenset = frozenset()) -> tuple[dict[str, int], dict[str, int]]:
    """Rows each link tensor's port FIFO must hold on this board, (receive side, send side).

    The link interleaves a cut's tensors in proportion to their progress (linkproto.link_schedule).
    Receive side: when a join needs row r, its sources must have arrived up to the most demanding
    one's share of the image; the others' rows beyond their own need wait in their FIFOs.
    Send side: the transmitter takes the outputs in proportion too, so an output produced ahead
    of the slowest one waits in its FIFO. Both are computed from the row maps of the segment.
    """
    need = _source_rows(layers, ins, shapes, whole)
    surely = _source_rows(layers, ins, shapes, whole, least=True)  # what a waiting tensor is credited
    h = {t: shapes[t][1] for t in set(ins) | set(outs)}
    rx = {s: 0 for s in ins}
    if len(ins) > 1:
        for t, dd in need.items():
            if len(dd) < 2:
                continue
            frac = np.max([dd[s] / h[s] for s in dd], axis=0)
            for s in dd:
                rx[s] = max(rx[s], int(np.max(np.ceil(frac * h[s] - 1e-9) - surely[t][s])))
    tx = {t: 0 for t in outs}
    if len(outs) > 1:
        # Input share at which each output row exists.
        ready = {t: np.max([need[t][s] / h[s] for s in need[t]], axis=0) if need.get(t) else np.zeros(h[t])
                 for t in outs}
        for f in sorted({float(v) for arr in ready.values() for v in arr}):
            avail = {t: int(np.sum(ready[t] <= f + 1e-12)) for t in outs}
            g = min(avail[t] / h[t] for t in outs)
            for t in outs:
                tx[t] = max(tx[t], avail[t] - int(np.floor(g * h[t] + 1e-9)))
    return rx, tx

@dataclass
class LayerSpec:
    index: int
    name: str
    ident: str
    op: str
    pe: int
    simd: int
    offchip: bool
    kpar: int = 1  # kernel-window positions per cycle (plan.json factors.kpar, absent = 1)
    mac: str = ""  # plan.json "mac": packed | dsp | lut ("" = dsp)
    preload: bool = False  # plan.json "weights": "preload" (URAM, loaded at start-up)
    slr: int = 0  # plan.json "slr": the super logic region its engine is placed in
    lanes_a: int = 0  # plan.json "slr_lanes" [[slr, k], [slr+1, pe-k]]: k lanes in slr, the rest in slr+1; 0 = not split


@dataclass
class BoardSpec:
    index: int
    name: str  # raw cluster name: chain.json only
    ident: str  # directory name and C identifier
    type: str
    part: str
    clock_mhz: float
    first: int
    last: int
    layers: list[LayerSpec]
    link_in: LinkSpec
    link_out: LinkSpec
    passthrough: list[CutTensor] = field(default_factory=list)  # link-in tensors no layer here reads
    rx_rows: dict[str, int] = field(default_factory=dict)  # link-in tensor -> rows its port FIFO holds
    tx_rows: dict[str, int] = field(default_factory=dict)  # link-out tensor -> rows its port FIFO holds
    forward: str = ""  # "in" / "out": a forwarding station of the host path (no layers), "" for a stage
    port_lanes: int = DEFAULT_PORT_LANES  # channels per beat of its tensor ports at most (plan.json)

    @property
    def top(self) -> str:
        return f"top_{self.ident}"

    @property
    def factors(self) -> dict[int, tuple[int, int]]:
        return {ly.index: (ly.pe, ly.simd, ly.kpar) for ly in self.layers}

    @property
    def offchip(self) -> set[int]:
        return {ly.index for ly in self.layers if ly.offchip}

    @property
    def macs_kinds(self) -> dict[int, str]:
        return {ly.index: ly.mac for ly in self.layers if ly.mac}

    @property
    def preload(self) -> set[int]:
        return {ly.index for ly in self.layers if ly.preload}

    @property
    def slr_of(self) -> dict[int, int]:
        """Layer index -> its SLR (plan.json layers[].slr)."""
        return {ly.index: ly.slr for ly in self.layers}

    @property
    def slrs_used(self) -> list[int]:
        """The SLRs the board's layers occupy, in chain order; more than one means one compute
        unit per SLR (codegen.segment_slr)."""
        return sorted({ly.slr for ly in self.layers} | {ly.slr + 1 for ly in self.layers if ly.lanes_a})

    @property
    def lanes_split(self) -> dict[int, int]:
        """Layer index -> lanes in its own SLR, for the layers whose PE lanes are split over two SLRs."""
        return {ly.index: ly.lanes_a for ly in self.layers if ly.lanes_a}


def tensor_idents(graph: Graph) -> dict[str, str]:
    """Every activation tensor name -> a unique C identifier (deterministic: graph order)."""
    names = [graph.input] + [ly.output for ly in graph.layers]
    return dict(zip(names, unique_idents(names, prefix="t")))


def layer_idents(graph: Graph) -> list[str]:
    return unique_idents([ly.name for ly in graph.layers], prefix="layer")


def forwarding_stations(plan: dict, where: str = "plan") -> tuple[list[str], list[str]]:
    """Boards the image passes through before the first stage, and the result after the last
    (plan.json ``host_path``: ``in`` hops host -> ... -> first stage, ``out`` hops last stage -> ...
    -> host); both empty without a host path or when the host attaches to the stage itself."""
    hp = plan.get("host_path")
    if not hp:
        return [], []
    boards = plan["boards"]
    hops_in, hops_out = hp.get("in") or [], hp.get("out") or []
    if not isinstance(hops_in, list) or not isinstance(hops_out, list) or not hops_in or not hops_out or \
            not all(isinstance(h, dict) and isinstance(h.get("from"), str) and isinstance(h.get("to"), str)
                    for h in hops_in + hops_out):
        raise UserError(f"{where}: host_path needs 'in' and 'out' lists of hops {{from, to}}; re-run 'asymap plan'")
    chained = all(a["to"] == b["from"] for a, b in zip(hops_in, hops_in[1:])) and \
        all(a["to"] == b["from"] for a, b in zip(hops_out, hops_out[1:]))
    if not chained or hops_in[-1]["to"] != boards[0]["name"] or hops_out[0]["from"] != boards[-1]["name"]:
        raise UserError(f"{where}: host_path does not lead from the host to the first board {boards[0]['name']!r} "
                        f"and from the last board {boards[-1]['name']!r} back; re-run 'asymap plan'")
    return [h["to"] for h in hops_in[:-1]], [h["to"] for h in hops_out[:-1]]


def plan_parts(plan: dict, cluster, where: str) -> dict[str, str]:
    """Board name -> FPGA part, from the cluster (the board library), else the plan, else a default."""
    by_name = {b.name: b for b in cluster.boards} if cluster is not None else {}
    parts = {}
    for b in plan["boards"]:
        if cluster is not None and b["name"] not in by_name:
            raise UserError(f"{where}: board {b['name']!r} is not in the cluster ({', '.join(sorted(by_name))}); "
                            "the plan was made for another cluster, re-run 'asymap plan'")
        spec = by_name[b["name"]].spec if b["name"] in by_name else None
        parts[b["name"]] = (spec.part if spec is not None and spec.part else b.get("part")) or DEFAULT_PART
        if spec is not None:
            b.setdefault("type", spec.type)
            b.setdefault("clock_mhz", spec.clock_mhz)
    return parts


def plan_stations(plan: dict, cluster, where: str) -> dict[str, dict]:
    """Type, clock and part of every forwarding station of the plan's host path, from the cluster
    (the board library); each hop between two boards must be a link of the cluster."""
    fwd_in, fwd_out = forwarding_stations(plan, where)
    if not fwd_in and not fwd_out:
        return {}
    by_name = {b.name: b for b in cluster.boards} if cluster is not None else {}
    out = {}
    for name in fwd_in + fwd_out:
        if cluster is not None and name not in by_name:
            raise UserError(f"{where}: host_path passes board {name!r}, which is not in the cluster; "
                            "re-run 'asymap plan'")
        spec = by_name[name].spec if name in by_name else None
        out[name] = {"type": spec.type if spec is not None else "",
                     "clock_mhz": spec.clock_mhz if spec is not None else 300,
                     "part": (spec.part if spec is not None and spec.part else "") or DEFAULT_PART}
    if cluster is not None:
        names = set(by_name)
        for h in plan["host_path"]["in"] + plan["host_path"]["out"]:
            if h["from"] in names and h["to"] in names and cluster.link(h["from"], h["to"]) is None:
                raise UserError(f"{where}: host_path hop {h['from']} -> {h['to']} is not a link of the cluster; "
                                "re-run 'asymap plan'")
    return out


def _slr(layer: dict, board: str, index: int) -> int:
    v = layer.get("slr", 0)
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise UserError(f"plan: board {board!r} layer {index}: slr must be an integer >= 0, got {v!r}; "
                        "re-run 'asymap plan'")
    return v


def _slr_lanes(layer: dict, gl, board: str, slr: int) -> int:
    """k of a layer whose PE lanes are split over SLRs slr and slr+1 (plan.json ``slr_lanes`` =
    [[slr, k], [slr+1, pe-k]], docs/plan-format.md); 0 when the layer has no ``slr_lanes``."""
    v = layer.get("slr_lanes")
    if v is None:
        return 0
    pe = (layer.get("factors") or {}).get("pe", 1)
    where = f"plan: board {board!r} layer {layer.get('index')}"
    ok = (isinstance(v, list) and len(v) == 2 and all(isinstance(h, list) and len(h) == 2 for h in v)
          and all(isinstance(x, int) and not isinstance(x, bool) for h in v for x in h))
    if not ok or v[0][0] != slr or v[1][0] != slr + 1 or not 1 <= v[0][1] < pe or v[0][1] + v[1][1] != pe:
        raise UserError(f"{where}: slr_lanes must be [[{slr}, k], [{slr + 1}, {pe} - k]] with 1 <= k < pe={pe} "
                        f"(its slr is {slr}), got {v!r}; re-run 'asymap plan'")
    if gl.op not in (ir.CONV, ir.FC) or (gl.op == ir.CONV and gl.groups != 1):
        raise UserError(f"{where}: slr_lanes splits the PE lanes of a conv (groups 1) or fc engine; "
                        f"{gl.name!r} is a {gl.op}{' with groups' if gl.op == ir.CONV else ''}; re-run 'asymap plan'")
    return v[0][1]


def build_chain(graph: Graph, signed: dict[str, bool], plan: dict, parts: dict[str, str],
                max_payload_beats: int = DEFAULT_MAX_PAYLOAD_BEATS,
                stations: dict[str, dict] | None = None) -> list[BoardSpec]:
    """BoardSpecs in chain order from a validated plan dict (see planio.normalize_plan): the
    forwarding stations of the plan's host path (:func:`forwarding_stations`), the stages, the
    forwarding stations back. ``stations``: board name -> {"type", "clock_mhz", "part"} of
    boards that are not stages (from the cluster)."""
    tid = tensor_idents(graph)
    lid = layer_idents(graph)
    L = len(graph)
    fwd_in, fwd_out = forwarding_stations(plan)
    info = stations or {}

    def station(name: str, side: str) -> dict:
        d = info.get(name, {})
        return {"name": name, "type": d.get("type", ""), "clock_mhz": float(d.get("clock_mhz", 300)),
                "part": d.get("part", ""), "forward": side, "layers": [],
                "first_layer": 0 if side == "in" else L, "last_layer": -1 if side == "in" else L - 1}

    boards = [station(nm, "in") for nm in fwd_in] + list(plan["boards"]) + [station(nm, "out") for nm in fwd_out]
    # Board directories sit beside OUT/links/ (the RTL glue): reserve that name.
    idents = unique_idents(["links"] + [f"{b['name']}_fwd_{b['forward']}" if b.get("forward") else b["name"]
                                        for b in boards], prefix="board")[1:]
    clock = {b["name"]: float(b.get("clock_mhz", 300)) for b in boards}
    widths = {(ln.get("from"), ln.get("to")): int(ln.get("width_bits") or linkproto.link_width_bits(
                  float(ln.get("gbps") or 10.0), min(clock.get(ln.get("from"), 300.0), clock.get(ln.get("to"), 300.0))))
              for ln in plan.get("links", []) or []}
    for h in (plan.get("host_path") or {}).get("in", []) + (plan.get("host_path") or {}).get("out", []):
        if h["from"] in clock and h["to"] in clock:  # a board-to-board hop of the host path
            widths.setdefault((h["from"], h["to"]), linkproto.link_width_bits(
                float(h.get("gbps") or 10.0), min(clock[h["from"]], clock[h["to"]])))
    n = len(boards)

    def cut(after: int) -> list[CutTensor]:
        names = graph.live_across(after) if after < len(graph) - 1 else [graph.output]
        return [CutTensor(k, t, tid[t], tuple(graph.tensor_shapes[t]), bool(signed[t]), graph.producer[t])
                for k, t in enumerate(names)]

    links: list[LinkSpec] = []
    for i in range(n + 1):
        src = linkproto.HOST if i == 0 else i - 1
        dst = linkproto.HOST if i == n else i
        width = widths.get((boards[i - 1]["name"], boards[i]["name"]), DEFAULT_WIDTH_BITS) if 0 < i < n \
            else DEFAULT_WIDTH_BITS
        after = -1 if i == 0 else boards[i - 1]["last_layer"]
        links.append(LinkSpec(
            index=i, src=src, dst=dst,
            src_name="host" if i == 0 else boards[i - 1]["name"],
            dst_name="host" if i == n else boards[i]["name"],
            width_bits=width, max_payload_beats=max_payload_beats, tensors=cut(after)))

    specs = []
    for i, b in enumerate(boards):
        first, last = b["first_layer"], b["last_layer"]
        layers = []
        by_index = {int(ly["index"]): ly for ly in b.get("layers", [])}
        consumed: set[str] = set()
        for k in range(first, last + 1):
            gl = graph.layers[k]
            consumed.update(gl.inputs)
            pl = by_index.get(k, {})
            f = pl.get("factors", {})
            layers.append(LayerSpec(k, gl.name, lid[k], gl.op, int(f.get("pe", 1)), int(f.get("simd", 1)),
                                    pl.get("weights", "onchip") == "offchip", int(f.get("kpar", 1)),
                                    str(pl.get("mac", "") or ""), pl.get("weights", "onchip") == "preload",
                                    _slr(pl, b["name"], k)))
            layers[-1].lanes_a = _slr_lanes(pl, gl, b["name"], layers[-1].slr)
        slrs = [ly.slr for ly in layers]
        if slrs != sorted(slrs):
            raise UserError(f"plan: board {b['name']!r}: layers[].slr goes back ({slrs}); the planner fills SLRs in "
                            "chain order, re-run 'asymap plan'")
        for ly in layers:  # a split layer's half B and every later layer are in the next SLR
            if ly.lanes_a and any(o.slr <= ly.slr for o in layers if o.index > ly.index):
                raise UserError(f"plan: board {b['name']!r} layer {ly.index}: its PE lanes are split over SLR{ly.slr} "
                                f"and SLR{ly.slr + 1} (slr_lanes), so the layers after it must be in SLR{ly.slr + 1} "
                                f"or later, got {slrs}; re-run 'asymap plan'")
        lin, lout = links[i], links[i + 1]
        out_names = {t.name for t in lout.tensors}
        whole = frozenset(ly.index for ly in layers if ly.offchip and ly.op in (ir.CONV, ir.FC))
        rx_rows, tx_rows = link_buffer_rows(graph.layers[first:last + 1], [t.name for t in lin.tensors],
                                            [t.name for t in lout.tensors],
                                            {t: tuple(v) for t, v in graph.tensor_shapes.items()}, whole)
        spec = BoardSpec(
            index=i, name=b["name"], ident=idents[i], type=str(b.get("type", "")),
            part=parts.get(b["name"], "") or b.get("part", ""), clock_mhz=float(b.get("clock_mhz", 300)), first=first,
            last=last, layers=layers, link_in=lin, link_out=lout,
            passthrough=[t for t in lin.tensors if t.name in out_names and t.name not in consumed],
            rx_rows=rx_rows, tx_rows=tx_rows, forward=str(b.get("forward", "")),
            port_lanes=int(b.get("port_lanes", DEFAULT_PORT_LANES)),
        )
        specs.append(spec)
    return specs
