"""The board chain as code generation sees it: boards, links and the tensors crossing each cut.

Computed once from the graph and the plan (already validated by :mod:`asymap.codegen.planio`), then
used by every template and written to ``OUT/chain.json``. Board ``i`` receives link ``i`` and sends
link ``i + 1``; link 0 comes from the host and the last link goes back to it. A link carries, in a
fixed order (the order of ``Graph.live_across``), every tensor alive across its cut, so the
producer and consumer side agree on tensor ids without talking to each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from asymap import linkproto
from asymap.codegen.ports import port_lanes
from asymap.frontend.ir import Graph
from asymap.util.names import unique_idents

DEFAULT_WIDTH_BITS = 64
DEFAULT_MAX_PAYLOAD_BEATS = 256


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
        return port_lanes(self.shape[0])

    @property
    def words(self) -> int:
        return self.bytes // self.lanes


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

    def frames_of(self, t: CutTensor) -> int:
        beats = -(-t.bytes // (self.width_bits // 8))
        return -(-beats // self.max_payload_beats)

    @property
    def frames(self) -> int:
        return sum(self.frames_of(t) for t in self.tensors)

    @property
    def beats(self) -> int:
        B = self.width_bits // 8
        return sum(-(-t.bytes // B) for t in self.tensors) + 2 * self.frames

    @property
    def bytes(self) -> int:
        return sum(t.bytes for t in self.tensors)


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


def tensor_idents(graph: Graph) -> dict[str, str]:
    """Every activation tensor name -> a unique C identifier (deterministic: graph order)."""
    names = [graph.input] + [ly.output for ly in graph.layers]
    return dict(zip(names, unique_idents(names, prefix="t")))


def layer_idents(graph: Graph) -> list[str]:
    return unique_idents([ly.name for ly in graph.layers], prefix="layer")


def build_chain(graph: Graph, signed: dict[str, bool], plan: dict, parts: dict[str, str],
                max_payload_beats: int = DEFAULT_MAX_PAYLOAD_BEATS) -> list[BoardSpec]:
    """BoardSpecs in pipeline order from a validated plan dict (see planio.normalize_plan)."""
    tid = tensor_idents(graph)
    lid = layer_idents(graph)
    boards = plan["boards"]
    # Board directories sit beside OUT/links/ (the RTL glue): reserve that name.
    idents = unique_idents(["links"] + [b["name"] for b in boards], prefix="board")[1:]
    widths = {(ln.get("from"), ln.get("to")): int(ln.get("width_bits") or DEFAULT_WIDTH_BITS)
              for ln in plan.get("links", []) or []}
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
                                    str(pl.get("mac", "") or ""), pl.get("weights", "onchip") == "preload"))
        lin, lout = links[i], links[i + 1]
        out_names = {t.name for t in lout.tensors}
        spec = BoardSpec(
            index=i, name=b["name"], ident=idents[i], type=str(b.get("type", "")),
            part=parts.get(b["name"], ""), clock_mhz=float(b.get("clock_mhz", 300)), first=first, last=last,
            layers=layers, link_in=lin, link_out=lout,
            passthrough=[t for t in lin.tensors if t.name in out_names and t.name not in consumed],
        )
        specs.append(spec)
    return specs
