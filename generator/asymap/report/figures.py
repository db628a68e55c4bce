"""The report's figures, each rendered to PNG bytes with matplotlib's Agg renderer.

Figures are built on ``matplotlib.figure.Figure`` objects, never through pyplot, so no global
figure state leaks between calls (or into a notebook). PNGs are written without the ``Software``
metadata key, so identical inputs give identical bytes.
"""

from __future__ import annotations

import io
import math

from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch

from asymap.report.data import ReportData

DPI = 100
BOTTLENECK = "#d62728"
IDLE = "#c7c7c7"
RES_LABELS = (("dsp", "DSP"), ("bram36", "BRAM36"), ("uram", "URAM"), ("lut", "LUT"))


def board_colors(data: ReportData) -> dict[str, str]:
    from matplotlib import colormaps

    # Red is reserved for the bottleneck, so it is taken out of the board palette.
    if len(data.boards) > 9:
        cmap = colormaps["tab20"]
        palette = [cmap(i) for i in range(cmap.N) if i not in (6, 7)]
    else:
        cmap = colormaps["tab10"]
        palette = [cmap(i) for i in range(cmap.N) if i != 3]
    return {b["name"]: palette[i % len(palette)] for i, b in enumerate(data.boards)}


def to_png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None}, bbox_inches="tight")
    return buf.getvalue()


def _fmt_time(s: float) -> str:
    if s >= 1e-3:
        return f"{s * 1e3:.3g} ms"
    return f"{s * 1e6:.3g} µs"


def _crosses(p0, p1, others, radius: float = 0.45) -> bool:
    """True when the segment p0-p1 passes within ``radius`` of any point of ``others``."""
    (x0, y0), (x1, y1) = p0, p1
    dx, dy = x1 - x0, y1 - y0
    n2 = dx * dx + dy * dy
    for (x, y) in others:
        t = 0.0 if n2 == 0 else max(0.0, min(1.0, ((x - x0) * dx + (y - y0) * dy) / n2))
        if math.hypot(x - (x0 + t * dx), y - (y0 + t * dy)) < radius:
            return True
    return False


def topology(data: ReportData) -> bytes:
    """Boards as discs whose area follows their DSP count; links labelled bandwidth / utilization."""
    nodes = [nd for nd in data.cluster_boards]
    n = len(nodes)
    per_row = max(1, min(4, math.ceil(math.sqrt(n * 2))))
    pos = {}
    for i, node in enumerate(nodes):
        r, c = divmod(i, per_row)
        if r % 2:
            c = per_row - 1 - c  # serpentine: the pipeline snakes down the page
        pos[node["name"]] = (c * 3.0, -r * 2.4)
    # Links to the host (or anything outside the cluster) get their own small node beside the
    # board, so the host-in and host-out arrows do not cross the whole picture.
    links = []
    for l in data.links:
        a, b = l.a, l.b
        for end, other, tag in ((l.a, l.b, "in"), (l.b, l.a, "out")):
            if end not in pos and other in pos:
                key = f"{end} ({tag})"
                ox, oy = pos[other]
                row = round(-oy / 2.4)
                step = 1 if row % 2 == 0 else -1
                pos[key] = (ox - 2.2 * step, oy) if tag == "in" else (ox + 2.2 * step, oy)
                nodes.append({"name": key, "type": "host", "dsp": 0, "idle": False})
                a, b = (key, b) if tag == "in" else (a, key)
        links.append((a, b, l))
    rows = math.ceil(n / per_row)
    fig = Figure(figsize=(min(3.2 * per_row + 1.5, 14), 2.6 * rows + 1.2))
    ax = fig.subplots()
    colors = board_colors(data)
    max_dsp = max([nd["dsp"] for nd in nodes] + [1])
    for a, b, l in links:
        if a not in pos or b not in pos:
            continue
        (x0, y0), (x1, y1) = pos[a], pos[b]
        style = "-|>" if l.used else "-"
        util = l.utilization or 0.0
        width = 1.0 + 5.0 * min(util, 1.0) if l.used else 1.0
        color = BOTTLENECK if l.used and util >= 0.999 else ("#444444" if l.used else IDLE)
        # A link is drawn between the two boards it joins only: when the straight line would cross
        # another board's disc (a reader would take it for a link through that board), it bends.
        through = _crosses(pos[a], pos[b], [xy for n, xy in pos.items() if n not in (a, b)])
        arrow = FancyArrowPatch((x0, y0), (x1, y1), arrowstyle=style, mutation_scale=14, lw=width, color=color,
                                linestyle="-" if l.used else "--", shrinkA=28, shrinkB=28, zorder=1,
                                connectionstyle=f"arc3,rad={0.35 if through else 0.0}")
        ax.add_patch(arrow)
        if l.gbps is not None:
            bw = f"{l.gbps:g} Gb/s"
        elif l.implied_gbps is not None:
            bw = f"≈{l.implied_gbps:.3g} Gb/s"
        else:
            bw = "? Gb/s"
        label = bw + (f"\n{100 * util:.0f}% used" if l.used and l.utilization is not None else "\nunused")
        if not l.used and math.hypot(x1 - x0, y1 - y0) > 3.1:
            continue  # a long unused link: its label would sit on some other board's name
        vertical = abs(x1 - x0) < 1e-6
        if through:  # label at the apex of the arc (arc3's control point is mid + rad * (dy, -dx))
            ax.text((x0 + x1) / 2 + 0.175 * (y1 - y0), (y0 + y1) / 2 - 0.175 * (x1 - x0), label, ha="center",
                    va="center", fontsize=8, bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none", alpha=0.85),
                    zorder=3)
            continue
        ax.text((x0 + x1) / 2 + (0.2 if vertical else 0), (y0 + y1) / 2 + (-0.45 if vertical else 0.25), label,
                ha="left" if vertical else "center", va="center" if vertical else "bottom", fontsize=8,
                bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none", alpha=0.85), zorder=3)
    bottleneck = data.plan.get("bottleneck")
    for nd in nodes:
        x, y = pos[nd["name"]]
        size = 250 + 3500 * (nd["dsp"] / max_dsp)
        if nd["type"] == "host":
            ax.scatter([x], [y], s=300, marker="s", color="#7f7f7f", zorder=2)
        else:
            ax.scatter([x], [y], s=size, color=IDLE if nd["idle"] or nd.get("forwarding") else colors[nd["name"]], zorder=2,
                       edgecolors=BOTTLENECK if nd["name"] == bottleneck else "black",
                       linewidths=3 if nd["name"] == bottleneck else 0.8)
        sub = "" if nd["type"] == "host" else f"{nd['type']}, {nd['dsp']:,} DSP" + (
            " (idle)" if nd["idle"] else " (forwarding)" if nd.get("forwarding") else "")
        ax.text(x, y - (0.35 if nd["type"] == "host" else 0.75), f"{nd['name']}\n{sub}".strip(), ha="center", va="top",
                fontsize=8, zorder=3)
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    ax.set_xlim(min(xs) - 1.5, max(xs) + 1.5)
    ax.set_ylim(min(ys) - 1.6, max(ys) + 1.0)
    ax.set_axis_off()
    ax.set_title("Cluster topology (disc area ~ DSPs; arrow width ~ link utilization)", fontsize=10)
    return to_png(fig)


def layer_assignment(data: ReportData) -> bytes:
    """Every layer's cycles per image along the network, coloured by the board it runs on."""
    colors = board_colors(data)
    layers = [(l, b["name"]) for b in data.boards for l in b.get("layers", [])]
    fig = Figure(figsize=(min(max(8, 0.09 * len(layers) + 4), 20), 3.8))
    ax = fig.subplots()
    if layers:
        xs = [l["index"] for l, _ in layers]
        cyc = [max(float(l.get("cycles", 0)), 1.0) for l, _ in layers]
        ax.bar(xs, cyc, width=0.85, color=[colors[b] for _, b in layers], log=True)
        top = max(cyc)
        for b in data.boards:
            lo, hi = b.get("first_layer"), b.get("last_layer")
            if lo is None or hi is None:
                continue
            ax.axvspan(lo - 0.5, hi + 0.5, color=colors[b["name"]], alpha=0.10, lw=0)
            ax.text((lo + hi) / 2, top * 1.6, b["name"], ha="center", va="bottom", fontsize=8, color="black")
        ax.set_ylim(1, top * 6)
        ax.set_xlim(min(xs) - 0.6, max(xs) + 0.6)
    else:
        ax.text(0.5, 0.5, "the plan lists no per-layer data", ha="center", transform=ax.transAxes)
    ax.set_xlabel("layer index (network order)")
    ax.set_ylabel("cycles per image (log)")
    ax.set_title("Layer → board assignment", fontsize=10)
    return to_png(fig)


def pipeline(data: ReportData) -> bytes:
    """Per-stage interval (boards and the links between them) with the bottleneck marked."""
    stages = []
    links = {(l["from"], l["to"]): l for l in data.plan.get("links", [])}
    by_src = {}
    for (a, b), l in links.items():
        by_src.setdefault(a, []).append(l)
    for b in data.boards:
        stages.append((b["name"], float(b["interval_s"]), "board"))
        for l in by_src.get(b["name"], []):
            stages.append((f"{l['from']}→{l['to']}", float(l.get("interval_s") or 0), "link"))
    head = [l for (a, _), l in links.items() if a not in {b["name"] for b in data.boards}]
    stages = [(f"{l['from']}→{l['to']}", float(l.get("interval_s") or 0), "link") for l in head] + stages
    interval = float(data.plan.get("interval_s") or max(s[1] for s in stages))
    bottleneck = data.plan.get("bottleneck")
    colors = board_colors(data)
    fig = Figure(figsize=(9, 0.42 * len(stages) + 1.6))
    ax = fig.subplots()
    ys = list(range(len(stages)))[::-1]
    for y, (name, s, kind) in zip(ys, stages):
        is_bn = name == bottleneck or (bottleneck is None and s >= interval)
        if kind == "link" and bottleneck and "→" in name:
            is_bn = is_bn or bottleneck in (name, name.replace("→", "->"))
        color = BOTTLENECK if is_bn else (colors.get(name, "#9e9e9e") if kind == "board" else "#9e9e9e")
        ax.barh(y, s * 1e6, color=color, hatch="//" if kind == "link" else None, edgecolor="white")
        ax.text(s * 1e6, y, f"  {_fmt_time(s)}" + ("  ◀ bottleneck" if is_bn else ""), va="center", fontsize=8)
    ax.axvline(interval * 1e6, color=BOTTLENECK, ls="--", lw=1)
    ax.set_yticks(ys)
    ax.set_yticklabels([s[0] for s in stages], fontsize=8)
    ax.set_xlabel("interval per image (µs); hatched = link")
    ax.set_xlim(0, interval * 1e6 * 1.35)
    ax.set_title(f"Pipeline: cluster interval {_fmt_time(interval)} = slowest stage", fontsize=10)
    return to_png(fig)


def resources(data: ReportData) -> bytes:
    """Utilization of DSP / BRAM / URAM / LUT per board, labelled used/available."""
    boards = data.boards
    fig = Figure(figsize=(9, 0.9 * len(boards) + 1.4))
    ax = fig.subplots()
    h = 0.2
    palette = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd")
    for bi, b in enumerate(boards):
        base = len(boards) - 1 - bi
        for ri, (key, label) in enumerate(RES_LABELS):
            used, avail = (b["resources"].get(key) or [0, 0])[:2]
            y = base + (1.5 - ri) * h
            pct = 100.0 * used / avail if avail else 0.0
            ax.barh(y, pct, height=h * 0.9, color=palette[ri] if pct <= 100 else BOTTLENECK,
                    label=label if bi == 0 else None)
            txt = f"{used:,.0f}/{avail:,.0f}" if avail else "n/a"
            ax.text(min(pct, 100) + 1, y, txt, va="center", fontsize=7)
    ax.axvline(100, color="black", lw=0.8)
    util = data.plan.get("util")
    if isinstance(util, (int, float)) and 0 < util < 1:  # the planner's utilization ceiling
        ax.axvline(100 * util, color=BOTTLENECK, ls="--", lw=1.0, label=f"cap {100 * util:.0f}% (--util)")
    ax.set_yticks(range(len(boards)))
    ax.set_yticklabels([b["name"] for b in boards][::-1], fontsize=9)
    ax.set_xlim(0, 130)
    ax.set_xlabel("% of the board's resource used (predicted)")
    ax.legend(loc="lower right", fontsize=8, ncols=4)
    ax.set_title("Resources per board", fontsize=10)
    return to_png(fig)


def throughput(data: ReportData) -> bytes:
    """The plan against the baselines, and against the number of boards when the plan has a sweep."""
    plan = data.plan
    sweep = plan.get("sweep") or []
    fig = Figure(figsize=(11 if sweep else 7, 3.6))
    axes = fig.subplots(1, 2 if sweep else 1, squeeze=False)[0]
    ax = axes[0]
    names = ["this plan"] + sorted(plan.get("baselines", {}))
    vals = [float(plan.get("throughput_ips") or 0)] + [float(plan["baselines"][n].get("throughput_ips") or 0)
                                                       for n in names[1:]]
    ref = float(plan.get("baselines", {}).get("reuse_single", {}).get("throughput_ips") or 0)
    bars = ax.bar(range(len(names)), vals, color=["#2ca02c"] + ["#9e9e9e"] * (len(names) - 1))
    for rect, v in zip(bars, vals):
        extra = f"\n{v / ref:.1f}× single" if ref else ""
        ax.text(rect.get_x() + rect.get_width() / 2, v, f"{v:,.0f}{extra}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels([n.replace("_", " ") for n in names], fontsize=8, rotation=25, ha="right")
    ax.set_ylabel("images / s")
    ax.set_ylim(0, max(vals + [1]) * 1.3)
    ax.set_title("Throughput vs baselines", fontsize=10)
    if sweep:
        ax2 = axes[1]
        # An infeasible point (no plan fits on that many boards) is a gap in the line, not 0 img/s.
        pts = sorted((int(s["boards"]), float(s["throughput_ips"]) if s.get("interval_s") and s.get("throughput_ips")
                      else float("nan")) for s in sweep)
        ax2.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", color="#1f77b4", label="asymap plan")
        bad = [p[0] for p in pts if p[1] != p[1]]
        if bad:
            ax2.plot([], [], ls="", marker="x", color=BOTTLENECK, label="does not fit")
            for k in bad:
                ax2.axvline(k, color=BOTTLENECK, ls=":", lw=0.8)
        if ref:
            ax2.plot([p[0] for p in pts], [ref * p[0] for p in pts], ls=":", color="#7f7f7f", label="linear in boards")
        ax2.set_xlabel("boards")
        ax2.set_ylabel("images / s")
        ax2.set_xticks([p[0] for p in pts])
        ax2.legend(fontsize=8)
        ax2.set_title("Throughput vs number of boards", fontsize=10)
    return to_png(fig)


def predicted_vs_reported(data: ReportData) -> bytes:
    """reported / predicted per board and metric, with the ±20 % band compare flags outside of."""
    comps = data.comparisons or []
    metrics = ("interval", "dsp", "bram36", "uram", "lut")
    fig = Figure(figsize=(9, 3.8))
    ax = fig.subplots()
    w = 0.15
    palette = ("#d62728", "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd")
    ax.axhspan(0.8, 1.2, color="#2ca02c", alpha=0.12, lw=0)
    ax.axhline(1.0, color="black", lw=0.8)
    ratios = [r.ratio for c in comps for r in c.rows if r.ratio]
    if ratios and max(ratios) / min(ratios) > 10:  # one outlier must not flatten the ±20 % band
        ax.set_yscale("log")
    for mi, m in enumerate(metrics):
        xs, ys = [], []
        for ci, c in enumerate(comps):
            r = next((r for r in c.rows if r.metric == m and not r.kernel), None)  # the board, not a kernel
            if r is not None and r.ratio is not None:
                xs.append(ci + (mi - 2) * w)
                ys.append(r.ratio)
        ax.bar(xs, ys, width=w * 0.9, color=palette[mi], label=m)
    for ci, c in enumerate(comps):
        if c.report is None:
            ax.text(ci, 1.05, "no report", ha="center", fontsize=8, rotation=90)
    ax.set_xticks(range(len(comps)))
    ax.set_xticklabels([c.board for c in comps], fontsize=9)
    ax.set_ylabel("reported / predicted")
    ax.legend(fontsize=8, ncols=5, loc="upper left")
    ax.set_title("Vitis csynth vs the cost model (green band: within ±20 %)", fontsize=10)
    return to_png(fig)
