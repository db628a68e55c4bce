#!/usr/bin/env python3
"""Benchmark: MAC kinds and weight memories of the ResNet-152 plan, per board.

For each cluster given (default: example16, plus clusters/u280x16.yaml when it exists), plans
ResNet-152 (224x224) and prints, per board of the pipeline: its DSPs used/available, the DSPs of the
weight multipliers of each MAC kind (``packed``: two int8 MACs per DSP48E2, ``dsp``: one per DSP),
the layers on LUT multipliers and the LUTs of all MAC kinds, the DSPs of the requantization
multipliers, URAM/BRAM used, layers preloaded into URAM and the board's start-up time; then img/s
of the plan and a one-line summary. No assertion: the figures go into docs/cost-model.md.
Run:  .venv/bin/python bench/macmem.py [--cluster clusters/example16.yaml ...] [--model resnet152]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def board_rows(plan) -> list[dict]:
    rows = []
    for b in plan.boards:
        kinds: dict[str, int] = {}
        for ly in b.layers:
            k = getattr(ly, "mac", "") or ""
            if k:
                kinds[k] = kinds.get(k, 0) + int(getattr(ly, "mac_dsp", ly.dsp))
        rows.append({
            "board": b.name, "type": b.type, "layers": f"{b.first_layer}..{b.last_layer}",
            "dsp": b.resources["dsp"], "kinds": kinds,
            "requant": sum(int(getattr(ly, "requant_dsp", 0)) for ly in b.layers),
            "lut_mults": sum(int(getattr(ly, "mac_lut", 0)) for ly in b.layers),
            "lut_layers": sum(getattr(ly, "mac", "") == "lut" for ly in b.layers),
            "uram": b.resources["uram"], "bram": b.resources["bram36"],
            "preload": sum(ly.weights == "preload" for ly in b.layers),
            "startup_s": getattr(b, "startup_s", 0.0),
        })
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="resnet152")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--cluster", action="append", default=None)
    a = ap.parse_args(argv)
    import onnx

    from asymap.cluster.load import load_cluster
    from asymap.frontend.onnx_import import load_model
    from asymap.frontend.zoo import build_zoo_model
    from asymap.partition.planner import plan as make_plan

    clusters = a.cluster or [str(ROOT / "clusters" / "example16.yaml")]
    u280 = ROOT / "clusters" / "u280x16.yaml"
    if a.cluster is None and u280.is_file():
        clusters.append(str(u280))
    with tempfile.TemporaryDirectory() as td:
        path = Path(td) / f"{a.model}.onnx"
        onnx.save(build_zoo_model(a.model, a.size), str(path))
        graph = load_model(path)
    for cpath in clusters:
        cluster = load_cluster(cpath)
        p = make_plan(graph, cluster)
        print(f"\n{a.model} on {Path(cpath).name}: {len(p.boards)} boards, {p.throughput_ips:,.1f} img/s")
        print(f"{'board':<10} {'type':<7} {'layers':<9} {'dsp used/avail':>15} {'packed':>7} {'dsp':>6} "
              f"{'lut lyrs':>8} {'mac LUTs':>9} {'requant':>7} {'uram':>11} {'bram36':>11} {'preload':>7} {'startup':>9}")
        tot: dict[str, int] = {}
        for r in board_rows(p):
            k = r["kinds"]
            for kk, v in k.items():
                tot[kk] = tot.get(kk, 0) + v
            print(f"{r['board']:<10} {r['type']:<7} {r['layers']:<9} {r['dsp'][0]:>7}/{r['dsp'][1]:<7} "
                  f"{k.get('packed', 0):>7} {k.get('dsp', 0):>6} {r['lut_layers']:>8} {r['lut_mults']:>9} "
                  f"{r['requant']:>7} {r['uram'][0]:>5}/{r['uram'][1]:<5} {r['bram'][0]:>5}/{r['bram'][1]:<5} "
                  f"{r['preload']:>7} {r['startup_s'] * 1e3:>7.2f}ms")
        lut = sum(r["lut_layers"] for r in board_rows(p))
        print(f"summary: {a.model} on {Path(cpath).name}: {p.throughput_ips:,.1f} img/s on {len(p.boards)} boards; "
              f"weight-multiplier DSPs by kind {tot}, {lut} layers on LUT multipliers")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
