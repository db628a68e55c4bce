"""Brute-force reference for the partitioner, used by the tests (proof of optimality on small
instances) and by bench/plan.py (how much faster the DP is).

It shares nothing with the DP but the cost model's menus: it enumerates every path of distinct
linked boards, every way to cut the chain into that many non-empty segments, and (``inner="brute"``)
every combination of menu rows of every layer in both weight modes.
"""

from __future__ import annotations

import itertools

import numpy as np


def brute_segment(menus_on, menus_off, budget, clock_hz, wbytes, mem_bps, j: int, k: int) -> float:
    """Best seconds for layers j..k-1 by enumerating every factor combination (both modes)."""
    best = np.inf
    for mode, menus in ((0, menus_on), (1, menus_off)):
        worst = np.zeros(1, np.int64)
        use = np.zeros((1, 4), np.int64)
        for m in menus[j:k]:
            worst = np.maximum(worst[:, None], m.cycles[None, :]).reshape(-1)
            use = (use[:, None, :] + m.res[None, :, :]).reshape(-1, 4)
            ok = np.all(use <= budget, axis=1)  # resources only grow: drop overfull prefixes early
            worst, use = worst[ok], use[ok]
            if len(worst) == 0:
                break
        if len(worst) == 0:
            continue
        t = worst.min() / clock_hz
        if mode == 1:
            t = max(t, float(np.sum(wbytes[j:k])) / mem_bps)
        best = min(best, t)
    return best


def simple_paths(adj: list[list[int]], max_len: int):
    """Every simple path (as a tuple, both directions) of 1..max_len boards."""
    n = len(adj)

    def grow(path):
        yield tuple(path)
        if len(path) == max_len:
            return
        for nb in adj[path[-1]]:
            if nb not in path:
                yield from grow(path + [nb])

    for s in range(n):
        yield from grow([s])


def exhaustive(seg_fn, link: dict, adj: list[list[int]], L: int, max_boards: int,
               entry=None, exit=None) -> tuple[float, tuple, tuple]:
    """Best (interval, path, cuts). ``seg_fn(board, j, k)`` gives a segment's seconds;
    ``entry``/``exit`` the host path's seconds to/from each board."""
    best = (np.inf, (), ())
    for path in simple_paths(adj, max_boards):
        p = len(path)
        if p > L:
            continue
        v0 = max(0.0 if entry is None else float(entry[path[0]]), 0.0 if exit is None else float(exit[path[-1]]))
        for inner in itertools.combinations(range(1, L), p - 1):
            cuts = (0, *inner, L)
            v = v0
            for i, b in enumerate(path):
                if i:
                    v = max(v, link[(path[i - 1], b)][cuts[i]])
                v = max(v, seg_fn(b, cuts[i], cuts[i + 1]))
                if v >= best[0]:
                    break
            if v < best[0]:
                best = (v, path, cuts)
    return best
