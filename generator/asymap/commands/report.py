"""``asymap report``: one self-contained HTML page with the mapping as pictures."""

from __future__ import annotations

HELP = "write a self-contained HTML report (topology, assignment, pipeline, resources, throughput, vs reports)"
EXAMPLE = "asymap report out/ -o report.html      # or: asymap report plan.json -o report.html"


def add_arguments(p) -> None:
    p.add_argument("source", metavar="PLAN_OR_OUT", help="plan.json, or an output tree (adds the Vitis reports)")
    p.add_argument("-o", "--output", default="report.html", help="HTML file to write (default report.html)")
    p.add_argument("--plan", help="plan.json when the output tree has no copy of it")
    p.add_argument("--cluster", help="cluster YAML, to draw idle boards and unused links (default: the plan's "
                   "cluster file when found next to the plan)")


def run(args) -> int:
    from asymap.report.html import write_report

    data = write_report(args.source, args.output, args.plan, quiet=args.quiet, cluster_path=args.cluster)
    n_rep = sum(c.report is not None for c in data.comparisons) if data.comparisons else 0
    if args.json:
        import json

        print(json.dumps({"output": args.output, "boards": len(data.boards), "vitis_reports": n_rep},
                         indent=2, sort_keys=True))
        return 0
    extra = f", {n_rep} Vitis reports" if data.comparisons else ""
    print(f"wrote {args.output} ({len(data.boards)} boards{extra})")
    return 0
