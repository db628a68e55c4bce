#!/usr/bin/env python3
"""Benchmark: real exporters' models in, right numbers out.

Part 1 -- torchvision classification CNNs exported by both PyTorch exporters (the ONNX files
``bench/export_torchvision.py`` writes; it needs torch, which asymap does not depend on): import
ok (or the one-line error), float error of asymap's float reference against onnxruntime, SQNR of
the integer reference against float (seeded synthetic calibration), planned img/s on example16.

Part 2 -- onnxruntime QDQ versions (``quant_pre_process`` then ``quantize_static``: asymmetric
QUInt8 / QInt8 activations, per-tensor or per-channel QInt8 weights) of asymap zoo ResNet-18,
ResNet-50 and MobileNetV2:
agreement of asymap's integer reference with onnxruntime's own run of the QDQ file (fraction of
output values that differ, largest difference in output steps, SQNR against onnxruntime).

Part 3 -- the small squeeze-excite variants (EfficientNet, MobileNetV3, RegNetY blocks at 32x32):
import, float error, int SQNR, plan img/s, and generate + verify on two boards (bit-exact or not).

Part 4 -- small variants of the zoo's torchvision-structured DenseNet-121 and ShuffleNetV2 (two
blocks / stages, 32x32, width 0.25): generated for two boards cut inside a block (where the most
tensors cross, near the middle) and C-simulated as a chain, bit-exact against the integer reference
or not. ``--skip-verify`` skips the C-simulation of parts 3 and 4.

Run:  .venv/bin/python bench/frontend.py [--torch-dir /tmp/asymap-torchvision] [--size 224] [--skip-qdq] [--skip-verify]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _rel_err(a, b) -> float:
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))


def torchvision_rows(tdir: Path, cluster) -> list[tuple]:
    import onnxruntime as ort

    from asymap.errors import UserError
    from asymap.frontend.onnx_import import load_model
    from asymap.partition.planner import plan
    from asymap.quant.quantize import quantize
    from asymap.quant.reference import dequantize, quantize_input, run_float, run_int, sqnr_db

    rows = []
    for path in sorted(tdir.glob("*_[01].onnx")):
        fam, exporter = path.stem.rsplit("_", 1)
        exp = "dynamo" if exporter == "1" else "torchscript"
        t0 = time.perf_counter()
        try:
            g = load_model(path)
        except UserError as exc:
            msg = str(exc).split(": ", 1)[-1]
            rows.append((fam, exp, "no: " + msg[:70], "", "", ""))
            continue
        x = np.random.default_rng(1).standard_normal(g.input_shape).astype(np.float32)
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        err = _rel_err(run_float(g, x), sess.run(None, {sess.get_inputs()[0].name: x[None]})[0])
        try:
            q = quantize(g)
            sq = f"{sqnr_db(run_float(g, x), dequantize(q, g.output, run_int(q, quantize_input(q, x)))):.1f}"
        except UserError as exc:
            sq = "no: " + str(exc).split("(", 1)[-1][:40]
        ips = plan(g, cluster).throughput_ips
        rows.append((fam, exp, f"yes ({len(g)} layers)", f"{err:.1e}", sq, f"{ips:,.0f}"))
        print(f"  {fam} {exp}: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    return rows


def qdq_rows(size: int, images: int) -> list[tuple]:
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from asymap.frontend.onnx_import import load_model
    from asymap.frontend.zoo import build_zoo_model
    from asymap.quant.ortcompare import compare_with_onnxruntime
    from asymap.quant.quantize import quantize

    class Reader(CalibrationDataReader):
        def __init__(self):
            rng = np.random.default_rng(1)
            self.it = iter([{"input": rng.standard_normal((1, 3, size, size)).astype(np.float32)} for _ in range(8)])

        def get_next(self):
            return next(self.it, None)

    test = np.random.default_rng(7).standard_normal((images, 3, size, size)).astype(np.float32)
    rows = []
    with tempfile.TemporaryDirectory() as td:
        for name in ("resnet18", "resnet50", "mobilenetv2"):
            raw, src = Path(td) / f"{name}_raw.onnx", Path(td) / f"{name}.onnx"
            onnx.save(build_zoo_model(name, input_size=size), str(raw))
            # onnxruntime's recommended pre-processing folds BatchNormalization into the convs;
            # without it the quantizer rounds each conv output before its BN, which asymap refuses.
            quant_pre_process(str(raw), str(src), skip_symbolic_shape=True)
            for act, pc in (("QUInt8", False), ("QUInt8", True), ("QInt8", True)):
                t0 = time.perf_counter()
                dst = Path(td) / f"{name}_{act}_{int(pc)}.onnx"
                quantize_static(str(src), str(dst), Reader(), quant_format=QuantFormat.QDQ, per_channel=pc,
                                activation_type=getattr(QuantType, act), weight_type=QuantType.QInt8)  # fmt: skip
                q = quantize(load_model(dst))
                a = compare_with_onnxruntime(q, dst, test)
                rows.append((name, act, "per-channel" if pc else "per-tensor", f"{a.outputs}", f"{100 * a.fraction_differ:.2f} %",
                             f"{a.max_lsb}", f"{a.sqnr_db:.1f}"))  # fmt: skip
                print(f"  {name} {act} {pc}: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    return rows


def se_rows(cluster, verify_boards: bool) -> list[tuple]:
    """The small squeeze-excite variants (asymap.frontend.zoo.build_se_model, 32x32): import,
    float error vs onnxruntime, int SQNR, plan img/s, and generate + verify on two boards of
    clusters/pair2.yaml cut inside the first squeeze-excite block (bit-exact or not)."""
    import onnx
    import onnxruntime as ort

    from asymap.codegen.project import generate
    from asymap.frontend import ir
    from asymap.frontend.onnx_import import load_model
    from asymap.frontend.zoo import SE_NAMES, build_se_model
    from asymap.partition.planner import plan
    from asymap.quant.quantize import quantize
    from asymap.quant.reference import dequantize, quantize_input, run_float, run_int, sqnr_db
    from asymap.verify.runner import verify

    rows = []
    with tempfile.TemporaryDirectory() as td:
        for name in SE_NAMES:
            t0 = time.perf_counter()
            path = Path(td) / f"{name}.onnx"
            onnx.save(build_se_model(name), str(path))
            g = load_model(path)
            x = np.random.default_rng(1).standard_normal(g.input_shape).astype(np.float32)
            sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            err = _rel_err(run_float(g, x), sess.run(None, {"input": x[None]})[0])
            q = quantize(g)
            sq = sqnr_db(run_float(g, x), dequantize(q, g.output, run_int(q, quantize_input(q, x))))
            ips = plan(g, cluster).throughput_ips
            ok = "not run"
            if verify_boards:
                cut = next(lay.index for lay in g.layers if lay.op == ir.CHMUL) - 2
                fac = lambda a, b: [{"index": i, "factors": {"pe": 2, "simd": 2}, "weights": "onchip"} for i in range(a, b + 1)]  # noqa: E731
                pl = {"schema": 1, "boards": [
                    {"name": "big", "first_layer": 0, "last_layer": cut, "layers": fac(0, cut)},
                    {"name": "small", "first_layer": cut + 1, "last_layer": len(g) - 1, "layers": fac(cut + 1, len(g) - 1)}],
                    "links": [{"from": "big", "to": "small", "width_bits": 64}]}  # fmt: skip
                out = Path(td) / f"out_{name}"
                generate(path, ROOT / "clusters" / "pair2.yaml", out, plan=pl, quiet=True)
                ok = "yes" if verify(out, jobs=2, quiet=True).ok else "NO"
            luts = sum(1 for lay in g.layers if lay.op == ir.LUT)
            muls = sum(1 for lay in g.layers if lay.op == ir.CHMUL)
            rows.append((name, f"yes ({len(g)} layers: {luts} lut, {muls} chmul)", f"{err:.1e}", f"{sq:.1f}", f"{ips:,.0f}", ok))
            print(f"  {name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    return rows


def _table(head, rows) -> None:
    w = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    print("  ".join(str(h).ljust(w[i]) for i, h in enumerate(head)))
    print("  ".join("-" * w[i] for i in range(len(head))))
    for r in rows:
        print("  ".join(str(c).ljust(w[i]) for i, c in enumerate(r)))


def verify_rows() -> list[tuple]:
    import onnx

    from asymap.codegen.project import generate
    from asymap.frontend.onnx_import import load_model
    from asymap.frontend.zoo import build_zoo_model
    from asymap.verify.runner import verify

    rows = []
    with tempfile.TemporaryDirectory() as td:
        for name, blocks in (("densenet121", (2, 2)), ("shufflenetv2", (2, 2))):
            t0 = time.perf_counter()
            model = Path(td) / f"{name}.onnx"
            onnx.save(build_zoo_model(name, input_size=32, width_mult=0.25, num_classes=10, blocks=blocks), str(model))
            g = load_model(model)
            n = len(g)  # cut where the most tensors cross, inside a block, near the middle
            cut = max(range(n // 4, 3 * n // 4), key=lambda i: (len(g.live_across(i)), -abs(i - n // 2)))
            plan = {"schema": 1, "boards": [
                {"name": "big", "first_layer": 0, "last_layer": cut, "layers": [{"index": i, "factors": {"pe": 2, "simd": 2}} for i in range(cut + 1)]},
                {"name": "small", "first_layer": cut + 1, "last_layer": len(g) - 1, "layers": [{"index": i, "factors": {"pe": 1, "simd": 2}} for i in range(cut + 1, len(g))]}],
                "links": [{"from": "big", "to": "small", "width_bits": 64}]}  # fmt: skip
            out = Path(td) / name
            generate(model, ROOT / "clusters" / "pair2.yaml", out, plan=plan, quiet=True)
            res = verify(out, jobs=2, quiet=True)
            crossing = len(g.live_across(cut))
            rows.append((f"{name} blocks {blocks}", f"{len(g)}", f"after layer {cut} ({crossing} tensors cross)",
                         "yes" if res.ok else "NO: " + "; ".join(p for b in res.boards for p in b.problems)[:60],
                         f"{time.perf_counter() - t0:.0f} s"))  # fmt: skip
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--torch-dir", default="/tmp/asymap-torchvision", help="output of bench/export_torchvision.py")
    ap.add_argument("--cluster", default=str(ROOT / "clusters" / "example16.yaml"))
    ap.add_argument("--size", type=int, default=224, help="input size of the QDQ zoo models")
    ap.add_argument("--images", type=int, default=4, help="test images for the onnxruntime agreement")
    ap.add_argument("--skip-qdq", action="store_true")
    ap.add_argument("--skip-verify", action="store_true", help="do not generate + verify the small variants (parts 3 and 4)")
    a = ap.parse_args(argv)
    from asymap.cluster.load import load_cluster

    summary = []
    tdir = Path(a.torch_dir)
    if tdir.is_dir() and any(tdir.glob("*_[01].onnx")):
        rows = torchvision_rows(tdir, load_cluster(a.cluster))
        print("torchvision CNNs, both PyTorch exporters (random weights, 224x224; Inception-v3 299x299)")
        _table(("family", "exporter", "import", "float rel err vs ORT", "int SQNR dB", "plan img/s example16"), rows)
        ok = sum(1 for r in rows if r[2].startswith("yes"))
        summary.append(f"{ok}/{len(rows)} torchvision exports import")
    else:
        print(f"(no exported torchvision models in {tdir}: run bench/export_torchvision.py with a torch Python first)")
    rows = se_rows(load_cluster(a.cluster), not a.skip_verify)
    print()
    print("small squeeze-excite variants (asymap.frontend.zoo.build_se_model, 32x32), verify: two boards of pair2, "
          "cut inside a squeeze-excite block")
    _table(("model", "import", "float rel err vs ORT", "int SQNR dB", "plan img/s example16", "verify bit-exact"), rows)
    summary.append(f"{sum(1 for r in rows if r[5] == 'yes')}/{len(rows)} squeeze-excite variants verify bit-exact")
    if not a.skip_qdq:
        rows = qdq_rows(a.size, a.images)
        print()
        print(f"onnxruntime QDQ (quantize_static) of asymap zoo models, {a.size}x{a.size}, {a.images} test images: "
              "asymap integer reference vs onnxruntime's run of the same file")  # fmt: skip
        _table(("model", "activations", "weights", "outputs", "differ", "max LSB", "SQNR vs ORT dB"), rows)
        summary.append(f"QDQ: worst {max(float(r[4].split()[0]) for r in rows):.2f} % of outputs differ, "
                       f"max {max(int(r[5]) for r in rows)} LSB, min SQNR vs onnxruntime {min(float(r[6]) for r in rows):.1f} dB")  # fmt: skip
    if not a.skip_verify:
        rows = verify_rows()
        print()
        print("zoo DenseNet-121 / ShuffleNetV2 small variants (32x32, width 0.25) on two boards (pair2), C-sim chain")
        _table(("model", "layers", "cut", "bit-exact", "generate + verify"), rows)
        summary.append(f"{sum(r[3] == 'yes' for r in rows)}/{len(rows)} small variants bit-exact on two boards")
    print("summary: " + "; ".join(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
