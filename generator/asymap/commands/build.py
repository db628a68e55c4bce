"""``asymap build``: run a Vitis (or C-sim) step for every board project, locally or on Slurm."""

from __future__ import annotations

import json
import sys
from asymap.build.steps import STEPS
from asymap.errors import UserError

HELP = "build every board project (C-sim, Vitis HLS synthesis, co-sim, export, link) locally or on Slurm"
EXAMPLE = "asymap build out/ --step csynth --executor slurm --cluster clusters/example16.yaml --resume"


def add_arguments(p) -> None:
    p.add_argument("out", help="output tree written by 'asymap generate'")
    p.add_argument("--step", choices=STEPS, default="csynth", help="build step to run for every board (default csynth)")
    p.add_argument("--executor", choices=("local", "slurm"), default="local", help="where to run (default local)")
    p.add_argument("--jobs", "-j", type=int, default=None, help="local: boards built at once (default: CPU count)")
    p.add_argument("--platform", action="append", metavar="[BOARD=]PLATFORM",
                   help="link: Vitis platform (name or .xpfm) for every Vitis board, or BOARD=PLATFORM for one "
                        "(repeatable); default: the board library's / cluster YAML's platform")
    p.add_argument("--tcl", action="store_true", help="use 'vitis_hls -f run_hls.tcl' instead of 'v++ -c --mode hls'")
    p.add_argument("--board", action="append", dest="boards", metavar="NAME", help="only this board (repeatable)")
    p.add_argument("--dry-run", action="store_true", help="print the exact commands and run nothing")
    p.add_argument("--resume", action="store_true", help="skip boards whose step succeeded after their last change")
    p.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    g = p.add_argument_group("slurm")
    g.add_argument("--cluster", help="cluster YAML whose 'build:' section gives cpus/mem/time/partition/account/setup")
    g.add_argument("--cpus", type=int, help="CPUs per board task (overrides build.cpus)")
    g.add_argument("--mem", help="memory per board task, e.g. 16G (overrides build.mem)")
    g.add_argument("--time", help="time limit per board task, e.g. 08:00:00 (overrides build.time)")
    g.add_argument("--partition", help="Slurm partition (overrides build.partition)")


def _build_section(path: str | None) -> tuple[dict | None, str]:
    if not path:
        return None, ""
    from asymap.cluster.load import load_cluster

    return load_cluster(path).build, path


def _platforms(values: list[str] | None) -> dict[str, str]:
    """--platform P / --platform BOARD=P (repeatable) -> {"*": P, BOARD: P}."""
    out: dict[str, str] = {}
    for v in values or []:
        board, sep, plat = v.partition("=")
        if sep and (not board or not plat):
            raise UserError(f"--platform {v!r}: expected PLATFORM or BOARD=PLATFORM")
        key = board if sep else "*"
        if key in out:
            raise UserError(f"--platform given twice for {'every board' if key == '*' else key!r}")
        out[key] = plat if sep else v
    return out


def run(args) -> int:
    from asymap.build.runner import build
    from asymap.build.slurm import SlurmOptions

    if args.jobs is not None and args.jobs < 1:
        raise UserError(f"--jobs must be at least 1, got {args.jobs}")
    section, where = _build_section(args.cluster)
    opts = SlurmOptions.from_build_section(section, where).merged(
        cpus=args.cpus, mem=args.mem, time=args.time, partition=args.partition
    )
    jobs = args.jobs
    if jobs is None and isinstance(section, dict) and isinstance(section.get("jobs"), int):
        jobs = section["jobs"]
    import contextlib

    from asymap.util.lock import tree_lock

    # One build per tree at a time (a second run names the holder); a dry run changes nothing.
    with contextlib.nullcontext() if args.dry_run else tree_lock(args.out, f"build --step {args.step}"):
        res = build(
            args.out, step=args.step, executor=args.executor, jobs=jobs, platform=_platforms(args.platform), tcl=args.tcl,
            dry_run=args.dry_run, resume=args.resume, boards=args.boards, slurm_options=opts,
            quiet=args.quiet or args.json, print_fn=(lambda s: print(s, file=sys.stderr)) if args.json else print,
        )
    if args.json:
        d = res.as_dict()
        if args.dry_run:
            d["commands"] = res.commands
        print(json.dumps(d, indent=2, sort_keys=True))
    elif not args.dry_run:
        print(f"{args.step}: {len(res.ran)} done, {len(res.failed)} failed, {len(res.skipped)} skipped"
              + (f"; failed: {', '.join(res.failed)}" if res.failed else ""))
    return 0 if res.ok else 1
