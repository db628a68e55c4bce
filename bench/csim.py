"""C-simulation speed of a generated chain: ResNet-18 (32x32) on four boards of different types.

Generates the projects (hand-written plan: cuts inside residual blocks, one pass-through board),
compiles every board with g++ -O2 (verify's parallel build), runs the chain, and prints per board
the compile time, the C-sim run time and its MAC/s next to the numpy integer reference's MAC/s on
the same layers, measured in the same run.

    .venv/bin/python bench/csim.py [--width-mult 0.25] [--jobs 2] [--repeat 3]
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


#: the hand-written plan: (board, first layer, last layer) -- cuts inside residual blocks, and
#: board vc709 passes one layer through
CUTS = [("u250", 0, 2), ("u280", 3, 8), ("vc709", 9, 9), ("zcu102", 10, 30)]


def make_chain(d: Path, width_mult: float) -> tuple[Path, Path]:
    """ResNet-18 (32x32) generated onto clusters/mixed4.yaml with CUTS in ``d``: (model, OUT)."""
    from asymap.codegen.project import generate
    from asymap.frontend.zoo import build_zoo_model

    model = d / "resnet18.onnx"
    onnx.save(build_zoo_model("resnet18", input_size=32, width_mult=width_mult, seed=0), str(model))
    plan = {"boards": [{"name": n, "first_layer": f, "last_layer": l,
                        "layers": [{"index": i, "factors": {"pe": 2, "simd": 4}} for i in range(f, l + 1)]}
                       for n, f, l in CUTS],
            "links": [{"from": a[0], "to": b[0], "width_bits": 128} for a, b in zip(CUTS, CUTS[1:])]}
    generate(model, ROOT / "clusters" / "mixed4.yaml", d / "out", plan=plan, quiet=True)
    return model, d / "out"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width-mult", type=float, default=0.25)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3, help="reference timing repetitions (best of)")
    args = ap.parse_args(argv)

    from asymap.frontend.onnx_import import load_model
    from asymap.quant.quantize import quantize
    from asymap.quant.reference import int_layer
    from asymap.verify.runner import verify

    with tempfile.TemporaryDirectory(prefix="asymap-bench-csim-") as tmp:
        d = Path(tmp)
        t0 = time.perf_counter()
        model, _ = make_chain(d, args.width_mult)
        t_gen = time.perf_counter() - t0
        cuts = CUTS
        t0 = time.perf_counter()
        res = verify(d / "out", jobs=args.jobs, quiet=True)
        t_verify = time.perf_counter() - t0

        # numpy reference per layer, same input as the chain.
        g = load_model(model)
        qg = quantize(g, seed=0)
        x = np.load(d / "out" / "input.npy")
        vals = {g.input: x}
        ref_s = np.zeros(len(g))
        for q in qg.layers:
            best = float("inf")
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                y = int_layer(q, [vals[n] for n in q.layer.inputs], x_signed=qg.tensors[q.layer.inputs[0]].signed)
                best = min(best, time.perf_counter() - t0)
            vals[q.layer.output] = y
            ref_s[q.index] = best

    print(f"ResNet-18 32x32 width {args.width_mult}: {g.macs / 1e6:.2f} M MACs, {len(g)} layers, 4 boards")
    hdr = ("board", "layers", "MMACs", "compile s", "C-sim s", "C-sim MMAC/s", "numpy s", "numpy MMAC/s", "numpy/C-sim", "status")
    rows = []
    for r, (n, f, l) in zip(res.boards, cuts):
        macs = sum(ly.macs for ly in g.layers[f:l + 1])
        ref = float(ref_s[f:l + 1].sum())
        cs = macs / r.run_s / 1e6 if r.run_s else 0.0
        ns = macs / ref / 1e6 if ref else 0.0
        rows.append((n, f"{f}..{l}", f"{macs / 1e6:.2f}", f"{r.compile_s:.1f}", f"{r.run_s:.3f}", f"{cs:.1f}",
                     f"{ref:.4f}", f"{ns:.1f}", f"{ns / cs:.1f}x" if cs else "-", r.status))
    w = [max(len(str(row[k])) for row in [hdr] + rows) for k in range(len(hdr))]
    for row in [hdr] + rows:
        print("  ".join(str(c).rjust(wk) for c, wk in zip(row, w)))
    comp = sum(r.compile_s for r in res.boards)
    run = sum(r.run_s for r in res.boards)
    ref_total = float(ref_s.sum())
    print(f"summary: generate {t_gen:.1f} s, compile {comp:.1f} s summed over boards ({args.jobs} jobs, verify wall {t_verify:.1f} s), "
          f"C-sim chain {run:.2f} s = {g.macs / run / 1e6:.1f} MMAC/s vs numpy reference {ref_total:.3f} s = "
          f"{g.macs / ref_total / 1e6:.1f} MMAC/s; bit-exact: {'yes' if res.ok else 'NO'}")
    return 0 if res.ok else 1


if __name__ == "__main__":
    sys.exit(main())
