"""FIFO margin of generated boards: the largest --fifo-slack each board survives.

Plans the demo's ResNet-18 (32x32, width 0.5) on clusters/edge4.yaml (or the given model and
cluster), generates the board projects twice -- with the generator's margin (FIFO_SLACK beats per
process on the longer path of every reconvergent FIFO) and with the bare row model (margin 0,
what the generator did before the margin, up to its +2 beats) -- and runs the chain as the bounded
dataflow simulation of `asymap verify` with every FIFO shrunk by K, for growing K. Prints, per board,
ok or deadlock at each K and the largest K at which the whole chain passes, against the slack the
generator guarantees (asymap.codegen.fifodepth.FIFO_SLACK).

    .venv/bin/python bench/fifo_slack.py [--model resnet18] [--size 32] [--width 0.5] [--cluster clusters/edge4.yaml]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import onnx

from asymap.codegen import fifodepth, project
from asymap.cluster.load import load_cluster
from asymap.frontend.onnx_import import load_model
from asymap.frontend.zoo import build_zoo_model
from asymap.partition.planner import plan as make_plan
from asymap.verify.runner import verify

ROOT = Path(__file__).resolve().parents[1]
SLACKS = [0, 2, 4, 8, 16, 24, 32, 40, 48, 64, 96, 128]


def _scan(out: Path) -> dict[str, list[str]]:
    """Board name -> "ok" / "DEAD" / "-" (not run: an earlier board stalled) for each K of SLACKS."""
    rows: dict[str, list[str]] = {}
    for k in SLACKS:
        res = verify(out, jobs=2, quiet=True, fifo_slack=k)
        for b in res.boards:
            rows.setdefault(b.name, []).append("ok" if b.ok else ("DEAD" if b.status == "deadlock" else "-"))
    return rows


def _largest_passing(rows: dict[str, list[str]]) -> int:
    """Largest K of SLACKS such that every board passes at every K up to it."""
    best = -1
    for i, k in enumerate(SLACKS):
        if all(r[i] == "ok" for r in rows.values()):
            best = k
        else:
            break
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="resnet18")
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--width", type=float, default=0.5)
    ap.add_argument("--cluster", default=str(ROOT / "clusters" / "edge4.yaml"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="fifo_slack.") as td:
        d = Path(td)
        model = d / "model.onnx"
        onnx.save(build_zoo_model(args.model, input_size=args.size, width_mult=args.width, seed=0), str(model))
        plan = make_plan(load_model(model), load_cluster(args.cluster))
        (d / "plan.json").write_text(plan.to_json())
        results = {}
        guaranteed = fifodepth.FIFO_SLACK
        for label, margin in (("with margin", guaranteed), ("row model only", 0)):
            fifodepth.FIFO_SLACK = project.FIFO_SLACK = margin
            out = d / label.replace(" ", "_")
            project.generate(model, args.cluster, out, plan=d / "plan.json", quiet=True)
            results[label] = _scan(out)
        fifodepth.FIFO_SLACK = project.FIFO_SLACK = guaranteed

    print(f"{args.model} {args.size}x{args.size} width {args.width} on {Path(args.cluster).name}: "
          "bounded dataflow simulation with every FIFO shrunk by K beats")
    head = f"{'depths':<15} {'board':<10} " + " ".join(f"{k:>4}" for k in SLACKS)
    print(head)
    print("-" * len(head))
    for label, rows in results.items():
        for name, r in rows.items():
            print(f"{label:<15} {name:<10} " + " ".join(f"{x:>4}" for x in r))
    summary = ", ".join(f"{label}: K <= {_largest_passing(rows)}" for label, rows in results.items())
    print(f"largest slack passing on every board -- {summary} (guaranteed: {guaranteed})")


if __name__ == "__main__":
    main()
