"""A proven lower bound on the best cluster interval: the relaxation without topology and order.

Drop the path constraint (any board may follow any other) and charge each cut the cheapest link of
the cluster. Every real plan is a plan of this relaxation with costs at least as high, so the
relaxation's optimum is a valid lower bound; the gap of a heuristic plan is (ub - lb) / lb.

The relaxation is solved exactly by a binary search over candidate intervals tau. For a fixed tau
a board type t starting at layer j can reach ``R_t(j)`` (the last legal cut it can place within
tau), and R_t is non-decreasing in j. So the furthest layer reachable with a multiset c of board
types is ``reach[c] = max(reach[c - e_t], R_t(reach[c - e_t]))`` over the types in c (an exchange
argument: a later start never hurts). The multisets form a small lattice (prod(n_t + 1) nodes).
"""

from __future__ import annotations

import numpy as np

from asymap.util.arrays import sorted_unique


def _lattice(counts: list[int]):
    dims = [c + 1 for c in counts]
    size = int(np.prod(dims))
    idx = np.indices(dims).reshape(len(dims), -1).T  # [size, T]
    level = idx.sum(axis=1)
    # C-order strides of np.indices: node index of c - e_t is index(c) - strides[t]
    strides = np.array([int(np.prod(dims[i + 1 :])) for i in range(len(dims))], dtype=np.int64)
    return idx, level, strides, size


def lower_bounds(seg_types: list[np.ndarray], counts: list[int], cut_link_min: np.ndarray, max_k: int,
                 every: bool = True) -> list[float | None]:
    """LB[k-1] for k = 1..max_k boards (at most k boards used). inf when even the relaxation fails.
    ``every=False``: LB[max_k-1] only (the same value), the others None; each k is its own binary
    search over the candidates (sharing what they evaluate), so one k costs ~1/5 of all 16."""
    L = seg_types[0].shape[0] - 1
    T = len(seg_types)
    idx, level, strides, size = _lattice(counts)
    by_level = [np.nonzero(level == m)[0] for m in range(level.max() + 1)]
    vals = [s[np.isfinite(s)] for s in seg_types] + [cut_link_min[1:L]]
    cand = sorted_unique(np.concatenate(vals))
    cand = cand[np.isfinite(cand)]

    def min_boards(tau: float) -> int:
        """Fewest boards whose relaxation reaches layer L within tau (a large number if none)."""
        reach_t = _reach_per_type(seg_types, cut_link_min, tau)
        reach = np.zeros(size, np.int64)
        if L == 0:
            return 0
        for m in range(1, len(by_level)):
            nodes = by_level[m]
            r = np.zeros(len(nodes), np.int64)
            for t in range(T):
                has = idx[nodes, t] > 0
                par = nodes[has] - strides[t]
                pr = reach[par]
                r[has] = np.maximum(r[has], np.maximum(pr, reach_t[t][pr]))
            reach[nodes] = r
            if np.any(r >= L):
                return m
        return 1 << 30

    out = []
    need_cache: dict[float, int] = {}

    def need(i: int) -> int:
        t = float(cand[i])
        if t not in need_cache:
            need_cache[t] = min_boards(t)
        return need_cache[t]

    for k in range(1, max_k + 1):
        if not every and k < max_k:
            out.append(None)
            continue
        if len(cand) == 0 or need(len(cand) - 1) > k:
            out.append(float("inf"))
            continue
        lo, hi = 0, len(cand) - 1
        while lo < hi:
            mid = (lo + hi) // 2
            if need(mid) <= k:
                hi = mid
            else:
                lo = mid + 1
        out.append(float(cand[lo]))
    return out


def _reach_per_type(seg_types: list[np.ndarray], cut_link_min: np.ndarray, tau: float) -> list[np.ndarray]:
    """Per board type, the furthest layer one board of that type reaches from each start within
    ``tau`` (segments ending at a cut whose link is too slow are pulled back to the last good cut)."""
    L = seg_types[0].shape[0] - 1
    ok_cut = np.ones(L + 1, bool)
    ok_cut[1:L] = cut_link_min[1:L] <= tau
    prev_ok = np.maximum.accumulate(np.where(ok_cut, np.arange(L + 1), 0))
    return [np.maximum(prev_ok[np.arange(L + 1) + np.sum(s <= tau, axis=1)], np.arange(L + 1)) for s in seg_types]


def relaxed_witness(seg_types: list[np.ndarray], counts: list[int], cut_link_min: np.ndarray,
                    tau: float, max_k: int) -> list[tuple[int, int, int]]:
    """The segments (board type, first layer, end) of a plan of the relaxation within ``tau`` on
    at most ``max_k`` boards ([] if there is none). Its segments are the ones whose exact values
    (asymap.partition.planner) can raise the bound: the lazy tightening refines them."""
    L = seg_types[0].shape[0] - 1
    T = len(seg_types)
    idx, level, strides, size = _lattice(counts)
    reach_t = _reach_per_type(seg_types, cut_link_min, tau)
    reach = np.zeros(size, np.int64)
    how = np.full(size, -1, np.int64)  # the type whose board was added last
    order = np.argsort(level, kind="stable")
    for node in order:
        if level[node] == 0 or level[node] > max_k:
            continue
        for t in range(T):
            if idx[node, t] == 0:
                continue
            pr = reach[node - strides[t]]
            r = max(pr, int(reach_t[t][pr]))
            if r > reach[node]:
                reach[node], how[node] = r, t
        if reach[node] >= L:
            out = []
            while node >= 0 and how[node] >= 0:
                t = int(how[node])
                par = node - strides[t]
                j = int(reach[par])
                if reach[node] > j:
                    out.append((t, j, int(reach[node])))
                node = par
            return out[::-1]
    return []
