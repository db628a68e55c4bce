"""The quantized graph: the contract between quantization, the reference and code generation.

Every activation tensor is int8 or uint8 with a per-tensor scale and zero point, so
``real = scale * (q - zero_point)``. asymap's own calibration gives zero point 0 (symmetric); a QDQ
model's asymmetric activations keep their zero points (docs/quantization.md, "Zero points"). Weights are int8, symmetric per output channel. The integer semantics of each
op (which the reference executor and the HLS kernels both implement) are in docs/quantization.md;
the fields below are exactly the integers those semantics need, so code generation never
recomputes a scale.

Per-op meaning of ``mult``/``shift`` (see asymap.quant.arith for ``requant``):
- conv, fc: per output channel; ``acc[c] = bias[c] + sum(w * x)`` (int8 weights times the
  input's int8/uint8 values, zero padding contributes 0; fc flattens its input in C, H, W order);
  ``y[c] = requant(acc[c], mult[c], shift[c], lo, hi)``.
- avgpool: ``mult``/``shift`` indexed by the divisor ``n`` of the window (``n = kh*kw`` when
  count_include_pad, else the number of in-image elements; arrays of length kh*kw+1, entry 0
  unused); ``y = requant(window_sum, mult[n], shift[n], lo, hi)``; padded elements add 0.
- gap: one element each (divisor H*W); ``y[c] = requant(sum over H, W, mult[0], shift[0], lo, hi)``.
- maxpool: no requantization (output scale = input scale); ``mult``/``shift`` empty.
- add: ``mult = [ma, mb]``, ``shift = [s]``; ``y = rshift_round(xa*ma + xb*mb, s, lo, hi)``.
- concat: one (mult, shift) per input; ``y_i = requant(x_i, mult[i], shift[i], lo, hi)``.
- lut: no multiplier; ``table`` (256 entries, the output values) is indexed by the input's raw
  byte (``x & 0xFF``): ``y = table[x & 0xFF]`` (zero points and clamp are inside the table).
- chmul: one element each; ``y = requant((x - zx) * (s[c] - zs), mult[0], shift[0], lo, hi)`` with
  ``s`` the (C, 1, 1) per-channel scale broadcast over H x W.

Zero points (``in_zp`` per input, ``out_zp``; all 0 unless a QDQ model has asymmetric tensors):
conv/fc pad with ``in_zp[0]`` and have ``-in_zp[0] * sum(w[c])`` folded into ``bias``; avgpool pads
with ``in_zp[0]`` and gap/avgpool subtract ``window_size * in_zp[0]`` from the sum; add and concat
subtract each input's zero point before multiplying; every requantized result gets ``out_zp``
added before the clamp to ``[lo, hi]``. maxpool keeps its input's scale and zero point.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from asymap.frontend.ir import Graph, Layer, Shape


@dataclass
class QTensor:
    name: str
    shape: Shape
    scale: float
    signed: bool  # int8 when True, uint8 when False
    zero_point: int = 0  # real = scale * (q - zero_point)

    @property
    def lo(self) -> int:
        return -128 if self.signed else 0

    @property
    def hi(self) -> int:
        return 127 if self.signed else 255


@dataclass
class QLayer:
    layer: Layer
    weight: np.ndarray | None = None  # int8, same layout as layer.weight
    bias: np.ndarray | None = None  # int32 (C_out,), in accumulator units (s_w[c] * s_x)
    weight_scale: np.ndarray | None = None  # float64 (C_out,)
    mult: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # int64, values < 2**31
    shift: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # int64, 1..62
    lo: int = -128  # output clamp: activation and output type folded together
    hi: int = 127
    in_zp: tuple[int, ...] = ()  # zero point of each input (empty: all 0)
    out_zp: int = 0  # added to the requantized value before the clamp
    table: np.ndarray | None = None  # lut: int64 (256,) output values by input raw byte

    def zp(self, i: int = 0) -> int:
        return int(self.in_zp[i]) if self.in_zp else 0

    @property
    def has_zero_points(self) -> bool:
        return self.out_zp != 0 or any(self.in_zp)

    @property
    def op(self) -> str:
        return self.layer.op

    @property
    def index(self) -> int:
        return self.layer.index


@dataclass
class QGraph:
    graph: Graph
    tensors: dict[str, QTensor]
    layers: list[QLayer]
    calib: dict = field(default_factory=dict)  # what calibrated it (asymap.quant.calib record)

    @property
    def has_zero_points(self) -> bool:
        """True when some tensor is asymmetric (a QDQ model's non-zero zero points)."""
        return any(t.zero_point for t in self.tensors.values())

    @property
    def input(self) -> QTensor:
        return self.tensors[self.graph.input]

    @property
    def output(self) -> QTensor:
        return self.tensors[self.graph.output]
