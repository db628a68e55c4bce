"""What a user would otherwise do, costed with the same model as the plan.

* ``reuse_single``: one engine of Tn x Tm MAC lanes sized to the best board, running the layers one
  after another, every weight and feature map through off-chip memory, each layer limited by its
  roofline: max(compute cycles / clock, bytes / memory bandwidth). Interval = sum over layers.
* ``even_split``: the boards along one path through the topology, the same number of layers each.
* ``dsp_proportional``: the same path, each board getting MACs in proportion to its DSP count
  (ignores bandwidth and memory).
* ``greedy``: the same path, each board filled with as many layers as it can hold with all their
  weights on chip (at any speed); a layer too big for any board's on-chip memory goes alone, and the last board takes whatever is left.
The split baselines use the exact per-board factor optimization, so they differ from the plan
only in where they cut and in which order they use the boards.
"""

from __future__ import annotations

import numpy as np

from asymap.cluster.boards import BoardSpec
from asymap.frontend.ir import CONV, FC, Graph
from asymap.partition.costmodel import ceil_div
from asymap.partition.order import evaluate

POW2 = [1 << i for i in range(12)]


def reuse_interval(graph: Graph, spec: BoardSpec, util: float) -> tuple[float, tuple[int, int]]:
    """Best single-engine (Tn, Tm) and its seconds per image on ``spec``."""
    dsp_budget = int(spec.dsp * util)
    mem = spec.mem_gbps * 1e9
    f = spec.clock_hz
    rows = []
    for lay in graph.layers:
        nbytes = lay.act_bytes + (lay.weight_bytes if lay.op in (CONV, FC) else 0)
        if lay.op == CONV:
            _, ho, wo = lay.out_shape
            k = lay.kernel[0] * lay.kernel[1]
            rows.append((1, lay.groups * ho * wo * k, lay.c_in // lay.groups, lay.c_out // lay.groups, nbytes))
        elif lay.op == FC:
            cin = int(lay.weight.shape[1]) if lay.weight is not None else lay.in_bytes
            rows.append((1, 1, cin, lay.c_out, nbytes))
        else:
            c, h, w = lay.in_shapes[0]
            rows.append((0, h * w * len(lay.in_shapes), 1, c, nbytes))
    a = np.array(rows, dtype=np.int64)
    best = (np.inf, (0, 0))
    for tn in POW2:
        for tm in POW2:
            if tn * ceil_div(tm, spec.macs_per_dsp) > dsp_budget:
                continue
            cyc = np.where(a[:, 0] == 1, a[:, 1] * ceil_div(a[:, 2], tn) * ceil_div(a[:, 3], tm), a[:, 1] * ceil_div(a[:, 3], tm))
            t = float(np.sum(np.maximum(cyc / f, a[:, 4] / mem)))
            if t < best[0]:
                best = (t, (tn, tm))
    return best


def baseline_path(adj: list[list[int]], n: int, max_steps: int = 200000) -> list[int]:
    """A path through as many boards as possible (Hamiltonian if found), deterministic DFS."""
    best: list[int] = []
    steps = 0
    for start in range(n):
        stack = [(start, [start], {start})]
        while stack and steps < max_steps:
            steps += 1
            b, path, seen = stack.pop()
            if len(path) > len(best):
                best = path
                if len(best) == n:
                    return best
            for nb in sorted(adj[b], reverse=True):
                if nb not in seen:
                    stack.append((nb, path + [nb], seen | {nb}))
    return best


def _cuts_from_shares(work: np.ndarray, shares: np.ndarray) -> list[int]:
    """Cut positions giving board i about shares[i] of the total work, each board >= 1 layer."""
    L = len(work)
    n = min(len(shares), L)
    shares = shares[:n]
    cum = np.cumsum(work) / max(work.sum(), 1)
    target = np.cumsum(shares) / shares.sum()
    cuts = [0]
    for i in range(n - 1):
        c = int(np.searchsorted(cum, target[i], side="left")) + 1
        c = max(c, cuts[-1] + 1)
        c = min(c, L - (n - 1 - i))
        cuts.append(c)
    return cuts + [L]


def split_baselines(
    graph: Graph, seg: list[np.ndarray], onchip: list[np.ndarray], link: dict, path: list[int], dsps: list[int]
) -> dict:
    """Interval of the even, DSP-proportional and greedy splits along ``path``."""
    L = len(graph.layers)
    out = {}
    n = min(len(path), L)
    p = path[:n]
    out["even_split"] = (p, _cuts_from_shares(np.ones(L), np.ones(n)))
    macs = np.array([max(lay.macs, 1) for lay in graph.layers], dtype=np.float64)
    out["dsp_proportional"] = (p, _cuts_from_shares(macs, np.array([dsps[b] for b in p], dtype=np.float64)))
    cuts, used, j = [0], [], 0
    for i, b in enumerate(path):
        if j >= L:
            break
        if i == len(path) - 1:  # out of boards: the last one takes the rest, streaming weights if needed
            if np.isfinite(seg[b][j, L]):
                used.append(b)
                cuts.append(L)
                j = L
            break
        ok = np.nonzero(np.isfinite(onchip[b][j, j + 1 :]))[0]
        if len(ok) == 0:
            ok = np.nonzero(np.isfinite(seg[b][j, j + 1 : j + 2]))[0]
        if len(ok) == 0:
            break
        j = j + 1 + int(ok[-1])  # segment rows are monotone: the last finite end is the furthest
        used.append(b)
        cuts.append(j)
    out["greedy"] = (used, cuts) if j >= L else (used, None)
    res = {}
    for name, (pp, cc) in out.items():
        res[name] = (evaluate(seg, link, pp, cc) if cc is not None else np.inf, pp, cc)
    return res
