"""Plans deployment accepts: the planner's best plan avoiding what ``asymap generate`` refuses.

``asymap plan`` passes deployment's checks (codegen.deploy.check_deployable) to planner.plan as
``deployable``; this stage never imports codegen. A refusal (asymap.errors.DeployRefusal) names a
board, link ends on it and which plans share the refusal; :func:`children` turns that into the
branches that avoid it, :func:`forbid` takes a branch's elements out of the planner's Problem, and
:func:`deployable_search` / :func:`deployable_target` search the branches best-first (docs/deploy.md,
"Avoided where the plan is made").
"""

from __future__ import annotations

import dataclasses
import heapq

import numpy as np

from asymap.errors import DeployRefusal, UserError
from asymap.partition import planner
from asymap.partition.hostpath import route


# Re-plans the deployable search (``deployable_search``) may make: a count, so the plan does not
# depend on the machine. Each is one ``planner._solve`` on tables the earlier ones have tightened already.
DEPLOY_REPLANS = 24


def features(pb: planner.Problem, path: list[int]) -> list[tuple]:
    """(element, board, peer, role) of every link end plan ``path`` puts on a board: the pipeline
    link a -> b (element ("link", a, b)) and each hop of the host path's routes (("entry", first
    board) / ("exit", last board): the route is fixed by that board, hostpath.route). Each element
    is what :func:`forbid` can take away from the search."""
    out = []
    for a, b in zip(path, path[1:]):
        out += [(("link", a, b), a, b, "out"), (("link", a, b), b, a, "in")]
    hr = pb.host
    if hr is not None and hr.attach >= 0 and path:
        for key, end, inbound in (("entry", path[0], True), ("exit", path[-1], False)):
            r = route(hr, end, inbound)
            out += [x for a, b in zip(r, r[1:]) for x in (((key, end), a, b, "out"), ((key, end), b, a, "in"))]
    return out


def giving(pb: planner.Problem, board: int, peer: int) -> set:
    """Every element (see :func:`features`) that links ``board`` with ``peer`` in any plan, either
    way: the pipeline link both ways, and each first / last board whose host route crosses it."""
    out = {("link", board, peer), ("link", peer, board)} if peer in pb.adj[board] else set()
    hr = pb.host
    if hr is not None and hr.attach >= 0:
        for key, inbound in (("entry", True), ("exit", False)):
            for end in range(len(pb.adj)):
                r = route(hr, end, inbound)
                if any({a, b} == {board, peer} for a, b in zip(r, r[1:])):
                    out.add((key, end))
    return out


def children(pb: planner.Problem, path: list[int], refusal: UserError) -> list[set] | None:
    """What to forbid in each branch that avoids a refusal of plan ``path`` (one set per branch),
    following its DeployRefusal rule; None if it names nothing a re-plan could avoid (a refusal of
    something else, e.g. a wrong deploy block).

    "features": each element of this plan producing the named ends, one branch each; "all": per
    named peer, everything that gives the board that peer, one branch each; "any": everything that
    gives it any named peer, one branch. Every plan the refusal's rule covers has something each
    branch forbids; every other plan keeps at least one branch."""
    if not isinstance(refusal, DeployRefusal):
        return None
    names = [b.name for b in pb.cluster.boards]
    pos = {nm: i for i, nm in enumerate(names)}
    if refusal.board not in pos:
        return None
    x = pos[refusal.board]
    if refusal.rule == "features":
        ends = set(refusal.ends)
        got = {e for e, a, peer, role in features(pb, path) if a == x and (names[peer], role) in ends}
        return [{e} for e in sorted(got)] or None
    peers = sorted({pos[p] for p, _ in refusal.ends if p in pos})
    groups = [giving(pb, x, p) for p in peers]
    if not peers or not all(groups):
        return None
    return [set().union(*groups)] if refusal.rule == "any" else groups


def forbid(pb: planner.Problem, forbidden) -> planner.Problem:
    """``pb`` without the elements ``forbidden`` (see :func:`features`): a forbidden pipeline link
    a -> b costs infinity that way (b -> a stays), a forbidden entry / exit makes that board unable
    to be the first / last. The segment tables are shared (what the exact solve learns about a
    segment holds for every topology)."""
    link, host = pb.link, pb.host
    if any(e[0] == "link" for e in forbidden):
        link = dict(pb.link)
    entry = exit_ = None
    for e in forbidden:
        if e[0] == "link":
            link[(e[1], e[2])] = np.full_like(pb.link[(e[1], e[2])], np.inf)
        elif e[0] == "entry":
            entry = host.entry.copy() if entry is None else entry
            entry[e[1]] = np.inf
        else:
            exit_ = host.exit.copy() if exit_ is None else exit_
            exit_[e[1]] = np.inf
    if entry is not None or exit_ is not None:
        host = dataclasses.replace(host, entry=host.entry if entry is None else entry,
                                   exit=host.exit if exit_ is None else exit_)
    return dataclasses.replace(pb, link=link, host=host)


def parts(pb: planner.Problem, forbidden, boards) -> list[frozenset]:
    """The connected parts of ``boards`` over the links ``forbidden`` leaves (either way): a pipeline
    is a path, so each plan lies within one part, and a branch's plans are the union of its parts'."""
    pos = sorted(boards)
    part = {b: b for b in pos}

    def root(a: int) -> int:
        while part[a] != a:
            part[a] = part[part[a]]
            a = part[a]
        return a

    for a in pos:
        for b in pb.adj[a]:
            if b in part and (("link", a, b) not in forbidden or ("link", b, a) not in forbidden):
                part[root(a)] = root(b)
    out: dict[int, set] = {}
    for a in pos:
        out.setdefault(root(a), set()).add(a)
    return [frozenset(v) for _, v in sorted(out.items())]


def _inside(e: tuple, boards: frozenset) -> bool:
    return all(b in boards for b in e[1:])


def restrict(pb: planner.Problem, forbidden, boards: frozenset) -> planner.Problem:
    """``pb`` without ``forbidden`` (:func:`forbid`) and without the boards outside ``boards``: their
    segments and links cost infinity (and, with a host, they cannot be first or last). What the
    exact solve learns about a segment is still shared (the tables are the board types')."""
    pf = forbid(pb, forbidden)
    out = [b for b in range(len(pb.adj)) if b not in boards]
    if not out:
        return pf
    link = {k: (v if k[0] in boards and k[1] in boards else np.full_like(v, np.inf)) for k, v in pf.link.items()}
    seg = [v if b in boards else np.full_like(v, np.inf) for b, v in enumerate(pf.seg)]
    host = pf.host
    if host is not None and host.attach >= 0:
        entry, exit_ = host.entry.copy(), host.exit.copy()
        entry[out] = np.inf
        exit_[out] = np.inf
        host = dataclasses.replace(host, entry=entry, exit=exit_)
    return dataclasses.replace(pf, link=link, seg=seg, host=host)


def _part_bound(pb: planner.Problem, boards: frozenset, k: int) -> float:
    """bounds.py's relaxation for plans on at most ``k`` of ``boards`` (their board types only):
    a part of two cards is bounded by what two cards can do, far above what nine can."""
    from asymap.partition.bounds import lower_bounds

    counts = [0] * len(pb.types)
    for b in boards:
        counts[pb.board_type[b]] += 1
    v = lower_bounds([t.table.lower for t in pb.types], counts, pb.cut_link_min, k)[k - 1]
    if pb.host is not None and pb.host.attach >= 0:
        v = max(v, float(pb.host.entry.min()), float(pb.host.exit.min()))
    return float(v)


# Times a sub-problem whose search ended above its bound (the exact inner solve's work ran out) may be
# taken up again while that bound is below the best accepted plan: each time with the tables the
# other sub-problems have tightened since (ResNet-50 224 px on nine U50s, the host on b4: its two-card
# parts end at a 74 % gap searched once each).
RESUMES = 1

# Sub-problems the deployable search may visit in all (searched or answered by bound alone): a count,
# a guard against refusal patterns whose branches multiply.
DEPLOY_BRANCHES = 400


class DeployUndecided(UserError):
    """No plan deployment accepts was found before the re-plan cap, with branches left open (one
    of them may hold one): the search did not decide, which is not the same as a refusal."""


def deployable_search(pb: planner.Problem, graph, root: planner.OrderResult, root_lb: float, max_k: int, beam,
                       exact_boards: int, deployable, refusal: UserError) -> tuple:
    """The best plan ``deployable`` accepts, its proven bound, and what the search did.

    A refused plan's refusal names link ends (codegen.deploy's DeployRefusal) and which plans share
    it. Branch (:func:`children`): re-plan once without each source of the conflict
    (:func:`forbid`), e.g. once without one of two links on one cage and once without the other.
    Every deployable plan lacks one of the sources, so it lies in some branch: the best deployable
    plan over all branches is the deployable optimum, and the least bound over the branches left
    (open, or closed by a deployable plan whose own search left a gap) is its bound.

    Work is shared between branches (docs/deploy.md): a branch whose links split the topology is
    searched part by part (:func:`parts`; a plan lies within one part), and a part is a sub-problem
    of its own (its boards and what is forbidden among them), searched once however many branches
    reach it, on at most as many boards as it has, from the bound of that many boards
    (:func:`_part_bound`). Sub-problems are taken best-first by bound (ties: the smaller part first,
    whose plans are more often accepted) and stop once none can beat the best deployable plan, or
    after DEPLOY_REPLANS re-plans (``capped``: the plan is the best deployable one found, the bound
    still honest). A refusal naming no element (e.g. a wrong deploy block) leaves its branch open
    with its bound; if nothing is accepted, the first refusal is raised, or
    :class:`DeployUndecided` when the cap left sub-problems open."""
    heap: list = []
    seen: set = set()
    leaves: list[float] = []  # bounds of sub-problems closed without children
    order = [0]
    everything = frozenset(range(len(pb.adj)))

    def branch(forbidden: frozenset, boards: frozenset, why: UserError, path: list[int], bound: float) -> None:
        kids = children(pb, path, why)
        if kids is None:
            leaves.append(bound)
            return
        for kid in kids:
            f = forbidden | kid
            for part in parts(pb, f, boards):
                key = (part, frozenset(e for e in f if _inside(e, part)))
                if key not in seen:
                    seen.add(key)
                    k = min(max_k, len(part))
                    order[0] += 1
                    heapq.heappush(heap, (max(bound, _part_bound(pb, part, k)), len(part), order[0], key))

    def refused_by(res: planner.OrderResult) -> UserError | None:
        bplans, lplans, host_path, _ = planner._expand(pb, graph, res, res.interval, [None] * len(res.path))
        return planner._refusal(deployable, graph, bplans, lplans, host_path)

    resumed: dict = {}  # sub-problem -> times it was taken up again (RESUMES)

    def close(lb: float, key) -> None:
        """A sub-problem searched: its bound is a leaf, or, while it is below the best accepted plan and
        the sub-problem was taken up fewer than RESUMES times, it goes back on the heap at that bound:
        what later sub-problems settle in the shared tables often lets it be proven."""
        if best is not None and lb < best.interval * (1 - 1e-12) and resumed.get(key, 0) < RESUMES:
            resumed[key] = resumed.get(key, 0) + 1
            order[0] += 1
            heapq.heappush(heap, (lb, len(key[0]), order[0], key))
        else:
            leaves.append(lb)

    branch(frozenset(), everything, refusal, root.path, planner._proven_bound(pb, root, root_lb, max_k))
    best, replans, refused, capped, unsure = None, 0, 1, False, 0
    while heap:
        bound, _, _, (boards, forbidden) = heap[0]
        if best is not None and bound >= best.interval * (1 - 1e-12):
            break  # no branch left can beat the best deployable plan
        if replans >= DEPLOY_REPLANS or order[0] >= DEPLOY_BRANCHES:
            capped = True
            break
        heapq.heappop(heap)
        replans += 1
        pf = restrict(pb, forbidden, boards)
        k = min(max_k, len(boards))
        # The outer search alone first: when deployment refuses its plan, the sub-problem branches
        # at the bound it was queued at, and the exact inner solve is spent only where a plan may be
        # accepted (tightening a refused plan proves nothing the children need).
        quick = planner.solve_order(pf, k, bound, beam=beam, exact_boards=exact_boards)
        why = refused_by(quick) if np.isfinite(quick.interval) else None
        if why is not None:
            refused += 1
            branch(forbidden, boards, why, quick.path, bound)
            continue
        if np.isfinite(quick.interval) and (best is None or quick.interval < best.interval):
            best = quick  # accepted, and real: a plan of the achievable tables
        if best is None:  # no plan of the achievable tables: the exact solve decides (planner._solve)
            res, lb = planner._solve(pf, k, bound, beam, exact_boards)
        else:  # only a plan faster than the best accepted one matters: tighten towards it
            widths = max((len(tt.widths) for tt in pb.types), default=0)
            start = best if best is quick else planner.OrderResult(best.interval, [], [], False)
            res, lb = planner._tighten(pf, start, bound, k, beam, exact_boards, planner.REFINE_WORK * (1 + widths))
            if not res.path:  # none faster found: the bound reached covers the sub-problem
                close(lb, (boards, forbidden))
                continue
        if not np.isfinite(res.interval):
            leaves.append(lb)  # infinite when proven empty
            unsure += bool(np.isfinite(lb))  # (finite: the work ran out before it decided)
            continue
        lb = planner._proven_bound(pf, res, lb, k)
        why = refused_by(res) if res is not quick else None
        if why is None:
            if best is None or res.interval < best.interval:
                best = res
            close(lb, (boards, forbidden))
        else:
            refused += 1
            branch(forbidden, boards, why, res.path, lb)
    info = {"replans": replans, "refused": refused, "capped": capped, "max_replans": DEPLOY_REPLANS}
    if best is None:
        if capped:
            raise DeployUndecided(
                f"not decided within {DEPLOY_REPLANS} re-plans around the plans deployment refuses: none it accepts "
                f"was found, and {len(heap)} branch(es) that may hold one were left open; the fastest plan is "
                f"refused: {refusal}")
        if unsure:  # a sub-problem's exact inner solve ran out of work with no plan: it may hold one
            raise DeployUndecided(
                f"not decided around the plans deployment refuses: none it accepts was found, and the exact "
                f"search of {unsure} part(s) of the cluster ran out of work before deciding whether one holds "
                f"an accepted plan; the fastest plan is refused: {refusal}")
        raise refusal
    bound = min([best.interval] + leaves + [b for b, _, _, _ in heap])
    return best, bound, info


def deployable_target(pb: planner.Problem, graph, tgt, max_k: int, ips: float, deployable,
                       refusal: UserError) -> tuple[object | None, dict]:
    """``--target-ips``: the fewest boards, then DSPs, reaching ``ips`` among the plans
    ``deployable`` accepts (None if no accepted plan reaches it), and what the search did.

    The same branching as :func:`deployable_search`, ordered by (boards, DSPs): a branch's plans
    need at least what its parent's search found, so the first accepted plan no open branch can
    beat is the target optimum (``exact`` as the fewest-boards search's, and False when
    DEPLOY_REPLANS stopped the branching)."""
    heap: list = []
    seen: set = set()
    order = [0]

    def branch(forbidden: frozenset, why: UserError, r) -> bool:
        kids = children(pb, r.path, why)
        for kid in (forbidden | k for k in kids or ()):
            if kid not in seen:
                seen.add(kid)
                order[0] += 1
                heapq.heappush(heap, ((r.boards, r.dsp), order[0], kid))
        return kids is not None

    closed = branch(frozenset(), refusal, tgt)  # a refusal naming nothing: no accepted plan is proven best
    best, replans, refused, capped, exact = None, 0, 1, False, bool(tgt.exact) and closed
    while heap:
        key, _, forbidden = heap[0]
        if best is not None and key >= (best.boards, best.dsp):
            break
        if replans >= DEPLOY_REPLANS:
            capped = True
            break
        heapq.heappop(heap)
        replans += 1
        r = planner._solve_target(forbid(pb, forbidden), max_k, ips)
        exact &= bool(r.exact)
        if not r.boards:
            continue
        res = planner.OrderResult(1.0 / ips, r.path, r.cuts, r.exact)
        bplans, lplans, host_path, _ = planner._expand(pb, graph, res, res.interval, r.widths)
        why = planner._refusal(deployable, graph, bplans, lplans, host_path)
        if why is None:
            if best is None or (r.boards, r.dsp) < (best.boards, best.dsp):
                best = r
        else:
            refused += 1
            exact &= branch(forbidden, why, r)
    info = {"replans": replans, "refused": refused, "capped": capped, "max_replans": DEPLOY_REPLANS}
    if best is not None:
        best = dataclasses.replace(best, exact=exact and not capped)
    return best, info
