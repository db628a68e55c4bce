"""``asymap verify --rtl OUT``: run the generated cocotb tests on the RTL that exists.

Every ``dut.json`` of an output tree (``OUT/<board>/cocotb/`` for a board's kernel, whose Verilog
``asymap build --step csynth`` exports; ``OUT/cocotb/link_<a>_<b>/`` for the link transport between
two boards) names its sources as globs relative to its board directory (``rtl:NAME`` = asymap's
rtl/ library). A board built as one kernel per SLR lists its kernels, each with its own sources,
and the streams between them: the harness runs on a top that joins the kernels' RTL as v++ links
them (asymap.verify.slr_sim). A DUT whose RTL does not exist yet is reported as such, not failed; one that exists
is built with Icarus Verilog and its generated test run (cocotb + cocotbext-axi). Before that, the
top's AXI4 masters and the description's ``memories`` (one per m_axi argument: wmem, wpre) must
match one to one; an unserved master would leave the kernel waiting on undriven wires.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from asymap.errors import UserError
from asymap.resources import resource_dir
from asymap.util.fileio import read_json_object
from asymap.util.progress import status


@dataclass
class RtlResult:
    name: str
    state: str  # passed | failed | no-rtl
    detail: str = ""


def find_duts(out: Path) -> list[Path]:
    """Every generated DUT description of a tree, links first, then boards (deterministic order)."""
    return sorted(out.glob("cocotb/*/dut.json")) + sorted(out.glob("*/cocotb/dut.json"))


def _files(here: Path, patterns: list[str]) -> list[Path]:
    """The Verilog files of a list of source patterns ([] when any is missing): ``rtl:NAME`` from
    asymap's rtl/ library, plain paths relative to ``here``, and globs, of which the first that
    matches wins (a v++ component's export or a vitis_hls project's)."""
    sources: list[Path] = []
    globbed = False
    for pat in patterns:
        if pat.startswith("rtl:"):
            sources.append(resource_dir("rtl") / pat[4:])
        elif any(ch in pat for ch in "*?["):
            hits = sorted(Path(p) for p in glob.glob(str(here / pat)))
            if hits and not globbed:
                sources.extend(hits)
                globbed = True
        else:
            sources.append(here / pat)
    return sources if sources and all(p.is_file() for p in sources) else []


def resolve(dut_json: Path) -> tuple[dict, list[Path]]:
    """The description with absolute paths, and its Verilog sources ([] when the RTL is missing).
    A split board's description lists its SLR kernels (``kernels``, each with its own sources):
    its RTL exists when every kernel's does; each kernel's files are recorded in its ``files``."""
    desc = read_json_object(dut_json, "re-run asymap generate")
    here = dut_json.parent
    kernel_files: list[Path] = []
    for k in desc.get("kernels") or []:
        files = _files(here, k["sources"])
        if not files:
            return desc, []
        k["files"] = [str(p.resolve()) for p in files]
        kernel_files += files
    sources = _files(here, desc["sources"])
    if not sources:
        return desc, []
    sources = kernel_files + sources
    for io in desc["inputs"] + desc["outputs"]:
        io["frames"] = str((here / io["frames"]).resolve())
    # One memory per m_axi argument (a description written before wpre had its port has one "memory").
    desc["memories"] = desc.get("memories") or ([desc["memory"]] if desc.get("memory") else [])
    desc.pop("memory", None)
    own = desc["kernels"][0]["files"] if desc.get("kernels") else [str(p) for p in sources]
    for mem in desc["memories"]:
        mem["file"] = str((here / mem["file"]).resolve())
        mem["control_files"] = [str(p) for p in own if str(p).endswith("_control_s_axi.v")]
    return desc, sources


def unserved_masters(desc: dict, sources: list[Path]) -> str:
    """Why the DUT's AXI4 masters and the description's memories do not match ("" if they do):
    every m_axi master of the top (of each SLR kernel on a split board) must be served by a memory
    of dut.json, or it would read from undriven wires (a kernel waiting forever on its weights), and
    every memory must name a master the top has."""
    from asymap.verify.slr_sim import axi_masters

    if desc.get("kernels"):
        have = [p for k in desc["kernels"] for p in axi_masters([Path(f) for f in k["files"]], k["kernel"])]
    else:
        have = axi_masters(sources, desc["toplevel"])
    served = [m["prefix"] for m in desc.get("memories") or []]
    missing = [p for p in have if p not in served]
    if missing:
        return (f"{', '.join(missing)} of {desc['toplevel']} served by no memory of dut.json (each m_axi argument needs "
                "its image, e.g. wpre on m_axi_gmem1); re-run asymap generate")
    extra = [p for p in served if p not in have]
    if extra:
        return f"dut.json serves {', '.join(extra)}, which {desc['toplevel']} does not have; re-run asymap generate"
    return ""


def startup_registers_differ(dut_json: Path, desc: dict) -> str:
    """Why a Vivado-flow board's start-up program would write base-address registers where the
    exported RTL does not have them ("" if they agree, or the kernel has no start-up map): the
    offsets in ``bd/address_map.json`` (and ``startup/startup.cpp``) follow Vitis HLS's register
    layout, the exported ``*_control_s_axi.v`` map is the tool's own word."""
    from asymap.verify.cocotb_frames import axilite_offsets

    root, cell = dut_json.parent.parent.parent, f"{desc['toplevel']}_0"
    files = sorted({f for m in desc.get("memories") or [] for f in m.get("control_files", [])})
    rtl: dict[str, int] = {}
    for f in files:
        rtl.update(axilite_offsets(Path(f).read_text(encoding="utf-8")))
    for path in sorted(root.glob("*/bd/address_map.json")):
        for k in read_json_object(path, "re-run asymap generate").get("kernels", []):
            bad = [f"{a} at 0x{o:x} (the RTL: {hex(rtl[a]) if a in rtl else 'none'})"
                   for a, o in sorted(k["registers"].items()) if k["cell"] == cell and files and rtl.get(a) != o]
            if bad:
                return (f"{path.relative_to(root)} puts the base register of {', '.join(bad)}: startup/startup.cpp "
                        "would write the wrong registers (this HLS version lays out s_axi_control differently "
                        "from asymap.codegen.startup)")
    return ""


def _slr_top(desc: dict, build_dir: Path) -> Path:
    """Write the split board's simulation top (asymap.verify.slr_sim) into the build directory."""
    from asymap import __version__
    from asymap.verify.slr_sim import module_ports, render_slr_sim

    kernels = [(k["kernel"], module_ports([Path(p) for p in k["files"]], k["kernel"])) for k in desc["kernels"]]
    top = build_dir / "slr_sim.v"
    top.write_text(render_slr_sim(desc["name"], kernels, desc["streams"], __version__))
    return top


def run_dut(dut_json: Path, build_dir: Path, seed: int = 1) -> RtlResult:
    """Build and simulate one DUT with Icarus; raises nothing for a failing test (it is a result)."""
    from cocotb_tools.check_results import get_results
    from cocotb_tools.runner import get_runner

    dut_json, build_dir = Path(dut_json).resolve(), Path(build_dir).resolve()
    desc, sources = resolve(dut_json)
    name = desc["name"]
    if not sources:
        return RtlResult(name, "no-rtl", "RTL not exported yet (run 'asymap build OUT --step csynth')")
    if shutil.which("iverilog") is None:
        raise UserError("asymap verify --rtl needs Icarus Verilog; install it with 'apt-get install iverilog'")
    build_dir.mkdir(parents=True, exist_ok=True)
    if desc.get("kernels"):  # a board of one kernel per SLR: its kernels joined as v++ links them
        try:
            sources.append(_slr_top(desc, build_dir))
        except UserError as exc:  # the exported RTL does not fit the generated tree: this DUT fails
            return RtlResult(name, "failed", str(exc))
    try:
        why = unserved_masters(desc, sources) or startup_registers_differ(dut_json, desc)
    except UserError as exc:  # the top module is not in its sources
        why = str(exc)
    if why:
        return RtlResult(name, "failed", why)
    resolved = build_dir / "dut.resolved.json"
    resolved.write_text(json.dumps(desc, indent=2, sort_keys=True))
    runner = get_runner("icarus")
    try:
        runner.build(sources=[str(s) for s in sources], includes=[str(resource_dir("rtl"))],
                     hdl_toplevel=desc["toplevel"], build_dir=str(build_dir), parameters=desc.get("parameters", {}),
                     timescale=("1ns", "1ps"), log_file=str(build_dir / "build.log"))
    except RuntimeError:  # Icarus refused the sources (the exported RTL does not elaborate): this DUT fails
        return RtlResult(name, "failed", f"the RTL does not elaborate; see {build_dir / 'build.log'}")
    test_py = next(dut_json.parent.glob("test_*.py"))
    xml = build_dir / "results.xml"
    try:
        runner.test(hdl_toplevel=desc["toplevel"], test_module=test_py.stem, build_dir=str(build_dir),
                    test_dir=str(test_py.parent), results_xml=str(xml), log_file=str(build_dir / "sim.log"),
                    extra_env={"ASYMAP_DUT_RESOLVED": str(resolved), "ASYMAP_TB_SEED": str(seed),
                               "PYTHONPATH": os.pathsep.join(filter(None, [str(test_py.parent),
                                                                            os.environ.get("PYTHONPATH")]))})
    except SystemExit:
        pass
    try:
        ntests, nfail = get_results(xml)
    except Exception as exc:  # noqa: BLE001 - no results file: the simulation did not run
        return RtlResult(name, "failed", f"no results ({exc}); see {build_dir / 'sim.log'}")
    if ntests and not nfail:
        return RtlResult(name, "passed", f"{ntests} test(s)")
    return RtlResult(name, "failed", f"{nfail} of {ntests} failed; see {build_dir / 'sim.log'}")


def verify_rtl(out_dir: str | Path, seed: int = 1, quiet: bool = False) -> list[RtlResult]:
    out = Path(out_dir)
    if not (out / "chain.json").is_file():
        raise UserError(f"{out}: not an 'asymap generate' output tree (no chain.json)")
    duts = find_duts(out)
    if not duts:
        raise UserError(f"{out}: no cocotb harness (cocotb/*/dut.json); re-run asymap generate with this version")
    results = []
    for i, d in enumerate(duts):
        rel = d.parent.relative_to(out)
        res = run_dut(d, out / ".build" / "cocotb" / str(rel).replace(os.sep, "_"), seed)
        results.append(res)
        status(f"[{i + 1}/{len(duts)}] {res.name}: {res.state}", quiet)
    return results


def format_rtl(results: list[RtlResult]) -> str:
    """One line per DUT and a summary (what ran, what passed, what waits for exported RTL)."""
    w = max(len(r.name) for r in results)
    lines = [f"{r.name:<{w}}  {r.state:<7}  {r.detail}" for r in results]
    ran = [r for r in results if r.state != "no-rtl"]
    bad = [r for r in ran if r.state == "failed"]
    lines.append(f"{'FAIL' if bad else 'PASS'}: {len(ran) - len(bad)} of {len(ran)} RTL harness(es) passed"
                 f", {len(results) - len(ran)} without RTL yet")
    return "\n".join(lines)
