"""The op patterns PyTorch's two ONNX exporters write for torchvision CNNs, rebuilt with onnx.helper.

Each graph reproduces what ``torch.onnx.export(..., dynamo=False)`` (TorchScript) or
``dynamo=True`` emits for a torchvision family (docs/frontend.md lists the ops per family, taken from
real exports by ``tests/fixtures/make_torch_fixtures.py``). The float executor of the imported IR
must agree with onnxruntime on the original graph; patterns the IR cannot express must fail with
one clean line naming the node.
"""

from __future__ import annotations

import numpy as np
import pytest
from onnx import helper, numpy_helper

from asymap.errors import UserError
from asymap.frontend import ir
from asymap.frontend.onnx_import import graph_from_model
from asymap.quant.reference import run_float

TOL = 1e-4


def _check(kit, model, in_shape, seed=1):
    g = graph_from_model(model, "m.onnx")
    x = np.random.default_rng(seed).standard_normal(in_shape).astype(np.float32)
    y = np.asarray(run_float(g, x), np.float64).ravel()
    ref = np.asarray(kit.ort(model, x), np.float64).ravel()
    assert y.size == ref.size
    assert np.abs(y - ref).max() <= TOL * max(np.abs(ref).max(), 1e-30)
    return g


def _i64(name, vals):
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(np.asarray(vals, np.int64), name + "_v"))


def _stem_and_block(kit, c=8, bn=True):
    """conv(+BN)+relu -> maxpool(pad 1) -> basic residual block: the ResNet stem, both exporters."""
    inits = {"w0": kit.w(c, 3, 3, 3), "w1": kit.w(c, c, 3, 3), "w2": kit.w(c, c, 3, 3)}
    nodes = [helper.make_node("Conv", ["x", "w0"], ["c0"], name="conv0", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])]
    src = "c0"
    if bn:
        for k in ("g", "b", "m"):
            inits[f"bn_{k}"] = kit.w(c)
        inits["bn_v"] = np.abs(kit.w(c)) + 0.5
        nodes.append(helper.make_node("BatchNormalization", ["c0", "bn_g", "bn_b", "bn_m", "bn_v"], ["n0"], name="bn0"))
        src = "n0"
    nodes += [
        helper.make_node("Relu", [src], ["r0"], name="relu0"),
        helper.make_node("MaxPool", ["r0"], ["p0"], name="pool0", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["p0", "w1"], ["c1"], name="conv1", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], name="conv2", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["c2", "p0"], ["a"], name="add"),
        helper.make_node("Relu", ["a"], ["r2"], name="relu2"),
    ]
    return nodes, inits, "r2"


@pytest.mark.parametrize("keepdims", [1, 0])
def test_dynamo_resnet_reducemean_reshape_gemm(kit, keepdims):
    """dynamo=True: adaptive_avg_pool2d(1) -> ReduceMean(axes=[-1, -2] as an input, opset 18),
    torch.flatten -> Reshape to a constant [1, C] (or nothing with keepdims=0), Linear -> Gemm."""
    nodes, inits, t = _stem_and_block(kit)
    inits.update({"fc_w": kit.w(5, 8), "fc_b": kit.w(5)})
    nodes += [
        _i64("axes", [-1, -2]),
        helper.make_node("ReduceMean", [t, "axes"], ["gap"], name="mean", keepdims=keepdims),
    ]
    if keepdims:
        nodes += [_i64("shape", [1, 8]), helper.make_node("Reshape", ["gap", "shape"], ["flat"], name="view")]
    nodes.append(helper.make_node("Gemm", ["flat" if keepdims else "gap", "fc_w", "fc_b"], ["y"], name="fc", transB=1))
    m = kit.model(nodes, inits, (3, 16, 16), opset=18, out_rank=2)
    g = _check(kit, m, (3, 16, 16))
    assert [lay.op for lay in g.layers] == [ir.CONV, ir.MAXPOOL, ir.CONV, ir.CONV, ir.ADD, ir.GAP, ir.FC]


def test_legacy_mnasnet_reducemean_attr_no_keepdims(kit):
    """dynamo=False, MNASNet's x.mean([2, 3]): ReduceMean(axes=[2, 3] attribute, keepdims=0) -> Gemm."""
    nodes, inits, t = _stem_and_block(kit)
    inits.update({"fc_w": kit.w(4, 8), "fc_b": kit.w(4)})
    nodes += [
        helper.make_node("ReduceMean", [t], ["gap"], name="mean", axes=[2, 3], keepdims=0),
        helper.make_node("Dropout", ["gap"], ["d"], name="drop"),
        helper.make_node("Gemm", ["d", "fc_w", "fc_b"], ["y"], name="fc", transB=1),
    ]
    g = _check(kit, kit.model(nodes, inits, (3, 16, 16), opset=13, out_rank=2), (3, 16, 16))
    assert g.layers[-2].op == ir.GAP


def test_reducemax_and_globalmaxpool_are_global_max_pools(kit):
    inits = {"w0": kit.w(6, 3, 3, 3)}
    nodes = [
        helper.make_node("Conv", ["x", "w0"], ["c0"], name="conv0", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        _i64("axes", [2, 3]),
        helper.make_node("ReduceMax", ["c0", "axes"], ["y"], name="gmax", keepdims=1),
    ]
    g = _check(kit, kit.model(nodes, inits, (3, 9, 7), opset=18), (3, 9, 7))
    assert g.layers[-1].op == ir.MAXPOOL and g.layers[-1].kernel == (9, 7) and g.layers[-1].out_shape == (6, 1, 1)
    nodes = [nodes[0], helper.make_node("GlobalMaxPool", ["c0"], ["y"], name="gmax")]
    g = _check(kit, kit.model(nodes, inits, (3, 9, 7)), (3, 9, 7))
    assert g.layers[-1].op == ir.MAXPOOL


def test_legacy_inception_pad_then_avgpool_counts_padding(kit):
    """dynamo=False writes avg_pool2d(3, 1, padding=1, count_include_pad=True) as Pad + AveragePool."""
    inits = {"w0": kit.w(6, 3, 3, 3)}
    nodes = [
        helper.make_node("Conv", ["x", "w0"], ["c0"], name="conv0", kernel_shape=[3, 3]),
        helper.make_node("Relu", ["c0"], ["r0"], name="relu0"),
        _i64("pads", [0, 0, 1, 1, 0, 0, 1, 1]),
        helper.make_node("Pad", ["r0", "pads"], ["p"], name="pad", mode="constant"),
        helper.make_node("AveragePool", ["p"], ["y"], name="avg", kernel_shape=[3, 3], strides=[1, 1]),
    ]
    g = _check(kit, kit.model(nodes, inits, (3, 10, 10)), (3, 10, 10))
    pool = g.layers[-1]
    assert pool.op == ir.AVGPOOL and pool.pads == (1, 1, 1, 1) and pool.count_include_pad


def test_dynamo_inception_avgpool_with_pads_attribute(kit):
    inits = {"w0": kit.w(6, 3, 3, 3)}
    nodes = [
        helper.make_node("Conv", ["x", "w0"], ["c0"], name="conv0", kernel_shape=[3, 3]),
        helper.make_node("AveragePool", ["c0"], ["y"], name="avg", kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1],
                         count_include_pad=1),
    ]  # fmt: skip
    g = _check(kit, kit.model(nodes, inits, (3, 10, 10), opset=18), (3, 10, 10))
    assert g.layers[-1].count_include_pad


@pytest.mark.parametrize("value, op", [(0.0, "Conv"), (-np.inf, "MaxPool")])
def test_pad_folds_into_conv_and_maxpool(kit, value, op):
    """An explicit F.pad before a conv (zeros) or a max pool (-inf) becomes the layer's own pads."""
    inits = {"w0": kit.w(6, 3, 1, 1), "w1": kit.w(4, 6, 3, 3), "val": np.array(value, np.float32)}
    second = (helper.make_node("Conv", ["p", "w1"], ["y"], name="conv1", kernel_shape=[3, 3], strides=[2, 2]) if op == "Conv"
              else helper.make_node("MaxPool", ["p"], ["y"], name="mp", kernel_shape=[3, 3], strides=[2, 2]))  # fmt: skip
    nodes = [
        helper.make_node("Conv", ["x", "w0"], ["c0"], name="conv0", kernel_shape=[1, 1]),
        _i64("pads", [0, 0, 0, 1, 0, 0, 2, 1]),
        helper.make_node("Pad", ["c0", "pads", "val"], ["p"], name="pad"),
        second,
    ]
    g = _check(kit, kit.model(nodes, inits, (3, 9, 9)), (3, 9, 9))
    assert g.layers[-1].pads == (0, 1, 2, 1)


def test_squeezenet_ceil_mode_maxpool_and_legacy_view_flatten(kit):
    """SqueezeNet/GoogLeNet: MaxPool(ceil_mode=1); legacy x.view(x.size(0), -1):
    Shape -> Gather -> Unsqueeze -> Concat -> Reshape (folded to a constant shape)."""
    inits = {"w0": kit.w(6, 3, 3, 3), "fc_w": kit.w(3, 6 * 4 * 4), "idx": np.array(0, np.int64), "m1": np.array([-1], np.int64)}
    nodes = [
        helper.make_node("Conv", ["x", "w0"], ["c0"], name="conv0", kernel_shape=[3, 3]),
        helper.make_node("MaxPool", ["c0"], ["p"], name="mp", kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1),
        helper.make_node("Shape", ["p"], ["s"], name="shape"),
        helper.make_node("Gather", ["s", "idx"], ["n"], name="gather", axis=0),
        helper.make_node("Unsqueeze", ["n"], ["n1"], name="unsq", axes=[0]),
        helper.make_node("Concat", ["n1", "m1"], ["shp"], name="cat", axis=0),
        helper.make_node("Reshape", ["p", "shp"], ["f"], name="view"),
        helper.make_node("Gemm", ["f", "fc_w"], ["y"], name="fc", transB=1),
    ]
    g = _check(kit, kit.model(nodes, inits, (3, 10, 10), opset=11, out_rank=2), (3, 10, 10))
    assert g.layers[1].out_shape == (6, 4, 4)


def test_dynamo_constants_squeeze_and_identity(kit):
    """dynamo writes scalars as Constant(value_ints / value_float), squeezes with an axes input and
    leaves Identity nodes on initializers and activations."""
    inits = {"w0": kit.w(6, 3, 3, 3), "fc_w": kit.w(6, 3)}
    nodes = [
        helper.make_node("Identity", ["w0"], ["w0i"], name="idw"),
        helper.make_node("Conv", ["x", "w0i"], ["c0"], name="conv0", kernel_shape=[3, 3]),
        helper.make_node("Constant", [], ["lo"], name="lo", value_float=0.0),
        helper.make_node("Constant", [], ["hi"], name="hi", value_float=6.0),
        helper.make_node("Clip", ["c0", "lo", "hi"], ["r"], name="relu6"),
        helper.make_node("GlobalAveragePool", ["r"], ["gp"], name="gap"),
        helper.make_node("Constant", [], ["ax"], name="ax", value_ints=[-1, -2]),
        helper.make_node("Squeeze", ["gp", "ax"], ["sq"], name="squeeze"),
        helper.make_node("Identity", ["sq"], ["sqi"], name="ida"),
        helper.make_node("MatMul", ["sqi", "fc_w"], ["y"], name="fc"),
    ]
    g = _check(kit, kit.model(nodes, inits, (3, 8, 8), opset=18, out_rank=2), (3, 8, 8))
    assert g.layers[0].act == ir.ACT_CLIP and g.layers[0].act_max == 6.0


def test_shape_slice_on_constants_is_folded(kit):
    """dynamo's reshape shapes sometimes arrive as Shape -> Slice -> Concat."""
    inits = {"w0": kit.w(4, 3, 3, 3), "fc_w": kit.w(2, 4 * 6 * 6), "st": np.array([0], np.int64), "en": np.array([1], np.int64),
             "m1": np.array([-1], np.int64)}  # fmt: skip
    nodes = [
        helper.make_node("Conv", ["x", "w0"], ["c0"], name="conv0", kernel_shape=[3, 3]),
        helper.make_node("Shape", ["c0"], ["s"], name="shape"),
        helper.make_node("Slice", ["s", "st", "en"], ["n"], name="slice"),
        helper.make_node("Concat", ["n", "m1"], ["shp"], name="cat", axis=0),
        helper.make_node("Reshape", ["c0", "shp"], ["f"], name="view"),
        helper.make_node("Gemm", ["f", "fc_w"], ["y"], name="fc", transB=1),
    ]
    _check(kit, kit.model(nodes, inits, (3, 8, 8), opset=13, out_rank=2), (3, 8, 8))


def _fails(kit, nodes, inits, in_shape, *words, opset=13):
    m = kit.model(nodes, inits, in_shape, opset=opset)
    with pytest.raises(UserError) as e:
        graph_from_model(m, "m.onnx")
    msg = str(e.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg, msg


def test_split_slice_and_transpose_beyond_channels_fail_cleanly(kit):
    """Channel split / slice / shuffle import (tests/frontend/test_frontend_dense_shuffle.py); the
    same ops over H or W, or a Transpose that moves H and W, are refused in one line."""
    inits = {"w0": kit.w(8, 3, 1, 1), "sp": np.array([3, 3], np.int64), "st": np.array([0], np.int64), "en": np.array([4], np.int64),
             "ax": np.array([2], np.int64), "shape5": np.array([1, 2, 4, 6, 6], np.int64),
             "shape4": np.array([1, 8, 6, 6], np.int64)}  # fmt: skip
    conv = helper.make_node("Conv", ["x", "w0"], ["c0"], name="conv0", kernel_shape=[1, 1])
    split = [conv, helper.make_node("Split", ["c0", "sp"], ["u", "v"], name="split7", axis=2),
             helper.make_node("Add", ["u", "v"], ["y"], name="add")]  # fmt: skip
    _fails(kit, split, inits, (3, 6, 6), "split7", "Split", "channel")
    _fails(kit, [conv, helper.make_node("Slice", ["c0", "st", "en", "ax"], ["y"], name="slice7")], inits, (3, 6, 6), "slice7", "Slice", "channel")
    shuffle = [conv, helper.make_node("Reshape", ["c0", "shape5"], ["r5"], name="shuf_reshape"),
               helper.make_node("Transpose", ["r5"], ["t5"], name="shuf_t", perm=[0, 2, 1, 4, 3]),
               helper.make_node("Reshape", ["t5", "shape4"], ["y"], name="shuf_back")]  # fmt: skip
    _fails(kit, shuffle, inits, (3, 6, 6), "shuf_t", "Transpose", "channel groups")
    hw = [conv, helper.make_node("Transpose", ["c0"], ["y"], name="t_hw", perm=[0, 1, 3, 2])]
    _fails(kit, hw, inits, (3, 6, 6), "t_hw", "Transpose", "shuffle")


def test_reflect_pad_and_reduce_over_channels_fail_cleanly(kit):
    inits = {"w0": kit.w(4, 3, 3, 3), "pads": np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64), "ax": np.array([1], np.int64)}
    nodes = [helper.make_node("Pad", ["x", "pads"], ["p"], name="rpad", mode="reflect"),
             helper.make_node("Conv", ["p", "w0"], ["y"], name="conv0", kernel_shape=[3, 3])]  # fmt: skip
    _fails(kit, nodes, inits, (3, 6, 6), "rpad", "reflect")
    nodes = [helper.make_node("Conv", ["x", "w0"], ["c"], name="conv0", kernel_shape=[3, 3]),
             helper.make_node("ReduceMean", ["c", "ax"], ["y"], name="chmean")]  # fmt: skip
    _fails(kit, nodes, inits, (3, 6, 6), "chmean", "spatial", opset=18)
    # A zero Pad before a MaxPool is not -inf padding: refused rather than silently wrong.
    nodes = [helper.make_node("Pad", ["x", "pads"], ["p"], name="zpad"),
             helper.make_node("MaxPool", ["p"], ["y"], name="mp", kernel_shape=[3, 3])]  # fmt: skip
    _fails(kit, nodes, inits, (3, 6, 6), "mp", "-inf")


def test_qoperator_models_say_use_qdq(kit):
    zero = {"sx": np.array(0.1, np.float32), "zx": np.array(0, np.uint8), "wq": np.ones((4, 3, 1, 1), np.int8),
            "sw": np.array(0.1, np.float32), "zw": np.array(0, np.int8)}  # fmt: skip
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "sx", "zx"], ["xq"], name="q"),
        helper.make_node("QLinearConv", ["xq", "sx", "zx", "wq", "sw", "zw", "sx", "zx"], ["cq"], name="qconv3"),
        helper.make_node("DequantizeLinear", ["cq", "sx", "zx"], ["y"], name="dq"),
    ]
    _fails(kit, nodes, zero, (3, 4, 4), "qconv3", "QLinearConv", "QDQ")


@pytest.mark.csim
def test_global_max_and_mean_from_reduce_ops_verify_on_two_boards(kit, tmp_path):
    """ReduceMax (a max pool whose window is the whole image) and ReduceMean (gap) through the HLS
    engines: generate + C-sim on two boards, bit-exact with the integer reference."""
    import onnx

    from asymap.codegen.project import generate
    from asymap.verify.runner import verify

    root = __import__("pathlib").Path(__file__).resolve().parents[2]
    inits = {"w0": kit.w(8, 3, 3, 3), "w1": kit.w(8, 8, 1, 1), "fc_w": kit.w(5, 16), "fc_b": kit.w(5)}
    nodes = [
        helper.make_node("Conv", ["x", "w0"], ["c0"], name="conv0", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c0"], ["r0"], name="relu0"),
        helper.make_node("Conv", ["r0", "w1"], ["c1"], name="conv1", kernel_shape=[1, 1]),
        _i64("axes", [-1, -2]),
        helper.make_node("ReduceMax", ["r0", "axes"], ["mx"], name="gmax", keepdims=1),
        helper.make_node("ReduceMean", ["c1", "axes"], ["mn"], name="gmean", keepdims=1),
        helper.make_node("Concat", ["mx", "mn"], ["cat"], name="cat", axis=1),
        _i64("shape", [1, 16]),
        helper.make_node("Reshape", ["cat", "shape"], ["flat"], name="view"),
        helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["y"], name="fc", transB=1),
    ]
    m = kit.model(nodes, inits, (3, 8, 8), opset=18, out_rank=2)
    g = _check(kit, m, (3, 8, 8))
    assert [lay.op for lay in g.layers] == [ir.CONV, ir.CONV, ir.MAXPOOL, ir.GAP, ir.CONCAT, ir.FC]
    path = tmp_path / "reduce.onnx"
    onnx.save(m, str(path))
    lay = lambda i: {"index": i, "factors": {"pe": 1, "simd": 1}, "weights": "onchip"}  # noqa: E731
    plan = {"schema": 1, "boards": [{"name": "big", "first_layer": 0, "last_layer": 2, "layers": [lay(i) for i in range(3)]},
                                    {"name": "small", "first_layer": 3, "last_layer": 5, "layers": [lay(i) for i in range(3, 6)]}],
            "links": [{"from": "big", "to": "small", "width_bits": 64}]}  # fmt: skip
    generate(path, root / "clusters" / "pair2.yaml", tmp_path / "out", plan=plan, quiet=True)
    res = verify(tmp_path / "out", jobs=1, quiet=True)
    assert res.ok, [(b.name, b.status, b.problems[:3]) for b in res.boards]
