"""The inner problem: the best interval of every contiguous segment on one board type, exactly.

For a target interval T (cycles) every layer takes the slowest menu entry meeting T, which by the
monotone envelope (costmodel.envelope) is the cheapest in every resource; a segment is feasible at T
iff the sum of those resource vectors fits the budget. Feasibility only improves with T, so the
smallest feasible T among the candidate cycle counts (the union of all menu entries: the optimum
is always one of them) is the first T at which the segment fits. Per-T prefix sums over the layers
make each feasibility test O(1), and because they are monotone, the furthest segment end for every
(T, start) and then the first T for every (start, end) are two batched binary searches (numpy
searchsorted) over all L(L+1)/2 segments at once.

Weights are either all on chip (``onchip``) or all streamed from off-chip memory (``offchip``,
which also needs ``weight bytes / memory bandwidth`` of time per image); a segment takes the faster.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from asymap.partition.costmodel import Menu



@dataclass
class SegmentTable:
    """``interval[j, k]``: best seconds per image for layers j..k-1 (inf when infeasible or k <= j);
    ``mode[j, k]``: 0 onchip, 1 offchip."""

    interval: np.ndarray
    mode: np.ndarray
    onchip: np.ndarray  # the best interval with every weight on chip (inf when they do not fit)


def candidate_cycles(menus_list: list[list[Menu]]) -> np.ndarray:
    return np.unique(np.concatenate([m.cycles for menus in menus_list for m in menus]))


def min_feasible_T(menus: list[Menu], budget: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """[L+1, L+1] array of the smallest feasible T (cycles) for segment j..k-1; -1 when none."""
    n = len(menus)
    nt = len(ts)
    # Cap every per-layer amount at budget + 1: "over budget" is preserved by sums of non-negative
    # numbers, and the prefix sums fit int32 (half the memory traffic of int64).
    cap = (budget + 1).astype(np.int64)
    res_t = np.empty((nt, n, 4), dtype=np.int32)
    done: dict[int, int] = {}  # repeated layers share one Menu object: compute its column once
    for li, m in enumerate(menus):
        if id(m) in done:
            res_t[:, li, :] = res_t[:, done[id(m)], :]
            continue
        done[id(m)] = li
        asc = m.cycles[::-1]
        cnt = np.searchsorted(asc, ts, side="right")
        idx = np.maximum(len(asc) - cnt, 0)
        idx[idx >= len(asc)] = len(asc) - 1
        r = np.minimum(m.res[idx], cap)
        r[cnt == 0] = cap
        res_t[:, li, :] = r
    pref = np.zeros((nt, n + 1, 4), dtype=np.int32)
    np.cumsum(res_t, axis=1, out=pref[:, 1:, :])
    del res_t
    # reach[t, j]: the largest k with layers j..k-1 within budget at candidate T number t. Prefix
    # sums are non-decreasing in k, so it is a searchsorted per resource; offsetting row t by
    # t * off makes one call serve every t at once.
    off = np.int64(n + 2) * np.int64(cap.max() + 1)
    rows = np.arange(nt, dtype=np.int64)[:, None] * off
    reach = np.full((nt, n + 1), n, dtype=np.int64)
    for r in range(4):
        pr = pref[:, :, r].astype(np.int64) + rows
        k = np.searchsorted(pr.ravel(), (pr + budget[r]).ravel(), side="right").reshape(nt, n + 1)
        reach = np.minimum(reach, k - 1 - np.arange(nt, dtype=np.int64)[:, None] * (n + 1))
    # reach[:, j] is non-decreasing in t (a larger T never costs more), so the first feasible t of
    # segment j..k-1 is the number of t with reach < k: again one offset searchsorted.
    J, K = np.triu_indices(n + 1, k=1)
    col = reach.T + np.arange(n + 1, dtype=np.int64)[:, None] * (n + 2)
    idx = np.searchsorted(col.ravel(), K + J * (n + 2), side="left") - J * nt
    out = np.full((n + 1, n + 1), -1, dtype=np.int64)
    out[J, K] = np.where(idx < nt, ts[np.minimum(idx, nt - 1)], -1)
    return out


def segment_table(
    menus_on: list[Menu], menus_off: list[Menu], budget: np.ndarray, clock_hz: float,
    weight_bytes: np.ndarray, mem_bytes_per_s: float, ts: np.ndarray,
) -> SegmentTable:
    n = len(menus_on)
    t_on = min_feasible_T(menus_on, budget, ts)
    t_off = min_feasible_T(menus_off, budget, ts)
    on = np.where(t_on > 0, t_on / clock_hz, np.inf)
    wpref = np.concatenate([[0], np.cumsum(weight_bytes)]).astype(np.float64)
    stream = (wpref[None, :] - wpref[:, None]) / mem_bytes_per_s
    off = np.where(t_off > 0, np.maximum(t_off / clock_hz, stream), np.inf)
    mode = (off < on).astype(np.int8)
    interval = np.minimum(on, off)
    tri = np.triu(np.ones((n + 1, n + 1), bool), k=1)
    interval[~tri] = np.inf
    on[~tri] = np.inf
    return SegmentTable(interval=interval, mode=mode, onchip=on)


def choose(menus: list[Menu], first: int, last: int, t_cycles: float) -> list[int]:
    """Menu rows of layers first..last at interval ``t_cycles``: the slowest entry meeting it."""
    rows = []
    for m in menus[first : last + 1]:
        ok = np.nonzero(m.cycles <= t_cycles * (1 + 1e-12))[0]
        rows.append(int(ok[0]) if len(ok) else len(m.cycles) - 1)
    return rows
