"""Reading Vitis HLS synthesis reports (``csynth.xml``).

Schema facts (element paths under the ``<profile>`` root), as written by Vivado HLS 2017-2020.1 and
Vitis HLS 2020.1-2024.x and read by hls4ml's ``hls4ml/report/vivado_report.py``; checked against
public ``solution1/syn/report/csynth.xml`` files (docs/build.md lists them):

  ReportVersion/Version                                   e.g. 2020.2, 2023.2
  UserAssignments/{TopModelName, Part, TargetClockPeriod} ns
  PerformanceEstimates/SummaryOfTimingAnalysis/EstimatedClockPeriod          ns
  PerformanceEstimates/SummaryOfOverallLatency/{Best-caseLatency, Average-caseLatency,
      Worst-caseLatency, Interval-min, Interval-max}      clock cycles, or "undef"
  AreaEstimates/Resources/{BRAM_18K, DSP | DSP48E, FF, LUT, URAM}   and AvailableResources/{same}

Where the report lives: the ``v++ -c --mode hls`` component layout puts it at
``<work_dir>/hls/syn/report/csynth.xml``; ``vitis_hls -f`` projects at
``<project>/<solution>/syn/report/<top>_csynth.xml`` (with a ``csynth.xml`` copy beside it).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from pathlib import Path

from asymap.errors import UserError

# Report versions this parser knows the schema of (year.release). Newer years are refused rather
# than silently misread: Vitis has renamed elements between major releases before (DSP48E -> DSP).
KNOWN_YEARS = range(2017, 2026)
RESOURCE_TAGS = {"bram18k": ("BRAM_18K",), "dsp": ("DSP", "DSP48E", "DSP48E2", "DSP48E1"), "ff": ("FF",),
                 "lut": ("LUT",), "uram": ("URAM",)}


@dataclass(frozen=True)
class SynthReport:
    path: str
    version: str
    top: str
    part: str
    target_clock_ns: float
    estimated_clock_ns: float | None
    latency_best: int | None  # cycles; None when Vitis says "undef" (data-dependent loops)
    latency_avg: int | None
    latency_worst: int | None
    interval_min: int | None
    interval_max: int | None
    used: dict[str, int]  # bram18k, dsp, ff, lut, uram
    available: dict[str, int]

    @property
    def clock_mhz(self) -> float:
        return 1000.0 / self.target_clock_ns

    @property
    def interval_s(self) -> float | None:
        """Seconds per image at the target clock (what the planner's interval_s predicts)."""
        return None if self.interval_max is None else self.interval_max * self.target_clock_ns * 1e-9

    def as_dict(self) -> dict:
        return asdict(self)


def _cycles(text: str | None) -> int | None:
    if text is None:
        return None
    t = text.strip()
    if t in ("undef", "?", "-", ""):
        return None
    try:
        return int(float(t))
    except ValueError:
        return None


def parse_csynth(path: str | Path) -> SynthReport:
    """Parse one csynth.xml; a truncated file, another tool's XML or an unknown Vitis version is
    a one-line UserError naming the file."""
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except FileNotFoundError:
        raise UserError(f"{path}: report not found; run 'asymap build OUT --step csynth' first") from None
    except ET.ParseError as exc:
        raise UserError(f"{path}: truncated or malformed XML ({exc}); re-run the board's csynth step") from None
    if root.tag != "profile":
        raise UserError(f"{path}: not a Vitis HLS csynth report (root <{root.tag}>, expected <profile>)")
    version = (root.findtext("ReportVersion/Version") or "").strip()
    m = re.match(r"(\d{4})\.(\d+)", version)
    if not m or int(m.group(1)) not in KNOWN_YEARS:
        raise UserError(
            f"{path}: report from unknown Vitis HLS version {version or '(none)'!r}; "
            f"asymap reads reports of versions {KNOWN_YEARS.start}.x-{KNOWN_YEARS.stop - 1}.x"
        )

    def need(xpath: str) -> str:
        el = root.find(xpath)
        if el is None or el.text is None:
            raise UserError(f"{path}: element {xpath} missing (incomplete report?); re-run the board's csynth step")
        return el.text

    def resources(section: str) -> dict[str, int]:
        node = root.find(f"AreaEstimates/{section}")
        if node is None:
            raise UserError(f"{path}: element AreaEstimates/{section} missing (incomplete report?)")
        out = {}
        for key, tags in RESOURCE_TAGS.items():
            text = next((node.findtext(t) for t in tags if node.find(t) is not None), None)
            if text is None:
                if key == "uram":  # devices without UltraRAM (7-series) may omit it
                    out[key] = 0
                    continue
                raise UserError(f"{path}: AreaEstimates/{section}/{tags[0]} missing (incomplete report?)")
            try:
                out[key] = int(float(text))
            except ValueError:
                raise UserError(f"{path}: AreaEstimates/{section}/{tags[0]} is {text!r}, not a number") from None
        return out

    lat = "PerformanceEstimates/SummaryOfOverallLatency/"
    try:
        target = float(need("UserAssignments/TargetClockPeriod"))
    except ValueError:
        raise UserError(f"{path}: UserAssignments/TargetClockPeriod is not a number") from None
    est_text = root.findtext("PerformanceEstimates/SummaryOfTimingAnalysis/EstimatedClockPeriod")
    try:
        est = float(est_text) if est_text else None
    except ValueError:
        est = None
    return SynthReport(
        path=str(path),
        version=version,
        top=(root.findtext("UserAssignments/TopModelName") or "").strip(),
        part=(root.findtext("UserAssignments/Part") or "").strip(),
        target_clock_ns=target,
        estimated_clock_ns=est,
        latency_best=_cycles(need(lat + "Best-caseLatency")),
        latency_avg=_cycles(root.findtext(lat + "Average-caseLatency")),
        latency_worst=_cycles(need(lat + "Worst-caseLatency")),
        interval_min=_cycles(need(lat + "Interval-min")),
        interval_max=_cycles(need(lat + "Interval-max")),
        used=resources("Resources"),
        available=resources("AvailableResources"),
    )


_TOP_NAME = re.compile(rb"<TopModelName>\s*([^<\s]*)\s*</TopModelName>")


def report_top(path: Path) -> str | None:
    """The ``UserAssignments/TopModelName`` of a csynth.xml (read from its first 64 KiB, where the
    element sits), None when the file has none: which kernel the report is of."""
    try:
        with open(path, "rb") as f:
            m = _TOP_NAME.search(f.read(1 << 16))
    except OSError:
        return None
    return m.group(1).decode("utf-8", "replace") if m else None


def find_report(board_dir: Path, top: str) -> Path | None:
    """The synthesis report of the kernel ``top`` in a board directory, in either layout; the newest
    when several exist. A board directory also holds other kernels' HLS work directories (the data
    movers' ``hls_mm2s``/``hls_s2mm``, a split board's ``hls_<board>_slr<n>``), each with its own
    ``csynth.xml``: a report counts only when it names ``top`` (its ``TopModelName``, or a vitis_hls
    solution's ``<top>_csynth.xml``)."""
    cands = [p for p in board_dir.glob("*/*/syn/report/csynth.xml") if report_top(p) == top]
    cands += list(board_dir.glob(f"*/*/syn/report/{top}_csynth.xml"))
    if not cands:
        return None
    return max(cands, key=lambda p: (p.stat().st_mtime, str(p)))
