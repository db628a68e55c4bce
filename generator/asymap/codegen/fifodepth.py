"""FIFO depths that keep a segment's DATAFLOW region free of deadlock.

HLS DATAFLOW channels are bounded. When a tensor forks into paths that meet again (a residual
skip, an inception block), the path that needs fewer rows of the tensor before the join can
consume must buffer what the other path reads ahead, or the fork stalls on the full FIFO while
the join waits: deadlock. The model here says, per block, how many input rows it reads before
emitting output row r -- matching the row buffers of ``hls/include/asymap/line_buffer.h`` -- and
composes that along every path.

Margin. That row model is what the C code of the engines does; hardware lags more, because every
pipelined loop on the longer path holds up to its pipeline depth of beats in flight while the fork
keeps writing the shorter one. Every FIFO on a reconvergent path therefore gets ``FIFO_SLACK``
extra beats per process on the longer path (at least one process's worth), which covers engines
whose pipelines are up to ``FIFO_SLACK`` stages deep. The guarantee is checked, not assumed:
``asymap verify --fifo-slack K`` runs every board with each DATAFLOW process in its own thread
over generated FIFOs bounded to their depth minus K (hls/include/asymap/bounded_stream.h; the
engines' internal FIFOs keep their designed depth, which the read-ahead credited here relies on),
and the e2e tests run every generated board at K = FIFO_SLACK without deadlock.
"""

from __future__ import annotations

import numpy as np

from asymap.lanes import DEFAULT_PORT_LANES, port_bytes
from asymap.frontend import ir
# PW_INFLIGHT: pixels a 1x1 engine may have read beyond the last pixel it emitted (one in each of
# the two input and two output ping-pong buffers, plus one being loaded); counted as whole rows
# (see _row_map) on the path that needs the most rows, never credited to a buffered path. Shared
# with the cost model.
from asymap.lanes import PW_INFLIGHT

#: Beats of margin per process on the longer path of a reconvergent pair of paths: the pipeline
#: depth we assume at most for any engine loop (an SIMD-wide adder tree, the 64-bit requantization
#: multiply and BRAM reads: about 20 stages in practice). Also the slack `asymap verify
#: --fifo-slack` is tested with.
FIFO_SLACK = 32


def _pointwise(layer: ir.Layer) -> bool:
    return (layer.op == ir.CONV and tuple(layer.kernel) == (1, 1) and tuple(layer.stride) == (1, 1)
            and not any(layer.pads))


def _row_map(layer: ir.Layer, j: int, r: int, whole: frozenset = frozenset(), least: bool = False) -> int:
    """Rows of operand ``j`` a block reads before emitting its output row ``r`` (all of 0..r).

    ``whole``: indices of layers that read their entire input first (off-chip weights).
    ``least``: the fewest rows it may have read instead of the most. They differ only for a 1x1
    engine, which may run up to ``PW_INFLIGHT`` pixels ahead (counted as whole rows) but need not:
    a path that needs the most rows is charged the most, a path whose FIFO buffers the difference
    is credited only what it surely holds (fifo_depths)."""
    h_in = layer.in_shapes[j][1]
    if layer.index in whole:
        return h_in
    if _pointwise(layer):  # reads up to PW_INFLIGHT pixels past output row r
        w_in = layer.in_shapes[j][2]
        return min(h_in, r + 1 + (0 if least else -(-PW_INFLIGHT // w_in)))
    if layer.op in (ir.CONV, ir.MAXPOOL, ir.AVGPOOL):  # row buffer: loads row r+1's rows while computing row r
        if r + 1 >= layer.out_shape[1]:
            return h_in
        r += 1
    if layer.op in (ir.CONV, ir.MAXPOOL, ir.AVGPOOL):
        last = r * layer.stride[0] - layer.pads[0] + (layer.kernel[0] - 1) * layer.dilation[0]
        return min(h_in, max(0, last + 1))
    if layer.op in (ir.ADD, ir.CONCAT, ir.AFFINE, ir.CHANNELS):  # pixel by pixel
        return r + 1
    if layer.op in (ir.LUT, ir.CHMUL):  # element-wise; chmul's scale operand (one row) is read whole first
        return min(h_in, r + 1)
    return h_in  # gap, fc: the whole input before any output


def fifo_depths(layers: list[ir.Layer], inputs: list[str], shapes: dict,
                whole: frozenset = frozenset(), port_lanes: int = DEFAULT_PORT_LANES) -> dict[tuple, int]:
    """Extra depth (beats) for fork edges ``(tensor, consumer_layer_index, operand)``.

    For every join (a block with several operands derived from one forked tensor ``s``) we
    compute, per output row r, how many rows of ``s`` each operand's path must have consumed; the
    path that needs fewer (or, tied with others, as many) must buffer the difference plus one row
    (the lag within a row) on its edge out of
    the fork, i.e. where the paths diverge. Capped at the whole tensor, which is always enough;
    plus ``FIFO_SLACK`` beats per process on the longest of the paths (see the module docstring).
    Beats are those of the board's ports (up to ``port_lanes`` channels each).
    """
    need: dict[str, dict[str, np.ndarray]] = {t: {t: np.arange(1, shapes[t][1] + 1)} for t in inputs}
    # the same with every 1x1 engine credited no read-ahead (``_row_map(least=True)``)
    least: dict[str, dict[str, np.ndarray]] = {t: {t: np.arange(1, shapes[t][1] + 1)} for t in inputs}
    # hops[t][s]: most processes on a path from tensor s to tensor t (the pipelines it crosses)
    hops: dict[str, dict[str, int]] = {t: {t: 0} for t in inputs}
    consumers: dict[str, list[tuple[int, int]]] = {}
    for layer in layers:
        for j, t in enumerate(layer.inputs):
            consumers.setdefault(t, []).append((layer.index, j))
    for layer in layers:
        h_out = layer.out_shape[1]
        acc: dict[str, np.ndarray] = {}
        lo: dict[str, np.ndarray] = {}
        hop: dict[str, int] = {}
        for j, t in enumerate(layer.inputs):
            m = np.array([_row_map(layer, j, r, whole) for r in range(h_out)])
            m_lo = np.array([_row_map(layer, j, r, whole, least=True) for r in range(h_out)])
            for s, arr in need.get(t, {}).items():
                d = np.where(m > 0, arr[np.maximum(m - 1, 0)], 0)
                acc[s] = np.maximum(acc[s], d) if s in acc else d
                a_lo = least[t][s]
                d = np.where(m_lo > 0, a_lo[np.maximum(m_lo - 1, 0)], 0)
                lo[s] = np.maximum(lo[s], d) if s in lo else d
                hop[s] = max(hop.get(s, 0), hops[t][s] + 1)
        acc[layer.output] = lo[layer.output] = np.arange(1, h_out + 1)  # every tensor is a potential fork point
        hop[layer.output] = 0
        need[layer.output] = acc
        least[layer.output] = lo
        hops[layer.output] = hop

    # tensors reachable from each tensor (inside the segment)
    reach: dict[str, set[str]] = {}
    for layer in reversed(layers):
        reach.setdefault(layer.output, {layer.output})
    for layer in reversed(layers):
        for t in layer.inputs:
            reach.setdefault(t, {t})
            reach[t] |= reach[layer.output]

    by_index = {layer.index: layer for layer in layers}
    extra: dict[tuple, int] = {}
    for layer in layers:
        if len(layer.inputs) < 2:
            continue
        h_out = layer.out_shape[1]
        # Sources shared by at least two operands (a DenseNet concat joins paths from several
        # earlier forks, each reaching only some of its operands); operands not fed by a source
        # do not constrain its fork.
        count: dict[str, int] = {}
        for t in layer.inputs:
            for s in need.get(t, {}):
                count[s] = count.get(s, 0) + 1
        srcs = {s for s, n in count.items() if n >= 2}
        for s in sorted(srcs):
            ops = [j for j, t in enumerate(layer.inputs) if s in need.get(t, {})]
            dem, dem_lo = {}, {}
            for j in ops:
                t = layer.inputs[j]
                m = np.array([_row_map(layer, j, r, whole) for r in range(h_out)])
                dem[j] = np.where(m > 0, need[t][s][np.maximum(m - 1, 0)], 0)
                m = np.array([_row_map(layer, j, r, whole, least=True) for r in range(h_out)])
                dem_lo[j] = np.where(m > 0, least[t][s][np.maximum(m - 1, 0)], 0)
            mx = np.max([dem[j] for j in ops], axis=0)
            c, h, w = shapes[s]
            row_beats = w * c // port_bytes(shapes[s], port_lanes)
            longest = max(1, max(hops[layer.inputs[j]][s] for j in ops))
            lag_of = {j: int(np.max(mx - dem[j])) for j in ops}
            lags = list(lag_of.values())
            for j in ops:
                t = layer.inputs[j]
                # Only the one path that needs the most rows at every output row may go without a
                # buffer. Paths tied with it in rows can still differ by up to a row (a whole 1x1
                # or single-row tensor) within the row, so they get one row like any shorter path.
                if lag_of[j] == 0 and lags.count(0) == 1:
                    continue
                # A buffered path is credited only the rows its 1x1 engines surely hold (their
                # read-ahead may not have happened yet), against the most the others may need.
                lag = int(np.max(mx - dem_lo[j]))
                depth = min(h, lag + 1) * row_beats + FIFO_SLACK * longest
                edges = consumers.get(s, [])
                leading = [(ci, cj) for ci, cj in edges
                           if (ci == layer.index and cj == j)
                           or (ci != layer.index and t in reach.get(by_index[ci].output, set()))]
                # Only where the paths diverge: if every edge out of s leads to this operand, the
                # fork is further down and is handled with that tensor as the source.
                if len(leading) == len(edges):
                    continue
                for key in ((s, ci, cj) for ci, cj in leading):
                    extra[key] = max(extra.get(key, 0), depth)
    return extra
