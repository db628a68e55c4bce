"""``asymap boards``: the board library (boards/*.yaml) the cluster files refer to."""

from __future__ import annotations

HELP = "list the FPGA boards of the library with their resources"
EXAMPLE = "asymap boards --json"


def add_arguments(p) -> None:
    p.add_argument("--json", action="store_true", help="print the library as JSON")


def run(args) -> int:
    import json
    from dataclasses import asdict

    from asymap.cluster.boards import all_board_specs, boards_dir
    from asymap.cluster.presets import file_description

    specs = all_board_specs()
    desc = {s.type: file_description(boards_dir() / f"{s.type}.yaml") for s in specs}
    if args.json:
        out = []
        for s in specs:
            d = asdict(s)
            d.update(macs_per_dsp=s.macs_per_dsp, peak_gops=s.peak_gops, description=desc[s.type])
            out.append(d)
        print(json.dumps(out, indent=2, sort_keys=True))
        return 0
    print(f"{'type':<8} {'board':<16} {'DSP':>6} {'kind':<8} {'MAC/DSP':>7} {'BRAM36':>6} {'URAM':>5} {'LUT':>8} "
          f"{'FF':>8} {'MHz':>4} {'mem GB/s':>8} {'int8 GOPS':>9}  {'links':<22}  description")
    for s in specs:
        ports = ", ".join(f"{p.count}x {p.kind} {p.gbps:g}G" for p in s.ports)
        print(f"{s.type:<8} {s.name:<16} {s.dsp:>6} {s.dsp_type:<8} {s.macs_per_dsp:>7} {s.bram36:>6} {s.uram:>5} "
              f"{s.lut:>8} {s.ff:>8} {s.clock_mhz:>4g} {s.mem_gbps:>8g} {s.peak_gops:>9.0f}  {ports:<22}  {desc[s.type]}")
    return 0
