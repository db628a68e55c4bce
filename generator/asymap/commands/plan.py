"""``asymap plan MODEL CLUSTER``: the optimal partition of a model onto a cluster (plan.json)."""

from __future__ import annotations

HELP = "find the highest-throughput mapping of a model onto a cluster and write plan.json"
EXAMPLE = "asymap plan resnet152.onnx clusters/example16.yaml -o plan.json --sweep"


def add_arguments(p) -> None:
    p.add_argument("model", metavar="MODEL.onnx", help="the network (ONNX)")
    p.add_argument("cluster", metavar="CLUSTER.yaml", help="the cluster file (see docs/cluster-format.md)")
    p.add_argument("-o", "--output", metavar="plan.json", help="write the plan here")
    p.add_argument("--json", action="store_true", help="print plan.json to stdout instead of the table")
    p.add_argument("--boards", type=int, metavar="N", help="use at most N boards (default: all)")
    p.add_argument("--sweep", action="store_true", help="also plan for 1..N boards and print the throughput of each")
    p.add_argument("--util", type=float, default=0.8, metavar="U", help="resource utilization ceiling (default 0.8)")
    p.add_argument("--layers", action="store_true",
                   help="also list every layer: factors, cycles, DSP/BRAM/URAM/LUT, limit, int8 SQNR (JSON: 'layer_view')")
    p.add_argument("--no-pad", dest="pad", action="store_false",
                   help="offer only pe dividing C_out (no zero-padded pe for prime channel counts)")


def run(args) -> int:
    from pathlib import Path

    from asymap.cluster.load import load_cluster
    from asymap.errors import UserError
    from asymap.partition.planner import plan
    from asymap.partition.table import render
    from asymap.util.fileio import atomic_write_text, check_not_input, check_output_dir
    from asymap.util.progress import track

    if not Path(args.model).is_file():
        raise UserError(f"{args.model}: model file not found")
    if args.output:
        check_output_dir(args.output)
        check_not_input(args.output, args.model, args.cluster)
    cluster = load_cluster(args.cluster)
    if args.boards is not None and not 1 <= args.boards <= len(cluster.boards):
        raise UserError(f"--boards {args.boards}: {args.cluster} has {len(cluster.boards)} board(s); give 1..{len(cluster.boards)}")
    from asymap.frontend.onnx_import import load_model

    graph = load_model(args.model)
    prog = (lambda it: track(it, "sweep", quiet=args.quiet))
    p = plan(graph, cluster, boards=args.boards, util=args.util, sweep=args.sweep, pad=args.pad,
             model_path=args.model, progress=prog)
    text = p.to_json()
    if args.output:
        atomic_write_text(args.output, text)
    if not args.layers:
        print(text if args.json else render(p), end="")
        return 0
    import json

    from asymap.report.layers import layer_rows, layer_sqnr, render_text
    from asymap.util.progress import status

    status(f"{graph.name}: quantization SQNR of every layer (float vs int8 reference, seeded image)", args.quiet)
    rows = layer_rows(p.to_dict(), graph, layer_sqnr(graph))
    if args.json:
        print(json.dumps({**p.to_dict(), "layer_view": [r.as_dict() for r in rows]}, indent=2, sort_keys=True))
    else:
        print(render(p) + "\n" + render_text(rows), end="")
    return 0
