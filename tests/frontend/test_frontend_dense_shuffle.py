"""DenseNet's pre-activation BatchNorm and ShuffleNetV2's channel split / slice / shuffle, as
PyTorch's two exporters write them, rebuilt with onnx.helper (the committed real exports are in
tests/fixtures/torchvision, see test_frontend_torch_fixtures.py).

Each graph imports to the expected IR layers, its float reference matches onnxruntime on the
original graph, and its integer reference stays close to the float one (a channel map is exact:
the same integers, moved).
"""

from __future__ import annotations

import numpy as np
import pytest
from onnx import helper

from test_frontend_exporters import _check as _float_check
from test_frontend_exporters import _i64

from asymap.errors import UserError
from asymap.frontend import ir
from asymap.frontend.onnx_import import graph_from_model
from asymap.quant.quantize import quantize
from asymap.quant.reference import dequantize, quantize_input, run_float, run_int, sqnr_db


def _check(kit, model, in_shape, seed=1):
    """Float reference == onnxruntime (test_frontend_exporters), and the integer one stays close."""
    g = _float_check(kit, model, in_shape, seed)
    x = np.random.default_rng(seed).standard_normal(in_shape).astype(np.float32)
    q = quantize(g)
    assert sqnr_db(run_float(g, x), dequantize(q, g.output, run_int(q, quantize_input(q, x)))) >= 20.0
    return g


def _bn(kit, prefix, c, inits):
    inits.update({f"{prefix}.g": kit.rng.uniform(0.5, 1.5, c).astype(np.float32) * np.where(np.arange(c) % 5 == 3, -1, 1).astype(np.float32),
                  f"{prefix}.b": kit.w(c), f"{prefix}.m": kit.w(c), f"{prefix}.v": kit.rng.uniform(0.5, 1.5, c).astype(np.float32)})  # fmt: skip
    return [f"{prefix}.g", f"{prefix}.b", f"{prefix}.m", f"{prefix}.v"]


@pytest.mark.parametrize("exporter", ["ts", "dynamo"])
def test_densenet_dense_layer_and_transition(kit, exporter):
    """stem conv-BN-ReLU, a dense layer (BN-ReLU-conv1x1-BN-ReLU-conv3x3 on the concatenation),
    the block's concat and a transition (BN-ReLU-conv1x1-avgpool). The TorchScript exporter writes
    torch.cat of one tensor as a one-input Concat (an alias); dynamo drops it."""
    inits = {"w0": kit.w(8, 3, 3, 3), "w1": kit.w(16, 8, 1, 1), "w2": kit.w(4, 16, 3, 3), "w3": kit.w(6, 12, 1, 1)}
    nodes = [helper.make_node("Conv", ["x", "w0"], ["c0"], name="conv0", kernel_shape=[3, 3], pads=[1] * 4),
             helper.make_node("BatchNormalization", ["c0", *_bn(kit, "n0", 8, inits)], ["b0"], name="norm0"),
             helper.make_node("Relu", ["b0"], ["r0"], name="relu0")]  # fmt: skip
    src = "r0"
    if exporter == "ts":
        nodes.append(helper.make_node("Concat", ["r0"], ["cat1"], name="layer1.cat", axis=1))
        src = "cat1"
    nodes += [
        helper.make_node("BatchNormalization", [src, *_bn(kit, "n1", 8, inits)], ["b1"], name="layer1.norm1"),
        helper.make_node("Relu", ["b1"], ["r1"], name="layer1.relu1"),
        helper.make_node("Conv", ["r1", "w1"], ["c1"], name="layer1.conv1", kernel_shape=[1, 1]),
        helper.make_node("BatchNormalization", ["c1", *_bn(kit, "n2", 16, inits)], ["b2"], name="layer1.norm2"),
        helper.make_node("Relu", ["b2"], ["r2"], name="layer1.relu2"),
        helper.make_node("Conv", ["r2", "w2"], ["c2"], name="layer1.conv2", kernel_shape=[3, 3], pads=[1] * 4),
        helper.make_node("Concat", ["r0", "c2"], ["cat"], name="block.cat", axis=1),
        helper.make_node("BatchNormalization", ["cat", *_bn(kit, "n3", 12, inits)], ["b3"], name="trans.norm"),
        helper.make_node("Relu", ["b3"], ["r3"], name="trans.relu"),
        helper.make_node("Conv", ["r3", "w3"], ["c3"], name="trans.conv", kernel_shape=[1, 1]),
        helper.make_node("AveragePool", ["c3"], ["y"], name="trans.pool", kernel_shape=[2, 2], strides=[2, 2]),
    ]
    g = _check(kit, kit.model(nodes, inits, (3, 8, 8), opset=17 if exporter == "ts" else 18), (3, 8, 8))
    assert [(lay.op, lay.act) for lay in g.layers] == [
        (ir.CONV, "relu"), (ir.AFFINE, "relu"), (ir.CONV, "relu"), (ir.CONV, None),
        (ir.CONCAT, None), (ir.AFFINE, "relu"), (ir.CONV, None), (ir.AVGPOOL, None)]  # fmt: skip
    norm1 = g.layers[1]
    assert norm1.inputs == [g.layers[0].output] and norm1.params == 16 and (norm1.weight < 0).any()


def test_bn_after_a_conv_with_other_consumers_is_an_affine_layer(kit):
    """A BN that reads a conv output used elsewhere too (here a residual add) cannot fold."""
    inits = {"w0": kit.w(6, 3, 3, 3)}
    nodes = [helper.make_node("Conv", ["x", "w0"], ["c0"], name="conv0", kernel_shape=[3, 3], pads=[1] * 4),
             helper.make_node("BatchNormalization", ["c0", *_bn(kit, "n", 6, inits)], ["b"], name="bn"),
             helper.make_node("Add", ["c0", "b"], ["y"], name="add")]  # fmt: skip
    g = _check(kit, kit.model(nodes, inits, (3, 5, 5)), (3, 5, 5))
    assert [lay.op for lay in g.layers] == [ir.CONV, ir.AFFINE, ir.ADD]


def _shuffle_nodes(src, c, hw, out, allowzero=None, view4=(1, -1)):
    kw = {} if allowzero is None else {"allowzero": allowzero}
    return [_i64("s5", [1, 2, c // 2, hw, hw]), _i64("s4", [*view4, hw, hw]),
            helper.make_node("Reshape", [src, "s5"], ["v5"], name="shuffle.view", **kw),
            helper.make_node("Transpose", ["v5"], ["t5"], name="shuffle.transpose", perm=[0, 2, 1, 3, 4]),
            helper.make_node("Reshape", ["t5", "s4"], [out], name="shuffle.flat", **kw)]  # fmt: skip


def _unit_tail(kit, inits, a, b, c):
    """branch2 (1x1-ReLU, dw3x3, 1x1-ReLU) on half b, concat with half a, shuffle."""
    h = c // 2
    inits.update({"wb0": kit.w(h, h, 1, 1), "wb1": kit.w(h, 1, 3, 3), "wb2": kit.w(h, h, 1, 1)})
    return [helper.make_node("Conv", [b, "wb0"], ["p0"], name="branch2.0", kernel_shape=[1, 1]),
            helper.make_node("Relu", ["p0"], ["q0"], name="branch2.2"),
            helper.make_node("Conv", ["q0", "wb1"], ["p1"], name="branch2.3", kernel_shape=[3, 3], pads=[1] * 4, group=h),
            helper.make_node("Conv", ["p1", "wb2"], ["p2"], name="branch2.5", kernel_shape=[1, 1]),
            helper.make_node("Relu", ["p2"], ["q2"], name="branch2.7"),
            helper.make_node("Concat", [a, "q2"], ["cat"], name="cat", axis=1)]  # fmt: skip


def test_shufflenet_unit_torchscript_pattern(kit):
    """x.chunk(2, dim=1) written as two Slices whose bounds are shape arithmetic
    (Shape -> Gather -> Add -> Div -> Mul), the shuffle with a view(b, -1, h, w)."""
    c, hw = 8, 6
    inits = {"w0": kit.w(c, 3, 1, 1)}
    nodes = [helper.make_node("Conv", ["x", "w0"], ["c0"], name="stem", kernel_shape=[1, 1]),
             helper.make_node("Relu", ["c0"], ["r0"], name="stem.relu"),
             helper.make_node("Shape", ["r0"], ["shp"], name="shape"), _i64("one", 1),
             helper.make_node("Gather", ["shp", "one"], ["nc"], name="gather", axis=0), _i64("zero", [0]), _i64("k1", 1),
             helper.make_node("Add", ["nc", "k1"], ["nc1"], name="add_c"), _i64("two", 2),
             helper.make_node("Div", ["nc1", "two"], ["half"], name="div"), _i64("m1", [1]), _i64("m2", [2]),
             helper.make_node("Mul", ["half", "m1"], ["e0"], name="mul0"),
             helper.make_node("Mul", ["half", "m2"], ["e1"], name="mul1"), _i64("axes", [1]),
             helper.make_node("Slice", ["r0", "zero", "e0", "axes"], ["a"], name="slice0"),
             helper.make_node("Slice", ["r0", "e0", "e1", "axes"], ["b"], name="slice1")]  # fmt: skip
    nodes += _unit_tail(kit, inits, "a", "b", c) + _shuffle_nodes("cat", c, hw, "y")
    g = _check(kit, kit.model(nodes, inits, (3, hw, hw), opset=17), (3, hw, hw))
    chans = [lay for lay in g.layers if lay.op == ir.CHANNELS]
    assert [lay.channel_map for lay in chans] == [tuple(range(4)), tuple(range(4, 8)), (0, 4, 1, 5, 2, 6, 3, 7)]
    assert [lay.name for lay in chans] == ["slice0", "slice1", "shuffle.flat"]


def test_shufflenet_unit_dynamo_pattern(kit):
    """opset 18: Split with num_outputs, Reshape with allowzero=1 and explicit shapes."""
    c, hw = 16, 4
    inits = {"w0": kit.w(c, 3, 1, 1)}
    nodes = [helper.make_node("Conv", ["x", "w0"], ["c0"], name="stem", kernel_shape=[1, 1]),
             helper.make_node("Relu", ["c0"], ["r0"], name="stem.relu"),
             helper.make_node("Split", ["r0"], ["a", "b"], name="split", axis=1, num_outputs=2)]  # fmt: skip
    nodes += _unit_tail(kit, inits, "a", "b", c) + _shuffle_nodes("cat", c, hw, "y", allowzero=1, view4=(1, c))
    g = _check(kit, kit.model(nodes, inits, (3, hw, hw), opset=18), (3, hw, hw))
    chans = [lay for lay in g.layers if lay.op == ir.CHANNELS]
    assert len(chans) == 3 and chans[2].channel_map == tuple(np.arange(16).reshape(2, 8).T.reshape(-1).tolist())
    assert ir.channel_map_form(chans[2].channel_map) == (0, 2, 8)


def test_split_sizes_slice_steps_and_three_group_shuffle(kit):
    """Split with a sizes input into three unequal parts, a Slice with an open end (x[:, 2:]),
    and a shuffle of three groups; identity maps become aliases (no layer)."""
    c, hw = 12, 3
    inits = {"w0": kit.w(c, 3, 1, 1), "sp": np.array([2, 4, 6], np.int64), "st": np.array([0], np.int64),
             "en": np.array([2**63 - 1], np.int64), "ax": np.array([1], np.int64), "ax2": np.array([-3], np.int64),
             "s5": np.array([1, 3, 4, hw, hw], np.int64), "s4": np.array([1, 12, hw, hw], np.int64),
             "w1": kit.w(4, 4, 1, 1)}  # fmt: skip
    nodes = [helper.make_node("Conv", ["x", "w0"], ["c0"], name="stem", kernel_shape=[1, 1]),
             helper.make_node("Split", ["c0", "sp"], ["p", "q", "r"], name="split3", axis=1),
             helper.make_node("Conv", ["q", "w1"], ["q1"], name="mid", kernel_shape=[1, 1]),
             helper.make_node("Concat", ["p", "q1", "r"], ["cat"], name="cat", axis=1),
             helper.make_node("Slice", ["cat", "st", "en", "ax2"], ["same"], name="whole"),
             helper.make_node("Reshape", ["same", "s5"], ["v5"], name="view"),
             helper.make_node("Transpose", ["v5"], ["t5"], name="t", perm=[0, 2, 1, 3, 4]),
             helper.make_node("Reshape", ["t5", "s4"], ["sh"], name="flat"), _i64("two", [2]),
             helper.make_node("Slice", ["sh", "two", "en", "ax"], ["y"], name="tail")]  # fmt: skip
    g = _check(kit, kit.model(nodes, inits, (3, hw, hw)), (3, hw, hw))
    chans = [lay for lay in g.layers if lay.op == ir.CHANNELS]
    assert [len(lay.channel_map) for lay in chans] == [2, 4, 6, 12, 10]  # 'whole' is an alias
    assert ir.channel_map_form(chans[3].channel_map) == (0, 3, 4)


def test_channel_map_forms():
    assert ir.channel_map_form(range(3, 7)) == (3, 1, 1)
    assert ir.channel_map_form(np.arange(12).reshape(3, 4).T.reshape(-1)) == (0, 3, 4)
    assert ir.channel_map_form(np.arange(16).reshape(2, 8).T.reshape(-1)[8:]) == (4, 2, 8)
    assert ir.channel_map_form([0, 2, 1]) == (0, 2, 2)  # (k % 2) * 2 + k // 2
    assert ir.channel_map_form([1, 0, 3, 2]) is None  # pairwise swaps


def test_unsupported_channel_orders_fail_in_one_line(kit):
    """A 3-D channel view whose transpose gives a map that is neither a slice nor a shuffle."""
    inits = {"w0": kit.w(8, 3, 1, 1), "s6": np.array([1, 2, 2, 2, 4, 4], np.int64), "s4": np.array([1, 8, 4, 4], np.int64)}
    nodes = [helper.make_node("Conv", ["x", "w0"], ["c0"], name="stem", kernel_shape=[1, 1]),
             helper.make_node("Reshape", ["c0", "s6"], ["v"], name="view"),
             helper.make_node("Transpose", ["v"], ["t"], name="odd_perm", perm=[0, 1, 3, 2, 4, 5]),
             helper.make_node("Reshape", ["t", "s4"], ["y"], name="flat")]  # fmt: skip
    with pytest.raises(UserError) as e:
        graph_from_model(kit.model(nodes, inits, (3, 4, 4)), "m.onnx")
    assert "\n" not in str(e.value) and "'flat'" in str(e.value) and "shuffle" in str(e.value)


def test_zoo_blocks_option(run_cli, assert_user_error, tmp_path):
    """`asymap zoo densenet121 --blocks 2,2` writes the shallow variant; other models refuse it."""
    out = tmp_path / "d.onnx"
    run_cli("zoo", "densenet121", "--input-size", "32", "--width-mult", "0.25", "--blocks", "2,2", "-o", out, check=True)
    from asymap.frontend.onnx_import import load_model

    g = load_model(out)
    assert [lay.op for lay in g.layers].count(ir.AFFINE) == 2 + 1 + 2 + 1
    assert_user_error(run_cli("zoo", "resnet18", "--blocks", "2,2", "-o", tmp_path / "x.onnx"), "densenet121", "shufflenetv2")
    assert_user_error(run_cli("zoo", "shufflenetv2", "--blocks", "2,x", "-o", tmp_path / "x.onnx"), "--blocks")
    assert not (tmp_path / "x.onnx").exists()
