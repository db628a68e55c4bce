"""``asymap run PROJECT.yaml``: the whole flow from one project file, resuming where it stopped."""

from __future__ import annotations

HELP = "run the whole flow (zoo, plan, generate, verify, build, report) from a project file; resumable"
EXAMPLE = "asymap run examples/demo18.yaml          # re-run: finished steps are skipped"


def add_arguments(p) -> None:
    p.add_argument("project", metavar="PROJECT.yaml", help="project file (see docs/project-file.md)")
    p.add_argument("--force", action="store_true", help="re-run every step, even those up to date")


def run(args) -> int:
    import json

    from asymap.pipeline import run_project

    res = run_project(args.project, quiet=args.quiet, force=args.force,
                      print_fn=(lambda _m: None) if args.json else print)
    if args.json:
        print(json.dumps(res.as_dict(), indent=2, sort_keys=True))
    elif res.ok:
        print(f"done: {len(res.ran)} step(s) run, {len(res.skipped)} up to date"
              + (f" ({', '.join(res.skipped)})" if res.skipped else ""))
    else:
        print(f"stopped at {res.failed}: {res.message or 'failed'}; fix it and run again to resume")
    return 0 if res.ok else 1
