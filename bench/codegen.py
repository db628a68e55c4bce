"""Code generation at scale: ResNet-152 (224x224) on clusters/example16.yaml, weights included.

Builds the model and its plan first (not timed), then runs ``asymap generate`` in a child process
and prints its wall time and peak memory (max RSS of the child) against the targets (<= 10 s,
<= 2 GiB), with the size of the tree it wrote and a per-phase breakdown measured in the same run.

    .venv/bin/python bench/codegen.py [--model resnet152] [--size 224] [--cluster clusters/example16.yaml]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import onnx

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 10.0
TARGET_BYTES = 2 * 1024**3

CHILD = """
import json, sys, time
from asymap.codegen.project import generate
from asymap.frontend.onnx_import import load_model
from asymap.quant.quantize import quantize
from asymap.quant.reference import run_int
from asymap.codegen import vectors
t = {}
def timed(key, fn):
    w, c = time.perf_counter(), time.process_time()
    r = fn()
    t[key] = [time.perf_counter() - w, time.process_time() - c]
    return r
timed('generate', lambda: generate(sys.argv[1], sys.argv[2], sys.argv[4], plan=sys.argv[3], quiet=True))
g = timed('import', lambda: load_model(sys.argv[1]))
q = timed('quantize', lambda: quantize(g, seed=0))
timed('reference', lambda: run_int(q, vectors.default_input(q, 0), return_all=True))
print(json.dumps(t))
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="resnet152")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--cluster", default=str(ROOT / "clusters" / "example16.yaml"))
    args = ap.parse_args(argv)

    from asymap.cluster.load import load_cluster
    from asymap.frontend.onnx_import import load_model
    from asymap.frontend.zoo import build_zoo_model
    from asymap.partition.planner import plan

    with tempfile.TemporaryDirectory(prefix="asymap-bench-codegen-") as tmp:
        d = Path(tmp)
        model = d / f"{args.model}.onnx"
        onnx.save(build_zoo_model(args.model, input_size=args.size, seed=0), str(model))
        g = load_model(model)
        p = plan(g, load_cluster(args.cluster))
        (d / "plan.json").write_text(json.dumps(p.to_dict() if hasattr(p, "to_dict") else p))
        out = d / "out"
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", CHILD, str(model), args.cluster, str(d / "plan.json"), str(out)],
                              capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            print(proc.stderr)
            return 1
        phases = json.loads(proc.stdout.strip().splitlines()[-1])
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        files = [f for f in out.rglob("*") if f.is_file()]
        size = sum(f.stat().st_size for f in files)
        chain = json.loads((out / "chain.json").read_text())

    gen = phases["generate"][0]
    own = [phases["generate"][k] - sum(phases[p][k] for p in ("import", "quantize", "reference")) for k in (0, 1)]
    print(f"{args.model} {args.size}x{args.size}: {len(g)} layers, {g.macs / 1e9:.2f} G MACs, "
          f"{len(chain['boards'])} boards of {Path(args.cluster).name}")
    rows = [("phase (same child process)", "wall s", "CPU s")]
    for key, label in (("import", "import ONNX"), ("quantize", "quantize (calibration)"),
                       ("reference", "integer reference (test vectors)")):
        rows.append((label, f"{phases[key][0]:.2f}", f"{phases[key][1]:.2f}"))
    rows.append(("segments + templates + files (the rest)", f"{own[0]:.2f}", f"{own[1]:.2f}"))
    rows.append(("asymap generate, total", f"{gen:.2f}", f"{phases['generate'][1]:.2f}"))
    w = max(len(r[0]) for r in rows)
    for name, a, b in rows:
        print(f"  {name.ljust(w)}  {a.rjust(8)}  {b.rjust(8)}")
    print(f"  (child process wall including the phase re-runs: {wall:.1f} s; CPU s counts every BLAS thread)")
    print(f"  tree: {len(files)} files, {size / 2**20:.1f} MiB; peak RSS of the child {rss / 2**30:.2f} GiB")
    ok = gen <= TARGET_S and rss <= TARGET_BYTES
    print(f"summary: generate {gen:.1f} s wall / {phases['generate'][1]:.1f} s CPU (target <= {TARGET_S:.0f} s), peak memory {rss / 2**30:.2f} GiB "
          f"(target <= 2 GiB): {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
