#!/usr/bin/env python3
"""Benchmark: integer reference vs onnxruntime float on ResNet-152, import + quantize time.

Prints a table and a one-line summary. Targets (issue "foundation"): int reference <= 4x
onnxruntime's float time on the same model in the same process, peak memory <= 2 GiB, import +
quantize <= 10 s. Run:  .venv/bin/python bench/reference.py [--model resnet152] [--size 224]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _best(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="resnet152")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args(argv)

    import onnx
    import onnxruntime as ort

    from asymap.frontend.onnx_import import load_model
    from asymap.frontend.zoo import build_zoo_model
    from asymap.quant.quantize import quantize
    from asymap.quant.reference import dequantize, quantize_input, run_float, run_int, sqnr_db

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{a.model}.onnx"
        t = time.perf_counter()
        onnx.save(build_zoo_model(a.model, a.size), str(path))
        rows.append(("zoo build + save", time.perf_counter() - t))
        t = time.perf_counter()
        g = load_model(path)
        t_imp = time.perf_counter() - t
        t = time.perf_counter()
        q = quantize(g)
        t_q = time.perf_counter() - t
        rows += [("import (load, check, fold)", t_imp), ("quantize (4-image calibration)", t_q)]
        x = np.random.default_rng(1).standard_normal((3, a.size, a.size)).astype(np.float32)
        opts = ort.SessionOptions()
        sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        feed = {sess.get_inputs()[0].name: x[None]}
        sess.run(None, feed)  # warm-up
        t_ort = _best(lambda: sess.run(None, feed), a.repeat)
        xq = quantize_input(q, x)
        run_int(q, xq)  # warm-up (caches float32 weight copies)
        t_int = _best(lambda: run_int(q, xq), a.repeat)
        t_flt = _best(lambda: run_float(g, x), 1)
        y_int = dequantize(q, g.output, run_int(q, xq))
        y_flt = run_float(g, x)
        rows += [("onnxruntime float32 run", t_ort), ("asymap int reference run", t_int), ("asymap float64 reference run", t_flt)]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
    print(f"{'step (' + a.model + f' {a.size}x{a.size}, batch 1)':<44} {'seconds':>9}")
    for name, sec in rows:
        print(f"{name:<44} {sec:9.3f}")
    print(f"{'SQNR int vs float (dB)':<44} {sqnr_db(y_flt, y_int):9.1f}")
    print(f"{'peak RSS of this process (GiB)':<44} {peak:9.2f}")
    print(f"{'machine load average (1 min) / cores':<44} {os.getloadavg()[0]:9.1f} / {os.cpu_count()}")
    ratio = t_int / t_ort
    ok = ratio <= 4 and peak <= 2 and t_imp + t_q <= 10
    print(
        f"summary: int reference {t_int:.2f}s = {ratio:.2f}x onnxruntime ({t_ort:.2f}s) [target <= 4x], "
        f"peak {peak:.2f} GiB [<= 2], import+quantize {t_imp + t_q:.2f}s [<= 10]: {'OK' if ok else 'MISSED'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
