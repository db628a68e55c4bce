#!/usr/bin/env python3
"""Benchmark: onnxruntime QDQ models with asymmetric activations through the generated hardware.

asymap zoo models (32x32, width 0.25) are pre-processed and quantized by onnxruntime
(``quant_pre_process`` then ``quantize_static``: QUInt8 activations with per-tensor weights,
onnxruntime's defaults, and QInt8 activations with non-zero zero points and per-channel weights),
planned on edge4 (``--util`` low enough that the planner spreads the model over several boards,
some streaming weights off-chip), generated, and C-simulated board by board with ``asymap verify``
at ``--fifo-slack 32``. Prints per model: zero-point tensors, boards used, verify result,
compile and run seconds.

Run:  .venv/bin/python bench/qdq_hardware.py [--models resnet18 mobilenetv2] [--util 0.15]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx

ROOT = Path(__file__).resolve().parents[1]


def quantized_zoo(d: Path, name: str, act: str, size: int = 32) -> Path:
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from asymap.frontend.zoo import build_zoo_model

    class Reader(CalibrationDataReader):
        def __init__(self):
            rng = np.random.default_rng(1)
            self.it = iter([{"input": rng.standard_normal((1, 3, size, size)).astype(np.float32)} for _ in range(8)])

        def get_next(self):
            return next(self.it, None)

    raw, pre, dst = d / f"{name}.onnx", d / f"{name}_pre.onnx", d / f"{name}_{act}.onnx"
    onnx.save(build_zoo_model(name, input_size=size, width_mult=0.25, num_classes=10), str(raw))
    quant_pre_process(str(raw), str(pre), skip_symbolic_shape=True)
    quantize_static(str(pre), str(dst), Reader(), quant_format=QuantFormat.QDQ, per_channel=act == "QInt8",
                    activation_type=getattr(QuantType, act), weight_type=QuantType.QInt8)
    return dst


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["resnet18", "mobilenetv2"])
    ap.add_argument("--acts", nargs="+", default=["QUInt8", "QInt8"])
    ap.add_argument("--util", type=float, default=0.15)
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT / "generator"))
    from asymap.cluster.load import load_cluster
    from asymap.codegen.planio import load_plan_dict
    from asymap.codegen.project import generate
    from asymap.frontend.onnx_import import load_model
    from asymap.partition.planner import plan
    from asymap.quant.quantize import quantize
    from asymap.verify.runner import verify

    cl = load_cluster(ROOT / "clusters" / "edge4.yaml")
    print(f"{'model':12} {'act':6} {'zp tensors':>10} {'boards':>6} {'offchip':>7} {'verify':>8} {'compile s':>9} "
          f"{'run s':>6}")
    bad = 0
    for name in args.models:
        for act in args.acts:
            with tempfile.TemporaryDirectory() as tmp:
                d = Path(tmp)
                path = quantized_zoo(d, name, act)
                g = load_model(path)
                q = quantize(g)
                nz = sum(1 for t in q.tensors.values() if t.zero_point)
                p = plan(g, cl, util=args.util)
                generate(path, cl, d / "out", plan=p, quiet=True)
                t0 = time.time()
                res = verify(d / "out", jobs=2, quiet=True, fifo_slack=32)
                pd = load_plan_dict(p)
                boards = len(res.boards)
                off = sum(1 for b in pd.get("boards", []) for ly in b.get("layers", []) if ly.get("weights") == "offchip")
                comp = sum(getattr(b, "compile_s", 0.0) or 0.0 for b in res.boards)
                run = sum(getattr(b, "run_s", 0.0) or 0.0 for b in res.boards)
                status = "PASS" if res.ok else "FAIL"
                bad |= not res.ok
                print(f"{name:12} {act:6} {nz:>7}/{len(q.tensors):<3}{boards:>6} {off:>7} {status:>8} {comp:>9.1f} {run:>6.2f}"
                      f"   (verify wall {time.time() - t0:.0f} s, 2 jobs)", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
