"""Cost model of the squeeze-excite blocks: table activations and the channel-wise Mul.

The Mul cannot emit a pixel before the squeeze path has pooled the whole feature map, so the
feature map waits whole: the model charges C*H*W bytes of buffer (BRAM or URAM as for any skip
FIFO) and the same number of beats appear as the depth of the generated fork FIFO. Cycles are
checked against C-sim in tests/hls/test_engine_cycles.py; here the formulas and the resources.
"""

from __future__ import annotations

import numpy as np
import onnx

from asymap.cluster.boards import load_board_type
from asymap.codegen.fifodepth import FIFO_SLACK, fifo_depths
from asymap.frontend import ir
from asymap.frontend.onnx_import import graph_from_model
from asymap.frontend.zoo import build_se_model
from asymap.lanes import LAT_CHMUL, LAT_LUT, port_lanes
from asymap.partition.costmodel import ONCHIP, engine_cycles, layer_infos, option_resources
from asymap.partition.planner import plan


def _graph(name="efficientnet_s", size=32):
    return graph_from_model(build_se_model(name, input_size=size), name)


def test_lut_and_chmul_cycles_and_buffer():
    g = _graph()
    infos = layer_infos(g)
    for lay, info in zip(g.layers, infos):
        c, h, w = lay.out_shape
        beats = h * w * c // port_lanes(c)
        if lay.op == ir.LUT:
            assert engine_cycles(lay, 1) == beats + LAT_LUT and info.skip_bytes == 0
        if lay.op == ir.CHMUL:
            assert engine_cycles(lay, 1) == beats + c // port_lanes(c) + LAT_CHMUL
            assert info.skip_bytes == c * h * w  # the whole feature map


def test_whole_feature_map_buffer_is_charged_in_bram():
    g = _graph(size=64)  # 48 x 32 x 32 = 49 KB after the expansion: BRAM, not LUTRAM
    infos = layer_infos(g)
    spec = load_board_type("zcu102")
    mul = next(i for i, lay in enumerate(g.layers) if lay.op == ir.CHMUL and lay.out_bytes > 8192)
    res = option_resources(infos[mul], spec, ONCHIP)[0]
    c, h, w = g.layers[mul].in_shapes[0]
    assert res[1] * 36 * 1024 >= 8 * c * h * w  # bram36 bits cover the tensor
    assert res[0] == 5 * port_lanes(c)  # per lane: product + requantization DSPs
    lut = next(i for i, lay in enumerate(g.layers) if lay.op == ir.LUT)
    assert option_resources(infos[lut], spec, ONCHIP)[0][:3].tolist() == [0, 0, 0]


def test_fifo_depth_of_the_se_fork_is_the_whole_tensor():
    g = _graph()
    mul = next(lay for lay in g.layers if lay.op == ir.CHMUL)
    first = g.producer[mul.inputs[0]]
    layers = g.layers[first + 1 : mul.index + 1]
    extra = fifo_depths(layers, [mul.inputs[0]], dict(g.tensor_shapes))
    c, h, w = mul.in_shapes[0]
    d = extra[(mul.inputs[0], mul.index, 0)]
    assert d >= h * w * c // port_lanes(c) and d <= h * w * c // port_lanes(c) + 8 * FIFO_SLACK


def test_se_models_plan(repo_root):
    from asymap.cluster.load import load_cluster

    p = plan(_graph("mobilenetv3_s"), load_cluster(repo_root / "clusters" / "pair2.yaml"))
    assert p.throughput_ips > 0 and np.isfinite(p.interval_s)
