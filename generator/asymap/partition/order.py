"""The outer problem: cut the chain into contiguous segments on boards that form a path.

State = (set of boards used, last board); value = vector f[j] = the best cluster interval so far
when layers 0..j-1 are placed (every board on the path holds at least one layer). Appending board
b' after b with a cut after j layers costs max(f[j], link(b, b')[j], segment(b', j..k-1)): a
min-max product that numpy does for all j, k at once. Over all subsets this is exact; it is what
runs for clusters up to ``EXACT_BOARDS`` boards. Branch-and-bound prunes states that cannot beat
the best complete plan found (safe: exactness is kept).

Beyond that, the same search keeps only the ``beam`` most promising states per path length (ranked
by how many layers they place within a target interval tau, a lower bound of the optimum); the
result is then a heuristic and its gap is bounded by asymap.partition.bounds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

try:  # the compiled transition (setup.py; optional: the numpy steps below give the same values)
    from asymap.partition import _fast
except ImportError:  # pragma: no cover - installed without a C compiler
    _fast = None

EXACT_BOARDS = 8
# Beyond EXACT_BOARDS the beam cuts a level only once the search has made this many states: a
# sparse topology (a chain with a few cross links, as the presets) keeps the subset DP small, and
# then it stays exact whatever the board count. A count, not a clock: plans do not depend on load.
EXACT_STATES = 1000


@dataclass
class OrderResult:
    interval: float
    path: list[int]  # board indices in pipeline order
    cuts: list[int]  # cuts[i] = first layer of path[i]; plus L at the end
    exact: bool
    states: int = 0
    best_by_count: dict = field(default_factory=dict)  # boards used -> best interval


@dataclass
class _State:
    mask: int
    last: int
    f: np.ndarray
    parent: np.ndarray  # per j: index of the parent state (-1 at level 1)
    pj: np.ndarray  # per j: cut position in the parent


def search(
    seg: list[np.ndarray],
    link: dict[tuple[int, int], np.ndarray],
    adj: list[list[int]],
    max_boards: int,
    beam: int | None = None,
    tau: float = 0.0,
    ub: float = np.inf,
    entry: np.ndarray | None = None,
    exit: np.ndarray | None = None,
    exact_states: int = 0,
) -> OrderResult:
    """Best path of at most ``max_boards`` boards. ``beam=None``: exact; otherwise the beam cuts a
    level only after ``exact_states`` states were made (until then the search is exact).

    ``entry[b]`` / ``exit[b]``: seconds per image of bringing the image from the host to board b
    and the result from b back (the host path, asymap.partition.hostpath); 0 without a host."""
    n = len(seg)
    L = seg[0].shape[0] - 1
    entry = np.zeros(n) if entry is None else np.asarray(entry, dtype=np.float64)
    exit = np.zeros(n) if exit is None else np.asarray(exit, dtype=np.float64)
    states: list[_State] = []
    best = (np.inf, -1)  # (interval, state index)
    best_by_count: dict[int, float] = {}
    exact = True
    level = []
    # (compiled steps) per state, the least of f[1:L]: "a cut below ub" without a numpy call
    low: list[float] = []
    for b in range(n):
        f = np.maximum(seg[b][0], entry[b])
        f[0] = np.inf
        st = _State(1 << b, b, f, np.full(L + 1, -1), np.zeros(L + 1, np.int64))
        states.append(st)
        level.append(len(states) - 1)
        low.append(float(f[1:L].min()) if L > 1 else np.inf)
        if max(f[L], exit[b]) < best[0]:
            best = (max(f[L], exit[b]), len(states) - 1)
    best_by_count[1] = best[0]
    ub = min(ub, best[0])
    bands: dict = {}  # (id(segment matrix), threshold) -> the columns that can matter (_band)
    inner = {key: _cuts(v, L) for key, v in link.items()}  # the cuts a transition can take
    cols = np.arange(L + 1)
    infs = np.full(L + 1, np.inf)  # (a copy of it is cheaper than np.full per transition)
    trans: dict = {}  # id(segment matrix) -> its transpose, contiguous (the tables do not change during a search)
    for count in range(2, max_boards + 1):
        # Values above ub matter only in the last column (a plan's interval): a cut at or above ub
        # never extends (rows a < ub below) and, with a beam, values up to tau rank the states.
        thr = ub if beam is None else max(ub, tau)
        nxt: dict[tuple[int, int], int] = {}
        per_board: dict = {}  # b2 -> (its band at thr, its transposed table): thr is fixed per level
        for si in level:
            st = states[si]
            fin = st.f[1:L]
            if not (low[si] < ub if _fast is not None else (fin < ub).any()):
                continue
            for b2 in adj[st.last]:
                if st.mask >> b2 & 1:
                    continue
                key = (st.mask | 1 << b2, b2)
                if _fast is not None:  # (the same steps as below, in one call: _fast.c)
                    got = per_board.get(b2)
                    if got is None:
                        tr = trans.get(id(seg[b2]))
                        if tr is None:
                            tr = trans[id(seg[b2])] = np.ascontiguousarray(seg[b2].T, dtype=np.float64)
                        got = per_board[b2] = (*_band(seg[b2], thr, bands, L), tr)
                    first, last, tr = got
                    if key in nxt:
                        old = states[nxt[key]]
                        got = _fast.step(fin, inner[(st.last, b2)], ub, first, last, tr, old.f, old.pj, old.parent, si, True)
                        if got is not None:
                            low[nxt[key]] = got
                    else:
                        newf, pj, par = np.empty(L + 1), np.empty(L + 1, np.int64), np.empty(L + 1, np.int64)
                        got = _fast.step(fin, inner[(st.last, b2)], ub, first, last, tr, newf, pj, par, si, False)
                        if got is not None:
                            states.append(_State(key[0], b2, newf, par, pj))
                            nxt[key] = len(states) - 1
                            low.append(got)
                    continue
                # (method calls, not np.* wrappers, and reductions instead of index arrays: a
                # transition is a dozen small numpy calls, whose overhead is most of its time)
                a = np.maximum(fin, inner[(st.last, b2)])
                low = a < ub
                r0 = int(low.argmax())
                if not low[r0]:
                    continue
                r1 = L - 1 - int(low[::-1].argmax())
                a = a[r0:r1]
                if not low[r0:r1].all():
                    a[~low[r0:r1]] = np.inf  # cuts at or above ub do not extend (as if left out)
                first, last = _band(seg[b2], thr, bands, L)
                c0, c1 = int(first[r0 + 1 : r1 + 1].min()), int(last[r0 + 1 : r1 + 1].max()) + 1
                newf = infs.copy()
                pj = np.zeros(L + 1, np.int64)
                if c0 < c1:  # columns beyond [c0, c1) give values above thr: left at inf
                    # One row per end column (the transposed table): the minimum over the cuts
                    # runs along contiguous memory, about twice as fast as down the columns;
                    # argmin takes the first cut either way.
                    tr = trans.get(id(seg[b2]))
                    if tr is None:
                        tr = trans[id(seg[b2])] = np.ascontiguousarray(seg[b2].T)
                    m = np.maximum(tr[c0:c1, r0 + 1 : r1 + 1], a)
                    arg = m.argmin(axis=1)
                    newf[c0:c1] = m[cols[: c1 - c0], arg]  # (the minimum, without a second pass)
                    pj[c0:c1] = arg + (r0 + 1)
                if not c0 <= L < c1:  # the last column always: a plan's interval, even above ub
                    m = np.maximum(a, seg[b2][r0 + 1 : r1 + 1, L])
                    arg = int(m.argmin())
                    newf[L] = m[arg]
                    pj[L] = arg + r0 + 1
                if key in nxt:
                    old = states[nxt[key]]
                    better = newf < old.f  # (in place: a state's arrays are its own)
                    np.copyto(old.f, newf, where=better)
                    np.copyto(old.parent, si, where=better)
                    np.copyto(old.pj, pj, where=better)
                else:
                    states.append(_State(key[0], b2, newf, np.full(L + 1, si), pj))
                    nxt[key] = len(states) - 1
        level = list(nxt.values())
        for si in level:
            v = max(states[si].f[L], exit[states[si].last])
            if v < best[0]:
                best = (v, si)
        best_by_count[count] = best[0]
        ub = min(ub, best[0])
        if _fast is not None:
            level = [si for si in level if low[si] < ub]
        else:
            level = [si for si in level if (states[si].f[1:L] < ub).any()]
        if beam is not None and len(level) > beam and len(states) > exact_states:
            exact = False
            level.sort(key=lambda si: _rank(states[si].f, tau, L))
            level = level[:beam]
        if not level:
            break
    for c in range(1, max_boards + 1):
        best_by_count.setdefault(c, best_by_count.get(c - 1, np.inf))
    if best[1] < 0:
        return OrderResult(np.inf, [], [], exact, len(states), best_by_count)
    path, cuts = [], []
    si, j = best[1], L
    while si >= 0:
        st = states[si]
        path.append(st.last)
        pj = int(st.pj[j]) if st.parent[j] >= 0 else 0
        cuts.append(pj)
        si, j = int(st.parent[j]), pj
    path.reverse()
    cuts.reverse()
    return OrderResult(float(best[0]), path, cuts + [L], exact, len(states), best_by_count)



def _cuts(v: np.ndarray, L: int) -> np.ndarray:
    """v[1:L], as the compiled transition reads it (contiguous doubles; a view when v is)."""
    v = v[1:L]
    return v if v.dtype == np.float64 and v.flags.c_contiguous else np.ascontiguousarray(v, dtype=np.float64)


def _band(s: np.ndarray, thr: float, bands: dict, L: int) -> tuple[np.ndarray, np.ndarray]:
    """Per first layer j, the first and last end k with a finite ``s[j, k] <= thr``; (L + 1, -1)
    where there is none. A transition's columns outside the bands of its rows only give values
    above thr (max(a, s) >= s), which ``search`` uses nowhere but in the last column."""
    key = (id(s), thr)
    got = bands.get(key)
    if got is None and _fast is not None and s.ndim == 2 and s.shape[0] == s.shape[1] == L + 1:
        first, last = np.empty(L + 1, np.int64), np.empty(L + 1, np.int64)  # (the same in one pass: _fast.c)
        _fast.band(np.ascontiguousarray(s, dtype=np.float64), float(thr), first, last, L + 1)
        got = bands[key] = (first, last)
    if got is None:
        ok = (s <= thr) & (s < np.inf)
        has = ok.any(axis=1)
        first = np.where(has, np.argmax(ok, axis=1), L + 1)
        last = np.where(has, L - np.argmax(ok[:, ::-1], axis=1), -1)
        got = bands[key] = (first, last)
    return got

def _rank(f: np.ndarray, tau: float, L: int) -> tuple:
    """Smaller is better: place as many layers as possible within tau, then the lowest interval."""
    ok = np.nonzero(f[1:] <= tau)[0]
    reach = int(ok[-1]) + 1 if len(ok) else 0
    return (-reach, float(f[reach]) if reach else float(np.min(f[1:])))


def evaluate(seg: list[np.ndarray], link: dict, path: list[int], cuts: list[int],
             entry: np.ndarray | None = None, exit: np.ndarray | None = None) -> float:
    """Cluster interval of a given placement (boards ``path``, segment starts ``cuts`` + [L])."""
    v = 0.0
    if path and entry is not None:
        v = max(v, float(entry[path[0]]))
    if path and exit is not None:
        v = max(v, float(exit[path[-1]]))
    for i, b in enumerate(path):
        v = max(v, seg[b][cuts[i], cuts[i + 1]])
        if i:
            v = max(v, link[(path[i - 1], b)][cuts[i]])
    return float(v)
