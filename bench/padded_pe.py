#!/usr/bin/env python3
"""Benchmark: the zero-padded pe menu (issue 12) -- what its bounds buy and cost.

For ResNet-152 (224x224) on example16 and u280x16, and the narrow ResNet-18 (32x32, x0.5) on
edge4, one line per menu: divisors only (``--no-pad``), and padded pe with waste bounds 1/16, 1/8,
1/4 and none (``costmodel.PAD_WASTE``), each with fold counts thinned to 1/16 steps
(``PAD_STEP``) and without. Per line: options per layer (mean / max), the planned images/s,
whether the exact solve proved it optimal (else its gap), the in-process plan time, and the
geometric-mean speed-up of every feasible segment's achievable interval over the divisor-only
menu (board types in cluster order), a measure of the menu that does not depend on how far the
budgeted exact solve gets. Plan times are wall clock on this machine (run it idle).
Run:  .venv/bin/python bench/padded_pe.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "generator"))


def _menus(quick: bool):
    rows = [("no-pad", False, None, None)]
    wastes = (1 / 16, 1 / 8) if quick else (1 / 16, 1 / 8, 1 / 4, float("inf"))
    for w in wastes:
        for step in ((1 / 16,) if quick else (1 / 16, 0.0)):
            rows.append((f"waste {'all' if w == float('inf') else f'1/{round(1 / w)}'} step {'1/16' if step else '0'}",
                         True, w, step))
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="only no-pad, 1/16 and 1/8 with 1/16 steps")
    a = ap.parse_args(argv)

    import onnx

    import asymap.partition.costmodel as cm
    from asymap.cluster.load import load_cluster
    from asymap.frontend.onnx_import import load_model
    from asymap.frontend.zoo import build_zoo_model
    from asymap.partition.planner import build_problem, plan

    defaults = (cm.PAD_WASTE, cm.PAD_STEP)
    with tempfile.TemporaryDirectory() as tmp:
        big, small = Path(tmp) / "resnet152.onnx", Path(tmp) / "resnet18s.onnx"
        onnx.save(build_zoo_model("resnet152", 224), str(big))
        onnx.save(build_zoo_model("resnet18", 32, width_mult=0.5), str(small))
        models = {"resnet152": load_model(big, weights=False), "resnet18s": load_model(small, weights=False)}
    cases = [("resnet152", ROOT / "clusters" / "example16.yaml"), ("resnet152", ROOT / "clusters" / "u280x16.yaml"),
             ("resnet18s", "edge4")]
    print(f"defaults: PAD_WASTE = {defaults[0]:g}, PAD_STEP = {defaults[1]:g}")
    print(f"{'model / cluster':24s} {'menu':22s} {'opts/layer':>11s} {'images/s':>10s} {'optimal/gap':>12s} "
          f"{'plan s':>7s}  segment speed-up vs no-pad (geomean per board type)")
    for mname, cpath in cases:
        g, cl = models[mname], load_cluster(cpath)
        base = None
        for label, pad, waste, step in _menus(a.quick):
            if pad:
                cm.PAD_WASTE, cm.PAD_STEP = waste, step
            try:
                n = [len(i.options.pe) for i in cm.layer_infos(g, pad=pad)]
                tabs = [t.table.interval for t in build_problem(g, cl, pad=pad).types]
                t0 = time.perf_counter()
                p = plan(g, cl, pad=pad)
                dt = time.perf_counter() - t0
            finally:
                cm.PAD_WASTE, cm.PAD_STEP = defaults
            if base is None:
                base = tabs
            speed = []
            for b, t in zip(base, tabs):
                m = np.isfinite(b) & np.isfinite(t)
                speed.append(f"{np.exp(np.log(b[m] / t[m]).mean()):.4f}" if m.any() else "-")
            opt = "proven" if p.optimal else f"gap {100 * p.gap_bound:.2f}%"
            print(f"{mname + ' / ' + Path(str(cpath)).stem:24s} {label:22s} {np.mean(n):6.1f}/{max(n):<4d} "
                  f"{p.throughput_ips:10.1f} {opt:>12s} {dt:7.2f}  {' '.join(speed)}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
