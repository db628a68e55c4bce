"""``asymap generate``: one Vitis HLS project per board of a plan (see docs/generated-project.md)."""

from __future__ import annotations

import argparse

HELP = "write one Vitis HLS project per board (segment, link kernels, testbench, configs)"
EXAMPLE = "asymap generate resnet18.onnx clusters/mixed4.yaml --plan plan.json -o out/"


def add_arguments(p):
    p.add_argument("model", help="ONNX model file")
    p.add_argument("cluster", help="cluster YAML file")
    p.add_argument("--plan", help="plan.json from 'asymap plan' (default: plan now)")
    p.add_argument("-o", "--output", dest="out", metavar="OUT",
                   help="output directory (new or empty, or an old output with --force); required")
    p.add_argument("--out", dest="out", help=argparse.SUPPRESS)  # the old spelling, kept working
    p.add_argument("--force", action="store_true", help="replace an existing asymap output directory")
    p.add_argument("--input", help=".npy image (C, H, W) for the test vectors (default: seeded random)")
    p.add_argument("--seed", type=int, default=0, help="seed of the quantization calibration and the test image")
    from asymap.commands.reference import add_calib_arguments

    add_calib_arguments(p)  # default: the plan's recorded calibration, else seeded synthetic images
    p.add_argument("--allow-stale", action="store_true",
                   help="accept a plan whose cluster file changed since planning (model and options must match)")


def run(args) -> int:
    import json

    from asymap.codegen.project import generate
    from asymap.errors import UserError

    if not args.out:
        raise UserError("give the output directory with -o/--output, e.g. -o out/")
    res = generate(args.model, args.cluster, args.out, plan=args.plan, force=args.force, quiet=args.quiet,
                   input=args.input, seed=args.seed, allow_stale=args.allow_stale, calib=args.calib,
                   calib_method=args.calib_method, percentile=args.percentile)
    if args.json:
        print(json.dumps({"out": str(res.out_dir), "boards": res.boards, "files": res.files,
                          "plan": str(res.out_dir / "plan.json")}, indent=2, sort_keys=True))
        return 0
    print(f"wrote {res.out_dir}/: {len(res.boards)} board project(s) ({', '.join(res.boards)}), {res.files} files")
    print(f"next: asymap verify {res.out_dir}")
    return 0
