"""Deployment data of a board type: build flow, platform, memory names, link transceivers.

Each ``boards/<type>.yaml`` ends with a ``deploy:`` block (its sources cited in the comment above
it); an inline custom board may carry the same block under ``resources: deploy:``. The cost model
never reads it; the generator reads it to write connectivity, block designs, transport Tcl and
host programs, and ``asymap build`` reads the result to run each board's flow.

Why a block of its own: the flow a board can take is a property of its device family and of the
platforms AMD releases for it, not of its resources. Alveo and Zynq UltraScale+ MPSoC boards have
Vitis acceleration platforms (``v++ --link`` against a ``.xpfm``); Zynq-7000, Virtex-7 and boards
without a released platform (VCU118) take the Vivado IP flow (HLS exported to the IP catalog, a
block design around it). Memory is named as the platform names it: ``HBM[k]``/``DDR[k]`` on Alveo,
the PS ports ``HPk`` on MPSoC platforms, MIG controllers or the Zynq-7000 PS ``S_AXI_HPk`` in
Vivado-flow block designs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import yaml

from asymap.cluster.boards import SAFE_LOADER, boards_dir, unknown_key
from asymap.errors import UserError

FLOWS = ("vitis", "vivado")
# Who drives the board: XRT on a PCIe host, XRT on the board's own Arm Linux (MPSoC), the XDMA
# PCIe driver (Vivado-flow boards with PCIe), or software on a Zynq-7000 PS (no XRT there).
RUNTIMES = ("xrt", "xrt-edge", "xdma", "ps")
MEMORY_KINDS = ("HBM", "DDR", "PS_DDR", "MIG")
# How each memory kind's banks are spelled (the platform's or the block design's names).
_BANK_RE = {
    "HBM": re.compile(r"HBM\[\d+\]$"),
    "DDR": re.compile(r"DDR\[\d+\]$"),
    "PS_DDR": re.compile(r"(S_AXI_)?HP\d$"),
    "MIG": re.compile(r"MIG\d$"),
}
DEPLOY_KEYS = ("flow", "runtime", "platform", "board_part", "memory", "gt")
GT_KEYS = ("port", "kind", "lanes", "gt_type", "refclk_mhz", "platform_gt", "platform_refclk", "quad", "refclk_pins")
GT_TYPES = ("GTX", "GTH", "GTY")


@dataclass(frozen=True)
class GtPort:
    """One physical link cage (SFP+ or QSFP28) and the transceivers behind it."""

    port: str
    kind: str
    lanes: int
    gt_type: str
    refclk_mhz: float
    platform_gt: str | None = None  # Vitis platform's GT interface (Alveo), e.g. io_gt_qsfp0_00
    platform_refclk: str | None = None  # its reference-clock interface, e.g. io_clk_qsfp0_refclka_00
    quad: int | None = None  # GT bank number (Vivado flow constraints)
    refclk_pins: tuple[str, ...] = ()  # (P, N) package pins of the reference clock, when known


@dataclass(frozen=True)
class Deploy:
    """How one board is built and driven."""

    flow: str
    runtime: str
    memory_kind: str
    banks: tuple[str, ...]
    gt: tuple[GtPort, ...]
    platform: str | None = None
    board_part: str | None = None

    @property
    def xrt(self) -> bool:
        return self.runtime in ("xrt", "xrt-edge")


def _str(where: str, key: str, v) -> str:
    if not isinstance(v, str) or not v.strip():
        raise UserError(f"{where}: '{key}' must be a non-empty string, got {v!r}")
    return v


def _gt(where: str, i: int, d) -> GtPort:
    w = f"{where}: gt[{i}]"
    if not isinstance(d, dict):
        raise UserError(f"{w}: expected a mapping with keys {', '.join(GT_KEYS)}")
    for k in d:
        if k not in GT_KEYS:
            raise unknown_key(w, k, GT_KEYS)
    for k in ("port", "kind", "lanes", "gt_type", "refclk_mhz"):
        if k not in d:
            raise UserError(f"{w}: missing '{k}'")
    lanes = d["lanes"]
    if isinstance(lanes, bool) or not isinstance(lanes, int) or lanes not in (1, 4):
        raise UserError(f"{w}: 'lanes' must be 1 (SFP+) or 4 (QSFP28), got {lanes!r}")
    if d["gt_type"] not in GT_TYPES:
        raise UserError(f"{w}: 'gt_type' must be one of {', '.join(GT_TYPES)}, got {d['gt_type']!r}")
    mhz = d["refclk_mhz"]
    if isinstance(mhz, bool) or not isinstance(mhz, (int, float)) or mhz <= 0:
        raise UserError(f"{w}: 'refclk_mhz' must be a positive number, got {mhz!r}")
    pins = d.get("refclk_pins") or ()
    if pins and (not isinstance(pins, list) or len(pins) != 2 or not all(isinstance(p, str) for p in pins)):
        raise UserError(f"{w}: 'refclk_pins' must be [P pin, N pin], got {pins!r}")
    quad = d.get("quad")
    if quad is not None and (isinstance(quad, bool) or not isinstance(quad, int)):
        raise UserError(f"{w}: 'quad' must be a GT bank number, got {quad!r}")
    return GtPort(
        port=_str(w, "port", d["port"]), kind=_str(w, "kind", d["kind"]), lanes=lanes, gt_type=d["gt_type"],
        refclk_mhz=float(mhz),
        platform_gt=_str(w, "platform_gt", d["platform_gt"]) if d.get("platform_gt") is not None else None,
        platform_refclk=_str(w, "platform_refclk", d["platform_refclk"]) if d.get("platform_refclk") is not None else None,
        quad=quad, refclk_pins=tuple(pins),
    )


def deploy_from_dict(d, where: str) -> Deploy:
    """Validate a ``deploy:`` block; every mistake is one line naming ``where`` and the key."""
    if not isinstance(d, dict):
        raise UserError(f"{where}: expected a mapping with keys {', '.join(DEPLOY_KEYS)}")
    for k in d:
        if k not in DEPLOY_KEYS:
            raise unknown_key(where, k, DEPLOY_KEYS)
    flow = d.get("flow")
    if flow not in FLOWS:
        raise UserError(f"{where}: 'flow' must be one of {', '.join(FLOWS)}, got {flow!r}")
    runtime = d.get("runtime")
    if runtime not in RUNTIMES:
        raise UserError(f"{where}: 'runtime' must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
    if flow == "vitis" and runtime not in ("xrt", "xrt-edge"):
        raise UserError(f"{where}: a Vitis-flow board runs under XRT; 'runtime' must be xrt or xrt-edge")
    if flow == "vivado" and runtime in ("xrt", "xrt-edge"):
        raise UserError(f"{where}: a Vivado-flow board has no XRT shell; 'runtime' must be xdma or ps")
    platform = d.get("platform")
    board_part = d.get("board_part")
    if flow == "vitis":
        platform = _str(where, "platform", platform)
        if board_part is not None:
            raise UserError(f"{where}: 'board_part' is for Vivado-flow boards; a Vitis board names its 'platform'")
    else:
        board_part = _str(where, "board_part", board_part)
        if platform is not None:
            raise UserError(f"{where}: 'platform' is for Vitis-flow boards; a Vivado-flow board names its 'board_part'")
    mem = d.get("memory")
    if not isinstance(mem, dict) or set(mem) != {"kind", "banks"}:
        raise UserError(f"{where}: 'memory' must be {{kind, banks}}")
    kind = mem["kind"]
    if kind not in MEMORY_KINDS:
        raise UserError(f"{where}: memory 'kind' must be one of {', '.join(MEMORY_KINDS)}, got {kind!r}")
    banks = mem["banks"]
    if not isinstance(banks, list) or not banks:
        raise UserError(f"{where}: memory 'banks' must be a non-empty list of names")
    for bank in banks:
        if not isinstance(bank, str) or not _BANK_RE[kind].match(bank):
            raise UserError(f"{where}: memory bank {bank!r} is not a {kind} name (e.g. {_example(kind)})")
    if flow == "vitis" and kind == "MIG" or flow == "vivado" and kind in ("HBM", "DDR"):
        raise UserError(f"{where}: memory kind {kind} does not exist in the {flow} flow")
    gts = d.get("gt") or []
    if not isinstance(gts, list):
        raise UserError(f"{where}: 'gt' must be a list of transceiver ports")
    gt = tuple(_gt(where, i, g) for i, g in enumerate(gts))
    if flow == "vitis" and runtime == "xrt":
        for g in gt:
            if not g.platform_gt or not g.platform_refclk:
                raise UserError(f"{where}: gt port {g.port!r} needs 'platform_gt' and 'platform_refclk' "
                                "(the Alveo platform's GT interface names)")
    return Deploy(flow=flow, runtime=runtime, memory_kind=kind, banks=tuple(banks), gt=gt,
                  platform=platform, board_part=board_part)


def _example(kind: str) -> str:
    return {"HBM": "HBM[0]", "DDR": "DDR[0]", "PS_DDR": "HP0", "MIG": "MIG0"}[kind]


@lru_cache(maxsize=None)
def _library_deploy(type_id: str) -> Deploy | None:
    path = boards_dir() / f"{type_id}.yaml"
    if not path.is_file():
        return None
    with open(path, encoding="utf-8") as fh:
        data = yaml.load(fh, Loader=SAFE_LOADER) or {}  # the C safe loader when PyYAML has libyaml
    if "deploy" not in data:
        return None
    return deploy_from_dict(data["deploy"], f"{path}: deploy")


def type_deploy(type_id: str) -> Deploy | None:
    """The ``deploy:`` block of a library board type (None when the file has none)."""
    return _library_deploy(str(type_id).lower())


def board_deploy(board, where: str = "cluster") -> Deploy | None:
    """Deployment data of a cluster board, with its cluster-YAML ``platform:`` override applied.

    ``board`` is an :class:`asymap.cluster.load.Board`. A custom board without a ``deploy:`` block
    returns None (it can be planned and C-simulated, not deployed).
    """
    spec = board.spec
    if spec.type.startswith("custom:"):
        dep = None
        raw = getattr(board, "deploy_raw", None)  # spec_from_dict keeps only the cost model's keys
        if raw is not None:
            dep = deploy_from_dict(raw, f"{where}: board '{board.name}': resources: deploy")
    else:
        dep = type_deploy(spec.type)
    override = getattr(board, "platform", None)
    if override:
        if dep is None:
            raise UserError(f"{where}: board '{board.name}': 'platform' needs a board type with deployment data "
                            f"(a 'deploy:' block); {spec.type} has none")
        if dep.flow != "vitis":
            raise UserError(f"{where}: board '{board.name}' ({spec.type}) takes the Vivado IP flow; "
                            "'platform' applies to Vitis-flow boards only, remove it")
        dep = Deploy(flow=dep.flow, runtime=dep.runtime, memory_kind=dep.memory_kind, banks=dep.banks, gt=dep.gt,
                     platform=override, board_part=dep.board_part)
    return dep
