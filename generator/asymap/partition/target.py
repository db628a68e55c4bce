"""Throughput-target mode (``asymap plan --target-ips N``): the fewest boards, then the fewest
DSPs, that reach N images per second (FINN's ``target_fps`` idea, for a cluster).

With the interval fixed at tau = 1/N, each segment has a DSP count at tau (inf where it cannot
meet tau); ``fewest_boards`` is the outer DP of ``order.py`` with that value: per state (set of
boards used, last board) the vector ``g[j]`` = the fewest DSPs placing layers 0..j-1 within tau,
level by level in the number of boards, so the first level that places the whole chain has the
fewest boards and its best ``g[L]`` the fewest DSPs. States of one level are merged by (set, last
board), which keeps the search exact; ``max_states`` caps a level (then the answer is marked
heuristic). Which segments meet tau, at which DSPs, and the proof that no plan has fewer boards
come from target_split.py (with and without lane splits), which runs this search twice per round:
over the segments made real, and over the lower tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from asymap.partition.costmodel import Menu


@dataclass
class TargetResult:
    boards: int  # 0 when no plan meets tau
    dsp: float
    path: list[int]
    cuts: list[int]
    exact: bool
    widths: list[int] = field(default_factory=list)  # per board of the path: the port width it is built at


def layer_dsp_at(menus: list[Menu], t_cycles: float) -> np.ndarray:
    """DSPs of each layer's cheapest row meeting ``t_cycles`` (inf when no row meets it)."""
    out = np.full(len(menus), np.inf)
    for i, m in enumerate(menus):
        ok = np.nonzero(m.cycles <= t_cycles * (1 + 1e-12))[0]
        if len(ok):
            out[i] = float(m.res[ok[0], 0])
    return out


def masked_dsp(menus: tuple, tc: float, masks: tuple) -> np.ndarray:
    """[L+1, L+1] DSPs of segment j..k-1 whose layers take their cheapest menu row meeting ``tc``
    cycles, in the weight mode whose mask holds there (the masks are disjoint; inf where none
    holds, or a layer has no such row)."""
    out = np.full(masks[0][1].shape, np.inf)
    for md, mask in masks:
        d = layer_dsp_at(menus[md], tc)
        bad = ~np.isfinite(d)  # layers that cannot meet tau: count them apart (inf - inf is nan)
        pref = np.concatenate([[0.0], np.cumsum(np.where(bad, 0.0, d))])
        nbad = np.concatenate([[0], np.cumsum(bad)])
        seg = np.where(nbad[None, :] - nbad[:, None] > 0, np.inf, pref[None, :] - pref[:, None])
        out = np.where(mask, seg, out)
    return out


def fewest_boards(seg_dsp: list[np.ndarray], link: dict, adj: list[list[int]], tau: float,
                  entry=None, exit=None, max_states: int = 50000) -> TargetResult:
    """Fewest boards, then fewest DSPs, with every segment, link and host hop within ``tau``."""
    n = len(seg_dsp)
    L = seg_dsp[0].shape[0] - 1
    tol = tau * (1 + 1e-12)
    entry = np.zeros(n) if entry is None else np.asarray(entry)
    exit = np.zeros(n) if exit is None else np.asarray(exit)
    # states of one level: (mask, last) -> (g, parent mask per j, parent last per j, parent cut per j)
    states = {}
    history = []
    none = np.full(L + 1, -1, np.int64)
    for b in range(n):
        if entry[b] > tol:
            continue
        g = seg_dsp[b][0].copy()
        g[0] = np.inf
        if np.any(np.isfinite(g)):
            states[(1 << b, b)] = (g, none, none, np.zeros(L + 1, np.int64))
    exact = True
    for count in range(1, n + 1):
        history.append(states)
        done = [(st[0][L], key) for key, st in states.items() if np.isfinite(st[0][L]) and exit[key[1]] <= tol]
        if done:
            dsp, key = min(done, key=lambda x: (x[0], x[1]))
            path, cuts, j = [], [], L
            for lvl in range(count - 1, -1, -1):
                g, pm, pl, pj = history[lvl][key]
                path.append(key[1])
                cj = int(pj[j]) if lvl > 0 else 0
                cuts.append(cj)
                key, j = (int(pm[j]), int(pl[j])), cj
            return TargetResult(count, float(dsp), path[::-1], cuts[::-1] + [L], exact)
        nxt: dict = {}
        for (mask, last), (g, _, _, _) in states.items():
            for b2 in adj[last]:
                if mask >> b2 & 1:
                    continue
                lk = link[(last, b2)]
                rows = np.nonzero(np.isfinite(g[1:L]) & (lk[1:L] <= tol))[0] + 1
                if len(rows) == 0:
                    continue
                m = g[rows, None] + seg_dsp[b2][rows, :]
                arg = np.argmin(m, axis=0)
                newg = m[arg, np.arange(L + 1)]
                pj = rows[arg]
                key = (mask | 1 << b2, b2)
                pm = np.full(L + 1, mask, np.int64)
                pl = np.full(L + 1, last, np.int64)
                if key in nxt:
                    og, opm, opl, opj = nxt[key]
                    better = newg < og
                    nxt[key] = (np.where(better, newg, og), np.where(better, pm, opm), np.where(better, pl, opl),
                                np.where(better, pj, opj))
                else:
                    nxt[key] = (newg, pm, pl, pj)
        nxt = {k: v for k, v in nxt.items() if np.any(np.isfinite(v[0]))}
        if len(nxt) > max_states:
            exact = False  # keep the states that place the most layers, then the fewest DSPs
            keep = sorted(nxt, key=lambda k: (-int(np.nonzero(np.isfinite(nxt[k][0]))[0].max()),
                                              float(np.min(nxt[k][0])), k))
            nxt = {k: nxt[k] for k in keep[:max_states]}
        if not nxt:
            break
        states = nxt
    return TargetResult(0, np.inf, [], [], exact)
