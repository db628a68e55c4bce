"""ONNX -> layer IR (:class:`asymap.frontend.ir.Graph`).

The importer walks the ONNX nodes in a deterministic topological order (Kahn's algorithm, ties
broken by the node's position in the file, so an already sorted file keeps its order) and emits one
IR layer per compute node. On the way it

- folds BatchNormalization into the conv (or fc) that produces its input; any other
  BatchNormalization (DenseNet's pre-activation BN on a concatenation) becomes an ``affine`` layer,
- turns Split / Slice on the channel axis and channel shuffle (Reshape -> Transpose -> Reshape)
  into ``channels`` layers (a channel map per output),
- fuses Relu / Clip into the producing layer (the layer's output tensor takes the activation's name),
- turns Identity / Dropout / Flatten / Reshape-or-Squeeze-used-as-flatten into tensor aliases,
- turns MatMul (+ Add of a constant) and Gemm into fc layers,
- reads global pooling written as ReduceMean / ReduceMax over the spatial axes (PyTorch's
  ``x.mean((2, 3))`` and the dynamo exporter's adaptive pooling), with or without keepdims,
- folds a constant, spatial ``Pad`` into the padding of the Conv / MaxPool / AveragePool it feeds
  (zero before a conv or a count_include_pad average, -inf before a max),
- folds shape arithmetic (Shape, Gather, Slice, Unsqueeze, Concat, Cast on constants) to constants,
- reads QDQ models: DequantizeLinear of a constant is a (de)quantized weight whose scale is kept,
  QuantizeLinear/DequantizeLinear on an activation is an alias that records the tensor's scale.

Parameters are counted as torchvision counts them, from the *original* nodes: conv/fc weights and
biases plus BatchNorm scale and shift (not the running statistics).

Every problem a user can cause raises :class:`asymap.errors.UserError` naming the file and node.
"""

from __future__ import annotations

import heapq
import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from asymap.errors import UserError
from asymap.frontend import ir
from asymap.frontend.ir import Graph, Layer, Shape

SUPPORTED_OPS = (
    "Conv", "BatchNormalization", "Relu", "Clip", "MaxPool", "AveragePool", "GlobalAveragePool", "Add",
    "Concat", "Gemm", "MatMul", "Flatten", "Reshape", "Squeeze", "Identity", "Dropout",
    "QuantizeLinear", "DequantizeLinear", "Constant", "ReduceMean", "ReduceMax", "GlobalMaxPool", "Pad",
    # Only as constant shape arithmetic (folded at import), e.g. PyTorch's x.view(x.size(0), -1):
    "Shape", "Gather", "Unsqueeze", "Cast", "Slice", "Split",
    # Lookup-table activations, SiLU / HardSwish as x * Sigmoid(x) / x * HardSigmoid(x), and the
    # channel-wise Mul of squeeze-excite:
    "Sigmoid", "HardSigmoid", "HardSwish", "Mul",
    # Channel shuffle (Reshape -> Transpose -> Reshape); Split / Slice of an activation's channels:
    "Transpose",
)  # fmt: skip
# Element-wise arithmetic read only on constants (shape arithmetic, e.g. the TorchScript export of
# ``x.chunk(2, dim=1)``: Shape -> Gather -> Add -> Div -> Mul -> Slice bounds), folded at import.
_CONST_ARITH = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": None}
# Ops PyTorch's exporters emit for torchvision CNNs that the IR cannot express yet: a one-line
# error says what the op would need instead of the generic "unsupported op type".
_NOT_YET = {
    "QLinearConv": "QOperator-format quantized models are not supported; quantize with QuantFormat.QDQ",
    "QLinearMatMul": "QOperator-format quantized models are not supported; quantize with QuantFormat.QDQ",
    "QLinearAdd": "QOperator-format quantized models are not supported; quantize with QuantFormat.QDQ",
    "QLinearConcat": "QOperator-format quantized models are not supported; quantize with QuantFormat.QDQ",
    "QLinearGlobalAveragePool": "QOperator-format quantized models are not supported; quantize with QuantFormat.QDQ",
    "QLinearAveragePool": "QOperator-format quantized models are not supported; quantize with QuantFormat.QDQ",
    "QGemm": "QOperator-format quantized models are not supported; quantize with QuantFormat.QDQ",
    "MatMulInteger": "integer MatMul/Conv (dynamic quantization) is not supported; quantize statically with QuantFormat.QDQ",
    "ConvInteger": "integer MatMul/Conv (dynamic quantization) is not supported; quantize statically with QuantFormat.QDQ",
    "DynamicQuantizeLinear": "dynamic quantization is not supported; quantize statically with QuantFormat.QDQ",
}
MIN_OPSET = 11


@dataclass
class _Alias:
    """A tensor that is another tensor under a new name; ``flat`` when it is its flattened view."""

    target: str
    flat: bool = False


@dataclass
class _Pad:
    """A constant spatial Pad waiting to be folded into the Conv/pool that reads it."""

    src: str
    pads: tuple[int, int, int, int]  # top, left, bottom, right
    value: float


@dataclass
class _State:
    where: str  # file name used in messages
    consts: dict[str, np.ndarray] = field(default_factory=dict)
    const_scale: dict[str, np.ndarray] = field(default_factory=dict)  # QDQ weight scales
    shapes: dict[str, Shape] = field(default_factory=dict)  # activation tensor -> (C, H, W)
    alias: dict[str, _Alias] = field(default_factory=dict)
    layers: list[Layer] = field(default_factory=list)
    producer: dict[str, Layer] = field(default_factory=dict)  # activation tensor -> its layer
    users: dict[str, list] = field(default_factory=dict)  # tensor -> consumer nodes (None: graph output)
    act_scale: dict[str, float] = field(default_factory=dict)  # QDQ activation scales
    act_zp: dict[str, tuple[int, bool]] = field(default_factory=dict)  # QDQ zero point, signed
    pending_pad: dict[str, _Pad] = field(default_factory=dict)  # Pad output -> its pad
    # A (1, C, H, W) activation viewed as (1, d1, .., dk, H, W): tensor -> (source, channel index
    # array of shape (d1, .., dk)); a Reshape back to 4-D makes it a channel-map layer.
    chview: dict[str, tuple[str, np.ndarray]] = field(default_factory=dict)
    implied_act: set[str] = field(default_factory=set)  # layers whose ReLU a QuantizeLinear implies
    names: set[str] = field(default_factory=set)
    weights: bool = True  # False: large initializers are zero-stride placeholders (planning needs shapes)

    def resolve(self, t: str) -> _Alias:
        flat = False
        while t in self.alias:
            a = self.alias[t]
            flat = flat or a.flat
            t = a.target
        return _Alias(t, flat)


def _fail(st: _State, node, msg: str) -> UserError:
    return UserError(f"{st.where}: node {node.name!r} ({node.op_type}): {msg}")


def _attrs(node) -> dict:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


# --- loading and graph checks -----------------------------------------------------------------
def _varint(buf, i: int) -> tuple[int, int]:
    v, shift = 0, 0
    while True:
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << shift
        if b < 0x80:
            return v, i
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _put_varint(out: bytearray, v: int) -> None:
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)


def _fields(buf, i: int, end: int):
    """(field number, wire type, start of the field, start of its value, end) of each protobuf
    field in buf[i:end]. Tags and lengths (at most 21 bytes a field) are read from a local window
    of up to 4 KiB: on a :class:`ModelFile` every access is a Python call."""
    win, w0 = b"", i  # buf[w0:w0 + len(win)]
    while i < end:
        start = i
        if i + 21 > w0 + len(win) and w0 + len(win) < end:  # the header may run past the window
            w0, win = i, bytes(buf[i : min(i + 4096, end)])
        h = win[i - w0 : i - w0 + 21]
        tag = h[0]  # tags of the fields read here fit one byte: _varint only for longer ones
        p = 1
        if tag >= 0x80:
            tag, p = _varint(h, 0)
        wire = tag & 7
        if wire == 0:
            _, q = _varint(h, p)
            j = i + q
        elif wire == 1:
            j = i + p + 8
        elif wire == 2:
            n, p = _varint(h, p)
            j = i + p + n
        elif wire == 5:
            j = i + p + 4
        else:
            raise ValueError("unsupported wire type")
        i += p
        if j > end:
            raise ValueError("truncated")
        yield tag >> 3, wire, start, i, j
        i = j


# TensorProto fields holding data (float_data, int32_data, string_data, int64_data, raw_data,
# double_data, uint64_data); dims is field 1. ModelProto.graph is 7, GraphProto.initializer 5.
_TENSOR_DATA_FIELDS = (4, 5, 6, 7, 9, 10, 11)


def _skim_weights(data: bytes, keep: int = 4096) -> bytes:
    """The model's bytes without the data of initializers of more than ``keep`` elements (their
    dims, type and name stay). ``asymap plan`` reads only weight shapes (graph_from_model with
    weights=False never decodes them), so parsing 240 MB of ResNet-152 weights is skipped: the
    wire format is walked field by field and only the graph and initializer headers are rebuilt.
    Any surprise in the bytes returns them unchanged (the parser then reports it). ``data`` may
    be any buffer, or a :class:`ModelFile` (see :func:`map_model`): only its headers are read."""
    try:
        if isinstance(data, ModelFile):
            return _skim_view(data, keep)
        with memoryview(data) as mv:  # released on return
            return _skim_view(mv, keep)
    except (ValueError, IndexError):
        return data


def _skim_view(mv, keep: int) -> bytes:
    """_skim_weights on a memoryview or a ModelFile (raises ValueError/IndexError on a surprise)."""
    out = bytearray()
    for f, w, start, vi, end in _fields(mv, 0, len(mv)):
        if f != 7 or w != 2:
            out += mv[start:end]
            continue
        g = bytearray()
        run = -1  # the start of a run of fields copied whole (nodes, inputs): one slice per run
        for gf, gw, gs, gv, ge in _fields(mv, vi, end):
            if gf != 5 or gw != 2:
                run = gs if run < 0 else run
                continue
            if run >= 0:
                g += mv[run:gs]
                run = -1
            dims, kept = [], bytearray()
            for tf, tw, ts, tv, te in _fields(mv, gv, ge):
                if tf == 1:
                    body = bytes(mv[tv:te])
                    k = 0
                    while k < len(body):  # one varint (unpacked) or several (packed)
                        d, k = _varint(body, k)
                        dims.append(d)
                if tf not in _TENSOR_DATA_FIELDS:
                    kept += mv[ts:te]
            n = 1
            for d in dims:
                n *= d
            if n <= keep:
                g += mv[gs:ge]
                continue
            g += mv[gs:gv - len(_enc_len(ge - gv))]  # the tag
            _put_varint(g, len(kept))
            g += kept
        if run >= 0:
            g += mv[run:end]
        out += mv[start:vi - len(_enc_len(end - vi))]
        _put_varint(out, len(g))
        out += g
    return bytes(out)


def _enc_len(n: int) -> bytearray:
    b = bytearray()
    _put_varint(b, n)
    return b


class ModelFile:
    """A model file read on demand: ``len``, ``view[i]`` (a byte's value), ``view[a:b]`` (bytes) and
    ``bytes(view)``, each region read with ``os.pread`` in blocks kept once read.

    Why not a memory map: a map whose file another process truncates raises SIGBUS on the next
    touch of a page past the new end, and that kills the process. Here a short read is a
    :class:`UserError` naming the file. Why not read it whole: the planner reads only the graph and
    the weights' headers (:func:`_skim_weights` jumps over the data), a few MB of ResNet-152's
    241 MB."""

    BLOCK = 1 << 14

    def __init__(self, path, f, size: int):
        self.path, self._f, self._fd, self._size = path, f, f.fileno(), size
        self._blocks: dict[int, bytes] = {}

    def __len__(self) -> int:
        return self._size

    def _read(self, start: int, n: int) -> bytes:
        try:
            got = os.pread(self._fd, n, start)
        except OSError as exc:
            raise UserError(f"{self.path}: cannot read the model ({exc.strerror})") from None
        if len(got) < n:
            raise UserError(f"{self.path}: the file shrank while it was read (it had {self._size} bytes); "
                            "replace a model by renaming a new file over it, not by rewriting it in place")
        return got

    def _block(self, b: int) -> bytes:
        got = self._blocks.get(b)
        if got is None:
            start = b * self.BLOCK
            got = self._blocks[b] = self._read(start, min(self.BLOCK, self._size - start))
        return got

    def __getitem__(self, i):
        if isinstance(i, slice):
            start, stop, step = i.indices(self._size)
            if step != 1:
                raise ValueError("ModelFile slices take no step")
            if stop <= start:
                return b""
            b0, b1 = start // self.BLOCK, (stop - 1) // self.BLOCK
            if b0 == b1:
                o = b0 * self.BLOCK
                return self._block(b0)[start - o : stop - o]
            if stop - start > 4 * self.BLOCK:  # a long run (kept small tensors, the graph): read it at once
                return self._read(start, stop - start)
            return b"".join(self._block(b) for b in range(b0, b1 + 1))[start - b0 * self.BLOCK : stop - b0 * self.BLOCK]
        if i < 0:
            i += self._size
        if not 0 <= i < self._size:
            raise IndexError("ModelFile index out of range")
        return self._block(i // self.BLOCK)[i % self.BLOCK]

    def __bytes__(self) -> bytes:
        return self._read(0, self._size) if self._size else b""

    def close(self) -> None:
        self._f.close()
        self._blocks.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def map_model(path: str | os.PathLike) -> ModelFile:
    """The model file opened for reading on demand (:class:`ModelFile`; ``close()`` it when done).
    An unreadable path is a one-line :class:`UserError`."""
    try:
        f = open(path, "rb", buffering=0)
    except OSError as exc:
        raise UserError(f"{path}: cannot read the model ({exc.strerror})") from None
    try:
        size = os.fstat(f.fileno()).st_size
    except OSError as exc:
        f.close()
        raise UserError(f"{path}: cannot read the model ({exc.strerror})") from None
    return ModelFile(path, f, size)


def _read_model(path: Path, data: bytes | None = None, weights: bool = True) -> onnx.ModelProto:
    if data is None and not path.is_file():
        raise UserError(f"{path}: no such file; give the path of an .onnx model (e.g. from 'asymap zoo')")
    if data is None and not weights:
        buf = map_model(path)
        try:
            data = bytes(_skim_weights(buf))  # bytes: a surprise returns the ModelFile itself
        finally:
            buf.close()
    elif data is None:
        data = path.read_bytes()
    elif not weights:
        data = _skim_weights(data)
    if not isinstance(data, bytes):  # a ModelFile or another buffer: the parser takes bytes
        data = bytes(data)
    try:
        model = onnx.ModelProto()
        model.ParseFromString(data)
    except Exception as exc:  # protobuf DecodeError and friends
        raise UserError(f"{path}: not a valid ONNX file (cannot parse: {type(exc).__name__}); is it truncated or another format?") from None
    if not model.HasField("graph") or len(model.graph.node) == 0:
        raise UserError(f"{path}: not an ONNX model (no graph nodes); is it truncated or another format?")
    # External data (models > 2 GB) lives next to the file.
    if any(t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer):
        try:
            onnx.load_external_data_for_model(model, str(path.parent))
        except Exception as exc:
            raise UserError(f"{path}: cannot read external weight data ({exc}); keep the data files beside the model") from None
    return model


def _topo_order(st: _State, graph) -> list[int]:
    """Node indices in topological order; errors name a dangling input or a node on a cycle."""
    available = {t.name for t in graph.initializer} | {t.name for t in graph.input} | {""}
    produced: dict[str, int] = {}
    for i, node in enumerate(graph.node):
        for o in node.output:
            if not o:
                continue  # an omitted optional output
            if o in produced or o in available:
                raise UserError(f"{st.where}: node {node.name!r} ({node.op_type}): output {o!r} is produced twice; every tensor needs one producer")
            produced[o] = i
    deps: list[set[int]] = []
    for node in graph.node:
        d = set()
        for t in node.input:
            if t in available:
                continue
            if t not in produced:
                raise UserError(
                    f"{st.where}: node {node.name!r} ({node.op_type}): input {t!r} is dangling (not a graph input, "
                    "initializer or node output); fix the model's connections"
                )
            d.add(produced[t])
        deps.append(d)
    users: list[list[int]] = [[] for _ in graph.node]
    for i, d in enumerate(deps):
        for j in d:
            users[j].append(i)
    indeg = [len(d) for d in deps]
    ready = [i for i, k in enumerate(indeg) if k == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for u in users[i]:
            indeg[u] -= 1
            if indeg[u] == 0:
                heapq.heappush(ready, u)
    if len(order) != len(graph.node):
        stuck = min(i for i in range(len(graph.node)) if indeg[i] > 0)
        node = graph.node[stuck]
        raise UserError(f"{st.where}: node {node.name!r} ({node.op_type}) is on a cycle; a CNN graph must be acyclic")
    return order


def _input_shape(st: _State, graph, inputs, input_shape) -> tuple[str, Shape]:
    if len(inputs) != 1:
        names = ", ".join(i.name for i in inputs) or "none"
        raise UserError(f"{st.where}: the model must have exactly one image input, found: {names}")
    vi = inputs[0]
    dims = []
    if vi.type.HasField("tensor_type") and vi.type.tensor_type.HasField("shape"):
        dims = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in vi.type.tensor_type.shape.dim]
    if input_shape is not None:
        given = tuple(int(v) for v in input_shape)
        if len(given) == 4:
            if given[0] != 1:
                raise UserError(f"{st.where}: input shape {given}: batch must be 1")
            given = given[1:]
        if len(given) != 3 or min(given) < 1:
            raise UserError(f"{st.where}: input shape {input_shape}: give C,H,W (e.g. 3,224,224)")
        if len(dims) == 4:
            for k, (d, g) in enumerate(zip(dims[1:], given)):
                if d is not None and d != g:
                    raise UserError(f"{st.where}: input {vi.name!r}: dimension {k + 1} is {d} in the model, not {g}; fix --input-shape")
        return vi.name, given  # type: ignore[return-value]
    if len(dims) != 4 or any(d is None for d in dims[1:]):
        shown = "x".join("?" if d is None else str(d) for d in dims) or "unknown"
        raise UserError(
            f"{st.where}: input {vi.name!r} has shape {shown}, which cannot be inferred; "
            "give it with --input-shape C,H,W (e.g. 3,224,224)"
        )
    if dims[0] not in (None, 1):
        raise UserError(f"{st.where}: input {vi.name!r} has batch {dims[0]}; asymap maps batch-1 models, export with batch 1")
    return vi.name, (dims[1], dims[2], dims[3])


# --- per-op helpers ---------------------------------------------------------------------------
def _const(st: _State, node, t: str, what: str) -> np.ndarray:
    if t not in st.consts:
        raise _fail(st, node, f"{what} {t!r} is not a constant (initializer); asymap needs constant weights, export with constant folding")
    return st.consts[t]


def _act_input(st: _State, node, t: str) -> tuple[str, Shape, bool]:
    """Resolve an activation input -> (real tensor name, its shape, seen through a flatten)."""
    if t in st.consts:
        raise _fail(st, node, f"input {t!r} is a constant where an activation tensor is expected")
    if st.resolve(t).target in st.pending_pad:
        raise _fail(st, node, f"input {t!r} comes from a Pad; a Pad is supported only directly before a Conv, MaxPool or AveragePool")
    a = st.resolve(t)
    if a.target not in st.shapes:
        raise _fail(st, node, f"input {t!r} has no known shape; give --input-shape or fix the model")
    return a.target, st.shapes[a.target], a.flat


def _pads(st: _State, node, at: dict, in_hw, kernel, stride, dilation) -> tuple[int, int, int, int]:
    auto = at.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else str(auto)
    if auto in ("NOTSET", ""):
        p = list(at.get("pads", [0, 0, 0, 0]))
        if len(p) != 4:
            raise _fail(st, node, f"pads {p} are not 2-D; only 2-D (N, C, H, W) models are supported")
        return (p[0], p[1], p[2], p[3])
    if auto == "VALID":
        return (0, 0, 0, 0)
    pads = []
    for k in range(2):
        out = -(-in_hw[k] // stride[k])
        total = max(0, (out - 1) * stride[k] + (kernel[k] - 1) * dilation[k] + 1 - in_hw[k])
        small, big = total // 2, total - total // 2
        pads.append((small, big) if auto == "SAME_UPPER" else (big, small))
    return (pads[0][0], pads[1][0], pads[0][1], pads[1][1])


def _out_hw(st, node, in_hw, kernel, stride, pads, dilation, ceil=False) -> tuple[int, int]:
    out = []
    for k in range(2):
        span = in_hw[k] + pads[k] + pads[k + 2] - ((kernel[k] - 1) * dilation[k] + 1)
        if span < 0:
            raise _fail(st, node, f"kernel {kernel} larger than the padded input {in_hw}; the input image is too small")
        o = (-(-span // stride[k]) if ceil else span // stride[k]) + 1
        if ceil and (o - 1) * stride[k] >= in_hw[k] + pads[k]:
            o -= 1  # the last window must start inside the image or its top/left pad
        out.append(o)
    return out[0], out[1]


def _unique_name(st: _State, node, idx: int) -> str:
    base = node.name or f"{node.op_type}_{idx}"
    name, k = base, 1
    while name in st.names:
        name = f"{base}_{k}"
        k += 1
    st.names.add(name)
    return name


def _add_layer(st: _State, node, idx: int, **kw) -> Layer:
    layer = Layer(index=len(st.layers), name=_unique_name(st, node, idx), output=node.output[0], **kw)
    st.layers.append(layer)
    st.producer[layer.output] = layer
    st.shapes[layer.output] = layer.out_shape
    return layer


def _fusable_producer(st: _State, node, t: str, what: str) -> Layer:
    """The layer whose output ``t`` feeds only ``node`` (required to fold/fuse ``node`` into it)."""
    a = st.resolve(t)
    layer = st.producer.get(a.target)
    if layer is None or a.flat:
        raise _fail(st, node, f"{what} must follow a layer (conv, fc, pool, add, concat); here it reads {t!r}")
    if _uses(st, a.target) != 1:
        raise _fail(st, node, f"{what} cannot be fused: {a.target!r} has other consumers too")
    return layer


_PASS_THROUGH = ("Identity", "Dropout", "QuantizeLinear", "DequantizeLinear")


def _uses(st: _State, t: str) -> int:
    """How many real consumers read ``t``, looking through pass-through nodes (Identity, Dropout,
    Q/DQ pairs); the graph output counts as one."""
    n = 0
    for node in st.users.get(t, []):
        if node is not None and node.op_type == "Shape":
            continue  # reads only the (static) shape, not the values
        if node is None or node.op_type not in _PASS_THROUGH:
            n += 1
        else:
            n += _uses(st, node.output[0])
    return n


def _rename_output(st: _State, layer: Layer, new: str) -> None:
    old = layer.output
    st.alias[old] = _Alias(new)  # QDQ scale lookups on the old name still work
    del st.producer[old]
    shape = st.shapes.pop(old)
    if old in st.act_scale:
        st.act_scale[new] = st.act_scale[old]
    if old in st.act_zp:
        st.act_zp[new] = st.act_zp[old]
    layer.output = new
    st.producer[new] = layer
    st.shapes[new] = shape


# --- op converters ----------------------------------------------------------------------------
def _conv(st, node, idx, at):
    pad = _take_pad(st, node, "conv")
    x, shp, flat = _act_input(st, node, pad.src if pad else node.input[0])
    if flat:
        raise _fail(st, node, "input is a flattened tensor; Conv needs a (N, C, H, W) input")
    w = _const(st, node, node.input[1], "weight")
    if w.ndim != 4:
        raise _fail(st, node, f"weight has {w.ndim} dimensions; only 2-D convolutions are supported")
    b = _const(st, node, node.input[2], "bias") if len(node.input) > 2 and node.input[2] else None
    groups = int(at.get("group", 1))
    kernel = tuple(int(v) for v in at.get("kernel_shape", w.shape[2:]))
    stride = tuple(int(v) for v in at.get("strides", (1, 1)))
    dilation = tuple(int(v) for v in at.get("dilations", (1, 1)))
    c_in, h, wd = shp
    if w.shape[1] * groups != c_in or w.shape[0] % groups:
        raise _fail(st, node, f"weight shape {w.shape} with group={groups} does not fit an input of {c_in} channels")
    pads = _plus(_pads(st, node, at, (h, wd), kernel, stride, dilation), pad)
    oh, ow = _out_hw(st, node, (h, wd), kernel, stride, pads, dilation)
    params = int(w.size) + (0 if b is None else int(b.size))
    _add_layer(
        st, node, idx, op=ir.CONV, inputs=[x], in_shapes=[shp], out_shape=(int(w.shape[0]), oh, ow),
        kernel=kernel, stride=stride, pads=pads, dilation=dilation, groups=groups,
        weight=w.astype(np.float32, copy=False), bias=None if b is None else b.astype(np.float32), params=params,
        qdq_weight_scale=st.const_scale.get(node.input[1]),
    )  # fmt: skip


def _bn(st, node, idx, at):
    a = st.resolve(node.input[0])
    layer = st.producer.get(a.target)
    if (layer is None or a.flat or _uses(st, a.target) != 1 or layer.op not in (ir.CONV, ir.FC)
            or layer.act is not None):
        return _bn_affine(st, node, idx, at)  # pre-activation BatchNorm: its own layer
    if layer.output in st.act_scale:  # QDQ: the conv output is rounded before the BN runs
        raise _fail(st, node, "BatchNormalization between QuantizeLinear/DequantizeLinear pairs cannot be folded exactly; "
                              "fold it before quantizing (onnxruntime.quantization.quant_pre_process, then quantize_static)")
    g, beta, mean, var = (_const(st, node, t, n) for t, n in zip(node.input[1:5], ("scale", "bias", "mean", "var")))
    eps = float(at.get("epsilon", 1e-5))
    k = g.astype(np.float64) / np.sqrt(var.astype(np.float64) + eps)
    if st.weights:  # in float32: the float64 round trip of every weight was most of the load time
        w = layer.weight
        layer.weight = (w * k.astype(np.float32).reshape((-1,) + (1,) * (w.ndim - 1))).astype(np.float32, copy=False)
    b0 = np.zeros(layer.c_out) if layer.bias is None else layer.bias.astype(np.float64)
    layer.bias = ((b0 - mean) * k + beta).astype(np.float32)
    layer.params += int(g.size + beta.size)
    layer.qdq_weight_scale = None  # folding changes the weights
    _rename_output(st, layer, node.output[0])


def _bn_affine(st, node, idx, at):
    """A BatchNormalization that cannot fold into a conv (DenseNet's BN + ReLU on a concatenation,
    before a zero-padded conv: folding it into the conv would also scale and shift the padding
    zeros) becomes a per-channel affine layer, y = x * k[c] + (beta - mean * k)[c]."""
    x, shp, flat = _act_input(st, node, node.input[0])
    if flat:
        raise _fail(st, node, "BatchNormalization of a flattened tensor is supported only when it folds into the preceding fc")
    g, beta, mean, var = (_const(st, node, t, n) for t, n in zip(node.input[1:5], ("scale", "bias", "mean", "var")))
    if any(np.size(v) != shp[0] for v in (g, beta, mean, var)):
        raise _fail(st, node, f"scale/bias/mean/var do not have one value per channel of its {shp[0]}-channel input")
    eps = float(at.get("epsilon", 1e-5))
    k = g.astype(np.float64).reshape(-1) / np.sqrt(var.astype(np.float64).reshape(-1) + eps)
    b = beta.astype(np.float64).reshape(-1) - mean.astype(np.float64).reshape(-1) * k
    _add_layer(st, node, idx, op=ir.AFFINE, inputs=[x], in_shapes=[shp], out_shape=shp, weight=k.astype(np.float32),
               bias=b.astype(np.float32), params=int(g.size + beta.size))


def _activation(st, node, idx, at):
    layer = _fusable_producer(st, node, node.input[0], node.op_type)
    if layer.name in st.implied_act:  # an explicit activation after a QDQ-implied ReLU replaces it
        st.implied_act.discard(layer.name)
        layer.act = None
    if layer.act is not None:
        raise _fail(st, node, "two activations in a row cannot be fused")
    if node.op_type == "Relu":
        layer.act = ir.ACT_RELU
    else:
        lo, hi = at.get("min", -np.inf), at.get("max", np.inf)
        if len(node.input) > 1 and node.input[1]:
            lo = float(np.asarray(_const(st, node, node.input[1], "min")).reshape(-1)[0])
        if len(node.input) > 2 and node.input[2]:
            hi = float(np.asarray(_const(st, node, node.input[2], "max")).reshape(-1)[0])
        if lo == 0.0 and hi == np.inf:
            layer.act = ir.ACT_RELU
        else:
            layer.act, layer.act_min, layer.act_max = ir.ACT_CLIP, float(lo), float(hi)
    _rename_output(st, layer, node.output[0])


def _pool(st, node, idx, at):
    pad = None if node.op_type.startswith("Global") else _take_pad(st, node, node.op_type)
    x, shp, flat = _act_input(st, node, pad.src if pad else node.input[0])
    if flat:
        raise _fail(st, node, "input is a flattened tensor; pooling needs a (N, C, H, W) input")
    c, h, w = shp
    if node.op_type == "GlobalAveragePool":
        _add_layer(st, node, idx, op=ir.GAP, inputs=[x], in_shapes=[shp], out_shape=(c, 1, 1), kernel=(h, w))
        return
    if node.op_type == "GlobalMaxPool":  # a max pool whose one window is the whole image
        _add_layer(st, node, idx, op=ir.MAXPOOL, inputs=[x], in_shapes=[shp], out_shape=(c, 1, 1), kernel=(h, w), stride=(h, w))
        return
    kernel = tuple(int(v) for v in at["kernel_shape"])
    stride = tuple(int(v) for v in at.get("strides", (1, 1)))
    dilation = tuple(int(v) for v in at.get("dilations", (1, 1)))
    if len(kernel) != 2:
        raise _fail(st, node, "only 2-D pooling is supported")
    if dilation != (1, 1):
        raise _fail(st, node, "dilated pooling is not supported; use dilations=1")
    own = _pads(st, node, at, (h, w), kernel, stride, dilation)
    pads = _plus(own, pad)
    include_pad = bool(at.get("count_include_pad", 0))
    if pad is not None and node.op_type == "MaxPool" and not (pad.value == -np.inf or pad.value <= -3.4e38):
        raise _fail(st, node, f"the Pad before this MaxPool pads with {pad.value}; only -inf padding folds into a max pool")
    if pad is not None and node.op_type == "AveragePool":
        if pad.value != 0.0:
            raise _fail(st, node, f"the Pad before this AveragePool pads with {pad.value}; only zero padding folds into an average pool")
        if any(own) and not include_pad:
            raise _fail(st, node, "a zero Pad before an AveragePool with its own pads and count_include_pad=0 mixes two divisor rules; not supported")
        include_pad = True  # the padded zeros count in the divisor, as they do in the padded tensor
    ceil = bool(at.get("ceil_mode", 0))
    oh, ow = _out_hw(st, node, (h, w), kernel, stride, pads, dilation, ceil)
    if node.op_type == "MaxPool":
        if len(node.output) > 1 and node.output[1]:
            raise _fail(st, node, "the Indices output of MaxPool is not supported")
        if ceil:  # extra windows run into the bottom/right border: padding that max ignores
            pads = (pads[0], pads[1], (oh - 1) * stride[0] + kernel[0] - h - pads[0], (ow - 1) * stride[1] + kernel[1] - w - pads[1])
        _add_layer(st, node, idx, op=ir.MAXPOOL, inputs=[x], in_shapes=[shp], out_shape=(c, oh, ow), kernel=kernel, stride=stride, pads=pads)
    else:
        if ceil and (oh, ow) != _out_hw(st, node, (h, w), kernel, stride, pads, dilation, False):
            raise _fail(st, node, "AveragePool with ceil_mode=1 that changes the output size is not supported; use ceil_mode=0")
        _add_layer(
            st, node, idx, op=ir.AVGPOOL, inputs=[x], in_shapes=[shp], out_shape=(c, oh, ow), kernel=kernel,
            stride=stride, pads=pads, count_include_pad=include_pad,
        )  # fmt: skip


def _add(st, node, idx, at):
    a, b = node.input[0], node.input[1]
    ca, cb = a in st.consts, b in st.consts
    if ca and cb:
        raise _fail(st, node, "both inputs are constants; fold constants before import")
    if ca or cb:  # MatMul + Add(bias) -> fc bias; Conv + Add(per-channel constant) -> conv bias
        t, bias = (b, st.consts[a]) if ca else (a, st.consts[b])
        layer = _fusable_producer(st, node, t, "Add of a constant")
        if layer.op not in (ir.FC, ir.CONV) or layer.act is not None:
            raise _fail(st, node, "Add of a constant is supported only as the bias of a MatMul or Conv")
        bias = np.asarray(bias, np.float32)
        c = layer.c_out
        # ONNX broadcasting aligns trailing axes: a conv's channel axis is third from the end.
        shapes = [(c,), (1, c)] if layer.op == ir.FC else [(c, 1, 1), (1, c, 1, 1)]
        if bias.size != 1 and bias.shape not in shapes:
            raise _fail(st, node, f"constant of shape {bias.shape} is not a per-channel bias of {layer.c_out} outputs")
        bias = np.broadcast_to(bias.reshape(-1), (layer.c_out,)).astype(np.float32)
        layer.bias = bias if layer.bias is None else layer.bias + bias
        layer.params += int(np.size(st.consts[a] if ca else st.consts[b]))
        _rename_output(st, layer, node.output[0])
        return
    xa, sa, fa = _act_input(st, node, a)
    xb, sb, fb = _act_input(st, node, b)
    if sa != sb or fa or fb:
        raise _fail(st, node, f"inputs have shapes {sa} and {sb}; only element-wise Add of equal shapes is supported")
    _add_layer(st, node, idx, op=ir.ADD, inputs=[xa, xb], in_shapes=[sa, sb], out_shape=sa)


def _lut_op(st, node, idx, at):
    """Sigmoid / HardSigmoid / HardSwish of an activation: an element-wise LUT layer. A later
    ``Mul(x, Sigmoid(x))`` or ``Mul(x, HardSigmoid(x))`` turns it into SiLU / HardSwish (``_mul``)."""
    x, shp, flat = _act_input(st, node, node.input[0])
    if flat and shp[1:] != (1, 1):
        raise _fail(st, node, "input is a flattened tensor; element-wise activations need a (N, C, H, W) input")
    fn, args = ir.LUT_HARDSWISH, ()
    if node.op_type == "Sigmoid":
        fn = ir.LUT_SIGMOID
    elif node.op_type == "HardSigmoid":
        fn, args = ir.LUT_HARDSIGMOID, (float(at.get("alpha", 0.2)), float(at.get("beta", 0.5)))
    _add_layer(st, node, idx, op=ir.LUT, inputs=[x], in_shapes=[shp], out_shape=shp, lut_fn=fn, lut_args=args)


# x * f(x) of the same x is one activation: SiLU (f = Sigmoid) or HardSwish (f = HardSigmoid with
# PyTorch's alpha = 1/6, beta = 1/2, as older opsets export hardswish).
def _self_gated(lay: Layer) -> str | None:
    if lay.lut_fn == ir.LUT_SIGMOID:
        return ir.LUT_SILU
    if lay.lut_fn == ir.LUT_HARDSIGMOID and np.isclose(lay.lut_args[0], 1 / 6) and lay.lut_args[1] == 0.5:
        return ir.LUT_HARDSWISH
    return None


def _mul(st, node, idx, at):
    """Mul of two activations: ``x * Sigmoid(x)`` (SiLU) or ``x * HardSigmoid(x)`` (HardSwish)
    becomes one LUT layer; ``x (C, H, W) * s (C, 1, 1)`` (squeeze-excite) a channel-wise Mul."""
    a, b = node.input[0], node.input[1]
    if a in st.consts or b in st.consts:
        raise _fail(st, node, "Mul by a constant is not supported; fold the scale into the preceding Conv before export")
    xa, sa, fa = _act_input(st, node, a)
    xb, sb, fb = _act_input(st, node, b)
    for x, gate in ((xa, xb), (xb, xa)):
        lay = st.producer.get(gate)
        if (lay is not None and lay.op == ir.LUT and lay.inputs == [x] and _uses(st, gate) == 1 and _self_gated(lay)
                and (lay.act is None or lay.name in st.implied_act)):
            fn, args = _self_gated(lay), ()
            if gate in st.act_scale:  # QDQ: onnxruntime rounds the gate to its own grid before the Mul
                gz, gsigned = st.act_zp[gate]
                args = (st.act_scale[gate], float(gz), -128.0 if gsigned else 0.0, 127.0 if gsigned else 255.0)
            lay.lut_fn, lay.lut_args = fn, args
            lay.act = None  # a QDQ-implied clamp of the gate is not a clamp of the product
            st.implied_act.discard(lay.name)
            lay.name = _unique_name(st, node, idx)  # the Mul computes the function's output: its name
            _rename_output(st, lay, node.output[0])
            return
    if (fa and sa[1:] != (1, 1)) or (fb and sb[1:] != (1, 1)):
        raise _fail(st, node, "input is a flattened feature map; channel-wise Mul needs (N, C, H, W) inputs")
    if sb == (sa[0], 1, 1) and sa[1:] != (1, 1):
        x, s, shp = xa, xb, sa
    elif sa == (sb[0], 1, 1) and sb[1:] != (1, 1):
        x, s, shp = xb, xa, sb
    else:
        raise _fail(st, node, f"inputs have shapes {sa} and {sb}; only x * Sigmoid(x) (SiLU), x * HardSigmoid(x) "
                              "(HardSwish) and a per-channel scale (C, 1, 1) times a feature map (squeeze-excite) are supported")
    _add_layer(st, node, idx, op=ir.CHMUL, inputs=[x, s], in_shapes=[shp, st.shapes[s]], out_shape=shp)


def _concat(st, node, idx, at):
    if all(t in st.consts for t in node.input):
        return _shape_op(st, node, idx, at)
    ins = [_act_input(st, node, t) for t in node.input]
    axis = int(at.get("axis", 1))
    if len(ins) == 1 and axis in (1, -3) and not ins[0][2]:  # torch.cat of one tensor: the tensor itself
        st.alias[node.output[0]] = _Alias(ins[0][0])
        return
    shapes = [s for _, s, _ in ins]
    if axis not in (1, -3) or any(f for _, _, f in ins):
        raise _fail(st, node, f"Concat on axis {axis}; only channel concatenation (axis=1) is supported")
    if len({s[1:] for s in shapes}) != 1:
        raise _fail(st, node, f"inputs have different spatial sizes {shapes}")
    c = sum(s[0] for s in shapes)
    _add_layer(st, node, idx, op=ir.CONCAT, inputs=[t for t, _, _ in ins], in_shapes=shapes, out_shape=(c, shapes[0][1], shapes[0][2]))


def _fc(st, node, idx, at):
    x, shp, flat = _act_input(st, node, node.input[0])
    k = int(np.prod(shp))
    if not flat and shp[1:] != (1, 1):
        raise _fail(st, node, f"input has shape {shp}; flatten it before a fully connected layer")
    wt = _const(st, node, node.input[1], "weight").astype(np.float32, copy=False)
    scale = st.const_scale.get(node.input[1])
    if node.op_type == "MatMul":
        w, b, params = wt.T, None, int(wt.size)
        if scale is not None:
            scale = scale.reshape(-1) if scale.size > 1 else scale
    else:
        if at.get("transA", 0):
            raise _fail(st, node, "Gemm with transA=1 is not supported")
        alpha, beta = float(at.get("alpha", 1.0)), float(at.get("beta", 1.0))
        w = wt if at.get("transB", 0) else wt.T
        if alpha != 1.0:
            w = w * np.float32(alpha)
        b = None
        if len(node.input) > 2 and node.input[2]:
            b = _const(st, node, node.input[2], "bias").astype(np.float32).reshape(-1) * np.float32(beta)
            if b.size == 1:
                b = np.full(w.shape[0], b[0], np.float32)
        params = int(wt.size) + (0 if b is None else int(b.size))
        if alpha != 1.0:
            scale = None
    if w.ndim != 2 or w.shape[1] != k:
        raise _fail(st, node, f"weight shape {tuple(wt.shape)} does not match an input of {k} features")
    _add_layer(
        st, node, idx, op=ir.FC, inputs=[x], in_shapes=[shp], out_shape=(int(w.shape[0]), 1, 1),
        weight=w if w.size and not any(w.strides) else np.ascontiguousarray(w),  # a placeholder stays one value
        bias=b, params=params, qdq_weight_scale=scale,
    )  # fmt: skip


def _flatten_like(st, node, idx, at):
    if node.input[0] in st.consts:  # shape arithmetic on constants
        data = np.asarray(st.consts[node.input[0]])
        if node.op_type == "Flatten":
            ax = int(at.get("axis", 1)) % max(data.ndim, 1)
            val = data.reshape(int(np.prod(data.shape[:ax])), -1)
        elif node.op_type == "Squeeze":
            axes = at.get("axes") or (_const(st, node, node.input[1], "axes").tolist() if len(node.input) > 1 and node.input[1] else None)
            val = np.squeeze(data, axis=None if axes is None else tuple(int(a) for a in axes))
        else:
            target = [int(v) for v in _const(st, node, node.input[1], "shape").reshape(-1)]
            val = data.reshape([d if t == 0 else t for t, d in zip(target, list(data.shape) + [0] * len(target))])
        st.consts[node.output[0]] = val
        return
    if node.input[0] in st.chview:  # the end of a channel shuffle: back to (1, C, H, W)
        src, index = st.chview[node.input[0]]
        shp = st.shapes[src]
        target = [int(v) for v in _const(st, node, node.input[1], "shape").reshape(-1)] if node.op_type == "Reshape" else []
        if len(target) != 4 or target[0] not in (0, 1, -1) or target[1] not in (-1, shp[0]) or target[2:] != list(shp[1:]):
            raise _fail(st, node, f"{node.op_type} of a channel-grouped view to {target}; only back to (1, C, H, W) is supported")
        return _channel_layer(st, node, idx, node.output[0], src, shp, index.reshape(-1))
    x, shp, _ = _act_input(st, node, node.input[0])
    if node.op_type == "Flatten":
        ok = int(at.get("axis", 1)) == 1
    elif node.op_type == "Squeeze":
        axes = at.get("axes")
        if axes is None and len(node.input) > 1:
            axes = _const(st, node, node.input[1], "axes").tolist()
        ok = shp[1:] == (1, 1) and sorted(int(a) % 4 for a in (axes or [2, 3])) == [2, 3]
    else:  # Reshape
        target = [int(v) for v in _const(st, node, node.input[1], "shape").reshape(-1)]
        if _channel_view(st, node, x, shp, target):
            return
        n = int(np.prod(shp))
        ok = target in ([1, n], [1, -1], [-1, n], [0, -1], [0, n])
        if [t if t != 0 else d for t, d in zip(target, (1, *shp))] == [1, *shp] and len(target) == 4:
            st.alias[node.output[0]] = _Alias(node.input[0])  # a no-op reshape
            return
    if not ok:
        raise _fail(st, node, f"{node.op_type} is supported only as a flatten to (1, C*H*W) before an fc layer")
    st.alias[node.output[0]] = _Alias(node.input[0], flat=True)


def _identity(st, node, idx, at):
    if node.input[0] in st.consts:
        st.consts[node.output[0]] = st.consts[node.input[0]]
        return
    st.alias[node.output[0]] = _Alias(node.input[0])


def _constant(st, node, idx, at):
    # PyTorch's dynamo exporter writes scalars and lists as value_float(s) / value_int(s).
    kinds = {"value_float": np.float32, "value_floats": np.float32, "value_int": np.int64, "value_ints": np.int64}
    if "value" in at:
        st.consts[node.output[0]] = numpy_helper.to_array(at["value"])
        return
    for k, dt in kinds.items():
        if k in at:
            st.consts[node.output[0]] = np.asarray(at[k], dt)
            return
    raise _fail(st, node, "only Constant nodes with a value / value_float(s) / value_int(s) are supported")


def _shape_op(st, node, idx, at):
    """Shape computations (PyTorch's ``x.view(x.size(0), -1)`` flatten exports as
    Shape -> Gather -> Unsqueeze -> Concat -> Reshape): folded to constants at import, since every
    activation shape is known."""
    op = node.op_type
    if op == "Shape":
        _, shp, flat = _act_input(st, node, node.input[0])
        full = np.array([1, int(np.prod(shp))] if flat else [1, *shp], np.int64)
        start, end = int(at.get("start", 0)), at.get("end")
        st.consts[node.output[0]] = full[start : None if end is None else int(end)]
        return
    ins = []
    for t in node.input:
        if t and t not in st.consts:
            raise _fail(st, node, f"{op} is supported only on constants (shape arithmetic); {t!r} is an activation")
        ins.append(st.consts[t] if t else None)
    if op == "Gather":
        val = np.take(ins[0], ins[1].astype(np.int64), axis=int(at.get("axis", 0)))
    elif op == "Unsqueeze":
        axes = at.get("axes") if "axes" in at else ins[1].tolist()
        val = ins[0]
        for ax in sorted(int(a) % (val.ndim + len(axes)) for a in axes):
            val = np.expand_dims(val, ax)
    elif op == "Cast":
        val = ins[0].astype(onnx.helper.tensor_dtype_to_np_dtype(int(at["to"])))
    else:  # Concat of constants
        val = np.concatenate([np.atleast_1d(v) for v in ins], axis=int(at.get("axis", 0)))
    st.consts[node.output[0]] = np.asarray(val)


def _plus(pads: tuple[int, int, int, int], pad: _Pad | None) -> tuple[int, int, int, int]:
    return pads if pad is None else tuple(a + b for a, b in zip(pads, pad.pads))  # type: ignore[return-value]


def _take_pad(st: _State, node, what: str) -> _Pad | None:
    """The pending Pad feeding ``node`` (consumed here), or None."""
    t = node.input[0]
    a = st.resolve(t)
    pad = st.pending_pad.get(a.target)
    if pad is None:
        return None
    if _uses(st, a.target) != 1:
        raise _fail(st, node, f"the Pad producing {t!r} has other consumers too; it can only be folded into one {what}")
    del st.pending_pad[a.target]
    return pad


def _pad(st, node, idx, at):
    """A constant Pad of H and W only: remembered and folded into the Conv / pool that reads it."""
    x, shp, flat = _act_input(st, node, node.input[0])
    mode = at.get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else str(mode)
    if mode != "constant":
        raise _fail(st, node, f"Pad mode {mode!r} is not supported; only constant padding folds into a conv or pool")
    if len(node.input) > 1 and node.input[1]:
        pads = [int(v) for v in _const(st, node, node.input[1], "pads").reshape(-1)]
    else:
        pads = [int(v) for v in at.get("pads", [])]
    value = 0.0
    if len(node.input) > 2 and node.input[2]:
        v = np.asarray(_const(st, node, node.input[2], "constant_value")).reshape(-1)
        value = float(v[0]) if v.size else 0.0
    elif "value" in at:
        value = float(at["value"])
    axes = list(range(4))
    if len(node.input) > 3 and node.input[3]:
        axes = [int(v) % 4 for v in _const(st, node, node.input[3], "axes").reshape(-1)]
    if flat or len(pads) != 2 * len(axes):
        raise _fail(st, node, f"pads {pads} do not fit a (N, C, H, W) tensor")
    full = [0] * 8
    for k, ax in enumerate(axes):
        full[ax], full[ax + 4] = pads[k], pads[k + len(axes)]
    if any(full[i] for i in (0, 1, 4, 5)) or min(full) < 0:
        raise _fail(st, node, f"pads {pads} pad the batch or channel axis or crop; only non-negative padding of H and W is supported")
    st.pending_pad[node.output[0]] = _Pad(x, (full[2], full[3], full[6], full[7]), value)


def _reduce(st, node, idx, at):
    """ReduceMean / ReduceMax over H and W: a global average / max pool (keepdims or not)."""
    x, shp, flat = _act_input(st, node, node.input[0])
    axes = at.get("axes")
    if axes is None and len(node.input) > 1 and node.input[1]:
        axes = _const(st, node, node.input[1], "axes").reshape(-1).tolist()
    if flat or axes is None or sorted(int(a) % 4 for a in axes) != [2, 3]:
        raise _fail(st, node, f"{node.op_type} over axes {axes}; only a reduction over the spatial axes (2, 3) is supported (global pooling)")
    c, h, w = shp
    if node.op_type == "ReduceMean":
        _add_layer(st, node, idx, op=ir.GAP, inputs=[x], in_shapes=[shp], out_shape=(c, 1, 1), kernel=(h, w))
    else:
        _add_layer(st, node, idx, op=ir.MAXPOOL, inputs=[x], in_shapes=[shp], out_shape=(c, 1, 1), kernel=(h, w), stride=(h, w))


def _slice_split(st, node, idx, at):
    """Slice / Split of constants is shape arithmetic; of an activation's channels, channel-map
    layers (one per output)."""
    if node.input[0] not in st.consts:
        return _split_channels(st, node, idx, at)
    for t in node.input[1:]:
        if t and t not in st.consts:
            raise _fail(st, node, f"{node.op_type} with a non-constant {t!r} is not supported")
    data = np.asarray(st.consts[node.input[0]])
    if node.op_type == "Slice":
        if len(node.input) > 1:
            ins = [st.consts[t] if t else None for t in node.input[1:]] + [None] * 4
            starts, ends, axes, steps = (None if v is None else np.asarray(v).reshape(-1).tolist() for v in ins[:4])
        else:
            starts, ends, axes, steps = at["starts"], at["ends"], at.get("axes"), None
        axes = list(range(len(starts))) if axes is None else axes
        steps = [1] * len(starts) if steps is None else steps
        sl = [slice(None)] * data.ndim
        for s0, e0, a0, k0 in zip(starts, ends, axes, steps):
            sl[int(a0) % data.ndim] = slice(int(s0), int(e0), int(k0))
        st.consts[node.output[0]] = data[tuple(sl)]
        return
    axis = int(at.get("axis", 0)) % max(data.ndim, 1)
    split = at.get("split")
    if split is None and len(node.input) > 1 and node.input[1]:
        split = st.consts[node.input[1]].reshape(-1).tolist()
    if split is None:
        split = [data.shape[axis] // len(node.output)] * len(node.output)
    for out, part in zip(node.output, np.split(data, np.cumsum(split)[:-1], axis=axis)):
        st.consts[out] = part


def _split_channels(st, node, idx, at):
    """Split / Slice of an activation on the channel axis (PyTorch's ``chunk``, ``split`` and
    ``x[:, a:b]``): each output is a CHANNELS layer selecting its channels (H and W untouched)."""
    x, shp, flat = _act_input(st, node, node.input[0])
    c = shp[0]
    for t in node.input[1:]:
        if t and t not in st.consts:
            raise _fail(st, node, f"{node.op_type} with a non-constant {t!r} is not supported")
    if flat:
        raise _fail(st, node, f"{node.op_type} of a flattened tensor is not supported; only channel splits of (N, C, H, W)")
    parts: list[tuple[str, list[int]]] = []
    if node.op_type == "Slice":
        if len(node.input) > 1:
            ins = [np.asarray(st.consts[t]).reshape(-1).tolist() if t else None for t in node.input[1:]] + [None] * 4
            starts, ends, axes, steps = ins[:4]
        else:
            starts, ends, axes, steps = at["starts"], at["ends"], at.get("axes"), None
        axes = list(range(len(starts))) if axes is None else axes
        steps = [1] * len(starts) if steps is None else steps
        dims = (1, *shp)
        sel = [list(range(d)) for d in dims]
        for s0, e0, a0, k0 in zip(starts, ends, axes, steps):
            a0 = int(a0) % 4
            sel[a0] = list(range(dims[a0]))[slice(int(s0), int(e0), int(k0))]
        if sel[0] != [0] or sel[2] != list(range(shp[1])) or sel[3] != list(range(shp[2])) or not sel[1]:
            raise _fail(st, node, f"Slice over axes {list(axes)} selects more than channels; only a slice of the channel axis (1) is supported")
        parts.append((node.output[0], sel[1]))
    else:
        axis = int(at.get("axis", 0))
        if axis % 4 != 1:
            raise _fail(st, node, f"Split on axis {axis}; only a split of the channel axis (1) is supported")
        split = at.get("split")
        if split is None and len(node.input) > 1 and node.input[1]:
            split = np.asarray(st.consts[node.input[1]]).reshape(-1).tolist()
        n = len(node.output)
        if split is None:  # equal parts; opset 18's num_outputs: the last one may be smaller
            size = -(-c // n)
            split = [min(size, c - i * size) for i in range(n)]
        split = [int(v) for v in split]
        if sum(split) != c or len(split) != n or min(split) < 1:
            raise _fail(st, node, f"split sizes {split} do not cut {c} channels into {n} non-empty parts")
        k0 = 0
        for out, size in zip(node.output, split):
            parts.append((out, list(range(k0, k0 + size))))
            k0 += size
    for out, m in parts:
        if out:
            _channel_layer(st, node, idx, out, x, shp, m)


def _channel_layer(st, node, idx, out: str, x: str, shp: Shape, m) -> None:
    """out = x's channels m (a CHANNELS layer), or an alias when m keeps every channel in order."""
    m = [int(v) for v in m]
    if m == list(range(shp[0])):
        st.alias[out] = _Alias(x)
        return
    if ir.channel_map_form(m) is None:
        raise _fail(st, node, f"channel order {m[:8]}... is neither a slice nor a channel shuffle; not supported")
    layer = Layer(index=len(st.layers), name=_unique_name(st, node, idx), op=ir.CHANNELS, inputs=[x], output=out,
                  in_shapes=[shp], out_shape=(len(m), shp[1], shp[2]), channel_map=tuple(m))
    st.layers.append(layer)
    st.producer[out] = layer
    st.shapes[out] = layer.out_shape


def _channel_view(st, node, x: str, shp: Shape, target: list[int]) -> bool:
    """Reshape (1, C, H, W) -> (1, d1, .., dk, H, W) (k >= 2; channel shuffle's first step):
    remember the channel index array; True when the Reshape was such a view."""
    c, h, w = shp
    dims = [d if t == 0 else t for t, d in zip(target, [1, c, h, w] + [0] * len(target))]
    if len(dims) < 5 or dims[0] not in (1, -1) or dims[-2:] != [h, w]:
        return False
    mid = dims[1:-2]
    if mid.count(-1) == 1:
        known = int(np.prod([d for d in mid if d != -1]))
        mid = [c // known if d == -1 else d for d in mid]
    if int(np.prod(mid)) != c or min(mid) < 1:
        return False
    st.chview[node.output[0]] = (x, np.arange(c).reshape(mid))
    return True


def _transpose(st, node, idx, at):
    """Transpose of a channel view that keeps N, H and W in place (channel shuffle's middle step)."""
    t = node.input[0]
    perm = [int(v) for v in at.get("perm", [])]
    if t in st.chview:
        x, index = st.chview[t]
        k = index.ndim
        if len(perm) != k + 3 or perm[0] != 0 or perm[-2:] != [k + 1, k + 2] or sorted(perm[1:-2]) != list(range(1, k + 1)):
            raise _fail(st, node, f"Transpose perm {perm} moves N, H or W; only a permutation of the channel groups is supported")
        st.chview[node.output[0]] = (x, index.transpose([p - 1 for p in perm[1:-2]]))
        return
    if t in st.consts:
        st.consts[node.output[0]] = np.transpose(st.consts[t], perm or None)
        return
    x, shp, flat = _act_input(st, node, t)
    if perm and perm == list(range(len(perm))):
        st.alias[node.output[0]] = _Alias(t)
        return
    raise _fail(st, node, f"Transpose perm {perm} of an activation; only channel shuffle (Reshape -> Transpose -> Reshape) is supported")


def _const_arith(st, node) -> None:
    """Add / Sub / Mul / Div of constants (shape arithmetic); Div of integers truncates as ONNX does."""
    a, b = (np.asarray(st.consts[t]) for t in node.input[:2])
    if node.op_type == "Div":
        val = np.trunc(a / b).astype(np.result_type(a, b)) if np.issubdtype(np.result_type(a, b), np.integer) else a / b
    else:
        val = _CONST_ARITH[node.op_type](a, b)
    st.consts[node.output[0]] = np.asarray(val)


def _qdq_params(st, node) -> tuple[np.ndarray, np.ndarray]:
    scale = np.asarray(_const(st, node, node.input[1], "scale"), np.float64)
    zp = np.asarray(_const(st, node, node.input[2], "zero point"), np.int64) if len(node.input) > 2 and node.input[2] else np.zeros_like(scale, np.int64)
    return scale, zp


def _qdq(st, node, idx, at):
    scale, zp = _qdq_params(st, node)
    src = node.input[0]
    if src in st.consts:  # a stored weight/bias being dequantized (or a constant being quantized)
        q = np.asarray(st.consts[src])
        axis = int(at.get("axis", 1))
        shape = [1] * q.ndim
        if scale.size > 1:
            shape[axis % q.ndim] = -1
        s, z = scale.reshape(shape), zp.reshape(shape)
        if node.op_type == "DequantizeLinear":
            if q.dtype in (np.int8, np.uint8) and np.any(zp != 0):
                raise _fail(st, node, "weights with a non-zero zero point are not supported; quantize weights as symmetric "
                                      "QInt8 (weight_type=QuantType.QInt8, the onnxruntime default)")
            st.consts[node.output[0]] = ((q.astype(np.float64) - z) * s).astype(np.float32)
            # Per-output-channel weight scale: axis 0 of a conv weight, axis 1 of a MatMul weight.
            st.const_scale[node.output[0]] = scale.reshape(-1)
        else:
            zdt = st.consts[node.input[2]].dtype if len(node.input) > 2 and node.input[2] else np.dtype(np.uint8)
            lo, hi = (-128, 127) if zdt == np.int8 else (0, 255)
            st.consts[node.output[0]] = np.clip(np.round(q / s) + z, lo, hi).astype(np.float32)
        return
    if scale.size != 1:
        raise _fail(st, node, "per-channel quantization of an activation is not supported; use per-tensor scales")
    dtype = "uint8"  # ONNX: without a zero point the type is uint8
    if len(node.input) > 2 and node.input[2]:
        dtype = str(np.asarray(st.consts[node.input[2]]).dtype)
    s, z = float(scale.reshape(-1)[0]), int(zp.reshape(-1)[0])
    lo = 0 if dtype == "uint8" else -128
    if dtype not in ("uint8", "int8"):
        raise _fail(st, node, f"activation type {dtype} is not supported; quantize activations to int8 or uint8")
    a = st.resolve(src)
    # The last Q/DQ on a tensor (after its fused activation) wins; its scale, zero point and type
    # are kept exactly, so the integer path computes on onnxruntime's grid.
    st.act_scale[a.target] = s
    st.act_zp[a.target] = (z, dtype == "int8")
    layer = st.producer.get(a.target)
    if node.op_type == "QuantizeLinear" and z == lo and layer is not None and layer.act is None and layer.op != ir.MAXPOOL:
        # onnxruntime's quantizer drops a ReLU whose clamp this QuantizeLinear's range already
        # does (real minimum 0): keep that clamp as the layer's activation, so the float model
        # and every engine still clamp.
        layer.act = ir.ACT_RELU
        st.implied_act.add(layer.name)
    st.alias[node.output[0]] = _Alias(src)


_CONVERT = {
    "Conv": _conv, "BatchNormalization": _bn, "Relu": _activation, "Clip": _activation,
    "MaxPool": _pool, "AveragePool": _pool, "GlobalAveragePool": _pool, "Add": _add, "Concat": _concat,
    "Gemm": _fc, "MatMul": _fc, "Flatten": _flatten_like, "Reshape": _flatten_like, "Squeeze": _flatten_like,
    "Identity": _identity, "Dropout": _identity, "QuantizeLinear": _qdq, "DequantizeLinear": _qdq,
    "Constant": _constant, "Shape": _shape_op, "Gather": _shape_op, "Unsqueeze": _shape_op, "Cast": _shape_op,
    "ReduceMean": _reduce, "ReduceMax": _reduce, "GlobalMaxPool": _pool, "Pad": _pad,
    "Slice": _slice_split, "Split": _slice_split,
    "Sigmoid": _lut_op, "HardSigmoid": _lut_op, "HardSwish": _lut_op, "Mul": _mul,
    "Transpose": _transpose,
}  # fmt: skip


def _check_opset(st: _State, model: onnx.ModelProto) -> None:
    for op in model.opset_import:
        if op.domain in ("", "ai.onnx") and op.version < MIN_OPSET:
            raise UserError(f"{st.where}: opset {op.version} is too old; asymap reads opset {MIN_OPSET} and newer (convert with onnx.version_converter)")


def _check_and_infer(st: _State, model: onnx.ModelProto, nodes: list, in_name: str, in_shape: Shape) -> dict[str, tuple]:
    """Run the ONNX checker and strict shape inference (input fixed to (1, C, H, W)).

    Both run on a *skeleton* of the model: the nodes in topological order (so an unsorted but
    acyclic file is accepted), with large initializers turned into typed graph inputs without
    data, so ResNet-152's 240 MB (or VGG-16's 550 MB) of weights are never serialized again.
    The weights themselves were already decoded by numpy_helper. Returns tensor name -> shape for
    the tensors shape inference could infer; any complaint is a user error.
    """
    g = model.graph
    inputs = [onnx.helper.make_tensor_value_info(in_name, onnx.TensorProto.FLOAT, [1, *in_shape])]
    small = []
    for init in g.initializer:
        if math.prod(init.dims) <= 64:
            small.append(init)  # shapes, axes, clip bounds: shape inference may need their values
        else:
            inputs.append(_value_info(init.name, init.data_type, init.dims))
    skel = onnx.helper.make_graph(nodes, g.name or "g", inputs, list(g.output), initializer=small)
    m = onnx.helper.make_model(skel, opset_imports=list(model.opset_import))
    m.ir_version = model.ir_version
    try:
        onnx.checker.check_model(m)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"{st.where}: the ONNX checker rejects the model: {first}") from None
    try:
        inferred = onnx.shape_inference.infer_shapes(m, strict_mode=True, data_prop=True)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"{st.where}: ONNX shape inference fails: {first}; fix the model or --input-shape") from None
    shapes = {}
    for vi in list(inferred.graph.value_info) + list(inferred.graph.output):
        t = vi.type.tensor_type
        if t.HasField("shape") and all(d.HasField("dim_value") for d in t.shape.dim):
            shapes[vi.name] = tuple(d.dim_value for d in t.shape.dim)
    return shapes


def _value_info(name: str, elem_type: int, dims) -> onnx.ValueInfoProto:
    """onnx.helper.make_tensor_value_info(name, elem_type, list(dims)) for static dims, built
    directly (the helper's checks cost ~8 us a call: 6 ms on ResNet-152's 750 initializers)."""
    vi = onnx.ValueInfoProto(name=name)
    tt = vi.type.tensor_type
    tt.elem_type = elem_type
    tt.shape.SetInParent()
    for d in dims:
        tt.shape.dim.add().dim_value = d
    return vi


def _to_array(init: onnx.TensorProto) -> np.ndarray:
    """numpy_helper.to_array, with its most common case (little-endian float32 raw data in the
    file) taken directly: the helper's dtype look-ups were most of the load of 600 BatchNorm
    vectors."""
    if (init.data_type == onnx.TensorProto.FLOAT and init.HasField("raw_data") and sys.byteorder == "little"
            and init.data_location != onnx.TensorProto.EXTERNAL and not init.HasField("segment")):
        return np.frombuffer(init.raw_data, dtype=np.float32).reshape(init.dims)
    return numpy_helper.to_array(init)


def _check_shapes(st: _State, inferred: dict[str, tuple]) -> None:
    """The IR's own shape arithmetic must agree with ONNX shape inference wherever it has one."""
    for layer in st.layers:
        for name in (layer.output, *layer.inputs):
            want = inferred.get(name)
            have = st.shapes.get(name)
            if want is not None and have is not None and len(want) == 4 and tuple(want[1:]) != tuple(have):
                raise UserError(f"{st.where}: node {layer.name!r}: tensor {name!r} has shape {want} by ONNX shape inference but {have} by asymap; please report this model")


def graph_from_model(model: onnx.ModelProto, where: str = "<model>", input_shape=None, weights: bool = True) -> Graph:
    """Build the layer IR from an in-memory ONNX model (see :func:`load_model`)."""
    st = _State(where=where, weights=weights)
    graph = model.graph
    _check_opset(st, model)
    constant = _constant_tensors(graph)
    for node in graph.node:
        if node.op_type in _CONST_ARITH and len(node.input) == 2 and all(t in constant for t in node.input):
            continue  # shape arithmetic, folded at import
        if node.op_type in _NOT_YET:
            raise UserError(f"{where}: node {node.name!r} has unsupported op type {node.op_type}: {_NOT_YET[node.op_type]}; "
                            f"supported: {', '.join(SUPPORTED_OPS)}")
        if node.op_type not in SUPPORTED_OPS or node.domain not in ("", "ai.onnx"):
            raise UserError(
                f"{where}: node {node.name!r} has unsupported op type {node.op_type}; "
                f"supported: {', '.join(SUPPORTED_OPS)}"
            )
    order = _topo_order(st, graph)
    nodes = [graph.node[i] for i in order]
    for init in graph.initializer:
        try:
            if weights or math.prod(init.dims) <= 4096:
                st.consts[init.name] = _to_array(init)
            else:  # right shape and dtype, no data: the planner reads only weight shapes
                dt = onnx.helper.tensor_dtype_to_np_dtype(init.data_type)
                st.consts[init.name] = np.broadcast_to(np.zeros((), dt), tuple(init.dims))
        except Exception as exc:
            raise UserError(f"{where}: initializer {init.name!r} is corrupt ({type(exc).__name__}); re-export the model") from None
    inputs = [i for i in graph.input if i.name not in st.consts]
    in_name, in_shape = _input_shape(st, graph, inputs, input_shape)
    st.shapes[in_name] = in_shape
    inferred = _check_and_infer(st, model, nodes, in_name, in_shape)
    for node in nodes:
        for t in node.input:
            st.users.setdefault(t, []).append(node)
    for o in graph.output:
        st.users.setdefault(o.name, []).append(None)
    for idx, node in enumerate(nodes):
        if node.op_type in _CONST_ARITH and len(node.input) == 2 and all(t in st.consts for t in node.input):
            _const_arith(st, node)
            continue
        _CONVERT[node.op_type](st, node, idx, _attrs(node))
    if len(graph.output) != 1:
        raise UserError(f"{where}: the model must have exactly one output, found {len(graph.output)}")
    out = st.resolve(graph.output[0].name).target
    if not st.layers or out not in st.producer:
        raise UserError(f"{where}: output {graph.output[0].name!r} is not computed by any supported layer")
    _check_shapes(st, inferred)
    final = graph.output[0].name
    if out != final and not any(out in layer.inputs for layer in st.layers):
        _rename_output(st, st.producer[out], final)  # keep the model's output name in the IR
        out = final
    for layer in st.layers:
        s = st.act_scale.get(layer.output)
        if s is not None:
            layer.qdq_out_scale = s
            layer.qdq_out_zero_point, layer.qdq_out_signed = st.act_zp[layer.output]
    in_zp, in_signed = st.act_zp.get(in_name, (0, True))
    g = Graph(
        name=graph.name or Path(where).stem, input=in_name, input_shape=in_shape, output=out, layers=st.layers,
        input_scale=st.act_scale.get(in_name), input_zero_point=in_zp, input_signed=in_signed,
    )  # fmt: skip
    _check_used(g, where)
    from asymap.util.validate import check_graph_values

    check_graph_values(g, where)
    return g


def _constant_tensors(graph) -> set[str]:
    """Tensors whose values are known before any image: initializers, Constant and Shape outputs
    (every activation shape is static), and outputs of nodes that read only such tensors."""
    known = {t.name for t in graph.initializer}
    changed = True
    while changed:
        changed = False
        for node in graph.node:
            if node.output and node.output[0] not in known and (
                    node.op_type in ("Constant", "Shape") or (node.input and all(not t or t in known for t in node.input))):
                known.update(o for o in node.output if o)
                changed = True
    return known


def _check_used(g: Graph, where: str) -> None:
    """Every layer must contribute to the output (the chain has no dead branches)."""
    needed = {g.output}
    for layer in reversed(g.layers):
        if layer.output in needed:
            needed.update(layer.inputs)
    dead = [layer.name for layer in g.layers if layer.output not in needed]
    if dead:
        raise UserError(f"{where}: node {dead[0]!r} does not contribute to the model output; remove dead branches")


def load_model(path: str | os.PathLike, input_shape=None, *, weights: bool = True, data: bytes | None = None) -> Graph:
    """Read an ONNX CNN and return its layer IR.

    ``input_shape``: (C, H, W) or (1, C, H, W), needed when the model's input has dynamic spatial
    dimensions. Raises :class:`UserError` for files that are not ONNX, graph errors, unsupported
    ops, non-constant weights and shapes that cannot be inferred. ``weights=False`` keeps large
    weights as zero-stride placeholders of the right shape (``asymap plan`` needs only shapes);
    ``data``: the file's bytes (or a buffer such as :func:`map_model`'s) when the caller already
    has them (to hash them once).
    """
    p = Path(path)
    model = _read_model(p, data, weights)
    return graph_from_model(model, where=str(p), input_shape=input_shape, weights=weights)
