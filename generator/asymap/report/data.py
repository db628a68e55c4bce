"""What the report shows, gathered from a plan (and, for an OUT tree, the Vitis reports).

The report reads only downstream artefacts: plan.json (the contract every later stage reads), the
cluster YAML the plan names (for link bandwidths and idle boards, when it can still be found), and
the comparison of csynth reports with the plan (asymap.build.compare) when given an OUT tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from asymap.build.compare import BoardComparison, compare, load_plan_dict
from asymap.build.tree import load_tree
from asymap.errors import UserError


@dataclass
class TopoLink:
    a: str
    b: str
    gbps: float | None  # None: unknown (no cluster file); the plan's implied rate is used instead
    used: bool
    utilization: float | None  # link interval / cluster interval
    implied_gbps: float | None = None


@dataclass
class ReportData:
    plan: dict
    source: str
    cluster_boards: list[dict] = field(default_factory=list)  # {name, type, dsp} incl. idle boards
    links: list[TopoLink] = field(default_factory=list)
    comparisons: list[BoardComparison] | None = None

    @property
    def boards(self) -> list[dict]:
        return self.plan["boards"]


def _cluster_info(plan: dict, plan_path: Path, cluster_path: str | Path | None) -> tuple[list[dict], dict] | None:
    """Boards and link speeds of the cluster file (given, or where the plan says, relative to the
    plan), so idle boards and unused links can be drawn. Without it only the plan's boards show."""
    from asymap.cluster.load import load_cluster

    if cluster_path:
        c = load_cluster(cluster_path)  # given explicitly: its errors are the user's to see
    else:
        rel = (plan.get("cluster") or {}).get("path")
        cands = [p for p in ((Path(rel), plan_path.parent / rel) if rel else ()) if p.is_file()]
        if not cands:
            return None
        try:
            c = load_cluster(cands[0])
        except UserError:
            return None
    boards = [{"name": b.name, "type": b.spec.type, "dsp": b.spec.dsp} for b in c.boards]
    return boards, {frozenset((l.a, l.b)): l.gbps for l in c.links}


def _link_order(cboards: list[dict], used: list[str], speeds: dict) -> list[dict]:
    """Idle boards in breadth-first order along the cluster's links from the pipeline's end, so the
    drawing continues the snake through neighbours instead of criss-crossing the page."""
    adj: dict[str, list[str]] = {}
    for key in sorted(speeds, key=sorted):
        a, b = sorted(key)
        adj.setdefault(a, []).append(b)
        adj.setdefault(b, []).append(a)
    idle = {b["name"]: b for b in cboards if b["name"] not in used}
    order: list[str] = []
    frontier = list(reversed(used))
    seen = set(used)
    while frontier:
        nxt = []
        for n in frontier:
            for m in adj.get(n, []):
                if m not in seen and m in idle:
                    seen.add(m)
                    order.append(m)
                    nxt.append(m)
        frontier = nxt
    order += [n for n in idle if n not in seen]
    return [idle[n] for n in order]


def gather(plan_or_out: str | Path, plan_path: str | Path | None = None,
           cluster_path: str | Path | None = None) -> ReportData:
    src = Path(plan_or_out)
    comparisons = None
    if src.is_dir():
        tree = load_tree(src)
        ppath = Path(plan_path) if plan_path else tree.plan_path
        if ppath is None:
            raise UserError(f"{src}: no plan.json in the tree; pass --plan plan.json")
        plan = load_plan_dict(ppath)
        try:
            _, comparisons = compare(src, ppath)
        except UserError as exc:
            if "no csynth reports" not in str(exc):
                raise
            comparisons = None
    elif src.is_file():
        ppath = src
        plan = load_plan_dict(src)
    else:
        raise UserError(f"{src}: not found; give a plan.json or an 'asymap generate' output directory")

    interval = float(plan.get("interval_s") or max(b["interval_s"] for b in plan["boards"]))
    info = _cluster_info(plan, Path(ppath), cluster_path)
    plan_names = [b["name"] for b in plan["boards"]]
    if info:
        cboards, speeds = info
    else:
        cboards, speeds = [], {}
    merged = []
    for b in plan["boards"]:
        dsp = (b["resources"].get("dsp") or [0, 0])[1]
        merged.append({"name": b["name"], "type": b.get("type", "?"), "dsp": dsp, "idle": False})
    fwd = set((plan.get("host_path") or {}).get("forwarding", []))  # carry the host's images, no layers
    merged += [{**b, "idle": b["name"] not in fwd, "forwarding": b["name"] in fwd}
               for b in _link_order(cboards, plan_names, speeds)]
    links = []
    seen = set()
    for l in plan.get("links", []):
        key = frozenset((l["from"], l["to"]))
        seen.add(key)
        li = float(l.get("interval_s") or 0)
        implied = (float(l["bytes_per_image"]) * 8 / li / 1e9) if li and l.get("bytes_per_image") else None
        gbps = l.get("gbps") if isinstance(l.get("gbps"), (int, float)) else speeds.get(key)
        links.append(TopoLink(l["from"], l["to"], gbps, True, li / interval if interval else None, implied))
    for key, gbps in sorted(speeds.items(), key=lambda kv: sorted(kv[0])):
        if key not in seen:
            a, b = sorted(key)
            links.append(TopoLink(a, b, gbps, False, None))
    return ReportData(plan=plan, source=str(src), cluster_boards=merged, links=links, comparisons=comparisons)
