"""``asymap plan`` parses a model without its weight data (onnx_import._skim_weights): the IR it
builds must equal the full load's in every shape, the skimmed bytes must keep every node and
initializer header, and a damaged file must still be reported as one (the skim never hides it)."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from asymap.errors import UserError
from asymap.frontend.onnx_import import _skim_weights, load_model
from asymap.frontend.zoo import build_zoo_model


def _shapes(g):
    return [(ly.name, ly.op, tuple(ly.out_shape), tuple(map(tuple, ly.in_shapes)),
             None if ly.weight is None else tuple(ly.weight.shape)) for ly in g.layers]


def test_skim_keeps_every_header_and_drops_large_data(tmp_path):
    path = tmp_path / "r18s.onnx"
    onnx.save(build_zoo_model("resnet18", 32, width_mult=0.5), str(path))
    data = path.read_bytes()
    skim = _skim_weights(data, keep=4096)
    assert len(skim) < len(data) // 4
    full, part = onnx.ModelProto(), onnx.ModelProto()
    full.ParseFromString(data)
    part.ParseFromString(skim)
    assert list(part.graph.node) == list(full.graph.node)
    assert [i.name for i in part.graph.input] == [i.name for i in full.graph.input]
    dropped = 0
    for a, b in zip(part.graph.initializer, full.graph.initializer, strict=True):
        assert (a.name, list(a.dims), a.data_type) == (b.name, list(b.dims), b.data_type)
        if int(np.prod(b.dims)) <= 4096:
            assert a == b  # small constants (BatchNorm, shapes) keep their values
        else:
            assert not a.raw_data and not a.float_data
            dropped += 1
    assert dropped > 10
    assert _shapes(load_model(path, weights=False, data=data)) == _shapes(load_model(path))


@pytest.mark.parametrize("cut", [0.5, 0.999])
def test_damaged_file_is_still_an_error(tmp_path, cut):
    path = tmp_path / "m.onnx"
    onnx.save(build_zoo_model("resnet18", 32, width_mult=0.5), str(path))
    data = path.read_bytes()
    bad = data[: int(len(data) * cut)]
    assert _skim_weights(bad) == bad  # a surprise leaves the bytes to the parser
    with pytest.raises(UserError):
        load_model(path, weights=False, data=bad)
