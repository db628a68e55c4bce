"""The layer IR every later stage reads (DESIGN.md, "Contracts: IR").

A :class:`Graph` is a topologically ordered list of :class:`Layer` s. That order *is* the chain the
partitioner cuts, so it must be deterministic for a given model. Shapes are (C, H, W) with batch 1.
BatchNorm is already folded into the preceding conv (a BatchNorm that cannot fold, such as
DenseNet's on a concatenation, is an ``affine`` layer) and ReLU/Clip fused into the producer, so
the op set is small: the HLS library has one building block per op kind.

Weights are float32 here; quantization (``asymap.quant``) produces the integer versions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

Shape = tuple[int, int, int]  # (C, H, W)

# Op kinds of the IR. Each maps to one HLS building block.
CONV = "conv"  # standard, grouped and depthwise convolution (groups == C_in == C_out)
MAXPOOL = "maxpool"
AVGPOOL = "avgpool"
GAP = "gap"  # global average pooling
ADD = "add"  # element-wise add of two tensors of the same shape (residual)
CONCAT = "concat"  # channel concatenation
FC = "fc"  # fully connected; the input tensor is flattened in C, H, W order
LUT = "lut"  # element-wise nonlinear function (Layer.lut_fn) as a 256-entry int8 -> int8 table
CHMUL = "chmul"  # channel-wise Mul (squeeze-excite): x (C, H, W) times a per-channel s (C, 1, 1)
OPS = (CONV, MAXPOOL, AVGPOOL, GAP, ADD, CONCAT, FC, LUT, CHMUL)

# Functions of LUT layers (Layer.lut_fn); HardSigmoid's alpha and beta are Layer.lut_args.
LUT_SIGMOID = "sigmoid"
LUT_HARDSIGMOID = "hardsigmoid"  # max(0, min(1, alpha * x + beta))
LUT_SILU = "silu"  # x * sigmoid(x) (PyTorch's SiLU / Swish, exported as Sigmoid + Mul)
LUT_HARDSWISH = "hardswish"  # x * max(0, min(1, x / 6 + 1/2))
LUT_FNS = (LUT_SIGMOID, LUT_HARDSIGMOID, LUT_SILU, LUT_HARDSWISH)
# Pre-activation BatchNorm that cannot fold into a conv (DenseNet: BN + ReLU on a concatenation,
# before a zero-padded conv): y = act(x * weight[c] + bias[c]), requantized per channel.
AFFINE = "affine"
# Channel selection / permutation of each pixel: out[k] = in[channel_map[k]] (Split / Slice on the
# channel axis, channel shuffle). No arithmetic: the output keeps the input's scale.
CHANNELS = "channels"
OPS = OPS + (AFFINE, CHANNELS)

# Fused activations.
ACT_NONE = None
ACT_RELU = "relu"
ACT_CLIP = "clip"  # Clip(min, max) including ReLU6


@dataclass
class Layer:
    """One node of the chain after folding and fusion."""

    index: int
    name: str  # the ONNX node name, raw: sanitize (asymap.util.names) before it reaches C++/Tcl
    op: str
    inputs: list[str]  # activation tensor names consumed, in operand order
    output: str
    in_shapes: list[Shape]
    out_shape: Shape
    kernel: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)  # top, left, bottom, right
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1
    act: str | None = ACT_NONE
    act_min: float | None = None  # for ACT_CLIP
    act_max: float | None = None
    count_include_pad: bool = False  # avgpool: ONNX attribute of the same name
    weight: np.ndarray | None = None  # conv: (C_out, C_in/groups, kh, kw); fc: (C_out, C_in*H*W)
    bias: np.ndarray | None = None  # (C_out,)
    params: int = 0  # trainable parameters of the *original* nodes, counted as torchvision does
    # Scales given by a QDQ model for this layer's output / weights (None for float models).
    qdq_out_scale: float | None = None
    qdq_weight_scale: np.ndarray | None = None
    # The QuantizeLinear on the output also fixes its zero point and type (int8 when signed); None
    # for float models. Asymmetric activations (zero point != 0) are carried exactly.
    qdq_out_zero_point: int | None = None
    qdq_out_signed: bool | None = None
    lut_fn: str | None = None  # LUT layers: one of LUT_FNS
    # LUT layers: (alpha, beta) of HardSigmoid; for SiLU / HardSwish fused from a QDQ model's
    # x * gate(x), the gate's grid (scale, zero point, lo, hi), rounded to before the product.
    lut_args: tuple[float, ...] = ()
    channel_map: tuple[int, ...] | None = None  # CHANNELS: input channel of each output channel

    @property
    def c_out(self) -> int:
        return self.out_shape[0]

    @property
    def c_in(self) -> int:
        return self.in_shapes[0][0]

    @property
    def macs(self) -> int:
        """Multiply-accumulates per image (conv and fc only; pooling and adds count zero)."""
        c, h, w = self.out_shape
        if self.op == CONV:
            kh, kw = self.kernel
            return c * h * w * (self.c_in // self.groups) * kh * kw
        if self.op == FC:
            return int(self.weight.shape[0] * self.weight.shape[1]) if self.weight is not None else 0
        return 0

    @property
    def weight_count(self) -> int:
        return 0 if self.weight is None else int(self.weight.size)

    @property
    def weight_bytes(self) -> int:
        """Bytes of the quantized weights on a board: int8 weights plus int32 bias."""
        b = 0 if self.bias is None else 4 * int(self.bias.size)
        if self.bias is None and self.op in (CONV, FC):
            b = 4 * self.c_out  # quantization always materializes a bias (it absorbs folding)
        return self.weight_count + b

    @property
    def in_bytes(self) -> int:
        return sum(c * h * w for c, h, w in self.in_shapes)

    @property
    def out_bytes(self) -> int:
        c, h, w = self.out_shape
        return c * h * w

    @property
    def act_bytes(self) -> int:
        """int8 activation bytes this layer reads and writes per image."""
        return self.in_bytes + self.out_bytes


@dataclass
class Graph:
    """A topologically ordered chain of layers with one input and one output tensor."""

    name: str
    input: str
    input_shape: Shape
    output: str
    layers: list[Layer]
    # Input statistics known from the model (e.g. a QDQ model's input scale); None when unknown.
    input_scale: float | None = None
    input_zero_point: int = 0  # a QDQ model's input zero point (0 otherwise)
    input_signed: bool = True  # a QDQ model's input type (uint8 when False); float models: int8
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.layers)

    @cached_property
    def tensor_shapes(self) -> dict[str, Shape]:
        shapes = {self.input: self.input_shape}
        for layer in self.layers:
            shapes[layer.output] = layer.out_shape
        return shapes

    @cached_property
    def producer(self) -> dict[str, int]:
        """Tensor name -> index of the layer producing it (-1 for the graph input)."""
        prod = {self.input: -1}
        for layer in self.layers:
            prod[layer.output] = layer.index
        return prod

    @cached_property
    def last_use(self) -> dict[str, int]:
        """Tensor name -> index of the last layer reading it (len(layers) for the graph output)."""
        last: dict[str, int] = {}
        for layer in self.layers:
            for t in layer.inputs:
                last[t] = layer.index
        last[self.output] = len(self.layers)
        return last

    def live_across(self, i: int) -> list[str]:
        """Tensors that cross a cut placed after layer ``i`` (``-1 <= i < len``).

        A tensor crosses when it is produced at or before ``i`` (the graph input counts as produced
        at -1) and consumed after ``i``; residual skips included. After the last layer only the
        graph output remains. Sorted by producer index so the order is deterministic.
        """
        if -1 <= i < len(self.layers):
            return list(self._live[i + 1])
        live = [t for t, p in self.producer.items() if p <= i and self.last_use.get(t, -2) > i]
        return sorted(live, key=lambda t: (self.producer[t], t))

    @cached_property
    def _live(self) -> tuple[tuple[str, ...], ...]:
        """``live_across(i)`` for every cut i = -1..len-1, from one sweep (the planner asks every
        cut once per board type: one scan of all tensors per cut was ~0.05 s on ResNet-152)."""
        starts: dict[int, list[str]] = {}
        for t, p in self.producer.items():
            if self.last_use.get(t, -2) > p:
                starts.setdefault(p, []).append(t)
        out, live = [], []
        for i in range(-1, len(self.layers)):
            live = [t for t in live if self.last_use[t] > i] + starts.get(i, [])
            out.append(tuple(sorted(live, key=lambda t: (self.producer[t], t))))
        return tuple(out)

    def cut_bytes(self, i: int) -> int:
        """int8 bytes per image crossing a cut after layer ``i``."""
        return sum(int(np.prod(self.tensor_shapes[t])) for t in self.live_across(i))

    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    @property
    def params(self) -> int:
        return sum(layer.params for layer in self.layers)


def channel_map_form(m) -> tuple[int, int, int] | None:
    """``(start, groups, stride)`` with ``m[k] == start + (k % groups) * stride + k // groups`` for
    every k, or None. The importer makes only maps of this form (and refuses others) -- a contiguous
    slice (groups 1), a channel shuffle (start 0, stride C/groups); some slices of a shuffle fit too
    (either half of a two-group one) -- and the HLS block (chansel.h) wires it from these three
    compile-time numbers."""
    m = [int(v) for v in m]
    if not m:
        return None
    start = m[0]
    ones = [k for k, v in enumerate(m) if v == start + 1]
    groups = ones[0] if ones and ones[0] > 0 else len(m)
    stride = m[1] - start if groups > 1 else 1
    if all(v == start + (k % groups) * stride + k // groups for k, v in enumerate(m)):
        return start, groups, stride
    return None
