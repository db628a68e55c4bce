"""Cost model of the DenseNet / ShuffleNetV2 layers: the affine and channels engines have one
option each (they move port beats), and a dense block's concat is charged a skip FIFO for every
earlier feature the newer ones are computed from, while a ShuffleNet concat (split half + branch)
is charged once."""

from __future__ import annotations

from asymap.frontend import ir
from asymap.frontend.onnx_import import graph_from_model
from asymap.frontend.zoo import build_zoo_model
from asymap.lanes import LAT_AFFINE, LAT_CHANSEL, port_lanes
from asymap.partition.costmodel import _skip_bytes, layer_infos


def _graph(name):
    return graph_from_model(build_zoo_model(name, 32, 0.25, num_classes=10, blocks=(2, 2)), name)


def test_affine_and_channels_options_are_their_port_beats():
    for name, op in (("densenet121", ir.AFFINE), ("shufflenetv2", ir.CHANNELS)):
        g = _graph(name)
        for info in layer_infos(g):
            lay = info.layer
            if lay.op != op:
                continue
            c, h, w = lay.out_shape
            ci = lay.in_shapes[0][0]
            want = (h * w * c // port_lanes(c) + LAT_AFFINE if op == ir.AFFINE else
                    (h * w + 1) * max(ci // port_lanes(ci), c // port_lanes(c)) + LAT_CHANSEL)
            assert list(info.options.cycles) == [want] and not info.has_weights


def test_dense_block_concat_charges_every_waiting_feature():
    g = _graph("densenet121")
    cat = [lay for lay in g.layers if lay.op == ir.CONCAT][1]  # denseblock1.cat: pool0, f1, f2
    assert len(cat.inputs) == 3
    c0, _, w = cat.in_shapes[0]
    c1 = cat.in_shapes[1][0]
    skip = _skip_bytes(g, cat)
    assert skip > c0 * w and skip % w == 0
    assert skip >= c0 * w + c1 * w  # the first feature waits too, not only the block input
    s = _graph("shufflenetv2")
    for lay in (lay for lay in s.layers if lay.op == ir.CONCAT):
        early = min(range(2), key=lambda i: s.producer[lay.inputs[i]])
        c, h, w = lay.in_shapes[early]
        assert 0 < _skip_bytes(s, lay) <= c * h * w  # one operand, at most the whole tensor
