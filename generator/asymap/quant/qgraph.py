"""The quantized graph: the contract between quantization, the reference and code generation.

Every activation tensor is int8 or uint8 with a per-tensor scale and zero point 0 (symmetric), so
``real = scale * q``. Weights are int8, symmetric per output channel. The integer semantics of each
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

    @property
    def input(self) -> QTensor:
        return self.tensors[self.graph.input]

    @property
    def output(self) -> QTensor:
        return self.tensors[self.graph.output]
