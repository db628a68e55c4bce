#!/usr/bin/env python3
"""Benchmark: the planner's table building (``planner.build_problem``) on ResNet-152 (224x224).

Per cluster: wall and CPU seconds of ``build_problem`` (min of --repeat runs), in one process and
split over two (``util.forked.map_two`` forced on; the child's CPU counted), and how many tables
it builds (board types x port widths). The issue's share of the whole ``asymap plan`` second
for this step is ~0.3 s (issue 12 item 7). The machine is shared: the load average is printed.
Run:  .venv/bin/python bench/tables.py [--model resnet152] [--size 224] [--repeat 5] [clusters...]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _timed(fn, repeat: int) -> tuple[float, float]:
    """(best wall, best CPU incl. reaped children) seconds of ``fn()`` over ``repeat`` runs."""
    wall, cpu = float("inf"), float("inf")
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), os.times()
        fn()
        c1 = os.times()
        wall = min(wall, time.perf_counter() - t0)
        cpu = min(cpu, sum(c1[:4]) - sum(c0[:4]))
    return wall, cpu


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="resnet152")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("clusters", nargs="*", default=[str(ROOT / "clusters" / "example16.yaml"),
                                                    str(ROOT / "clusters" / "u280x16.yaml")])
    a = ap.parse_args(argv)

    import onnx

    import asymap.util.forked as forked
    from asymap.cluster.load import load_cluster
    from asymap.frontend.onnx_import import load_model
    from asymap.frontend.zoo import build_zoo_model
    from asymap.partition.planner import build_problem

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{a.model}.onnx"
        onnx.save(build_zoo_model(a.model, a.size), str(path))
        graph = load_model(path, weights=False)
    can_fork = forked._can_fork
    print(f"{'cluster':<12} {'tables':>6}  {'one process wall/CPU':>22}  {'two processes wall/CPU':>24}")
    for c in a.clusters:
        cluster = load_cluster(c)
        pb = build_problem(graph, cluster)
        n_tables = sum(len(t.widths) or 1 for t in pb.types)
        row = []
        for fork in (False, True):
            forked._can_fork = (lambda: True) if fork else (lambda: False)
            try:
                row.append(_timed(lambda: build_problem(graph, cluster), a.repeat))
            finally:
                forked._can_fork = can_fork
        print(f"{cluster.name:<12} {n_tables:>6}  {row[0][0]:>9.3f} s / {row[0][1]:.3f} s  "
              f"{row[1][0]:>11.3f} s / {row[1][1]:.3f} s")
    print(f"(min of {a.repeat}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
          f"target share of the plan command: ~0.3 s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
