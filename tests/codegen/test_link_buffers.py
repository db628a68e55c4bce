"""Port FIFOs of interleaved multi-tensor links (codegen.chain.link_buffer_rows): a few rows where a
tensor runs ahead of the others, never a whole tensor (docs/link-protocol.md, section 6)."""

from __future__ import annotations

from asymap.codegen.chain import link_buffer_rows
from asymap.frontend.onnx_import import graph_from_model
from asymap.frontend.zoo import build_zoo_model


def _tiny():
    return graph_from_model(build_zoo_model("tiny", input_size=32, width_mult=1.0, seed=0), where="tiny")


def test_sender_buffers_the_skip_rows_the_main_path_lags():
    g = _tiny()
    shapes = {t: tuple(v) for t, v in g.tensor_shapes.items()}
    outs = g.live_across(3)  # conv2_relu (the skip, forked at once) and res.conv2_bn_out (two 3x3 convs later)
    _, tx = link_buffer_rows(g.layers[0:4], [g.input], outs, shapes)
    skip, main = outs
    # Two 3x3 convs, each loading one row ahead: the skip is produced 4 rows before the main path.
    assert tx[skip] == 4 and tx[main] == 0
    assert tx[skip] < shapes[skip][1]


def test_receiver_needs_nothing_when_the_join_comes_first():
    g = _tiny()
    shapes = {t: tuple(v) for t, v in g.tensor_shapes.items()}
    ins = g.live_across(3)
    rx, _ = link_buffer_rows(g.layers[4:9], ins, [g.output], shapes)
    assert rx == {ins[0]: 0, ins[1]: 0}


def test_receiver_buffers_the_input_a_conv_path_lags_behind():
    g = _tiny()
    shapes = {t: tuple(v) for t, v in g.tensor_shapes.items()}
    # Cut after res.conv1: conv2_relu (skip) and res.conv1_relu arrive; res.conv2 (3x3) sits before the add.
    ins = g.live_across(2)
    rx, _ = link_buffer_rows(g.layers[3:9], ins, [g.output], shapes)
    assert rx[ins[0]] == 2 and rx[ins[1]] == 0, rx
