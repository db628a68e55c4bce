"""Human-readable rendering of a plan (the CLI prints it; plan.json stays the contract)."""

from __future__ import annotations

from asymap.partition.planfile import Plan


def _t(s) -> str:
    if s is None:
        return "-"
    return f"{s * 1e3:.3f} ms" if s >= 1e-4 else f"{s * 1e6:.1f} us"


def _pct(used_avail) -> str:
    used, avail = used_avail
    return "-" if avail == 0 else f"{100.0 * used / avail:.0f}%"


def _optimality(plan: Plan) -> str:
    """The optimality line. Target mode's "optimal" is about its own objective (the fewest boards
    at 1/N; the DSPs are the fewest over the segments the search knows, not proven: docs/plan-format.md),
    not the interval, so it shows no interval bound: a 0.00 % gap next to a lower bound far below
    the interval would read as a contradiction."""
    method = plan.search.get("method")
    if method == "target-fewest-boards":
        return (f"optimal: {'yes' if plan.optimal else 'not proven'} (the fewest boards reaching the target; "
                f"DSPs the fewest found; search {method})")
    line = (f"optimal: {'yes' if plan.optimal else 'not proven'}  gap bound {100 * plan.gap_bound:.2f}%  "
            f"(lower bound {_t(plan.lower_bound_s)}, search {method})")
    dep = plan.search.get("deploy")
    if dep:  # faster plans deployment refuses were avoided; the bound is over the plans it accepts
        line += (f"\ndeployable: the best plan 'asymap generate' and 'build' accept ({dep['refused']} faster plan(s) refused, "
                 f"{dep['replans']} re-plan(s) without their conflicting links; optimality over accepted plans)")
        if dep["capped"]:
            line += (f"\n  stopped at the cap of {dep['max_replans']} re-plans: the best accepted plan found, the bound "
                     "covers the branches left open")
    return line


def _baseline_note(plan: Plan) -> str:
    """A line saying so when a baseline design is faster than the plan (e.g. one engine reused for
    every layer beating a pipeline squeezed onto a board whose per-layer engines barely fit), and
    whether a faster pipeline may still exist (the plan's gap) or provably does not; "" if none is."""
    better = [(b["throughput_ips"], name, b) for name, b in plan.baselines.items()
              if b["throughput_ips"] > plan.throughput_ips * (1 + 1e-9)]
    if not better or plan.search.get("method") == "target-fewest-boards":
        return ""
    ips, name, b = max(better, key=lambda x: x[0])
    where = f" on {b['board']}" if "board" in b else ""
    why = ("this plan is proven optimal: no pipeline on this cluster beats it" if plan.optimal else
           f"this plan is not proven optimal (gap bound {100 * plan.gap_bound:.2f}%): a faster pipeline may exist")
    return f"  note: the baseline {name}{where} ({ips:.1f} images/s) is faster than this plan; {why}"


def render(plan: Plan) -> str:
    m, c = plan.model, plan.cluster
    lines = [
        f"{m.get('name') or m.get('path')}: {m['layers']} layers, {m['macs'] / 1e6:.1f} MMAC/image  on  "
        f"{c.get('name') or c.get('path') or 'cluster'}: {c.get('boards')} boards, {len(plan.boards)} used",
        "",
        f"{'#':>2}  {'board':<10} {'type':<8} {'layers':<9} {'MAC lanes':>9}  {'DSP':>4} {'BRAM':>5} {'URAM':>5} {'LUT':>4}"
        f"  {'weights':<8} {'port':>4} {'interval':>10}   limit",
    ]
    for b in plan.boards:
        lanes = sum(lp.factors["pe"] * lp.factors["simd"] * lp.factors.get("kpar", 1) for lp in b.layers if lp.dsp > 0)
        mark = " <- bottleneck" if b.name == plan.bottleneck else ""
        lines.append(
            f"{b.index:>2}  {b.name:<10} {b.type:<8} {f'{b.first_layer}-{b.last_layer}':<9} {lanes:>9}  "
            f"{_pct(b.resources['dsp']):>4} {_pct(b.resources['bram36']):>5} {_pct(b.resources['uram']):>5} "
            f"{_pct(b.resources['lut']):>4}  {b.weights:<8} {b.port_lanes:>4} {_t(b.interval_s):>10}   {b.limit}{mark}"
        )
    if plan.links:
        lines.append("")
        for ln in plan.links:
            name = f"{ln.src}->{ln.dst}"
            mark = " <- bottleneck" if name == plan.bottleneck else ""
            lines.append(
                f"    link {name:<22} {ln.gbps:>6g} Gb/s  {ln.bytes_per_image:>9} B/image "
                f"({len(ln.tensors)} tensor{'s' if len(ln.tensors) != 1 else ''})  {_t(ln.interval_s):>10}{mark}"
            )
    hp = plan.host_path
    if hp:
        lines.append("")
        for label, hops in (("host in ", hp["in"]), ("host out", hp["out"])):
            route = " -> ".join([hops[0]["from"]] + [h["to"] for h in hops])
            worst = max(hops, key=lambda h: h["interval_s"])
            mark = " <- bottleneck" if f"{worst['from']}->{worst['to']}" == plan.bottleneck else ""
            shared = " (shares a pipeline link)" if any(h["shared"] for h in hops) else ""
            lines.append(f"    {label} {route}  {hops[0]['bytes_per_image']} B/image, slowest hop "
                         f"{worst['from']}->{worst['to']} {_t(worst['interval_s'])}{shared}{mark}")
        if hp["forwarding"]:
            lines.append(f"    forwarding boards (link kernels only, no layers): {', '.join(hp['forwarding'])}")
    lines += [
        "",
        f"interval {_t(plan.interval_s)}  throughput {plan.throughput_ips:.1f} images/s  {plan.gops:.0f} GOPS "
        f"({100 * plan.gops / plan.peak_gops:.1f}% of the cluster's {plan.peak_gops:.0f} peak int8 GOPS)  "
        f"latency {_t(plan.latency_s)}",
        _optimality(plan),
        "",
        "baselines (same cost model)        interval     images/s     GOPS   plan is",
    ]
    for name, b in plan.baselines.items():
        ratio = f"{plan.throughput_ips / b['throughput_ips']:.2f}x" if b["throughput_ips"] else "inf (baseline infeasible)"
        where = f" on {b['board']}" if "board" in b else ""
        lines.append(
            f"  {name + where:<30} {_t(b['interval_s']):>10} {b['throughput_ips']:>12.1f} {b['gops']:>8.0f}   {ratio}"
        )
    for typ, r in (plan.references or {}).items():
        lines.append(f"  {'published, one ' + typ:<30} {_t(1.0 / r['ips']):>10} {r['ips']:>12.1f} {'':>8}   "
                     f"{r['ratio']:.2f}x  (measured {r['model']}: {r['source']})")
    note = _baseline_note(plan)
    if note:
        lines.append(note)
    if plan.target:
        tg = plan.target
        lines += ["", f"target {tg['ips']:g} images/s: " + (
            f"met with {tg['boards']} board(s), {tg['dsp']} DSPs configured" if tg["met"] else
            f"NOT reachable; the best is {tg['best_ips']:.1f} images/s with {tg['boards']} board(s)"
            if tg.get("decided", True) else
            f"not decided within {(plan.search.get('deploy') or {}).get('max_replans')} re-plans; the best accepted "
            f"plan found reaches {tg['best_ips']:.1f} images/s with {tg['boards']} board(s)")]
    if plan.sweep:
        lines += ["", "boards  used    interval     images/s     GOPS   optimal  gap"]
        for r in plan.sweep:
            gap = "-" if r["gap_bound"] is None else f"{100 * r['gap_bound']:.2f}%"
            if r.get("no_plan"):  # no plan because of deployment: none accepted, or the re-plan cap
                gap = ("no plan deployment accepts" if r["no_plan"] == "refused" else
                       "not decided: the re-plan cap stopped it (an accepted plan may exist)")
            lines.append(
                f"{r['boards']:>6} {r['used']:>5}  {_t(r['interval_s']):>10} {r['throughput_ips']:>12.1f} "
                f"{r['gops']:>8.0f}   {'-' if r['optimal'] is None else 'yes' if r['optimal'] else 'no':<7}  {gap}"
            )
    return "\n".join(lines) + "\n"
