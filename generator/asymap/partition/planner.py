"""``plan(graph, cluster)``: the highest-throughput mapping of a layer chain onto a cluster.

Pipeline of the planner (each step in its own module):
1. costmodel: per layer, per board type, per weight mode, a monotone menu of factor choices;
2. segments: the exact best interval of every contiguous segment on every board type;
3. bounds: a lower bound from the relaxation that ignores topology and board order;
4. order: the exact subset DP (<= EXACT_BOARDS boards) or its beam version (beyond), both over
   paths of the topology, link costs of every tensor crossing a cut included;
5. the chosen plan is expanded into plan.json: per layer factors and resources, per board and link
   intervals, the bottleneck, the baselines, and the honest ``optimal``/``gap_bound``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from asymap.cluster.load import Cluster
from asymap.errors import UserError
from asymap.frontend.ir import Graph
from asymap.partition import baselines as bl
from asymap.partition.bounds import lower_bounds
from asymap.partition.costmodel import (
    MODES, OFFCHIP, ONCHIP, RES, board_menus, budget, layer_infos, port_beats, streamed_bytes,
)
from asymap.partition.order import EXACT_BOARDS, OrderResult, search
from asymap.partition.planfile import BoardPlan, LayerPlan, LinkPlan, Plan, load_plan  # noqa: F401
from asymap.partition.segments import candidate_cycles, choose, segment_table

DEFAULT_BEAM = 48


@dataclass
class _TypeTables:
    spec: object
    budget: np.ndarray
    menus: tuple  # (onchip menus, offchip menus)
    table: object  # SegmentTable


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


def build_problem(graph: Graph, cluster: Cluster, util: float = 0.8, pad: bool = True) -> Problem:
    if not graph.layers:
        raise UserError(f"{graph.name}: the model has no layers to place")
    if not 0 < util <= 1:
        raise UserError(f"--util must be in (0, 1], got {util}")
    infos = layer_infos(graph, pad)
    L = len(infos)
    keys: dict = {}
    board_type = []
    for b in cluster.boards:
        board_type.append(keys.setdefault(b.spec.cost_key(), len(keys)))
    specs = {}
    for b, t in zip(cluster.boards, board_type):
        specs.setdefault(t, b.spec)
    wbytes = streamed_bytes(infos)
    per_type_menus = [(board_menus(infos, specs[t], ONCHIP), board_menus(infos, specs[t], OFFCHIP)) for t in range(len(specs))]
    ts = candidate_cycles([m for pair in per_type_menus for m in pair])
    types = []
    for t in range(len(specs)):
        spec = specs[t]
        bud = budget(spec, util)
        on, off = per_type_menus[t]
        table = segment_table(on, off, bud, spec.clock_hz, wbytes, spec.mem_gbps * 1e9, ts)
        types.append(_TypeTables(spec, bud, (on, off), table))
    cb = _cut_bytes(graph)
    names = [b.name for b in cluster.boards]
    pos = {n: i for i, n in enumerate(names)}
    link = {}
    adj: list[list[int]] = [[] for _ in names]
    lmin = np.full(L + 1, np.inf)
    for ln in cluster.links:
        v = cb * 8.0 / (ln.gbps * 1e9) + ln.latency_ns * 1e-9
        a, b = pos[ln.a], pos[ln.b]
        link[(a, b)] = link[(b, a)] = v
        adj[a].append(b)
        adj[b].append(a)
        lmin = np.minimum(lmin, v)
    for a in adj:
        a.sort()
    return Problem(graph, cluster, infos, types, board_type, [types[t].table.interval for t in board_type],
                   link, adj, cb, lmin, util)


def _bounds(pb: Problem, max_k: int) -> list[float]:
    counts = [0] * len(pb.types)
    for t in pb.board_type:
        counts[t] += 1
    return lower_bounds([t.table.interval for t in pb.types], counts, pb.cut_link_min, max_k)


def solve_order(pb: Problem, max_boards: int, lb: float, beam: int | None = DEFAULT_BEAM, exact_boards: int = EXACT_BOARDS):
    """Exact search for small clusters; beam search (best of a few targets) beyond."""
    n = len(pb.cluster.boards)
    if n <= exact_boards:
        return search(pb.seg, pb.link, pb.adj, max_boards, beam=None)
    best = None
    # Targets from the lower bound upwards; a target above the best plan found cannot help.
    taus = [lb * f for f in (1.0, 1.03, 1.1, 1.25, 1.5)] if np.isfinite(lb) else [np.inf]
    for tau in taus:
        if best is not None and (best.exact or best.interval <= lb or tau >= best.interval):
            break
        r = search(pb.seg, pb.link, pb.adj, max_boards, beam=beam, tau=tau)
        if best is None or r.interval < best.interval or (r.exact and r.interval == best.interval):
            best = r
    # Still unproven: widen the beam. Branch-and-bound often keeps the state count small enough
    # that a wider beam never drops a state, and then the search is exact after all.
    for wide in (beam * 4, beam * 16):
        if best.exact or best.interval <= lb:
            break
        # Only plans at least as good as the best one can survive the bound: if this search is
        # exact and finds nothing, the best plan is proven optimal.
        r = search(pb.seg, pb.link, pb.adj, max_boards, beam=wide, tau=lb, ub=best.interval * (1 + 1e-12))
        if r.exact:
            if not (np.isfinite(r.interval) and r.interval <= best.interval):
                r = OrderResult(best.interval, best.path, best.cuts, True, best.states + r.states, best.best_by_count)
            best = r
        elif r.interval < best.interval:
            best = r
    return best


def _diagnose_no_fit(pb: Problem, lb: float, max_k: int) -> UserError:
    """Which layer and which resource rule out every plan (say it for the largest board)."""
    big = max(range(len(pb.types)), key=lambda t: (pb.types[t].spec.dsp + 8 * pb.types[t].spec.uram + pb.types[t].spec.bram36))
    tt = pb.types[big]
    seg = tt.table.interval
    L = len(pb.infos)
    for j in range(L):
        if not np.isfinite(seg[j, j + 1]):
            lay = pb.infos[j].layer
            need = np.minimum(tt.menus[0][j].res[0], tt.menus[1][j].res[0])
            bad = [f"{RES[r]} {int(need[r])} > {int(tt.budget[r])}" for r in range(4) if need[r] > tt.budget[r]]
            return UserError(
                f"{pb.graph.name}: layer {j} '{lay.name}' ({lay.op}) fits on no board: even at its slowest it needs "
                f"{', '.join(bad)} on the largest board type '{tt.spec.type}' (at {pb.util:.0%} utilization); "
                "use a larger board or a smaller model"
            )
    if np.isfinite(lb):
        return UserError(
            f"{pb.cluster.path or 'cluster'}: no path through the cluster's linked boards can hold the model "
            f"with at most {max_k} boards, although {max_k} boards would suffice without the topology; "
            "add links so the boards form a longer path"
        )
    need = min((m for m in range(1, len(pb.board_type) + 1) if np.isfinite(_bounds(pb, m)[-1])), default=None)
    # The whole model at its slowest on the largest board: which resources overflow in both modes.
    parts = []
    for md, label in ((ONCHIP, "weights on chip"), (OFFCHIP, "streaming weights")):
        use = sum(tt.menus[md][j].res[0] for j in range(L))
        over = [f"{RES[r]} {int(use[r])} > {int(tt.budget[r])}" for r in range(4) if use[r] > tt.budget[r]]
        parts.append(f"{label} {', '.join(over) or 'fits'}")
    what = f"at its slowest the whole model needs on the largest board '{tt.spec.type}': {'; '.join(parts)}"
    more = f"; it needs at least {need} boards" if need else "; the whole cluster is too small"
    return UserError(
        f"{pb.graph.name}: the model does not fit on {max_k} board(s) of {pb.cluster.name or 'the cluster'}: "
        f"{what}{more} (use --boards, more boards, or a higher --util)"
    )


def _board_limit(pb: Problem, t: int, j: int, k: int, mode: int) -> str:
    """Why this segment cannot go faster: a layer at full parallelism, a resource, or bandwidth."""
    tt = pb.types[t]
    menus = tt.menus[mode]
    best = tt.table.interval[j, k] * tt.spec.clock_hz
    if mode == OFFCHIP:
        stream = streamed_bytes(pb.infos[j:k]).sum() / (tt.spec.mem_gbps * 1e9) * tt.spec.clock_hz
        if stream >= best * (1 - 1e-9):
            return "memory bandwidth (weights streamed off-chip)"
    for li in range(j, k):
        if menus[li].cycles[-1] >= best * (1 - 1e-12):
            lay = pb.infos[li].layer
            share = port_beats(lay) / max(1, int(menus[li].cycles[-1]))
            return (f"parallelism of layer {li} '{lay.name}' (all its factors used; "
                    f"{share:.0%} of its cycles move port beats)")
    # Next faster target: the largest menu cycle count below the current one.
    nxt = max((c for m in menus[j:k] for c in m.cycles if c < best * (1 - 1e-12)), default=None)
    if nxt is None:
        return "parallelism"
    rows = choose(menus, j, k - 1, nxt)
    use = sum(menus[j + i].res[r] for i, r in enumerate(rows))
    over = [RES[r] for r in range(4) if use[r] > tt.budget[r]]
    return f"{'/'.join(over)} budget" if over else "resources"


def _board_plan(pb: Problem, pos: int, b: int, j: int, k: int, tau: float) -> BoardPlan:
    board = pb.cluster.boards[b]
    t = pb.board_type[b]
    tt = pb.types[t]
    spec = tt.spec
    tcyc = tau * spec.clock_hz
    mode = ONCHIP
    rows = choose(tt.menus[ONCHIP], j, k - 1, tcyc)
    use = sum(tt.menus[ONCHIP][j + i].res[r] for i, r in enumerate(rows))
    on_ok = bool(np.all(use <= tt.budget)) and all(
        tt.menus[ONCHIP][j + i].cycles[r] <= tcyc * (1 + 1e-12) for i, r in enumerate(rows)
    )
    if not on_ok:
        mode = OFFCHIP
        rows = choose(tt.menus[OFFCHIP], j, k - 1, tcyc)
    menus = tt.menus[mode]
    layers = []
    tot = np.zeros(4, np.int64)
    worst = 0
    for i, r in enumerate(rows):
        info = pb.infos[j + i]
        m = menus[j + i]
        o = info.options
        oi = int(m.opt[r])
        fac = {"pe": int(o.pe[oi]), "simd": int(o.simd[oi])}
        if int(o.kpar[oi]) > 1:  # absent means 1 (plans written before window parallelism)
            fac["kpar"] = int(o.kpar[oi])
        if bool(o.padded[oi]):
            fac["pe_padded"] = True
        res = m.res[r]
        tot += res
        worst = max(worst, int(m.cycles[r]))
        layers.append(LayerPlan(
            index=j + i, name=info.layer.name, op=info.layer.op, factors=fac, cycles=int(m.cycles[r]),
            dsp=int(res[0]), bram36=int(res[1]), uram=int(res[2]), lut=int(res[3]),
            weights="offchip" if (mode == OFFCHIP and info.streams) else "onchip",
        ))
    interval = worst / spec.clock_hz
    if mode == OFFCHIP:
        interval = max(interval, streamed_bytes(pb.infos[j:k]).sum() / (spec.mem_gbps * 1e9))
    avail = [spec.dsp, spec.bram36, spec.uram, spec.lut]
    own_mode = int(tt.table.mode[j, k])
    return BoardPlan(
        name=board.name, type=board.spec.type, index=pos, clock_mhz=spec.clock_mhz, first_layer=j, last_layer=k - 1,
        interval_s=float(interval),
        resources={RES[r]: [int(tot[r]), int(avail[r])] for r in range(4)},
        layers=layers, weights=MODES[mode], limit=_board_limit(pb, t, j, k, own_mode),
        best_interval_s=float(tt.table.interval[j, k]),
    )


def _file_info(path, sha_fallback: str = "") -> dict:
    if not path:
        return {"path": None, "sha256": sha_fallback or None}
    p = Path(path)
    sha = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else (sha_fallback or None)
    shown = p.name if p.is_absolute() else str(path)
    return {"path": shown, "sha256": sha}


def _rate(interval: float, macs: int) -> tuple:
    if not np.isfinite(interval) or interval <= 0:
        return None, 0.0, 0.0
    return float(interval), 1.0 / interval, 2.0 * macs / interval / 1e9


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
) -> Plan:
    """The best plan of ``graph`` on at most ``boards`` boards of ``cluster`` (all by default).

    ``pad`` also offers zero-padded ``pe`` for prime channel counts (``"pe_padded": true``)."""
    n = len(cluster.boards)
    max_k = n if boards is None else int(boards)
    if max_k < 1 or max_k > n:
        raise UserError(f"--boards {max_k}: the cluster has {n} board(s); give 1..{n}")
    pb = build_problem(graph, cluster, util, pad)
    lbs = _bounds(pb, max_k)
    lb = lbs[max_k - 1]
    res = solve_order(pb, max_k, lb, beam=beam, exact_boards=exact_boards)
    if not np.isfinite(res.interval):
        raise _diagnose_no_fit(pb, lb, max_k)
    tau = res.interval
    L = len(graph.layers)
    bplans = [_board_plan(pb, i, b, res.cuts[i], res.cuts[i + 1], tau) for i, b in enumerate(res.path)]
    lplans = []
    for i in range(1, len(res.path)):
        a, b = cluster.boards[res.path[i - 1]], cluster.boards[res.path[i]]
        ln = cluster.link(a.name, b.name)
        c = res.cuts[i]
        lplans.append(LinkPlan(
            src=a.name, dst=b.name, tensors=graph.live_across(c - 1), bytes_per_image=int(pb.cut_bytes[c]),
            interval_s=float(pb.link[(res.path[i - 1], res.path[i])][c]), gbps=ln.gbps, latency_ns=ln.latency_ns,
            width_bits=ln.width_bits,
        ))
    stages = [(bp.interval_s, bp.name) for bp in bplans] + [(lp.interval_s, f"{lp.src}->{lp.dst}") for lp in lplans]
    interval = max(s[0] for s in stages)
    # The bottleneck is the stage that cannot go faster: a board whose own best interval for its
    # segment is the cluster interval (others are slowed down to it on purpose), or a link.
    fastest = [(bp.best_interval_s, bp.name) for bp in bplans] + [(lp.interval_s, f"{lp.src}->{lp.dst}") for lp in lplans]
    bottleneck = next(name for v, name in fastest if v >= interval * (1 - 1e-12))
    macs = graph.macs
    # Baselines, same cost model.
    base = {}
    used_specs = {}
    for bidx, b in enumerate(cluster.boards):
        used_specs.setdefault(b.spec.cost_key(), (b.name, b.spec))
    best_reuse = None
    for name, spec in used_specs.values():
        t, eng = bl.reuse_interval(graph, spec, util)
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
    exact = res.exact
    gap = 0.0 if exact else max(0.0, (tau - lb) / lb)
    sweep_rows = None
    if sweep:
        sweep_rows = []
        ks = range(1, max_k + 1)
        if progress:
            ks = progress(ks)
        for k in ks:
            r = res if k == max_k else solve_order(pb, k, lbs[k - 1], beam=beam, exact_boards=exact_boards)
            iv, ips, g = _rate(r.interval, macs)
            lbk = lbs[k - 1]
            sweep_rows.append({
                "boards": k, "used": len(r.path), "interval_s": iv, "throughput_ips": ips, "gops": g,
                "lower_bound_s": lbk if np.isfinite(lbk) else None,
                "optimal": bool(r.exact or r.interval <= lbk) if np.isfinite(r.interval) else None,
                "gap_bound": (0.0 if r.exact else max(0.0, (r.interval - lbk) / lbk)) if np.isfinite(r.interval) else None,
            })
    return Plan(
        model={**_file_info(model_path), "name": graph.name, "layers": L, "macs": int(macs)},
        cluster={"path": _file_info(cluster.path, cluster.sha256)["path"], "sha256": cluster.sha256 or None,
                 "boards": n, "name": cluster.name},
        boards=bplans, links=lplans, interval_s=float(interval), throughput_ips=1.0 / interval,
        gops=2.0 * macs / interval / 1e9,
        latency_s=float(sum(s[0] for s in stages)), bottleneck=bottleneck, baselines=base,
        optimal=bool(exact or tau <= lb), gap_bound=float(gap), lower_bound_s=float(lb), util=util,
        peak_gops=float(sum(b.spec.peak_gops for b in cluster.boards)),
        search={"method": "exact-subset-dp" if exact else f"beam-{beam}", "states": int(res.states),
                "max_boards": max_k, "exact_up_to_boards": exact_boards},
        sweep=sweep_rows,
        **_options(boards=max_k, util=util, pad=pad, beam=beam, exact_boards=exact_boards, sweep=sweep),
    )


def _options(**opts) -> dict:
    from asymap.partition.contract import options_sha256

    return {"options": opts, "options_sha256": options_sha256(opts)}
