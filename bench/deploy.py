#!/usr/bin/env python3
"""Benchmark: the deployable search (``asymap plan`` re-planning around deployment's refusals).

Lines of nine cards where a card with one transceiver cage (U50) in the middle of a chain is
refused (docs/deploy.md, "Avoided where the plan is made"): ResNet-50 at 64x64 on nine U50s (every
accepted plan has at most two boards), ResNet-50 at 224x224 on U250/U50 lines, and on nine U50s with the host on the middle card b4. Per case: the
planner's wall seconds (deploy's checks included), images/s of the accepted plan, its proven gap,
re-plans made (sub-problems searched), refusals met and whether the re-plan cap
stopped it (DEPLOY_REPLANS). The machine is shared: the load average is printed.
Run:  .venv/bin/python bench/deploy.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINES = {  # name: (model, input size, board types of the line, Gb/s[, (host's board, host Gb/s)])
    "9 x u50, resnet50 64px": ("resnet50", 64, ["u50"] * 9, 10),
    "u250/u50 x9, resnet50 224px": ("resnet50", 224, ["u250", "u50"] * 4 + ["u250"], 10),
    "mixed line of 9, resnet50 224px": ("resnet50", 224, ["u280", "u50", "u50", "u250", "u50", "u55c", "u50", "u280", "u50"], 10),
    "9 x u50 host b4, resnet50 224px": ("resnet50", 224, ["u50"] * 9, 10, ("b4", 64)),
}


def main() -> int:
    import onnx

    sys.path.insert(0, str(ROOT / "tests"))
    from clusters_yaml import cluster_yaml

    from asymap.cluster.load import load_cluster
    from asymap.codegen.deploy import plan_checks
    from asymap.errors import UserError
    from asymap.frontend.onnx_import import load_model
    from asymap.frontend.zoo import build_zoo_model
    from asymap.partition.planner import plan

    print(f"load average {os.getloadavg()[0]:.2f}")
    print(f"{'case':<34} {'seconds':>8} {'images/s':>10} {'gap':>8} {'re-plans':>8} {'refused':>7}  capped")
    with tempfile.TemporaryDirectory() as tmp:
        for name, (model, size, types, gbps, *host) in LINES.items():
            m, c = Path(tmp) / f"{model}_{size}.onnx", Path(tmp) / f"{len(types)}.yaml"
            if not m.exists():
                onnx.save(build_zoo_model(model, input_size=size), str(m))
            names = [f"b{i}" for i in range(len(types))]
            c.write_text(cluster_yaml(list(zip(names, types)), [(a, b, gbps, 500) for a, b in zip(names, names[1:])],
                                     *host))
            g, cl = load_model(m, weights=False), load_cluster(c)
            t0 = time.perf_counter()
            try:
                p = plan(g, cl, deployable=plan_checks(g, cl))
            except UserError as exc:
                print(f"{name:<34} {time.perf_counter() - t0:8.2f}  no plan: {str(exc)[:90]}")
                continue
            sec = time.perf_counter() - t0
            dep = p.search.get("deploy") or {}
            print(f"{name:<34} {sec:8.2f} {p.throughput_ips:10.1f} {100 * p.gap_bound:7.2f}% {dep.get('replans', 0):8d} "
                  f"{dep.get('refused', 0):7d}  {'yes' if dep.get('capped') else 'no'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
