"""What a user would otherwise do, costed with the same model as the plan.

* ``reuse_single``: the best single-board reuse engine the cost model can describe (a fair
  stand-in for a DPU-like overlay): Tn x Tm MAC lanes of *any* sizes within the board's DSP budget,
  Tn spanning the flattened reduction C_in/g x kh x kw (so the 3-channel stem uses the window as
  parallelism, like the plan's ``kpar``), layers one after another with double-buffered loads
  (each layer costs the larger of its compute cycles / clock and its off-chip bytes / memory
  bandwidth); weights are read once per image, feature maps stay on chip when a layer's input and
  output fit in the board's BRAM/URAM budget. Interval = sum over layers.
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

def _reuse_rows(graph: Graph) -> np.ndarray:
    """Per layer: (is MAC layer, outer iterations, reduction length, output channels per group,
    weight bytes, activation bytes)."""
    rows = []
    for lay in graph.layers:
        wb = lay.weight_bytes if lay.op in (CONV, FC) else 0
        if lay.op == CONV:
            _, ho, wo = lay.out_shape
            k = lay.kernel[0] * lay.kernel[1]
            rows.append((1, lay.groups * ho * wo, lay.c_in // lay.groups * k, lay.c_out // lay.groups, wb, lay.act_bytes))
        elif lay.op == FC:
            cin = int(lay.weight.shape[1]) if lay.weight is not None else lay.in_bytes
            rows.append((1, 1, cin, lay.c_out, wb, lay.act_bytes))
        else:
            c, h, w = lay.in_shapes[0]
            rows.append((0, h * w * len(lay.in_shapes), 1, c, 0, lay.act_bytes))
    return np.array(rows, dtype=np.int64).reshape(-1, 6)


_TN_BLOCK = 512  # Tn per block of reuse_interval's sweep (30 layer shapes x 512 x 8 B: in cache)


def reuse_interval(graph: Graph, spec: BoardSpec, util: float) -> tuple[float, tuple[int, int]]:
    """Best single-engine (Tn, Tm) and its seconds per image on ``spec``.

    For each Tn the largest Tm within the DSP budget is best (cycles never grow with Tm), so the
    search is one vectorized sweep over every Tn. On-chip memory (BRAM36 + URAM at ``util``) keeps
    a layer's input and output when they fit next to the double-buffered weight tile."""
    dsp_budget = int(spec.dsp * util)
    mpd = spec.macs_per_dsp
    mem = spec.mem_gbps * 1e9
    f = spec.clock_hz
    # ResNets repeat a few layer shapes dozens of times: cost each distinct row once, times its count
    a, count = np.unique(_reuse_rows(graph), axis=0, return_counts=True)
    onchip = (spec.bram36 * 36 * 1024 // 8 + spec.uram * 288 * 1024 // 8) * util
    tn = np.arange(1, max(1, dsp_budget) + 1, dtype=np.int64)
    tm = (dsp_budget // tn) * mpd
    ok = tm > 0
    tn, tm = tn[ok], tm[ok]
    if len(tn) == 0:
        return float("inf"), (0, 0)
    mac = a[:, 0] == 1
    outer, red, cout, wb, act = (a[:, c][None, :] for c in range(1, 6))
    # Seconds of every layer row at every (Tn, Tm), in blocks of Tn: a U250 has ~9,200 Tn, and
    # whole-matrix temporaries (2 MB each) cost more in page faults than the arithmetic. Each
    # entry is the same float as computed at once, and the sum is one product over the matrix.
    sec = np.empty((len(tn), len(a)))
    for s in range(0, len(tn), _TN_BLOCK):
        tnb, tmb = tn[s:s + _TN_BLOCK, None], tm[s:s + _TN_BLOCK, None]
        ctm = ceil_div(cout, tmb)
        cyc = np.where(mac[None, :], outer * ceil_div(red, tnb) * ctm, outer * ctm)
        act_off = np.where(act + 2 * tnb * tmb <= onchip, 0, act)
        np.maximum(cyc / f, (wb + act_off) / mem, out=sec[s:s + _TN_BLOCK])
    t = sec @ count.astype(np.float64)
    i = int(np.argmin(t))
    return float(t[i]), (int(tn[i]), int(tm[i]))


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
