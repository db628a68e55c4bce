#!/usr/bin/env python3
"""RTL simulation: link cycles per beat and simulated beats per wall-clock second of the link
bridge loopback (Icarus + cocotb), and the wall time of the whole cocotb suite (tests/rtl).

    .venv/bin/python bench/rtl_sim.py              # loopback figures + the suite's time
    .venv/bin/python bench/rtl_sim.py --no-suite   # loopback figures only

Prints a table and a one-line summary; asserts nothing (tests assert behaviour, not speed).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "rtl"))

from rtl_harness import loopback_wrapper, run_cocotb  # noqa: E402

from asymap.codegen.rtl_glue import plan_link_glue, render_glue, rtl_sources  # noqa: E402

LINK_MHZ = 322.265625
CASES = [  # name, kernel (HLS link) width, transport width, images, stall probability
    ("k64-l64 stalls", 64, 64, 40, 0.3),
    ("k64-l64 no stalls", 64, 64, 40, 0.0),
    ("k512-l512 no stalls", 512, 512, 12, 0.0),
    ("k128-l64 no stalls", 128, 64, 20, 0.0),
]
SHAPES = [[8, 5, 3], [4, 3, 3], [3, 7, 7]]


def run_case(work: Path, kw: int, lw: int, images: int, stall: float) -> dict:
    glue = plan_link_glue("b0", "b1", kernel_width_bits=kw, link_width_bits=lw, kernel_clock_mhz=300,
                          link_gbps=lw * LINK_MHZ / 1000, link_latency_ns=60.0, link_clock_mhz=LINK_MHZ)
    (work / "link_b0_b1.v").write_text(render_glue(glue))
    (work / "tb_loopback.v").write_text(loopback_wrapper(glue))
    cfg = {"shapes": SHAPES, "kw": kw, "lw": lw, "images": images, "stall": stall, "link_stall": stall / 3,
           "seed": 3, "max_beats": 4 if kw < 512 else 1, "latency_cycles": round(60 * LINK_MHZ / 1000),
           "periods_ps": {"k_tx": 3334, "l": 3104, "k_rx": 3572}, "timeout_cycles": 400_000,
           "skip_beats": 20}
    t0 = time.perf_counter()
    c0 = _child_cpu()
    run_cocotb(work / "sim", rtl_sources() + [work / "link_b0_b1.v", work / "tb_loopback.v"],
               "tb_loopback", "tb_bridge", config=cfg)
    wall = time.perf_counter() - t0
    stats = json.loads((work / "sim" / "stats.json").read_text())
    return {**stats, "wall_s": wall, "cpu_s": _child_cpu() - c0}


def _child_cpu() -> float:
    """CPU seconds of finished child processes (iverilog + vvp): steadier than wall time on a
    shared machine."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-suite", action="store_true", help="skip timing the whole cocotb suite")
    ap.add_argument("-n", "--jobs", default="2", help="pytest-xdist workers for the suite (default 2)")
    args = ap.parse_args()
    os.environ.setdefault("COCOTB_LOG_LEVEL", "WARNING")

    rows = []
    with tempfile.TemporaryDirectory(prefix="asymap-rtlbench-") as tmp:
        for k, (name, kw, lw, images, stall) in enumerate(CASES):
            work = Path(tmp) / f"case{k}"
            work.mkdir()
            r = run_case(work, kw, lw, images, stall)
            rows.append((name, r))

    print(f"{'bridge loopback':<20} {'link beats':>10} {'kernel beats':>12} {'link cycles':>11} "
          f"{'cyc/beat':>8} {'wall s':>7} {'cpu s':>6} {'beats/wall s':>12} {'beats/cpu s':>11}")
    for name, r in rows:
        print(f"{name:<20} {r['link_beats']:>10} {r['beats_out']:>12} {r['link_cycles']:>11} "
              f"{r.get('cycles_per_beat', 0):>8.3f} {r['wall_s']:>7.2f} {r['cpu_s']:>6.2f} "
              f"{r['link_beats'] / r['wall_s']:>12.0f} {r['link_beats'] / r['cpu_s']:>11.0f}")
    beats_s = sum(r["link_beats"] for _, r in rows) / sum(r["wall_s"] for _, r in rows)
    beats_cpu = sum(r["link_beats"] for _, r in rows) / sum(r["cpu_s"] for _, r in rows)

    suite = ""
    if not args.no_suite:
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-m", "cocotb", "-n", args.jobs,
                               str(ROOT / "tests" / "rtl")], cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        tail = (proc.stdout.strip().splitlines() or ["?"])[-1]
        print(f"cocotb suite (pytest -m cocotb -n {args.jobs} tests/rtl): {wall:.1f} s wall, {tail}")
        suite = f"; cocotb suite {wall:.0f} s on {args.jobs} workers (target < 300 s)"
    print(f"summary: loopback simulates {beats_s:.0f} link beats per wall-clock second "
          f"({beats_cpu:.0f} per CPU second; build included){suite}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
