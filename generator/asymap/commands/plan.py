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
    p.add_argument("--sweep", action="store_true", help="also plan for 1..N boards and print the throughput of each (a row deployment leaves without a plan says 'no plan deployment accepts' or, if the re-plan cap stopped it, 'not decided')")
    p.add_argument("--util", type=float, default=0.8, metavar="U", help="resource utilization ceiling (default 0.8)")
    from asymap.commands.reference import add_calib_arguments

    add_calib_arguments(p)
    p.add_argument("--target-ips", type=float, metavar="N",
                   help="use the fewest boards (then the fewest DSPs) that reach N images/s; exit 1 with the "
                        "best reachable plan if none does")
    p.add_argument("--layers", action="store_true",
                   help="also list every layer: factors, cycles, DSP/BRAM/URAM/LUT, limit, int8 SQNR (JSON: 'layer_view')")
    p.add_argument("--lane-split", action="store_true",
                   help="let one conv/fc engine per SLR boundary of a multi-SLR board split its PE lanes over the "
                        "two SLRs (plan.json layers[].slr_lanes; docs/cost-model.md \"Lane-split engines\")")
    p.add_argument("--no-pad", dest="pad", action="store_false",
                   help="offer only pe dividing C_out (no zero-padded pe: by default conv/fc layers also get pe that leave the last output fold partly padding, docs/cost-model.md \"Padding\")")


def run(args) -> int:
    from pathlib import Path

    from asymap.cluster.load import load_cluster
    from asymap.errors import UserError
    from asymap.partition.planner import plan
    from asymap.partition.table import render
    from asymap.util.fileio import atomic_write_text, check_not_input, check_output_dir
    from asymap.util.heap import keep_freed_memory
    from asymap.util.progress import step, stepper, track

    keep_freed_memory()  # planning reuses numpy temporaries instead of page-faulting new ones
    if not Path(args.model).is_file():
        raise UserError(f"{args.model}: model file not found")
    if args.output:
        check_output_dir(args.output)
        check_not_input(args.output, args.model, args.cluster)
    cluster = load_cluster(args.cluster)
    if args.boards is not None and not 1 <= args.boards <= len(cluster.boards):
        raise UserError(f"--boards {args.boards}: {args.cluster} has {len(cluster.boards)} board(s); give 1..{len(cluster.boards)}")
    import threading

    from asymap.frontend.onnx_import import load_model, map_model

    # The parse reads the model on demand (onnx_import.map_model), only its headers
    # (the planner needs weight shapes only, so weights are not decoded). The file's SHA-256 goes
    # only into plan.json (model.sha256), so only -o / --json / --layers take it: a second thread
    # reads the file in chunks and hashes it (both release the GIL), overlapping the search (it
    # starts with the search: the table building before it may take both CPUs, util.forked); a
    # chunked read of its own file handle; bytes missing there (a file shrunk meanwhile) are an error.
    # Progress (asymap.util.progress.step/track): transient lines on a terminal only, erased before
    # any result or error is printed, so stdout and the one-line errors are the same with or without.
    with step(f"reading {args.model}", args.quiet):
        data = map_model(args.model)
        digest: list[str] = []
        hasher = None
        if args.output or args.json or args.layers:
            f = open(args.model, "rb")  # a file map_model could open (an error here: the CLI's one line)
            hasher = threading.Thread(target=_sha256_of, args=(f, digest))
        try:
            graph = load_model(args.model, weights=False, data=data)
        except BaseException:
            if hasher is not None:
                f.close()
            raise
        finally:
            if hasattr(data, "close"):
                data.close()  # the parse copied what it keeps

    def sha256() -> str | None:  # asked for at the end of planning: the hash runs beside the planner
        if hasher is None:
            return None
        if hasher.ident is None:  # (no search step announced: hash now)
            hasher.start()
        hasher.join()
        if not digest:
            raise UserError(f"{args.model}: cannot read the model to hash it")
        if digest[1] != len(data):
            raise UserError(f"{args.model}: the file changed size while it was read; replace a model by renaming a new file over it, not by rewriting it in place")
        return digest[0]
    calib = None
    if args.calib:  # recorded in plan.json so that 'generate --plan' quantizes with the same images
        from asymap.quant.calib import load_calibration

        with step(f"reading the calibration set {args.calib}", args.quiet):
            calib = load_calibration(args.calib, args.calib_method, args.percentile, graph.input_shape)
    prog = (lambda it: track(it, "sweep: planning for 1..N boards", quiet=args.quiet))
    from asymap.codegen.deploy import plan_checks

    # The plan is the best one 'asymap generate' and 'asymap build --step link' accept (deploy's own
    # checks, passed in: the planner does not import codegen); when they accept none, the refusal of
    # the fastest plan, in their words.
    announce = stepper(args.quiet)

    def planning_step(description: str):
        if hasher is not None and hasher.ident is None and description.startswith("searching"):
            hasher.start()  # the tables are built: the search leaves a CPU to the hash
        return announce(description)

    try:
        p = plan(graph, cluster, boards=args.boards, util=args.util, sweep=args.sweep, pad=args.pad,
                 model_path=args.model, progress=prog, target_ips=args.target_ips, model_sha256=sha256, calib=calib,
                 step=planning_step, deployable=plan_checks(graph, cluster), lane_split=args.lane_split)
    finally:
        if hasher is not None and hasher.ident is None:  # planning failed before the search
            f.close()
    text = p.to_json() if args.output or args.json else ""  # the table alone needs no JSON
    if args.output:
        atomic_write_text(args.output, text)
    if not args.layers:
        print(text if args.json else render(p), end="")
    else:
        import json

        from asymap.report.layers import layer_rows, layer_sqnr, render_text

        with step(f"{graph.name}: quantization SQNR of every layer (float vs int8 reference, seeded image)",
                  args.quiet):
            full = load_model(args.model)  # the SQNR needs the weights the planner did not decode
            rows = layer_rows(p.to_dict(), full, layer_sqnr(full))
        if args.json:
            print(json.dumps({**p.to_dict(), "layer_view": [r.as_dict() for r in rows]}, indent=2, sort_keys=True))
        else:
            print(render(p) + "\n" + render_text(rows), end="")
    if p.target is not None and not p.target["met"]:
        import sys

        if p.target.get("decided", True):
            print(f"asymap plan: target {args.target_ips:g} images/s is not reachable on {cluster.name}; the best plan "
                  f"reaches {p.throughput_ips:.1f} images/s with {len(p.boards)} board(s)", file=sys.stderr)
        else:  # the re-plan cap stopped the search around deployment's refusals: not shown unreachable
            print(f"asymap plan: target {args.target_ips:g} images/s on {cluster.name}: not decided within "
                  f"{p.search['deploy']['max_replans']} re-plans around the plans deployment refuses (branches that "
                  f"may reach it were left open); the best accepted plan found reaches {p.throughput_ips:.1f} "
                  f"images/s with {len(p.boards)} board(s)", file=sys.stderr)
        return 1
    return 0


def _sha256_of(f, out: list) -> None:
    """Append the SHA-256 of open binary file ``f`` (read in 1 MiB chunks, then closed) and the
    number of bytes read to ``out``; on a read error append nothing (the caller then reports it)."""
    import hashlib

    h = hashlib.sha256()
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    size = 0
    try:
        with f:
            while n := f.readinto(buf):
                h.update(view[:n])
                size += n
    except OSError:
        return
    out += [h.hexdigest(), size]
