"""``asymap reference``: run the bit-exact integer (or float) reference on one image."""

from __future__ import annotations

HELP = "run the numpy reference (int8 bit-exact, or float) on one image and save the output .npy"
EXAMPLE = (
    "asymap reference tiny.onnx --input x.npy --int -o y.npy\n"
    "  asymap reference model_qdq.onnx --check-ort -o y.npy     # onnxruntime QDQ model: compare with onnxruntime\n"
    "  asymap reference resnet50.onnx --calib calib/ --calib-method percentile --sqnr-json sqnr.json -o y.npy\n"
    "  asymap reference resnet50.onnx --float -o y_float.npy      # seeded synthetic input image"
)


def add_calib_arguments(p) -> None:
    """--calib / --calib-method / --percentile, shared by reference, plan and generate."""
    p.add_argument("--calib", metavar="X.npy|DIR",
                   help="calibration images: a .npy batch (N,C,H,W) or a folder of .npy files; default: seeded synthetic")
    p.add_argument("--calib-method", choices=("maxabs", "percentile"), default="maxabs",
                   help="activation range rule (default maxabs; percentile clips rare outliers)")
    p.add_argument("--percentile", type=float, default=99.99, metavar="P",
                   help="with --calib-method percentile: the percentile of |value| per image (default 99.99)")


def add_arguments(p):
    p.add_argument("model", metavar="MODEL.onnx", help="ONNX model to run")
    p.add_argument("--input", metavar="X.npy", help="float image (C,H,W) or (1,C,H,W); default: seeded standard-normal")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--int", dest="mode", action="store_const", const="int", help="integer reference (default)")
    mode.add_argument("--float", dest="mode", action="store_const", const="float", help="float64 reference")
    p.set_defaults(mode="int")
    add_calib_arguments(p)
    p.add_argument("--sqnr-json", metavar="OUT.json", help="with --int: also write the per-layer SQNR table as JSON")
    p.add_argument("--check-ort", action="store_true",
                   help="with --int: also run the model in onnxruntime and report how many outputs differ (QDQ models)")
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic input and calibration (default 0)")
    p.add_argument("--input-shape", metavar="C,H,W", help="input shape when the model's is dynamic")
    p.add_argument("-o", "--output", required=True, metavar="OUT.npy", help="where to write the output tensor")


def run(args) -> int:
    import json

    import numpy as np

    from asymap.errors import UserError
    from asymap.frontend.onnx_import import load_model
    from asymap.quant.quantize import quantize
    from asymap.quant.calib import as_calibration, load_calibration
    from asymap.quant.reference import dequantize, layer_sqnr, quantize_input, run_float, run_int, sqnr_db
    from asymap.util.arrays import load_npy, parse_shape
    from asymap.util.fileio import atomic_save_npy, atomic_write_text, check_not_input, check_output_dir
    from asymap.util.progress import status

    # Every check a user can fail comes first, so an error is the only line on stderr.
    check_output_dir(args.output)
    check_not_input(args.output, args.model, args.input, args.calib)
    g = load_model(args.model, parse_shape(args.input_shape))
    shape = tuple(g.input_shape)
    if args.input:
        x = load_npy(args.input, "input image")
        if x.ndim == 4 and x.shape[0] == 1:
            x = x[0]
        if x.shape != shape or not np.issubdtype(x.dtype, np.number):
            raise UserError(f"{args.input}: image has shape {x.shape} ({x.dtype}), the model needs {shape} floats (C,H,W)")
        x = x.astype(np.float32)
        if not np.all(np.isfinite(x)):
            raise UserError(f"{args.input}: image contains NaN or infinity")
    else:
        x = np.random.default_rng(args.seed + 1).standard_normal(shape, dtype=np.float32)
    calib = None
    if args.mode == "int":
        if args.sqnr_json:
            check_output_dir(args.sqnr_json)
        if args.calib:
            calib = load_calibration(args.calib, args.calib_method, args.percentile, shape)
        else:
            as_calibration(None, args.calib_method, args.percentile)  # validates the method flags

    status(f"{args.model}: {len(g)} layers, {g.macs / 1e9:.3g} GMAC; float reference", args.quiet)
    y_float = run_float(g, x)
    if args.mode == "float":
        atomic_save_npy(args.output, y_float.astype(np.float32))
        if args.json:
            _print_json(output=args.output, mode="float", dtype="float32", shape=list(y_float.shape))
            return 0
        print(f"wrote {args.output}: float32 {y_float.shape}")
        return 0
    n_cal = "synthetic" if calib is None else f"{calib.images.shape[0]} {calib.method}"
    status(f"{args.model}: quantizing ({n_cal} calibration images) and running the integer reference", args.quiet)
    q = quantize(g, calib=calib, seed=args.seed)
    y = run_int(q, quantize_input(q, x))
    out = q.output
    rows = layer_sqnr(q, x)
    if not args.json:  # --json prints one document; the rows are in --sqnr-json
        print(f"{'#':>4}  {'layer':<32} {'op':<8} {'type':<5} {'SQNR dB':>8}")
        for r in rows:
            print(f"{r['index']:>4}  {r['name'][:32]:<32} {r['op']:<8} {r['type']:<5} {r['sqnr_db']:>8.1f}")
        worst = min(rows, key=lambda r: r["sqnr_db"])
        print(f"lowest per-layer SQNR: {worst['sqnr_db']:.1f} dB at layer {worst['index']} ({worst['name']})")
    if args.sqnr_json:
        finite = [{**r, "sqnr_db": r["sqnr_db"] if np.isfinite(r["sqnr_db"]) else None} for r in rows]  # JSON has no inf
        doc = {"model": str(args.model), "calib": q.calib, "layers": finite}
        atomic_write_text(args.sqnr_json, json.dumps(doc, indent=2, sort_keys=True, default=float) + "\n")
    if args.check_ort:
        from asymap.quant.ortcompare import compare_with_onnxruntime

        a = compare_with_onnxruntime(q, args.model, x[None])
        print(f"onnxruntime: {a.differ} of {a.outputs} outputs differ (at most {a.max_lsb} output steps), "
              f"SQNR vs onnxruntime {a.sqnr_db:.1f} dB")  # fmt: skip
    atomic_save_npy(args.output, y.astype(np.int8 if out.signed else np.uint8))
    sq = sqnr_db(y_float, dequantize(q, g.output, y))
    zp = f", zero point {out.zero_point}" if out.zero_point else ""
    if args.json:
        _print_json(output=args.output, mode="int", dtype="int8" if out.signed else "uint8", shape=list(y.shape),
                    scale=float(out.scale), sqnr_db=float(sq), zero_point=int(out.zero_point))
        return 0
    print(f"wrote {args.output}: {'int8' if out.signed else 'uint8'} {y.shape}, scale {out.scale:.6g}{zp}; "
          f"SQNR int vs float {sq:.1f} dB")  # fmt: skip
    return 0


def _print_json(**doc) -> None:
    import json

    print(json.dumps(doc, indent=2, sort_keys=True))
