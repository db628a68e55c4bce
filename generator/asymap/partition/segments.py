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
test O(1); the furthest segment end for every (T, start) is a two-pointer sweep vectorized over
all T (``_reach_one_slr``), and a board with S super logic regions composes it S times (each SLR filled in
chain order with its share of the budget, costmodel.slr_budget). Feasibility only improves with
T (a plan meeting T meets every larger T), so the first feasible T of every (start, end) is a
second batched binary search over all L(L+1)/2 segments at once.

Both tables are approximations of the exact inner problem, which ``exact_segment`` and
``Knapsack`` solve over the raw options (the planner settles with them only the segments that
matter, asymap.partition.planner._tighten).

Weights are either all on chip (``onchip``) or all streamed from off-chip memory (``offchip``,
which also needs ``weight bytes / memory bandwidth`` of time per image); a segment takes the faster.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass


import numpy as np

from asymap.partition.costmodel import Menu, agg_budget, agg_vectors
from asymap.util.arrays import sorted_unique

try:  # compiled inner loops (setup.py; optional: the numpy paths give the same values)
    from asymap.partition import _fast
except ImportError:  # pragma: no cover - installed without a C compiler
    _fast = None


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
    # The lower bound with lane-split engines (multi-SLR boards; None: no split relaxation built).
    # The planner proves the plans without splits on ``lower`` first, then takes this one.
    lower_split: np.ndarray | None = None


def candidate_cycles(menus_list: list[list[Menu]]) -> np.ndarray:
    return sorted_unique(np.concatenate([m.lo_cycles for menus in menus_list for m in menus]))


def _rows(m: Menu, lower: bool):
    if not lower:
        return m.cycles, m.res
    if m.lo_agg is None:
        return m.lo_cycles, m.lo_res
    return m.lo_cycles, np.hstack([m.lo_res, m.lo_agg])  # + the aggregated constraints


def min_feasible_T(menus: list[Menu], budget: np.ndarray, ts: np.ndarray, slrs: int = 1,
                   lower: bool = False) -> np.ndarray:
    """[L+1, L+1] array of the smallest feasible T (cycles) for segment j..k-1; -1 when none.
    ``ts``: the candidate T, ascending; ``budget`` is per SLR; ``lower`` uses the relaxation rows."""
    return min_feasible_Ts([(menus, ts, lower)], budget, slrs)[0]


def min_feasible_Ts(calls: list[tuple[list[Menu], np.ndarray, bool]], budget: np.ndarray,
                    slrs: int = 1) -> list[np.ndarray]:
    """``min_feasible_T`` of several (menus, candidate T, lower) on one board (same ``budget`` and
    ``slrs``), each answer the same as alone.

    Why batched: the two-pointer sweep (``_reach_one_slr``) costs a Python loop of ~2n steps
    whatever the number of candidates, so the achievable tables of a board type's port widths and
    weight modes share one sweep. Tables whose rows never grow with T (the relaxation's, and any
    other that happens to be) take ``_first_monotone`` instead: a binary search per segment.

    A call may carry a fourth element, ``split``: lane-split engines may cross SLR boundaries
    (costmodel.split_resources); that relaxation table then leaves out one layer at each
    boundary, the one that may split (its halves charged nothing: a valid relaxation whatever the
    halves cost), so the next SLR starts one layer after the one that did not fit."""
    n = len(calls[0][0]) if calls else 0
    outs: list = [None] * len(calls)
    prep: dict = {}  # a menu's capped rows, shared by the calls it appears in (same budget)
    batch: dict = {}  # (budget, dtype, packed or not) -> ([(call index, candidates, budget)], [pref])
    for ci, (menus, ts, lower, *more) in enumerate(calls):
        split = bool(more and more[0])
        pref, ts_, bud, mono = _prefix(menus, budget, ts, lower, prep, pack=True)
        if mono:
            outs[ci] = _to_cycles(_first_monotone(pref, bud, slrs, split and lower), ts_)
        else:
            group = batch.setdefault((bud.tobytes(), pref.dtype.str, pref.ndim), ([], []))
            group[0].append((ci, ts_, bud, split and lower))
            group[1].append(pref)
        del pref
    for members, prefs in batch.values():
        both = np.concatenate(prefs, axis=1) if len(prefs) > 1 else prefs[0]
        prefs.clear()  # (the concatenation holds them now)
        if both.ndim == 2:  # packed (``_packing``): reach by start layer, reach[j, t]
            one = _reach_packed(both, members[0][2])
            del both
            nt_all = one.shape[1]
            flat, cols = one.ravel(), np.arange(nt_all, dtype=np.int64)
            reaches = {}
            for sp in sorted({m[3] for m in members}):
                reach = one
                for _ in range(max(1, slrs) - 1):  # the next SLR starts where the previous one stopped
                    if _fast is not None:  # (the same in one pass: _fast.c)
                        nxt = np.empty_like(one)
                        _fast.next_slr(one, reach, nxt, len(one), nt_all, int(sp))
                        reach = nxt
                        continue
                    if sp:  # (one past it: that layer may split, and the relaxation drops it)
                        reach = np.minimum(reach + 1, len(one) - 1)
                    reach = np.take(flat, reach * nt_all + cols)
                reaches[sp] = reach
            o = 0
            for ci, ts_, _, sp in members:
                outs[ci] = _to_cycles(_first_of_reach_by_start(reaches[sp][:, o : o + len(ts_)]), ts_)
                o += len(ts_)
            continue
        one = _reach_by_layer(both, members[0][2])
        del both
        reaches = {}
        for sp in sorted({m[3] for m in members}):
            reach = one
            for _ in range(max(1, slrs) - 1):  # the next SLR starts where the previous one stopped
                if sp:  # (one past it: that layer may split, and the relaxation drops it)
                    reach = np.minimum(reach + 1, n)
                reach = np.take_along_axis(one, reach, axis=1)
            reaches[sp] = reach
        o = 0
        for ci, ts_, _, sp in members:
            outs[ci] = _to_cycles(_first_of_reach(reaches[sp][o : o + len(ts_)], n), ts_)
            o += len(ts_)
    return outs


def _prefix(menus: list[Menu], budget: np.ndarray, ts: np.ndarray, lower: bool, prep: dict | None = None,
            pack: bool = False):
    """(pref [n+1, nt, R]: prefix sums over the layers of their capped rows at each candidate T,
    layer-major (each layer's step is one contiguous add over every candidate); the candidates
    kept; the budget of each column; whether no row grows with T).

    ``pack``: when some row grows with T (the two-pointer sweep's tables) and the budget's
    columns fit one 64-bit word (``_packing``), pref is [n+2, nt] uint64 words instead, the last
    row a sentinel no segment reaches (``_reach_packed``)."""
    n = len(menus)
    budget = np.asarray(budget, np.int64)
    cols = None
    if lower and n and menus[0].lo_agg is not None:
        # An aggregated sum over one resource with a budget (plus kinds without one: a row using
        # those fails their own column anyway) only repeats that resource's column: left out.
        vec = agg_vectors(menus[0].agg_w)
        useful = np.count_nonzero(vec[:, budget > 0], axis=1) >= 2
        cols = np.concatenate([np.arange(4), 4 + np.nonzero(useful)[0]])
        budget = np.concatenate([budget, agg_budget(menus[0].agg_w, budget)])[cols]
    nt = len(ts)
    R = len(budget)
    # Cap every per-layer amount at budget + 1: "over budget" is preserved by sums of non-negative
    # numbers, and the prefix sums fit int32 (half the memory traffic of int64).
    cap = (budget + 1).astype(np.int64)
    dt = np.int32 if int(cap.max()) * (n + 1) < 2**31 else np.int64
    # Repeated layers share one Menu object: one column per distinct menu, gathered per layer.
    col_of: dict[int, int] = {}
    layer_col = [col_of.setdefault(id(m), len(col_of)) for m in menus]
    uniq = list({id(m): m for m in menus}.values())
    # Per distinct menu: its capped rows (and, last, the cap: no row meets T) and which of them
    # each candidate takes. Rows are slowest first, so as T grows a layer moves to earlier rows.
    prep = {} if prep is None else prep
    todo = [m for m in uniq if (id(m), lower) not in prep]
    if todo:  # all at once: each menu's rows and then the cap, stacked
        parts, cycs = [], []
        for m in todo:
            cyc, res = _rows(m, lower)
            parts += [res if cols is None else res[:, cols], cap[None, :]]
            cycs.append(cyc)
        rows = np.minimum(np.concatenate(parts), cap).astype(dt)
        ends = np.cumsum([len(c) + 1 for c in cycs])  # one past each menu's cap row
        # run[i]: how many times the row changes from the cap up to row i (equal runs share it);
        # the step from a menu's cap row to the next menu's first row is not a change
        change = (rows[:-1] != rows[1:]).any(axis=1)
        change[ends[:-1] - 1] = False
        run = np.zeros(len(rows), np.int64)
        run[:-1] = np.cumsum(change[::-1])[::-1]
        # No row grows with T when every row is at most the one before it (the one a smaller T takes).
        grows = ~(rows[1:] >= rows[:-1]).all(axis=1)
        grows[ends[:-1] - 1] = False
        bad = np.cumsum(np.concatenate([[0], grows]))
        start = 0
        for m, cyc, end in zip(todo, cycs, ends):
            prep[(id(m), lower)] = (cyc[::-1], rows[start:end], run[start:end] - run[end - 1],
                                    bool(bad[end - 1] == bad[start]), m)  # (m: keeps id(m) unique while cached)
            start = end
    got = [prep[(id(m), lower)] for m in uniq]
    mono = all(g[3] for g in got)
    if not uniq:
        pref = np.zeros((n + 1, nt, R), dtype=dt)
        return pref, ts, budget, mono
    # All distinct menus at once: for every (menu, candidate), how many rows meet T. The
    # candidates ascend (the first feasible T is the first index), so the first candidate each
    # row meets, counted per menu and summed along the candidates, is that count: one search of
    # the rows (~1,000) instead of one per (menu, candidate).
    lens = np.array([len(g[0]) for g in got], np.int64)
    first = np.searchsorted(ts, np.concatenate([g[0] for g in got]), side="left")
    first += np.repeat(np.arange(len(got), dtype=np.int64) * (nt + 1), lens)
    cnt = np.cumsum(np.bincount(first, minlength=len(got) * (nt + 1)).reshape(len(got), nt + 1), axis=1)[:, :nt]
    # the row each candidate takes (index into the menu's rows; len: the cap, no row meets T), as
    # an index into every menu's rows stacked
    rbase = np.concatenate([[0], np.cumsum(lens + 1)[:-1]])
    g_idx = np.where(cnt == 0, lens[:, None], lens[:, None] - cnt) + rbase[:, None]
    # A candidate whose capped rows equal the previous one's for every layer reaches exactly as
    # far, so it is never the *first* feasible T of a segment: drop it (the relaxation's rows,
    # capped at the budget, repeat for about two thirds of ResNet-152's candidates).
    if nt > 1:
        ids = np.concatenate([g[2] for g in got])[g_idx]
        new = np.ones(nt, bool)
        new[1:] = (ids[:, 1:] != ids[:, :-1]).any(axis=0)
        if not new.all():
            ts = ts[new]
            g_idx = g_idx[:, new]
            nt = len(ts)
    rows = np.concatenate([g[1] for g in got])  # every distinct menu's capped rows, stacked
    shifts = _packing(budget) if pack and not mono else None
    if shifts is not None:
        packed = np.zeros(len(rows), np.uint64)
        for r, sh in enumerate(shifts):
            packed |= rows[:, r].astype(np.uint64) << np.uint64(sh)  # (each capped value fits its field)
        words = packed[g_idx]  # [distinct menus, nt]
        pref = np.empty((n + 2, nt), np.uint64)
        pref[0] = 0
        _prefix_rows(words, layer_col, pref)  # (sums wrap modulo 2**64: see _packing)
        pref[n + 1] = pref[n] + _pack(budget + 1, shifts)  # the sentinel: over every budget
        return pref, ts, budget, mono
    comp = rows[g_idx]  # [distinct menus, nt, R]
    pref = np.empty((n + 1, nt, R), dtype=dt)
    pref[0] = 0
    _prefix_rows(comp, layer_col, pref)
    return pref, ts, budget, mono


def _prefix_rows(rows: np.ndarray, layer_col: list[int], pref: np.ndarray) -> None:
    """pref[i + 1] = pref[i] + rows[layer_col[i]] for each layer i (pref[0] set by the caller;
    whole numbers, so the same sums in C, _fast.c, as in numpy)."""
    if (_fast is not None and rows.dtype == pref.dtype and rows.dtype.kind in "iu"
            and rows.dtype.itemsize in (4, 8) and pref.flags.c_contiguous):
        rows = np.ascontiguousarray(rows)  # (the packed words come column-major from their gather)
        _fast.prefix_rows(rows, np.asarray(layer_col, np.int64), pref, rows.dtype.itemsize,
                          max(1, int(np.prod(rows.shape[1:]))))
        return
    for i, c in enumerate(layer_col):
        np.add(pref[i], rows[c], out=pref[i + 1])


@functools.lru_cache(maxsize=8)
def _triu(n1: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.triu_indices(n1, k=1)`` (read-only; the tables ask for the same n1 dozens of times)."""
    J, K = np.triu_indices(n1, k=1)
    J.flags.writeable = K.flags.writeable = False
    return J, K


def _to_cycles(first: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """Candidate indices (len(ts): none) -> cycles (-1: none), upper triangle only."""
    n1 = len(first)
    J, K = _triu(n1)
    idx = first[J, K]
    nt = len(ts)
    out = np.full((n1, n1), -1, dtype=np.int64)
    if nt:
        out[J, K] = np.where(idx < nt, ts[np.minimum(idx, nt - 1)], -1)
    return out


def _first_of_reach(reach: np.ndarray, n: int) -> np.ndarray:
    """[n+1, n+1]: the first candidate index at which ``reach`` [nt, n+1] (layers fitting from
    each start) gets to k from j, nt if never."""
    nt = len(reach)
    first = np.full((n + 1, n + 1), nt, np.int64)
    if nt == 0:
        return first
    # Achievable rows need not get cheaper in every resource as T grows, but a choice meeting T
    # meets every larger T: the running maximum is the true reach and it is monotone in t, so the
    # first feasible t of segment j..k-1 is the number of t with reach < k (one offset searchsorted).
    reach = np.maximum.accumulate(reach, axis=0)
    J, K = _triu(n + 1)
    col = reach.T + np.arange(n + 1, dtype=np.int64)[:, None] * (n + 2)
    first[J, K] = np.searchsorted(col.ravel(), K + J * (n + 2), side="left") - J * nt
    return first


def _first_of_reach_by_start(reach: np.ndarray) -> np.ndarray:
    """``_first_of_reach`` of ``reach`` laid out by start layer, [n+1, nt] (``_reach_packed``'s
    layout: no transposed copies)."""
    n1, nt = reach.shape
    first = np.full((n1, n1), nt, np.int64)
    if nt == 0:
        return first
    col = np.maximum.accumulate(reach, axis=1)  # (a new array: the offsets go in place)
    col += np.arange(n1, dtype=np.int64)[:, None] * (n1 + 1)
    J, K = _triu(n1)
    first[J, K] = np.searchsorted(col.ravel(), K + J * (n1 + 1), side="left") - J * nt
    return first


def _first_monotone(pref: np.ndarray, budget: np.ndarray, slrs: int, split: bool = False) -> np.ndarray:
    """``_first_of_reach`` of the composed reach when no per-layer row grows with T (so every
    segment's sums only shrink and feasibility is monotone in T): a binary search over the
    candidates per segment for one SLR, then per extra SLR ``_compose``. The same answer as the
    two-pointer sweep without visiting every (T, start). ``split``: the next SLR starts one
    layer after the first SLRs' end (``min_feasible_Ts``)."""
    n1, nt, R = pref.shape
    J, K = _triu(n1)
    first = np.zeros((n1, n1), np.int64)  # the empty segment (diagonal) fits at every T
    if nt == 0:
        first[J, K] = 0
        return first
    bud = np.asarray(budget).astype(pref.dtype)
    flat = pref.reshape(n1 * nt, R)
    lo = np.zeros(len(J), np.int64)
    hi = np.full(len(J), nt, np.int64)  # the answer lies in [lo, hi]; nt: never fits
    Kn, Jn = K * nt, J * nt
    if _fast is not None and flat.dtype in (np.int32, np.int64):  # (the same searches in C: _fast.c)
        _fast.first_fit(np.ascontiguousarray(flat), bud.astype(np.int64), nt, R, J.astype(np.int64),
                        K.astype(np.int64), int(nt - 1).bit_length(), lo, flat.dtype.itemsize)
        act = np.zeros(0, np.int64)
    else:
        # Most long segments never fit: settle them with one check at the last candidate.
        fits_last = _rows_within(flat[Kn + nt - 1] - flat[Jn + nt - 1], bud)
        lo[~fits_last] = nt
        act = np.nonzero(fits_last)[0]
    # The rest: the same number of halvings for all (once lo == hi, mid == lo fits and stays).
    ka, ja = Kn[act], Jn[act]
    lo_a, hi_a = lo[act], np.full(len(act), nt - 1, np.int64)
    for _ in range(int(nt - 1).bit_length()):
        mid = (lo_a + hi_a) >> 1
        ok = _rows_within(np.take(flat, ka + mid, axis=0) - np.take(flat, ja + mid, axis=0), bud)
        hi_a = np.where(ok, mid, hi_a)
        lo_a = np.where(ok, lo_a, mid + 1)
    lo[act] = lo_a
    first[J, K] = lo
    one, out = first, first
    if split:  # one[m, k] = first[m + 1, k]: layer m (the split one) left out; 0 for m >= k
        one = np.zeros_like(first)
        one[:-1] = first[1:]
        one[np.tril_indices(n1)] = 0
    for s in range(2, max(1, slrs) + 1):
        out = _compose(out, one, J, K)
        if split:
            # And the DSPs of the layers of the first s SLRs pooled: a split engine's halves use
            # at least the whole engine's DSPs (requantization per lane, multipliers per lane or
            # lane pair), so this holds whichever layers split (within those SLRs or not).
            out = np.maximum(out, _first_monotone(pref[:, :, :1], bud[:1] * s, 1))
    return out


def _compose(fs: np.ndarray, f1: np.ndarray, J: np.ndarray, K: np.ndarray) -> np.ndarray:
    """First candidate at which j..k-1 fits one more SLR: min over m in [j, k] of
    max(fs[j, m], f1[m, k]) (the first SLRs reach m, the next one m..k; feasibility is monotone
    in T, and a later start never reaches less). fs[j, m] never falls as m grows and f1[m, k]
    never rises, so the minimum sits where they cross: a binary search per segment."""
    n1 = len(fs)
    iters = int((K - J).max(initial=0)).bit_length()
    if _fast is not None and fs.dtype == f1.dtype == np.int64:  # (the same searches in C: _fast.c)
        got = np.empty(len(J), np.int64)
        _fast.compose(np.ascontiguousarray(fs), np.ascontiguousarray(f1), n1, J.astype(np.int64),
                      K.astype(np.int64), iters, got)
        out = np.zeros_like(fs)
        out[J, K] = got
        return out
    fs_, f1_ = fs.ravel(), f1.ravel()
    jr = J * n1
    lo, hi = J.copy(), K.copy()  # the smallest m with fs[j, m] >= f1[m, k] lies in [lo, hi]
    for _ in range(iters):  # (m = k always qualifies)
        mid = (lo + hi) >> 1
        ok = fs_[jr + mid] >= f1_[mid * n1 + K]
        hi = np.where(ok, mid, hi)
        lo = np.where(ok, lo, mid + 1)
    prev = np.where(lo > J, f1_[np.maximum(lo - 1, 0) * n1 + K], np.iinfo(np.int64).max)
    out = np.zeros_like(fs)
    out[J, K] = np.minimum(fs_[jr + lo], prev)
    return out


def _reach_one_slr(pref: np.ndarray, budget: np.ndarray) -> np.ndarray:
    """reach[t, j]: the largest k >= j with ``pref[t, k] - pref[t, j] <= budget`` in every column
    (layers j..k-1 within one SLR's budget at candidate T number t); ``pref`` [nt, n+1, R] is
    non-decreasing along its second axis. (``_reach_by_layer`` on the layer-major layout.)"""
    return _reach_by_layer(np.ascontiguousarray(np.swapaxes(pref, 0, 1)), budget)


def _reach_by_layer(pref: np.ndarray, budget: np.ndarray) -> np.ndarray:
    """``_reach_one_slr`` of a layer-major ``pref`` [n+1, nt, R]; reach[t, j].

    Two pointers, vectorized over t: the reach never moves back as j grows (a later start needs no
    more), so each row's pointer only advances, one layer at a time, while the next layer fits;
    about 2n + 1 row checks per t in all, instead of a binary search per (t, j)."""
    n1, nt, R = pref.shape
    n = n1 - 1
    flat = pref.reshape(n1 * nt, R)
    budget = np.asarray(budget).astype(pref.dtype)  # the capped sums fit pref's type (min_feasible_T)
    ptr = np.zeros(nt, np.int64)
    reach = np.empty((n1, nt), np.int64)
    every = np.arange(nt, dtype=np.int64)
    for j in range(n1):
        np.maximum(ptr, j, out=ptr)
        lim = pref[j] + budget
        act = every[ptr < n]
        pos = ptr[act] * nt + act  # flat index of each active pointer's row
        while len(act):
            pos += nt  # the next layer's row
            ok = _rows_within(np.take(flat, pos, axis=0), np.take(lim, act, axis=0))
            act, pos = act[ok], pos[ok]
            ptr[act] += 1
            more = pos < n * nt
            act, pos = act[more], pos[more]
        reach[j] = ptr
    return np.ascontiguousarray(reach.T)


def _packing(budget: np.ndarray) -> list[int] | None:
    """Bit offsets that pack one row of the R budget columns into one 64-bit word (None: they do
    not fit). Field r has room for 2 * (budget[r] + 1) - 1 plus nothing more: its top bit, the
    guard, is 2**(w - 1) > budget[r] + 1.

    Why it is exact in the two-pointer sweep (``_reach_packed``): per-layer amounts are capped at
    budget + 1, and every sum the sweep checks is a segment that fits (each column <= budget)
    plus one layer (<= budget + 1), so each column's sum is < 2**w: packed prefix sums, wrapping
    modulo 2**64, subtract to the packed sums field by field, and ``(packed(budget + guard) -
    sum) & guards == guards`` says every column is within its budget (a field over budget loses
    its guard bit and borrows nothing from the next field)."""
    shifts, off = [], 0
    for b in np.asarray(budget, np.int64):
        shifts.append(off)
        off += int(b + 1).bit_length() + 1
    return shifts if off <= 64 else None


def _pack(values, shifts: list[int]) -> np.uint64:
    out = 0
    for v, sh in zip(values, shifts):
        out |= int(v) << sh
    return np.uint64(out)


def _reach_packed(pref: np.ndarray, budget: np.ndarray) -> np.ndarray:
    """``_reach_by_layer`` of a packed prefix (``_prefix(pack=True)``: [n+2, nt] uint64, the last
    row a sentinel), the same two pointers with one word compared per row; laid out by start
    layer: reach[j, t] (the transpose of ``_reach_by_layer``'s)."""
    n2, nt = pref.shape
    n1 = n2 - 1
    shifts = _packing(budget)
    guard = _pack([1 << (int(b + 1).bit_length()) for b in np.asarray(budget, np.int64)], shifts)
    top = _pack(np.asarray(budget, np.int64), shifts) + guard  # packed budget + guard per field
    if _fast is not None and nt:  # (the same sweep in C: _fast.c)
        reach = np.empty((n1, nt), np.int64)
        _fast.reach_packed(np.ascontiguousarray(pref, np.uint64), nt, int(top), int(guard), reach)
        return reach
    flat = pref.ravel()
    ptr = np.zeros(nt, np.int64)
    reach = np.empty((n1, nt), np.int64)
    every = np.arange(nt, dtype=np.int64)
    for j in range(n1):
        np.maximum(ptr, j, out=ptr)
        lim = pref[j] + top  # (wraps modulo 2**64, as the sums do)
        act = every[ptr < n1 - 1]  # (a pointer that gets to n stops at the sentinel row)
        pos = ptr[act] * nt + act
        while len(act):
            pos += nt  # the next layer's row
            ok = ((np.take(lim, act) - np.take(flat, pos)) & guard) == guard
            act, pos = act[ok], pos[ok]
            ptr[act] += 1
        reach[j] = ptr
    return reach


def segment_table(
    menus_on: list[Menu], menus_off: list[Menu], budget: np.ndarray, clock_hz: float,
    weight_bytes: np.ndarray, mem_bytes_per_s: float, ts: np.ndarray | None = None, slrs: int = 1,
    split: bool = False,
) -> SegmentTable:
    """``ts``: candidate cycle counts, ascending; None: each table's own (its menus' cycle counts, where its
    feasibility can change: the same answer with fewer candidates)."""
    return segment_tables([(menus_on, menus_off)], budget, clock_hz, weight_bytes, mem_bytes_per_s, ts, slrs,
                          split)[0]


def segment_tables(
    menu_pairs: list[tuple[list[Menu], list[Menu]]], budget: np.ndarray, clock_hz: float,
    weight_bytes: np.ndarray, mem_bytes_per_s: float, ts: np.ndarray | None = None, slrs: int = 1,
    split: bool = False,
) -> list[SegmentTable]:
    """``segment_table`` of several (onchip, offchip) menu pairs of one board (e.g. its port
    widths), each the same as alone; their searches share one sweep (``min_feasible_Ts``).
    ``split`` (on a multi-SLR board): also ``lower_split``, the relaxation with lane-split
    engines (``min_feasible_Ts``); the achievable table stays the plans without splits (real)."""
    split = split and slrs > 1
    n = len(menu_pairs[0][0]) if menu_pairs else 0

    def cands(menus, lower):
        if ts is not None:
            return ts
        return sorted_unique(np.concatenate([m.lo_cycles if lower else m.cycles for m in {id(m): m for m in menus}.values()]))

    wpref = np.concatenate([[0], np.cumsum(weight_bytes)]).astype(np.float64)
    stream = (wpref[None, :] - wpref[:, None]) / mem_bytes_per_s
    tri = np.triu(np.ones((n + 1, n + 1), bool), k=1)
    calls, where = [], []
    for pi, (menus_on, menus_off) in enumerate(menu_pairs):
        # Where every layer's achievable row is its ideal point the relaxation is the same table.
        tight = all(m.tight for m in menus_on) and all(m.tight for m in menus_off)
        for lower in ((False,) if tight else (False, True)) + (("split",) if split else ()):
            for menus in (menus_on, menus_off):
                calls.append((menus, cands(menus, bool(lower)), bool(lower), lower == "split"))
                where.append((pi, lower))
    got = min_feasible_Ts(calls, budget, slrs)
    firsts: dict = {}
    for (pi, lower), t in zip(where, got):
        firsts.setdefault((pi, lower), []).append(t)
    tables = []
    for pi in range(len(menu_pairs)):
        out = {}
        for lower in (False, True, "split"):
            if (pi, lower) not in firsts:
                continue
            t_on, t_off = firsts[(pi, lower)]
            on = np.where(t_on > 0, t_on / clock_hz, np.inf)
            off = np.where(t_off > 0, np.maximum(t_off / clock_hz, stream), np.inf)
            interval = np.minimum(on, off)
            interval[~tri] = np.inf
            on[~tri] = np.inf
            out[lower] = (interval, (off < on).astype(np.int8), on, (t_on, t_off))
        interval, mode, on, tc = out[False]
        lower = interval.copy() if True not in out else np.minimum(out[True][0], interval)
        low_split = None if "split" not in out else np.minimum(out["split"][0], interval)
        tables.append(SegmentTable(interval=interval, mode=mode, onchip=on, lower=lower, t_cycles=tc,
                                   lower_split=low_split))
    return tables


def choose(menus: list[Menu], first: int, last: int, t_cycles: float) -> list[int]:
    """Menu rows of layers first..last at interval ``t_cycles``: the slowest entry meeting it."""
    rows = []
    for m in menus[first : last + 1]:
        ok = np.nonzero(m.cycles <= t_cycles * (1 + 1e-12))[0]
        rows.append(int(ok[0]) if len(ok) else len(m.cycles) - 1)
    return rows


def _le_all(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """[len(a), len(b)]: row a[i] <= row b[j] in every column. The columns are ANDed one at a
    time: numpy reduces a short last axis (``np.all(..., axis=2)``) several times slower."""
    out = a[:, None, 0] <= b[None, :, 0]
    for d in range(1, a.shape[1]):
        out &= a[:, None, d] <= b[None, :, d]
    return out


def _rows_within(x: np.ndarray, lim: np.ndarray) -> np.ndarray:
    """[len(x)]: row x[i] <= lim (or lim[i]) in every column (as ``_le_all``, column by column)."""
    lim = np.asarray(lim)
    ok = x[:, 0] <= lim[..., 0]
    for d in range(1, x.shape[1]):
        ok &= x[:, d] <= lim[..., d]
    return ok


def _pareto(points: np.ndarray, block: int = 256) -> np.ndarray:
    """Indices of the rows of ``points`` not dominated (<= everywhere) by another kept row; of
    equal rows one is kept. Rows are visited by ascending sum (a row can only be dominated by one
    with a smaller or equal sum), in blocks checked against the rows kept so far."""
    n = len(points)
    if n <= 1:
        return np.arange(n)
    order = np.lexsort((*points.T[::-1], points.sum(axis=1)))
    if _fast is not None and points.dtype == np.int64 and points.ndim == 2 and points.shape[1]:
        keep = np.zeros(n, np.uint8)  # (the same scan in C: _fast.c)
        _fast.pareto(np.ascontiguousarray(points), order, keep, points.shape[1])
        return np.flatnonzero(keep)
    kept = np.empty((0, points.shape[1]), points.dtype)
    out = []
    for s0 in range(0, n, block):
        idx = order[s0 : s0 + block]
        blk = points[idx]
        ok = ~np.any(_le_all(kept, blk), axis=0) if len(kept) else np.ones(len(idx), bool)
        # inside the block: an earlier row (smaller sum, or equal and lexicographically first) dominates
        le = _le_all(blk, blk)
        earlier = _earlier(len(idx))  # earlier[a, b]: a before b
        ok &= ~np.any(le & earlier & ok[:, None], axis=0)
        out.extend(idx[ok].tolist())
        kept = np.vstack([kept, blk[ok]])
    return np.array(sorted(out), dtype=np.int64)


@functools.lru_cache(maxsize=None)
def _earlier(m: int) -> np.ndarray:
    """[m, m]: row a comes before row b (a < b); read-only, shared by every block of m rows."""
    out = np.triu(np.ones((m, m), bool), k=1)
    out.flags.writeable = False
    return out


def dominance_filter(cycles: np.ndarray, res: np.ndarray, budget: np.ndarray) -> np.ndarray:
    """Indices of the options worth considering: an option is dropped only if another is no slower
    and no larger in every resource kind (of equal options the first is kept), or if it alone
    exceeds one SLR's ``budget`` in some kind (no engine straddles an SLR)."""
    fits = np.nonzero(np.all(res <= budget, axis=1))[0]
    if len(fits) == 0:
        return fits
    pts = np.hstack([cycles[fits, None], res[fits]]).astype(np.int64)
    return fits[_pareto(pts)]


def _directions(budget: np.ndarray) -> np.ndarray:
    """Fixed multipliers of the pruning bound: each resource alone, the aggregated sums of the
    relaxation and the DSP/LUT exchange directions (costmodel.agg_vectors) with weights 1 / budget."""
    from asymap.partition.costmodel import AGG_LUT_RATES, agg_vectors

    w = 1.0 / np.maximum(np.asarray(budget, np.float64), 1.0)
    return np.vstack([np.eye(4), agg_vectors(w, AGG_LUT_RATES)])


def _fits(rows: list[np.ndarray], budget: np.ndarray, slrs: int) -> bool:
    """The chosen rows fit the SLRs filled in chain order (costmodel.pack_slrs, without the list)."""
    if slrs <= 1:  # one SLR: the (non-negative) rows fit iff their sum does
        return bool((np.sum(rows, axis=0) <= budget).all()) if len(rows) else True
    slr, used = 0, np.zeros(len(budget), np.int64)
    for r in rows:
        if (used + r > budget).any():
            slr, used = slr + 1, np.zeros(len(budget), np.int64)
            if slr >= slrs or (r > budget).any():
                return False
        used = used + r
    return True


def _padded(menus: list[np.ndarray]) -> np.ndarray:
    """[n, K, 4] float rows of every layer's options, shorter menus padded with inf (an option
    nothing can take: it never fits and never minimizes a weighted sum)."""
    k = max(len(m) for m in menus)
    if all(len(m) == k for m in menus):
        return np.array(menus, np.float64)
    big = np.full((len(menus), k, 4), np.inf)
    for i, m in enumerate(menus):
        big[i, : len(m)] = m
    return big


def lagrange_bound(menus: list[np.ndarray], budget: np.ndarray, slrs: int = 1,
                   iters: int = 30, find: bool = True,
                   hopeless: tuple[int, float] | None = None) -> tuple[float, np.ndarray, list[int] | None]:
    """max over multipliers p >= 0 (sum 1) of  sum_i min_o sum_r p_r r_io / B_r  - 1, approximately
    (multiplicative weights), the best multipliers as a weight vector (p / B), and, when one of
    the choices met on the way fits the SLRs, that choice (a feasibility witness).

    ``find=False``: the bound only (no choice is tried, the witness is None). ``hopeless = (m,
    v)``: stop after m steps if the best value is still below -v (far from a proof).

    B = ``budget`` x ``slrs``. Any choice within B in every kind has sum_i sum_r p_r r_io / B_r <= 1
    for every p, so a positive value proves that no choice fits (a Lagrangian relaxation of the
    knapsack: each p is a valid certificate; the search only looks for a good one). The choices
    minimizing the weighted sum are also good candidates to try. Kinds with B_r == 0 are left out
    (options using them were dropped by ``dominance_filter``)."""
    budget = np.asarray(budget, np.int64)
    total = budget.astype(np.float64) * slrs
    act = total > 0
    big = _padded(menus)
    n, k = big.shape[:2]
    scaled = big[:, :, act] / total[act]  # [n, K, R']
    r_ = int(act.sum())
    p = np.full(r_, 1.0 / max(r_, 1))
    best, best_p = -np.inf, p.copy()
    tried: set = set()
    ar = np.arange(n)
    fast = _fast is not None and n > 0 and k > 0
    if fast and (not find or slrs == 1) and big.shape[2] == 4 and hopeless is None:
        # (``hopeless`` stops the loop early: the step-by-step calls below keep that rule)
        # (the whole loop below in one call, the same doubles: _fast.c's lagrange_run)
        arg, best_p = np.empty(n, np.int64), np.empty(r_)
        v, found = _fast.lagrange_run(np.ascontiguousarray(scaled), np.ascontiguousarray(big), p, best_p, arg,
                                      np.ascontiguousarray(budget), total, np.where(total > 0, total, 1.0),
                                      n, k, r_, iters, find)
        if found:
            w = np.zeros(4)
            w[act] = p / total[act]
            return v, w, arg.tolist()
        best, iters = v, 0  # (the loop below is done)
    elif fast:  # (one step and one update per call: _fast.c, the same doubles as _lagrange_step)
        scaled = np.ascontiguousarray(scaled)
        arg, sub = np.empty(n, np.int64), np.empty(r_)
    for it in range(iters):
        if fast:
            g = _fast.lagrange_step(scaled, p, arg, sub, n, k, r_)
        else:
            g, arg, sub = _lagrange_step(scaled, p)
        if g > best:
            best, best_p = g, p.copy()
        if best > 1e-9 or hopeless is not None and it + 1 == hopeless[0] and best < -hopeless[1]:
            break
        key = arg.tobytes()
        if find and key not in tried:
            tried.add(key)
            if slrs <= 1:  # the sum of the chosen rows (exact: whole numbers far below 2**53)
                fit = bool((big[ar, arg].sum(axis=0) <= budget).all())
            else:
                fit = _fits([menus[i][int(arg[i])] for i in range(n)], budget, slrs)
            got = [int(a) for a in arg] if fit else None
            if got is None and slrs == 1 and len(tried) <= 3:
                got = _repair(big, arg, total)
            if got is not None:
                w = np.zeros(4)
                w[act] = p / total[act]
                return g, w, got
        if fast:  # (in place: p's earlier values were copied where they are kept)
            _fast.lagrange_update(p, sub, r_, it)
        else:
            p = _lagrange_update(p, sub, it)
    w = np.zeros(4)
    w[act] = best_p / total[act]
    if find and slrs == 1 and best <= 1e-9:
        fin = np.isfinite(big).all(axis=2)
        got = _repair(big, np.argmin(np.where(fin, np.where(fin[:, :, None], big, 0.0) @ w, np.inf), axis=1), total)
        if got is not None:
            return best, w, got
    return best, w, None


def _lagrange_step(scaled: np.ndarray, p: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """One multiplier step of ``lagrange_bound``: (g, each layer's option minimizing the weighted
    sum, a subgradient). Every sum is added left to right (the kinds, then the layers:
    np.cumsum), each product and sum rounded on its own, as _fast.lagrange_step does: the same
    doubles with or without the compiled module. (Not ``scaled @ p``: a BLAS product may add in
    another order or fuse, and differently per CPU.)"""
    n = scaled.shape[0]
    val = scaled[:, :, 0] * p[0] if len(p) else np.zeros(scaled.shape[:2])
    for r in range(1, len(p)):
        val += scaled[:, :, r] * p[r]
    arg = np.argmin(val, axis=1)
    ar = np.arange(n)
    g = float(np.cumsum(val[ar, arg])[-1]) - 1.0
    return g, arg, np.cumsum(scaled[ar, arg], axis=0)[-1] - 1.0


def _lagrange_update(p: np.ndarray, sub: np.ndarray, it: int) -> np.ndarray:
    """``lagrange_bound``'s multiplicative-weights update after step ``it``: the C library's exp
    (math.exp, as _fast.lagrange_update), the sum left to right."""
    x = np.minimum(np.maximum(sub, -4.0), 4.0) * (0.8 / math.sqrt(it + 1))
    p = p * np.array([math.exp(v) for v in x.tolist()])
    return p / np.cumsum(p)[-1] if len(p) else p


# The longer multiplier search (``dual_search``): its steps, and the fewest layers a knapsack
# question needs to get it. Short questions' dynamic programs are cheaper than 400 steps
# (ResNet-152 on example16: 101 questions reach the dynamic program, all under 16 layers, 0.02 s
# of it in all, where the longer search took 0.4 s); long ones' are not (pair2's U250: one "no"
# of 47 layers took 1.8 million states).
DUAL_ITERS = 400
DUAL_LAYERS = 16
# ... and where it gives up on a proof: still 1 % short after 100 steps (an LP feasible or
# nearly so; the last steps gain ~0.1 %: pair2's "no" answers closed from -0.1 % at 100 steps).
DUAL_HOPELESS = (100, 0.01)


def dual_search(rows: list[np.ndarray], budget: np.ndarray, iters: int = DUAL_ITERS):
    """A longer Lagrangian multiplier search for one SLR (``lagrange_bound``, ``iters`` steps, no
    witness tried on the way), then a repair (``_repair``) from the choice its best multipliers
    make: (bound, multipliers as a weight vector, a choice that fits or None). A positive bound
    proves that nothing fits, whatever the step count; a choice returned is a real witness.

    The knapsack's first bound stops after 30 steps. Near the boundary of a long segment
    (ResNet-152's ~47 layers per U250 SLR) the LP relaxation is infeasible, or feasible, by a hair
    (0.1 %): only a few hundred steps find multipliers that show a "no", and the cheapest choice
    by multipliers that close is usually one local repair away from a "yes". The dynamic program
    needed ~1.8 million states for the same "no" and ~20,000 for the "yes"."""
    g, w, _ = lagrange_bound(rows, budget, 1, iters=iters, find=False, hopeless=DUAL_HOPELESS)
    if g > 1e-9:
        return g, w, None
    big = _padded(rows)
    arg = np.array([int(np.argmin(r @ w)) for r in rows])
    return g, w, _repair(big, arg, np.asarray(budget, np.float64))


def _fix_options(menus: list, rows: list, dirs: np.ndarray, mins: np.ndarray, room: np.ndarray):
    """Drop the options no choice that fits can use (reduced-cost fixing): along each direction
    d (weights >= 0, so every choice that fits has sum_i d.r_i <= d.budget, ``room``), an option
    whose d.r exceeds its layer's least (``mins``) by more than the room the other layers' least
    leave cannot be part of one. (menus, rows) without them, or None when a layer keeps none.

    ``_dp`` drops every state such an option makes at once (its ``need`` test is the same sum with
    the earlier layers' actual rows, which are no smaller), so the states kept, the choice found
    and whether states were cut are unchanged; only the states it would build and drop are not
    built (the work spent is smaller). The slack is widened by a rounding margin so that no
    option ``_dp`` would keep is dropped."""
    slack = room - mins.sum(axis=0)
    slack = slack + 1e-9 * np.maximum(np.abs(room), 1.0)
    if (slack < 0).any():
        return None
    out_m, out_r = [], []
    for ok, r, m in zip(menus, rows, mins):
        keep = ((r @ dirs.T - m) <= slack).all(axis=1)
        if not keep.any():
            return None
        if keep.all():
            out_m.append(ok)
            out_r.append(r)
        else:
            out_m.append(np.asarray(ok)[keep])
            out_r.append(r[keep])
    return out_m, out_r


def _repair(big: np.ndarray, arg: np.ndarray, total: np.ndarray, steps: int = 64) -> list[int] | None:
    """Local search from a Lagrangian choice towards one within ``total``: switch the one layer's
    option that most reduces the summed relative excess, while it does. A witness or None (no
    proof of anything).

    Resources are whole numbers (or inf for padding), so the sums and differences below are exact
    in any order; only the divisions by ``total`` round, and the excesses are added in one fixed
    order (kind 0 to 3), so the switch chosen does not depend on how the sums are arranged."""
    n = big.shape[0]
    safe = np.where(total > 0, total, 1.0)
    arg = arg.copy()
    if (_fast is not None and big.dtype == np.float64 and big.ndim == 3 and big.shape[2] == 4
            and n > 0 and big.shape[1] > 0):  # (every step below in one call: _fast.c)
        arg = np.ascontiguousarray(arg, np.int64)
        ok = _fast.repair(np.ascontiguousarray(big), arg, np.ascontiguousarray(total, np.float64),
                          np.ascontiguousarray(safe, np.float64), n, big.shape[1], steps)
        return [int(a) for a in arg] if ok else None
    sel = big[np.arange(n), arg]  # the chosen rows
    cur = sel.sum(axis=0)
    # A switch's new total minus the budget is (cur - sel[i]) + over[i, o]; kept kind-major
    # ([4, n, K]) so that each kind's slice is contiguous (the same numbers, added in the same
    # order, as summing a [n, K, 4] array's last axis kind by kind).
    over = np.ascontiguousarray((big - total).transpose(2, 0, 1))
    div = safe[:, None, None]
    tl, sl = total.tolist(), safe.tolist()
    for _ in range(steps):
        excess = [max(c - t, 0.0) / s for c, t, s in zip(cur.tolist(), tl, sl)]
        if not any(e > 0 for e in excess):
            return [int(a) for a in arg]
        ex = (cur - sel).T[:, :, None] + over
        np.maximum(ex, 0.0, out=ex)
        ex /= div
        viol = ex[0] + ex[1]
        viol += ex[2]
        viol += ex[3]
        i, o = divmod(int(np.argmin(viol)), viol.shape[1])
        least = viol[i, o]
        total_excess = 0.0  # (kind 0 to 3, left to right, as _fast.repair: not sum(), compensated on Python >= 3.12)
        for e in excess:
            total_excess += e
        if not least < total_excess - 1e-12:
            return None
        cur = cur - sel[i] + big[i, o]
        sel[i] = big[i, o]
        arg[i] = o
    return None


def exact_segment(options: list[tuple[np.ndarray, np.ndarray]], budget: np.ndarray, slrs: int = 1,
                  limit: int = 1500, t_lo: int = 0, t_hi: int | None = None,
                  work: "Work | None" = None) -> tuple[int, list[int]] | None:
    """The exact best cycles of one segment over the raw options of its layers, and the option
    chosen for each layer; None if nothing fits or the search gave up (a Pareto set outgrew
    ``limit`` or the ``work`` budget ran out; the caller then keeps its bounds).

    ``options[i] = (cycles[K], res[K, 4])`` of layer i; ``budget`` is per SLR; ``t_lo``/``t_hi``:
    known bounds of the answer (``t_hi`` feasible); ``work``: a shared budget of search states.
    Options dominated in (cycles, every resource) are dropped first (``dominance_filter``). The
    optimum is one of the option cycle counts and feasibility is monotone in T: a binary search.
    At a candidate T the SLRs are filled in chain order, each as far as it goes (optimal: a later
    start never needs more), so feasibility is a few single-SLR questions "do layers p..q-1 fit
    one SLR at T", themselves monotone in q (``_Knapsack``). Exact over every combination of
    options and every resource kind; the tests compare it with brute force."""
    budget = np.asarray(budget, np.int64)
    kept = [dominance_filter(np.asarray(c), np.asarray(r), budget) for c, r in options]
    if any(len(k_) == 0 for k_ in kept):
        return None
    opts = [(np.asarray(c)[k_], np.asarray(r, np.int64)[k_], k_) for (c, r), k_ in zip(options, kept)]
    ts = np.unique(np.concatenate([c for c, _, _ in opts]))
    ts = ts[ts >= max(int(c.min()) for c, _, _ in opts)]  # the slowest layer's fastest option is a floor
    ts = ts[(ts >= t_lo) & (ts <= (ts[-1] if t_hi is None else t_hi))]
    ks = _Knapsack(opts, budget, limit, work)
    n = len(opts)

    def feasible(t):
        pos, choice = 0, []
        for _ in range(max(1, slrs)):
            q, got = ks.reach(pos, n, t)
            choice += got
            pos = q
            if pos >= n:
                return [int(opts[i][2][o]) for i, o in enumerate(choice)]
        return None

    known: dict[int, list[int] | None] = {}

    def at(i: int):
        if i not in known:
            known[i] = feasible(ts[i])
        return known[i]

    # First feasible candidate. Probe first where the answer usually is: just below the
    # achievable T (infeasible there proves it), then the relaxation's.
    n_ = len(ts)
    lo, hi = 0, n_ - 1
    try:
        for pi in ([n_ - 2] if t_hi is not None and n_ >= 2 else []) + [0]:
            if lo <= pi <= hi:
                if at(pi) is not None:
                    hi = pi
                else:
                    lo = pi + 1
        while lo < hi:
            mid = (lo + hi) // 2
            if at(mid) is not None:
                hi = mid
            else:
                lo = mid + 1
        got = at(lo) if lo < n_ else None
    except _GiveUp:
        return None
    return None if got is None else (int(ts[lo]), got)


class _GiveUp(Exception):
    """exact_segment ran out of states or of its work budget."""


@dataclass
class Work:
    """A budget of search states shared by the exact solves of one plan: a bound on their time
    that, unlike a clock, gives the same answer on a loaded machine (plans are deterministic)."""

    left: int
    # States spent beyond ``left`` by design (planner._reach_below's further knapsacks after one
    # gave up), for the caller to count against its own budget.
    extra: int = 0

    def spend(self, n: int) -> None:
        self.left -= int(n)
        if self.left < 0:
            raise _GiveUp


GiveUp = _GiveUp
GIVE_UP = "gave up"  # _Knapsack.shared: the question gave up (on its state limit); a str: it pickles


class LazyOptions:
    """``opts[i]`` = (cycles, res, original option indices) of layer i, built by ``make(i)`` on
    first use (a planner asks about a few layers of a long chain). ``key(i)``: a hashable that two
    layers share only if their options are the same (``make`` returns one object for both; by
    default every layer is its own), known without building them (``_Knapsack``'s shared memo)."""

    def __init__(self, make, key=None):
        self.make = make
        self.key = key or (lambda i: i)
        self.cache: dict = {}

    def __getitem__(self, i: int):
        if i not in self.cache:
            self.cache[i] = self.make(i)
        return self.cache[i]


def reach_slrs(ks: "Knapsack", j: int, end: int, t: int, slrs: int,
               halves=None) -> tuple[int, list[int], dict]:
    """The largest k <= end with layers j..k-1 fitting ``slrs`` SLRs at T cycles (each SLR filled
    in chain order as far as it goes: optimal, a later start never needs more), a choice (indices
    into ``ks.opts[i][0]``) and the lane splits {layer: lanes in its first SLR}. Raises GiveUp
    when the knapsack gives up.

    ``halves(i, t)``: the lane splits layer i may take at T, as (option index [M] into
    ``ks.opts[i][0]``, lanes k [M], half A rows [M, 4], half B rows [M, 4]); None: no splits.
    With them, the layer at which an SLR stops may split over that boundary (one per boundary,
    docs/cost-model.md "Lane-split engines"). Exact, by the dominance that makes the greedy fill
    optimal: a state still in SLR s beats every state in SLR s + 1, so SLR s takes whole layers
    as far as they go; of the layer that does not fit whole, every split whose half A fits after
    *some* choice of SLR s is found (``Knapsack.tails``, over the whole Pareto front of SLR s), and
    SLR s + 1 starts with that layer's whole options or any of those halves B
    (``Knapsack.reach_head``), each remembering the choice of SLR s that made room for it."""
    start, head = j, None  # head: (rows [H, 4], [(option, lanes or 0, choice before, splits)])
    base: tuple[list[int], dict] = ([], {})  # the choice of j..start-1 when head is None
    for s in range(max(1, slrs)):
        if start >= end:
            break
        prev = base
        if head is None:
            q, got = ks.reach(start, end, t)
            if q == start:
                break
            choice, spl = prev[0] + list(got), prev[1]
        else:
            q, got, h = ks.reach_head(head[0], start, end, t)
            o, k, before, spl0 = head[1][h]
            choice, spl = before + [o] + list(got), ({**spl0, start: k} if k else spl0)
        base = (choice, spl)
        if halves is None or q >= end or s + 1 >= max(1, slrs):
            head = None
            start = q
            continue
        head = _split_heads(ks, halves(q, t), head, start, q, t, prev, base)
        start = q
    return start, base[0], base[1]


def relaxed_reach(ks: "Knapsack", j: int, end: int, t: int, slrs: int) -> int:
    """An upper bound of ``reach_slrs``' reach (without lane splits): each SLR, filled in chain
    order, reaches at most the largest q whose layers the Lagrangian bound (``lagrange_bound``
    with ``dual_search``'s steps, or a known "no" of the knapsack) does not prove too large for one SLR, and the
    next SLR starts there (a later start never reaches less). Valid whatever the multiplier
    search finds: only a proven "no" moves the bound down, and what does not fit at q does not
    fit at q + 1. Spends one unit per option row looked at (``ks.work``), like the questions."""
    t = int(t)
    pos = j
    for _ in range(max(1, slrs)):
        if pos >= end:
            break
        lo, hi = pos, end
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if _proven_no(ks, pos, mid, t):
                hi = mid - 1
            else:
                lo = mid
        if lo == pos:
            break
        pos = lo
    return pos


def _proven_no(ks: "Knapsack", p: int, q: int, t: int) -> bool:
    """Layers p..q-1 provably do not fit one SLR at T (a known "no", a layer with no option, a
    kind whose least use exceeds the budget, or a positive Lagrangian bound)."""
    for q2, t2 in ks.no.get(p, ()):
        if q2 <= q and t2 >= t:
            return True
    for q2, t2, _ in ks.yes.get(p, ()):
        if q2 >= q and t2 <= t:
            return False
    got = ks._gather(p, q, t)
    if got is None:
        return True
    _, rows, least = got
    if ks.work is not None:
        ks.work.spend(sum(len(r) for r in rows))
    if (least > ks.budget).any():
        return True
    return lagrange_bound(rows, ks.budget, 1, iters=DUAL_ITERS, find=False, hopeless=DUAL_HOPELESS)[0] > 1e-9


def _split_heads(ks: "Knapsack", split, head, start: int, q: int, t: int, prev, base):
    """How the SLR after the one holding ``start``..q-1 (``head``: how layer ``start`` began it;
    ``prev``: the choice and splits before ``start``) may begin with layer q: its whole options
    (after ``base``, the reach's choice up to q - 1) and the halves
    B of every split whose half A fits after some choice of that SLR; None when no split fits
    (the next SLR starts with layer q whole, exactly as without splits)."""
    so, sk, sa, sb = split
    if len(so) == 0:
        return None
    wit = ks.tails(None if head is None else head[0], start, q, t, sa)
    ok = [m for m in range(len(so)) if wit[m] is not None]
    if not ok:
        return None
    wopts, wrows, _ = ks._at(q, t)
    allrows = np.vstack([wrows, sb[ok]])
    keep = _pareto(allrows)

    def label(i: int) -> tuple:  # (only the kept rows' labels are built: a choice is a long list)
        if i < len(wopts):
            return int(wopts[i]), 0, base[0], base[1]
        m = ok[i - len(wopts)]
        h, got = wit[m]
        if head is None:
            before, spl = prev[0] + list(got), prev[1]
        else:
            o, k, pc, ps = head[1][h]
            before, spl = pc + [o] + list(got), ({**ps, start: k} if k else ps)
        return int(so[m]), int(sk[m]), before, spl

    return allrows[keep], [label(int(i)) for i in keep]


class _Knapsack:
    """"Do layers p..q-1 fit one SLR at T?" with a witness choice, memoized.

    Per question: each layer offers its Pareto-minimal options meeting T; a Lagrangian bound
    (``lagrange_bound``) may prove at once that nothing fits, and the choices met on the way may
    fit (a witness); otherwise a dynamic program over the layers keeps the Pareto set of the
    resources used so far, dropping a state when the remaining layers cannot fit what is left,
    judged by each resource alone and by weighted sums (``_directions`` and the Lagrangian
    multipliers). Kinds no choice can exhaust are left out of the dominance test."""

    def __init__(self, opts, budget, limit, work=None):
        self.opts, self.budget, self.limit, self.work = opts, budget, limit, work
        self.dirs0 = _directions(budget)
        self.yes: dict = {}  # p -> [(q, T, choice)] that fit
        self.front: dict = {}  # (layer's options, how many meet T) -> _at's answer
        self.by_t: dict = {}  # (layer, T) -> (at_t, their resource rows, their least use per kind)
        self.dominated: dict = {}  # id(layer's cycles) -> _dominated_at
        self.no: dict = {}  # p -> [(q, T)] that do not
        # _fits's answers by the layers' options (not their positions) and T: ResNets repeat
        # their blocks, and a witness that moves by a block asks the same question again from
        # another start. Each entry keeps the work the question spent, which a repeat spends again
        # (``_memo_fits``), so the Work budget, and with it every answer and plan, is as without it.
        # The keys are ``key(i)`` of each layer (LazyOptions.key: the same in a forked process,
        # whose answers may be added here: planner._Helper).
        self.shared: dict = {}  # (option keys of p..q-1, T, work-bounded?) -> (choice, work) | (GIVE_UP, work)
        self.keys: list = []  # layer -> key(layer)
        self.key = getattr(opts, "key", None) or (lambda i: id(opts[i]))
        self.refill = None  # called before a question not in ``shared`` is solved (planner._Helper.drain)
        self.heads: dict = {}  # (head rows, p, T) -> {q: reach_head's answer}
        self.splits = False  # lane splits allowed (reach_slrs' halves): ``cannot`` stays a relaxation

    def reach(self, p: int, n: int, t) -> tuple[int, list[int]]:
        """The largest q <= n with layers p..q-1 fitting one SLR at T, and their choice."""
        lo, hi = p, n
        if lo < hi:  # often everything left fits: one check
            if self.fits(p, hi, t) is not None:
                lo = hi
            else:
                hi -= 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.fits(p, mid, t) is not None:
                lo = mid
            else:
                hi = mid - 1
        return lo, (self.fits(p, lo, t) if lo > p else [])

    def at_t(self, i: int, t: int) -> np.ndarray:
        """Options of layer i meeting T, Pareto-minimal in resources (cached per option count)."""
        return self._at(i, t)[0]

    def _at(self, i: int, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(``at_t(i, t)``, their resource rows, the least of each kind over those rows), cached
        per (layer, T): a reach asks the same layers at the same T many times."""
        got = self.by_t.get((i, t))
        if got is None:
            cyc, res, _ = self.opts[i]
            meet = cyc <= t
            key = (id(cyc), int(meet.sum()))  # layers sharing their options (LazyOptions) share this too
            if key not in self.front:
                # Pareto-minimal among the options meeting T = meeting T with no dominator
                # meeting T (_dominated_at): the same indices, in the same order, as _pareto of
                # those rows, from two comparisons instead of a Pareto pass per (layer, T).
                front = np.nonzero(meet & (self._dominated_at(cyc, res) > t))[0]
                self.front[key] = (front, res[front], res[front].min(axis=0) if len(front) else None)
            got = self.by_t[(i, t)] = self.front[key]
        return got

    def _dominated_at(self, cyc: np.ndarray, res: np.ndarray) -> np.ndarray:
        """Per option, the fewest cycles of an option dominating it in resources (<= in every
        kind; of equal rows the first dominates the later ones, as ``_pareto`` keeps the first);
        inf if none. Cached per option array."""
        got = self.dominated.get(id(cyc))
        if got is None and _fast is not None and cyc.dtype == np.int64 and res.dtype == np.int64 \
                and res.ndim == 2 and res.shape[1] and len(cyc):
            got = self.dominated[id(cyc)] = np.empty(len(cyc))  # (the same minima in C: _fast.c)
            _fast.dominated_at(np.ascontiguousarray(cyc), np.ascontiguousarray(res), got, res.shape[1])
        if got is None:
            n = len(cyc)
            le = _le_all(res, res)  # le[a, b]: row a <= row b everywhere
            dom = le & ~(le.T & ~_earlier(n)) if n else le  # equal rows: only an earlier one dominates
            np.fill_diagonal(dom, False)
            got = self.dominated[id(cyc)] = np.where(dom, cyc[:, None].astype(np.float64), np.inf).min(axis=0) \
                if n else np.zeros(0)
        return got

    def cannot(self, p: int, q: int, t, slrs: int) -> bool:
        """True when layers p..q-1 provably do not fit ``slrs`` SLRs at T (False: maybe they do).
        A relaxation (the SLRs' budgets pooled: each kind's least use, then the Lagrangian bound),
        far cheaper than the reach that would find out exactly; no witness is kept. Through
        ``shared``, as ``_fits``."""
        t = int(t)
        return self._memo(("cannot", self._classes(p, q), t, slrs, self.splits, self.work is None),
                          lambda: self._cannot(p, q, t, slrs))

    def _cannot(self, p: int, q: int, t: int, slrs: int) -> bool:
        rows, least = [], None
        for i in range(p, q):
            ok, r, lo = self._at(i, t)
            if len(ok) == 0:
                return True
            rows.append(r)
            least = lo if least is None else least + lo
        if not rows:
            return False
        if self.work is not None:
            self.work.spend(sum(len(r) for r in rows))
        if self.splits and slrs > 1:
            # A layer split over a boundary may use less than its whole row (memories round per
            # half), so pool the SLRs without the slrs - 1 largest uses of each kind (the split
            # layers'), and no Lagrangian bound (its rows are whole engines).
            top = np.sort(np.array([r.min(axis=0) for r in rows]), axis=0)[::-1][: slrs - 1].sum(axis=0)
            top[0] = 0  # (DSPs: a split engine's halves use at least the whole engine's)
            return bool((least - top > self.budget * slrs).any())
        if (least > self.budget * max(1, slrs)).any():
            return True
        return lagrange_bound(rows, self.budget, max(1, slrs), iters=CANNOT_ITERS, find=False)[0] > 1e-9

    def fits(self, p: int, q: int, t):
        """A choice for layers p..q-1 in one SLR at T, or None. Answers follow from earlier ones:
        what fits at a smaller T fits at T, and so do fewer layers (a prefix of the choice); what
        does not fit at a larger T does not fit at T, nor do more layers."""
        t = int(t)
        for q2, t2, ch in self.yes.get(p, ()):
            if q2 >= q and t2 <= t:
                return ch[: q - p]
        for q2, t2 in self.no.get(p, ()):
            if q2 <= q and t2 >= t:
                return None
        got = self._memo_fits(p, q, t)
        if got is not None:
            self.yes.setdefault(p, []).append((q, t, got))
        else:
            self.no.setdefault(p, []).append((q, t))
        return got

    def _classes(self, p: int, q: int) -> tuple:
        """The option keys of layers p..q-1 (equal tuples: the same knapsack question)."""
        keys = self.keys
        while len(keys) < q:
            keys.append(self.key(len(keys)))
        return tuple(keys[p:q])

    def _memo_fits(self, p: int, q: int, t: int):
        """``_fits`` through ``shared`` (``_memo``)."""
        return self._memo((self._classes(p, q), t, self.work is None), lambda: self._fits(p, q, t))

    def _memo(self, key, solve):
        """``solve()`` through ``shared``: a repeated question returns the first answer (``_fits``
        and ``_cannot`` are functions of the layers' options, T, the budget, the SLRs and whether
        work is counted: ``key``) and spends the work the first one did; where that work is not
        left, it gives up as the first would have (its spends only add up: it runs out iff their
        total exceeds what is left). A question that ran out of work is not kept (its full cost
        is unknown); one that gave up on its own state limit is (GIVE_UP)."""
        got = self.shared.get(key)
        if got is None and self.refill is not None:
            self.refill()
            got = self.shared.get(key)
        if got is not None:
            ans, cost = got
            if self.work is not None:
                self.work.spend(cost)
            if isinstance(ans, str):  # GIVE_UP (or a copy of it, from speculate.SettleHelper)
                raise _GiveUp
            return ans
        w0 = self.work.left if self.work is not None else 0
        try:
            ans = solve()
        except _GiveUp:
            if self.work is None or self.work.left >= 0:  # gave up on its own limit, not the work
                self.shared[key] = (GIVE_UP, w0 - self.work.left if self.work is not None else 0)
            raise
        self.shared[key] = (ans, w0 - self.work.left if self.work is not None else 0)
        return ans

    def _gather(self, p: int, q: int, t):
        """(options, their rows, summed least use) of layers p..q-1 at T; None if one has none."""
        menus, rows = [], []
        least = np.zeros(4, np.int64)
        for i in range(p, q):
            ok, r, lo = self._at(i, t)
            if len(ok) == 0:
                return None
            menus.append(ok)
            rows.append(r)
            least = least + lo
        return menus, rows, least

    def reach_head(self, head: np.ndarray, p: int, n: int, t) -> tuple[int, list[int], int]:
        """The largest q <= n with one row of ``head`` (layer p's ways to begin the SLR, each
        within the budget alone) and layers p+1..q-1 fitting one SLR at T: (q, the choice of
        p+1..q-1, the head row taken)."""
        t = int(t)
        key = head.tobytes()

        def fits(q):
            memo = self.heads.setdefault((key, p, t), {})
            if q not in memo:
                got = self._gather(p + 1, q, t)
                if got is None:
                    memo[q] = None
                else:
                    menus, rows, least = got
                    memo[q] = self._memo(
                        ("head", _rows_key(head), self._classes(p + 1, q), t, self.work is None),
                        lambda: self._fits_rows([np.arange(len(head))] + menus, [head] + rows,
                                                least + head.min(axis=0)))
            return memo[q]

        lo, hi = p + 1, n
        if lo < hi:
            if fits(hi) is not None:
                lo = hi
            else:
                hi -= 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if fits(mid) is not None:
                lo = mid
            else:
                hi = mid - 1
        got = fits(lo)
        if got is None:  # (every head row fits alone: only a knapsack that gave up gets here)
            raise _GiveUp
        return lo, got[1:], got[0]

    def tails(self, head: np.ndarray | None, p: int, q: int, t, rows_a: np.ndarray) -> list:
        """Per row of ``rows_a`` (a half A closing the SLR after layer q - 1): (head row taken or
        None, the choice of the SLR's whole layers) of some choice of layers p..q-1 (layer p
        begun by a row of ``head`` when given) leaving room for it, or None if none does. Exact:
        over the whole Pareto front of the SLR's choices (GiveUp past DEEP_LIMIT states).
        Through ``shared``, as ``_fits`` (a function of the head and half A rows, the layers'
        options and T: ResNets ask the same tails from many starts)."""
        t = int(t)
        key = ("tails", None if head is None else _rows_key(head), self._classes(p if head is None else p + 1, q),
               t, _rows_key(rows_a), self.work is None)
        return self._memo(key, lambda: self._tails(head, p, q, t, rows_a))

    def _tails(self, head: np.ndarray | None, p: int, q: int, t: int, rows_a: np.ndarray) -> list:
        got = self._gather(p if head is None else p + 1, q, t)
        if got is None:
            return [None] * len(rows_a)
        menus, rows, least = got
        if head is not None:
            menus, rows, least = [np.arange(len(head))] + menus, [head] + rows, least + head.min(axis=0)
        out: list = [None] * len(rows_a)
        if len(rows_a) == 0:
            return out
        used, paths = self._front(menus, rows, rows_a)
        if len(used) == 0:
            return out
        room = self.budget[None, :] - rows_a
        cand = np.nonzero(_rows_within(rows_a, self.budget - used.min(axis=0)))[0]  # (a quick "no")
        if len(cand) == 0:
            return out
        ok = _le_all(used, room[cand])  # [states, tails left]
        first = ok.argmax(axis=0)  # (the first state leaving room for each)
        for c in np.nonzero(ok.any(axis=0))[0].tolist():
            m = cand[c]
            path = list(paths[int(first[c])])
            out[int(m)] = (path[0], path[1:]) if head is not None else (None, path)
        return out

    def _front(self, menus, rows, extra: np.ndarray):
        """Every Pareto-minimal resource use of a choice of ``rows`` (per layer) that leaves room
        for one of the rows ``extra`` within the budget, and each one's choice (indices into
        ``menus``). Kinds that no choice plus extra row can exhaust are left out of the
        dominance test (as ``_dp`` does): any state fits them."""
        budget = self.budget
        tight = np.sum([r.max(axis=0) for r in rows], axis=0) + extra.max(axis=0) > budget
        if not tight.any():
            tight[0] = True
        mins = np.array([r.min(axis=0) for r in rows] + [extra.min(axis=0)], np.int64)
        rem = np.cumsum(mins[::-1], axis=0)[::-1]  # rem[i]: least use of layers i.. and the extra
        used = np.zeros((1, 4), np.int64)
        paths: list = [()]
        for i, ok in enumerate(menus):
            u = (used[:, None, :] + rows[i][None, :, :]).reshape(-1, 4)
            if self.work is not None:
                self.work.spend(len(u))
            keep = np.nonzero(_rows_within(u + rem[i + 1], budget))[0]
            if len(keep) == 0:
                return np.zeros((0, 4), np.int64), []
            if len(keep) > FRONT_KEEP_LIMIT:  # (the Pareto pass costs about states x front)
                raise _GiveUp
            front = keep[_pareto(u[keep][:, tight])]
            if len(front) > DEEP_LIMIT:
                raise _GiveUp
            used = u[front]
            paths = [paths[a // len(ok)] + (int(ok[a % len(ok)]),) for a in front]
        return used, paths

    def _fits(self, p: int, q: int, t):
        got = self._gather(p, q, t)
        if got is None:
            return None
        return self._fits_rows(*got)

    def _fits_rows(self, menus: list, rows: list, least: np.ndarray):
        """A choice (indices into ``menus``) of one row per layer fitting one SLR, or None."""
        budget = self.budget
        if self.work is not None:
            self.work.spend(sum(len(r) for r in rows))
        # Every layer's least use of some kind alone already exceeds the budget: nothing fits (the
        # Lagrangian certificate with all weight on that kind). A few additions instead of the
        # iterations: about 70 % of the "no" answers planning ResNet-152 on example16.
        if (least > budget).any():
            return None
        g, lam, witness = lagrange_bound(rows, budget, 1)
        if witness is not None:
            return [int(menus[i][w]) for i, w in enumerate(witness)]
        if g > 1e-9:
            return None  # no choice fits
        dirs = np.vstack([self.dirs0, lam[None, :]]) if np.any(lam > 0) else self.dirs0
        if len(rows) >= DUAL_LAYERS:  # (a long question: the dynamic program's passes are costly)
            g2, lam2, witness = dual_search(rows, budget)
            if witness is not None:
                return [int(menus[i][w]) for i, w in enumerate(witness)]
            if g2 > 1e-9:
                return None  # no choice fits (a longer multiplier search proved it)
            if np.any(lam2 > 0):
                dirs = np.vstack([dirs, lam2[None, :]])
        mins = np.array([(r @ dirs.T).min(axis=0) for r in rows])  # [n, D]
        rem = np.vstack([np.cumsum(mins[::-1], axis=0)[::-1], np.zeros((1, len(dirs)))])
        room = budget @ dirs.T * (1 + 1e-12) + 1e-9
        tight = np.sum([r.max(axis=0) for r in rows], axis=0) > budget
        if not np.any(tight):
            tight[:] = True
        got = _fix_options(menus, rows, dirs, mins, room)
        if got is None:
            return None  # some direction's least sum already exceeds its room: nothing fits
        menus, rows = got
        # Narrow passes first (iterative deepening): near the boundary a choice that fits is
        # usually among the few states with the most room, and the full Pareto set is what makes
        # these knapsacks expensive. A path found is a witness; "none" proves nothing fits only
        # if the pass dropped no state.
        # With a work budget (which bounds the time), the passes may grow past ``limit`` up to
        # DEEP_LIMIT: a short segment near the boundary can need a wide Pareto set, and giving up
        # there leaves a gap the remaining work could have closed.
        top = max(self.limit, DEEP_LIMIT) if self.work is not None else self.limit
        limit = min(QUICK_LIMIT, top)
        while True:
            got, cut = self._dp(menus, rows, dirs, rem, room, tight, limit)
            if got is not None or not cut:
                return got
            if limit >= top:
                raise _GiveUp
            limit = min(4 * limit, top)

    def _dp(self, menus, rows, dirs, rem, room, tight, limit):
        """Dynamic program over the layers keeping at most ``limit`` Pareto states (those with
        the most room left): (a choice that fits or None, whether states were dropped)."""
        budget = self.budget
        used = np.zeros((1, 4), np.int64)
        paths = [()]
        cut = False
        for i, ok in enumerate(menus):
            res = rows[i]
            u = (used[:, None, :] + res[None, :, :]).reshape(-1, 4)
            if self.work is not None:
                self.work.spend(len(u))
            need = u @ dirs.T + rem[i + 1]
            keep = np.nonzero(_rows_within(u, budget) & _rows_within(need, room))[0]
            if len(keep) == 0:
                return None, cut
            if len(keep) > 16 * limit:  # keep the states with the most room left
                cut = True
                keep = keep[np.argsort((need[keep] / room).max(axis=1), kind="stable")[: 16 * limit]]
            u = u[keep]
            front = _pareto(u[:, tight])
            if len(front) > limit:
                cut = True
                front = front[np.argsort((need[keep[front]] / room).max(axis=1), kind="stable")[:limit]]
            used = u[front]
            src = keep[front]
            paths = [paths[a // len(ok)] + (int(ok[a % len(ok)]),) for a in src]
        return list(paths[0]), cut


def _rows_key(rows: np.ndarray) -> tuple:
    """A hashable of a resource-row array (its values, shape and type) for ``_Knapsack.shared``."""
    return rows.dtype.str, rows.shape, rows.tobytes()


# States kept by the knapsack's first, narrowest pass (_Knapsack._fits; 4x wider each pass, up
# to DEEP_LIMIT when a work budget bounds the search).
QUICK_LIMIT = 24
DEEP_LIMIT = 24_576
# The most candidate states (within the budget) ``_Knapsack._front`` filters to a Pareto front
# for one layer: its Pareto pass costs about candidates x front, and a lane-split tails question
# on a long U250 segment (ResNet-152 on pair2) had 252,106 of them, 9.9 s for one pass (a front of
# 20,219). Where the presets prove their plans the most is 8,127 (ring8 --lane-split).
FRONT_KEEP_LIMIT = 4 * DEEP_LIMIT
# Multiplier steps of ``_Knapsack.cannot``'s Lagrangian bound (it only saves a reach when it
# proves quickly; lagrange_bound's default 30 made it cost as much as it saved).
CANNOT_ITERS = 8


Knapsack = _Knapsack
