"""The inner problem: the best interval of every contiguous segment on one board type, exactly.

For a target interval T (cycles) every layer takes the slowest menu entry meeting T, which by the
monotone envelope (costmodel.envelope) is the cheapest in every resource; a segment is feasible at T
iff the sum of those resource vectors fits the budget. Feasibility only improves with T, so the
smallest feasible T among the candidate cycle counts (the union of all menu entries: the optimum
is always one of them) is found by a binary search. Per-T prefix sums over the layers make each
feasibility test O(1); numpy runs the binary search for all L(L+1)/2 segments at once.

Weights are either all on chip (``onchip``) or all streamed from off-chip memory (``offchip``,
which also needs ``weight bytes / memory bandwidth`` of time per image); a segment takes the faster.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from asymap.partition.costmodel import Menu

INF_RES = np.int64(1) << np.int64(40)  # "cannot meet T": exceeds every budget, sums stay in int64


@dataclass
class SegmentTable:
    """``interval[j, k]``: best seconds per image for layers j..k-1 (inf when infeasible or k <= j);
    ``mode[j, k]``: 0 onchip, 1 offchip."""

    interval: np.ndarray
    mode: np.ndarray


def candidate_cycles(menus_list: list[list[Menu]]) -> np.ndarray:
    return np.unique(np.concatenate([m.cycles for menus in menus_list for m in menus]))


def min_feasible_T(menus: list[Menu], budget: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """[L+1, L+1] array of the smallest feasible T (cycles) for segment j..k-1; -1 when none."""
    n = len(menus)
    nt = len(ts)
    res_t = np.empty((nt, n, 4), dtype=np.int64)
    for li, m in enumerate(menus):
        asc = m.cycles[::-1]
        cnt = np.searchsorted(asc, ts, side="right")
        idx = np.clip(len(asc) - cnt, 0, len(asc) - 1)
        r = m.res[idx]
        r[cnt == 0] = INF_RES
        res_t[:, li, :] = r
    pref = np.zeros((nt, n + 1, 4), dtype=np.int64)
    np.cumsum(res_t, axis=1, out=pref[:, 1:, :])
    del res_t
    J, K = np.triu_indices(n + 1, k=1)
    lo = np.zeros(len(J), dtype=np.int64)
    hi = np.full(len(J), nt, dtype=np.int64)
    while True:
        act = np.nonzero(lo < hi)[0]
        if len(act) == 0:
            break
        mid = (lo[act] + hi[act]) // 2
        use = pref[mid, K[act]] - pref[mid, J[act]]
        ok = np.all(use <= budget, axis=1)
        hi[act] = np.where(ok, mid, hi[act])
        lo[act] = np.where(ok, lo[act], mid + 1)
    out = np.full((n + 1, n + 1), -1, dtype=np.int64)
    out[J, K] = np.where(lo < nt, ts[np.minimum(lo, nt - 1)], -1)
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
    return SegmentTable(interval=interval, mode=mode)


def choose(menus: list[Menu], first: int, last: int, t_cycles: float) -> list[int]:
    """Menu rows of layers first..last at interval ``t_cycles``: the slowest entry meeting it."""
    rows = []
    for m in menus[first : last + 1]:
        ok = np.nonzero(m.cycles <= t_cycles * (1 + 1e-12))[0]
        rows.append(int(ok[0]) if len(ok) else len(m.cycles) - 1)
    return rows
