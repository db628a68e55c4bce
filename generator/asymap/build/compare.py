"""Predicted (plan.json) against reported (Vitis csynth.xml), per board, and calibration.

What is compared, per board:
  * ``interval``: cycles per image. Predicted: the slowest layer engine of the board's dataflow
    pipeline (``max(layers[].cycles)``; ``interval_s * clock`` when the plan has no layers), which
    is what Vitis's top-level ``Interval-max`` of a DATAFLOW region measures. Flagged when off by
    more than 20 %.
  * ``latency``: cycles from first input to last output. Predicted: the sum of the layers' cycles
    (an upper bound for a streaming pipeline); shown for information, never flagged.
  * ``dsp``, ``bram36``, ``uram``, ``lut``: reported BRAM_18K is halved into BRAM36. Flagged when
    over the board's budget (the plan's ``avail``, else the report's AvailableResources) or off by
    more than 20 %.

A board built as one kernel per SLR (deploy.json ``hls_kernels``, docs/deploy.md) is reported as
the sum of its kernels' resources, the slowest kernel's interval and the sum of their latencies.

``calibrate`` fits, per board *type*, the factors the cost model's estimates should be multiplied
by (``cycles_scale``: geometric mean of reported/predicted interval; ``<resource>_scale``: least
squares through the origin) and writes them as YAML (docs/build.md, "Calibration file").
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from asymap import __version__
from asymap.build.reports import SynthReport, find_report, parse_csynth
from asymap.build.tree import OutTree, load_tree
from asymap.errors import UserError
from asymap.util.fileio import atomic_write_text

TOLERANCE = 0.20
RESOURCES = ("dsp", "bram36", "uram", "lut")
CALIBRATION_SCHEMA = 1


def load_plan_dict(path: str | Path) -> dict:
    """plan.json as a dict, checked for the keys the build/report stages read (DESIGN.md schema 1)."""
    path = Path(path)
    try:
        plan = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: plan not found; pass --plan plan.json (written by 'asymap plan')") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: not a readable plan.json ({type(exc).__name__}); re-run asymap plan") from None
    if not isinstance(plan, dict) or plan.get("schema") != 1:
        raise UserError(f"{path}: not an asymap plan (schema 1); re-run asymap plan")
    boards = plan.get("boards")
    if not isinstance(boards, list) or not boards:
        raise UserError(f"{path}: key 'boards' must be a non-empty list; re-run asymap plan")
    for i, b in enumerate(boards):
        for key in ("name", "interval_s", "resources"):
            if not isinstance(b, dict) or key not in b:
                raise UserError(f"{path}: boards[{i}].{key} missing; re-run asymap plan")
    return plan


def _find_plan(tree: OutTree, plan_path: str | Path | None) -> Path:
    if plan_path:
        return Path(plan_path)
    if tree.plan_path:
        return tree.plan_path
    raise UserError(f"{tree.root}: no plan.json in the tree; pass --plan plan.json")


@dataclass
class Row:
    board: str
    metric: str
    predicted: float | None
    reported: float | None
    budget: float | None = None
    flags: list[str] = field(default_factory=list)
    kernel: str = ""  # on a board of one kernel per SLR: the kernel this row is for ("" = the whole board)

    @property
    def label(self) -> str:
        return f"{self.board}/{self.kernel}" if self.kernel else self.board

    @property
    def ratio(self) -> float | None:
        if self.predicted and self.reported is not None:
            return self.reported / self.predicted
        return None

    def as_dict(self) -> dict:
        return {"board": self.board, "metric": self.metric, "predicted": self.predicted, "reported": self.reported,
                "ratio": None if self.ratio is None else round(self.ratio, 4), "budget": self.budget,
                "flags": self.flags, **({"kernel": self.kernel} if self.kernel else {})}


@dataclass
class BoardComparison:
    board: str
    type: str
    report: SynthReport | None
    rows: list[Row]

    @property
    def flagged(self) -> bool:
        return any(r.flags for r in self.rows)


def predicted_cycles(pb: dict) -> tuple[float | None, float | None]:
    """(interval, latency) cycles the plan predicts for one board."""
    cycles = [float(l["cycles"]) for l in pb.get("layers", []) if isinstance(l, dict) and "cycles" in l]
    if cycles:
        return max(cycles), sum(cycles)
    clock = pb.get("clock_mhz")
    if clock:
        return float(pb["interval_s"]) * float(clock) * 1e6, None
    return None, None


def compare_board(pb: dict, rep: SynthReport | None,
                  kernels: list[tuple[str, int | None, SynthReport | None]] | None = None) -> BoardComparison:
    """Rows of one board; ``kernels``: a split board's kernels, their SLRs and their own reports
    (rows per kernel, shown also while some kernel has no report yet)."""
    name = str(pb["name"])
    interval, latency = predicted_cycles(pb)
    rows = []
    if rep is None:
        rows.append(Row(name, "interval", interval, None, flags=["no report"]))
        for k, slr, krep in kernels or []:
            rows += _kernel_rows(pb, k, slr, krep)
        _flag(rows[1:])
        return BoardComparison(name, str(pb.get("type", "?")), None, rows)
    rows.append(Row(name, "interval", interval, rep.interval_max))
    rows.append(Row(name, "latency", latency, rep.latency_worst))
    reported = {"dsp": rep.used["dsp"], "bram36": rep.used["bram18k"] / 2, "uram": rep.used["uram"], "lut": rep.used["lut"]}
    avail_rep = {"dsp": rep.available["dsp"], "bram36": rep.available["bram18k"] / 2, "uram": rep.available["uram"],
                 "lut": rep.available["lut"]}
    for res in RESOURCES:
        pair = pb["resources"].get(res)
        pred = float(pair[0]) if isinstance(pair, (list, tuple)) and pair else None
        budget = float(pair[1]) if isinstance(pair, (list, tuple)) and len(pair) > 1 else float(avail_rep[res])
        rows.append(Row(name, res, pred, float(reported[res]), budget))
    ff = pb.get("ff")
    if isinstance(ff, (list, tuple)) and len(ff) == 2:  # the flip-flop estimate (partition/ffmodel.py)
        rows.append(Row(name, "ff", float(ff[0]), float(rep.used["ff"]), float(ff[1])))
    for k, slr, krep in kernels or []:
        rows += _kernel_rows(pb, k, slr, krep)
    _flag(rows)
    return BoardComparison(name, str(pb.get("type", "?")), rep, rows)


def _kernel_slr(pb: dict, kernel: str, top: str) -> int | None:
    """The SLR of a split board's kernel: ``<top>_slr<n>`` is in SLR n, the board's top in the
    first SLR its layers use."""
    if kernel == top:
        slrs = [int(ly.get("slr", 0)) for ly in pb.get("layers", []) if isinstance(ly, dict)]
        return min(slrs) if slrs else None
    m = re.search(r"_slr(\d+)$", kernel)
    return int(m.group(1)) if m else None


def _kernel_rows(pb: dict, kernel: str, slr: int | None, rep: SynthReport | None) -> list[Row]:
    """One split board's kernel against its own report: DSP, BRAM36 and URAM of the plan's layers
    in its SLR, its LUTs and flip-flops as the plan estimates them per kernel (plan.json
    ``slr_lut``/``slr_ff``: its layers plus the link (un)packers of the first and last kernel),
    against the SLR's share of the board's budget."""
    name = str(pb["name"])
    slrs = max(1, int(pb.get("slrs") or 1))
    layers = [ly for ly in pb.get("layers", []) if isinstance(ly, dict) and int(ly.get("slr", 0)) == slr]
    pred = {res: float(sum(float(ly.get(res, 0)) for ly in layers)) for res in ("dsp", "bram36", "uram")}
    for res, key in (("lut", "slr_lut"), ("ff", "slr_ff")):
        per = pb.get(key) or []
        pred[res] = float(per[slr]) if slr is not None and slr < len(per) else None
    avail = {res: (pb["resources"].get(res) or [0, 0])[1] for res in RESOURCES}
    avail["ff"] = (pb.get("ff") or [0, 0])[1]
    rows = []
    for res in RESOURCES + ("ff",):
        got = None if rep is None else float(rep.used["bram18k"] / 2 if res == "bram36" else rep.used[res])
        budget = float(avail[res]) / slrs if avail[res] else None
        rows.append(Row(name, res, pred[res], got, budget, ["no report"] if rep is None else [], kernel))
    return rows


def _flag(rows: list[Row]) -> None:
    for r in rows:
        if r.reported is None:
            if r.metric == "interval":
                r.flags.append("undefined in report")
            continue
        if r.budget is not None and r.reported > r.budget:
            r.flags.append("over budget")
        if r.metric == "latency":
            continue
        if r.predicted == 0 and r.reported > 0:
            r.flags.append("not predicted")
        elif r.ratio is not None and abs(r.ratio - 1) > TOLERANCE:
            r.flags.append(f"off by {100 * (r.ratio - 1):+.0f}%")


def kernel_reports(board_dir: Path, top: str) -> list[tuple[str, SynthReport | None]]:
    """Each HLS kernel of the board and its own synthesis report (None until it has one): the
    board's top, and on a board of one kernel per SLR (deploy.json ``hls_kernels``) the others."""
    from asymap.build.steps import read_deploy

    extra = (read_deploy(board_dir) or {}).get("hls_kernels") or []
    out = []
    for kernel in [top] + [k["kernel"] for k in extra]:
        path = find_report(board_dir, kernel)
        out.append((kernel, parse_csynth(path) if path else None))
    return out


def board_report(board_dir: Path, top: str, kernels: list[tuple[str, SynthReport | None]] | None = None
                 ) -> SynthReport | None:
    """The board's synthesis report; for a board of one kernel per SLR, its kernels' reports
    combined (resources summed, the slowest interval, latencies summed: the kernels run as one
    pipeline), None until every kernel has one. ``kernels``: :func:`kernel_reports`, when read."""
    reps = [r for _, r in (kernels if kernels is not None else kernel_reports(board_dir, top))]
    if any(r is None for r in reps):
        return None
    if len(reps) == 1:
        return reps[0]

    def total(key: str) -> int | None:
        vals = [getattr(r, key) for r in reps]
        return None if any(v is None for v in vals) else (max(vals) if key.startswith("interval") else sum(vals))
    return replace(reps[0], used={k: sum(r.used.get(k, 0) for r in reps) for k in reps[0].used},
                   latency_best=total("latency_best"), latency_avg=total("latency_avg"),
                   latency_worst=total("latency_worst"), interval_min=total("interval_min"),
                   interval_max=total("interval_max"))


def compare(out_dir: str | Path, plan_path: str | Path | None = None) -> tuple[dict, list[BoardComparison]]:
    """Compare every board of the tree that has a plan entry; UserError when no report exists."""
    tree = load_tree(out_dir)
    plan = load_plan_dict(_find_plan(tree, plan_path))
    results = []
    for pb in plan["boards"]:
        name = str(pb["name"])
        try:
            proj = tree.board(name)
        except UserError:
            raise UserError(f"plan board {name!r} has no project in {tree.root}; the tree was generated from another plan") from None
        kernels = kernel_reports(proj.dir, proj.top)
        split = [(k, _kernel_slr(pb, k, proj.top), r) for k, r in kernels] \
            if len(kernels) > 1 and pb.get("slr_lut") else None  # per-kernel rows need the plan's estimates
        results.append(compare_board(pb, board_report(proj.dir, proj.top, kernels), split))
    if all(c.report is None and all(r.reported is None for r in c.rows) for c in results):  # (a split kernel's own counts)
        raise UserError(f"{tree.root}: no csynth reports found; run 'asymap build {out_dir} --step csynth' first")
    return plan, results


def _fmt(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:,.0f}" if abs(v) >= 100 or float(v).is_integer() else f"{v:.2f}"


def format_table(results: list[BoardComparison]) -> str:
    head = ("board", "metric", "predicted", "reported", "ratio", "budget", "flags")
    lines = [head]
    for c in results:
        for r in c.rows:
            lines.append((r.label, r.metric, _fmt(r.predicted), _fmt(r.reported),
                          "-" if r.ratio is None else f"{r.ratio:.2f}", _fmt(r.budget), ", ".join(r.flags)))
    widths = [max(len(row[i]) for row in lines) for i in range(len(head))]
    out = []
    for row in lines:
        out.append("  ".join(c.rjust(w) if 2 <= i <= 5 else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip())
    flagged = [c.board for c in results if c.flagged]
    out.append(f"{len(results)} boards, {sum(c.report is not None for c in results)} with reports, "
               f"{len(flagged)} flagged" + (f": {', '.join(flagged)}" if flagged else ""))
    return "\n".join(out)


def calibrate(results: list[BoardComparison]) -> dict:
    """Per board type: the factors reported/predicted, fitted over every board with a report."""
    by_type: dict[str, list[BoardComparison]] = {}
    for c in results:
        if c.report is not None:
            by_type.setdefault(c.type, []).append(c)
    types = {}
    for t, comps in sorted(by_type.items()):
        entry: dict[str, float | int | list[str]] = {}
        logs = [math.log(r.reported / r.predicted) for c in comps for r in c.rows
                if r.metric == "interval" and r.predicted and r.reported and not r.kernel]
        if logs:
            entry["cycles_scale"] = round(math.exp(sum(logs) / len(logs)), 4)
        for res in RESOURCES:
            pairs = [(r.predicted, r.reported) for c in comps for r in c.rows  # boards only, not their kernels
                     if r.metric == res and r.predicted and r.reported is not None and not r.kernel]
            if pairs:
                entry[f"{res}_scale"] = round(sum(p * q for p, q in pairs) / sum(p * p for p, _ in pairs), 4)
        entry["samples"] = len(comps)
        entry["boards"] = sorted(c.board for c in comps)
        types[t] = entry
    return {"schema": CALIBRATION_SCHEMA, "asymap_version": __version__, "board_types": types}


def write_calibration(path: str | Path, calib: dict) -> None:
    header = ("# asymap cost-model calibration, fitted by 'asymap compare --calibrate' from Vitis csynth reports.\n"
              "# Per board type: multiply the cost model's cycles / resource estimates by these factors.\n")
    atomic_write_text(path, header + yaml.safe_dump(calib, sort_keys=True, default_flow_style=False))
