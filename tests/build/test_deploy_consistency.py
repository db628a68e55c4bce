"""Every name a generated link configuration or block design uses is built by a generated step.

Two clusters cover every board type of boards/ (Alveo, MPSoC, Zynq-7000, Virtex-7, VCU118, on
100G, 10G and 1G links). For each board the test parses what the tools would read and checks it
against what the build produces, from the sources themselves rather than from deploy.json alone:

* connectivity.cfg (Vitis flow): every ``nk=`` kernel is the top of an HLS config that
  ``asymap build --step csynth/export`` synthesizes and packages into exactly the .xo the link
  step passes, or an RTL kernel whose package Tcl (run by the export step) writes that .xo; every
  ``stream_connect``/``sp``/``connect`` port is an interface of that kernel as its C++ pragmas,
  kernel.xml, Verilog or package Tcl declare it; every AXI4-Stream port is connected once;
  memory banks are named as the board's platform names them.
* block_design.tcl (Vivado flow): every pin belongs to a created cell and is an interface of the
  HLS IP (from its pragmas), of the bridge module (from its Verilog) or of the Xilinx IP.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import onnx
import pytest

from asymap.build.runner import build
from asymap.cluster.boards import board_types, load_board_type
from asymap.cluster.deploy import type_deploy
from asymap.codegen.deploy import IP_INTERFACES
from asymap.codegen.project import generate
from asymap.frontend.zoo import build_zoo_model
from clusters_yaml import HOSTPATH_LINE, RING

CLUSTERS = {
    "alveo": ("""
boards:
  - {name: a250, type: u250}
  - {name: a280, type: u280, platform: xilinx_u280_gen3x16_xdma_1_202211_1_custom}
  - {name: a55c, type: u55c}
  - {name: v118, type: vcu118}
  - {name: a50, type: u50}
links:
  - {a: a250, b: a280, gbps: 100, latency_ns: 500}
  - {a: a280, b: a55c, gbps: 100, latency_ns: 500}
  - {a: a55c, b: v118, gbps: 10, latency_ns: 500}
  - {a: v118, b: a50, gbps: 10, latency_ns: 500}
""", ["a250", "a280", "a55c", "v118", "a50"]),
    "embedded": ("""
boards:
  - {name: z706, type: zc706}
  - {name: v709, type: vc709}
  - {name: z102, type: zcu102}
  - {name: z104, type: zcu104}
  - {name: pynq, type: pynq-z2}
links:
  - {a: z706, b: v709, gbps: 10, latency_ns: 1000}
  - {a: v709, b: z102, gbps: 10, latency_ns: 1000}
  - {a: z102, b: z104, gbps: 10, latency_ns: 1000}
  - {a: z104, b: pynq, gbps: 1, latency_ns: 20000}
""", ["z706", "v709", "z102", "z104", "pynq"]),
    # Two Vivado-flow boards on 100G: the block designs' CMAC credit path (asymap_cmac_credit).
    "vivado100": ("""
boards:
  - {name: va, type: vcu118}
  - {name: vb, type: vcu118}
links:
  - {a: va, b: vb, gbps: 100, latency_ns: 500}
""", ["va", "vb"]),
    # A host path as the planner writes one for a line of Alveo cards (ResNet-style, example16-like):
    # the host attaches to the last stage's card, so the image travels sc -> sb -> sa first and the
    # cards sb and sc each carry a stage and a forwarding station: one FPGA, one link step.
    "hostpath": (HOSTPATH_LINE, ["sa", "sb", "sc"]),
    # The same on the Vivado flow: the VC709 carries a stage and the station that forwards the image
    # to the ZC706, whose one cage carries both directions of its only link.
    # Multi-SLR cards whose plan layers span their SLRs: one kernel per SLR (codegen/segment_slr.py),
    # on a host path so one FPGA also links a forwarding station's kernel.
    "slrs": ("""
boards:
  - {name: sa, type: u280}
  - {name: sb, type: u250}
links:
  - {a: sa, b: sb, gbps: 100, latency_ns: 500}
host: {name: pc, attach: sb, gbps: 64}
""", ["sa", "sb"]),
    "hostpath7": ("""
boards:
  - {name: z706, type: zc706}
  - {name: v709, type: vc709}
links:
  - {a: z706, b: v709, gbps: 10, latency_ns: 1000}
host: {name: pc, attach: v709, gbps: 32}
""", ["z706", "v709"]),
}
CUTS = [(0, 1), (2, 3), (4, 5), (6, 7), (8, 8)]
SLRS = {"slrs": {0: 0, 1: 1, 2: 1, 3: 2, 4: 0, 5: 1, 6: 2, 7: 2, 8: 3},  # layer -> SLR (plan.json layers[].slr)
        "vivado100": {0: 0, 1: 1, 2: 1, 3: 2, 4: 0, 5: 0, 6: 1, 7: 2, 8: 2}}  # VCU118: one IP per SLR
# the stem's PE lanes split over SLR0/SLR1 (plan.json slr_lanes): two more streams between the kernels
SLR_LANES = {key: {0: [[0, 1], [1, 1]]} for key in SLRS}


def _hop(a: str, b: str, gbps: float) -> dict:
    return {"from": a, "to": b, "gbps": gbps, "bytes_per_image": 0, "interval_s": 0.0, "latency_ns": 0.0,
            "shared": False}


HOST_PATHS = {"hostpath": ([(0, 3), (4, 6), (7, 8)], {
    "attach": "sc", "host": "pc", "forwarding": ["sc", "sb"],
    "in": [_hop("pc", "sc", 64), _hop("sc", "sb", 10), _hop("sb", "sa", 100)], "out": [_hop("sc", "pc", 64)]}),
              "slrs": ([(0, 3), (4, 8)], {
    "attach": "sb", "host": "pc", "forwarding": ["sb"],
    "in": [_hop("pc", "sb", 64), _hop("sb", "sa", 100)], "out": [_hop("sb", "pc", 64)]}),
              "hostpath7": ([(0, 3), (4, 8)], {
    "attach": "v709", "host": "pc", "forwarding": ["v709"],
    "in": [_hop("pc", "v709", 32), _hop("v709", "z706", 10)], "out": [_hop("v709", "pc", 32)]})}
PRAGMA = re.compile(r"#pragma\s+HLS\s+INTERFACE\s+mode=(\w+)\s+port=(\w+)(?:.*?bundle=(\w+))?")


@pytest.fixture(scope="module")
def trees(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("deploy")
    model = d / "tiny.onnx"
    onnx.save(build_zoo_model("tiny", input_size=32, width_mult=1.0, seed=0), str(model))
    out = {}
    for key, (yaml_text, names) in CLUSTERS.items():
        (d / f"{key}.yaml").write_text(yaml_text)
        cuts, host_path = HOST_PATHS.get(key, (CUTS if len(names) > 2 else [(0, 3), (4, 8)], None))
        plan = {"schema": 1, "boards": [
            {"name": n, "first_layer": a, "last_layer": b,
             "layers": [{"index": i, "factors": {"pe": 2, "simd": 2}, "weights": "offchip" if i in (3, 5, 8) else "onchip",
                         "slr": SLRS.get(key, {}).get(i, 0),
                         **({"slr_lanes": SLR_LANES[key][i]} if i in SLR_LANES.get(key, {}) else {})}
                        for i in range(a, b + 1)]} for n, (a, b) in zip(names, cuts)],
            "links": [{"from": "a250", "to": "a280", "width_bits": 512}]}
        if host_path:
            plan["host_path"] = host_path
        (d / f"{key}.plan.json").write_text(json.dumps(plan))
        generate(model, d / f"{key}.yaml", d / key, plan=d / f"{key}.plan.json", quiet=True)
        out[key] = d / key
    return out


# ---- the board library ---------------------------------------------------------------------------
@pytest.mark.parametrize("board", board_types())
def test_board_library_flow_platform_and_memory_names(board):
    spec, dep = load_board_type(board), type_deploy(board)
    assert dep is not None, f"boards/{board}.yaml has no deploy block"
    part = spec.part
    if part.startswith("xcu"):  # Alveo: Vitis flow on an XDMA shell
        assert (dep.flow, dep.runtime) == ("vitis", "xrt")
        assert dep.platform.startswith(f"xilinx_{board}_gen3x16_xdma_")
        hbm = board in ("u50", "u55c", "u280")
        assert dep.memory_kind == ("HBM" if hbm else "DDR")
        n = 32 if hbm else 4
        assert list(dep.banks) == [f"{dep.memory_kind}[{k}]" for k in range(n)]
        assert all(g.platform_gt and g.platform_refclk for g in dep.gt)
    elif part.startswith("xczu"):  # Zynq UltraScale+ MPSoC: Vitis embedded platform, XRT on the Arm
        assert (dep.flow, dep.runtime, dep.memory_kind) == ("vitis", "xrt-edge", "PS_DDR")
        assert dep.platform.startswith(f"xilinx_{board}_base_") and list(dep.banks) == ["HP0", "HP1", "HP2", "HP3"]
    else:  # Zynq-7000, Virtex-7, and the VCU118 without a released Vitis platform: Vivado IP flow
        assert part.startswith(("xc7", "xcvu9p")), part
        assert dep.flow == "vivado" and dep.platform is None and dep.board_part.split(":")[1] == board
        assert dep.runtime == ("ps" if part.startswith("xc7z") else "xdma")
        assert dep.memory_kind in ("MIG", "PS_DDR")
        if dep.memory_kind == "PS_DDR":
            assert dep.runtime == "ps" and all(b.startswith("S_AXI_HP") for b in dep.banks)
    # The cages in the deploy block are the link ports the cost model knows (SFP+/QSFP28).
    cages = sorted((p.kind, p.count) for p in spec.ports if p.kind in ("SFP+", "QSFP28"))
    kinds: dict[str, int] = {}
    for g in dep.gt:
        kinds[g.kind] = kinds.get(g.kind, 0) + 1
        assert g.lanes == (4 if g.kind == "QSFP28" else 1) and g.refclk_mhz > 0
        assert g.gt_type == ("GTX" if part.startswith("xc7z") else "GTH" if part.startswith(("xc7v", "xczu")) else "GTY")
    assert sorted(kinds.items()) == cages


# ---- parsing what the tools read ---------------------------------------------------------------------
def parse_cfg(text: str) -> dict:
    out = {"nk": [], "stream_connect": [], "sp": [], "connect": [], "freqHz": [], "slr": [], "depth": {}}
    section = None
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            section = line
            continue
        key, _, val = line.partition("=")
        if section == "[clock]":  # --clock.freqHz=<Hz>:<cu_0>[,<cu_n>] (UG1393 "--clock Options")
            assert key == "freqHz", line
            hz, _, cus = val.partition(":")
            out["freqHz"].append((int(hz), cus.split(",")))
            continue
        assert section == "[connectivity]", line
        if key == "nk":
            kernel, count, insts = val.split(":")
            names = insts.split(".")
            assert int(count) == len(names), line
            out["nk"].append((kernel, names))
        elif key == "stream_connect":  # <cu>.<out>:<cu>.<in>[:<fifo depth>] (UG1393 "Specifying Streaming Connections")
            a, b, *depth = val.split(":")
            assert len(depth) <= 1 and all(x.isdigit() and int(x) > 0 for x in depth), line
            out[key].append((a, b))
            if depth:
                out["depth"][a] = int(depth[0])
        else:
            a, b = val.split(":")
            out[key].append((a, b))
    return out


def hls_configs(board_dir: Path) -> dict[str, dict]:
    """syn.top -> {config, files, flow_target, format} of every HLS config of the board."""
    out = {}
    for cfg in board_dir.glob("hls_config*.cfg"):
        kv = [ln.split("=", 1) for ln in cfg.read_text().splitlines() if "=" in ln and not ln.startswith("#")]
        d = {"config": cfg.name, "files": [v for k, v in kv if k == "syn.file"]}
        d.update({k: v for k, v in kv if k in ("syn.top", "flow_target", "package.output.format")})
        out[d["syn.top"]] = d
    return out


def hls_interfaces(board_dir: Path, cfg: dict, kernel: str) -> tuple[dict[str, str], set[str]]:
    """(interface -> mode, memory arguments) of an HLS kernel, from the pragmas of its sources."""
    ifaces, margs = {}, set()
    for f in cfg["files"]:
        text = (board_dir / f).read_text()
        if not re.search(rf"\b{kernel}\s*\(", text):
            continue
        # a source defining several kernels (one per SLR): only this kernel's definition counts
        own = re.findall(rf"^void {kernel}\(.*?\n}}\n", text, re.M | re.S)
        text = own[0] if own else text
        for mode, port, bundle in PRAGMA.findall(text):
            if mode == "axis":
                ifaces[port] = "axis"
            elif mode == "m_axi":
                ifaces[f"m_axi_{bundle}"] = "m_axi"
                margs.add(port)
            elif mode == "s_axilite":
                ifaces["s_axi_control"] = "s_axilite"
    assert ifaces, f"{kernel}: no interface pragmas in {cfg['files']}"
    return ifaces, margs


def verilog_ports(text: str, module: str) -> set[str]:
    m = re.search(rf"module\s+{module}\b.*?\((.*?)\);", text, re.S)
    assert m, module
    return set(re.findall(r"(?:input|output)\s+(?:wire|reg)\s+(?:\[[^\]]*\]\s*)?(\w+)", m.group(1)))


def dry_run(out: Path, step: str) -> dict[str, list[list[str]]]:
    lines: list[str] = []
    boards = None
    if step == "link":  # boards with open link ports cannot link (tested on their own)
        chain = json.loads((out / "chain.json").read_text())  # build names a station by its chain name
        boards = [b["name"] for b in chain["boards"]
                  if not json.loads((out / b["dir"] / "deploy.json").read_text())["unconnected"]]
    build(out, step=step, dry_run=True, quiet=True, print_fn=lines.append, boards=boards)
    cmds: dict[str, list[list[str]]] = {}
    for ln in lines:
        cd, _, cmd = ln.partition(" && ")
        cmds.setdefault(Path(shlex.split(cd)[1]).name, []).append(shlex.split(cmd))
    return cmds


def _boards(out: Path) -> list[tuple[Path, dict]]:
    chain = json.loads((out / "chain.json").read_text())
    return [(out / b["dir"], json.loads((out / b["dir"] / "deploy.json").read_text())) for b in chain["boards"]]


# ---- Vitis flow ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("tree", list(CLUSTERS))
def test_connectivity_names_only_kernels_and_ports_a_generated_step_builds(trees, tree):
    out = trees[tree]
    csynth, export, link = dry_run(out, "csynth"), dry_run(out, "export"), dry_run(out, "link")
    checked = 0
    for d, dep in _boards(out):
        if dep["flow"] != "vitis":
            assert not (d / "connectivity.cfg").exists()
            continue
        if dep["linked_by"]:  # a second station of one FPGA: its kernels are linked by the first station
            assert not (d / "connectivity.cfg").exists() and d.name not in link
            primary = json.loads((out / dep["linked_by"] / "deploy.json").read_text())
            assert primary["name"] == dep["name"] and not primary["linked_by"]
            assert {(k["kernel"], k["instance"]) for k in dep["kernels"]} <= \
                {(k["kernel"], k["instance"]) for k in primary["kernels"] if k["dir"] == d.name}
            assert all(k["origin"] == "hls" for k in dep["kernels"])
            continue
        cfg = parse_cfg((d / "connectivity.cfg").read_text())
        # A kernel of another station of this FPGA is synthesized and packaged in that station's directory.
        owner = {k["kernel"]: out / k["dir"] for k in dep["kernels"] if k["dir"]}
        ports_of: dict[str, dict[str, str]] = {}
        margs_of: dict[str, set[str]] = {}
        artifacts = []
        for kernel, insts in cfg["nk"]:
            kd = owner.get(kernel, d)
            configs = hls_configs(kd)
            if kernel in configs:  # an HLS kernel: synthesized and packaged by generated commands
                c = configs[kernel]
                assert c["flow_target"] == "vitis" and c["package.output.format"] == "xo"
                syn = [a for a in csynth[kd.name] if a[:2] == ["v++", "-c"] and a[a.index("--config") + 1] == c["config"]]
                pkg = [a for a in export[kd.name] if "--package" in a and a[a.index("--config") + 1] == c["config"]]
                assert len(syn) == 1 and len(pkg) == 1, (kernel, csynth[kd.name], export[kd.name])
                wd = syn[0][syn[0].index("--work_dir") + 1]
                assert pkg[0][pkg[0].index("--work_dir") + 1] == wd
                artifacts.append(f"{'' if kd == d else f'../{kd.name}/'}{wd}/{kernel}.xo")
                ifaces, margs = hls_interfaces(kd, c, kernel)
            else:  # an RTL kernel: packaged by the Vivado Tcl the export step runs
                tcl_rel = f"transport/package_{kernel}.tcl"
                assert ["vivado", "-mode", "batch", "-nojournal", "-source", tcl_rel] in export[d.name], kernel
                tcl = (d / tcl_rel).read_text()
                assert f"set kernel {kernel}\n" in tcl and "-xo_path transport/$kernel.xo -kernel_name $kernel" in tcl
                artifacts.append(f"transport/{kernel}.xo")
                xml = (d / "transport" / f"{kernel}.xml").read_text()
                assert f'kernel name="{kernel}"' in xml
                vports = verilog_ports((d / "transport" / f"{kernel}.v").read_text(), kernel)
                ifaces = {p: "axis" for p in re.findall(r'<port name="(\w+)"', xml)}
                assert all(f"{p}_tdata" in vports and f"{p}_tvalid" in vports for p in ifaces), (ifaces, vports)
                for bus in re.findall(r"ipx::add_bus_interface (\w+) \$core", tcl):
                    ifaces[bus] = "bus"
                for phys in re.findall(r"physical_name (\w+) ", tcl):
                    assert phys in vports, phys
                margs = set()
            for inst in insts:
                ports_of[inst], margs_of[inst] = ifaces, margs
        seen: dict[str, int] = {}
        for a, b in cfg["stream_connect"]:
            for end in (a, b):
                inst, port = end.split(".")
                assert inst in ports_of and ports_of[inst].get(port) == "axis", (d.name, end, ports_of.get(inst))
                seen[end] = seen.get(end, 0) + 1
        dangling = [f"{i}.{p}" for i, ps in ports_of.items() for p, k in ps.items() if k == "axis" and f"{i}.{p}" not in seen]
        # A port stays open only where the board has no cage for its link, and deploy.json says so.
        assert dangling == dep["unconnected"] and all(v == 1 for v in seen.values()), (d.name, dangling, seen)
        if dangling:
            assert any("no free transceiver cage" in n for n in dep["notes"])
            assert "NOTE: unconnected" in (d / "connectivity.cfg").read_text()
        for port, bank in cfg["sp"]:
            inst, arg = port.split(".")
            assert arg in margs_of[inst], (d.name, port)
            assert bank in dep["memory"]["banks"], (d.name, bank)
        # Banks are the FPGA's, not an entry's: no two memory ports of one link share a bank unless the
        # platform has fewer banks than ports, and then deploy.json says which share.
        used, nb = [b for _, b in cfg["sp"]], len(dep["memory"]["banks"])
        assert sorted(p for p, _ in cfg["sp"]) == sorted({p for p, _ in cfg["sp"]}), d.name
        if len(used) <= nb:
            assert len(set(used)) == len(used), (d.name, cfg["sp"])
        else:
            assert len(set(used)) == nb and any(n.startswith("memory bank ") for n in dep["notes"]), d.name
        gts = {g.platform_gt for g in type_deploy(dep["type"]).gt} | {g.platform_refclk for g in type_deploy(dep["type"]).gt}
        for port, iface in cfg["connect"]:
            inst, bus = port.split(".")
            assert ports_of[inst].get(bus) == "bus" and iface in gts, (d.name, port, iface)
        # One transport kernel per cage and lane: a cage used both ways (host path) has one bidirectional
        # kernel; only Aurora lanes of a QSFP28 breakout (instance suffix _l<lane>) share a cage.
        claimed = [(iface, re.search(r"(_l\d+)?$", port.split(".")[0]).group(0))
                   for port, iface in cfg["connect"] if port.endswith(".gt_serial_port")]
        assert len(claimed) == len(set(claimed)), (d.name, claimed)
        # The link step passes exactly the .xo files of the kernels the cfg instantiates, on the board's platform.
        if dangling:
            assert d.name not in link  # refused: see test_link_refuses_a_board_with_open_link_ports
            checked += 1
            continue
        (cmd,) = link[d.name]
        assert cmd[:2] == ["v++", "--link"] and sorted(a for a in cmd if a.endswith(".xo")) == sorted(artifacts)
        assert cmd[cmd.index("--platform") + 1] == dep["platform"]
        checked += 1
        # One kernel per SLR: every CU named by slr= is instantiated, on a real SLR of the card, at most
        # once; every HLS CU of a split board has one, and so do the movers and transports beside them.
        insts = {i for _, names in cfg["nk"] for i in names}
        cus = [cu for cu, _ in cfg["slr"]]
        assert set(cus) <= insts and len(cus) == len(set(cus)), (d.name, cfg["slr"])
        nslr = {"u280": 3, "u250": 4, "u55c": 3, "u50": 2}.get(dep["type"], 1)
        assert all(re.fullmatch(r"SLR\d", s) and int(s[3:]) < nslr for _, s in cfg["slr"]), cfg["slr"]
        split = {k["kernel"] for b in json.loads((out / "chain.json").read_text())["boards"]
                 for k in b.get("slr", {}).get("kernels", [])}
        assert {i for k, names in cfg["nk"] if k in split for i in names} <= set(cus), (d.name, cfg["slr"])
        # a stream_connect with a FIFO depth joins two kernels of one split board, as deploy.json says
        assert cfg["depth"] == {k: v for k, v in dep.get("fifo", {}).items()}, d.name
        checked += 1 if cfg["slr"] else 0
    assert checked == {"embedded": 2, "alveo": 4, "hostpath": 3, "slrs": 4}.get(tree, 0)


def test_memory_banks_and_platforms_per_board(trees):
    deps = {dep["name"]: dep for d, dep in _boards(trees["alveo"]) + _boards(trees["embedded"])}
    cfg = {n: parse_cfg((trees["alveo" if n in CLUSTERS["alveo"][1] else "embedded"] / n / "connectivity.cfg").read_text())
           for n, dep in deps.items() if dep["flow"] == "vitis"}
    # Off-chip weights of layer 4 live on board 2 of each tree: HBM on the U55C, PS DDR on the ZCU102.
    assert ("top_a55c_1.wmem", "HBM[0]") in cfg["a55c"]["sp"]
    assert ("top_z102_1.wmem", "HP0") in cfg["z102"]["sp"]
    assert ("mm2s_1.mem", "DDR[0]") in cfg["a250"]["sp"]
    # The cluster YAML's platform override wins over the board library's.
    assert deps["a280"]["platform"] == "xilinx_u280_gen3x16_xdma_1_202211_1_custom"
    assert deps["a250"]["platform"] == "xilinx_u250_gen3x16_xdma_4_1_202210_1"
    assert {n for n, d in deps.items() if d["flow"] == "vivado"} == {"v118", "z706", "v709", "pynq"}
    # 100G between Alveo cards takes CMAC on a QSFP28; 10G takes one Aurora lane of a cage (two links of the
    # U50's one cage are refused: test_two_links_on_one_alveo_gt_interface_are_refused).
    kinds = {(n, t["role"]): (t["core"], t["port"], t["lane"]) for n, d in deps.items() for t in d["transports"]}
    assert kinds[("a250", "out")] == ("cmac", "qsfp0", 0) and kinds[("a280", "in")] == ("cmac", "qsfp0", 0)
    assert kinds[("a55c", "out")] == ("aurora", "qsfp1", 0) and kinds[("a50", "in")] == ("aurora", "qsfp0", 0)
    assert kinds[("v118", "in")] == ("aurora", "qsfp1", 0) and kinds[("v118", "out")] == ("aurora", "qsfp2", 0)
    # Boards without a cage for a link say so instead of naming a transport that cannot exist.
    assert any("no free transceiver cage" in n for n in deps["z104"]["notes"])
    assert any("no free transceiver cage" in n for n in deps["pynq"]["notes"])
    assert any("exposes no GT interface" in n for n in deps["z102"]["notes"])


# ---- Vivado IP flow -------------------------------------------------------------------------------------
@pytest.mark.parametrize("tree", list(CLUSTERS))
def test_block_design_names_only_cells_and_pins_that_exist(trees, tree):
    out = trees[tree]
    export, link = dry_run(out, "export"), dry_run(out, "link")
    checked = 0
    for d, dep in _boards(out):
        if dep["flow"] != "vivado":
            continue
        if dep["linked_by"]:  # a second entry on one FPGA: its IP sits in the first entry's block design
            assert not (d / "bd").exists() and d.name not in link
            assert f"xilinx.com:hls:top_{d.name}:1.0" in (out / dep["linked_by"] / "bd" / "block_design.tcl").read_text()
            continue
        tcl = (d / "bd" / "block_design.tcl").read_text()
        assert link[d.name] == [["vivado", "-mode", "batch", "-nojournal", "-source", "bd/block_design.tcl"]]
        owner = {k["kernel"]: out / k["dir"] for k in dep["kernels"] if k["dir"]}
        cells: dict[str, set[str]] = {}
        axis_of: dict[str, set[str]] = {}  # AXI4-Stream ports of each HLS IP cell
        plain: dict[str, set[str] | None] = {}
        for kind, ref, name in re.findall(r"create_bd_cell -type (ip|module) (?:-vlnv|-reference) (\S+) (\w+)", tcl):
            if kind == "module":
                src = re.search(r"add_files -norecurse \[list ([^\]]*)\]", tcl).group(1).split()
                text = "".join((d / f).read_text() for f in src)
                ports = verilog_ports(text, ref)
                cells[name] = {p[:-len("_tdata")] for p in ports if p.endswith("_tdata")}
                plain[name] = ports
            elif ref.startswith("xilinx.com:hls:"):
                top = ref.split(":")[2]
                kd = owner.get(top, d)  # another entry's IP: exported in that entry's directory
                c = hls_configs(kd)[top]  # the HLS component is exported to the IP catalog by the export step
                assert c["flow_target"] == "vivado" and c["package.output.format"] == "ip_catalog"
                assert any("--package" in a and c["config"] in a for a in export[kd.name])
                repo = "hls_$board prj_$board" if kd == d else f"../{kd.name}/hls_{kd.name} ../{kd.name}/prj_{kd.name}"
                assert re.search(rf"foreach d \[list [^\]]*{re.escape(repo)}", tcl) and "set_property ip_repo_paths $repos" in tcl
                assert any(a[a.index("--work_dir") + 1] == f"hls_{kd.name}" for a in export[kd.name] if "--package" in a)
                ifaces = hls_interfaces(kd, c, top)[0]
                cells[name] = set(ifaces)
                axis_of[name] = {p for p, m in ifaces.items() if m == "axis"}
                plain[name] = {"ap_clk", "ap_rst_n"}
            else:
                cells[name] = IP_INTERFACES[ref]
                plain[name] = None  # clock/reset pins of Xilinx IP are not in the table
        for a, b in re.findall(r"connect_bd_intf_net \[get_bd_intf_pins (\S+)\] \[get_bd_intf_pins (\S+)\]", tcl):
            for pin in (a, b):
                cell, port = pin.split("/")
                assert cell in cells and port in cells[cell], (d.name, pin, cells.get(cell))
        for pin in re.findall(r"make_bd_intf_pins_external \[get_bd_intf_pins (\S+)\]", tcl):
            cell, port = pin.split("/")
            assert cell in cells and port in cells[cell], (d.name, pin)
        for a, b in re.findall(r"connect_bd_net \[get_bd_pins (\S+)\] \[get_bd_pins (\S+)\]", tcl):
            for pin in (a, b):
                cell, port = pin.split("/")
                assert cell in cells and (plain[cell] is None or port in plain[cell]), (d.name, pin)
        # The credit channel is closed on every link end: each bridge's core-side data and credit
        # streams and every stream of its credit carrier (asymap_cmac_credit between bridge and MAC,
        # asymap_ufc_credit beside the Aurora core) are wired exactly once, and the carrier's clock,
        # reset (and on Aurora the UFC request pins) too.
        intf_ends = [pin for pair in re.findall(r"connect_bd_intf_net \[get_bd_intf_pins (\S+)\] "
                                                r"\[get_bd_intf_pins (\S+)\]", tcl) for pin in pair]
        net_ends = [pin for pair in re.findall(r"connect_bd_net \[get_bd_pins (\S+)\] \[get_bd_pins (\S+)\]", tcl)
                    for pin in pair]
        bridges = [n for r, n in re.findall(r"-reference (\S+) (\w+)", tcl) if r == "asymap_xport"]
        carriers = {n: r for r, n in re.findall(r"-reference (\S+) (\w+)", tcl) if r in ("asymap_cmac_credit", "asymap_ufc_credit")}
        # One core, bridge and carrier per cage, both directions of a cage through the one bridge.
        assert len(bridges) == len(carriers) == len({t["port"] for t in dep["transports"]}), (d.name, bridges, carriers)
        for t in dep["transports"]:
            br = f"bridge_{t['port']}"
            carrier = f"pkt_{t['port']}" if t["core"] == "cmac" else f"ufc_{t['port']}"
            assert carriers[carrier] == ("asymap_cmac_credit" if t["core"] == "cmac" else "asymap_ufc_credit")
            for port in ("m_axis_cc", "s_axis_cc", "m_axis_c", "s_axis_c"):
                assert intf_ends.count(f"{br}/{port}") == 1, (d.name, br, port)
            for iface in cells[carrier]:
                assert intf_ends.count(f"{carrier}/{iface}") == 1, (d.name, carrier, iface)
            need = {"clk", "rst"} | ({"ufc_tx_req", "ufc_tx_ms"} if t["core"] == "aurora" else set())
            for pin in need:
                assert net_ends.count(f"{carrier}/{pin}") == 1, (d.name, carrier, pin)
            if t["core"] == "cmac":  # the packet body fits the MAC's default 9600-byte maximum
                pkt = int(re.search(rf"CONFIG.PKT_ADDR_W \{{(\d+)\}}[^\]]*\] \[get_bd_cells {carrier}\]", tcl).group(1))
                assert (2 ** pkt + 1) * 64 <= 9600
        # Every stream of the kernel is wired, inputs from the DMA or a link, outputs to the DMA or a link.
        tops = [n for n, ps in cells.items() if "link_in" in ps]
        assert len(tops) == 1 + sum(1 for _, o in _boards(out) if o["linked_by"] == d.name)
        for cell, ports in axis_of.items():  # link in/out, and the streams between one IP per SLR
            for port in ports:
                assert intf_ends.count(f"{cell}/{port}") == 1, (d.name, cell, port)
        assert sum("link_out" in ports for ports in axis_of.values()) == len(tops)
        xdc = (d / "bd" / "constraints.xdc").read_text()
        # one IP per SLR: every IP of a split entry in a pblock of its plan SLR
        for cell, slr in dep.get("slr", []):
            assert f"resize_pblock [get_pblocks pb_{cell}] -add {slr}\n" in xdc and cell in cells, (d.name, cell)
        checked += bool(dep.get("slr"))
        for t in dep["transports"]:
            assert f"{t['core']}_{t['port']}_refclk" in xdc
            for pin in t["refclk_pins"]:
                assert f"PACKAGE_PIN {pin} " in xdc
        checked += 1
    assert checked == {"alveo": 1, "embedded": 3, "vivado100": 4, "hostpath": 0, "hostpath7": 2, "slrs": 0}[tree]


def test_link_refuses_a_board_with_open_link_ports(trees, run_cli, assert_user_error):
    p = run_cli("build", trees["embedded"], "--step", "link", "--board", "z104", "--dry-run")
    assert_user_error(p, "z104", "top_z104_1.link_in", "deploy.json")


def test_platform_per_board_for_a_mixed_cluster(trees, run_cli, assert_user_error):
    out = trees["alveo"]
    boards = ["--board", "a250", "--board", "a280", "--board", "v118"]
    p = run_cli("build", out, "--step", "link", *boards, "--platform", "a250=/opt/p/my_u250.xpfm", "--dry-run",
                check=True)
    lines = {Path(shlex.split(ln.split(" && ")[0])[1]).name: ln for ln in p.stdout.splitlines()}
    assert "--platform /opt/p/my_u250.xpfm " in lines["a250"]
    assert "--platform xilinx_u280_gen3x16_xdma_1_202211_1_custom " in lines["a280"]  # the cluster YAML's
    assert lines["v118"].endswith("vivado -mode batch -nojournal -source bd/block_design.tcl")
    # One platform for every Vitis board still leaves the Vivado-flow board alone.
    p = run_cli("build", out, "--step", "link", *boards, "--platform", "/opt/p/any.xpfm", "--dry-run", check=True)
    assert p.stdout.count("--platform /opt/p/any.xpfm ") == 2 and "bd/block_design.tcl" in p.stdout
    assert_user_error(run_cli("build", out, "--step", "link", "--platform", "v118=/opt/p/x.xpfm", "--dry-run"),
                      "v118", "Vivado IP flow")
    assert_user_error(run_cli("build", out, "--step", "link", "--platform", "nosuch=/opt/p/x.xpfm", "--dry-run"),
                      "nosuch")
    assert_user_error(run_cli("build", out, "--step", "link", "--platform", "=x", "--dry-run"), "BOARD=PLATFORM")


def test_cluster_platform_override_only_for_vitis_boards(tmp_path, run_cli, assert_user_error):
    (tmp_path / "c.yaml").write_text("boards:\n  - {name: a, type: u250}\n  - {name: b, type: vcu118, platform: p}\n"
                                     "links:\n  - {a: a, b: b, gbps: 10}\n")
    model = tmp_path / "tiny.onnx"
    onnx.save(build_zoo_model("tiny", input_size=16, width_mult=1.0, seed=0), str(model))
    p = run_cli("generate", model, tmp_path / "c.yaml", "-o", tmp_path / "out")
    assert_user_error(p, "board 'b'", "Vivado IP flow", "'platform'")
    assert not (tmp_path / "out").exists()
    (tmp_path / "d.yaml").write_text("boards:\n  - {name: a, type: u250, platform: 7}\nlinks: []\n")
    assert_user_error(run_cli("generate", model, tmp_path / "d.yaml", "-o", tmp_path / "out"), "'platform'")


# ---- one platform key --------------------------------------------------------------------------------
@pytest.mark.parametrize("board", board_types())
def test_budgets_are_taken_for_the_deploy_platform(board):
    """A board names one platform: deploy.platform, the Vitis platform it is linked against, is the
    one its budgets dsp..lut are for (plan.json boards[].platform); a Vivado-flow board has none and
    plans on the device totals."""
    spec, dep = load_board_type(board), type_deploy(board)
    if dep.flow == "vitis":
        assert spec.platform == dep.platform
    else:
        assert spec.platform == f"Vivado IP flow on {dep.board_part} (no shell)"
        assert all(getattr(spec, k) == v for k, v in dict(spec.device).items() if k != "ff"), board


def test_an_old_board_file_with_two_platform_keys_is_refused_in_one_line(tmp_path, run_cli, monkeypatch,
                                                                          assert_user_error, repo_root):
    """Board files written before the keys were unified carry a top-level 'platform:'; they stop
    with one line that names the file and says where the name goes now."""
    lib = tmp_path / "boards"
    lib.mkdir()
    text = (repo_root / "boards" / "u280.yaml").read_text()
    (lib / "u280.yaml").write_text(text.replace("ports:\n", 'platform: "xilinx_u280_xdma_201920_3 (Vitis, XDMA shell)"\nports:\n', 1))
    monkeypatch.setenv("ASYMAP_BOARDS", str(lib))
    assert_user_error(run_cli("boards"), "u280.yaml", "'platform'", "deploy: platform:")
    # The same for an inline board of a cluster file.
    from asymap.cluster.load import load_cluster
    from asymap.errors import UserError

    monkeypatch.delenv("ASYMAP_BOARDS")
    (tmp_path / "c.yaml").write_text("boards:\n  - {name: a, resources: {dsp: 10, bram36: 10, uram: 0, lut: 1000, "
                                     "clock_mhz: 100, mem_gbps: 1, platform: my_shell}}\nlinks: []\n")
    with pytest.raises(UserError, match=r"board 'a'.*'platform'.*deploy: platform:"):
        load_cluster(tmp_path / "c.yaml")


# ---- kernel clocks ----------------------------------------------------------------------------------------
def _clock_hz(board_dir: Path, config: str) -> float:
    ns = re.search(r"^clock=([\d.]+)ns$", (board_dir / config).read_text(), re.M).group(1)
    return 1e9 / float(ns)


@pytest.mark.parametrize("tree", ["alveo", "embedded", "hostpath"])
def test_every_compute_unit_is_linked_at_the_clock_it_was_built_for(trees, tree):
    """[clock] freqHz in every link config: each HLS CU at the clock its hls_config synthesized it
    for, each transport kernel at the clock of the kernel it streams with; every CU named once."""
    out = trees[tree]
    checked = 0
    for d, dep in _boards(out):
        if dep["flow"] != "vitis" or dep["linked_by"]:
            continue
        cfg = parse_cfg((d / "connectivity.cfg").read_text())
        hz = {cu: f for f, cus in cfg["freqHz"] for cu in cus}
        named = [cu for _, cus in cfg["freqHz"] for cu in cus]
        insts = [i for _, names in cfg["nk"] for i in names]
        assert sorted(named) == sorted(insts), (d.name, named, insts)
        owner = {k["kernel"]: out / k["dir"] for k in dep["kernels"] if k["dir"]}
        for kernel, names in cfg["nk"]:
            kd = owner.get(kernel, d)
            configs = hls_configs(kd)
            if kernel in configs:
                for i in names:
                    assert hz[i] == pytest.approx(_clock_hz(kd, configs[kernel]["config"]), rel=1e-4), (d.name, i)
        for a, b in cfg["stream_connect"]:  # a stream never crosses clocks: no converter is needed
            assert hz[a.split(".")[0]] == hz[b.split(".")[0]], (d.name, a, b)
        checked += 1
    assert checked == {"alveo": 4, "embedded": 2, "hostpath": 3}[tree]


def _tree_with_clocks(tmp_path, key: str, clocks: dict[str, float], run_cli):
    """Generate the ``key`` tree with the plan's kernel clock of some stages changed."""
    yaml_text, names = CLUSTERS[key]
    (tmp_path / "c.yaml").write_text(yaml_text)
    model = tmp_path / "tiny.onnx"
    onnx.save(build_zoo_model("tiny", input_size=32, width_mult=1.0, seed=0), str(model))
    cuts, host_path = HOST_PATHS.get(key, (CUTS if len(names) > 2 else [(0, 3), (4, 8)], None))
    plan = {"schema": 1, "boards": [
        {"name": n, "first_layer": a, "last_layer": b, **({"clock_mhz": clocks[n]} if n in clocks else {}),
         "layers": [{"index": i, "factors": {"pe": 2, "simd": 2}, "weights": "onchip"} for i in range(a, b + 1)]}
        for n, (a, b) in zip(names, cuts)]}
    if host_path:
        plan["host_path"] = host_path
    (tmp_path / "p.json").write_text(json.dumps(plan))
    return run_cli("generate", model, tmp_path / "c.yaml", "--plan", tmp_path / "p.json", "-o", tmp_path / "out", "-q")


def test_a_stage_at_its_own_clock_is_linked_at_that_clock(tmp_path, run_cli):
    p = _tree_with_clocks(tmp_path, "hostpath", {"sa": 200.0}, run_cli)
    assert p.returncode == 0, p.stderr
    cfg = parse_cfg((tmp_path / "out" / "sa" / "connectivity.cfg").read_text())
    assert cfg["freqHz"] == [(200000000, ["top_sa_1", "xport_qsfp0"])]
    assert _clock_hz(tmp_path / "out" / "sa", "hls_config.cfg") == pytest.approx(200e6)
    other = parse_cfg((tmp_path / "out" / "sb_fwd_in" / "connectivity.cfg").read_text())
    assert [f for f, _ in other["freqHz"]] == [250000000]


def test_one_transport_kernel_for_two_clocks_is_refused(tmp_path, run_cli, assert_user_error):
    """sb's stage and its forwarding station share both cages' rxtx transport kernels (one kernel
    clock): a stage clock that differs from the station's stops generate with one line."""
    p = _tree_with_clocks(tmp_path, "hostpath", {"sb": 200.0}, run_cli)
    assert_user_error(p, "board 'sb'", "200 MHz", "250 MHz", "one kernel clock", "clock_mhz")
    assert not (tmp_path / "out").exists()


def test_a_block_design_with_two_clocks_is_refused(tmp_path, run_cli, assert_user_error):
    p = _tree_with_clocks(tmp_path, "hostpath7", {"v709": 100.0}, run_cli)
    assert_user_error(p, "board 'v709'", "Vivado IP flow", "v709 100 MHz", "v709_fwd_in", "clock_mhz")
    assert not (tmp_path / "out").exists()


# ---- memory banks ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("board,banks", [("u250", ["DDR[0]", "DDR[1]", "DDR[2]", "DDR[3]"]),
                                         ("zcu102", ["HP0", "HP1", "HP2", "HP3"])])
def test_more_memory_ports_than_banks_share_the_light_ones_and_say_so(tmp_path, board, banks):
    """One board that is first and last with off-chip weights has five memory ports (wmem, mm2s.mem,
    s2mm.mem/last/count) on four banks: the streaming ports get a bank each, the light flag and count
    ports share, and deploy.json and the cfg name the shared bank and what it costs."""
    (tmp_path / "c.yaml").write_text(f"boards:\n  - {{name: one, type: {board}}}\nlinks: []\n")
    model = tmp_path / "tiny.onnx"
    onnx.save(build_zoo_model("tiny", input_size=32, width_mult=1.0, seed=0), str(model))
    plan = {"schema": 1, "boards": [{"name": "one", "first_layer": 0, "last_layer": 8, "layers": [
        {"index": i, "factors": {"pe": 2, "simd": 2}, "weights": "offchip" if i == 3 else "onchip"} for i in range(9)]}]}
    (tmp_path / "p.json").write_text(json.dumps(plan))
    generate(model, tmp_path / "c.yaml", tmp_path / "out", plan=tmp_path / "p.json", quiet=True)
    text = (tmp_path / "out" / "one" / "connectivity.cfg").read_text()
    sp = dict(parse_cfg(text)["sp"])
    heavy = [sp["top_one_1.wmem"], sp["mm2s_1.mem"], sp["s2mm_1.mem"]]
    assert heavy == banks[:3] and sp["s2mm_1.last"] == banks[3] and sp["s2mm_1.count"] == banks[0]
    dep = json.loads((tmp_path / "out" / "one" / "deploy.json").read_text())
    (note,) = [n for n in dep["notes"] if n.startswith("memory bank ")]
    assert f"memory bank {banks[0]} is shared by top_one_1.wmem, s2mm_1.count" in note and "negligible" in note
    assert f"# NOTE: {note}" in text


def test_two_streaming_ports_on_one_bank_say_they_split_its_bandwidth():
    from asymap.codegen.deploy import assign_banks, bank_sharing

    sp = assign_banks(["a_1.wmem", "b_1.wmem", "m_1.mem", "s_1.last"], ["B0", "B1"])
    assert sp == [("a_1.wmem", "B0"), ("b_1.wmem", "B1"), ("m_1.mem", "B0"), ("s_1.last", "B1")]
    notes = bank_sharing(sp, ["B0", "B1"])
    assert any("B0" in n and "2 streaming ports (a_1.wmem, m_1.mem) split its bandwidth" in n for n in notes)
    assert any("B1" in n and "negligible" in n for n in notes)
    assert assign_banks(["x_1.wmem", "y_1.mem"], ["H0", "H1", "H2"]) == [("x_1.wmem", "H0"), ("y_1.mem", "H1")]


# ---- what one FPGA's transports cannot share -------------------------------------------------------------
def _generate_cli(tmp_path, yaml_text: str, boards: list[tuple[str, int, int]], run_cli, host_path=None):
    (tmp_path / "c.yaml").write_text(yaml_text)
    model = tmp_path / "tiny.onnx"
    onnx.save(build_zoo_model("tiny", input_size=32, width_mult=1.0, seed=0), str(model))
    plan = {"schema": 1, "boards": [
        {"name": n, "first_layer": a, "last_layer": b,
         "layers": [{"index": i, "factors": {"pe": 2, "simd": 2}, "weights": "onchip"} for i in range(a, b + 1)]}
        for n, a, b in boards]}
    if host_path:
        plan["host_path"] = host_path
    (tmp_path / "p.json").write_text(json.dumps(plan))
    return run_cli("generate", model, tmp_path / "c.yaml", "--plan", tmp_path / "p.json", "-o", tmp_path / "out", "-q")


def test_two_links_on_one_alveo_gt_interface_are_refused(tmp_path, run_cli, assert_user_error):
    """A U50 in the middle of a chain would carry both its links on lanes 0 and 1 of its one QSFP28
    (breakout): two transport kernels on the platform's one GT interface, which v++ cannot link."""
    p = _generate_cli(tmp_path, """
boards:
  - {name: a55c, type: u55c}
  - {name: mid, type: u50}
  - {name: z102, type: zcu102}
links:
  - {a: a55c, b: mid, gbps: 10, latency_ns: 500}
  - {a: mid, b: z102, gbps: 10, latency_ns: 500}
""", [("a55c", 0, 3), ("mid", 4, 6), ("z102", 7, 8)], run_cli)
    assert_user_error(p, "board 'mid' (u50)", "from a55c, lane 0", "to z102, lane 1", "cage qsfp0",
                      "io_gt_qsfp0_00", "cluster YAML", "end of the chain")
    assert not (tmp_path / "out").exists()


def test_a_host_path_hop_over_a_pipeline_link_the_same_way_is_refused(tmp_path, run_cli, assert_user_error):
    """A ring where the result's route runs sc -> sa -> sb while the pipeline runs sa -> sb: sb's stage
    and its forwarding station would both receive from sa on one cable (and sa's both send to sb),
    plan.json 'shared'."""
    hp = {"attach": "sb", "host": "pc", "forwarding": ["sb", "sa"],
          "in": [_hop("pc", "sb", 64), _hop("sb", "sa", 100)],
          "out": [_hop("sc", "sa", 100), _hop("sa", "sb", 100) | {"shared": True}, _hop("sb", "pc", 64)]}
    p = _generate_cli(tmp_path, RING, [("sa", 0, 3), ("sb", 4, 6), ("sc", 7, 8)], run_cli, hp)
    assert_user_error(p, "board 'sb'", "sb (link", "sb_fwd_out (link", "receive from sa", "cage qsfp0", "'shared'",
                      "host: attach")
    assert not (tmp_path / "out").exists()


def test_two_links_on_lanes_of_one_vivado_flow_cage_are_refused(tmp_path, run_cli, assert_user_error):
    """A VCU118 (two QSFP28 cages) with three neighbours: the host's board d reaches the chain through
    'mid', whose stage and stations then talk to a, c and d, so one link takes lane 1 of a cage."""
    hp = {"attach": "d", "host": "pc", "forwarding": ["d", "mid"],
          "in": [_hop("pc", "d", 32), _hop("d", "mid", 10), _hop("mid", "a", 10)],
          "out": [_hop("c", "mid", 10), _hop("mid", "d", 10), _hop("d", "pc", 32)]}
    p = _generate_cli(tmp_path, """
boards:
  - {name: a, type: vcu118}
  - {name: mid, type: vcu118}
  - {name: c, type: vcu118}
  - {name: d, type: vcu118}
links:
  - {a: a, b: mid, gbps: 10, latency_ns: 500}
  - {a: mid, b: c, gbps: 10, latency_ns: 500}
  - {a: mid, b: d, gbps: 10, latency_ns: 500}
host: {name: pc, attach: d, gbps: 32}
""", [("a", 0, 3), ("mid", 4, 6), ("c", 7, 8)], run_cli, hp)
    assert_user_error(p, "board 'mid' (vcu118)", "lane 0", "lane 1", "cage qsfp1", "breakout", "GT channel",
                      "end of the chain")
    assert not (tmp_path / "out").exists()
