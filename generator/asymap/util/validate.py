"""Values of a model that no stage can work with, caught when the model is read.

The importer checks structure (ops, shapes, wiring); this checks the numbers: a NaN or infinite
weight would otherwise get a plan written and then fail later in calibration, and a zero-sized
tensor (a conv with 0 output channels) would end in a division by zero deep inside the cost model.
"""

from __future__ import annotations

import numpy as np

from asymap.errors import UserError


def check_graph_values(graph, where: str) -> None:
    """Raise a one-line UserError naming the layer whose tensors are empty or whose weights are
    not finite."""
    for layer in graph.layers:
        here = f"{where}: node {layer.name!r} ({layer.op})"
        for shape, what in [(s, "input") for s in layer.in_shapes] + [(layer.out_shape, "output")]:
            if any(int(d) < 1 for d in shape):
                raise UserError(f"{here}: {what} tensor has a zero-sized dimension "
                                f"({'x'.join(map(str, shape))}); fix the model")
        for arr, what in ((layer.weight, "weights"), (layer.bias, "bias"), (layer.qdq_weight_scale, "weight scales")):
            if arr is None:
                continue
            a = np.asarray(arr)
            if a.size == 0:
                raise UserError(f"{here}: {what} are empty; fix the model")
            # One value broadcast (the planner's weight placeholders, zero strides): check it once.
            one = a[(0,) * a.ndim] if not any(a.strides) else a
            if np.issubdtype(a.dtype, np.floating) and not np.all(np.isfinite(one)):
                bad = int(np.size(a) - np.count_nonzero(np.isfinite(a)))
                raise UserError(f"{here}: {what} contain {bad} NaN/infinite value(s); fix or re-export the model")
        if layer.qdq_out_scale is not None and not (np.isfinite(layer.qdq_out_scale) and layer.qdq_out_scale > 0):
            raise UserError(f"{here}: output scale {layer.qdq_out_scale!r} is not a positive finite number")
