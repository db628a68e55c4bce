"""``asymap report``: assemble the figures into one self-contained HTML file.

Everything the page needs is inside the file (PNG figures as base64 ``data:`` URIs, inline CSS, no
scripts), so it can be mailed or attached to an issue. Numbers are formatted here; the Jinja2
template (templates/report/report.html.j2, autoescaped) only lays them out. No timestamps: the same
plan gives the same bytes.
"""

from __future__ import annotations

import base64
import struct
from dataclasses import dataclass
from pathlib import Path

from asymap import __version__
from asymap.report import figures
from asymap.report.data import ReportData, gather
from asymap.util.fileio import atomic_write_text, check_not_input, check_output_dir
from asymap.util.progress import track


@dataclass
class Figure:
    title: str
    caption: str
    png: str
    width: int
    height: int
    table: dict | None = None


def _png_size(png: bytes) -> tuple[int, int]:
    return struct.unpack(">II", png[16:24])


def _t(s: float) -> str:
    return f"{s * 1e3:.3f} ms" if s >= 1e-3 else f"{s * 1e6:.1f} µs"


def _board_table(data: ReportData) -> dict:
    """Per board: type, layers, clock, interval, resources; and, when a board runs as one kernel per
    SLR, the latency its SLR crossings add (plan.json ``boards[].slr_crossing_s``, in ``latency_s``)."""
    bn = data.plan.get("bottleneck")
    crossing = any(float(b.get("slr_crossing_s") or 0) > 0 for b in data.boards)
    rows = []
    for b in data.boards:
        cells = [b["name"], b.get("type", "?"), f"{b.get('first_layer', '?')}–{b.get('last_layer', '?')}",
                 f"{b.get('clock_mhz', 0):g}", _t(float(b["interval_s"]))]
        for key, _ in figures.RES_LABELS:
            used, avail = (b["resources"].get(key) or [0, 0])[:2]
            cells.append(f"{used:,.0f} / {avail:,.0f}")
        if crossing:
            cells.append(f"{float(b.get('slr_crossing_s') or 0) * 1e9:,.0f} ns")
        rows.append({"cells": cells, "cls": "bn" if b["name"] == bn else ""})
    head = ["board", "type", "layers", "MHz", "interval", "DSP", "BRAM36", "URAM", "LUT"]
    return {"head": head + (["SLR crossing"] if crossing else []), "rows": rows,
            "align": ["l", "l"] + [""] * (len(head) - 2 + crossing)}


def _compare_table(data: ReportData) -> dict:
    rows = []
    for c in data.comparisons or []:
        for r in c.rows:
            fmt = lambda v: "-" if v is None else f"{v:,.0f}"  # noqa: E731
            rows.append({"cells": [r.label, r.metric, fmt(r.predicted), fmt(r.reported),
                                   "-" if r.ratio is None else f"{r.ratio:.2f}", ", ".join(r.flags)],
                         "cls": "flag" if r.flags else ""})
    return {"head": ["board", "metric", "predicted", "reported", "ratio", "flags"], "rows": rows,
            "align": ["l", "l", "", "", "", "l"]}


def _layer_table(data: ReportData, quiet: bool = True) -> dict:
    """The per-layer view (report.layers), with the SQNR when the model is at hand (an output tree
    holds model.onnx and the quantization seed in chain.json)."""
    import json

    from asymap.report import layers as lv

    graph = sqnr = None
    src = Path(data.source)
    if src.is_dir() and (src / "model.onnx").is_file():
        from asymap.frontend.onnx_import import load_model
        from asymap.util.progress import status

        graph = load_model(src / "model.onnx")
        try:
            seed = int(json.loads((src / "chain.json").read_text(encoding="utf-8"))["model"].get("quant_seed", 0))
        except (OSError, ValueError, KeyError, TypeError):
            seed = 0
        status(f"{graph.name}: quantization SQNR of every layer", quiet)
        sqnr = lv.layer_sqnr(graph, seed)
    rows = lv.layer_rows(data.plan, graph, sqnr)
    return {"head": lv.HEAD, "align": ["", "l", "l", "l"] + [""] * 8 + ["l", "", "l"],
            "rows": [{"cells": lv.row_cells(r), "cls": "bn" if not r.limit.startswith("slack") else ""}
                     for r in rows]}


def render(data: ReportData, quiet: bool = True) -> str:
    plan = data.plan
    jobs = [
        ("Cluster topology", "Boards sized by their DSP count, idle boards grey; each link shows its bandwidth "
         "and utilization (link interval / cluster interval).", figures.topology, None),
        ("Layer → board assignment", "Cycles per image of every layer along the network, coloured by the board "
         "that runs it.", figures.layer_assignment, None),
        ("Pipeline", "Interval of every stage (boards and links, in pipeline order); the slowest sets the "
         "throughput and is marked as the bottleneck.", figures.pipeline, _board_table),
        ("Resources", "Predicted use of each board's DSP, BRAM36, URAM and LUT against what the board has.",
         figures.resources, None),
        ("Throughput", "This plan against the baselines" + (" and against the number of boards."
                                                              if plan.get("sweep") else "."), figures.throughput, None),
    ]
    if data.comparisons:
        jobs.append(("Predicted vs reported", "Vitis HLS synthesis reports against the cost model's predictions "
                     "(asymap compare).", figures.predicted_vs_reported, _compare_table))
    figs = []
    layer_fig = Figure("Layers", "Every layer: parallelism factors, cycles per image, predicted resources, the "
                       "int8 SQNR of its output against the float model (output trees only), and what limits it "
                       "(bold: the layer sets its board's pace or runs at full parallelism; slack: it finishes "
                       "early).", "", 0, 0, _layer_table(data, quiet))
    for title, caption, fn, table in track(jobs, "rendering figures", quiet=quiet):
        png = fn(data)
        w, h = _png_size(png)
        figs.append(Figure(title, caption, base64.b64encode(png).decode("ascii"), w, h,
                           table(data) if table else None))
        if title == "Pipeline":
            figs.append(layer_fig)
    model = plan.get("model", {})
    title = Path(str(model.get("path", "model"))).name
    interval = float(plan.get("interval_s") or 0)
    kpis = [
        {"label": "images / s", "value": f"{float(plan.get('throughput_ips') or 0):,.1f}"},
        {"label": "interval", "value": _t(interval) if interval else "-"},
        {"label": "GOPS", "value": f"{float(plan.get('gops') or 0):,.1f}"},
        {"label": "latency", "value": _t(float(plan.get("latency_s") or 0)) if plan.get("latency_s") else "-"},
        {"label": "boards used", "value": str(len(plan["boards"]))},
        {"label": "bottleneck", "value": str(plan.get("bottleneck", "-"))},
    ]
    hp = plan.get("host_path")
    if hp:  # where images enter and leave (plan.json host_path)
        kpis.append({"label": "host path in", "value": " → ".join([hp["in"][0]["from"]] + [h["to"] for h in hp["in"]])})
        kpis.append({"label": "host path out", "value": " → ".join([hp["out"][0]["from"]] + [h["to"] for h in hp["out"]])})
        if hp.get("forwarding"):
            kpis.append({"label": "forwarding boards", "value": ", ".join(hp["forwarding"])})
    single = plan.get("baselines", {}).get("reuse_single", {}).get("throughput_ips")
    if single:
        kpis.append({"label": "vs single-FPGA reuse", "value": f"{float(plan['throughput_ips']) / float(single):.1f}×"})
    gap = "optimal" if plan.get("optimal") else f"within {100 * float(plan.get('gap_bound') or 0):.1f}% of optimal"
    subtitle = (f"{model.get('layers', '?')} layers, {float(model.get('macs') or 0) / 1e6:,.1f} M MACs on "
                f"{len(plan['boards'])} boards; partition {gap}.")
    from asymap.codegen.env import make_env

    env = make_env()
    env.autoescape = True
    return env.get_template("report/report.html.j2").render(
        version=__version__, title=title, subtitle=subtitle, kpis=kpis, figures=[f.__dict__ for f in figs])


def write_report(plan_or_out: str | Path, out_html: str | Path, plan_path: str | Path | None = None,
                 quiet: bool = True, cluster_path: str | Path | None = None) -> ReportData:
    check_output_dir(out_html)
    check_not_input(out_html, plan_or_out, plan_path, cluster_path)
    data = gather(plan_or_out, plan_path, cluster_path)
    atomic_write_text(out_html, render(data, quiet=quiet))
    return data
