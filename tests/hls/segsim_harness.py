"""Test helpers: build small IR graphs, quantize them, C-simulate generated segments with g++.

Used by the HLS block tests (test_hls_blocks.py) and the segment tests (test_segment_csim.py).
The reference is asymap.quant.reference.run_int (the bit-exact numpy integer semantics).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from asymap.codegen.hlsinc import gxx_include_flags
from asymap.codegen.segment import SegmentCode, render_segment
from asymap.frontend import ir
from asymap.quant.quantize import quantize
from asymap.quant.qgraph import QGraph
from asymap.quant.reference import run_int

CXXFLAGS = ["-std=c++14", "-O1", "-Wno-unknown-pragmas"]


@dataclass
class GraphBuilder:
    """Hand-built IR graphs with seeded float weights (what the ONNX importer would produce)."""

    input_shape: tuple[int, int, int]
    seed: int = 0
    layers: list[ir.Layer] = field(default_factory=list)
    shapes: dict = field(default_factory=dict)

    def __post_init__(self):
        self.rng = np.random.default_rng(self.seed)
        self.shapes["x"] = tuple(self.input_shape)

    def _add(self, op, inputs, out_shape, **kw) -> str:
        i = len(self.layers)
        name = kw.pop("name", f"{op}.{i}")
        out = kw.pop("out", None) or f"{name}/out"
        self.layers.append(ir.Layer(index=i, name=name, op=op, inputs=list(inputs), output=out,
                                    in_shapes=[self.shapes[t] for t in inputs], out_shape=out_shape, **kw))
        self.shapes[out] = out_shape
        return out

    @staticmethod
    def _out_hw(h, w, k, s, pads, d):
        oh = (h + pads[0] + pads[2] - (k[0] - 1) * d[0] - 1) // s[0] + 1
        ow = (w + pads[1] + pads[3] - (k[1] - 1) * d[1] - 1) // s[1] + 1
        return oh, ow

    def conv(self, x, cout, k=3, s=1, p=None, d=1, groups=1, act="relu", name=None, out=None):
        c, h, w = self.shapes[x]
        p = (k // 2) * d if p is None else p
        pads = p if isinstance(p, tuple) else (p, p, p, p)
        oh, ow = self._out_hw(h, w, (k, k), (s, s), pads, (d, d))
        wt = self.rng.normal(0, np.sqrt(2.0 / (c // groups * k * k)), (cout, c // groups, k, k)).astype(np.float32)
        b = self.rng.normal(0, 0.1, cout).astype(np.float32)
        kw = {"name": name} if name else {}
        if out:
            kw["out"] = out
        return self._add(ir.CONV, [x], (cout, oh, ow), kernel=(k, k), stride=(s, s), pads=pads,
                         dilation=(d, d), groups=groups, act=act, weight=wt, bias=b, **kw)

    def pool(self, x, op, k=2, s=2, p=0, count_include_pad=False):
        c, h, w = self.shapes[x]
        pads = p if isinstance(p, tuple) else (p, p, p, p)
        oh, ow = self._out_hw(h, w, (k, k), (s, s), pads, (1, 1))
        return self._add(op, [x], (c, oh, ow), kernel=(k, k), stride=(s, s), pads=pads,
                         count_include_pad=count_include_pad)

    def gap(self, x):
        c, _, _ = self.shapes[x]
        return self._add(ir.GAP, [x], (c, 1, 1))

    def add(self, a, b, act="relu"):
        return self._add(ir.ADD, [a, b], self.shapes[a], act=act)

    def concat(self, xs):
        c = sum(self.shapes[t][0] for t in xs)
        _, h, w = self.shapes[xs[0]]
        return self._add(ir.CONCAT, list(xs), (c, h, w))

    def fc(self, x, cout, act=None):
        n = int(np.prod(self.shapes[x]))
        wt = self.rng.normal(0, np.sqrt(1.0 / n), (cout, n)).astype(np.float32)
        b = self.rng.normal(0, 0.1, cout).astype(np.float32)
        return self._add(ir.FC, [x], (cout, 1, 1), act=act, weight=wt, bias=b)

    def lut(self, x, fn, args=(), act=None):
        return self._add(ir.LUT, [x], self.shapes[x], lut_fn=fn, lut_args=tuple(args), act=act)

    def chmul(self, x, s):
        return self._add(ir.CHMUL, [x, s], self.shapes[x])

    def affine(self, x, act="relu"):
        """Pre-activation BatchNorm: per-channel scale (some negative) and shift."""
        c = self.shapes[x][0]
        k = self.rng.uniform(0.3, 2.0, c).astype(np.float32) * self.rng.choice([-1.0, 1.0], c, p=[0.2, 0.8]).astype(np.float32)
        return self._add(ir.AFFINE, [x], self.shapes[x], act=act, weight=k, bias=self.rng.normal(0, 0.5, c).astype(np.float32))

    def channels(self, x, m):
        """Channel selection / permutation out[k] = x[m[k]] (split, slice, shuffle)."""
        _, h, w = self.shapes[x]
        return self._add(ir.CHANNELS, [x], (len(m), h, w), channel_map=tuple(int(v) for v in m))

    def build(self, name="g", zero_points: str | None = None) -> tuple[QGraph, dict]:
        """Quantize (F's quantizer, seeded calibration) and run the integer reference.

        ``zero_points`` "uint8" / "int8": every tensor gets an onnxruntime-style asymmetric scale
        and zero point of that type first (:func:`asymmetric_qdq`), as a QDQ model carries them."""
        g = ir.Graph(name=name, input="x", input_shape=tuple(self.input_shape), output=self.layers[-1].output,
                     layers=self.layers)
        if zero_points:
            asymmetric_qdq(g, signed=zero_points == "int8", seed=self.seed)
        qg = quantize(g, seed=self.seed)
        rng = np.random.default_rng(self.seed + 1)
        t = qg.input
        x = rng.integers(t.lo, t.hi + 1, size=t.shape).astype(np.int16)
        return qg, run_int(qg, x, return_all=True)


def asymmetric_qdq(g: ir.Graph, signed: bool, seed: int = 0) -> None:
    """Set QDQ output scales and zero points on every layer (and the input) of ``g``, the way
    onnxruntime's MinMax calibration does: range [min(lo, 0), max(hi, 0)] over seeded images, mapped
    onto [-128, 127] (int8) or [0, 255] (uint8), zero point round(qmin - min / scale). Each range
    is widened below 0 by a seeded 10..60 % of its maximum, so ReLU outputs (which onnxruntime
    would give zero point qmin) get non-trivial zero points too: every zero-point path of the
    engines (conv padding, requant offset, pool sums, add and concat operands) is exercised."""
    from asymap.quant.quantize import synthetic_calibration
    from asymap.quant.reference import run_float

    lo: dict[str, float] = {}
    hi: dict[str, float] = {}

    def observe(name, v):
        lo[name] = min(lo.get(name, 0.0), float(v.min()))
        hi[name] = max(hi.get(name, 0.0), float(v.max()))

    run_float(g, synthetic_calibration(g, seed=seed), observe=observe)
    rng = np.random.default_rng(seed + 11)
    qmin, qmax = (-128, 127) if signed else (0, 255)

    def qparams(name):
        b = max(hi[name], 1e-3)
        a = min(lo[name], -rng.uniform(0.1, 0.6) * b)
        s = (b - a) / (qmax - qmin)
        return s, int(np.clip(np.round(qmin - a / s), qmin, qmax))

    g.input_scale, g.input_zero_point = qparams(g.input)
    g.input_signed = signed
    for layer in g.layers:
        layer.qdq_out_scale, layer.qdq_out_zero_point = qparams(layer.output)
        layer.qdq_out_signed = signed


def _driver(code: SegmentCode, repeat: int = 1) -> str:
    """A C-sim main: feed every input port from <ident>.bin, call the segment, dump outputs;
    ``repeat`` > 1 runs that many images (the same input each time) through successive calls."""
    lines = ['#include <cstdio>', '#include <vector>', '#include "top.cpp"', "",
             "template <unsigned P> static int feed(hls::stream<ap_uint<8 * P> >& s, const char* path, unsigned beats) {",
             '    FILE* f = std::fopen(path, "rb"); if (!f) return 1;',
             "    for (unsigned i = 0; i < beats; ++i) { ap_uint<8 * P> v = 0;",
             "        for (unsigned l = 0; l < P; ++l) { int c = std::fgetc(f); if (c < 0) return 1; v.range(8 * l + 7, 8 * l) = c; }",
             "        s.write(v); }",
             "    std::fclose(f); return 0; }",
             "template <unsigned P> static int dump(hls::stream<ap_uint<8 * P> >& s, const char* path, unsigned beats) {",
             '    FILE* f = std::fopen(path, "wb"); if (!f) return 1;',
             "    for (unsigned i = 0; i < beats; ++i) { if (s.empty()) { std::fclose(f); return 1; } ap_uint<8 * P> v = s.read();",
             "        for (unsigned l = 0; l < P; ++l) std::fputc((int)(unsigned)v.range(8 * l + 7, 8 * l), f); }",
             "    std::fclose(f); return s.empty() ? 0 : 1; }",
             "int main() {", "    int bad = 0;"]
    for p in code.in_ports + code.out_ports:
        lines.append(f'    hls::stream<ap_uint<{8 * p["lanes"]}> > {p["ident"]}("{p["ident"]}");')
    for p in code.in_ports:
        lines.append(f'    for (int r = 0; r < {repeat}; ++r) bad |= feed<{p["lanes"]}>({p["ident"]}, "{p["ident"]}.bin", '
                     f'{p["beats"]});')
    args = [p["ident"] for p in code.in_ports + code.out_ports]
    if code.wmem is not None:
        lines += [f"    std::vector<ap_uint<512> > wmem({code.wmem_words});",
                  '    FILE* wf = std::fopen("wmem.bin", "rb"); if (!wf) return 3;',
                  f"    for (unsigned i = 0; i < {code.wmem_words}; ++i)",
                  "        for (unsigned b = 0; b < 64; ++b) wmem[i].range(8 * b + 7, 8 * b) = std::fgetc(wf);",
                  "    std::fclose(wf);"]
        args.append("wmem.data()")
    if code.wpre is not None:  # start-up image of the URAM weights, 64-bit little-endian words
        lines += [f"    std::vector<ap_uint<64> > wpre({code.wpre_words});",
                  '    FILE* pf = std::fopen("wpre.bin", "rb"); if (!pf) return 3;',
                  f"    for (unsigned i = 0; i < {code.wpre_words}; ++i)",
                  "        for (unsigned b = 0; b < 8; ++b) wpre[i].range(8 * b + 7, 8 * b) = std::fgetc(pf);",
                  "    std::fclose(pf);"]
        args.append("wpre.data()")
    lines.append(f"    for (int r = 0; r < {repeat}; ++r) {code.fn}({', '.join(args)});")
    for p in code.in_ports:
        lines.append(f'    if (!{p["ident"]}.empty()) {{ std::printf("input {p["ident"]} not fully consumed\\n"); bad |= 4; }}')
    for p in code.out_ports:
        lines.append(f'    if (dump<{p["lanes"]}>({p["ident"]}, "{p["ident"]}.bin", {p["beats"] * repeat})) '
                     f'{{ std::printf("output {p["ident"]} wrong length\\n"); bad |= 8; }}')
    # engines of conv.h count their loop iterations in C-sim (cycles per image, compared with the
    # cost model by test_hls_cycles_match_costmodel); written after the outputs were drained
    lines += ["#ifdef ASYMAP_CSIM_COUNT", '    { FILE* cf = std::fopen("csim_cycles.txt", "w");',
              '      if (cf) { std::fprintf(cf, "%llu\\n", asymap::csim_cycles().load()); std::fclose(cf); } }', "#endif"]
    lines += ["    return bad;", "}", ""]
    return "\n".join(lines)


def hwc_bytes(a: np.ndarray) -> bytes:
    """(C, H, W) int values -> raw int8/uint8 bytes in HWC order (the port's beat order)."""
    return (np.asarray(a, np.int64).transpose(1, 2, 0) & 0xFF).astype(np.uint8).tobytes()


def from_hwc(b: bytes, shape, signed: bool) -> np.ndarray:
    c, h, w = shape
    a = np.frombuffer(b, np.int8 if signed else np.uint8).reshape(h, w, c).transpose(2, 0, 1)
    return a.astype(np.int16)


def write_segment(d: Path, code: SegmentCode, repeat: int = 1) -> None:
    d.mkdir(parents=True, exist_ok=True)
    (d / "params.h").write_text(code.header)
    for name, text in code.weights.items():
        (d / name).write_text(text)
    (d / "top.cpp").write_text(code.source)
    (d / "driver.cpp").write_text(_driver(code, repeat))
    if code.wmem is not None:
        (d / "wmem.bin").write_bytes(code.wmem)
    if code.wpre is not None:
        (d / "wpre.bin").write_bytes(code.wpre)


def csim_segment(d: Path, qg: QGraph, vals: dict, first: int, last: int, factors=None, offchip=(),
                 fn: str = "seg", macs=None, preload=(), repeat: int = 1,
                 port_lanes: int = 8, lanes_split=None) -> tuple[SegmentCode, dict]:
    """Render layers first..last, compile and run them on the reference's inputs; returns
    (code, {output tensor: int array}). ``macs``/``preload``: the plan's MAC kinds and URAM layers;
    ``repeat`` images run through successive calls and must all give the same output;
    ``port_lanes``: the board's port width (plan.json ``boards[].port_lanes``); ``lanes_split``:
    layer index -> k for lane-split engines (both halves in the one region)."""
    g = qg.graph
    inputs, outputs = g.live_across(first - 1), g.live_across(last)
    code = render_segment(qg, first, last, dict(factors or {}), set(offchip), inputs, outputs, fn,
                          macs=dict(macs or {}), preload=set(preload), port_lanes=port_lanes,
                          lanes_split=lanes_split)
    write_segment(d, code, repeat)
    for p in code.in_ports:
        (d / f"{p['ident']}.bin").write_bytes(hwc_bytes(vals[p["tensor"]]))
    exe = d / "sim"
    cmd = ["g++", *CXXFLAGS, *gxx_include_flags(), "-I", str(d), str(d / "driver.cpp"), "-o", str(exe)]
    comp = subprocess.run(cmd, capture_output=True, text=True)
    assert comp.returncode == 0, comp.stderr[-4000:]
    run = subprocess.run([str(exe)], cwd=d, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, (run.returncode, run.stdout[-2000:], run.stderr[-2000:])
    outs = {}
    for p in code.out_ports:
        data = (d / f"{p['ident']}.bin").read_bytes()
        n = len(data) // repeat
        assert all(data[r * n:(r + 1) * n] == data[:n] for r in range(repeat)), f"{p['ident']}: images differ"
        outs[p["tensor"]] = from_hwc(data[:n], p["shape"], p["signed"])
    return code, outs


def assert_matches(outs: dict, vals: dict) -> None:
    for t, got in outs.items():
        want = vals[t]
        if not np.array_equal(got, want):
            diff = np.argwhere(got != want)
            raise AssertionError(f"{t}: {len(diff)} of {got.size} values differ; first at {diff[0].tolist()}: "
                                 f"got {got[tuple(diff[0])]}, want {want[tuple(diff[0])]}")
