"""``asymap verify``: C-simulate every board with g++ and run the chain bit-exact against numpy."""

from __future__ import annotations

HELP = "compile each board's C-simulation with g++, run the chain, compare with the integer reference"
EXAMPLE = "asymap verify out/ --jobs 2 --fifo-slack 32"


def _corrupt(text: str):
    board, sep, off = text.rpartition(":")
    if not sep or not board or not off.isdigit():
        import argparse

        raise argparse.ArgumentTypeError("expected BOARD:OFFSET, e.g. 1:100")
    return board, int(off)


def add_arguments(p):
    p.add_argument("out", help="directory written by 'asymap generate'")
    p.add_argument("--jobs", "-j", type=int, default=None, help="parallel g++ compilations (default: CPU count)")
    p.add_argument("--input", help=".npy image (C, H, W); default: the image the project was generated with")
    p.add_argument("--rtl", action="store_true",
                   help="run the generated cocotb tests (board kernels' exported RTL, link transport) instead of C-sim")
    p.add_argument("--corrupt", type=_corrupt, metavar="BOARD:OFFSET",
                   help="fault injection: flip one byte of the frame file BOARD receives (must be caught)")
    p.add_argument("--fifo-slack", type=int, default=0, metavar="K",
                   help="run the bounded dataflow simulation with every generated FIFO K beats shallower "
                        "(at least 1), to show the depths' margin (engines' internal FIFOs keep their "
                        "designed depth); a stall fails as DEADLOCK naming the streams")


def run(args) -> int:
    if getattr(args, "rtl", False):
        from asymap.verify.rtl import format_rtl, verify_rtl

        res = verify_rtl(args.out, quiet=args.quiet)
        print(format_rtl(res))
        return 1 if any(r.state == "failed" for r in res) else 0
    from asymap.verify.runner import format_table, verify

    from asymap.util.lock import tree_lock

    with tree_lock(args.out, "verify"):  # verify runs make in the board directories, as build does
        res = verify(args.out, jobs=args.jobs, input=args.input, quiet=args.quiet, corrupt=args.corrupt,
                     fifo_slack=args.fifo_slack)
    if args.json:
        import json
        from dataclasses import asdict

        doc = {"out": str(res.out_dir), "ok": res.ok, "first_problem": res.first_problem,
               "boards": [{**asdict(r), "ok": r.ok} for r in res.boards]}
        print(json.dumps(doc, indent=2, sort_keys=True, default=str))
        return 0 if res.ok else 1
    print(format_table(res))
    for r in res.boards:
        for prob in r.problems[:5]:
            print(f"  {prob}")
    if res.ok:
        n = sum(r.tensors_checked for r in res.boards)
        print(f"PASS: {len(res.boards)} board(s), {n} cut/output tensor(s) bit-exact with the integer reference")
        return 0
    print(f"FAIL: {res.first_problem}")
    return 1
