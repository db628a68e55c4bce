"""``asymap compare``: the partitioner's predictions against Vitis's synthesis reports, per board."""

from __future__ import annotations

import json

HELP = "compare predicted latency/interval/resources with the Vitis csynth reports of every board"
EXAMPLE = "asymap compare out/ --calibrate calibration.yaml"


def add_arguments(p) -> None:
    p.add_argument("out", help="output tree (asymap generate + asymap build --step csynth)")
    p.add_argument("--plan", help="plan.json (default: OUT/plan.json)")
    p.add_argument("--calibrate", metavar="YAML", help="fit per-board-type cost-model factors and write them here")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")


def run(args) -> int:
    from asymap.build.compare import calibrate, compare, format_table, write_calibration

    if args.calibrate:
        from asymap.util.fileio import check_not_input, check_output_dir

        check_output_dir(args.calibrate)
        check_not_input(args.calibrate, args.plan, option="--calibrate")
    _, results = compare(args.out, args.plan)
    calib = None
    if args.calibrate:
        calib = calibrate(results)
        write_calibration(args.calibrate, calib)
    if args.json:
        doc = {"boards": [{"board": c.board, "type": c.type, "flagged": c.flagged,
                           "report": c.report.path if c.report else None,
                           "rows": [r.as_dict() for r in c.rows]} for c in results]}
        if calib is not None:
            doc["calibration"] = calib
        print(json.dumps(doc, indent=2, sort_keys=True))
    else:
        print(format_table(results))
        if args.calibrate:
            print(f"calibration for {', '.join(calib['board_types']) or 'no board type'} written to {args.calibrate}")
    return 0
