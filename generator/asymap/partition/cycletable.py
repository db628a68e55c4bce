"""The table "Cycles of each engine" of docs/hls-library.md and docs/cost-model.md, generated from
the cost model so the docs cannot drift from the code.

``python -m asymap.partition.cycletable --write`` rewrites the block between the markers
``<!-- engine-cycles:begin -->`` and ``<!-- engine-cycles:end -->`` in both files;
tests/partition/test_partition_engine_cycles.py fails when a file's block differs from
``table_markdown()``. The formulas are text (what a reader needs); every number in the block --
the latency constants and the example column -- is computed by ``asymap.lanes`` and
``costmodel.engine_cycles`` when the block is generated.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from asymap import lanes
from asymap.frontend.ir import ADD, AFFINE, CHANNELS, CONCAT, CONV, FC, GAP, MAXPOOL, Layer
from asymap.frontend.ir import CHMUL, LUT, LUT_SILU
from asymap.partition.costmodel import engine_cycles

BEGIN, END = "<!-- engine-cycles:begin -->", "<!-- engine-cycles:end -->"
DOCS = ("docs/hls-library.md", "docs/cost-model.md")


def _conv(idx, cin, hw, cout, k, s, groups=1, pad=None):
    h, w = hw
    p = k // 2 if pad is None else pad
    ho, wo = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    rng = np.random.default_rng(idx)
    return Layer(idx, f"conv{idx}", CONV, ["x"], f"t{idx}", [(cin, h, w)], (cout, ho, wo), kernel=(k, k),
                 stride=(s, s), pads=(p, p, p, p), groups=groups,
                 weight=rng.standard_normal((cout, cin // groups, k, k)).astype(np.float32),
                 bias=np.zeros(cout, np.float32))


def example_layers() -> list[tuple[str, Layer, tuple, bool]]:
    """(block, layer, (pe, simd, kpar), offchip) of the example column: small odd shapes."""
    fc_w = np.zeros((10, 20), np.float32)
    return [
        ("conv2d", _conv(0, 6, (9, 11), 12, 3, 2), (4, 3, 1), False),
        ("conv2d, KPAR 3", _conv(0, 6, (9, 11), 12, 3, 2), (4, 3, 3), False),
        ("conv2d, depthwise", _conv(1, 12, (9, 11), 12, 3, 1, groups=12), (4, 1, 1), False),
        # a wide input port (3 channels x 8 pixels = 24 bytes per beat): G_in per 8-pixel item
        ("conv2d, wide input port", _conv(8, 3, (10, 8), 16, 3, 2), (16, 3, 9), False),
        ("conv1x1", _conv(2, 12, (5, 6), 20, 1, 1, pad=0), (5, 6, 1), False),
        ("fc", Layer(3, "fc3", FC, ["x"], "t3", [(20, 1, 1)], (10, 1, 1), weight=fc_w,
                     bias=np.zeros(10, np.float32)), (5, 4, 1), False),
        ("conv_offchip", _conv(0, 6, (9, 11), 12, 3, 2), (4, 3, 1), True),
        ("maxpool2d", Layer(4, "pool4", MAXPOOL, ["x"], "t4", [(8, 9, 11)], (8, 5, 6), kernel=(3, 3),
                            stride=(2, 2), pads=(1, 1, 1, 1)), (4, 1, 1), False),
        ("global_avgpool", Layer(5, "gap5", GAP, ["x"], "t5", [(20, 5, 6)], (20, 1, 1), kernel=(5, 6)),
         (1, 1, 1), False),
        ("add2", Layer(6, "add6", ADD, ["x", "y"], "t6", [(20, 5, 6), (20, 5, 6)], (20, 5, 6)), (1, 1, 1), False),
        ("concat", Layer(7, "cat7", CONCAT, ["x", "y"], "t7", [(6, 5, 6), (12, 5, 6)], (18, 5, 6)), (1, 1, 1),
         False),
        ("lut_map", Layer(8, "silu8", LUT, ["x"], "t8", [(20, 5, 6)], (20, 5, 6), lut_fn=LUT_SILU), (1, 1, 1), False),
        ("channel_mul", Layer(9, "se9", CHMUL, ["x", "s"], "t9", [(20, 5, 6), (20, 1, 1)], (20, 5, 6)), (1, 1, 1),
         False),
        ("affine", Layer(10, "bn10", AFFINE, ["x"], "t10", [(20, 5, 6)], (20, 5, 6)), (1, 1, 1), False),
        ("channel_select", Layer(11, "shuf11", CHANNELS, ["x"], "t11", [(20, 5, 6)], (10, 5, 6),
                                 channel_map=tuple(range(0, 20, 2))), (1, 1, 1), False),
        # lut_map on a wide port (4 channels x 8 pixels = 32 bytes per beat): an adapter each side
        ("width_convert", Layer(12, "silu12", LUT, ["x"], "t12", [(4, 6, 8)], (4, 6, 8), lut_fn=LUT_SILU),
         (1, 1, 1), False),
    ]


FORMULAS = {
    "conv2d": ("`sum_s max(G_in*n_s*W_in/g_in, W_out*max(NF*KF*S, G_out/g_out)) + T_in + LAT_SWG + LAT_MVAU + T_out` "
               "(slot 0: the first term only; `g` pixels per port item, 1 unless the port is wide)"),
    "conv1x1": "`H*W/g*max(G_in*g/g_in, g*NF*SF, G_out*g/g_out) + T_in + LAT_MVAU + T_out` (`g = max(g_in, g_out)`)",
    "fc": "`max(G_in, NF*SF, G_out) + T_in + LAT_MVAU + T_out` (one pixel of `C*H*W` channels)",
    "conv_offchip": "`H_in*W_in*C_in/P_in + NF*KK*SF*H_out*W_out + H_out*W_out*max(NF, C_out/P_out) + 2*LAT_GEARBOX + LAT_MVAU` (three loops in sequence, weights streamed in during each fold's first pixel)",
    "maxpool2d": "as `conv2d` with `BW = PE`, `NF*KF*S = C/PE*KK`, `LAT_POOL` for `LAT_MVAU` (avgpool2d too)",
    "global_avgpool": "`(H*W + 1)*C/P + LAT_GAP` (wide input of G pixels per beat: `H*W/G + C/P + LAT_GAP`)",
    "add2": "`H*W*C/P + LAT_ADD` (`P = port_lanes(C)`, also on a wide port)",
    "concat": "`(H*W + 1)*max(sum_i C_i/P_i, C/P) + LAT_CONCAT`",
    "lut_map": "`H*W*C/P + LAT_LUT`",
    "channel_mul": "`(H*W + 1)*C/P + LAT_CHMUL` (the scale's C/P beats first)",
    "affine": "`H*W*C/P + LAT_AFFINE`",
    "channel_select": "`(H*W + 1)*max(C_in/P_in, C_out/P_out) + LAT_CHANSEL`",
    "width_convert": ("adapters between a wide port (`B = G*C` bytes per beat) and lut_map, channel_mul, affine, "
                      "channel_select or conv_offchip (operand 0 and output): the engine's steady part becomes "
                      "`max(engine, H*W*C/P)`, plus `B/P + LAT_GEARBOX` per adapter (example: lut_map, both sides)"),
}


def table_markdown() -> str:
    """The generated block (without the markers)."""
    lat = [(n, getattr(lanes, n)) for n in ("LAT_GEARBOX", "LAT_SWG", "LAT_MVAU", "LAT_POOL", "LAT_ADD", "LAT_GAP",
                                            "LAT_CONCAT", "LAT_LUT", "LAT_CHMUL", "LAT_AFFINE",
                                            "LAT_CHANSEL")]
    out = ["| block | cycles per image (fill and drain included) | example | cycles |", "|---|---|---|---|"]
    for name, layer, (pe, simd, kpar), off in example_layers():
        key = name.split(",")[0]
        cin, h, w = layer.in_shapes[0]
        shape = f"{cin}x{h}x{w} -> {'x'.join(str(v) for v in layer.out_shape)}"
        if layer.op in (CONV, FC):
            ex = f"{shape}, k{layer.kernel[0]} s{layer.stride[0]}, pe {pe} simd {simd} kpar {kpar}"
        elif layer.op == MAXPOOL:
            ex = f"{shape}, 3x3 s2, pe {pe}"
        else:
            ex = shape
        formula = FORMULAS[key] if name == key else "(same formula)"
        out.append(f"| {name} | {formula} | {ex} | {engine_cycles(layer, pe, simd, kpar, offchip=off):,} |")
    out += ["", "Latency constants (pipeline depth of each process's loop body, cycles; "
            "`asymap/lanes.py` = `hls/include/asymap/csim_count.h`):", "",
            "| constant | value |", "|---|---|"]
    out += [f"| `{n}` | {v} |" for n, v in lat]
    return "\n".join(out) + "\n"


def replace_block(text: str, block: str) -> str:
    a, b = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[:a] + "\n" + block + text[b:]


def current_block(text: str) -> str:
    a, b = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[a:b].lstrip("\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Regenerate the engine-cycle tables of the docs.")
    ap.add_argument("--root", default=".", help="repository root (default: .)")
    ap.add_argument("--write", action="store_true", help="rewrite the docs (default: check only)")
    args = ap.parse_args(argv)
    block, bad = table_markdown(), []
    for rel in DOCS:
        p = Path(args.root) / rel
        text = p.read_text()
        if current_block(text) != block:
            if args.write:
                p.write_text(replace_block(text, block))
            else:
                bad.append(rel)
    if bad:
        print(f"engine-cycle table out of date in {', '.join(bad)}: run python -m asymap.partition.cycletable --write",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
