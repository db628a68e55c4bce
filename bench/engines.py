#!/usr/bin/env python3
"""Benchmark: what pipeline fill and drain cost in the engines' cycle model, on a real plan.

Plans ResNet-152 (224x224) on example16 with the current cost model (engines = gearbox -> window
generator -> MVAU -> gearbox, every process one pipelined loop, fill/drain charged once per
process per image) and prints, per board: its bottleneck layer, that layer's cycles, the share of
them that is fill/drain, and the share over all the board's layers. Then the same plan computed
by the cost model of an earlier revision (``--before``, default: the merge base with main), run
from a ``git archive`` of that revision's generator/ in a temporary directory, for img/s before
and after.
Run:  .venv/bin/python bench/engines.py [--model resnet152] [--cluster clusters/example16.yaml] [--before REV]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_PLAN_SNIPPET = r"""
import json, sys, tempfile, onnx
from pathlib import Path
from asymap.cluster.load import load_cluster
from asymap.frontend.onnx_import import load_model
from asymap.frontend.zoo import build_zoo_model
from asymap.partition.planner import plan
model, size, cluster = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / f"{model}.onnx"
    onnx.save(build_zoo_model(model, size), str(path))
    graph = load_model(path)
p = plan(graph, load_cluster(cluster))
print(json.dumps({"ips": p.throughput_ips, "boards": len(p.boards), "bottleneck": p.bottleneck,
                  "reuse": p.baselines["reuse_single"]["throughput_ips"],
                  "plan": [[b.clock_mhz, b.interval_s, [[lp.index, lp.factors, lp.cycles, lp.weights] for lp in b.layers]]
                           for b in p.boards]}))
"""


def plan_at(rev: str, model: str, size: int, cluster: str) -> dict:
    """Plan with the generator/ of git revision ``rev`` (its cost model), in a subprocess."""
    with tempfile.TemporaryDirectory() as tmp:
        data = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "generator", "boards"],
                              check=True, capture_output=True).stdout
        with tarfile.open(fileobj=BytesIO(data)) as tf:
            tf.extractall(tmp)
        env = {**os.environ, "PYTHONPATH": str(Path(tmp) / "generator")}
        out = subprocess.run([sys.executable, "-c", _PLAN_SNIPPET, model, str(size), cluster], cwd=tmp, env=env,
                             check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


OLD_DEPTH = 8  # pipeline depth per drained loop assumed for the old engines (issue 11's estimate)


def old_drain_estimate(graph, before: dict) -> float:
    """img/s of the 'before' plan if its engines are charged the drains of their old loop nests:
    the old 1x1/fc engine drained its MAC loop once per output fold of every pixel, the old KxK
    conv/pool engines their row loop once per output row; OLD_DEPTH cycles each."""
    from asymap.frontend.ir import CONV, FC, MAXPOOL, AVGPOOL
    from asymap.partition.costmodel import ceil_div, is_pointwise

    worst = 0.0
    for clock_mhz, interval_s, layers in before["plan"]:
        slow = 0
        for index, f, cycles, weights in layers:
            lay = graph.layers[index]
            extra = 0
            if weights == "onchip" and lay.op in (CONV, FC) and is_pointwise(lay):
                pixels = 1 if lay.op == FC else lay.in_shapes[0][1] * lay.in_shapes[0][2]
                extra = pixels * ceil_div(lay.c_out, f["pe"]) * OLD_DEPTH
            elif lay.op in (CONV, MAXPOOL, AVGPOOL):
                extra = lay.out_shape[1] * OLD_DEPTH
            slow = max(slow, cycles + extra)
        worst = max(worst, slow / (clock_mhz * 1e6), interval_s)
    return 1.0 / worst


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="resnet152")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--cluster", default=str(ROOT / "clusters" / "example16.yaml"))
    ap.add_argument("--before", default=None, help="git revision for the 'before' figure (default: merge base with main)")
    a = ap.parse_args(argv)

    import onnx

    from asymap.cluster.load import load_cluster
    from asymap.frontend.onnx_import import load_model
    from asymap.frontend.zoo import build_zoo_model
    from asymap.partition.costmodel import engine_fill_drain
    from asymap.partition.planner import plan

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{a.model}.onnx"
        onnx.save(build_zoo_model(a.model, a.size), str(path))
        graph = load_model(path)
    cluster_path = str(Path(a.cluster).resolve())
    p = plan(graph, load_cluster(cluster_path))
    layers = graph.layers

    print(f"{'board':<12} {'layers':>9} {'bottleneck layer':<28} {'cycles':>10} {'fill/drain':>10} "
          f"{'share':>7} {'board share':>11}")
    tot_c = tot_f = 0
    worst_share = 0.0
    for b in p.boards:
        cyc = fd = 0
        top = max(b.layers, key=lambda lp: lp.cycles)
        for lp in b.layers:
            f = lp.factors
            off = lp.weights == "offchip"
            fill = engine_fill_drain(layers[lp.index], f["pe"], f["simd"], f.get("kpar", 1), off)
            cyc += lp.cycles
            fd += fill
            if lp is top:
                top_fd = fill
        tot_c += cyc
        tot_f += fd
        share = top_fd / top.cycles
        worst_share = max(worst_share, share)
        print(f"{b.name:<12} {b.first_layer:>4}-{b.last_layer:<4} {top.name[:28]:<28} {top.cycles:>10,} {top_fd:>10,} "
              f"{100 * share:>6.2f}% {100 * fd / cyc:>10.2f}%")
    rev = a.before or subprocess.run(["git", "-C", str(ROOT), "merge-base", "HEAD", "main"], check=True,
                                     capture_output=True, text=True).stdout.strip()
    before = plan_at(rev, a.model, a.size, cluster_path)
    print(f"{'figure':<62} {'value':>14}")
    rows = [
        ("fill/drain share of the bottleneck layers' cycles (max over boards)", f"{100 * worst_share:.2f}%"),
        ("fill/drain share of all boards' modeled layer cycles", f"{100 * tot_f / tot_c:.2f}%"),
        (f"img/s before ({rev[:10]}'s model: II=1, fill ignored)", f"{before['ips']:.1f}"),
        (f"img/s before, its engines' per-fold/per-row drains ({OLD_DEPTH} cyc) charged",
         f"{old_drain_estimate(graph, before):.1f}"),
        ("img/s after (flattened loops, fill/drain charged)", f"{p.throughput_ips:.1f}"),
        ("boards used before / after", f"{before['boards']} / {len(p.boards)}"),
        ("bottleneck before / after", f"{before['bottleneck']} / {p.bottleneck}"),
    ]
    for name, val in rows:
        print(f"{name:<62} {val:>14}")
    print(f"SUMMARY {graph.name} on {Path(a.cluster).stem}: {p.throughput_ips:.1f} img/s after vs "
          f"{before['ips']:.1f} before (model) / {old_drain_estimate(graph, before):.1f} before (old engines' drains "
          f"charged); fill/drain {100 * tot_f / tot_c:.2f}% of all modeled layer cycles, "
          f"at most {100 * worst_share:.2f}% of a board's bottleneck layer")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
