"""Model zoo: the CNNs asymap is tested and benchmarked on, built as ONNX with seeded weights.

Nothing is downloaded: every model is written with ``onnx.helper`` from its published structure
(torchvision's ResNet, VGG-16 and MobileNetV2; a small Inception-style net; a tiny CNN for fast
tests), with random weights from a seeded numpy generator. The *structure* is what the partitioner
and the HLS kernels care about, and an exact torchvision structure gives exact parameter and MAC
counts to check the importer against.

Weights: He-normal convolutions (std = sqrt(2 / fan_in)), LeCun-normal fully connected layers,
BatchNorm with running statistics near (0, 1) and gamma near 1, so a unit-variance input keeps
roughly unit-variance activations through every conv-BN-ReLU. The last BN of every residual branch
gets a small gamma (0.2..0.5), as in the common "zero-init residual" practice, so the residual
stream of a 50-block ResNet-152 grows slowly instead of exploding. All arrays are drawn in bulk
with numpy (float32), so ResNet-152 (60 M parameters) builds in about a second.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import TensorProto, helper

from asymap.errors import UserError

ZOO_NAMES = ("tiny", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "vgg16", "mobilenetv2", "inception",
             "densenet121", "shufflenetv2")
OPSET = 13


def _scaled(c: int, width_mult: float, divisor: int = 8) -> int:
    """Channels scaled by ``width_mult``: a multiple of ``divisor``, at least ``divisor``, and
    (as torchvision's _make_divisible) never more than 10% below the exact product."""
    if width_mult == 1.0:
        return c
    v = c * width_mult
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new < 0.9 * v:
        new += divisor
    return new


@dataclass
class _Builder:
    """Accumulates nodes and initializers; names are unique and deterministic."""

    rng: np.random.Generator
    nodes: list = field(default_factory=list)
    inits: list = field(default_factory=list)
    counter: dict = field(default_factory=dict)

    def name(self, prefix: str) -> str:
        k = self.counter.get(prefix, 0)
        self.counter[prefix] = k + 1
        return f"{prefix}_{k}" if k else prefix

    def const(self, name: str, arr: np.ndarray) -> str:
        self.inits.append((name, np.asarray(arr, order="C")))  # asarray keeps 0-d scalars 0-d
        return name

    def node(self, op: str, inputs: list[str], name: str, **attrs) -> str:
        out = name + "_out" if op not in ("Relu", "Clip") else name
        self.nodes.append(helper.make_node(op, inputs, [out], name=name, **attrs))
        return out

    # --- layers -------------------------------------------------------------------------------
    def conv(self, x, c_in, c_out, k, stride=1, pad=None, groups=1, bias=False, name="conv", dilation=1):
        n = self.name(name)
        pad = (k // 2) * dilation if pad is None else pad
        fan_in = (c_in // groups) * k * k
        w = self.rng.standard_normal((c_out, c_in // groups, k, k), dtype=np.float32)
        w *= np.float32(np.sqrt(2.0 / fan_in))
        ins = [x, self.const(n + ".weight", w)]
        if bias:
            ins.append(self.const(n + ".bias", self.rng.uniform(-0.1, 0.1, c_out).astype(np.float32)))
        return self.node(
            "Conv", ins, n, kernel_shape=[k, k], strides=[stride, stride], pads=[pad] * 4,
            dilations=[dilation, dilation], group=groups,
        )

    def bn(self, x, c, name="bn", gamma=(0.8, 1.2)):
        n = self.name(name)
        g = self.rng.uniform(*gamma, c).astype(np.float32)
        b = self.rng.uniform(-0.1, 0.1, c).astype(np.float32)
        mean = self.rng.uniform(-0.1, 0.1, c).astype(np.float32)
        var = self.rng.uniform(0.8, 1.2, c).astype(np.float32)
        ins = [x] + [self.const(f"{n}.{s}", a) for s, a in (("weight", g), ("bias", b), ("running_mean", mean), ("running_var", var))]
        return self.node("BatchNormalization", ins, n, epsilon=1e-5)

    def relu(self, x, name="relu"):
        return self.node("Relu", [x], self.name(name))

    def relu6(self, x, name="relu6"):
        n = self.name(name)
        lo = self.const(n + ".min", np.array(0.0, np.float32))
        hi = self.const(n + ".max", np.array(6.0, np.float32))
        return self.node("Clip", [x, lo, hi], n)

    def cbr(self, x, c_in, c_out, k, stride=1, relu=True, name="conv", gamma=(0.8, 1.2), groups=1):
        y = self.bn(self.conv(x, c_in, c_out, k, stride, groups=groups, name=name), c_out, name=name + "_bn", gamma=gamma)
        return self.relu(y, name=name + "_relu") if relu else y

    def maxpool(self, x, k, s, p, name="maxpool"):
        return self.node("MaxPool", [x], self.name(name), kernel_shape=[k, k], strides=[s, s], pads=[p] * 4)

    def avgpool(self, x, k, s, p, name="avgpool", count_include_pad=0):
        return self.node(
            "AveragePool", [x], self.name(name), kernel_shape=[k, k], strides=[s, s], pads=[p] * 4,
            count_include_pad=count_include_pad,
        )

    def gap(self, x, name="avgpool"):
        return self.node("GlobalAveragePool", [x], self.name(name))

    def add(self, a, b, name="add"):
        return self.node("Add", [a, b], self.name(name))

    def concat(self, xs, name="concat"):
        return self.node("Concat", xs, self.name(name), axis=1)

    def flatten(self, x, name="flatten"):
        return self.node("Flatten", [x], self.name(name), axis=1)

    def fc(self, x, c_in, c_out, name="fc"):
        n = self.name(name)
        w = self.rng.standard_normal((c_out, c_in), dtype=np.float32)
        w *= np.float32(np.sqrt(1.0 / c_in))
        b = self.rng.uniform(-0.1, 0.1, c_out).astype(np.float32)
        return self.node("Gemm", [x, self.const(n + ".weight", w), self.const(n + ".bias", b)], n, transB=1)


# --- architectures -----------------------------------------------------------------------------
_RESNET = {
    "resnet18": ("basic", [2, 2, 2, 2]),
    "resnet34": ("basic", [3, 4, 6, 3]),
    "resnet50": ("bottleneck", [3, 4, 6, 3]),
    "resnet101": ("bottleneck", [3, 4, 23, 3]),
    "resnet152": ("bottleneck", [3, 8, 36, 3]),
}
_RESIDUAL_GAMMA = (0.2, 0.5)


def _resnet(b: _Builder, x: str, size: int, name: str, wm: float, num_classes: int) -> str:
    """torchvision.models.resnet (v1.5: stride on the 3x3 conv of a bottleneck)."""
    block, counts = _RESNET[name]
    expansion = 1 if block == "basic" else 4
    c = _scaled(64, wm)
    x = b.cbr(x, 3, c, 7, 2, name="conv1")
    x = b.maxpool(x, 3, 2, 1)
    c_in = c
    for stage, n_blocks in enumerate(counts):
        planes = _scaled(64 * 2**stage, wm)
        for i in range(n_blocks):
            stride = 2 if (i == 0 and stage > 0) else 1
            p = f"layer{stage + 1}.{i}"
            if block == "basic":
                y = b.cbr(x, c_in, planes, 3, stride, name=p + ".conv1")
                y = b.cbr(y, planes, planes, 3, 1, relu=False, name=p + ".conv2", gamma=_RESIDUAL_GAMMA)
            else:
                y = b.cbr(x, c_in, planes, 1, 1, name=p + ".conv1")
                y = b.cbr(y, planes, planes, 3, stride, name=p + ".conv2")
                y = b.cbr(y, planes, planes * expansion, 1, 1, relu=False, name=p + ".conv3", gamma=_RESIDUAL_GAMMA)
            c_out = planes * expansion
            skip = x
            if stride != 1 or c_in != c_out:
                skip = b.cbr(x, c_in, c_out, 1, stride, relu=False, name=p + ".downsample")
            x = b.relu(b.add(y, skip, name=p + ".add"), name=p + ".relu")
            c_in = c_out
    x = b.flatten(b.gap(x))
    return b.fc(x, c_in, num_classes)


def _vgg16(b: _Builder, x: str, size: int, name: str, wm: float, num_classes: int) -> str:
    """torchvision.models.vgg16 (no BN). AdaptiveAvgPool2d((7, 7)) is the identity at 224x224,
    so it is left out and the classifier's input follows the feature size (512*7*7 at 224)."""
    cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
    c_in, hw = 3, size
    for v in cfg:
        if v == "M":
            x = b.maxpool(x, 2, 2, 0)
            hw //= 2
        else:
            c = _scaled(v, wm)
            x = b.relu(b.conv(x, c_in, c, 3, 1, bias=True, name="features.conv"))
            c_in = c
    if hw < 1:
        raise UserError(f"vgg16: input size {size} is too small; use at least 32")
    hidden = _scaled(4096, wm)
    x = b.flatten(x)
    x = b.relu(b.fc(x, c_in * hw * hw, hidden, name="classifier.0"))
    x = b.relu(b.fc(x, hidden, hidden, name="classifier.3"))
    return b.fc(x, hidden, num_classes, name="classifier.6")


def _mobilenetv2(b: _Builder, x: str, size: int, name: str, wm: float, num_classes: int) -> str:
    """torchvision.models.mobilenet_v2: inverted residuals, depthwise 3x3, ReLU6 (Clip 0..6)."""

    def div8(v: float) -> int:
        new = max(8, int(v + 4) // 8 * 8)
        return new + 8 if new < 0.9 * v else new

    settings = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]]
    c_in = div8(32 * wm)
    last = div8(1280 * max(1.0, wm))
    x = b.relu6(b.bn(b.conv(x, 3, c_in, 3, 2, name="features.0"), c_in, name="features.0_bn"))
    for blk, (t, c, n, s) in enumerate(settings):
        c_out = div8(c * wm)
        for i in range(n):
            stride = s if i == 0 else 1
            hidden = int(round(c_in * t))
            p = f"features.{blk + 1}.{i}"
            y = x
            if t != 1:
                y = b.relu6(b.bn(b.conv(y, c_in, hidden, 1, name=p + ".expand"), hidden, name=p + ".expand_bn"))
            y = b.relu6(b.bn(b.conv(y, hidden, hidden, 3, stride, groups=hidden, name=p + ".dw"), hidden, name=p + ".dw_bn"))
            y = b.bn(b.conv(y, hidden, c_out, 1, name=p + ".project"), c_out, name=p + ".project_bn", gamma=_RESIDUAL_GAMMA)
            x = b.add(x, y, name=p + ".add") if (stride == 1 and c_in == c_out) else y
            c_in = c_out
    x = b.relu6(b.bn(b.conv(x, c_in, last, 1, name="features.18"), last, name="features.18_bn"))
    x = b.flatten(b.gap(x))
    return b.fc(x, last, num_classes, name="classifier.1")


def _inception(b: _Builder, x: str, size: int, name: str, wm: float, num_classes: int) -> str:
    """A small GoogLeNet/Inception-v3-style net: four-branch blocks joined by Concat, one with an
    average-pool branch (3x3, pad 1, count_include_pad=0) and a 5x5 branch."""
    s = lambda c: _scaled(c, wm)  # noqa: E731
    c = s(32)
    x = b.cbr(x, 3, c, 3, 2, name="stem")
    x = b.maxpool(x, 3, 2, 1)

    def block(x, c_in, c1, c3r, c3, c5r, c5, cp, pool, p):
        y1 = b.cbr(x, c_in, c1, 1, name=p + ".b1")
        y3 = b.cbr(b.cbr(x, c_in, c3r, 1, name=p + ".b3r"), c3r, c3, 3, name=p + ".b3")
        y5 = b.cbr(b.cbr(x, c_in, c5r, 1, name=p + ".b5r"), c5r, c5, 5, name=p + ".b5")
        yp = b.maxpool(x, 3, 1, 1, name=p + ".pool") if pool == "max" else b.avgpool(x, 3, 1, 1, name=p + ".pool")
        yp = b.cbr(yp, c_in, cp, 1, name=p + ".bp")
        return b.concat([y1, y3, y5, yp], name=p + ".concat"), c1 + c3 + c5 + cp

    x, c = block(x, c, s(16), s(16), s(24), s(8), s(8), s(8), "max", "mixed1")
    x, c = block(x, c, s(24), s(24), s(32), s(8), s(16), s(16), "avg", "mixed2")
    x = b.maxpool(x, 3, 2, 1)
    x, c = block(x, c, s(32), s(32), s(48), s(16), s(16), s(16), "avg", "mixed3")
    x = b.flatten(b.gap(x))
    return b.fc(x, c, num_classes)


def _tiny(b: _Builder, x: str, size: int, name: str, wm: float, num_classes: int) -> str:
    """A few layers covering every IR op kind except concat/avgpool: conv (+BN, ReLU), a
    residual add, a depthwise conv with ReLU6, max pooling, global average pooling and FC."""
    c1, c2 = _scaled(8, wm), _scaled(16, wm)
    x = b.cbr(x, 3, c1, 3, 1, name="conv1")
    x = b.cbr(x, c1, c2, 3, 2, name="conv2")
    y = b.cbr(x, c2, c2, 3, 1, name="res.conv1")
    y = b.cbr(y, c2, c2, 3, 1, relu=False, name="res.conv2", gamma=_RESIDUAL_GAMMA)
    x = b.relu(b.add(x, y, name="res.add"))
    x = b.relu6(b.bn(b.conv(x, c2, c2, 3, 1, groups=c2, name="dw"), c2, name="dw_bn"))
    x = b.maxpool(x, 2, 2, 0)
    x = b.flatten(b.gap(x))
    return b.fc(x, c2, num_classes)


def _densenet(b: _Builder, x: str, size: int, name: str, wm: float, num_classes: int, blocks=None) -> str:
    """torchvision.models.densenet121: dense layers BN-ReLU-conv1x1-BN-ReLU-conv3x3 on the
    concatenation of every earlier feature map of the block (a Concat per layer, as both PyTorch
    exporters write torch.cat), transitions BN-ReLU-conv1x1-avgpool2. The BN + ReLU on a
    concatenation run *before* a zero-padded conv, so they cannot fold: pre-activation affine
    layers in the IR. ``blocks``: dense layers per block (default 6, 12, 24, 16)."""
    growth, c = _scaled(32, wm), _scaled(64, wm)
    x = b.maxpool(b.cbr(x, 3, c, 7, 2, name="features.conv0"), 3, 2, 1, name="features.pool0")
    blocks = tuple(blocks or (6, 12, 24, 16))
    for i, n in enumerate(blocks):
        p = f"features.denseblock{i + 1}"
        feats = [x]
        for j in range(n):
            q = f"{p}.denselayer{j + 1}"
            cin = c + j * growth
            y = b.concat(feats, name=q + ".cat")
            y = b.relu(b.bn(y, cin, name=q + ".norm1"), name=q + ".relu1")
            y = b.cbr(y, cin, 4 * growth, 1, name=q + ".conv1")
            feats.append(b.conv(y, 4 * growth, growth, 3, name=q + ".conv2"))
        x, c = b.concat(feats, name=p + ".cat"), c + n * growth
        if i + 1 < len(blocks):
            t = f"features.transition{i + 1}"
            y = b.conv(b.relu(b.bn(x, c, name=t + ".norm"), name=t + ".relu"), c, c // 2, 1, name=t + ".conv")
            x, c = b.avgpool(y, 2, 2, 0, name=t + ".pool"), c // 2
    x = b.relu(b.bn(x, c, name="features.norm5"))
    x = b.flatten(b.gap(x))
    return b.fc(x, c, num_classes, name="classifier")


def _shufflenetv2(b: _Builder, x: str, size: int, name: str, wm: float, num_classes: int, blocks=None) -> str:
    """torchvision.models.shufflenet_v2_x1_0: stride-2 units (two branches, Concat) and stride-1
    units (channel Split in halves, one branch, Concat), each ending in a channel shuffle of two
    groups written as PyTorch exports it (Reshape to (1, 2, C/2, H, W) -> Transpose -> Reshape);
    ReduceMean over H, W (``x.mean([2, 3])``) before the classifier. Stage widths are multiples of
    16 under a width multiplier so each half stays a multiple of 8. ``blocks``: units per stage
    (default 4, 8, 4)."""
    stages = [_scaled(c, wm, 16) for c in (116, 232, 464)]
    c, last = _scaled(24, wm), _scaled(1024, wm)
    hw = [(size - 1) // 2 + 1]
    x = b.cbr(x, 3, c, 3, 2, name="conv1")
    x = b.maxpool(x, 3, 2, 1)
    hw = (hw[0] - 1) // 2 + 1

    def shuffle(x, ch, hw, p):
        v = b.node("Reshape", [x, b.const(p + ".view5", np.array([1, 2, ch // 2, hw, hw], np.int64))], p + ".view")
        t = b.node("Transpose", [v], p + ".transpose", perm=[0, 2, 1, 3, 4])
        return b.node("Reshape", [t, b.const(p + ".view4", np.array([1, -1, hw, hw], np.int64))], p + ".flat")

    for si, (n, out) in enumerate(zip(tuple(blocks or (4, 8, 4)), stages)):
        bf = out // 2
        for u in range(n):
            p = f"stage{si + 2}.{u}"
            if u == 0:  # stride 2: both branches read x
                h2 = (hw - 1) // 2 + 1
                y1 = b.bn(b.conv(x, c, c, 3, 2, groups=c, name=p + ".branch1.0"), c, name=p + ".branch1.1")
                y1 = b.cbr(y1, c, bf, 1, name=p + ".branch1.2")
                y2 = b.cbr(x, c, bf, 1, name=p + ".branch2.0")
                hw = h2
            else:  # stride 1: x.chunk(2, dim=1), the first half passes through
                halves = b.const(p + ".split", np.array([bf, bf], np.int64))
                n_ = b.name(p + ".chunk")
                y1, xb = n_ + "_0", n_ + "_1"
                b.nodes.append(helper.make_node("Split", [x, halves], [y1, xb], name=n_, axis=1))
                y2 = b.cbr(xb, bf, bf, 1, name=p + ".branch2.0")
            s2 = 2 if u == 0 else 1
            y2 = b.bn(b.conv(y2, bf, bf, 3, s2, groups=bf, name=p + ".branch2.3"), bf, name=p + ".branch2.4")
            y2 = b.cbr(y2, bf, bf, 1, name=p + ".branch2.5")
            x, c = shuffle(b.concat([y1, y2], name=p + ".cat"), out, hw, p), out
    x = b.cbr(x, c, last, 1, name="conv5")
    x = b.node("ReduceMean", [x], b.name("mean"), axes=[2, 3], keepdims=0)
    return b.fc(x, last, num_classes)


_ARCH = {"tiny": _tiny, "vgg16": _vgg16, "mobilenetv2": _mobilenetv2, "inception": _inception,
         "densenet121": _densenet, "shufflenetv2": _shufflenetv2}
_BLOCKS = ("densenet121", "shufflenetv2")  # families whose depth ``blocks`` sets
_ARCH.update({n: _resnet for n in _RESNET})


def build_zoo_model(
    name: str, input_size: int = 224, width_mult: float = 1.0, seed: int = 0, num_classes: int = 1000,
    blocks: tuple[int, ...] | None = None,
) -> onnx.ModelProto:
    """Build zoo model ``name`` (one of :data:`ZOO_NAMES`) for a square ``input_size`` image.

    The graph input is ``input`` of shape (1, 3, N, N), the output ``output`` of shape
    (1, num_classes). ``width_mult`` scales every channel count (multiples of 8, at least 8).
    ``blocks`` makes a shallower variant of ``densenet121`` (dense layers per block) or
    ``shufflenetv2`` (units per stage; at most 3 stages). Same arguments -> byte-identical model.
    """
    key = str(name).lower()
    if key not in _ARCH:
        raise UserError(f"zoo: unknown model {name!r}; choose one of: {', '.join(ZOO_NAMES)}")
    if not (8 <= int(input_size) <= 1024):
        raise UserError(f"zoo: input size {input_size} out of range; use 8..1024 (e.g. 32 or 224)")
    if not (0.0 < float(width_mult) <= 4.0):
        raise UserError(f"zoo: width multiplier {width_mult} out of range; use 0 < F <= 4 (e.g. 0.25)")
    if int(num_classes) < 1:
        raise UserError(f"zoo: number of classes {num_classes} must be >= 1")
    kw = {}
    if blocks is not None:
        blocks = tuple(int(v) for v in blocks)
        if key not in _BLOCKS or not blocks or min(blocks) < 1 or (key == "shufflenetv2" and len(blocks) > 3):
            raise UserError(f"zoo: blocks {blocks} apply to {' and '.join(_BLOCKS)} only (e.g. (2, 2)), one entry >= 1 per block or stage")
        kw["blocks"] = blocks
    b = _Builder(np.random.default_rng(seed))
    out = _ARCH[key](b, "input", int(input_size), key, float(width_mult), int(num_classes), **kw)
    # Rename the last tensor to "output" (it is always produced by the final Gemm).
    b.nodes[-1].output[0] = "output"
    assert out == b.nodes[-1].name + "_out"
    graph = helper.make_graph(
        b.nodes,
        key,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, input_size, input_size])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, num_classes])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="asymap.zoo")
    # Initializers go straight into the model's graph (make_graph/make_model would copy every
    # weight twice more: most of the build time for VGG-16's 138 M parameters).
    for init_name, arr in b.inits:
        t = model.graph.initializer.add()
        t.name = init_name
        t.data_type = helper.np_dtype_to_tensor_dtype(arr.dtype)
        t.dims.extend(arr.shape)
        t.raw_data = arr.tobytes()
    model.ir_version = 8  # readable by every onnxruntime >= 1.10
    return model


# --- small squeeze-excite families (issue 14): EfficientNet, MobileNetV3, RegNetY ----------------
#: Narrow variants of the three torchvision families with nonlinear activations and squeeze-excite,
#: for tests and bench/ (not in ZOO_NAMES: their structure is torchvision's, their sizes are not).
#: Op patterns as PyTorch's exporters write them: SiLU as ``x * Sigmoid(x)``, ``HardSwish`` and
#: ``HardSigmoid(alpha=1/6, beta=1/2)`` ops, squeeze-excite as pool -> 1x1 conv (bias) -> act ->
#: 1x1 conv (bias) -> gate -> ``Mul(scale, input)`` (torchvision.ops.SqueezeExcitation).
SE_NAMES = ("efficientnet_s", "mobilenetv3_s", "regnety_s")
SE_OPSET = 17  # HardSwish needs opset 14; 17 is the TorchScript exporter's default


def _silu(b: _Builder, x: str, name: str) -> str:
    return b.node("Mul", [x, b.node("Sigmoid", [x], b.name(name + ".sigmoid"))], b.name(name + ".silu"))


def _hswish(b: _Builder, x: str, name: str) -> str:
    return b.node("HardSwish", [x], b.name(name + ".hardswish"))


def _hsigmoid(b: _Builder, x: str, name: str) -> str:
    return b.node("HardSigmoid", [x], b.name(name + ".hardsigmoid"), alpha=1.0 / 6.0, beta=0.5)


def _squeeze_excite(b: _Builder, x: str, c: int, c_sq: int, act, gate, name: str) -> str:
    s = b.gap(x, name=name + ".avgpool")
    s = act(b, b.conv(s, c, c_sq, 1, pad=0, bias=True, name=name + ".fc1"), name + ".fc1")
    s = gate(b, b.conv(s, c_sq, c, 1, pad=0, bias=True, name=name + ".fc2"), name + ".fc2")
    return b.node("Mul", [s, x], b.name(name + ".scale"))


def _relu(b: _Builder, x: str, name: str) -> str:
    return b.relu(x, name=name + ".relu")


def _sigmoid(b: _Builder, x: str, name: str) -> str:
    return b.node("Sigmoid", [x], b.name(name + ".sigmoid"))


def _cba(b: _Builder, x, c_in, c_out, k, stride=1, groups=1, act=None, name="conv", gamma=(0.8, 1.2)):
    y = b.bn(b.conv(x, c_in, c_out, k, stride, groups=groups, name=name), c_out, name=name + "_bn", gamma=gamma)
    return act(b, y, name) if act else y


def _efficientnet_s(b: _Builder, x: str, num_classes: int) -> str:
    """torchvision EfficientNet's MBConv blocks (SiLU, squeeze-excite with SiLU and Sigmoid,
    squeeze width a quarter of the block input) at 8-32 channels."""
    x = _cba(b, x, 3, 16, 3, 2, act=_silu, name="stem")
    y = _cba(b, x, 16, 16, 3, 1, groups=16, act=_silu, name="b1.dw")  # MBConv1: no expansion
    y = _squeeze_excite(b, y, 16, 4, _silu, _sigmoid, "b1.se")
    x = _cba(b, y, 16, 8, 1, name="b1.project")
    for i, (stride, c_out) in enumerate(((2, 16), (1, 16)), start=2):  # MBConv6
        c_in = 8 if i == 2 else 16
        y = _cba(b, x, c_in, 6 * c_in, 1, act=_silu, name=f"b{i}.expand")
        y = _cba(b, y, 6 * c_in, 6 * c_in, 3, stride, groups=6 * c_in, act=_silu, name=f"b{i}.dw")
        y = _squeeze_excite(b, y, 6 * c_in, max(1, c_in // 4), _silu, _sigmoid, f"b{i}.se")
        y = _cba(b, y, 6 * c_in, c_out, 1, name=f"b{i}.project", gamma=_RESIDUAL_GAMMA)
        x = b.add(x, y, name=f"b{i}.add") if (stride == 1 and c_in == c_out) else y
    x = _cba(b, x, 16, 32, 1, act=_silu, name="head")
    return b.fc(b.flatten(b.gap(x)), 32, num_classes)


def _mobilenetv3_s(b: _Builder, x: str, num_classes: int) -> str:
    """torchvision MobileNetV3-Small's blocks: HardSwish, squeeze-excite with ReLU and
    HardSigmoid (squeeze width expanded/4 rounded to 8), a 5x5 depthwise conv, and the
    Linear-HardSwish-Linear classifier."""
    x = _cba(b, x, 3, 16, 3, 2, act=_hswish, name="stem")
    y = _cba(b, x, 16, 16, 3, 2, groups=16, act=_relu, name="b1.dw")
    y = _squeeze_excite(b, y, 16, 8, _relu, _hsigmoid, "b1.se")
    x = _cba(b, y, 16, 16, 1, name="b1.project")
    y = _cba(b, x, 16, 40, 1, act=_hswish, name="b2.expand")
    y = _cba(b, y, 40, 40, 5, 1, groups=40, act=_hswish, name="b2.dw")
    y = _squeeze_excite(b, y, 40, 16, _relu, _hsigmoid, "b2.se")
    y = _cba(b, y, 40, 16, 1, name="b2.project", gamma=_RESIDUAL_GAMMA)
    x = b.add(x, y, name="b2.add")
    x = _cba(b, x, 16, 48, 1, act=_hswish, name="last")
    x = _hswish(b, b.fc(b.flatten(b.gap(x)), 48, 32, name="classifier.0"), "classifier.1")
    return b.fc(x, 32, num_classes, name="classifier.3")


def _regnety_s(b: _Builder, x: str, num_classes: int) -> str:
    """torchvision RegNetY's ResBottleneckBlock: 1x1, grouped 3x3 (group width 8), squeeze-excite
    with ReLU and Sigmoid (squeeze width a quarter of the block input), 1x1, projection shortcut
    on the first block of a stage, ReLU after the add."""
    x = _cba(b, x, 3, 16, 3, 2, act=_relu, name="stem")
    c_in = 16
    for i, (stride, w) in enumerate(((2, 24), (1, 24)), start=1):
        y = _cba(b, x, c_in, w, 1, act=_relu, name=f"b{i}.a")
        y = _cba(b, y, w, w, 3, stride, groups=w // 8, act=_relu, name=f"b{i}.b")
        y = _squeeze_excite(b, y, w, max(1, c_in // 4), _relu, _sigmoid, f"b{i}.se")
        y = _cba(b, y, w, w, 1, name=f"b{i}.c", gamma=_RESIDUAL_GAMMA)
        skip = x if (stride == 1 and c_in == w) else _cba(b, x, c_in, w, 1, stride, name=f"b{i}.proj")
        x = b.relu(b.add(skip, y, name=f"b{i}.add"), name=f"b{i}.relu")
        c_in = w
    return b.fc(b.flatten(b.gap(x)), c_in, num_classes)


_SE_ARCH = {"efficientnet_s": _efficientnet_s, "mobilenetv3_s": _mobilenetv3_s, "regnety_s": _regnety_s}


def build_se_model(name: str, input_size: int = 32, seed: int = 0, num_classes: int = 10) -> onnx.ModelProto:
    """Build the small squeeze-excite model ``name`` (one of :data:`SE_NAMES`): input ``input``
    (1, 3, N, N), output ``output`` (1, num_classes), seeded weights; deterministic."""
    if name not in _SE_ARCH:
        raise UserError(f"zoo: unknown model {name!r}; choose one of: {', '.join(SE_NAMES)}")
    if not (16 <= int(input_size) <= 1024):
        raise UserError(f"zoo: input size {input_size} out of range; use 16..1024 (e.g. 32)")
    b = _Builder(np.random.default_rng(seed))
    _SE_ARCH[name](b, "input", int(num_classes))
    b.nodes[-1].output[0] = "output"
    graph = helper.make_graph(
        b.nodes, name, [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, input_size, input_size])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, num_classes])],
        initializer=[helper.make_tensor(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape, a.tobytes(), raw=True)
                     for n, a in b.inits],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", SE_OPSET)], producer_name="asymap.zoo")
    model.ir_version = 8
    return model
