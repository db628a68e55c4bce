"""A plan is a contract: before code is generated from a (possibly hand-edited) plan.json, check
that it still belongs to the cluster and options it was made for, that every factor is one the
planner could have chosen, and that every board's layers fit the board's resource budget.

The checks *call* the planner's own cost model (``layer_options``, ``option_resources``,
``budget``) instead of restating its rules, so a plan the planner writes always passes and a
hand edit the planner would never make (``pe`` x64 overflowing the DSPs, ``pe: 7`` on 32 output
channels, a cluster edited after planning) is refused with one line naming board, layer and key.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

from asymap.errors import UserError
from asymap.frontend.ir import AVGPOOL, CONV, FC, MAXPOOL, Graph
from asymap.lanes import DEFAULT_PORT_LANES, PORT_LANE_CHOICES
from asymap.partition.costmodel import OFFCHIP, ONCHIP, RES, budget, layer_infos, option_resources

# Which factor keys the engine of each op reads (others are not parallelism of that engine).
_KEYS = {CONV: ("pe", "simd", "kpar"), FC: ("pe", "simd", "kpar"), MAXPOOL: ("pe",), AVGPOOL: ("pe",)}
FIX = "re-run 'asymap plan' (or edit the plan back to a value the planner offers)"


def options_sha256(options: dict) -> str:
    """Hash of the planning options (canonical JSON), so a plan says exactly what it was made with."""
    return hashlib.sha256(json.dumps(options, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _int(v) -> int | None:
    return int(v) if isinstance(v, int) and not isinstance(v, bool) else None


def check_hashes(plan: dict, cluster, where: str, allow_stale: bool = False) -> None:
    """Refuse a plan whose cluster hash or options hash do not match (``allow_stale``: the cluster's
    may differ, e.g. after editing only comments or the build: section)."""
    opts = plan.get("options")
    if opts is not None or plan.get("options_sha256") is not None:
        if not isinstance(opts, dict) or plan.get("options_sha256") != options_sha256(opts):
            raise UserError(f"{where}: key 'options' does not match 'options_sha256' (the planning options were "
                            "edited after planning); re-run 'asymap plan' with the options you want")
    got = (plan.get("cluster") or {}).get("sha256") if isinstance(plan.get("cluster"), dict) else None
    have = getattr(cluster, "sha256", "") or None
    if got and have and got != have and not allow_stale:
        raise UserError(f"{where}: key 'cluster.sha256' is {str(got)[:12]}... but {cluster.path or 'the cluster'} is "
                        f"{have[:12]}... (edited after planning); re-run 'asymap plan', or pass --allow-stale "
                        "to generate anyway")


def check_contract(plan: dict, graph: Graph, cluster, where: str, allow_stale: bool = False) -> None:
    """Raise a one-line UserError unless ``plan`` (already shape-checked by codegen.planio) is
    fresh for ``cluster`` and legal and feasible under the planner's cost model.

    The contract binds plans that carry provenance (``options_sha256``: every plan ``asymap plan``
    writes). A plan written from scratch without it (tests, older plans) is only shape-checked and
    its factors are fitted by codegen (the segment records each change in its notes)."""
    check_hashes(plan, cluster, where, allow_stale)
    if plan.get("options_sha256") is None:
        return
    opts = plan.get("options") if isinstance(plan.get("options"), dict) else {}
    pad = bool(opts.get("pad", True))
    util = plan.get("util", opts.get("util", 0.8))
    if isinstance(util, bool) or not isinstance(util, (int, float)) or not 0 < util <= 1:
        raise UserError(f"{where}: key 'util' must be a number in (0, 1], got {util!r}; {FIX}")
    by_width: dict[int, list] = {}  # the board's port width changes cycles and resources (lanes.py)
    by_name = {b.name: b for b in cluster.boards} if cluster is not None else {}
    for b in plan["boards"]:
        lanes = b.get("port_lanes", DEFAULT_PORT_LANES)
        if lanes not in PORT_LANE_CHOICES or isinstance(lanes, bool):
            raise UserError(f"{where}: board {b['name']} key 'port_lanes' is {lanes!r}, not one of "
                            f"{', '.join(map(str, PORT_LANE_CHOICES))}; {FIX}")
        if lanes not in by_width:
            by_width[lanes] = layer_infos(graph, pad, lanes)
        infos = by_width[lanes]
        listed = {ly["index"]: ly for ly in b.get("layers", []) or []}
        # Layers the plan leaves out get factors 1 (codegen.chain does the same).
        layers = [listed.get(i, {"index": i}) for i in range(b["first_layer"], b["last_layer"] + 1)]
        rows = [_legal_row(ly, infos[ly["index"]], b["name"], where, pad) for ly in layers]
        board = by_name.get(b["name"])
        if board is not None:  # else codegen.project names the board that is not in the cluster
            _check_fit(b["name"], layers, rows, infos, board.spec, float(util), where)


def _legal_row(ly: dict, info, board: str, where: str, pad: bool) -> int | None:
    """Index of the planner's option the layer's factors name (None: op has no factor choice)."""
    lay, o = info.layer, info.options
    f = ly.get("factors", {}) or {}
    keys = _KEYS.get(lay.op)
    if keys is None:
        return None
    here = f"{where}: board {board} layer {ly['index']} '{lay.name}' ({lay.op})"
    want = {k: _int(f.get(k, 1)) for k in keys}
    mask = np.ones(len(o.pe), bool)
    for k in keys:
        col = getattr(o, k)
        ok = mask & (col == want[k])
        if not ok.any():
            legal = sorted({int(v) for v in col[mask]})
            shown = ", ".join(map(str, legal[:12])) + (", ..." if len(legal) > 12 else "")
            why = ""
            if k == "pe" and lay.op in (CONV, FC) and want[k] and lay.c_out % want[k] and not pad:
                why = " (planned with --no-pad: pe must divide C_out)"
            dim = {"pe": f"C_out {lay.c_out}", "simd": f"C_in/groups {lay.in_shapes[0][0] // max(1, lay.groups)}",
                   "kpar": f"a {lay.kernel[0]}x{lay.kernel[1]} window"}[k]
            raise UserError(f"{here}: factors.{k} = {f.get(k, 1)!r} is not a legal choice for {dim}{why}; "
                            f"legal here: {shown}; {FIX}")
        mask = ok
    return int(np.flatnonzero(mask)[0])


def _layer_resources(info, spec, mode: int, row, mac: str, lanes: int = 0) -> np.ndarray:
    """The planner's resources of option ``row`` with the plan's MAC kind ``mac`` (the first kind
    the planner offers when the plan names none); with no row, the least any option needs.
    ``lanes``: a lane-split engine's lanes in its first SLR (its two halves, split_resources)."""
    from asymap.partition.costmodel import MAC_KINDS, NO_MAC, mac_rows, split_resources

    if row is None:
        return option_resources(info, spec, mode).min(axis=0)
    rows, kinds = mac_rows(info, spec)
    pick = [k for r, k in zip(rows, kinds) if r == row and k != NO_MAC and MAC_KINDS[k] == mac]
    if lanes and pick:
        a, b = split_resources(info, spec, mode, row, pick[0], [lanes])
        return a[0] + b[0]
    if not pick:
        return option_resources(info, spec, mode)[row]
    return option_resources(info, spec, mode, [row], [pick[0]])[0]


def _check_fit(name: str, layers: list[dict], rows: list, infos, spec, util: float, where: str) -> None:
    """Sum the planner's resource figure of each layer's chosen option; compare with the budget."""
    cap = budget(spec, util)
    total = np.zeros(4, np.int64)
    per_layer = []
    for ly, row in zip(layers, rows):
        info = infos[ly["index"]]
        mode = OFFCHIP if ly.get("weights") == "offchip" else ONCHIP
        split = ly.get("slr_lanes")
        use = _layer_resources(info, spec, mode, row, ly.get("mac") or "",
                               int(split[0][1]) if isinstance(split, list) and split else 0)
        total += use
        per_layer.append((ly, info.layer, use))
    over = [r for r in range(4) if total[r] > cap[r]]
    if over:
        r = over[0]
        ly, lay, _ = max(per_layer, key=lambda t: int(t[2][r]))
        f = ly.get("factors", {}) or {}
        fs = ", ".join(f"{k} {f[k]}" for k in ("pe", "simd", "kpar") if k in f)
        raise UserError(f"{where}: board {name} ({spec.type}): resources.{RES[r]} needs {int(total[r])} > "
                        f"{int(cap[r])} ({util:.0%} of {int([spec.dsp, spec.bram36, spec.uram, spec.lut][r])}); "
                        f"largest user layer {ly['index']} '{lay.name}' key factors ({fs}); "
                        f"lower its factors or {FIX}")
