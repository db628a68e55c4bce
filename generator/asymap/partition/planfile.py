"""plan.json (DESIGN.md, "Plan JSON", schema 1): the dataclasses, their dict form, and load_plan.

Later stages (codegen, build, report) read plans through :func:`load_plan` without the planner.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii as _json_str
from pathlib import Path

from asymap.errors import UserError

SCHEMA = 1


@dataclass
class LayerPlan:
    index: int
    name: str
    op: str
    factors: dict  # {"pe", "simd"} (+ "kpar" when > 1, "pe_padded": true when pe does not divide C_out)
    cycles: int
    dsp: int
    bram36: int
    uram: int
    lut: int
    # "onchip": ROM in BRAM/LUTRAM (bitstream-initialized); "preload": URAM loaded once at start-up
    # from off-chip memory (URAM has no bitstream initialization); "offchip": streamed per image.
    weights: str
    mac: str = ""  # conv/fc multipliers: "packed" (2 MACs/DSP48E2) | "dsp" (1 MAC/DSP) | "lut" (fabric)
    mac_dsp: int = 0  # DSPs of the weight multipliers (part of dsp)
    mac_lut: int = 0  # LUTs of LUT multipliers and packed-pair splits (part of lut)
    requant_dsp: int = 0  # DSPs of the requantization multipliers (part of dsp)
    weight_mem: str = ""  # "lutram" | "bram" | "uram": the memory holding the weights (or fold buffer)
    slr: int = 0  # super logic region of the engine (multi-SLR boards fill SLRs in chain order)
    # [[slr, k], [slr + 1, pe - k]]: PE lanes 0..k-1 in SLR slr, the rest in the next one (a
    # lane-split engine, docs/plan-format.md); None (no key in plan.json) for every other layer.
    slr_lanes: list | None = None


@dataclass
class BoardPlan:
    name: str
    type: str
    index: int  # pipeline position
    clock_mhz: float
    first_layer: int
    last_layer: int
    interval_s: float
    resources: dict  # key -> [used, avail]
    layers: list[LayerPlan]
    weights: str = "onchip"  # the board's weight mode
    limit: str = ""  # what limits this board (the resource that stops it going faster)
    best_interval_s: float = 0.0  # the board's own optimum for its segment (<= interval_s)
    preload_bytes: int = 0  # start-up image of the "preload" layers (64-bit ROM words), loaded into URAM
    startup_s: float = 0.0  # its load before the first image: max(bytes / memory bandwidth, words / clock)
    slrs: int = 1
    platform: str = ""  # the shell/flow whose leftover resources are the "avail" figures
    port_lanes: int = 8  # channels per beat of the board's tensor ports at most (lanes.port_lanes)
    slr_crossing_bits: list = field(default_factory=list)  # wires crossing each SLR boundary (partition/slrcross.py)
    slr_crossing_s: float = 0.0  # latency of the streams between its SLR kernels (in latency_s; partition/slrcross.py)
    link_lut: int = 0  # its link kernels' (un)packers (in resources lut; costmodel.link_kernel_luts)
    ff: list = field(default_factory=list)  # [estimated flip-flops, what the platform leaves] (partition/ffmodel.py)
    # Split boards (one kernel per SLR): each SLR kernel's estimated LUTs and flip-flops, indexed by SLR
    # ([] on a one-SLR board; ffmodel.kernel_estimates), what asymap compare holds each kernel's report against.
    slr_lut: list = field(default_factory=list)
    slr_ff: list = field(default_factory=list)


@dataclass
class LinkPlan:
    src: str
    dst: str
    tensors: list[str]
    bytes_per_image: int
    interval_s: float
    gbps: float
    latency_ns: float
    width_bits: int
    buffer_bram36: int = 0  # link-kernel beat FIFOs at each end (charged to both boards' bram36)
    tx_bram36: int = 0  # the sender's CMAC packet FIFO (charged to the source board's bram36)
    rx_lut: int = 0  # the receiver's credit buffer, LUTRAM (charged to the destination board's lut)
    rx_bram36: int = 0  # the receiver's credit buffer in block RAM (100G: 512-bit entries, > 64 deep; its bram36)
    store_forward_s: float = 0.0  # latency of the CMAC packet store-and-forward (in latency_s)
    credit_s: float = 0.0  # credit updates for reverse-direction data sharing this direction (in interval_s)

    def to_dict(self) -> dict:
        d = _plain(self)
        d["from"] = d.pop("src")
        d["to"] = d.pop("dst")
        return d


@dataclass
class Plan:
    model: dict
    cluster: dict
    boards: list[BoardPlan]
    links: list[LinkPlan]
    interval_s: float
    throughput_ips: float
    gops: float
    latency_s: float
    bottleneck: str
    baselines: dict
    optimal: bool
    gap_bound: float
    lower_bound_s: float = 0.0
    util: float = 0.8
    peak_gops: float = 0.0
    search: dict = field(default_factory=dict)
    sweep: list | None = None
    host_path: dict | None = None  # {"attach", "in": [hops], "out": [hops], "forwarding": [boards]}
    references: dict | None = None  # board type -> {"model", "ips", "source", "ratio"}
    target: dict | None = None  # --target-ips: {"ips", "met", "boards", "dsp"}
    schema: int = SCHEMA
    # The planning options (util, boards, pad, beam, ...) and their hash; model.sha256 and
    # cluster.sha256 hash the inputs, so generate can refuse a plan that is stale or edited.
    options: dict = field(default_factory=dict)
    options_sha256: str = ""

    def to_dict(self) -> dict:
        d = {
            "schema": self.schema,
            "model": self.model,
            "cluster": self.cluster,
            "boards": [_board_dict(b) for b in self.boards],
            "links": [ln.to_dict() for ln in self.links],
            "interval_s": self.interval_s,
            "throughput_ips": self.throughput_ips,
            "gops": self.gops,
            "latency_s": self.latency_s,
            "bottleneck": self.bottleneck,
            "baselines": self.baselines,
            "optimal": self.optimal,
            "gap_bound": self.gap_bound,
            "lower_bound_s": self.lower_bound_s,
            "util": self.util,
            "peak_gops": self.peak_gops,
            "search": self.search,
        }
        for key in ("sweep", "host_path", "references", "target"):
            if getattr(self, key) is not None:
                d[key] = getattr(self, key)
        if self.options:
            d["options"] = self.options
            d["options_sha256"] = self.options_sha256
        return d

    def to_json(self) -> str:
        return dumps(self.to_dict()) + "\n"

    @classmethod
    def from_dict(cls, d: dict) -> "Plan":
        if d.get("schema") != SCHEMA:
            raise UserError(f"plan: schema {d.get('schema')!r} is not supported (expected {SCHEMA})")
        boards = []
        for b in d["boards"]:
            b = dict(b)
            b["layers"] = [LayerPlan(**lp) for lp in b["layers"]]
            boards.append(BoardPlan(**b))
        links = []
        for ln in d["links"]:
            ln = dict(ln)
            ln["src"] = ln.pop("from")
            ln["dst"] = ln.pop("to")
            links.append(LinkPlan(**ln))
        keys = ("model", "cluster", "interval_s", "throughput_ips", "gops", "latency_s", "bottleneck",
                "baselines", "optimal", "gap_bound")
        extra = {k: d[k] for k in ("lower_bound_s", "util", "peak_gops", "search", "sweep", "host_path", "references",
                                   "target", "options", "options_sha256") if k in d}
        return cls(boards=boards, links=links, **{k: d[k] for k in keys}, **extra)


def load_plan(path) -> Plan:
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: plan file not found; make one with 'asymap plan MODEL CLUSTER -o {p}'")
    try:
        from asymap.util.fileio import _no_constant  # NaN/Infinity are not JSON

        data = json.loads(p.read_text(encoding="utf-8"), parse_constant=_no_constant)
        return Plan.from_dict(data)
    except UserError as exc:
        raise UserError(f"{p}: {exc}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{p}: not a valid plan.json ({type(exc).__name__}: {exc})") from None


# --- plan.json text, fast ---------------------------------------------------------------------
# ResNet-152's plan is ~130 KB of JSON in ~4,000 small dicts: dataclasses.asdict deep-copies every
# leaf and json.dumps with an indent runs the pure-Python encoder, ~6 ms together. The two below
# give the same dict and the same text in ~2.5 ms (tests/partition/test_planfile_json.py).


def _board_dict(b: "BoardPlan") -> dict:
    """A board of plan.json: its fields, a layer's ``slr_lanes`` only where it is split (so plans
    without lane-split engines keep their bytes)."""
    d = _plain(b)
    for lp in d["layers"]:
        if lp.get("slr_lanes") is None:
            lp.pop("slr_lanes", None)
    return d


def _plain(o):
    """dataclasses.asdict(o), the same rules (dataclass -> dict of its fields, containers rebuilt,
    anything else deep-copied), with the plan's own types first: exact str/int/float/bool/None are
    immutable, so deepcopy would return them as they are."""
    t = type(o)
    if t in _ATOMS:
        return o
    if t is dict:
        return {_plain(k): _plain(v) for k, v in o.items()}
    if t is list:
        return [_plain(v) for v in o]
    names = _FIELD_NAMES.get(t)
    if names is None and dataclasses.is_dataclass(o) and not isinstance(o, type):
        names = _FIELD_NAMES[t] = tuple(f.name for f in dataclasses.fields(o))
    if names is not None:
        return {n: _plain(getattr(o, n)) for n in names}
    if isinstance(o, tuple) and hasattr(o, "_fields"):  # a namedtuple
        return t(*[_plain(v) for v in o])
    if isinstance(o, (list, tuple)):
        return t(_plain(v) for v in o)
    if isinstance(o, dict):
        return t((_plain(k), _plain(v)) for k, v in o.items())
    return copy.deepcopy(o)


_ATOMS = {str, int, float, bool, type(None)}
_FIELD_NAMES: dict = {}


class _Slow(Exception):
    """A value the fast encoder does not write exactly as json.dumps would: let json.dumps do it."""


def _json_float(o: float) -> str:
    if o != o:
        return "NaN"
    if o == float("inf"):
        return "Infinity"
    if o == -float("inf"):
        return "-Infinity"
    return float.__repr__(o)


def _encode(o, out: list, ind: str) -> None:
    t = type(o)
    if t is str:
        out.append(_json_str(o))
    elif o is None:
        out.append("null")
    elif o is True:
        out.append("true")
    elif o is False:
        out.append("false")
    elif t is int:
        out.append(int.__repr__(o))
    elif t is float:
        out.append(_json_float(o))
    elif t is list or t is tuple:
        if not o:
            out.append("[]")
            return
        inner = ind + "  "
        sep = "[" + inner
        for v in o:
            out.append(sep)
            _encode(v, out, inner)
            sep = "," + inner
        out.append(ind + "]")
    elif t is dict:
        if not o:
            out.append("{}")
            return
        if not all(type(k) is str for k in o):
            raise _Slow
        inner = ind + "  "
        sep = "{" + inner
        for k, v in sorted(o.items()):
            out.append(sep + _json_str(k) + ": ")
            _encode(v, out, inner)
            sep = "," + inner
        out.append(ind + "}")
    else:
        raise _Slow


def dumps(obj) -> str:
    """``json.dumps(obj, indent=2, sort_keys=True)``, the same text: dicts with str keys, lists,
    tuples, str, int, float, bool and None are written here; anything else (subclasses, numpy
    scalars, other keys, cycles) goes to json.dumps whole, so its result and errors stay its own."""
    out: list = []
    try:
        _encode(obj, out, "\n")
    except (_Slow, RecursionError):
        return json.dumps(obj, indent=2, sort_keys=True)
    return "".join(out)
