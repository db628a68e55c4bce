"""Check a generated DATAFLOW region before it is written: the rules Vitis HLS needs to overlap it.

Every generated region (a board's segment, the board's top) is a list of processes connected by
streams. Vitis HLS schedules such a region as concurrent processes only when every channel has
exactly one producer and one consumer and every ``m_axi`` argument is accessed by one process
(UG1399 "Dataflow Optimization Limitations": single-producer-consumer violations; UG1448 message
HLS 200-992). A violation does not fail synthesis -- HLS quietly serializes the region, or the
generated RTL deadlocks -- so the generator refuses to write such a graph at all.

The generator records, per process call, which streams it reads and writes and which ``m_axi``
arguments it accesses; :func:`check_dataflow` verifies that record.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["DataflowGraph", "DataflowGraphError", "Process", "check_dataflow"]


class DataflowGraphError(RuntimeError):
    """The generator produced a DATAFLOW graph that breaks the one-producer/one-consumer rules.

    A bug of asymap, never of the user's input, hence an internal error (asymap.errors) rather
    than a UserError; ``asymap generate`` raises it before anything is written."""


@dataclass(frozen=True)
class Process:
    """One process of a region: a label for messages, streams read/written, m_axi args accessed,
    and (optionally) the call's argument list as emitted, which must name exactly those."""

    name: str
    reads: tuple[str, ...]
    writes: tuple[str, ...]
    maxi: tuple[str, ...] = ()
    args: tuple[str, ...] | None = None


@dataclass
class DataflowGraph:
    """A region: internal ``streams``, stream ports it reads (``inputs``) / writes (``outputs``),
    its ``m_axi`` pointer arguments and its processes."""

    where: str
    streams: list[str]
    inputs: list[str]
    outputs: list[str]
    maxi: list[str] = field(default_factory=list)
    processes: list[Process] = field(default_factory=list)


def _problems(g: DataflowGraph) -> list[str]:
    problems: list[str] = []
    kinds: dict[str, str] = {}
    for kind, names in (("stream", g.streams), ("input port", g.inputs), ("output port", g.outputs),
                        ("m_axi argument", g.maxi)):
        for n in names:
            if n in kinds:
                problems.append(f"{n!r} is declared twice ({kinds[n]} and {kind})")
            kinds.setdefault(n, kind)
    readers: dict[str, list[str]] = {n: [] for n in kinds}
    writers: dict[str, list[str]] = {n: [] for n in kinds}
    for p in g.processes:
        for n in p.reads:
            if kinds.get(n) not in ("stream", "input port", "output port"):
                problems.append(f"process {p.name!r} reads {n!r}, which is no stream of the region")
            else:
                readers[n].append(p.name)
        for n in p.writes:
            if kinds.get(n) not in ("stream", "input port", "output port"):
                problems.append(f"process {p.name!r} writes {n!r}, which is no stream of the region")
            else:
                writers[n].append(p.name)
        for n in p.maxi:
            if kinds.get(n) != "m_axi argument":
                problems.append(f"process {p.name!r} accesses {n!r}, which is no m_axi argument of the region")
            else:
                readers[n].append(p.name)
        if p.args is not None:
            named = {a for a in p.args if a in kinds}
            if named != set(p.reads) | set(p.writes) | set(p.maxi):
                problems.append(f"process {p.name!r} is called with {sorted(named)} but recorded as accessing "
                                f"{sorted(set(p.reads) | set(p.writes) | set(p.maxi))}")
        both = set(p.reads) & set(p.writes)
        if both:
            problems.append(f"process {p.name!r} both reads and writes {sorted(both)[0]!r}")

    def who(names: list[str]) -> str:
        return ", ".join(repr(x) for x in names) if names else "none"

    for n, kind in kinds.items():
        r, w = readers[n], writers[n]
        if kind == "stream" and (len(r) != 1 or len(w) != 1):
            problems.append(f"stream {n!r} has {len(w)} producer(s) ({who(w)}) and {len(r)} consumer(s) "
                            f"({who(r)}); it needs exactly one of each")
        elif kind == "input port" and (len(r) != 1 or w):
            problems.append(f"input port {n!r} is read by {len(r)} process(es) ({who(r)}) and written by "
                            f"{len(w)}; it needs exactly one reader and no writer")
        elif kind == "output port" and (len(w) != 1 or r):
            problems.append(f"output port {n!r} is written by {len(w)} process(es) ({who(w)}) and read by "
                            f"{len(r)}; it needs exactly one writer and no reader")
        elif kind == "m_axi argument" and len(r) != 1:
            problems.append(f"m_axi argument {n!r} is accessed by {len(r)} process(es) ({who(r)}); it needs "
                            "exactly one")
    return problems


def check_dataflow(g: DataflowGraph) -> None:
    """Raise :class:`DataflowGraphError` (one line) if ``g`` breaks a DATAFLOW rule."""
    problems = _problems(g)
    if problems:
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise DataflowGraphError(
            f"{g.where}: refusing to write a DATAFLOW region Vitis HLS cannot overlap: {problems[0]}{more}; "
            "this is an asymap bug, please report it")
