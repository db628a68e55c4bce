"""ONNX import, the layer IR, shape inference and the op support table."""
