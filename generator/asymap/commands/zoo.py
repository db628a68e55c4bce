"""``asymap zoo``: write one of the built-in CNNs (seeded random weights) as an ONNX file."""

from __future__ import annotations

HELP = "write a built-in CNN (ResNet-18..152, VGG-16, MobileNetV2, Inception-style, DenseNet-121, ShuffleNetV2, tiny) as ONNX"
EXAMPLE = ("asymap zoo resnet152 --input-size 224 -o resnet152.onnx\n  asymap zoo tiny --input-size 32 --width-mult 0.5 -o tiny.onnx"
           "\n  asymap zoo densenet121 --input-size 32 --width-mult 0.25 --blocks 2,2 -o densenet_small.onnx")


def add_arguments(p):
    from asymap.frontend.zoo import ZOO_NAMES

    p.add_argument("name", metavar="NAME", help=f"model: {', '.join(ZOO_NAMES)}")
    p.add_argument("--input-size", type=int, default=224, metavar="N", help="square input image size (default 224)")
    p.add_argument("--width-mult", type=float, default=1.0, metavar="F", help="channel multiplier (default 1.0)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="weight seed (default 0)")
    p.add_argument("--num-classes", type=int, default=1000, metavar="K", help="classifier outputs (default 1000)")
    p.add_argument("--blocks", metavar="N,N,..", default=None,
                   help="densenet121: dense layers per block; shufflenetv2: units per stage (a shallower variant)")
    p.add_argument("-o", "--output", required=True, metavar="FILE.onnx", help="where to write the model")


def run(args) -> int:
    from asymap.frontend.zoo import build_zoo_model
    from asymap.util.fileio import atomic_write_bytes, check_output_dir

    from asymap.util.progress import status

    check_output_dir(args.output)
    # Only for the big models (seconds), and only once the name is known: an error stays the only line.
    if args.name.lower() in ("resnet50", "resnet101", "resnet152", "vgg16", "inception") and args.input_size >= 64:
        status(f"building {args.name.lower()} ({args.input_size}x{args.input_size}, width x{args.width_mult:g}, "
               f"seed {args.seed})", args.quiet)
    blocks = None
    if args.blocks is not None:
        from asymap.errors import UserError

        try:
            blocks = tuple(int(v) for v in args.blocks.split(","))
        except ValueError:
            raise UserError(f"zoo: --blocks {args.blocks!r} is not a list of integers; give e.g. --blocks 2,2") from None
    model = build_zoo_model(args.name, args.input_size, args.width_mult, args.seed, args.num_classes, blocks=blocks)
    atomic_write_bytes(args.output, model.SerializeToString())
    if args.json:
        import json

        print(json.dumps({"output": args.output, "name": args.name.lower(), "input_size": args.input_size,
                          "width_mult": args.width_mult, "seed": args.seed, "num_classes": args.num_classes,
                          "onnx_nodes": len(model.graph.node)}, indent=2, sort_keys=True))
        return 0
    print(f"wrote {args.output}: {args.name.lower()} {args.input_size}x{args.input_size}, width x{args.width_mult:g}, "
          f"{len(model.graph.node)} ONNX nodes")  # fmt: skip
    return 0
