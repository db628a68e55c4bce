"""ONNX import: every supported op becomes the right IR layer, and the float executor of the IR
agrees with onnxruntime on the original graph (max relative error <= 1e-4)."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import helper

from asymap.errors import UserError
from asymap.frontend import ir
from asymap.frontend.onnx_import import graph_from_model, load_model
from asymap.quant.reference import run_float

TOL = 1e-4


def rel_err(a, b) -> float:
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))


def check_vs_ort(kit, model, in_shape, seed=1):
    g = graph_from_model(model, "m.onnx")
    x = np.random.default_rng(seed).standard_normal(in_shape).astype(np.float32)
    y = run_float(g, x)
    ref = kit.ort(model, x)
    assert y.size == ref.size
    assert rel_err(y, ref) <= TOL
    return g


@pytest.mark.parametrize(
    "k, stride, pads, dil, groups",
    [
        (3, 1, [1, 1, 1, 1], 1, 1),
        (3, 2, [0, 1, 2, 0], 1, 1),  # asymmetric pads (top, left, bottom, right)
        (5, 1, [2, 2, 2, 2], 2, 1),  # dilation
        (3, 2, [1, 1, 1, 1], 1, 4),  # grouped
        (3, 1, [1, 1, 1, 1], 1, 8),  # depthwise (groups = C_in = C_out)
        (1, 2, [0, 0, 0, 0], 1, 1),  # strided 1x1 (ResNet downsample)
    ],
)
def test_conv_variants(kit, k, stride, pads, dil, groups):
    cin, cout = 8, 8
    w = kit.w(cout, cin // groups, k, k)
    b = kit.w(cout)
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], name="c", kernel_shape=[k, k], strides=[stride] * 2,
                            pads=pads, dilations=[dil] * 2, group=groups)  # fmt: skip
    g = check_vs_ort(kit, kit.model([node], {"w": w, "b": b}, (cin, 13, 11)), (cin, 13, 11))
    (layer,) = g.layers
    assert layer.op == ir.CONV and layer.groups == groups and layer.pads == tuple(pads)
    c, oh, ow = layer.out_shape
    assert layer.macs == c * oh * ow * (cin // groups) * k * k
    assert layer.params == w.size + b.size


def test_bn_folds_into_conv_and_relu_fuses(kit):
    c = 6
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c", "g", "bt", "m", "v"], ["bn"], name="bn", epsilon=1e-3),
        helper.make_node("Relu", ["bn"], ["y"], name="relu"),
    ]
    inits = {"w": kit.w(c, 3, 3, 3), "g": kit.w(c) + 1, "bt": kit.w(c), "m": kit.w(c), "v": np.abs(kit.w(c)) + 0.5}
    g = check_vs_ort(kit, kit.model(nodes, inits, (3, 8, 8)), (3, 8, 8))
    (layer,) = g.layers
    assert layer.act == ir.ACT_RELU and layer.output == "y" == g.output
    assert layer.params == c * 3 * 9 + 2 * c  # weights + BN scale and shift, not running stats
    assert layer.bias is not None


@pytest.mark.parametrize("lo, hi, act", [(0.0, 6.0, ir.ACT_CLIP), (-1.0, 1.0, ir.ACT_CLIP)])
def test_clip_fuses(kit, lo, hi, act):
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv", kernel_shape=[1, 1]),
        helper.make_node("Clip", ["c", "lo", "hi"], ["y"], name="clip"),
    ]
    inits = {"w": kit.w(4, 3, 1, 1, scale=3.0), "lo": np.array(lo, np.float32), "hi": np.array(hi, np.float32)}
    g = check_vs_ort(kit, kit.model(nodes, inits, (3, 5, 5)), (3, 5, 5))
    assert g.layers[0].act == act and (g.layers[0].act_min, g.layers[0].act_max) == (lo, hi)


@pytest.mark.parametrize("flatten", ["Flatten", "Reshape", "Squeeze"])
def test_matmul_add_and_flatten_variants_are_one_fc(kit, flatten):
    c = 8
    fl_inputs = {"Flatten": ["p"], "Reshape": ["p", "shape"], "Squeeze": ["p", "axes"]}[flatten]
    nodes = [
        helper.make_node("GlobalAveragePool", ["x"], ["p"], name="gap"),
        helper.make_node(flatten, fl_inputs, ["f"], name="flat"),
        helper.make_node("Dropout", ["f"], ["d"], name="drop"),
        helper.make_node("MatMul", ["d", "W"], ["mm"], name="mm"),
        helper.make_node("Add", ["mm", "B"], ["a"], name="bias"),
        helper.make_node("Identity", ["a"], ["y"], name="id"),
    ]
    inits = {"W": kit.w(c, 5), "B": kit.w(5), "shape": np.array([1, -1], np.int64), "axes": np.array([2, 3], np.int64)}
    g = check_vs_ort(kit, kit.model(nodes, inits, (c, 4, 4), out_rank=2), (c, 4, 4))
    assert [lay.op for lay in g.layers] == [ir.GAP, ir.FC]
    fc = g.layers[1]
    assert fc.params == c * 5 + 5 and fc.weight.shape == (5, c) and fc.output == g.output == "y"


def test_gemm_flattens_chw_order(kit):
    nodes = [
        helper.make_node("Flatten", ["x"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "W", "B"], ["y"], name="fc", transB=1, alpha=0.5, beta=2.0),
    ]
    g = check_vs_ort(kit, kit.model(nodes, {"W": kit.w(7, 4 * 3 * 2), "B": kit.w(7)}, (4, 3, 2), out_rank=2), (4, 3, 2))
    assert g.layers[0].op == ir.FC and g.layers[0].in_shapes == [(4, 3, 2)] and g.layers[0].macs == 7 * 24


@pytest.mark.parametrize(
    "op, attrs",
    [
        ("MaxPool", dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])),
        ("MaxPool", dict(kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)),
        ("MaxPool", dict(kernel_shape=[2, 2], strides=[2, 2], auto_pad="SAME_UPPER")),
        ("AveragePool", dict(kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1], count_include_pad=0)),
        ("AveragePool", dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 0, 1, 2], count_include_pad=1)),
    ],
)
def test_pooling_matches_ort(kit, op, attrs):
    node = helper.make_node(op, ["x"], ["y"], name="pool", **attrs)
    g = check_vs_ort(kit, kit.model([node], {}, (3, 10, 9)), (3, 10, 9))
    assert g.layers[0].op == (ir.MAXPOOL if op == "MaxPool" else ir.AVGPOOL) and g.layers[0].macs == 0


def test_conv_auto_pad_same(kit):
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="c", kernel_shape=[4, 4], strides=[2, 2], auto_pad="SAME_LOWER")
    g = check_vs_ort(kit, kit.model([node], {"w": kit.w(4, 3, 4, 4)}, (3, 9, 9)), (3, 9, 9))
    assert g.layers[0].out_shape == (4, 5, 5)


def _residual_nodes():
    return [
        helper.make_node("Conv", ["x", "w0"], ["t0"], name="c0", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["t0"], ["r0"], name="r0"),
        helper.make_node("Conv", ["r0", "w1"], ["t1"], name="c1", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["t1", "w2"], ["t2"], name="c2", kernel_shape=[1, 1]),
        helper.make_node("Conv", ["r0", "w3"], ["t3"], name="c3", kernel_shape=[1, 1]),
        helper.make_node("Concat", ["t2", "t3"], ["cat"], name="cat", axis=1),
        helper.make_node("Conv", ["cat", "w4"], ["t4"], name="c4", kernel_shape=[1, 1]),
        helper.make_node("Add", ["t4", "r0"], ["y"], name="add"),
    ]


def _residual_inits(kit):
    return {"w0": kit.w(4, 3, 3, 3), "w1": kit.w(4, 4, 3, 3), "w2": kit.w(2, 4, 1, 1), "w3": kit.w(2, 4, 1, 1), "w4": kit.w(4, 4, 1, 1)}


def test_live_across_residual_and_concat(kit):
    g = check_vs_ort(kit, kit.model(_residual_nodes(), _residual_inits(kit), (3, 6, 6)), (3, 6, 6))
    assert [lay.name for lay in g.layers] == ["c0", "c1", "c2", "c3", "cat", "c4", "add"]
    assert [lay.op for lay in g.layers] == [ir.CONV] * 4 + [ir.CONCAT, ir.CONV, ir.ADD]
    live = [g.live_across(i) for i in range(-1, len(g))]
    assert live == [["x"], ["r0"], ["r0", "t1"], ["r0", "t2"], ["r0", "t2", "t3"], ["r0", "cat"], ["r0", "t4"], ["y"]]
    assert g.cut_bytes(1) == 2 * 4 * 36 and g.cut_bytes(-1) == 3 * 36


def test_unsorted_file_gets_a_deterministic_topological_order(kit):
    nodes = _residual_nodes()
    shuffled = [nodes[i] for i in (7, 5, 3, 1, 0, 6, 4, 2)]
    inits = _residual_inits(kit)
    g1 = graph_from_model(kit.model(shuffled, inits, (3, 6, 6)), "m")
    g2 = graph_from_model(kit.model(shuffled, inits, (3, 6, 6)), "m")
    assert [lay.name for lay in g1.layers] == [lay.name for lay in g2.layers]
    seen = {g1.input}
    for lay in g1.layers:
        assert set(lay.inputs) <= seen
        seen.add(lay.output)


def test_dynamic_input_needs_and_takes_input_shape(kit, tmp_path):
    import onnx

    node = helper.make_node("Conv", ["x", "w"], ["y"], name="c", kernel_shape=[3, 3])
    m = kit.model([node], {"w": kit.w(2, 3, 3, 3)}, None, in_dims=["N", 3, "H", "W"])
    path = tmp_path / "dyn.onnx"
    onnx.save(m, str(path))
    with pytest.raises(UserError, match="--input-shape"):
        load_model(path)
    g = load_model(path, input_shape=(3, 12, 10))
    assert g.input_shape == (3, 12, 10) and g.layers[0].out_shape == (2, 10, 8)
    assert load_model(path, input_shape=(1, 3, 8, 8)).input_shape == (3, 8, 8)


def test_clip_after_add_and_relu_after_concat_fuse(kit):
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["a"], name="c", kernel_shape=[1, 1]),
        helper.make_node("Add", ["a", "x"], ["s"], name="add"),
        helper.make_node("Relu", ["s"], ["r"], name="relu"),
        helper.make_node("Concat", ["r", "x"], ["cat"], name="cat", axis=1),
        helper.make_node("Relu", ["cat"], ["y"], name="relu2"),
    ]
    g = check_vs_ort(kit, kit.model(nodes, {"w": kit.w(3, 3, 1, 1)}, (3, 4, 4)), (3, 4, 4))
    assert [(lay.op, lay.act) for lay in g.layers] == [(ir.CONV, None), (ir.ADD, ir.ACT_RELU), (ir.CONCAT, ir.ACT_RELU)]


def test_pytorch_view_flatten_is_folded(kit):
    """x.view(x.size(0), -1) exports as Shape -> Gather -> Unsqueeze -> Concat -> Reshape."""
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv", kernel_shape=[1, 1]),
        helper.make_node("Add", ["c", "cb"], ["cc"], name="conv_bias"),  # bias exported as Add
        helper.make_node("Shape", ["cc"], ["s"], name="shape"),
        helper.make_node("Gather", ["s", "i0"], ["n"], name="gather", axis=0),
        helper.make_node("Unsqueeze", ["n", "ax0"], ["n1"], name="unsq"),
        helper.make_node("Concat", ["n1", "minus1"], ["target"], name="cat_shape", axis=0),
        helper.make_node("Reshape", ["cc", "target"], ["f"], name="view"),
        helper.make_node("Gemm", ["f", "W", "B"], ["y"], name="fc", transB=1),
    ]
    inits = {"w": kit.w(4, 3, 1, 1), "cb": kit.w(1, 4, 1, 1), "i0": np.array(0, np.int64), "ax0": np.array([0], np.int64),
             "minus1": np.array([-1], np.int64), "W": kit.w(6, 4 * 5 * 5), "B": kit.w(6)}  # fmt: skip
    g = check_vs_ort(kit, kit.model(nodes, inits, (3, 5, 5), out_rank=2), (3, 5, 5))
    assert [lay.op for lay in g.layers] == [ir.CONV, ir.FC]
    assert g.layers[0].params == 4 * 3 + 4


def test_shape_ops_on_activations_are_rejected(kit):
    nodes = [helper.make_node("Gather", ["x", "i0"], ["y"], name="pick", axis=1)]
    with pytest.raises(UserError, match="pick.*only on constants"):
        graph_from_model(kit.model(nodes, {"i0": np.array([0], np.int64)}, (3, 4, 4)), "m")
