"""Fixtures of the front-end tests: hand-built ONNX graphs and an onnxruntime oracle."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper


class OnnxKit:
    """Small helpers to write ONNX graphs node by node (seeded weights)."""

    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)

    def w(self, *shape, scale=0.3) -> np.ndarray:
        return (self.rng.standard_normal(shape) * scale).astype(np.float32)

    def model(self, nodes, inits: dict, in_shape, out_name="y", in_name="x", opset=13, in_dims=None, out_dims=None, out_rank=4):
        graph = helper.make_graph(
            nodes,
            "g",
            [helper.make_tensor_value_info(in_name, TensorProto.FLOAT, in_dims if in_dims is not None else [1, *in_shape])],
            [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, out_dims or [f"d{i}" for i in range(out_rank)])],
            initializer=[numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()],
        )
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        m.ir_version = 8
        return m

    @staticmethod
    def ort(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
        import onnxruntime as ort

        s = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        return s.run(None, {s.get_inputs()[0].name: x[None].astype(np.float32)})[0][0]


@pytest.fixture
def kit() -> OnnxKit:
    return OnnxKit()
