"""Throughput-target search (``asymap plan --target-ips N``, with or without ``--lane-split``):
the fewest boards, then the fewest DSPs, reaching N images per second; with ``--lane-split`` one
conv/fc engine per SLR boundary may split its PE lanes.

Reading only the achievable tables (the segments the menus make real) overstates segments: the
target fell back to the fastest plan (every board it uses, ``exact`` false) where the exact inner
solve would have made fewer boards real (ResNet-152 on example16 at 2,500 img/s: 14 boards where
12 reach it). Here a segment meets tau = 1/N in one of two ways, each exactly as
``planner._board_plan`` builds it: its layers' cheapest menu rows at tau, or a choice of the
exact inner solve (``_settle``; with splits when ``split``) that meets tau, at its own DSPs. The
fewest boards over those segments is a plan; the same search over the lower tables (lane-split
ones when ``split``; every segment they do not rule out at tau, the ones not yet real charged
UNKNOWN each) gives the fewest boards any plan can have. When the two agree the board count is
proven (``exact``); otherwise the lower search's witness names segments to settle at tau (real,
or ruled out in the lower table) and the two searches run again, until they agree or
SPLIT_TARGET_WORK search states are spent (a settle that gives up leaves its segment out of the
lower search, which then proves nothing, until the two agree without it; it is then asked again
with four times the work). The DSPs are the fewest over the segments known (the menu rows, or the
exact solve's choice as it was made: for the interval, not for DSPs).
"""

from __future__ import annotations

import numpy as np

from asymap.partition.costmodel import OFFCHIP, ONCHIP, option_resources, split_resources, streamed_bytes
from asymap.partition.target import TargetResult, fewest_boards, masked_dsp

# A segment the lower table allows at tau but no known choice makes real: it costs this many DSPs
# in the lower search, so that among the plans with the fewest boards its witness needs the fewest
# such segments (DSP sums are below 1e9).
UNKNOWN = 1e12
# Search states the exact inner solve may spend settling witness segments at the target (a count:
# plans stay deterministic), and per segment.
SPLIT_TARGET_WORK = 4_000_000
SPLIT_TARGET_SETTLE = 100_000


def menu_dsp(pb, sub, tau: float) -> np.ndarray:
    """[L+1, L+1] DSPs of each segment at ``tau`` on one port width's tables ``sub`` built from
    its menus' rows, where ``_board_plan`` builds it so: the segment's first feasible interval in
    that weight mode (``t_cycles``, not moved by the exact solve) meets tau, on chip first, off
    chip only when its weights stream within tau."""
    spec = sub.spec
    tcyc = tau * spec.clock_hz
    tol = 1 + 1e-12
    on, off = sub.table.t_cycles[ONCHIP], sub.table.t_cycles[OFFCHIP]
    sec = np.concatenate([[0.0], np.cumsum(streamed_bytes(pb.infos))]) / (spec.mem_gbps * 1e9)
    stream = sec[None, :] - sec[:, None]
    on_ok = (on > 0) & (on <= tcyc * tol)
    off_ok = (off > 0) & (off <= tcyc * tol) & (stream <= tau * tol) & ~on_ok
    return masked_dsp(sub.menus, tcyc, ((ONCHIP, on_ok), (OFFCHIP, off_ok)))


def solve_target_split(pb, max_k: int, ips: float, work: int = SPLIT_TARGET_WORK, split: bool = True) -> TargetResult:
    """Fewest boards (then DSPs) of at most ``max_k`` meeting ``ips``, with lane splits allowed
    when ``split`` (else the plain target: the tables, lower tables and settles without splits);
    boards == 0 if none does (``exact``: proven none, else not decided within ``work``)."""
    from asymap.partition import planner as P

    if split:
        P._enable_split(pb)
    tau = 1.0 / ips
    tol = tau * (1 + 1e-12)
    ask = tau * (1 + 2e-12)  # _settle settles "below": its whole cycle counts are those within tau
    hx = {"entry": pb.host.entry, "exit": pb.host.exit} if pb.host is not None else {}
    subs = [list(tt.widths or [tt]) for tt in pb.types]
    menus = [[menu_dsp(pb, s, tau) for s in ss] for ss in subs]
    opt_dsp: dict = {}  # layer_dsp's memo
    known: dict = {}  # (t, w, j, k) -> (choice_dsp there, the choice objects it was made from)
    budget = P.Work(work)
    asked: set = set()  # (t, j, k) settled at tau: a witness naming one again is left out
    masked: set = set()  # segments left out of the lower search (a settle gave up): no proof then
    gave_up: set = set()  # the masked segments whose settle gave up (asked again before the end)
    per = SPLIT_TARGET_SETTLE  # work per settle

    def layer_dsp(t: int, w: int, li: int, md: int, oi: int, kind: int, lanes: int | None) -> float:
        """DSPs of layer li's option (both halves' when split, ``lanes`` in the first), memoized:
        the choices of one settle share most of their layers' options."""
        key = (t, w, li, md, oi, kind, lanes)
        if key not in opt_dsp:
            info, spec = (subs[t][w].infos or pb.infos)[li], subs[t][w].spec
            if lanes is None:
                opt_dsp[key] = float(option_resources(info, spec, md, [oi], [kind])[0][0])
            else:
                a, b = split_resources(info, spec, md, oi, kind, [lanes])
                opt_dsp[key] = float(a[0][0] + b[0][0])
        return opt_dsp[key]

    def choice_dsp(t: int, w: int, j: int, k: int) -> float:
        """DSPs of the exact solve's choice that ``_board_plan`` builds for segment j..k-1 at tau:
        the first of (without splits, with) meeting it (each fits its SLRs: the settle packed it)."""
        sub = subs[t][w]
        cs = (sub.choices.get((j, k)), sub.split_choices.get((j, k)))
        got = known.get((t, w, j, k))
        if got is None or got[1][0] is not cs[0] or got[1][1] is not cs[1]:  # (a settle since may replace one)
            got = known[(t, w, j, k)] = (_choice_dsp(t, w, j, k), cs)
        return got[0]

    def _choice_dsp(t: int, w: int, j: int, k: int) -> float:
        sub = subs[t][w]
        tcyc = tau * sub.spec.clock_hz * (1 + 1e-12)
        infos = sub.infos or pb.infos
        for c in (sub.choices, sub.split_choices):
            if (j, k) not in c:
                continue
            md, choice, spl = c[(j, k)]
            if md == OFFCHIP and P._stream_seconds(pb, t, j, k) > tol:
                continue
            got = 0.0
            for li, (info, (oi, kind)) in enumerate(zip(infos[j:k], choice), j):
                m = md if info.streams else ONCHIP
                cyc = info.options.cycles_off if m == OFFCHIP else info.options.cycles
                if cyc[oi] > tcyc:
                    break
                got += layer_dsp(t, w, li, md if li in spl else m, oi, kind, spl.get(li))  # (as _board_plan)
            else:
                return got
        return np.inf

    def achievable(t: int) -> tuple[np.ndarray, np.ndarray]:
        per = []
        for w, sub in enumerate(subs[t]):
            d = menus[t][w].copy()
            for j, k in set(sub.choices) | set(sub.split_choices):
                if not np.isfinite(d[j, k]) and sub.table.interval[j, k] <= tol:  # (some choice meets tau)
                    d[j, k] = choice_dsp(t, w, j, k)
            per.append(d)
        per = np.stack(per)
        pick = np.argmin(per, axis=0)  # (ties: the narrower width)
        return np.take_along_axis(per, pick[None], axis=0)[0], pick

    while True:
        ach = [achievable(t) for t in range(len(pb.types))]
        r = fewest_boards([ach[t][0] for t in pb.board_type], pb.link, pb.adj, tau, **hx)
        r.widths = [int(ach[pb.board_type[b]][1][j, k]) for b, j, k in zip(r.path, r.cuts, r.cuts[1:])]
        low = []
        for t in range(len(pb.types)):
            d = ach[t][0]
            lt = np.where(np.isfinite(d), d, np.where(pb.types[t].table.lower <= tol, UNKNOWN, np.inf))
            for tm, j, k in masked:
                if tm == t:
                    lt[: j + 1, k:] = np.where(np.isfinite(d[: j + 1, k:]), d[: j + 1, k:], np.inf)
            low.append(lt)
        lw = fewest_boards([low[t] for t in pb.board_type], pb.link, pb.adj, tau, **hx)
        proof = lw.exact and not masked
        if r.boards and r.boards <= max_k and lw.boards == r.boards and gave_up and budget.left > 0:
            # Only segments whose settles gave up stand between the plan and its proof: ask them
            # again with four times the work (as _tighten's retries).
            masked -= gave_up
            asked -= gave_up
            gave_up.clear()
            per *= 4
            continue
        if r.boards and r.boards <= max_k and (lw.boards == r.boards or budget.left <= 0):
            r.exact = r.exact and proof and lw.boards == r.boards
            return r
        if lw.boards == 0 or lw.boards > max_k:  # (lower: no plan within max_k meets tau)
            return TargetResult(0, np.inf, [], [], proof)
        if budget.left <= 0:
            return TargetResult(0, np.inf, [], [], False)
        wit = [(pb.board_type[b], j, k) for b, j, k in zip(lw.path, lw.cuts, lw.cuts[1:])
               if not np.isfinite(ach[pb.board_type[b]][0][j, k])]
        for t, j, k in wit:
            if (t, j, k) in asked or budget.left <= 0:
                masked.add((t, j, k))  # (settled already and still not real: e.g. streaming too slow)
                continue
            asked.add((t, j, k))
            part = P.Work(min(budget.left, per))
            ok, _ = P._settle(pb, t, j, ask, part, k)
            budget.left -= min(budget.left, per) - max(part.left, 0)
            if not ok:
                masked.add((t, j, k))
                gave_up.add((t, j, k))
