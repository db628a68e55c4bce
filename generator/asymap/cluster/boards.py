"""The board library: one YAML file per board type in ``boards/`` with its datasheet source.

A :class:`BoardSpec` holds only what the cost model needs (DSP slices and their type, BRAM36,
URAM, LUT, FF, kernel clock, off-chip memory bandwidth) plus the link ports for the user.
Units: ``mem_gbps`` is off-chip memory bandwidth in GB/s (bytes); link ``gbps`` is Gbit/s.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from asymap.errors import UserError
from asymap.util.numbers import check_finite

# The safe loader (no arbitrary objects), in C when PyYAML has libyaml: 5-10x faster than yaml.safe_load.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
from asymap.resources import resource_dir

# int8 multiply-accumulates one DSP slice performs per cycle. DSP48E2 (UltraScale/UltraScale+):
# two int8 products that share one operand packed into the 27x18 multiplier (AMD WP486, "Deep
# Learning with INT8 Optimization on Xilinx Devices"). DSP48E1 (7-series, Zynq-7000): the 25x18
# multiplier is too narrow for the packing trick with exact results, so one MAC per cycle.
MACS_PER_DSP = {"DSP48E1": 1, "DSP48E2": 2}

SPEC_KEYS = ("name", "part", "dsp", "dsp_type", "bram36", "uram", "lut", "ff", "clock_mhz", "mem_gbps", "ports")
REQUIRED = ("dsp", "bram36", "uram", "lut", "clock_mhz", "mem_gbps")
# Optional keys: ``resources_source`` (where the figures dsp..lut come from), ``device`` (the
# part's totals, for reference), ``slrs`` (super logic regions: the budget is split evenly among
# them), ``clock_source`` (why this kernel clock) and ``reference`` (published measured throughputs).
# The platform whose leftover resources dsp..lut are is one key, ``deploy: platform`` (the Vitis
# platform the board is built on; a Vivado-flow board has none and keeps the device totals): the
# budgets are taken for the platform the build links against, never for a second name.
# ``slls`` (super long lines per SLR boundary, for the crossing check of partition/slrcross.py) and
# ``slls_source`` (where that figure comes from) are optional too.
OPTIONAL = ("resources_source", "device", "slrs", "clock_source", "reference", "slls", "slls_source")
RESOURCE_KEYS = ("dsp", "dsp_type", "bram36", "uram", "lut", "ff", "clock_mhz", "mem_gbps", "name", "part",
                 "ports") + OPTIONAL
DEVICE_KEYS = ("dsp", "bram36", "uram", "lut", "ff")
REFERENCE_KEYS = ("model", "ips", "source")
# Deployment data (flow, platform, memory, transceivers): validated by asymap.cluster.deploy, not the cost model.
RESOURCE_KEYS += ("deploy",)


@dataclass(frozen=True)
class Port:
    kind: str
    gbps: float
    count: int


@dataclass(frozen=True)
class Reference:
    """A published, measured throughput of a named model on this board type (for comparisons)."""

    model: str
    ips: float
    source: str


@dataclass(frozen=True)
class BoardSpec:
    """Resources of one board type (or an inline custom board)."""

    type: str
    name: str
    dsp: int
    dsp_type: str
    bram36: int
    uram: int
    lut: int
    ff: int
    clock_mhz: float
    mem_gbps: float
    part: str = ""
    ports: tuple[Port, ...] = field(default_factory=tuple)
    platform: str = ""  # deploy.platform (the Vitis platform whose leftover resources dsp..lut are) or the flow
    resources_source: str = ""
    device: tuple = ()  # ((key, total), ...) of the part, informational
    slrs: int = 1  # super logic regions; each gets 1/slrs of the budget (costmodel.slr_budget)
    slls: int = 0  # super long lines per SLR boundary (0: not given, crossings recorded but not checked)
    slls_source: str = ""
    clock_source: str = ""
    references: tuple[Reference, ...] = field(default_factory=tuple)

    @property
    def macs_per_dsp(self) -> int:
        return MACS_PER_DSP[self.dsp_type]

    @property
    def clock_hz(self) -> float:
        return self.clock_mhz * 1e6

    @property
    def peak_gops(self) -> float:
        """Peak int8 GOPS (2 ops per MAC) when every DSP does its MACs every cycle."""
        return 2.0 * self.dsp * self.macs_per_dsp * self.clock_mhz * 1e-3

    def cost_key(self) -> tuple:
        """Everything the cost model reads: boards with equal keys share planning tables."""
        return (self.dsp, self.macs_per_dsp, self.bram36, self.uram, self.lut, self.clock_mhz, self.mem_gbps,
                self.slrs)

    def reference_for(self, model_name: str) -> Reference | None:
        """The published figure for ``model_name`` (matched ignoring case and punctuation)."""
        want = _norm(model_name)
        for r in self.references:
            if _norm(r.model) == want:
                return r
        return None


def _norm(name: str) -> str:
    return "".join(ch for ch in str(name).lower() if ch.isalnum())


def boards_dir() -> Path:
    """``$ASYMAP_BOARDS`` or the repository's ``boards/`` directory."""
    env = os.environ.get("ASYMAP_BOARDS")
    if env:
        return Path(env)
    return resource_dir("boards")


def _num(where: str, key: str, value, *, integer: bool, positive: bool = False):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UserError(f"{where}: '{key}' must be a number, got {value!r}")
    check_finite(where, key, value)
    if integer and int(value) != value:
        raise UserError(f"{where}: '{key}' must be an integer, got {value!r}")
    if value < 0 or (positive and value <= 0):
        raise UserError(f"{where}: '{key}' must be {'positive' if positive else 'non-negative'}, got {value!r}")
    return int(value) if integer else float(value)


def unknown_key(where: str, key, allowed) -> UserError:
    near = difflib.get_close_matches(str(key), list(allowed), n=1)
    hint = f"did you mean '{near[0]}'?" if near else f"allowed keys: {', '.join(allowed)}"
    return UserError(f"{where}: unknown key '{key}'; {hint}")


def spec_from_dict(type_id: str, d: dict, where: str, *, default_dsp_type: str | None = None) -> BoardSpec:
    """Validate a board description (library file or inline ``resources:``)."""
    if not isinstance(d, dict):
        raise UserError(f"{where}: expected a mapping of board resources")
    if "platform" in d:  # the key before boards had one platform name (issue 13)
        raise UserError(f"{where}: top-level 'platform' is gone: the platform the budgets are taken for is "
                        "'deploy: platform:' (one key); move the Vitis platform name there and delete this line "
                        "(docs/cluster-format.md, 'Board library')")
    for k in d:
        if k not in RESOURCE_KEYS:
            raise unknown_key(where, k, RESOURCE_KEYS)
    for k in REQUIRED:
        if k not in d:
            raise UserError(f"{where}: missing '{k}'; give {', '.join(REQUIRED)}")
    dsp_type = d.get("dsp_type", default_dsp_type)
    if dsp_type not in MACS_PER_DSP:
        raise UserError(f"{where}: 'dsp_type' must be one of {', '.join(MACS_PER_DSP)}, got {dsp_type!r}")
    ports = []
    for i, p in enumerate(d.get("ports") or []):
        if not isinstance(p, dict) or set(p) - {"kind", "gbps", "count"}:
            raise UserError(f"{where}: ports[{i}] must be {{kind, gbps, count}}")
        ports.append(
            Port(str(p.get("kind", "?")), _num(where, "gbps", p.get("gbps", 0), integer=False, positive=True),
                 _num(where, "count", p.get("count", 1), integer=True, positive=True))
        )
    device = d.get("device") or {}
    if not isinstance(device, dict):
        raise UserError(f"{where}: 'device' must be a mapping of {', '.join(DEVICE_KEYS)}")
    for k in device:
        if k not in DEVICE_KEYS:
            raise unknown_key(f"{where}: device", k, DEVICE_KEYS)
    refs = []
    raw_refs = d.get("reference") or []
    if not isinstance(raw_refs, list):
        raise UserError(f"{where}: 'reference' must be a list of {{model, ips, source}}")
    for i, r in enumerate(raw_refs):
        if not isinstance(r, dict) or set(r) != set(REFERENCE_KEYS):
            raise UserError(f"{where}: reference[{i}] must be {{model, ips, source}} (all three keys)")
        refs.append(Reference(str(r["model"]), _num(where, "reference.ips", r["ips"], integer=False, positive=True),
                              str(r["source"])))
    return BoardSpec(
        type=type_id,
        name=str(d.get("name", type_id)),
        part=str(d.get("part", "")),
        dsp=_num(where, "dsp", d["dsp"], integer=True),
        dsp_type=dsp_type,
        bram36=_num(where, "bram36", d["bram36"], integer=True),
        uram=_num(where, "uram", d["uram"], integer=True),
        lut=_num(where, "lut", d["lut"], integer=True, positive=True),
        ff=_num(where, "ff", d.get("ff", 2 * d["lut"]), integer=True),
        clock_mhz=_num(where, "clock_mhz", d["clock_mhz"], integer=False, positive=True),
        mem_gbps=_num(where, "mem_gbps", d["mem_gbps"], integer=False, positive=True),
        ports=tuple(ports),
        platform=_budget_platform(d.get("deploy")),
        resources_source=str(d.get("resources_source", "")),
        device=tuple((k, _num(where, f"device.{k}", v, integer=True)) for k, v in device.items()),
        slrs=_num(where, "slrs", d.get("slrs", 1), integer=True, positive=True),
        slls=_num(where, "slls", d.get("slls", 0), integer=True),
        slls_source=str(d.get("slls_source", "")),
        clock_source=str(d.get("clock_source", "")),
        references=tuple(refs),
    )


def _budget_platform(deploy) -> str:
    """The platform the budgets dsp..lut are for: the deploy block's Vitis platform, or the Vivado IP
    flow on the board part (no shell: device totals). The block itself is validated by
    asymap.cluster.deploy when the generator reads it; here only its names are taken."""
    if not isinstance(deploy, dict):
        return ""
    if deploy.get("platform"):
        return str(deploy["platform"])
    if deploy.get("board_part"):
        return f"Vivado IP flow on {deploy['board_part']} (no shell)"
    return ""


def board_types(directory: Path | None = None) -> list[str]:
    d = directory or boards_dir()
    return sorted(p.stem for p in d.glob("*.yaml"))


@lru_cache(maxsize=None)
def _load_spec(path: str, type_id: str) -> BoardSpec:
    with open(path, encoding="utf-8") as fh:
        data = yaml.load(fh, Loader=SAFE_LOADER)
    return spec_from_dict(type_id, data, path, default_dsp_type=None)


def load_board_type(type_id: str, where: str = "board", directory: Path | None = None) -> BoardSpec:
    """The spec of a library board type; a one-line error with a did-you-mean when unknown."""
    d = directory or boards_dir()
    tid = str(type_id).lower()
    path = d / f"{tid}.yaml"
    if not path.is_file():
        types = board_types(d)
        near = difflib.get_close_matches(tid, types, n=1)
        hint = f"did you mean '{near[0]}'?" if near else f"known types: {', '.join(types)}"
        raise UserError(f"{where}: unknown board type '{type_id}'; {hint}")
    return _load_spec(str(path), tid)


def all_board_specs(directory: Path | None = None) -> list[BoardSpec]:
    return [load_board_type(t, directory=directory) for t in board_types(directory)]
