"""Per-layer view of a plan: factors, cycles, resources, what limits the layer, and its int8 SQNR.

plan.json already holds factors, cycles and resources per layer; this adds two things engineers
decide from: the *limit* (why the layer is not faster) and the quantization error of its output
tensor. The same rows feed ``asymap plan --layers`` (text and JSON) and the HTML report's table.

Limit of a layer (board cycles = its board's interval x clock):
* ``parallelism`` -- the layer runs at the fastest option the cost model offers it;
* ``board: <reason>`` -- the layer is its board's slowest one, so the board's limit (a resource
  budget, memory bandwidth) is what holds it;
* ``slack NN%`` -- the layer finishes in NN% of its board's cycles; it is not the limit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class LayerRow:
    index: int
    name: str
    op: str
    board: str
    pe: int
    simd: int
    kpar: int
    cycles: int
    dsp: int
    bram36: int
    uram: int
    lut: int
    weights: str
    limit: str
    sqnr_db: float | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def layer_sqnr(graph, seed: int = 0, calib=None) -> dict[int, float]:
    """SQNR (dB) of every layer's integer output against the float model, on the seeded test image
    ``asymap generate`` uses (same quantization: same calibration seed)."""
    import numpy as np

    from asymap.quant.quantize import quantize
    from asymap.quant.reference import dequantize, quantize_input, run_float, run_int, sqnr_db

    q = quantize(graph, calib=calib, seed=seed)
    x = np.random.default_rng(seed + 1).standard_normal(tuple(graph.input_shape), dtype=np.float32)
    f = run_float(graph, x, return_all=True)
    i = run_int(q, quantize_input(q, x), return_all=True)
    out = {}
    for layer in graph.layers:
        s = sqnr_db(f[layer.output], dequantize(q, layer.output, i[layer.output]))
        out[layer.index] = float(s) if np.isfinite(s) else None
    return out


def layer_rows(plan: dict, graph=None, sqnr: dict[int, float] | None = None) -> list[LayerRow]:
    """One row per layer of ``plan`` (a plan dict), in layer order. ``graph`` (the model) lets the
    limit say when a layer is at its fastest option; without it that case reads ``board: ...``."""
    fastest = {}
    if graph is not None:
        from asymap.partition.costmodel import layer_infos

        pad = bool((plan.get("options") or {}).get("pad", True))
        for info in layer_infos(graph, pad):
            fastest[info.layer.index] = int(info.options.cycles.min())
    rows = []
    for b in plan["boards"]:
        worst = max((int(ly.get("cycles", 0)) for ly in b.get("layers", [])), default=0)
        for ly in b.get("layers", []):
            f = ly.get("factors", {}) or {}
            cyc = int(ly.get("cycles", 0))
            if ly["index"] in fastest and cyc <= fastest[ly["index"]]:
                limit = "parallelism"
            elif cyc >= worst:
                limit = f"board: {b.get('limit') or 'interval'}"
            else:
                limit = f"slack {100.0 * cyc / worst:.0f}%" if worst else "-"
            rows.append(LayerRow(
                index=int(ly["index"]), name=str(ly.get("name", "")), op=str(ly.get("op", "")), board=b["name"],
                pe=int(f.get("pe", 1)), simd=int(f.get("simd", 1)), kpar=int(f.get("kpar", 1)), cycles=cyc,
                dsp=int(ly.get("dsp", 0)), bram36=int(ly.get("bram36", 0)), uram=int(ly.get("uram", 0)),
                lut=int(ly.get("lut", 0)), weights=str(ly.get("weights", "onchip")), limit=limit,
                sqnr_db=(sqnr or {}).get(int(ly["index"])),
            ))
    return sorted(rows, key=lambda r: r.index)


HEAD = ["#", "layer", "op", "board", "pe", "simd", "kpar", "cycles", "DSP", "BRAM36", "URAM", "LUT", "weights",
        "SQNR dB", "limit"]


def row_cells(r: LayerRow) -> list[str]:
    return [str(r.index), r.name, r.op, r.board, str(r.pe), str(r.simd), str(r.kpar), f"{r.cycles:,}", f"{r.dsp:,}",
            f"{r.bram36:,}", f"{r.uram:,}", f"{r.lut:,}", r.weights,
            "-" if r.sqnr_db is None else f"{r.sqnr_db:.1f}", r.limit]


def render_text(rows: list[LayerRow]) -> str:
    cells = [HEAD] + [row_cells(r) for r in rows]
    left = {1, 2, 3, 12, 14}
    widths = [max(len(c[i]) for c in cells) for i in range(len(HEAD))]
    lines = []
    for c in cells:
        lines.append("  ".join(c[i].ljust(widths[i]) if i in left else c[i].rjust(widths[i])
                               for i in range(len(HEAD))).rstrip())
    return "\n".join(lines) + "\n"
