"""Every generated Tcl script runs under a plain tclsh with the Vivado/Vitis HLS commands stubbed:
the scripts are syntactically sound Tcl, every variable they read is set, and they reach their
end (the stub logs each tool command with its arguments substituted)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import onnx
import pytest

from asymap.codegen.project import generate
from asymap.frontend.zoo import build_zoo_model

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("tclsh") is None and not os.environ.get("CI"),
                                reason="tclsh not installed (./scripts/test installs tcl)")

# Tool commands become no-ops that log themselves; the few whose result the scripts test return
# what a successful run returns; file operations on tool outputs are logged, not done.
STUBS = r"""
proc unknown {args} {
    puts "CALL [join $args { }]"
    if {[lindex $args 0] eq "get_property" && [lindex $args 1] eq "PROGRESS"} { return "100%" }
    return ""
}
rename glob _glob
proc glob {args} { return [lindex $args end] }
rename file _file
proc file {sub args} {
    if {$sub in {copy delete mkdir}} { puts "CALL file $sub $args"; return "" }
    return [_file $sub {*}$args]
}
rename exit _exit
proc exit {args} { puts "END"; _exit 0 }
"""


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("tcl")
    model = d / "tiny.onnx"
    onnx.save(build_zoo_model("tiny", input_size=16, width_mult=1.0, seed=0), str(model))
    plan = {"schema": 1, "boards": [
        {"name": n, "first_layer": a, "last_layer": b,
         "layers": [{"index": i, "factors": {"pe": 2, "simd": 2}, "weights": "offchip" if i == 3 else "onchip"}
                    for i in range(a, b + 1)]} for n, a, b in [("u250", 0, 1), ("u280", 2, 3), ("vc709", 4, 6),
                                                                    ("zcu102", 7, 8)]]}
    (d / "plan.json").write_text(json.dumps(plan))
    generate(model, ROOT / "clusters" / "mixed4.yaml", d / "out", plan=d / "plan.json", quiet=True)
    return d / "out"


def _run(board_dir: Path, script: str, env: dict | None = None) -> str:
    (board_dir / "stubs.tcl").write_text(STUBS)
    p = subprocess.run(["tclsh"], input=f"source stubs.tcl\nsource {script}\n", cwd=board_dir, capture_output=True,
                       text=True, timeout=60, env={**os.environ, **(env or {})})
    assert p.returncode == 0 and p.stdout.rstrip().endswith("END"), (script, p.stdout[-2000:], p.stderr)
    return p.stdout


def test_every_generated_tcl_script_runs_to_its_end(tree):
    scripts = sorted(p.relative_to(tree) for p in tree.rglob("*.tcl"))
    kinds = {p.name.split("_")[0] for p in scripts}
    assert {"run", "package", "block"} <= kinds, scripts
    for rel in scripts:
        board_dir = tree / rel.parts[0]
        if rel.name == "block_design.tcl":
            (board_dir / f"hls_{board_dir.name}").mkdir(exist_ok=True)  # the exported IP it needs
        env = {"ASYMAP_HLS_STEPS": "csim csynth cosim export"} if rel.name == "run_hls.tcl" else None
        out = _run(board_dir, str(Path(*rel.parts[1:])), env)
        calls = [ln[5:] for ln in out.splitlines() if ln.startswith("CALL ")]
        if rel.name == "run_hls.tcl":
            assert [c.split()[0] for c in calls if c.split()[0].endswith("_design")] == \
                ["csim_design", "csynth_design", "cosim_design", "export_design"]
        elif rel.name == "block_design.tcl":
            cells = [c.split()[-1] for c in calls if c.startswith("create_bd_cell")]
            assert f"top_{board_dir.name}_0" in cells and "write_bitstream" in " ".join(calls)
        else:  # transport packaging: the .xo lands where the link step looks for it
            xo = [c for c in calls if c.startswith("package_xo")]
            kernel = rel.stem[len("package_"):]
            assert len(xo) == 1 and f"-xo_path transport/{kernel}.xo -kernel_name {kernel}" in xo[0]


def _aurora_configs(tcl: str) -> list[dict[str, str]]:
    """CONFIG.* of every Aurora 64b/66b core a script creates (create_ip or a block-design cell)."""
    cores = set(re.findall(r"create_ip -name aurora_64b66b .*-module_name (\w+)", tcl))
    cores |= set(re.findall(r"create_bd_cell -type ip -vlnv xilinx.com:ip:aurora_64b66b (\w+)", tcl))
    out = []
    for core in sorted(cores):
        m = re.search(r"set_property -dict \[list ((?:[^\]]|\\\n)*)\] \[get_(?:ips|bd_cells) " + core + r"\]", tcl)
        assert m, core
        out.append(dict(re.findall(r"CONFIG\.(\w+) \{([^}]*)\}", m.group(1))))
    return out


def test_every_aurora_core_is_generated_with_ufc_flow_control(tree):
    """The credit words ride on User Flow Control (asymap_ufc_credit drives the core's ufc_* ports),
    so every generated Aurora 64b/66b core -- packaged RTL kernels (Vitis flow) and block-design cells
    (Vivado flow) -- is set to PG074's Flow Control option "UFC only" (CONFIG.flow_mode {UFC}) on a
    full-duplex framing core, in the generated Tcl rather than by hand."""
    seen = {"package": 0, "block": 0}
    for script in sorted(tree.rglob("*.tcl")):
        for cfg in _aurora_configs(script.read_text()):
            assert cfg.get("flow_mode") == "UFC", (script, cfg)
            assert cfg.get("dataflow_config") == "Duplex" and cfg.get("interface_mode") == "Framing", (script, cfg)
            seen[script.name.split("_")[0]] += 1
    assert seen["package"] >= 1 and seen["block"] >= 1, seen


def _hop(a: str, b: str, gbps: float) -> dict:
    return {"from": a, "to": b, "gbps": gbps, "bytes_per_image": 0, "interval_s": 0.0, "latency_ns": 0.0,
            "shared": False}


@pytest.mark.parametrize("types", [("u250", "u280"), ("zc706", "vc709")])
def test_tcl_of_a_board_that_carries_a_stage_and_a_station_runs_to_its_end(tmp_path, types):
    """The host attaches to the last stage's board, which also forwards the image to the first:
    its one link (a merged connectivity with a bidirectional transport kernel, whose package Tcl
    declares both streams) or its one block design (both entries' IP, one bridge per cage) runs."""
    model = tmp_path / "tiny.onnx"
    onnx.save(build_zoo_model("tiny", input_size=16, width_mult=1.0, seed=0), str(model))
    (tmp_path / "c.yaml").write_text(f"boards:\n  - {{name: a, type: {types[0]}}}\n  - {{name: b, type: {types[1]}}}\n"
                                     "links:\n  - {a: a, b: b, gbps: 10, latency_ns: 500}\n"
                                     "host: {name: pc, attach: b, gbps: 32}\n")
    plan = {"schema": 1, "host_path": {"attach": "b", "host": "pc", "forwarding": ["b"],
                                       "in": [_hop("pc", "b", 32), _hop("b", "a", 10)], "out": [_hop("b", "pc", 32)]},
            "boards": [{"name": n, "first_layer": a, "last_layer": z,
                        "layers": [{"index": i, "factors": {"pe": 2, "simd": 2}} for i in range(a, z + 1)]}
                       for n, a, z in [("a", 0, 3), ("b", 4, 8)]]}
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    generate(model, tmp_path / "c.yaml", tmp_path / "out", plan=tmp_path / "plan.json", quiet=True)
    out = tmp_path / "out"
    assert not (out / "b" / "connectivity.cfg").exists() and not (out / "b" / "bd").exists()  # linked by b_fwd_in
    scripts = sorted(p.relative_to(out) for p in out.rglob("*.tcl") if p.name != "run_hls.tcl")
    for rel in scripts:
        board_dir = out / rel.parts[0]
        if rel.name == "block_design.tcl":
            (board_dir / f"hls_{board_dir.name}").mkdir(exist_ok=True)
        calls = [ln[5:] for ln in _run(board_dir, str(Path(*rel.parts[1:]))).splitlines() if ln.startswith("CALL ")]
        if rel.name == "block_design.tcl":
            cells = [c.split()[-1] for c in calls if c.startswith("create_bd_cell")]
            assert cells.count("bridge_sfp0") == 1 or cells.count("bridge_qsfp0") == 1, cells
            if board_dir.name == "b_fwd_in":
                assert {"top_b_fwd_in_0", "top_b_0"} <= set(cells)
        elif "rxtx" in rel.name:
            assert sum(c.startswith("ipx::associate_bus_interfaces") for c in calls) == 2, calls
    assert any("rxtx" in str(r) for r in scripts) == (types[0] == "u250")
    assert sum(r.name == "block_design.tcl" for r in scripts) == (2 if types[0] == "zc706" else 0)


def test_block_design_connects_every_memory_argument_of_the_kernel(tmp_path):
    """A Vivado-flow board whose kernel reads off-chip weights (wmem, m_axi_gmem0) and the start-up
    image of its URAM weights (wpre, m_axi_gmem1) gets both masters on the memory interconnect."""
    model = tmp_path / "tiny.onnx"
    onnx.save(build_zoo_model("tiny", input_size=16, width_mult=1.0, seed=0), str(model))
    (tmp_path / "c.yaml").write_text("boards:\n  - {name: left, type: vcu118}\n  - {name: right, type: vcu118}\n"
                                     "links:\n  - {a: left, b: right, gbps: 100, latency_ns: 500}\n")
    weights = {2: "preload", 3: "offchip"}
    plan = {"schema": 1, "boards": [
        {"name": n, "first_layer": a, "last_layer": b,
         "layers": [{"index": i, "factors": {"pe": 2, "simd": 2}, "weights": weights.get(i, "onchip")}
                    for i in range(a, b + 1)]} for n, a, b in [("left", 0, 3), ("right", 4, 8)]]}
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    generate(model, tmp_path / "c.yaml", tmp_path / "out", plan=tmp_path / "plan.json", quiet=True)
    for board, masters in (("left", ["m_axi_gmem0", "m_axi_gmem1"]), ("right", [])):
        d = tmp_path / "out" / board
        (d / f"hls_{board}").mkdir(exist_ok=True)
        calls = [ln[5:] for ln in _run(d, "bd/block_design.tcl").splitlines() if ln.startswith("CALL ")]
        tcl = (d / "bd" / "block_design.tcl").read_text()
        # every master connected below gets its fixed address range (bd/address_map.json, tests/deploy/test_startup.py)
        spaces = re.findall(r"^assign_bd_address .*\[get_bd_addr_spaces (\S+)\]", tcl, re.M)
        assert sum(c.startswith("assign_bd_address -offset") for c in calls) == len(spaces) > 0
        assert {f"top_{board}_0/Data_{m}" for m in masters} <= set(spaces), (board, spaces)
        got = re.findall(rf"connect_bd_intf_net \[get_bd_intf_pins top_{board}_0/(m_axi_\w+)\] "
                         r"\[get_bd_intf_pins mem_sc/S\d+_AXI\]", tcl)
        assert sorted(got) == masters, (board, got)
        dut = json.loads((d / "cocotb" / "dut.json").read_text())  # the RTL harness serves the same masters
        assert [m["prefix"] for m in dut["memories"]] == masters, (board, dut["memories"])
