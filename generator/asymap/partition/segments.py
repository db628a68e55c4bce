"""The inner problem: the best interval of every contiguous segment on one board type.

For a target interval T (cycles) each layer takes a menu row meeting T. Two tables come out of
the same batched search, one per kind of row (costmodel.raw_menu):

* ``interval`` (achievable): every layer takes the cheapest real option meeting T. The first T at
  which the segment fits is an interval some real factor choice reaches, so plans built from this
  table exist exactly as predicted.
* ``lower`` (relaxation): every layer is charged the per-resource minimum over its options
  meeting T. Any real choice costs at least that in every resource, so the first T at which the
  relaxation fits is a proven lower bound of the segment's exact optimum (the exact optimum over
  all raw combinations is a multi-dimensional knapsack; ``exact_segment`` solves it for one
  segment and the tests check it against brute force).

Where the two tables agree the segment's interval is exact. The candidate T are the union of all
option cycle counts (the optimum is always one of them). Per-T prefix sums make each feasibility
test O(1); the furthest segment end for every (T, start) is a batched binary search (numpy
searchsorted), and a board with S super logic regions composes it S times (each SLR filled in
chain order with its share of the budget, costmodel.slr_budget). Feasibility only improves with
T (a plan meeting T meets every larger T), so the first feasible T of every (start, end) is a
second batched binary search over all L(L+1)/2 segments at once.

Weights are either all on chip (``onchip``) or all streamed from off-chip memory (``offchip``,
which also needs ``weight bytes / memory bandwidth`` of time per image); a segment takes the faster.
"""

from __future__ import annotations

from dataclasses import dataclass

import time

import numpy as np

from asymap.partition.costmodel import Menu, agg_budget



@dataclass
class SegmentTable:
    """``interval[j, k]``: best achievable seconds per image for layers j..k-1 (inf when infeasible
    or k <= j); ``mode[j, k]``: 0 onchip, 1 offchip; ``lower[j, k]``: a proven lower bound of the
    segment's exact optimum (== interval where the inner solve is exact)."""

    interval: np.ndarray
    mode: np.ndarray
    onchip: np.ndarray  # the best interval with every weight on chip (inf when they do not fit)
    lower: np.ndarray
    t_cycles: tuple = ()  # (onchip, offchip) first feasible T in cycles (-1: none), achievable rows


def candidate_cycles(menus_list: list[list[Menu]]) -> np.ndarray:
    return np.unique(np.concatenate([m.lo_cycles for menus in menus_list for m in menus]))


def _rows(m: Menu, lower: bool):
    if not lower:
        return m.cycles, m.res
    if m.lo_agg is None:
        return m.lo_cycles, m.lo_res
    return m.lo_cycles, np.hstack([m.lo_res, m.lo_agg])  # + the aggregated constraints


def min_feasible_T(menus: list[Menu], budget: np.ndarray, ts: np.ndarray, slrs: int = 1,
                   lower: bool = False) -> np.ndarray:
    """[L+1, L+1] array of the smallest feasible T (cycles) for segment j..k-1; -1 when none.
    ``budget`` is per SLR; ``lower`` uses the relaxation rows."""
    n = len(menus)
    nt = len(ts)
    budget = np.asarray(budget, np.int64)
    if lower and n and menus[0].lo_agg is not None:
        budget = np.concatenate([budget, agg_budget(menus[0].agg_w, budget)])
    R = len(budget)
    # Cap every per-layer amount at budget + 1: "over budget" is preserved by sums of non-negative
    # numbers, and the prefix sums fit int32 (half the memory traffic of int64).
    cap = (budget + 1).astype(np.int64)
    dt = np.int32 if int(cap.max()) * (n + 1) < 2**31 else np.int64
    res_t = np.empty((nt, n, R), dtype=dt)
    done: dict[int, int] = {}  # repeated layers share one Menu object: compute its column once
    for li, m in enumerate(menus):
        if id(m) in done:
            res_t[:, li, :] = res_t[:, done[id(m)], :]
            continue
        done[id(m)] = li
        cyc, res = _rows(m, lower)
        asc = cyc[::-1]
        cnt = np.searchsorted(asc, ts, side="right")
        idx = np.maximum(len(asc) - cnt, 0)
        idx[idx >= len(asc)] = len(asc) - 1
        r = np.minimum(res[idx], cap)
        r[cnt == 0] = cap
        res_t[:, li, :] = r
    pref = np.zeros((nt, n + 1, R), dtype=dt)
    np.cumsum(res_t, axis=1, out=pref[:, 1:, :])
    del res_t
    # reach[t, j]: the largest k with layers j..k-1 within one SLR's budget at candidate T number
    # t. Prefix sums are non-decreasing in k, so it is a searchsorted per resource; offsetting row
    # t by t * off makes one call serve every t at once.
    off = np.int64(n + 2) * np.int64(cap.max() + 1)
    rows = np.arange(nt, dtype=np.int64)[:, None] * off
    reach = np.full((nt, n + 1), n, dtype=np.int64)
    for r in range(R):
        pr = pref[:, :, r].astype(np.int64) + rows
        k = np.searchsorted(pr.ravel(), (pr + budget[r]).ravel(), side="right").reshape(nt, n + 1)
        reach = np.minimum(reach, k - 1 - np.arange(nt, dtype=np.int64)[:, None] * (n + 1))
    one = reach
    for _ in range(max(1, slrs) - 1):  # the next SLR starts where the previous one stopped
        reach = np.take_along_axis(one, reach, axis=1)
    # Achievable rows need not get cheaper in every resource as T grows, but a choice meeting T
    # meets every larger T: the running maximum is the true reach and it is monotone in t, so the
    # first feasible t of segment j..k-1 is the number of t with reach < k (one offset searchsorted).
    reach = np.maximum.accumulate(reach, axis=0)
    J, K = np.triu_indices(n + 1, k=1)
    col = reach.T + np.arange(n + 1, dtype=np.int64)[:, None] * (n + 2)
    idx = np.searchsorted(col.ravel(), K + J * (n + 2), side="left") - J * nt
    out = np.full((n + 1, n + 1), -1, dtype=np.int64)
    out[J, K] = np.where(idx < nt, ts[np.minimum(idx, nt - 1)], -1)
    return out


def segment_table(
    menus_on: list[Menu], menus_off: list[Menu], budget: np.ndarray, clock_hz: float,
    weight_bytes: np.ndarray, mem_bytes_per_s: float, ts: np.ndarray | None = None, slrs: int = 1,
) -> SegmentTable:
    """``ts``: candidate cycle counts; None: each table's own (its menus' cycle counts, where its
    feasibility can change: the same answer with fewer candidates)."""
    n = len(menus_on)

    def cands(menus, lower):
        if ts is not None:
            return ts
        return np.unique(np.concatenate([m.lo_cycles if lower else m.cycles for m in menus]))

    wpref = np.concatenate([[0], np.cumsum(weight_bytes)]).astype(np.float64)
    stream = (wpref[None, :] - wpref[:, None]) / mem_bytes_per_s
    tri = np.triu(np.ones((n + 1, n + 1), bool), k=1)
    out = {}
    # Where every layer's achievable row is its ideal point the relaxation is the same table.
    tight = all(m.tight for m in menus_on) and all(m.tight for m in menus_off)
    for lower in ((False,) if tight else (False, True)):
        t_on = min_feasible_T(menus_on, budget, cands(menus_on, lower), slrs, lower)
        t_off = min_feasible_T(menus_off, budget, cands(menus_off, lower), slrs, lower)
        on = np.where(t_on > 0, t_on / clock_hz, np.inf)
        off = np.where(t_off > 0, np.maximum(t_off / clock_hz, stream), np.inf)
        interval = np.minimum(on, off)
        interval[~tri] = np.inf
        on[~tri] = np.inf
        out[lower] = (interval, (off < on).astype(np.int8), on, (t_on, t_off))
    interval, mode, on, tc = out[False]
    lower = interval.copy() if tight else np.minimum(out[True][0], interval)
    return SegmentTable(interval=interval, mode=mode, onchip=on, lower=lower, t_cycles=tc)


def choose(menus: list[Menu], first: int, last: int, t_cycles: float) -> list[int]:
    """Menu rows of layers first..last at interval ``t_cycles``: the slowest entry meeting it."""
    rows = []
    for m in menus[first : last + 1]:
        ok = np.nonzero(m.cycles <= t_cycles * (1 + 1e-12))[0]
        rows.append(int(ok[0]) if len(ok) else len(m.cycles) - 1)
    return rows


def _pareto(points: np.ndarray, block: int = 256) -> np.ndarray:
    """Indices of the rows of ``points`` not dominated (<= everywhere) by another kept row; of
    equal rows one is kept. Rows are visited by ascending sum (a row can only be dominated by one
    with a smaller or equal sum), in blocks checked against the rows kept so far."""
    n = len(points)
    if n <= 1:
        return np.arange(n)
    order = np.lexsort((*points.T[::-1], points.sum(axis=1)))
    kept = np.empty((0, points.shape[1]), points.dtype)
    out = []
    for s0 in range(0, n, block):
        idx = order[s0 : s0 + block]
        blk = points[idx]
        ok = ~np.any(np.all(kept[None, :, :] <= blk[:, None, :], axis=2), axis=1) if len(kept) else np.ones(len(idx), bool)
        # inside the block: an earlier row (smaller sum, or equal and lexicographically first) dominates
        le = np.all(blk[:, None, :] <= blk[None, :, :], axis=2)
        earlier = np.tril(np.ones((len(idx), len(idx)), bool), k=-1).T  # earlier[a, b]: a before b
        ok &= ~np.any(le & earlier & ok[:, None], axis=0)
        out.extend(idx[ok].tolist())
        kept = np.vstack([kept, blk[ok]])
    return np.array(sorted(out), dtype=np.int64)


def exact_segment(options: list[tuple[np.ndarray, np.ndarray]], budget: np.ndarray, slrs: int = 1,
                  limit: int = 400, t_lo: int = 0, t_hi: int | None = None,
                  deadline: float | None = None) -> tuple[int, list[int]] | None:
    """The exact best cycles of one segment over the raw options of its layers, and the option
    chosen for each layer; None if nothing fits or a Pareto set outgrows ``limit`` (then the
    caller keeps its bounds).

    ``options[i] = (cycles[K], res[K, 4])`` of layer i; ``budget`` is per SLR; ``t_lo``/``t_hi``:
    known bounds of the answer (``t_hi`` feasible); ``deadline``: a ``time.perf_counter()`` value. For a candidate T
    (binary search over the option cycle counts: feasibility is monotone in T) a dynamic program
    over the layers keeps the Pareto set of the resources used in the current SLR. Only states in
    the lowest SLR matter (a state one SLR earlier can always open the next SLR empty), each layer
    offers only its Pareto-minimal options meeting T, and a state is dropped when even the
    per-resource minima of the remaining layers cannot fit what is left. Exact over every
    combination of options and every resource kind; the tests compare it with brute force."""
    budget = np.asarray(budget, np.int64)
    ts = np.unique(np.concatenate([c for c, _ in options]))
    # Hints (the relaxed and achievable first feasible T): the optimum lies between them.
    ts = ts[(ts >= t_lo) & (ts <= (ts[-1] if t_hi is None else t_hi))]
    gave_up = False

    def feasible(t):
        nonlocal gave_up
        menus = []
        for cyc, res in options:
            ok = np.nonzero(cyc <= t)[0]
            if len(ok) == 0:
                return None
            menus.append((ok[_pareto(res[ok])], res))
        mins = np.array([res[ok].min(axis=0) for ok, res in menus])
        rem = np.vstack([np.cumsum(mins[::-1], axis=0)[::-1], np.zeros((1, 4), np.int64)])
        slr = 0
        used = np.zeros((1, 4), np.int64)  # Pareto set of the current SLR's use
        paths = [()]
        for i, (ok, res) in enumerate(menus):
            if deadline is not None and time.perf_counter() > deadline:
                gave_up = True  # out of time: the caller keeps its bounds
                return None
            cand_u = []
            for s_, base in ((slr, used), (slr + 1, None)):
                if s_ >= slrs:
                    continue
                u = (base[:, None, :] + res[ok][None, :, :]).reshape(-1, 4) if base is not None else res[ok].copy()
                # a new SLR may follow any state of the previous one: continue the first
                pidx = [(a, int(o)) for a in (range(len(paths)) if base is not None else [0]) for o in ok]
                room = budget * (slrs - s_)  # what this SLR and the later ones can still take
                keep = np.all(u <= budget, axis=1) & np.all(u + rem[i + 1] <= room, axis=1)
                if np.any(keep):
                    cand_u.append((s_, u[keep], [pidx[q] for q in np.nonzero(keep)[0]]))
                    break  # states in a lower SLR dominate every state in a higher one
            if not cand_u:
                return None
            slr, u, pidx = cand_u[0]
            if len(u) > 16 * limit:
                gave_up = True
                return None
            front = _pareto(u)
            if len(front) > limit:
                gave_up = True
                return None
            used = u[front]
            paths = [paths[a] + (o,) for a, o in (pidx[q] for q in front)]
        return paths[0]

    lo, hi, best = 0, len(ts) - 1, None
    if t_hi is not None and len(ts) >= 2:  # usually the achievable T is optimal: one check proves it
        if feasible(ts[-2]) is None and not gave_up:
            got = feasible(ts[-1])
            return None if got is None else (int(ts[-1]), list(got))
        hi = len(ts) - 2
    while lo <= hi:
        mid = (lo + hi) // 2
        got = feasible(ts[mid])
        if got is not None:
            best, hi = (int(ts[mid]), list(got)), mid - 1
        else:
            if gave_up:
                return None
            lo = mid + 1
    return best
