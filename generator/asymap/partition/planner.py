"""``plan(graph, cluster)``: the highest-throughput mapping of a layer chain onto a cluster.

Pipeline of the planner (each step in its own module):
1. costmodel: per layer, per board type, per weight mode, a monotone menu of factor choices;
2. segments: the exact best interval of every contiguous segment on every board type;
3. bounds: a lower bound from the relaxation that ignores topology and board order;
4. order: the exact subset DP (<= EXACT_BOARDS boards) or its beam version (beyond), both over
   paths of the topology, link costs of every tensor crossing a cut included;
4b. ``_tighten``: the exact inner solve over the raw options (segments.Knapsack) settles the
   segments a better plan or the bound depends on: a better plan, or the proof that there is none;
5. the chosen plan is expanded into plan.json: per layer factors and resources, per board and link
   intervals, the bottleneck, the baselines, and the honest ``optimal``/``gap_bound``;
5b. given deployment's checks (``deployable``), a refused plan is avoided exactly: re-plans that
   each forbid one source of the refusal, best-first by bound (partition/deployable.py).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import itertools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from asymap.cluster.load import Cluster
from asymap.linkproto import link_width_bits
from asymap.errors import UserError
from asymap.frontend.ir import Graph
from asymap.partition import baselines as bl
from asymap.partition.bounds import lower_bounds
from asymap.partition.costmodel import link_buffer_bram36, link_cmac_packets, link_seconds, link_wire_beats
from asymap.partition.ffmodel import check_ffs, ff_available, kernel_estimates, layers_ffs
from asymap.partition.slrcross import charge_crossing_latency, check_crossings
from asymap.partition.transport import (
    charge_credits, charge_link_kernels, charge_transport, has_transport, link_kernel_reserve, transport_reserve,
)
from asymap.partition.costmodel import (
    MAC_KINDS, MODES, NO_MAC, OFFCHIP, ONCHIP, RES, board_menus, layer_infos, mac_cost, option_resources, option_rows,
    resource_class,
    pack_slrs, port_beats, requant_dsps, slr_budget, split_resources, streamed_bytes, weight_place,
)
from asymap.partition.hostpath import HostRoutes, host_routes, route
from asymap.partition.order import EXACT_BOARDS, EXACT_STATES, OrderResult, search
from asymap.partition.planfile import BoardPlan, LayerPlan, LinkPlan, Plan, _plain, load_plan  # noqa: F401
from asymap.partition.segments import SegmentTable, Work, choose, segment_tables
from asymap.partition.speculate import SettleHelper
from asymap.lanes import DEFAULT_PORT_LANES, PORT_LANE_CHOICES, port_lanes
from asymap.util.forked import map_two

DEFAULT_BEAM = 48


@dataclass
class _TypeTables:
    spec: object
    budget: np.ndarray
    menus: tuple  # (onchip menus, offchip menus)
    table: object  # SegmentTable
    settled: dict = field(default_factory=dict)  # (j, v) -> the end up to which segments from j were settled against v (planner._settle)
    knaps: dict = field(default_factory=dict)  # weight mode -> (segments.Knapsack, option maps)
    choices: dict = field(default_factory=dict)  # (j, k) -> (mode, [(option, MAC kind)], {}) of exact solutions
    split_choices: dict = field(default_factory=dict)  # the same with lane splits ({layer: lanes in its first SLR})
    reached: dict = field(default_factory=dict)  # (j, width, mode) -> [(T cycles, reach, end asked)] (_reach_below)
    # Port widths (lanes.PORT_LANE_CHOICES): a board type's entry holds one _TypeTables per width
    # in ``widths`` (each with its own ``infos``, menus and table, ``lanes`` its width) and, in
    # ``table``, their per-segment best (``width_of[j, k]``: the index of the width that gives it).
    lanes: int = DEFAULT_PORT_LANES
    infos: list | None = None
    widths: list = field(default_factory=list)
    width_of: np.ndarray | None = None


@dataclass
class Problem:
    """Everything the searches need, built once per (graph, cluster, util)."""

    graph: Graph
    cluster: Cluster
    infos: list
    types: list[_TypeTables]
    board_type: list[int]  # board index -> type index
    seg: list[np.ndarray]  # board index -> interval matrix
    link: dict  # (a, b) -> seconds per cut position
    adj: list[list[int]]
    cut_bytes: np.ndarray  # [L+1]: bytes crossing a cut after p layers
    cut_link_min: np.ndarray
    util: float
    host: HostRoutes | None = None
    # port width -> the layers' option rows and resources (costmodel.option_rows) the menus were
    # built from, for the exact inner solve (_layer_options)
    rows: dict | None = None
    # type index -> baselines.reuse_interval of its board at ``util`` (the reuse_single baseline:
    # independent of the search, so built with the tables, on the second core when there is one)
    reuse: list | None = None
    lane_split: bool = False  # lane-split engines may cross SLR boundaries (docs/cost-model.md)
    split: bool = False  # the tables and knapsacks are in lane-split mode (``_enable_split``)
    # (infos, prefix sums of their streamed weight bytes): _stream_seconds, built on first use
    streamed: tuple | None = None


def _cut_bytes(graph: Graph) -> np.ndarray:
    """Bytes crossing a cut placed after p layers, p = 0..L (one sweep, not L calls)."""
    L = len(graph.layers)
    sizes = {t: int(np.prod(s)) for t, s in graph.tensor_shapes.items()}
    diff = np.zeros(L + 2, np.int64)
    for t, p in graph.producer.items():
        last = graph.last_use.get(t, -2)
        if last > p:  # live for cuts after layers p..last-1, i.e. positions p+1..last
            diff[p + 1] += sizes[t]
            diff[last + 1] -= sizes[t]
    return np.cumsum(diff)[: L + 1]


def build_problem(graph: Graph, cluster: Cluster, util: float = 0.8, pad: bool = True,
                  split: bool = False) -> Problem:
    """``split``: one conv/fc engine per SLR boundary may split its PE lanes over the two SLRs
    (costmodel.split_resources); False plans as if no engine could straddle a boundary."""
    if not graph.layers:
        raise UserError(f"{graph.name}: the model has no layers to place")
    if not 0 < util <= 1:
        raise UserError(f"--util must be in (0, 1], got {util}")
    infos = layer_infos(graph, pad)
    keys: dict = {}
    board_type = []
    for b in cluster.boards:
        board_type.append(keys.setdefault(b.spec.cost_key(), len(keys)))
    specs = {}
    for b, t in zip(cluster.boards, board_type):
        specs.setdefault(t, b.spec)
    wbytes = streamed_bytes(infos)
    by_width = {w: infos if w == DEFAULT_PORT_LANES else layer_infos(graph, pad, w, like=infos) for w in port_widths(graph)}

    def tables(job: tuple[int, tuple]) -> tuple:
        """Board type t's menus at port widths ``ws``, their segment tables, the option rows this
        call added to ``rows_of`` and the type's budget per SLR."""
        t, ws = job
        spec = specs[t]
        budget = np.maximum(0, slr_budget(spec, util) - transport_reserve(cluster, board_type, t, spec.slrs)
                            - link_kernel_reserve(graph, cluster, board_type, t, spec.slrs))  # per SLR
        menus = {}
        had = {w: len(rows_of[w]) for w in ws}
        for w in ws:
            same: dict = {}  # a layer that never streams has one menu in both weight modes
            menus[w] = (board_menus(by_width[w], spec, ONCHIP, same, rows_of[w]),
                        board_menus(by_width[w], spec, OFFCHIP, same, rows_of[w]))
        new_rows = {w: dict(list(rows_of[w].items())[had[w]:]) for w in ws}  # (dicts keep insertion order)
        return (menus, segment_tables(list(menus.values()), budget, spec.clock_hz, wbytes, spec.mem_gbps * 1e9,
                                      None, spec.slrs, split), new_rows, budget, bl.reuse_interval(graph, spec, util))

    # On two cores: a forked child and this process share the jobs out (util.forked.map_two: each
    # takes the next job when it is free; the same result). A job is a board type at all its widths
    # (their tables share one sweep), largest first (_table_cost), then the links and the host path.
    # (Splitting a single type's widths was tried: on u280x16 the fork's overhead, ~0.15 s of CPU,
    # is as large as the work.) Types of one costmodel.resource_class share their layers' option
    # resources (``rows_of``, one copy per process).
    rows_of: dict = {w: {} for w in by_width}
    widths = tuple(by_width)
    order = sorted(range(len(specs)), key=lambda t: (_table_cost(specs[t]), -t), reverse=True)

    def job(j: tuple):
        return _links(graph, cluster) if j[0] == "links" else tables(j[1:])

    jobs = [("tables", t, widths) for t in order] + [("links",)]
    # (one board type: nothing worth a second process, whose start costs about what the links do)
    got = map_two(job, jobs) if len(order) > 1 else [job(j) for j in jobs]
    per_type: dict = {}
    reuse: list = [None] * len(specs)
    for t, (menus, tabs, new_rows, budget, reuse[t]) in zip(order, got):
        for w, d in new_rows.items():  # the rows a forked child built (the search reads them too)
            for k, v in d.items():
                rows_of[w].setdefault(k, v)
        per_type[t] = [_TypeTables(specs[t], budget, menus[w], tab, lanes=w, infos=by_width[w])
                       for w, tab in zip(menus, tabs)]
    types = [_merge_widths(per_type[t]) for t in range(len(specs))]
    cb = _cut_bytes(graph)
    link, adj, lmin, hr = got[-1]
    return Problem(graph, cluster, infos, types, board_type, [types[t].table.interval for t in board_type],
                   link, adj, cb, lmin, util, hr, rows_of, reuse, lane_split=split)


def _table_cost(spec) -> tuple:
    """A board type's table building cost, for ordering the jobs (largest first): each extra SLR
    composes the reach once more, and more resources mean more candidate intervals that fit."""
    return (spec.slrs, spec.dsp * spec.macs_per_dsp)


def _links(graph: Graph, cluster: Cluster) -> tuple:
    """Every link's seconds per image at each cut position (both directions), the adjacency, the
    least link time per cut, and the host's routes (HostRoutes or None)."""
    L = len(graph.layers)
    names = [b.name for b in cluster.boards]
    pos = {n: i for i, n in enumerate(names)}
    link = {}
    adj: list[list[int]] = [[] for _ in names]
    lmin = np.full(L + 1, np.inf)
    wire: dict[int, tuple] = {}  # width -> (beats, CMAC packets) per cut
    cages: dict = {}  # transport.has_transport's memo
    for ln in cluster.links:
        a, b = pos[ln.a], pos[ln.b]
        clk = min(cluster.boards[a].spec.clock_hz, cluster.boards[b].spec.clock_hz)
        w = link_width_bits(ln.gbps, clk / 1e6)
        if w not in wire:
            wire[w] = link_wire_beats(graph, w), link_cmac_packets(graph, w)
        v = link_seconds(wire[w][0], w, ln.gbps, ln.latency_ns, clk, wire[w][1],
                         credits=all(has_transport(cluster.boards[x], ln.gbps, cages) for x in (a, b)))
        link[(a, b)] = link[(b, a)] = v
        adj[a].append(b)
        adj[b].append(a)
        lmin = np.minimum(lmin, v)
    for a in adj:
        a.sort()
    in_bytes = int(np.prod(graph.input_shape))
    out_bytes = int(np.prod(graph.tensor_shapes.get(graph.output, (0,))))
    return link, adj, lmin, host_routes(cluster, in_bytes, out_bytes)


def _enable_split(pb: Problem) -> bool:
    """Put the problem in lane-split mode (once; False when it is already, or has no multi-SLR
    board type): each lower table becomes its lane-split relaxation (``lower_split``, at most the
    achievable table as it stands: the plans found so far are real with splits too), the settle
    memos made without splits are dropped (single-SLR types keep their tables and memos: no
    split happens there), and the knapsacks get their splits
    (segments.reach_slrs' ``halves``). The single-SLR knapsack answers stay (splits change what
    an SLR holds at its ends, not whether given layers fit one SLR)."""
    if getattr(pb, "split", False) or not getattr(pb, "lane_split", False):
        return False
    if not any(tt.table.lower_split is not None for tt in pb.types):
        return False
    for t, tt in enumerate(pb.types):
        if tt.spec.slrs <= 1:  # (no split there: its tables, settles and reaches stand)
            continue
        for sub in [tt] + list(tt.widths):
            tab = sub.table
            if tab.lower_split is not None:
                tab.lower = np.minimum(tab.lower_split, tab.interval)
            sub.settled.clear()
            sub.reached.clear()
    pb.split = True
    for t, tt in enumerate(pb.types):
        for w, sub in enumerate(tt.widths or [tt]):
            for md, (ks, maps) in sub.knaps.items():
                ks.splits = sub.spec.slrs > 1
                if ks.splits:
                    ks.halves = _halves(pb, t, md, w, ks, maps)
    pb.seg = [pb.types[t].table.interval for t in pb.board_type]
    return True


def port_widths(graph: Graph) -> list[int]:
    """The port widths worth a segment table for this graph: 8 channels per beat, and each wider
    choice of lanes.PORT_LANE_CHOICES that widens some tensor's port (else its table is the same)."""
    cs = {int(s[0]) for s in graph.tensor_shapes.values()}
    out = [DEFAULT_PORT_LANES]
    for w in PORT_LANE_CHOICES:
        if w > out[-1] and any(port_lanes(c, w) > port_lanes(c, out[-1]) for c in cs):
            out.append(w)
    return out


def _merge_widths(subs: list[_TypeTables]) -> _TypeTables:
    """One board type over several port widths: each segment takes the width with the best
    achievable interval (ties: the narrower); its lower bound is the least of the widths' lower
    bounds (the exact optimum over widths is the least of the exact optima)."""
    if len(subs) == 1:
        return subs[0]
    ach = np.stack([s.table.interval for s in subs])
    pick = np.argmin(ach, axis=0)  # first minimum: the narrowest width on ties

    def take(a):
        return np.choose(pick, a)

    splits = [s.table.lower_split for s in subs]
    tab = SegmentTable(interval=take([s.table.interval for s in subs]), mode=take([s.table.mode for s in subs]),
                       onchip=np.min(np.stack([s.table.onchip for s in subs]), axis=0),
                       lower=np.min(np.stack([s.table.lower for s in subs]), axis=0), t_cycles=subs[0].table.t_cycles,
                       lower_split=None if any(x is None for x in splits) else np.min(np.stack(splits), axis=0))
    return _TypeTables(subs[0].spec, subs[0].budget, subs[0].menus, tab, infos=subs[0].infos, widths=subs,
                       width_of=pick)


def _at(pb: Problem, t: int, j: int, k: int) -> _TypeTables:
    """The tables of board type t at the port width segment j..k-1 takes."""
    tt = pb.types[t]
    return tt.widths[int(tt.width_of[j, k])] if tt.widths else tt


def _width(pb: Problem, t: int, w: int) -> _TypeTables:
    """Board type t's tables at its w-th port width (the type itself when it has one width)."""
    tt = pb.types[t]
    return tt.widths[w] if tt.widths else tt


def _bounds(pb: Problem, max_k: int, every: bool = True) -> list[float | None]:
    """bounds.py's lower bound on 1..max_k boards (``every=False``: on max_k only, the others
    None) over the current lower tables, and the host path's floor."""
    counts = [0] * len(pb.types)
    for t in pb.board_type:
        counts[t] += 1
    lbs = lower_bounds([t.table.lower for t in pb.types], counts, pb.cut_link_min, max_k, every)
    if pb.host is not None and pb.host.attach >= 0:  # some board takes the image, some returns it
        floor = max(float(pb.host.entry.min()), float(pb.host.exit.min()))
        lbs = [None if v is None else max(v, floor) for v in lbs]
    return lbs


def solve_order(pb: Problem, max_boards: int, lb: float, beam: int | None = DEFAULT_BEAM, exact_boards: int = EXACT_BOARDS):
    """Exact search for small clusters; beam search (best of a few targets) beyond."""
    n = len(pb.cluster.boards)
    hx = {"entry": pb.host.entry, "exit": pb.host.exit} if pb.host is not None else {}
    if n <= exact_boards:
        return search(pb.seg, pb.link, pb.adj, max_boards, beam=None, **hx)
    best = None
    # Targets from the lower bound upwards; a target above the best plan found cannot help.
    taus = [lb * f for f in (1.0, 1.03, 1.1, 1.25, 1.5)] if np.isfinite(lb) else [np.inf]
    for tau in taus:
        if best is not None and (best.exact or best.interval <= lb or tau >= best.interval):
            break
        r = search(pb.seg, pb.link, pb.adj, max_boards, beam=beam, tau=tau, exact_states=EXACT_STATES, **hx)
        if best is None or r.interval < best.interval or (r.exact and r.interval == best.interval):
            best = r
    # Still unproven: widen the beam. Branch-and-bound often keeps the state count small enough
    # that a wider beam never drops a state, and then the search is exact after all.
    for wide in (beam * 4, beam * 16):
        if best.exact or best.interval <= lb:
            break
        # Only plans at least as good as the best one can survive the bound: if this search is
        # exact and finds nothing, the best plan is proven optimal.
        r = search(pb.seg, pb.link, pb.adj, max_boards, beam=wide, tau=lb, ub=best.interval * (1 + 1e-12),
                   exact_states=EXACT_STATES, **hx)
        if r.exact:
            if not (np.isfinite(r.interval) and r.interval <= best.interval):
                r = OrderResult(best.interval, best.path, best.cuts, True, best.states + r.states, best.best_by_count)
            best = r
        elif r.interval < best.interval:
            best = r
    return best


def _search(pb: Problem, max_k: int, lb: float, beam, exact_boards: int,
            refine: int | None = None) -> tuple[OrderResult, float]:
    """The best plan on at most ``max_k`` boards and a proven bound: the outer search over every
    board type's per-segment best width, tightened by the exact inner solve (``_tighten``) with
    REFINE_WORK per port width and one more (a count, so the plan does not depend on the machine).

    Why one pass over all widths: the bisecting tightening refines the segments the plans and
    the bound point to at every width at once. Searching and tightening each uniform width first
    (as the planner did before) spent most of the work where no better plan was: ResNet-152 on
    example16 ended at 2,618.7 images/s with a 5.93 % gap; one pass with the same total work
    proves 2,711.0 optimal in about half the search time (ring8: 2,827.7 proven, against
    2,748.5 at a 4.86 % gap)."""
    widths = max((len(tt.widths) for tt in pb.types), default=0)
    res = solve_order(pb, max_k, lb, beam=beam, exact_boards=exact_boards)
    if np.isfinite(res.interval):
        res, lb = _tighten(pb, res, lb, max_k, beam, exact_boards, (refine or REFINE_WORK) * (1 + widths))
    # A proven optimum on fewer boards, if the exact solve finds one within FEWER_WORK (it frees
    # boards: u280x16's optimum runs on 14 of its 16; the bound on max_k boards bounds fewer).
    while np.isfinite(res.interval) and lb >= res.interval * (1 - 1e-12) and len(res.path) > 1:
        k = len(res.path) - 1
        r = solve_order(pb, k, lb, beam=beam, exact_boards=exact_boards)
        if np.isfinite(r.interval) and r.interval > res.interval:
            r = _tighten(pb, r, lb, k, beam, exact_boards, min(FEWER_WORK, REFINE_WORK))[0]
        if not r.interval <= res.interval:
            break
        res = r
    return res, lb


FEWER_WORK = 20_000  # (at most REFINE_WORK: REFINE_WORK = 0 plans with the menus only)


def _solve_target(pb: Problem, max_k: int, ips: float, bound: float = 0.0):
    """Fewest boards (then DSPs) of at most ``max_k`` meeting ``ips``; boards == 0 if none can.
    target_split.py's settle-based search, with lane splits when ``Problem.lane_split``;
    ``bound``: a proven lower bound on the interval (above 1/ips: proven that none can)."""
    from asymap.partition.target import TargetResult
    from asymap.partition.target_split import solve_target_split

    if bound > (1.0 / ips) * (1 + 1e-12):
        return TargetResult(0, np.inf, [], [], True)
    return solve_target_split(pb, max_k, ips, split=bool(getattr(pb, "lane_split", False)))


def _proven_bound(pb: Problem, r: OrderResult, lb: float, max_k: int) -> float:
    """The best proven lower bound on the true optimum with at most ``max_k`` boards, from the
    lower tables as they stand (tightened by ``_tighten``): every entry is at most the segment's
    exact optimum, so the exact outer search over them (small clusters, or any cluster whose
    topology keeps the search within order.EXACT_STATES) and bounds.py are valid bounds. Where the
    two tables agree on every segment, the exact plan is optimal."""
    if r.exact and np.isfinite(r.interval) and all(
            np.array_equal(pb.types[t].table.lower, pb.types[t].table.interval) for t in range(len(pb.types))):
        return max(lb, r.interval)
    if lb >= r.interval:  # proven already: the searches below cannot pass a real plan's interval
        return lb
    v = max(lb, _relaxed_bound(pb, max_k))
    hx = {"entry": pb.host.entry, "exit": pb.host.exit} if pb.host is not None else {}
    big = len(pb.cluster.boards) > EXACT_BOARDS
    rm = search([pb.types[t].table.lower for t in pb.board_type], pb.link, pb.adj, max_k,
                beam=DEFAULT_BEAM if big else None, exact_states=EXACT_STATES, **hx)
    return max(v, float(rm.interval)) if rm.exact else v


def _relaxed_bound(pb: Problem, max_k: int) -> float:
    """bounds.py over the current lower tables (and the host path's floor)."""
    counts = [0] * len(pb.types)
    for t in pb.board_type:
        counts[t] += 1
    v = lower_bounds([t.table.lower for t in pb.types], counts, pb.cut_link_min, max_k, every=False)[-1]
    if pb.host is not None and pb.host.attach >= 0:
        v = max(v, float(pb.host.entry.min()), float(pb.host.exit.min()))
    return float(v)


# Search states the exact inner solve may spend tightening a plan and its bound (segments.Work),
# per port width and one more (``_search``), and per settled start when asking at the plan's own
# interval (``_tighten``; PROBE_WORK when bisecting). ResNet-152 on example16 (3 widths: 1.2
# million) needs ~606,000 to prove its plan optimal, on u280x16 ~326,000; the narrow ResNet-18 on
# edge4 ~65,000.
REFINE_WORK = 300_000
SETTLE_WORK = 50_000


def _layer_options(pb: Problem, t: int, md: int, i: int, w: int = 0):
    """Raw options of layer i on board type t (at its w-th port width) in weight mode md: (cycles,
    resources, [(option, MAC kind)]) for every option in every MAC kind the menus offer
    (costmodel.mac_rows); the pairs as a sequence that makes each one when asked (_Pairs)."""
    spec = pb.types[t].spec
    tw = _width(pb, t, w)
    info = (tw.infos or pb.infos)[i]
    m = md if info.streams else ONCHIP
    cyc = info.options.cycles_off if m == OFFCHIP else info.options.cycles
    rows, kinds, res = option_rows(info, spec, m, pb.rows.get(tw.lanes) if pb.rows is not None else None)
    return cyc[rows], res, _Pairs(rows, kinds)


class _Pairs:
    """``list(zip(rows.tolist(), kinds.tolist()))`` made only where indexed (``_pairs_at``): the
    knapsack keeps the options the dominance filter leaves of a layer's thousands."""

    def __init__(self, rows: np.ndarray, kinds: np.ndarray):
        self.rows, self.kinds = rows, kinds

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, q) -> tuple[int, int]:
        return int(self.rows[q]), int(self.kinds[q])


def _pairs_at(pairs, keep) -> list[tuple[int, int]]:
    """``[pairs[q] for q in keep]``, for _Pairs in two array takes (a layer keeps hundreds)."""
    if isinstance(pairs, _Pairs):
        return list(zip(pairs.rows[keep].tolist(), pairs.kinds[keep].tolist()))
    return [pairs[q] for q in keep]


def _stream_seconds(pb: Problem, t: int, j: int, k: int) -> float:
    """Seconds per image of streaming the weights of layers j..k-1 (offchip mode): the bytes from
    prefix sums of whole numbers (far below 2**53, so the float sum streamed_bytes(...).sum()
    would be the same number), not a new array per call (a settle asks thousands of times)."""
    got = getattr(pb, "streamed", None)  # (a stand-in problem may not have the field)
    if got is None or got[0] is not pb.infos:
        got = pb.streamed = (pb.infos, [0, *itertools.accumulate(int(b) for b in streamed_bytes(pb.infos))])
    pre = got[1]
    return float(pre[k] - pre[j]) / (pb.types[t].spec.mem_gbps * 1e9) if k > j else 0.0


def _knapsack(pb: Problem, t: int, md: int, w: int = 0):
    """One memoized single-SLR knapsack per board type, port width and weight mode
    (segments.Knapsack), over the raw options of every layer, dominated options dropped (built per
    layer on first use)."""
    from asymap.partition.segments import Knapsack, LazyOptions, dominance_filter

    tt = _width(pb, t, w)
    if md not in tt.knaps:
        maps: dict = {}
        same: dict = {}  # equal layers (ResNet repeats its blocks) share Menu objects, and options

        def make(i):
            key = id(tt.menus[md][i])
            if key not in same:
                cyc, res, mp = _layer_options(pb, t, md, i, w)
                keep = dominance_filter(np.asarray(cyc), np.asarray(res, np.int64), tt.budget)
                same[key] = ((np.asarray(cyc)[keep], np.asarray(res, np.int64)[keep], keep), _pairs_at(mp, keep))
            maps[i] = same[key][1]
            return same[key][0]

        # A layer's options are known by the first layer sharing its Menu (the same in a copy of
        # the problem or a forked process: speculate.py).
        first: dict = {}
        for i, m in enumerate(tt.menus[md]):
            first.setdefault(id(m), i)
        ks = Knapsack(LazyOptions(make, lambda i: first[id(tt.menus[md][i])]), tt.budget, 1500, None)
        ks.splits = getattr(pb, "split", False) and tt.spec.slrs > 1
        tt.knaps[md] = (ks, maps)
        if ks.splits:
            ks.halves = _halves(pb, t, md, w, ks, maps)
    return tt.knaps[md]


def _knapsacks(pb: Problem):
    """((type, width index, weight mode), segments.Knapsack) of every knapsack built so far."""
    for t, tt in enumerate(pb.types):
        for w in range(max(1, len(tt.widths))):
            for md, (ks, _) in _width(pb, t, w).knaps.items():
                yield (t, w, md), ks


def _halves(pb: Problem, t: int, md: int, w: int, ks, maps: dict):
    """segments.reach_slrs' ``halves`` of board type t's knapsack (port width w, weight mode md):
    for layer i at T, every lane split k | P - k (1 <= k < P) of its knapsack options meeting T
    that may split (costmodel.can_split), both halves within one SLR's budget, Pareto-minimal in
    (half A, half B). Cached per layer's options and the count meeting T."""
    from asymap.partition.costmodel import can_split, split_rows
    from asymap.partition.segments import _pareto

    tt = _width(pb, t, w)
    spec, budget = tt.spec, tt.budget
    infos = tt.infos or pb.infos
    per_opt: dict = {}  # (layer's options, option) -> (lanes, half A rows, half B rows)
    cache: dict = {}
    none = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 4), np.int64), np.zeros((0, 4), np.int64))

    def some_splits(i: int, cyc, opts: list[int]) -> None:
        """``per_opt`` of options ``opts`` of layer i (each may split; one vectorized cost call)."""
        info = infos[i]
        todo = [(o, *maps[i][o]) for o in opts]
        lanes = [np.arange(1, int(info.options.pe[oi])) for _, oi, _ in todo]
        n = [len(x) for x in lanes]
        a, b = split_rows(info, spec, md, np.repeat([oi for _, oi, _ in todo], n).astype(np.int64),
                          np.repeat([kind for _, _, kind in todo], n), np.concatenate(lanes or [np.zeros(0, np.int64)]))
        ok = (a <= budget).all(axis=1) & (b <= budget).all(axis=1)
        at = 0
        for (o, _, _), ln, m in zip(todo, lanes, n):
            sl = slice(at, at + m)
            per_opt[(id(cyc), o)] = (ln[ok[sl]], a[sl][ok[sl]], b[sl][ok[sl]])
            at += m

    def halves(i: int, tcyc):
        cyc, _, _ = ks.opts[i]
        meet = np.nonzero(cyc <= tcyc)[0]
        key = (id(cyc), len(meet))
        if key in cache:
            return cache[key]
        info = infos[i]
        meet = [o for o in meet.tolist() if can_split(info, maps[i][o][0])]
        new = [o for o in meet if (id(cyc), o) not in per_opt]  # (the options meeting T only)
        if new:
            some_splits(i, cyc, new)
        parts = []
        for o in meet:
            lanes, a, b = per_opt[(id(cyc), o)]
            if len(lanes):
                parts.append((np.full(len(lanes), o, np.int64), lanes, a, b))
        if not parts:
            cache[key] = none
            return none
        so, sk, sa, sb = (np.concatenate(x) for x in zip(*parts))
        keep = _pareto(np.hstack([sa, sb]))
        cache[key] = got = (so[keep], sk[keep], sa[keep], sb[keep])
        return got

    return halves


def _reach_below(pb: Problem, t: int, j: int, v: float, end: int, work, refill=None, partial=None):
    """Exact: the largest k <= end such that layers j..k-1 run on board type t faster than v
    seconds per image (some raw choice, either weight mode, any port width), with that choice as
    (mode, [(option, MAC kind)], [seconds of each prefix], port width index, {layer: lanes in its
    first SLR} of lane splits); None if the knapsack gives up. ``refill``: a knapsack calls it before solving a question it has no answer
    to (speculate.SettleHelper.drain). ``partial``: a list; when given, a knapsack (port width
    and weight mode) that gives up no longer ends the reach: the others are still asked (each on
    its own share of work, ``Work.extra``), and before None is returned the furthest real reach
    found (same form) and a bound of the furthest any knapsack can reach (``_reach_bound``, or
    None) are appended to ``partial`` (unless some knapsack reached ``end``: then nothing can
    reach further and the answer stands)."""
    from asymap.partition.segments import GiveUp, Work, reach_slrs

    tt = pb.types[t]
    clk = tt.spec.clock_hz
    tcyc = int(np.ceil(v * clk * (1 - 1e-12))) - 1  # the largest whole cycle count below v
    cut = v * (1 - 1e-12)
    # Each (port width, weight mode) is its own knapsack, and only the furthest reach counts: ask
    # the most promising first and skip those that cannot pass it. What one can reach at most:
    # its width's lower table, and any reach it stopped short at for a T at least this one
    # (fewer options meet a smaller T). Most of a settle's time went to the ones that lose.
    combos = []
    for w in range(max(1, len(tt.widths))):
        low = _width(pb, t, w).table.lower[j]
        for md in (ONCHIP, OFFCHIP):
            stop = end
            if md == OFFCHIP:
                while stop > j and _stream_seconds(pb, t, j, stop) >= cut:
                    stop -= 1
            over = np.nonzero(low[j + 1 : stop + 1] >= cut)[0]
            top = j + int(over[0]) if len(over) else stop
            for tc, q, asked in tt.reached.get((j, w, md), ()):
                if tc >= tcyc and q < asked:
                    top = min(top, q)
            combos.append((-top, len(combos), w, md))
    combos.sort()
    best = (j, ONCHIP, [], [], 0, {})
    gave_up: list = []  # (knapsack, how far it could reach at most) of those that gave up
    more = max(work.left, 0)  # after a knapsack gave up, each other one gets this much of its own
    for neg, _, w, md in combos:
        top = -neg
        if top <= best[0]:
            break  # (sorted: no later one reaches further either)
        ks, maps = _knapsack(pb, t, md, w)
        own = Work(more) if gave_up else work
        ks.work, ks.refill = own, refill
        try:
            if best[0] > j and ks.cannot(j, best[0] + 1, tcyc, tt.spec.slrs):
                continue  # cannot pass the best one (a relaxation says so)
            q, ch, spl = reach_slrs(ks, j, top, tcyc, tt.spec.slrs, getattr(ks, "halves", None))
        except GiveUp:
            if partial is None:
                return _gave_up(partial, best)
            gave_up.append((ks, top))
            continue
        finally:
            ks.work = work
            if own is not work:
                work.extra += more - own.left  # (beyond the caller's share: counted apart)
        tt.reached.setdefault((j, w, md), []).append((tcyc, q, top))
        if q > best[0]:
            cyc = np.maximum.accumulate([int(ks.opts[j + i][0][o]) for i, o in enumerate(ch)]) / clk
            if md == OFFCHIP:
                cyc = np.maximum(cyc, [_stream_seconds(pb, t, j, j + i + 1) for i in range(len(ch))])
            best = (q, md, [maps[j + i][o] for i, o in enumerate(ch)], [float(x) for x in cyc], w, spl)
    if gave_up and best[0] < end:
        return _gave_up(partial, best, _reach_bound(gave_up, best[0], j, tcyc, tt.spec.slrs, work))
    return best


def _gave_up(partial, best, bound=None):
    """``_reach_below``'s answer when a knapsack gave up: None, with the furthest real reach found
    so far kept in ``partial`` (when the caller asked for it), and a bound of the furthest any
    knapsack can reach (None: none known)."""
    if partial is not None:
        partial.append(best)
        partial.append(bound)
    return None


def _reach_bound(gave_up: list, q: int, j: int, tcyc: int, slrs: int, work) -> int | None:
    """The furthest reach possible when the knapsacks ``gave_up`` [(knapsack, its top)] gave up
    and the others reached at most q: each one's ``segments.relaxed_reach`` (a Lagrangian bound
    per SLR: on the long multi-SLR segments the lower table's per-resource minima are far looser),
    on its own share of work (``Work.extra``). None when a knapsack has lane splits (their halves
    are not in the bound) or the bound itself runs out of work."""
    from asymap.partition.segments import GiveUp, Work, relaxed_reach

    own = Work(REACH_BOUND_WORK)
    try:
        for ks, top in gave_up:
            if getattr(ks, "splits", False):
                return None
            ks.work = own
            try:
                q = max(q, relaxed_reach(ks, j, top, tcyc, slrs))
            finally:
                ks.work = work
    except GiveUp:
        return None
    finally:
        work.extra += REACH_BOUND_WORK - own.left
    return q


# The work of a settle's reach bound (_reach_bound), counted apart (Work.extra).
REACH_BOUND_WORK = 50_000


def _settle(pb: Problem, t: int, j: int, v: float, work, upto: int | None = None, refill=None) -> tuple[bool, bool]:
    """Settle, exactly, which segments starting at layer j on board type t (ending at most at
    ``upto``) beat v: those up to the reach get their real choice in the achievable table; if the
    reach stops short, the longer ones (and every segment containing one) are at least v in the
    lower table. Returns (settled, achievable table changed). ``tt.settled[(j, v)]`` keeps the
    end asked about (a witness needing a longer segment from j asks again)."""
    tt = pb.types[t]
    low, ach = tt.table.lower, tt.table.interval
    L = low.shape[0] - 1
    over = np.nonzero(low[j, j + 1:] >= v * (1 - 1e-12))[0]
    natural = j + int(over[0]) if len(over) else L  # the lower table already rules out longer segments
    # Asking only as far as the witness needs keeps the knapsack questions small: the furthest
    # end is often the hardest one (everything left barely fits, or barely does not).
    end = natural if upto is None else min(natural, upto)
    partial: list = []
    got = _reach_below(pb, t, j, v, end, work, refill, partial)
    tt.settled[(j, v)] = max(tt.settled.get((j, v), -1), end)
    if got is None:
        # A knapsack gave up: the choices the others found are real and go into the achievable
        # table (a plan may use them); past the bound of what any can reach (partial[1]), the
        # longer segments are at least v. Settled (exact) only when that bound is the reach.
        if not partial:
            return False, False
        best, bound = partial
        if bound is not None and bound + 1 <= L and bound < end:
            low[: j + 1, bound + 1:] = np.maximum(low[: j + 1, bound + 1:], v)
        return bound == best[0] and bound < end, _take_reach(pb, t, j, best)
    q = got[0]
    if q + 1 <= L and (q < end or end == natural):  # j..q fits no better, or (already) in the lower table
        low[: j + 1, q + 1:] = np.maximum(low[: j + 1, q + 1:], v)
    return True, _take_reach(pb, t, j, got)


def _take_reach(pb: Problem, t: int, j: int, got) -> bool:
    """Put the real choices of a reach from layer j (``_reach_below``'s answer) into board type
    t's achievable tables where they beat them; whether any entry changed."""
    tt = pb.types[t]
    ach = tt.table.interval
    q, md, choice, secs, w, spl = got
    changed = False
    sub = _width(pb, t, w)
    for kk in range(j + 1, q + 1):
        val = secs[kk - j - 1]
        if val < ach[j, kk] * (1 - 1e-12):
            for tab in {id(tt.table): tt.table, id(sub.table): sub.table}.values():  # the width's own too
                tab.interval[j, kk] = min(tab.interval[j, kk], val)
                tab.mode[j, kk] = md
                if md == ONCHIP:
                    tab.onchip[j, kk] = min(tab.onchip[j, kk], val)
            part = {i: k for i, k in spl.items() if i < kk}
            (sub.split_choices if part else sub.choices)[(j, kk)] = (md, choice[: kk - j], part)
            if tt.widths:
                tt.width_of[j, kk] = w
            changed = True
    return changed


def _tighten(pb: Problem, res: OrderResult, lb: float, max_k: int, beam, exact_boards: int,
             work: int | None = None) -> tuple[OrderResult, float]:
    """Lazy exact inner solve: a better plan and a proven bound of the true optimum.

    The achievable table overstates some segments (each layer takes its cheapest option by one
    weighting) and the lower table understates some (the relaxation). Between the bound B and the
    plan's interval V, ask of a target W whether any plan beats W (``below``): search the lower
    tables for one (the exact outer search below W, bounds.py's relaxation and its witness where
    the beam would drop states); if none exists, B rises to W. Otherwise each of its segments
    that the achievable table does not already place below W is settled exactly (``_settle``:
    how far a segment from its first layer can reach below W, a multi-dimensional knapsack per SLR
    over the raw options): either the segment is real below W (the achievable table takes the
    choice and the outer search finds a plan below W) or it and every longer one are at least W in
    the lower table (that witness is gone). W cuts the gap at BISECT from its low end (a plan
    found below W lowers V, a proof raises B), with PROBE_WORK per knapsack; where they give up
    (near the true optimum knapsacks get hard both ways), later targets stay above that W. Once
    the gap is below CLOSE_GAP, W = V proves the plan optimal (asking only at V, as before, lowers
    V a cycle at a time: ResNet-152 on example16 spent its whole budget that way), and knapsacks
    that gave up are asked once more with RETRY_WORK each. Stop when proven, or when the
    knapsacks give up or spend ``work`` search states (REFINE_WORK; a count, not a clock, so the
    plan does not depend on the machine's load). Every bound on the way is valid and every plan
    real."""
    from asymap.partition.bounds import relaxed_witness

    budget = Work(REFINE_WORK if work is None else work)
    n = len(pb.cluster.boards)
    hx = {"entry": pb.host.entry, "exit": pb.host.exit} if pb.host is not None else {}
    counts = [0] * len(pb.types)
    for t in pb.board_type:
        counts[t] += 1
    wide = None if n <= exact_boards else beam
    bound = lb

    def below(w: float, per: int) -> bool | None:
        """True: a plan below w (res); False: none exists (bound >= w); None: the knapsacks
        (``per`` states each) gave up on every segment left, or the work ran out."""
        nonlocal res, bound
        path = None  # the boards of the last witness found by the search over every path
        # Segments a knapsack gave up on at w (type -> [(j, k)]): the witness search then leaves
        # them (and every segment containing one) out, so that a plan below w avoiding them can
        # still be found (edge4's ResNet-18 spent most of its search on one such knapsack: probes
        # gave up on it, then it was asked with ever more work at the plan's own interval). A
        # search that leaves segments out proves nothing: it only finds witnesses.
        masks: dict = {}
        onpath = 0

        def lows() -> list:
            tabs = {}
            for t, cuts in masks.items():
                tab = tabs[t] = pb.types[t].table.lower.copy()
                for j, k in cuts:
                    tab[: j + 1, k:] = np.inf
            return [tabs.get(t, pb.types[t].table.lower) for t in pb.board_type]

        while budget.left > 0:
            # The settles move a witness by a few layers at a time (a cut one layer later, a
            # segment that no longer fits): first look for the next one on the same boards
            # (``_on_path``: a chain of len(path) transitions instead of every path's states).
            # Only the search over every path proves that none is left (and raises the bound).
            tabs = lows()
            rp = _on_path(pb, path, w * (1 - 1e-12), tabs) if path is not None and onpath < PATH_STEPS else None
            if rp is not None and rp.interval < w * (1 - 1e-12):
                wit = [(pb.board_type[b], rp.cuts[i], rp.cuts[i + 1]) for i, b in enumerate(rp.path)]
                rm = None
                onpath += 1
            else:
                onpath = 0
                rm = search(tabs, pb.link, pb.adj, max_k,
                            beam=wide, tau=bound, ub=w * (1 - 1e-12), exact_states=EXACT_STATES, **hx)
                path = rm.path if (rm.exact or masks) and rm.interval < w * (1 - 1e-12) else None
            if rm is None:
                pass
            elif masks:
                if path is None:
                    return None  # (no witness avoids them: only those knapsacks could decide)
                wit = [(pb.board_type[b], rm.cuts[i], rm.cuts[i + 1]) for i, b in enumerate(rm.path)]
            elif rm.exact:
                if not rm.interval < w * (1 - 1e-12):  # (a plan found above ub is no optimum)
                    bound = max(bound, w)  # no plan of the lower tables beats w
                    return False
                bound = max(bound, float(rm.interval))
                wit = [(pb.board_type[b], rm.cuts[i], rm.cuts[i + 1]) for i, b in enumerate(rm.path)]
            else:
                v = _relaxed_bound(pb, max_k)
                bound = max(bound, v)
                if v >= w * (1 - 1e-12):
                    return False
                wit = relaxed_witness([t.table.lower for t in pb.types], counts, pb.cut_link_min, v, max_k)
            # Segments not yet real below w; one a knapsack gave up on stays in ``settled``
            # (not asked again at this w).
            todo: dict = {}
            for t, j, k in wit:
                if (pb.types[t].table.interval[j, k] >= w * (1 - 1e-12)
                        and pb.types[t].settled.get((j, w), -1) < k):
                    todo[(t, j)] = max(todo.get((t, j), k), k)
            changed = not todo  # every witness segment is real below w: the plan search finds it
            progress = False
            items = list(todo.items())
            if len(items) >= 2:  # the second half to the helper (speculate.py), if there is one
                if helper[0] is None:
                    helper[0] = SettleHelper.start(pb, _settle, _knapsacks, lambda t_, w_, md_: _knapsack(pb, t_, md_, w_)[0]) or False
                if helper[0]:
                    helper[0].ask([(t, j, w, k) for (t, j), k in items[len(items) // 2:]], per)
            refill = helper[0].drain if helper[0] else None
            for (t, j), k in items:
                part = Work(min(budget.left, per))  # one hard knapsack may not take everything
                ok, ch = _settle(pb, t, j, w, part, k, refill)
                budget.left -= min(budget.left, per) - max(part.left, 0) + part.extra
                if not ok:
                    failed.append((t, j, w))
                    if sum(map(len, masks.values())) < GAVE_UP_MASKS:
                        masks.setdefault(t, []).append((j, k))
                        progress = True  # (the next witness avoids it)
                changed |= ch
                progress |= ok
                if budget.left <= 0:
                    break
            real = all(pb.types[t].table.interval[j, k] < w * (1 - 1e-12) for t, j, k in wit)
            # A plan of the achievable tables below w is also one of the lower tables: while the
            # witness is not yet real, the next lower search (or this witness, once real) finds
            # it, so the plan search runs only then (or when nothing else moves).
            if changed and (real or not progress):  # only plans below w matter: it prunes the rest
                r2 = search(pb.seg, pb.link, pb.adj, max_k, beam=wide, tau=bound, ub=w * (1 - 1e-12),
                            exact_states=EXACT_STATES, **hx)
                if r2.interval < res.interval:
                    res = r2
                    return True
            if not progress:
                return None
        return None

    failed: list = []  # (type, start, target) of settles that gave up
    helper: list = [None]  # speculate.SettleHelper once started (False: none could be)
    try:
        hard = -np.inf  # the highest target a probe gave up at: probe above it only
        misses = 0  # probes given up in a row: after PROBE_MISSES, only ask at the plan (as before)
        while np.isfinite(res.interval) and bound < res.interval * (1 - 1e-12) and budget.left > 0:
            V = res.interval
            base = max(bound, hard)
            if (V - base) > CLOSE_GAP * base and misses < PROBE_MISSES:
                w = base + (V - base) * BISECT
                if below(w, PROBE_WORK) is None:
                    hard = w
                    misses += 1
                else:
                    misses = 0
            else:
                got = below(V, SETTLE_WORK)
                retry = RETRY_WORK
                while got is None and failed and budget.left > 0:
                    # Only knapsacks that gave up stand between the plan and its proof: ask them
                    # again with more work (RETRY_WORK each, four times more each round, at most the
                    # work left).
                    for t, j, w in failed:
                        pb.types[t].settled.pop((j, w), None)
                    failed.clear()
                    got = below(V, min(budget.left, retry))
                    retry *= 4
                if got is None:
                    break
    finally:
        if helper[0]:
            helper[0].close()
    # A settle that gave up is marked settled at its target only for this call (not asked again
    # at that target while probing); a later call on the same tables (another deploy branch, a
    # sweep row, the fewer-boards step) asks it again with its own work instead of taking the
    # mark for an answer and stopping short of the proof.
    for t, j, w in failed:
        pb.types[t].settled.pop((j, w), None)
    return res, min(bound, res.interval)


def _on_path(pb: Problem, path: list[int], ub: float, tables: list) -> OrderResult:
    """The best plan of ``tables`` (per board) on the boards of ``path`` in that order (or a
    prefix of it), below ``ub`` (order.search over that one chain: exact, and no bound: other
    paths exist)."""
    n = len(pb.board_type)
    adj: list[list[int]] = [[] for _ in range(n)]
    for a, b in zip(path, path[1:]):
        adj[a] = [b]
    entry = np.full(n, np.inf)
    entry[path[0]] = pb.host.entry[path[0]] if pb.host is not None else 0.0
    ex = {"exit": pb.host.exit} if pb.host is not None else {}
    return search(tables, pb.link, adj, len(path), ub=ub, entry=entry, **ex)


# ``_tighten``: below this relative gap, ask at the plan's own interval (the final proof) instead
# of bisecting; where in the gap to ask (from its low end); states per settle while bisecting;
# probes given up in a row before only the plan's own interval is asked (as before bisection).
# Chosen on six cases (ResNet-152 on example16, mixed4, pair2; ResNet-50 on mixed4, pair2; the
# narrow ResNet-18 on edge4): this setting proves the first, ResNet-18 and ResNet-50/mixed4
# optimal and is nowhere worse than asking only at the plan; the choice is sensitive (BISECT 0.3
# left example16 at a 3 % gap, no bisection at 8.4 %, no cap on misses ResNet-50/mixed4 at 25 %).
# With one pass over every port width (``_search``), PROBE_WORK 20,000 instead of 10,000 gives
# the same plans on these cases, u280x16 and ring8, in ~30 % less search time on example16.
CLOSE_GAP = 0.002
BISECT = 0.5
PROBE_WORK = 20_000
PROBE_MISSES = 2
# ``_tighten``'s witnesses: how many in a row may come from the last witness's boards (``_on_path``)
# before the search over every path runs again, and how many segments whose knapsack gave up a
# probe may leave out of its witness search (``below``'s masks). On the chain alone a probe can
# spend its work where no real plan is (unbounded, ResNet-152 on example16 at --util 0.6 lost its
# proof, and at --boards 10 went from 2,265.2 to 2,121.2 images/s); capped at 4, those two are
# proven / 2,285.5, the headline plans keep their figures, and ResNet-152 on example16 spends
# about a third less time in order.search (22 searches over every path instead of ~50). One masked segment makes edge4's ResNet-18 take 0.2 s
# instead of 2 s of search (same plan, proven); more let a probe that cannot decide spend its
# work on one hard knapsack after another.
PATH_STEPS = 4
GAVE_UP_MASKS = 1
# States per knapsack asked again at the plan's own interval after giving up. All the work left
# (as before) let one hopeless knapsack take the whole budget: ResNet-50 on pair2 spent 3.3 s of
# search at a 101 % gap (0.3 s now, same plan); the headline proofs are unchanged, and ResNet-152
# on mixed4 plans 538.6 instead of 535.0 images/s. A knapsack that gives up again is asked with
# four times more work each round while work is left: one cap alone left the README's ResNet-18 on
# edge4 at 102,124 images/s with a 34 % gap once line-rate credit buffers freed LUTs on its
# zcu102 (its proof needs one knapsack of more than 200,000 states; 117,924.5, proven, now).
RETRY_WORK = 200_000


# Work of the exact inner solve per ``--sweep`` row below the plan's board count (``_sweep``; at
# most REFINE_WORK).
SWEEP_WORK = 50_000


def _sweep(pb: Problem, res: OrderResult, lbs: list[float], max_k: int, beam, exact_boards: int, ks,
           main: tuple | None, graph: Graph | None = None, deployable=None,
           no_plan: dict | None = None) -> list[tuple[int, OrderResult, float]]:
    """(k, best plan found on at most k boards, its proven bound) for every k of ``ks``.

    A row k at or above the boards the plan uses takes the plan and its bound (``main``: (plan,
    proven bound on max_k boards)): it is a plan on at most k boards and no plan on k <= max_k
    boards beats the bound. A row below is searched and tightened on its own (SWEEP_WORK, on the
    tables the plan's search has tightened already); with ``deployable`` (deployment's checks, as
    :func:`plan` takes them), a row whose plan deployment refuses is re-planned around the refusal
    as the plan is (deployable.deployable_search: the best accepted plan on at most k boards and
    its bound), or has no plan if none is accepted (its bound stays: it bounds the accepted plans
    too). Then what holds between rows is applied: a plan on k - 1 boards is one on at most k (a
    row takes the better), and a bound on k boards bounds every smaller k (a row takes the higher).
    ``no_plan``: filled with {k: "refused" | "not decided"} for the rows left without a plan because
    deployment accepts none on at most k boards ("refused": the search over every branch found
    none) or because the re-plan cap stopped the row's search first ("not decided": branches left
    open may hold one)."""
    from asymap.partition.deployable import DeployUndecided, deployable_search

    rows = []
    for k in ks:
        why = None  # (why a row has no plan: set only by deployment's search)
        if main is not None and np.isfinite(main[0].interval) and k >= len(main[0].path):
            r, lbk = main
        else:
            if k == max_k:
                r, lbk = res, _proven_bound(pb, res, lbs[k - 1], k)
            else:
                r = solve_order(pb, k, lbs[k - 1], beam=beam, exact_boards=exact_boards)
                lbk = lbs[k - 1]
                if np.isfinite(r.interval):
                    r, lbk = _tighten(pb, r, lbk, k, beam, exact_boards, min(SWEEP_WORK, REFINE_WORK))
                lbk = _proven_bound(pb, r, lbk, k)
            why = None
            if deployable is not None and np.isfinite(r.interval):
                why = _refusal(deployable, graph, *_expand(pb, graph, r, r.interval, [None] * len(r.path))[:3])
            if why is not None:
                try:
                    r, lbk, _ = deployable_search(pb, graph, r, lbk, k, beam, exact_boards, deployable, why)
                except DeployUndecided:  # the re-plan cap stopped it before any accepted plan
                    r, why = OrderResult(np.inf, [], [], False), "not decided"
                except UserError:  # no plan on at most k boards that deployment accepts exists
                    r, why = OrderResult(np.inf, [], [], False), "refused"
                else:
                    why = None
        rows.append([k, r, lbk, why])
    for i in range(1, len(rows)):
        if rows[i - 1][1].interval < rows[i][1].interval:
            rows[i][1] = rows[i - 1][1]
    for i in range(len(rows) - 2, -1, -1):
        rows[i][2] = max(rows[i][2], rows[i + 1][2])
    if no_plan is not None:
        no_plan.update({k: why for k, r, _, why in rows if why is not None and not np.isfinite(r.interval)})
    return [tuple(r[:3]) for r in rows]


def _diagnose_no_fit(pb: Problem, lb: float, max_k: int) -> UserError:
    """Which layer and which resource rule out every plan (say it for the largest board)."""
    big = max(range(len(pb.types)), key=lambda t: (pb.types[t].spec.dsp + 8 * pb.types[t].spec.uram + pb.types[t].spec.bram36))
    tt = pb.types[big]
    seg = tt.table.interval
    L = len(pb.infos)
    for j in range(L):
        if not np.isfinite(seg[j, j + 1]):
            lay = pb.infos[j].layer
            need = np.minimum(tt.menus[0][j].lo_res[0], tt.menus[1][j].lo_res[0])
            held = np.asarray(slr_budget(tt.spec, pb.util)) - tt.budget  # kept for the link transport's buffers
            bad = [f"{RES[r]} {int(need[r])} > {int(tt.budget[r])}"
                   + (f" ({int(held[r])} kept for the link transport and link kernels)" if held[r] > 0 else "")
                   for r in range(4) if need[r] > tt.budget[r]]
            return UserError(
                f"{pb.graph.name}: layer {j} '{lay.name}' ({lay.op}) fits on no board: even at its slowest it needs "
                f"{', '.join(bad)} on the largest board type '{tt.spec.type}' (at {pb.util:.0%} utilization"
                f"{f', per SLR of {tt.spec.slrs}' if tt.spec.slrs > 1 else ''}); "
                "use a larger board or a smaller model"
            )
    if np.isfinite(lb):
        return UserError(
            f"{pb.cluster.path or 'cluster'}: no path through the cluster's linked boards can hold the model "
            f"with at most {max_k} boards, although {max_k} boards would suffice without the topology; "
            "add links so the boards form a longer path"
        )
    need = min((m for m in range(1, len(pb.board_type) + 1) if np.isfinite(_bounds(pb, m, every=False)[-1])),
               default=None)
    # The whole model at its slowest on the largest board: which resources overflow in both modes.
    parts = []
    for md, label in ((ONCHIP, "weights on chip"), (OFFCHIP, "streaming weights")):
        use = sum(tt.menus[md][j].lo_res[0] for j in range(L))
        cap = tt.budget * tt.spec.slrs
        held = (np.asarray(slr_budget(tt.spec, pb.util)) - tt.budget) * tt.spec.slrs  # the link transport's buffers
        over = [f"{RES[r]} {int(use[r])} > {int(cap[r])}" + (f" ({int(held[r])} kept for the link transport and link kernels)" if held[r] > 0 else "")
                for r in range(4) if use[r] > cap[r]]
        parts.append(f"{label} {', '.join(over) or 'fits'}")
    what = f"at its slowest the whole model needs on the largest board '{tt.spec.type}': {'; '.join(parts)}"
    more = f"; it needs at least {need} boards" if need else "; the whole cluster is too small"
    return UserError(
        f"{pb.graph.name}: the model does not fit on {max_k} board(s) of {pb.cluster.name or 'the cluster'}: "
        f"{what}{more} (use --boards, more boards, or a higher --util)"
    )


def _board_limit(pb: Problem, t: int, j: int, k: int, mode: int) -> str:
    """Why this segment cannot go faster: a layer at full parallelism, a resource, or bandwidth."""
    best = pb.types[t].table.interval[j, k] * pb.types[t].spec.clock_hz
    tt = _at(pb, t, j, k)
    menus = tt.menus[mode]
    if mode == OFFCHIP:
        stream = streamed_bytes(pb.infos[j:k]).sum() / (tt.spec.mem_gbps * 1e9) * tt.spec.clock_hz
        if stream >= best * (1 - 1e-9):
            return "memory bandwidth (weights streamed off-chip)"
    for li in range(j, k):
        if menus[li].cycles[-1] >= best * (1 - 1e-12):
            lay = pb.infos[li].layer
            share = port_beats(lay, tt.lanes) / max(1, int(menus[li].cycles[-1]))
            return (f"parallelism of layer {li} '{lay.name}' (all its factors used; "
                    f"{share:.0%} of its cycles move port beats at {tt.lanes} channels per beat)")
    # Next faster target: the largest menu cycle count below the current one.
    nxt = _next_faster(menus[j:k], best * (1 - 1e-12))
    if nxt is None:
        return "parallelism"
    # A layer whose port beats alone (no factor shortens them) nearly fill the interval: faster
    # choices may exist but would gain almost nothing; name the port, not the budget.
    for li in range(j, k):
        pb_ = port_beats(pb.infos[li].layer, tt.lanes)
        if pb_ >= best * 0.98:
            lay = pb.infos[li].layer
            return (f"input/output port of layer {li} '{lay.name}' ({pb_:,} port beats = "
                    f"{pb_ / best:.0%} of the interval at {tt.lanes} channels per beat)")
    rows = choose(menus, j, k - 1, nxt)
    use = sum(menus[j + i].res[r] for i, r in enumerate(rows))
    over = [RES[r] for r in range(4) if use[r] > tt.budget[r] * tt.spec.slrs]
    if not over and tt.spec.slrs > 1:
        return "per-SLR budget (engines cannot straddle an SLR boundary)"
    return f"{'/'.join(over)} budget" if over else "resources"


def _next_faster(menus, below: float):
    """The largest menu cycle count of ``menus`` below ``below`` (None if there is none)."""
    return max((c.max() for c in (m.cycles[m.cycles < below] for m in menus) if c.size), default=None)


def _board_plan(pb: Problem, pos: int, b: int, j: int, k: int, tau: float, width: int | None = None) -> BoardPlan:
    board = pb.cluster.boards[b]
    t = pb.board_type[b]
    tt = _at(pb, t, j, k) if width is None else _width(pb, t, width)  # the tables of the port width built
    infos = tt.infos or pb.infos
    spec = tt.spec
    tcyc = tau * spec.clock_hz
    # Each board runs at the cluster interval with the cheapest choices meeting it; achievable
    # rows need not be monotone in every resource, so if those do not fit, fall back to the
    # choices at the segment's own first feasible T (which the segment table proved fit).
    pick = None
    stream = streamed_bytes(pb.infos[j:k]).sum() / (spec.mem_gbps * 1e9)
    for md in (ONCHIP, OFFCHIP):
        t_own = int(tt.table.t_cycles[md][j, k])
        if t_own <= 0 or t_own > tcyc * (1 + 1e-12) or (md == OFFCHIP and stream > tau * (1 + 1e-12)):
            continue
        for tc in (tcyc, t_own):
            rows = choose(tt.menus[md], j, k - 1, tc)
            slr = pack_slrs([tt.menus[md][j + i].res[r] for i, r in enumerate(rows)], tt.budget, spec.slrs)
            if slr is not None:
                ms = tt.menus[md][j:k]
                sel = [(int(m.opt[r]), int(m.mac[r]) if m.mac is not None else NO_MAC, int(m.cycles[r]), m.res[r])
                       for m, r in zip(ms, rows)]
                pick = (md, sel, slr)
                break
        if pick is not None:
            break
    lanes: dict = {}  # position in the segment -> lanes in the layer's first SLR (lane splits)
    # Only the exact inner solve (_tighten) meets tau here: its choice without lane splits if it
    # meets tau, else the one with (a plan that needs no split keeps its engines whole).
    for md, choice, spl in [c[(j, k)] for c in (tt.choices, tt.split_choices) if (j, k) in c]:
        if pick is not None:
            break
        sel = []
        for info, (oi, kind) in zip(infos[j:k], choice):
            m = md if info.streams else ONCHIP
            cyc = info.options.cycles_off if m == OFFCHIP else info.options.cycles
            sel.append((oi, kind, int(cyc[oi]), option_resources(info, spec, m, [oi], [kind])[0]))
        halves = {}
        for li, kl in spl.items():
            oi, kind = sel[li - j][0], sel[li - j][1]
            a, b = split_resources(infos[li], spec, md, oi, kind, [kl])
            halves[li - j] = (a[0], b[0])
        slr = pack_slrs([x[3] for x in sel], tt.budget, spec.slrs, halves)
        slow = max(x[2] for x in sel) > tcyc * (1 + 1e-12) or (md == OFFCHIP and stream > tau * (1 + 1e-12))
        if slr is not None and not slow:
            pick = (md, sel, slr)
            lanes = {i: (int(spl[j + i]), halves[i]) for i in halves}
    if pick is None:  # cannot happen for a segment of the plan; keep the expansion total anyway
        rows = choose(tt.menus[ONCHIP], j, k - 1, tcyc)
        ms = tt.menus[ONCHIP][j:k]
        pick = (ONCHIP, [(int(m.opt[r]), int(m.mac[r]) if m.mac is not None else NO_MAC, int(m.cycles[r]), m.res[r])
                         for m, r in zip(ms, rows)], [0] * len(rows))
    mode, sel, slr = pick
    layers = []
    tot = np.zeros(4, np.int64)
    worst = 0
    preload_words = 0  # 64-bit words of the start-up image (one per cycle through the loader)
    for i, (oi, kind, cyc, res) in enumerate(sel):
        info = infos[j + i]
        o = info.options
        if i in lanes:  # split: its halves' resources (and their dup, zip and crossing FIFOs)
            res = lanes[i][1][0] + lanes[i][1][1]
        fac = {"pe": int(o.pe[oi]), "simd": int(o.simd[oi])}
        if int(o.kpar[oi]) > 1:  # absent means 1 (plans written before window parallelism)
            fac["kpar"] = int(o.kpar[oi])
        if bool(o.padded[oi]):
            fac["pe_padded"] = True
        tot += res
        worst = max(worst, cyc)
        mdsp, mlut = mac_cost(o.pe[oi], o.simd[oi] * o.kpar[oi], kind)
        place, store = weight_place(info, spec, mode, oi)
        if place == "preload":  # the image holds the ROM words: rows of pe*simd*kpar bytes in 64-bit words
            preload_words += int(o.wdepth[oi]) * -(-int(o.pe[oi] * o.simd[oi] * o.kpar[oi]) // 8)
        layers.append(LayerPlan(
            index=j + i, name=info.layer.name, op=info.layer.op, factors=fac, cycles=cyc,
            dsp=int(res[0]), bram36=int(res[1]), uram=int(res[2]), lut=int(res[3]),
            weights=place or "onchip", mac=MAC_KINDS[kind] if kind != NO_MAC else "",
            mac_dsp=int(mdsp), mac_lut=int(mlut), requant_dsp=int(requant_dsps(info.layer, o.pe[oi], tt.lanes)),
            weight_mem=store,
            slr=int(slr[i]),
            slr_lanes=([[int(slr[i]), lanes[i][0]], [int(slr[i]) + 1, int(o.pe[oi]) - lanes[i][0]]]
                       if i in lanes else None),
        ))
    interval = worst / spec.clock_hz
    if mode == OFFCHIP:
        interval = max(interval, stream)
    avail = [spec.dsp, spec.bram36, spec.uram, spec.lut]
    own_mode = int(pb.types[t].table.mode[j, k])
    return BoardPlan(
        name=board.name, type=board.spec.type, index=pos, clock_mhz=spec.clock_mhz, first_layer=j, last_layer=k - 1,
        interval_s=float(interval),
        resources={RES[r]: [int(tot[r]), int(avail[r])] for r in range(4)},
        layers=layers, weights=MODES[mode], limit=_board_limit(pb, t, j, k, own_mode),
        best_interval_s=float(pb.types[t].table.interval[j, k]),
        preload_bytes=8 * preload_words,
        startup_s=float(max(8 * preload_words / (spec.mem_gbps * 1e9), preload_words / spec.clock_hz)),
        slrs=spec.slrs, platform=spec.platform, port_lanes=tt.lanes,
    )


def _host_path(pb: Problem, graph: Graph, path: list[int], lplans: list[LinkPlan]) -> tuple[dict | None, list]:
    """The host path of a plan for plan.json, and its stages as (seconds, name).

    A hop the pipeline also uses in the same direction carries both (links are full duplex):
    its stage is then charged the pipeline tensors plus the image (``shared`` in plan.json).
    The planner's search charges the host path per board (entry/exit) without that sharing;
    the shared charge here is what the plan reports."""
    hr = pb.host
    if hr is None or hr.attach < 0 or not path:
        return None, []
    cl = pb.cluster
    names = [b.name for b in cl.boards]
    host = cl.host or {}
    hname = str(host.get("name", "host"))
    in_bytes = int(np.prod(graph.input_shape))
    out_bytes = int(np.prod(graph.tensor_shapes.get(graph.output, (0,))))
    piped = {(lp.src, lp.dst): lp for lp in lplans}
    used = {names[b] for b in path}

    def hops(boards: list[int], nbytes: int, host_s: float, inbound: bool) -> list[dict]:
        out = []
        ends = [names[b] for b in boards]
        if inbound:
            out.append({"from": hname, "to": ends[0], "bytes_per_image": nbytes, "interval_s": host_s,
                        "gbps": host.get("gbps"), "latency_ns": host.get("latency_ns", 0.0), "shared": False})
        for a, b in zip(ends, ends[1:]):
            ln = cl.link(a, b)
            t = ln.seconds(nbytes)
            shared = (a, b) in piped
            if shared:  # the same direction as a pipeline link: both share its bandwidth
                t = ln.seconds(nbytes + piped[(a, b)].bytes_per_image)
            out.append({"from": a, "to": b, "bytes_per_image": nbytes, "interval_s": float(t), "gbps": ln.gbps,
                        "latency_ns": ln.latency_ns, "shared": shared})
        if not inbound:
            out.append({"from": ends[-1], "to": hname, "bytes_per_image": nbytes, "interval_s": host_s,
                        "gbps": host.get("gbps"), "latency_ns": host.get("latency_ns", 0.0), "shared": False})
        return out

    hin = hops(route(hr, path[0], True), in_bytes, hr.host_seconds_in, True)
    hout = hops(route(hr, path[-1], False), out_bytes, hr.host_seconds_out, False)
    fwd = []
    for h in hin + hout:
        for nm in (h["from"], h["to"]):
            if nm in names and nm not in used and nm not in fwd:
                fwd.append(nm)
    d = {"attach": names[hr.attach], "host": hname, "in": hin, "out": hout, "forwarding": fwd}
    return d, _hop_stages(d)


def _hop_stages(host_path: dict | None) -> list:
    """The host path's hops as stages (seconds, name)."""
    if not host_path:
        return []
    return [(h["interval_s"], f"{h['from']}->{h['to']}") for h in host_path["in"] + host_path["out"] if h["interval_s"]]


def _references(graph: Graph, cluster: Cluster, ips: float) -> dict:
    """Published measured throughputs of this model on the cluster's board types (boards/*.yaml
    ``reference``), with the plan's ratio to each."""
    out = {}
    for b in cluster.boards:
        r = b.spec.reference_for(graph.name)
        if r is not None and b.spec.type not in out:
            out[b.spec.type] = {"model": r.model, "ips": r.ips, "source": r.source, "ratio": ips / r.ips}
    return out


def _file_info(path, sha_fallback: str = "", known_sha: str | None = None, read: bool = True) -> dict:
    """``path`` as plan.json shows it, and its SHA-256: ``known_sha``, else the file's own (with
    ``read``; without, none)."""
    if not path:
        return {"path": None, "sha256": sha_fallback or known_sha or None}
    p = Path(path)
    if known_sha:
        sha = known_sha
    elif not read:
        sha = None
    else:
        sha = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else (sha_fallback or None)
    shown = p.name if p.is_absolute() else str(path)
    return {"path": shown, "sha256": sha}


def _rate(interval: float, macs: int) -> tuple:
    if not np.isfinite(interval) or interval <= 0:
        return None, 0.0, 0.0
    return float(interval), 1.0 / interval, 2.0 * macs / interval / 1e9


def _calib_info(calib, graph: Graph) -> dict:
    if calib is None:
        return {}
    from asymap.quant.calib import as_calibration

    return {"calib": as_calibration(calib, shape=graph.input_shape).record()}


def _solve(pb: Problem, max_k: int, lb: float, beam, exact_boards: int) -> tuple[OrderResult, float]:
    """:func:`_search`, and when the achievable tables hold no plan although the relaxation allows
    one, the exact inner solve decides: the achievable table takes each layer's cheapest option by
    one weighting, so a segment it calls infeasible may still fit with a raw combination (random
    instances of tests/partition/test_partition_exact.py, seed 5: no plan on the achievable table,
    0.0055 s exhaustively). ``_tighten`` starts from a ceiling above every plan's interval
    (:func:`_ceiling`, a stand-in with no boards): it either finds a real plan, after which the
    search runs as usual, or proves there is none (bound infinite then). Where its knapsacks give
    up, no plan is returned with the bound reached (the planner then reports no fit).

    Lane-split engines (``Problem.lane_split``, multi-SLR boards): the plans without splits are
    searched and proven first (their tables are tighter, and their optimum is a plan with splits
    allowed too), then ``_enable_split`` and the same search again from that plan, on the
    lane-split relaxation, for a better plan with splits or the proof that there is none."""
    res, bound = _solve_one(pb, max_k, lb, beam, exact_boards)
    if getattr(pb, "lane_split", False) and not getattr(pb, "split", False):
        kept = _achievable_state(pb)
    if _enable_split(pb):
        lb2 = _bounds(pb, max_k)[max_k - 1]
        if np.isfinite(res.interval):
            lb2 = min(lb2, res.interval)
        proven = bound >= res.interval * (1 - 1e-12)  # (also: proven that no plan without splits exists)
        got, bound2 = _solve_one(pb, max_k, lb2, beam, exact_boards,
                                 (SPLIT_WORK_FACTOR if proven else UNPROVEN_SPLIT_WORK_FACTOR) * REFINE_WORK)
        if got.interval < res.interval * (1 - 1e-12) or not np.isfinite(res.interval):
            res = got
        else:  # an equally fast plan with splits does not replace the one without: expand it as before
            _restore_achievable(pb, kept)
        bound = bound2 if not np.isfinite(res.interval) else min(bound2, res.interval)
    return res, bound


# The exact inner solve's work per port width in the lane-split pass, in units of REFINE_WORK: its
# relaxation leaves out a layer per SLR boundary, so more segments need settling. ResNet-152 with
# --lane-split: u280x16 proven optimal at 2 (0.12 % gap at 1); example16 finds 2,748.5 images/s
# (5 split layers) at 3 with a 4.91 % gap and proves it at 5 (at 2: 2,717.6, 6.10 % gap); ring8
# 2,859.4 proven at 5. Where the pass without splits could not prove its own plan (its knapsacks
# give up: mixed4, pair2), the wider lane-split questions give up all the more, and the pass
# gets UNPROVEN_SPLIT_WORK_FACTOR (mixed4 --lane-split: 17.5 s of CPU at 2, the same plan and bound).
SPLIT_WORK_FACTOR = 5
UNPROVEN_SPLIT_WORK_FACTOR = 1


def _achievable_state(pb: Problem) -> list:
    """Copies of what the expansion of a plan reads (achievable tables, widths, exact choices)."""
    out = []
    for tt in pb.types:
        for sub in [tt] + list(tt.widths):
            tab = sub.table
            out.append((sub, tab.interval.copy(), tab.mode.copy(), tab.onchip.copy(),
                        None if sub.width_of is None else sub.width_of.copy(), dict(sub.choices)))
    return out


def _restore_achievable(pb: Problem, kept: list) -> None:
    """Put back ``_achievable_state`` (in place: ``pb.seg`` holds the same arrays). Still real
    plans; the lower tables keep what the search since proved."""
    for sub, interval, mode, onchip, width_of, choices in kept:
        sub.table.interval[...] = interval
        sub.table.mode[...] = mode
        sub.table.onchip[...] = onchip
        if width_of is not None:
            sub.width_of[...] = width_of
        sub.choices = choices


def _solve_one(pb: Problem, max_k: int, lb: float, beam, exact_boards: int,
               refine: int | None = None) -> tuple[OrderResult, float]:
    """:func:`_solve` in the problem's present mode (with or without lane splits); ``refine``:
    the exact inner solve's work per port width (REFINE_WORK)."""
    res, bound = _search(pb, max_k, lb, beam, exact_boards, refine)
    if np.isfinite(res.interval) or not np.isfinite(bound):
        return res, bound
    ceiling = _ceiling(pb)
    widths = max((len(tt.widths) for tt in pb.types), default=0)
    got, bound = _tighten(pb, OrderResult(ceiling, [], [], False), bound, max_k, beam, exact_boards,
                          REFINE_WORK * (1 + widths))
    if not got.path:  # nothing below the ceiling: proven infeasible, or the work ran out
        return OrderResult(np.inf, [], [], False), (np.inf if bound >= ceiling * (1 - 1e-12) else bound)
    return _search(pb, max_k, bound, beam, exact_boards, refine)


def _ceiling(pb: Problem) -> float:
    """A time above the interval of every plan the exact inner solve can make: a segment's interval
    is its slowest layer option (and, streaming, its weights' read time), a plan's the slowest of
    its segments, links and host hops (twice the largest of these)."""
    top = 0.0
    L = pb.types[0].table.interval.shape[0] - 1
    for t, tt in enumerate(pb.types):
        for w in range(max(1, len(tt.widths))):
            for md in (ONCHIP, OFFCHIP):
                for i in range(L):
                    cyc = np.asarray(_layer_options(pb, t, md, i, w)[0])
                    if cyc.size:
                        top = max(top, float(cyc.max()) / tt.spec.clock_hz)
        top = max(top, _stream_seconds(pb, t, 0, L))
    arrays = list(pb.link.values()) + ([pb.host.entry, pb.host.exit] if pb.host is not None else [])
    for v in arrays:
        v = np.asarray(v)
        if np.isfinite(v).any():
            top = max(top, float(v[np.isfinite(v)].max()))
    return 2.0 * top + 1e-9


def _expand(pb: Problem, graph: Graph, res: OrderResult, tau: float, built: list) -> tuple:
    """The boards and links of plan ``res`` configured at interval ``tau`` (link beat buffers
    charged to both ends), its host path and the host path's stages."""
    cluster = pb.cluster
    bplans = [_board_plan(pb, i, b, res.cuts[i], res.cuts[i + 1], tau, built[i]) for i, b in enumerate(res.path)]
    lplans = []
    for i in range(1, len(res.path)):
        a, b = cluster.boards[res.path[i - 1]], cluster.boards[res.path[i]]
        ln = cluster.link(a.name, b.name)
        c = res.cuts[i]
        lplans.append(LinkPlan(
            src=a.name, dst=b.name, tensors=graph.live_across(c - 1), bytes_per_image=int(pb.cut_bytes[c]),
            interval_s=float(pb.link[(res.path[i - 1], res.path[i])][c]), gbps=ln.gbps, latency_ns=ln.latency_ns,
            width_bits=link_width_bits(ln.gbps, min(a.spec.clock_mhz, b.spec.clock_mhz)),
        ))
        lp = lplans[-1]
        lp.buffer_bram36 = link_buffer_bram36([tuple(graph.tensor_shapes[t]) for t in lp.tensors], lp.width_bits)
        for bp in (bplans[i - 1], bplans[i]):
            bp.resources["bram36"][0] += lp.buffer_bram36
    host_path, hops = _host_path(pb, graph, res.path, lplans)
    return bplans, lplans, host_path, hops


def _refusal(deployable, graph: Graph, bplans: list, lplans: list, host_path) -> UserError | None:
    """What ``deployable`` raises for this plan (its boards, links and host path: all deployment's
    checks read), None if it accepts it."""
    d = {"schema": 1, "boards": [_plain(bp) for bp in bplans], "links": [lp.to_dict() for lp in lplans]}
    if host_path is not None:
        d["host_path"] = host_path
    try:
        deployable(d)
    except UserError as exc:
        return exc
    return None


def plan(
    graph: Graph,
    cluster: Cluster,
    *,
    boards: int | None = None,
    util: float = 0.8,
    sweep: bool = False,
    beam: int = DEFAULT_BEAM,
    exact_boards: int = EXACT_BOARDS,
    pad: bool = True,
    model_path: str | None = None,
    progress=None,
    calib=None,
    target_ips: float | None = None,
    model_sha256=None,
    step=None,
    deployable=None,
    lane_split: bool = False,
) -> Plan:
    """The best plan of ``graph`` on at most ``boards`` boards of ``cluster`` (all by default).

    ``pad`` also offers zero-padded ``pe`` (not dividing C_out; ``"pe_padded": true``) to conv and fc
    layers (costmodel._padded_pes); ``pad=False`` offers divisors only.
    ``calib`` (a .npy path / folder or asymap.quant.calib.Calibration) is only recorded in
    ``model.calib``, so that code generation from this plan quantizes with the same images.
    ``target_ips``: instead of the highest throughput, the fewest boards (then the fewest DSPs)
    reaching that many images per second (asymap.partition.target_split); if no plan reaches it, the
    highest-throughput plan with ``target.met`` false. ``model_sha256``: the model file's SHA-256,
    or a callable giving it (called once, at the end: a caller hashing on another thread overlaps
    the hash with planning; a callable giving None records none, and the file is not read:
    ``asymap plan``'s table output, which shows no hash). ``step(description)``: a context
    manager announcing each long step (asymap.util.progress.stepper); ``progress`` wraps the
    sweep loop. ``deployable(plan_dict)``: deployment's checks (``asymap plan`` passes
    codegen.deploy.check_deployable; the planner does not import codegen), raising a UserError
    for a plan deployment refuses; with it the plan is the best one it accepts
    (asymap.partition.deployable), or its refusal is raised when it accepts none."""
    from asymap.partition.deployable import deployable_search, deployable_target

    step = step or (lambda description: contextlib.nullcontext())
    n = len(cluster.boards)
    max_k = n if boards is None else int(boards)
    if max_k < 1 or max_k > n:
        raise UserError(f"--boards {max_k}: the cluster has {n} board(s); give 1..{n}")
    with step(f"{graph.name}: cost tables of {len(graph.layers)} layers on every board type"):
        pb = build_problem(graph, cluster, util, pad, lane_split)
    if target_ips is not None and not target_ips > 0:
        raise UserError(f"--target-ips must be positive, got {target_ips}")
    with step(f"searching partitions over {min(max_k, n)} of {n} boards"):
        lbs = _bounds(pb, max_k, every=sweep)  # (the sweep's rows take the bounds of the untightened tables)
        lb = lbs[max_k - 1]
        res = None
        if target_ips and lane_split:  # the fastest plan first: the fallback, and its settles serve the target
            res, lb = _solve(pb, max_k, lb, beam, exact_boards)
            if pb.split:
                lbs = _bounds(pb, max_k)
        tgt = _solve_target(pb, max_k, float(target_ips), lb) if target_ips else None
        if tgt is not None and tgt.boards:
            res = OrderResult(1.0 / float(target_ips), tgt.path, tgt.cuts, tgt.exact)
        elif res is None:
            res, lb = _solve(pb, max_k, lb, beam, exact_boards)
            if pb.split:  # (the bounds of the lane-split relaxation: the later searches start from them)
                lbs = _bounds(pb, max_k)
    if not np.isfinite(res.interval):
        raise _diagnose_no_fit(pb, _bounds(pb, max_k, every=False)[max_k - 1], max_k)  # on the tables the exact solve tightened
    tau = res.interval  # boards are configured at this interval (the target's, in target mode)
    L = len(graph.layers)
    built = tgt.widths if tgt is not None and tgt.boards else [None] * len(res.path)  # target: fewest-DSP width
    bplans, lplans, host_path, hops = _expand(pb, graph, res, tau, built)
    proven = deploy_info = None  # the deployable search's own bound, and what it did
    refusal = _refusal(deployable, graph, bplans, lplans, host_path) if deployable is not None else None
    if refusal is not None and tgt is not None and tgt.boards:  # target mode: its own objective, same branching
        with step("re-planning around the links deployment refuses"):
            got, deploy_info = deployable_target(pb, graph, tgt, max_k, float(target_ips), deployable, refusal)
        if got is not None:
            tgt, refusal = got, None
            res = OrderResult(1.0 / float(target_ips), tgt.path, tgt.cuts, tgt.exact)
        else:  # no accepted plan found reaching the target: the fastest accepted plan (target met if it does)
            tgt = dataclasses.replace(tgt, boards=0, path=[], cuts=[], widths=[], exact=False)
            res, lb = _solve(pb, max_k, lbs[max_k - 1], beam, exact_boards)
            if not np.isfinite(res.interval):
                raise refusal
        tau = res.interval
        built = tgt.widths if tgt.boards else [None] * len(res.path)
        bplans, lplans, host_path, hops = _expand(pb, graph, res, tau, built)
        if not tgt.boards:
            refusal = _refusal(deployable, graph, bplans, lplans, host_path)
    if refusal is not None:
        with step("re-planning around the links deployment refuses"):
            res, proven, info = deployable_search(pb, graph, res, lb, max_k, beam, exact_boards, deployable, refusal)
        deploy_info = info if deploy_info is None else {
            k: (v or info[k]) if k == "capped" else info[k] if k == "max_replans" else v + info[k]
            for k, v in deploy_info.items()}
        tau = res.interval
        bplans, lplans, host_path, hops = _expand(pb, graph, res, tau, [None] * len(res.path))
    extra_latency = charge_transport(graph, cluster, bplans, lplans, host_path)
    charge_credits(graph, cluster, lplans, host_path)
    link_ends = charge_link_kernels(graph, cluster, bplans, lplans, host_path)
    for i, bp in enumerate(bplans):  # flip-flops: estimated per block, checked, not searched (ffmodel.py)
        t, spec_i = pb.board_type[res.path[i]], cluster.boards[res.path[i]].spec
        tt_i = _at(pb, t, bp.first_layer, bp.last_layer + 1) if built[i] is None else _width(pb, t, built[i])
        ends = link_ends[bp.name]
        bp.ff = [layers_ffs(bp, tt_i.infos or pb.infos, spec_i) + ends["rx_ff"] + ends["tx_ff"], ff_available(spec_i)]
        kernel_estimates(bp, tt_i.infos or pb.infos, spec_i, ends)  # per SLR kernel, for asymap compare
    check_ffs(bplans, util)
    check_crossings(graph, bplans, {b.name: b.spec for b in cluster.boards})
    extra_latency += charge_crossing_latency(bplans)
    hops = _hop_stages(host_path)
    stages = ([(bp.interval_s, bp.name) for bp in bplans] + [(lp.interval_s, f"{lp.src}->{lp.dst}") for lp in lplans]
              + hops)
    interval = max(s[0] for s in stages)
    # The bottleneck is the stage that cannot go faster: a board whose own best interval for its
    # segment is the cluster interval (others are slowed down to it on purpose), or a link.
    fastest = ([(bp.best_interval_s, bp.name) for bp in bplans] + [(lp.interval_s, f"{lp.src}->{lp.dst}") for lp in lplans]
               + hops)
    bottleneck = next((name for v, name in fastest if v >= interval * (1 - 1e-12)), None)
    if bottleneck is None:  # target mode: every board is configured slower than it could run
        bottleneck = max(stages, key=lambda s_: s_[0])[1]
    macs = graph.macs
    # Baselines, same cost model.
    base = {}
    used_specs = {}
    for bidx, b in enumerate(cluster.boards):
        used_specs.setdefault(b.spec.cost_key(), (b.name, b.spec))
    best_reuse = None
    for ti, (name, spec) in enumerate(used_specs.values()):  # (in type order: build_problem's keys)
        t, eng = pb.reuse[ti] if pb.reuse is not None else bl.reuse_interval(graph, spec, util)
        if best_reuse is None or t < best_reuse[0]:
            best_reuse = (t, name, spec, eng)
    t, name, spec, eng = best_reuse
    iv, ips, g = _rate(t, macs)
    base["reuse_single"] = {"board": name, "type": spec.type, "engine": {"tn": eng[0], "tm": eng[1]},
                            "interval_s": iv, "throughput_ips": ips, "gops": g}
    bpath = bl.baseline_path(pb.adj, n)[:max_k]
    dsps = [b.spec.dsp * b.spec.macs_per_dsp for b in cluster.boards]
    for key, (v, pp, cc) in bl.split_baselines(graph, pb.seg, [pb.types[t].table.onchip for t in pb.board_type], pb.link, bpath, dsps).items():
        iv, ips, g = _rate(v, macs)
        base[key] = {"boards": [cluster.boards[b].name for b in pp], "cuts": cc, "interval_s": iv,
                     "throughput_ips": ips, "gops": g}
    # The outer search is exact over the achievable segment table; the plan is proven optimal only
    # if it also meets a bound computed from the relaxed (lower) table, which holds for every real
    # factor choice. Small clusters: the exact search over the relaxed table; larger: bounds.py.
    target = None
    tau_t = 1.0 / float(target_ips) if target_ips else 0.0
    if tgt is not None:
        # The fewest-boards search may run out of work before a plan; the fallback's exact inner
        # solve may still reach the target (met, but with the fastest plan: fewest not proven).
        late = not tgt.boards and interval <= 1.0 / float(target_ips) * (1 + 1e-12)
        target = {"ips": float(target_ips), "met": bool(tgt.boards) or late, "boards": len(bplans),
                  "dsp": int(sum(bp.resources["dsp"][0] for bp in bplans)), "exact": bool(tgt.exact) and not late,
                  "best_ips": float(1.0 / interval)}
    if tgt is not None and tgt.boards:
        # Target mode: "optimal" means the fewest boards, then DSPs, proven over the achievable table.
        exact, gap = bool(tgt.exact), 0.0
        tau = interval
    elif proven is not None:  # the deployable search's bound: the least over its open branches
        lb = proven
        exact, gap = claim(interval, lb)
    else:
        with step("proving the bound"):
            lb = _proven_bound(pb, res, lb, max_k)
        exact, gap = claim(interval, lb)
    if target is not None and not target["met"] and (deploy_info or {}).get("capped") and lb <= tau_t * (1 + 1e-12):
        # The re-plan cap stopped the search around deployment's refusals before it decided: branches
        # left open may hold an accepted plan reaching the target (the bound does not rule one out).
        target["decided"] = False
    sweep_rows = None
    if sweep:
        ks = range(1, max_k + 1)
        if progress:
            ks = progress(ks)
        main = None if tgt is not None and tgt.boards else (res, lb)
        no_plan: dict = {}  # rows without a plan because of deployment: "refused" | "not decided"
        sweep_rows = [{"boards": k, "used": len(r.path), **dict(zip(("interval_s", "throughput_ips", "gops"),
                                                                   _rate(r.interval, macs))),
                       "lower_bound_s": lbk if np.isfinite(lbk) else None,
                       "optimal": bool(r.interval <= lbk * (1 + 1e-12)) if np.isfinite(r.interval) else None,
                       "gap_bound": max(0.0, (r.interval - lbk) / lbk) if np.isfinite(r.interval) else None}
                      for k, r, lbk in _sweep(pb, res, lbs, max_k, beam, exact_boards, ks, main, graph,
                                                 deployable, no_plan)]
        for row in sweep_rows:  # (the key only on such rows: other sweeps stay byte-identical)
            if row["boards"] in no_plan:
                row["no_plan"] = no_plan[row["boards"]]
    return Plan(
        model={**_file_info(model_path, known_sha=model_sha256() if callable(model_sha256) else model_sha256,
                            read=not callable(model_sha256)),
               "name": graph.name, "layers": L, "macs": int(macs),
               **_calib_info(calib, graph)},
        cluster={"path": _file_info(cluster.path, cluster.sha256, read=False)["path"], "sha256": cluster.sha256 or None,
                 "boards": n, "name": cluster.name},
        boards=bplans, links=lplans, interval_s=float(interval), throughput_ips=1.0 / interval,
        gops=2.0 * macs / interval / 1e9,
        latency_s=float(sum(s[0] for s in stages) + extra_latency), bottleneck=bottleneck, baselines=base, host_path=host_path,
        references=_references(graph, cluster, 1.0 / interval) or None,
        optimal=exact, gap_bound=float(gap), lower_bound_s=float(lb), util=util,
        peak_gops=float(sum(b.spec.peak_gops for b in cluster.boards)),
        target=target,
        search={"method": ("target-fewest-boards" if tgt is not None and tgt.boards else
                           "exact-subset-dp" if res.exact else f"beam-{beam}"), "states": int(res.states),
                "max_boards": max_k, "exact_up_to_boards": exact_boards,
                **({"deploy": deploy_info} if deploy_info is not None else {})},
        sweep=sweep_rows,
        **_options(boards=max_k, util=util, pad=pad, beam=beam, exact_boards=exact_boards, sweep=sweep,
                   **({"lane_split": True} if lane_split else {})),
    )


def claim(interval: float, lb: float) -> tuple[bool, float]:
    """(``optimal``, ``gap_bound``) of a plan whose reported interval, every charge applied, is
    ``interval``, against ``lb``, a lower bound from the search's model.

    The claim is made against the final interval, not the search's: the charges applied after the
    search can only raise a plan's interval, so a plan the search proved optimal says "optimal" only
    if none of them moved it. ``lb`` stays a lower bound of the full model's optimum because every
    post-search charge only adds to the search model, plan by plan:

    * ``charge_credits``: ``credit_s >= 0`` added to a link or hop stage (costmodel.credit_seconds);
    * the host path's ``shared`` hop (``_host_path``): the hop's seconds over its own bytes plus the
      pipeline link's, at least the seconds over its own bytes that the search's ``entry``/``exit``
      charge on the same minimax route (hostpath.host_routes);
    * transport ends, link-kernel (un)packers and beat FIFOs (``charge_transport``,
      ``charge_link_kernels``, ``links[].buffer_bram36``) and the SLR crossings' latency add
      resources or latency, never to an interval; the search keeps the reserves
      (``transport_reserve``, ``link_kernel_reserve``) out of every budget, so the bound holds for
      the model with those reserves (docs/cost-model.md, "What optimal covers");
    * ``check_ffs`` and ``check_crossings`` refuse a plan (an error), they never change an interval.

    So every plan's full interval is at least its search interval, the full optimum at least the
    search optimum, and that at least ``lb``."""
    exact = bool(interval <= lb * (1 + 1e-12))
    return exact, 0.0 if exact else max(0.0, (interval - lb) / lb)


def _options(**opts) -> dict:
    from asymap.partition.contract import options_sha256

    return {"options": opts, "options_sha256": options_sha256(opts)}
