"""Helpers for the partition tests: synthetic layer chains and random planning instances."""

from __future__ import annotations

import numpy as np
import pytest

from asymap.frontend.ir import ADD, CONV, FC, GAP, Graph, Layer


def make_chain(spec: list[tuple], input_shape=(4, 8, 8), name="chain") -> Graph:
    """Build a Graph from ("conv", c_out, k, stride) / ("add", back) / ("gap",) / ("fc", n) steps.

    ``("add", back)`` adds the current tensor to the output of the layer ``back`` steps earlier
    (a residual skip). Weights are random but seeded, only their shapes matter to the planner.
    """
    rng = np.random.default_rng(0)
    layers: list[Layer] = []
    cur, shape = "input", tuple(input_shape)
    outs = []
    for i, step in enumerate(spec):
        kind = step[0]
        out = f"t{i}"
        c, h, w = shape
        if kind == "conv":
            co, k, s = step[1], step[2], step[3]
            p = k // 2
            oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
            lay = Layer(i, f"conv{i}", CONV, [cur], out, [shape], (co, oh, ow), kernel=(k, k), stride=(s, s),
                        pads=(p, p, p, p), weight=rng.standard_normal((co, c, k, k)).astype(np.float32),
                        bias=np.zeros(co, np.float32))
        elif kind == "add":
            other = outs[-step[1]]
            lay = Layer(i, f"add{i}", ADD, [cur, other[0]], out, [shape, other[1]], shape)
        elif kind == "gap":
            lay = Layer(i, f"gap{i}", GAP, [cur], out, [shape], (c, 1, 1), kernel=(h, w))
        elif kind == "fc":
            n = step[1]
            lay = Layer(i, f"fc{i}", FC, [cur], out, [shape], (n, 1, 1),
                        weight=rng.standard_normal((n, c * h * w)).astype(np.float32), bias=np.zeros(n, np.float32))
        else:
            raise ValueError(kind)
        layers.append(lay)
        cur, shape = out, lay.out_shape
        outs.append((out, shape))
    return Graph(name, "input", tuple(input_shape), cur, layers)


@pytest.fixture
def chain():
    return make_chain
