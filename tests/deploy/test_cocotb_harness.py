"""The generated cocotb harness, run end to end by ``asymap verify --rtl`` on the RTL that exists
without Vitis: the link transport between two boards (board A's asymap_xport -> wire -> board B's
asymap_xport, credits back on a delayed side channel, three clock domains), driven with the frames
board B receives in C-sim and compared bit for bit under random backpressure; a slow consumer must
not lose frames, and without the credit channel it must. The boards' own harnesses wait for the RTL 'asymap build --step csynth'
exports and say so. A corrupted expectation must fail.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import onnx
import pytest

from asymap.codegen.deploy import BRIDGE_RTL
from asymap.codegen.project import generate
from asymap.frontend.zoo import build_zoo_model
from hls_standin import MAGIC, standin, write_export

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.cocotb,
              pytest.mark.skipif(shutil.which("iverilog") is None and not os.environ.get("CI"),
                                 reason="Icarus Verilog (iverilog) not installed")]


def _tree(d: Path, width: int, weights: dict[int, str] | None = None) -> Path:
    """tiny on pair2 (big: U250, layers 0-3; small: ZCU102, layers 4-8); ``weights``: layer index ->
    "offchip" | "preload" (the rest on chip)."""
    model = d / "tiny.onnx"
    onnx.save(build_zoo_model("tiny", input_size=16, width_mult=1.0, seed=0), str(model))
    w = weights or {}
    plan = {"schema": 1, "boards": [
        {"name": "big", "first_layer": 0, "last_layer": 3,
         "layers": [{"index": i, "factors": {"pe": 2, "simd": 2}, "weights": w.get(i, "onchip")} for i in range(4)]},
        {"name": "small", "first_layer": 4, "last_layer": 8,
         "layers": [{"index": i, "factors": {"pe": 2, "simd": 2}, "weights": w.get(i, "onchip")} for i in range(4, 9)]}],
        "links": [{"from": "big", "to": "small", "width_bits": width}]}
    (d / "plan.json").write_text(json.dumps(plan))
    generate(model, ROOT / "clusters" / "pair2.yaml", d / "out", plan=d / "plan.json", quiet=True)
    return d / "out"


@pytest.mark.parametrize("width", [64, 512])
def test_link_transport_harness_passes_frames_through_unchanged(tmp_path, run_cli, width):
    out = _tree(tmp_path, width)
    dut = json.loads((out / "cocotb" / "link_big_small" / "dut.json").read_text())
    # 10G link: Aurora 64b/66b's 64-bit user side; a 512-bit kernel stream is width-converted both ways.
    assert dut["parameters"] == {"KW": width, "CW": 64, "RX_ADDR_W": 4} and len(dut["clocks"]) == 3
    p = run_cli("verify", "--rtl", out, "--quiet")
    assert p.returncode == 0, p.stdout + p.stderr
    lines = p.stdout.splitlines()
    assert any(ln.split()[:2] == ["link_big_small", "passed"] for ln in lines), p.stdout
    assert sum("no-rtl" in ln for ln in lines) == 2  # the boards' kernels: no exported RTL without Vitis
    assert lines[-1] == "PASS: 1 of 1 RTL harness(es) passed, 2 without RTL yet"
    log = next((out / ".build" / "cocotb").glob("*link_big_small/sim.log")).read_text()
    frames = sum(1 for ln in log.splitlines() if "m_axis: frame" in ln and "equal" in ln)
    beats, last = (out / "small" / "vectors" / "link_in.frames").read_bytes(), None
    from asymap.codegen.framefile import split_beats

    _, last = split_beats(beats, width)
    assert frames == sum(last) > 1


def test_link_transport_harness_catches_a_wrong_frame(tmp_path, run_cli):
    out = _tree(tmp_path, 64)
    d = out / "cocotb" / "link_big_small"
    data = bytearray((out / "small" / "vectors" / "link_in.frames").read_bytes())
    data[9 * 5 + 3] ^= 0x40  # one payload byte of the first frame (records are 8 data bytes + 1 flag byte)
    (d / "expected.frames").write_bytes(data)
    dut = json.loads((d / "dut.json").read_text())
    dut["outputs"][0]["frames"] = "expected.frames"
    (d / "dut.json").write_text(json.dumps(dut))
    p = run_cli("verify", "--rtl", out)
    assert p.returncode == 1, p.stdout + p.stderr
    assert any(ln.split()[:2] == ["link_big_small", "failed"] for ln in p.stdout.splitlines())
    log = next((out / ".build" / "cocotb").glob("*link_big_small/sim.log")).read_text()
    assert "frame 0 differs from byte 43 (beat 5)" in log


@pytest.mark.parametrize("credits", [True, False])
def test_slow_consumer_loses_no_frames_only_with_credits(tmp_path, run_cli, credits):
    """The receiving board's kernel takes a beat in only 1 of 10 cycles: the 16-entry receive buffer
    fills, the credits hold the sender back, every frame arrives and nothing overflows. With the
    credit channel cut (CREDIT_LINK=0) the same run must lose beats: the harness fails."""
    out = _tree(tmp_path, 64)
    d = out / "cocotb" / "link_big_small"
    dut = json.loads((d / "dut.json").read_text())
    dut["outputs"][0]["busy"] = 0.9
    if not credits:
        dut["parameters"]["CREDIT_LINK"] = 0
    (d / "dut.json").write_text(json.dumps(dut))
    p = run_cli("verify", "--rtl", out)
    assert p.returncode == (0 if credits else 1), p.stdout + p.stderr
    state = "passed" if credits else "failed"
    assert any(ln.split()[:2] == ["link_big_small", state] for ln in p.stdout.splitlines()), p.stdout


@pytest.mark.skipif(shutil.which("verilator") is None and not os.environ.get("CI"), reason="verilator not installed")
@pytest.mark.parametrize("kw,cw", [(64, 64), (512, 64), (64, 512), (512, 512)])
def test_transport_bridge_lints_clean(tmp_path, kw, cw):
    """The two-board simulation top over the transport RTL it names (asymap_xport and the credit
    bridge) under verilator -Wall; the waivers: file names differ from module names, the directions a
    one-way harness does not use are left open."""
    import subprocess

    from asymap.codegen.env import make_env
    from asymap.resources import resource_dir

    env = make_env()
    ctx = {"version": "test", "a": type("B", (), {"ident": "a"}), "b": type("B", (), {"ident": "b"}),
           "kw": kw, "cw": cw, "core": "aurora"}
    (tmp_path / "sim.v").write_text(env.get_template("deploy/link_sim.v.j2").render(ctx))
    rtl = resource_dir("rtl")
    p = subprocess.run(["verilator", "--lint-only", "-Wall", "-Wno-DECLFILENAME", "-Wno-PINCONNECTEMPTY",
                        f"-I{rtl}", "--top-module", "asymap_link_sim", str(tmp_path / "sim.v"),
                        *(str(rtl / name) for name in BRIDGE_RTL)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and "%Warning" not in p.stderr, p.stderr


@pytest.mark.parametrize("magic_ok", [True, False])
def test_kernel_harness_starts_the_top_and_serves_its_weights(tmp_path, run_cli, magic_ok):
    """A board's harness as `verify --rtl` runs it once csynth exported Verilog: here on a stand-in
    with the HLS interface names (ap_start over AXI4-Lite, wmem base address from the
    *_control_s_axi.v map, weights served by an AXI RAM). Wrong weights must fail the comparison.
    The description is in the format of trees generated before the memories list (one "memory",
    at address 0), which the harness still reads."""
    out = _tree(tmp_path, 64, {5: "offchip"})
    board = out / "small"
    write_export(board / "hls_small" / "hls" / "syn" / "verilog", "top_small")
    magic = (MAGIC if magic_ok else 0x1111).to_bytes(8, "little")
    (board / "weights" / "wmem.bin").write_bytes(magic + bytes(56))
    dut = json.loads((board / "cocotb" / "dut.json").read_text())
    assert dut["memories"] == [{"arg": "wmem", "prefix": "m_axi_gmem0", "file": "../weights/wmem.bin", "base": 4096}]
    # The stand-in forwards what it receives: its expected output is its input.
    dut["outputs"][0]["frames"] = dut["inputs"][0]["frames"]
    del dut["memories"]
    dut["memory"] = {"prefix": "m_axi_gmem0", "arg": "wmem", "file": "../weights/wmem.bin"}
    (board / "cocotb" / "dut.json").write_text(json.dumps(dut))
    p = run_cli("verify", "--rtl", out)
    line = next(ln for ln in p.stdout.splitlines() if ln.startswith("small "))
    assert line.split()[1] == ("passed" if magic_ok else "failed"), p.stdout
    assert p.returncode == (0 if magic_ok else 1)


@pytest.fixture(scope="module")
def preload_tree(tmp_path_factory) -> Path:
    """big (U250) preloads layer 2 into URAM (weights/wpre.bin on m_axi_gmem1) and streams layer 3
    from off-chip memory (wmem on m_axi_gmem0); only big's own harness is kept."""
    out = _tree(tmp_path_factory.mktemp("preload"), 64, {2: "preload", 3: "offchip"})
    shutil.rmtree(out / "cocotb")
    shutil.rmtree(out / "small" / "cocotb")
    return out


@pytest.mark.parametrize("case", ["served", "wrong image", "wrong register", "old description"])
def test_kernel_harness_serves_the_preloaded_weights_on_gmem1(preload_tree, tmp_path, run_cli, case):
    """A top that preloads URAM weights has two m_axi masters: dut.json lists a memory for each
    (wmem on gmem0, wpre on gmem1, each in its own AXI RAM at its own base address), and the
    stand-in reads the whole start-up image through gmem1 as the loader does (in order, bursts of
    at most 256 beats) and checks it against the image generate wrote. A corrupted wpre.bin, or a
    top that reads wpre at wmem's base address (each image sits at its own base), fails the frame
    comparison; a description that serves only gmem0 (the old one-memory format) fails
    before simulating, naming the unserved master."""
    out = tmp_path / "out"
    shutil.copytree(preload_tree, out)
    board = out / "big"
    wpre = (board / "weights" / "wpre.bin").read_bytes()
    assert len(wpre) > 256 * 8  # more than one burst
    rtl = board / "hls_big" / "hls" / "syn" / "verilog"
    write_export(rtl, "top_big", wpre)
    if case == "wrong register":
        v = rtl / "top_big.v"
        v.write_text(v.read_text().replace(".base({pbase_hi, pbase_lo})", ".base({base_hi, base_lo})"))
    (board / "weights" / "wmem.bin").write_bytes(MAGIC.to_bytes(8, "little") + bytes(56))
    dut = json.loads((board / "cocotb" / "dut.json").read_text())
    assert dut["memories"] == [
        {"arg": "wmem", "prefix": "m_axi_gmem0", "file": "../weights/wmem.bin", "base": 0x1000},
        {"arg": "wpre", "prefix": "m_axi_gmem1", "file": "../weights/wpre.bin", "base": 0x2000}]
    dut["outputs"][0]["frames"] = dut["inputs"][0]["frames"]
    if case == "wrong image":
        bad = bytearray(wpre)
        bad[8 * 300 + 2] ^= 0x10  # one weight byte of the second burst
        (board / "weights" / "wpre.bin").write_bytes(bad)
    elif case == "old description":
        dut["memory"] = dut.pop("memories")[0]
    (board / "cocotb" / "dut.json").write_text(json.dumps(dut))
    p = run_cli("verify", "--rtl", out)
    line = next(ln for ln in p.stdout.splitlines() if ln.startswith("big "))
    assert line.split()[1] == ("passed" if case == "served" else "failed"), p.stdout + p.stderr
    assert p.returncode == (0 if case == "served" else 1)
    if case == "old description":
        assert "m_axi_gmem1 of top_big served by no memory of dut.json" in line, line
        return
    log = (out / ".build" / "cocotb" / "big_cocotb" / "sim.log").read_text()
    if case == "served":
        assert f"m_axi_gmem1 (wpre): {len(wpre)} bytes read in {len(wpre) // 8} beats, addresses " \
               f"0x2000..0x{0x2000 + len(wpre):x} (image 0x2000..0x{0x2000 + len(wpre):x})" in log
        assert "m_axi_gmem0 (wmem): 8 bytes read in 1 beats, addresses 0x1000..0x1008" in log
    else:
        assert "link_out: frame 0 differs from byte 0" in log


AURORA_STUB = """
/* verilator lint_off UNDRIVEN */
/* verilator lint_off UNUSEDSIGNAL */
// Port list of aurora_64b66b_0 (1 lane, framing, UFC) as PG074 names it; a stub only for lint.
module aurora_64b66b_0 (input wire rxp, input wire rxn, output wire txp, output wire txn,
  input wire gt_refclk1_p, input wire gt_refclk1_n, input wire init_clk, input wire reset_pb, input wire pma_init,
  input wire power_down, input wire [2:0] loopback, input wire gt_rxcdrovrden_in, output wire user_clk_out,
  input wire [63:0] s_axi_tx_tdata, input wire [7:0] s_axi_tx_tkeep, input wire s_axi_tx_tlast,
  input wire s_axi_tx_tvalid, output wire s_axi_tx_tready, output wire [63:0] m_axi_rx_tdata,
  output wire [7:0] m_axi_rx_tkeep, output wire m_axi_rx_tlast, output wire m_axi_rx_tvalid,
  input wire ufc_tx_req, input wire [7:0] ufc_tx_ms, input wire [63:0] s_axi_ufc_tx_tdata,
  input wire s_axi_ufc_tx_tvalid, output wire s_axi_ufc_tx_tready, output wire [63:0] m_axi_ufc_rx_tdata,
  output wire [7:0] m_axi_ufc_rx_tkeep, output wire m_axi_ufc_rx_tlast, output wire m_axi_ufc_rx_tvalid,
  output wire channel_up, output wire lane_up, output wire hard_err, output wire soft_err);
endmodule
"""


@pytest.mark.skipif(shutil.which("verilator") is None and not os.environ.get("CI"), reason="verilator not installed")
@pytest.mark.parametrize("width", [64, 512])
def test_generated_aurora_transport_kernels_lint_with_the_credit_bridge(tmp_path, width):
    """Each generated Aurora transport kernel (asymap_xport + asymap_ufc_credit + the core) with the
    rtl/ files copied beside it elaborates under verilator -Wall against a port stub of the core; the
    waivers: the core's outputs the kernel does not use and the tied-off direction stay open."""
    import subprocess

    out = _tree(tmp_path, width)
    kernels = sorted(out.glob("*/transport/asymap_xport_aurora_*.v"))
    assert len(kernels) == 2
    stub = tmp_path / "aurora_stub.v"
    stub.write_text(AURORA_STUB)
    for k in kernels:
        text = k.read_text()
        assert "asymap_xport #(" in text and "asymap_ufc_credit" in text
        rtl = sorted((k.parent / "rtl").glob("*.v"))
        assert {p.name for p in rtl} == set(BRIDGE_RTL)
        p = subprocess.run(["verilator", "--lint-only", "-Wall", "-Wno-DECLFILENAME", "-Wno-PINCONNECTEMPTY",
                            "-Wno-UNUSEDSIGNAL", "--top-module", k.stem, str(k), *map(str, rtl), str(stub)],
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 0 and "%Warning" not in p.stderr, (k.name, p.stderr)


def test_memories_and_the_tops_masters_must_match(tmp_path):
    """Every AXI4 master of the top is served by a memory of dut.json and every memory names one
    of the top's masters; a wrong description is a one-line reason, before any simulation."""
    from asymap.verify.rtl import unserved_masters

    v = tmp_path / "top_x.v"
    mems = [{"arg": "wmem", "prefix": "m_axi_gmem0"}, {"arg": "wpre", "prefix": "m_axi_gmem1"}]
    v.write_text(standin("top_x", bytes(range(16))))
    assert unserved_masters({"toplevel": "top_x", "memories": mems}, [v]) == ""
    assert unserved_masters({"toplevel": "top_x", "memories": mems[:1]}, [v]).startswith(
        "m_axi_gmem1 of top_x served by no memory of dut.json")
    v.write_text(standin("top_x"))  # no preloaded layer: no gmem1
    assert unserved_masters({"toplevel": "top_x", "memories": mems[:1]}, [v]) == ""
    assert unserved_masters({"toplevel": "top_x", "memories": mems}, [v]) == (
        "dut.json serves m_axi_gmem1, which top_x does not have; re-run asymap generate")
