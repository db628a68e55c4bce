"""`asymap verify --rtl` on a board built as one kernel per SLR (codegen/segment_slr.py): the board's
generated cocotb test drives a top that joins the kernels' exported RTL as `v++ --link` joins the
compute units (asymap.verify.slr_sim: per stream a register slice per SLR boundary crossed and the
stream_connect FIFO of its depth), link-in frames in, link-out frames compared bit for bit under
random backpressure. Vitis is not here, so the kernels are stand-ins with the HLS interface naming:
the host-started kernel takes ap_start over AXI4-Lite and reads its weights' first word over m_axi
(tests/deploy/hls_standin.v), every kernel forwards the frames on one of its crossing streams and
leaves the others idle, in the non-ANSI, parameter-width style Vitis HLS writes. Wrong weights, a
kernel without exported RTL and a stream whose ends differ are caught."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import onnx
import pytest

from asymap.codegen.project import generate
from asymap.errors import UserError
from asymap.frontend.zoo import build_zoo_model
from asymap.verify.slr_sim import Port, module_ports, render_slr_sim
from clusters_yaml import SLR_PAIR
from hls_standin import MAGIC, standin

HERE = Path(__file__).resolve().parent
pytestmark = [pytest.mark.cocotb,
              pytest.mark.skipif(shutil.which("iverilog") is None and not os.environ.get("CI"),
                                 reason="Icarus Verilog (iverilog) not installed")]

CLUSTER = SLR_PAIR
WEIGHTS = {1: "preload", 2: "offchip"}
SIDE = {"TDATA": 64, "TKEEP": 8, "TSTRB": 8, "TLAST": 1}  # the stand-ins' streams: link beats, side channels


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """tiny over a U280 (layers in SLRs 0,1,1,2, the residual tensor crossing two boundaries; layer 1
    preloaded into URAM, layer 2 streamed from off-chip memory, so the first kernel has both memory
    masters) and a U250 in one SLR; 64-bit link beats everywhere, so a stand-in forwards its link-in
    frames."""
    d = tmp_path_factory.mktemp("slrrtl")
    onnx.save(build_zoo_model("tiny", input_size=32, width_mult=1.0, seed=0), str(d / "tiny.onnx"))
    (d / "c.yaml").write_text(CLUSTER)
    slrs = {"a280": [0, 1, 1, 2], "a250": [0] * 5}
    boards = []
    for name, (a, b) in {"a280": (0, 3), "a250": (4, 8)}.items():
        boards.append({"name": name, "first_layer": a, "last_layer": b,
                       "layers": [{"index": i, "factors": {"pe": 2, "simd": 2}, "weights": WEIGHTS.get(i, "onchip"),
                                   "slr": s} for i, s in zip(range(a, b + 1), slrs[name])]})
    plan = {"schema": 1, "boards": boards, "links": [{"from": "a280", "to": "a250", "width_bits": 64}]}
    (d / "plan.json").write_text(json.dumps(plan))
    generate(d / "tiny.onnx", d / "c.yaml", d / "out", plan=d / "plan.json", quiet=True)
    return d / "out"


def _fresh(tree: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(tree, out, ignore=shutil.ignore_patterns(".build"))
    return out


def _ports_of(streams: list[dict], kernel: str) -> tuple[list[str], list[str]]:
    """A kernel's crossing ports: the ones it reads, the ones it writes (chain.json slr.streams)."""
    ins = [x["to"].split(".")[1] for x in streams if x["to"].split(".")[0] == kernel]
    outs = [x["from"].split(".")[1] for x in streams if x["from"].split(".")[0] == kernel]
    return ins, outs


def _non_ansi(module: str, ins: list[str], outs: list[str], fwd: tuple[str, str]) -> str:
    """A free-running kernel stand-in in Vitis HLS's style (port list, parameters, then non-ANSI
    declarations with parameter widths): ``fwd`` = (input port, output port) it forwards."""
    names, decls, body = ["ap_clk", "ap_rst_n"], ["input   ap_clk;", "input   ap_rst_n;"], []
    for direction, ports in (("input", ins), ("output", outs)):
        for p in ports:
            for sig, w in SIDE.items():
                names.append(f"{p}_{sig}")
                width = {"TDATA": "[C_W - 1:0] ", "TKEEP": "[(C_W / 8) - 1:0] ", "TSTRB": "[C_S - 1:0] "}.get(sig, "")
                decls.append(f"{direction}  {width}{p}_{sig};")
            names += [f"{p}_TVALID", f"{p}_TREADY"]
            decls += [f"{direction}   {p}_TVALID;", f"{'output' if direction == 'input' else 'input'}   {p}_TREADY;"]
    src, dst = fwd
    for p in ins:
        body.append(f"assign {p}_TREADY = " + (f"{dst}_TREADY;" if p == src else "1'b1;"))
    for p in outs:
        if p == dst:
            body += [f"assign {p}_{s} = {src}_{s};" for s in SIDE] + [f"assign {p}_TVALID = {src}_TVALID;"]
        else:
            body += [f"assign {p}_{s} = 0;" for s in SIDE] + [f"assign {p}_TVALID = 1'b0;"]
    body.append("wire unused = &{1'b0, ap_clk, ap_rst_n};")
    return ("`timescale 1ns/1ps\n"
            f"module {module} (\n        " + ",\n        ".join(names) + "\n);\n\n"
            "parameter    C_W = 64;\nparameter C_S = (C_W / 8);\n\n" + "\n".join(decls) + "\n\n"
            + "\n".join(body) + "\n\nendmodule\n")


def _stand_in(out: Path, board: str, path: list[str], magic_ok: bool = True, skip: str | None = None) -> list[dict]:
    """Write stand-in exports for every kernel of ``board`` (but ``skip``): the frames travel along
    ``path``, a list of the board's streams that leads from the first kernel to the last. The first
    kernel reads the board's start-up image (weights/wpre.bin) through its m_axi_gmem1."""
    entry = next(b for b in json.loads((out / "chain.json").read_text())["boards"] if b["dir"] == board)
    kernels, streams = entry["slr"]["kernels"], entry["slr"]["streams"]
    hop = {x["stream"]: x for x in streams}
    via = [hop[s] for s in path]
    assert via[0]["from"].split(".")[0] == kernels[0]["kernel"] and via[-1]["to"].split(".")[0] == kernels[-1]["kernel"]
    for k in kernels:
        name = k["kernel"]
        if name == skip:
            continue
        ins, outs = _ports_of(streams, name)
        # a kernel off the frames' path (None, None) only drains its inputs and leaves its outputs idle
        src = "link_in" if name == kernels[0]["kernel"] else next((x["to"].split(".")[1] for x in via
                                                                   if x["to"].startswith(name + ".")), None)
        dst = "link_out" if name == kernels[-1]["kernel"] else next((x["from"].split(".")[1] for x in via
                                                                     if x["from"].startswith(name + ".")), None)
        rtl = out / board / k["work_dir"] / "hls" / "syn" / "verilog"
        rtl.mkdir(parents=True, exist_ok=True)
        if name == kernels[0]["kernel"]:  # the host-started kernel: hls_standin.v, its link_out on `dst`
            text = standin(name, (out / board / "weights" / "wpre.bin").read_bytes()).replace("link_out_", f"{dst}_")
            extra = [p for p in outs if p != dst]
            decl = "".join(f"    output wire [{w - 1}:0] {p}_{s},\n" if w > 1 else f"    output wire {p}_{s},\n"
                           for p in extra for s, w in SIDE.items())
            decl += "".join(f"    output wire {p}_TVALID,\n    input  wire {p}_TREADY,\n" for p in extra)
            text = text.replace(f"module {name} (\n", f"module {name} (\n{decl}", 1)
            idle = "".join(f"    assign {p}_{s} = 0;\n" for p in extra for s in SIDE)
            idle += "".join(f"    assign {p}_TVALID = 1'b0;\n" for p in extra)
            text = text.replace("endmodule", idle + "endmodule", 1)  # the top's (its reader module follows)
            (rtl / f"{name}.v").write_text(text)
            (rtl / f"{name}_control_s_axi.v").write_text((HERE / "hls_standin_control_s_axi.v").read_text())
        else:
            (rtl / f"{name}.v").write_text(_non_ansi(name, ins, outs + ["link_out"] * (dst == "link_out"), (src, dst)))
    magic = (MAGIC if magic_ok else 0x1111).to_bytes(8, "little")
    (out / board / "weights").mkdir(exist_ok=True)
    (out / board / "weights" / "wmem.bin").write_bytes(magic + bytes(56))
    cocotb = out / board / "cocotb" / "dut.json"
    dut = json.loads(cocotb.read_text())
    dut["outputs"][0]["frames"] = dut["inputs"][0]["frames"]  # the stand-ins forward what they receive
    cocotb.write_text(json.dumps(dut))
    return streams


def _line(stdout: str, name: str) -> list[str]:
    return next(ln.split() for ln in stdout.splitlines() if ln.split()[:1] == [name])


def test_split_board_has_a_harness_over_its_kernels(tree):
    chain = json.loads((tree / "chain.json").read_text())
    a280 = chain["boards"][0]
    assert [k["kernel"] for k in a280["slr"]["kernels"]] == ["top_a280", "top_a280_slr1", "top_a280_slr2"]
    assert "a280/cocotb" in chain["deploy"]["cocotb"] and "a250/cocotb" in chain["deploy"]["cocotb"]
    dut = json.loads((tree / "a280" / "cocotb" / "dut.json").read_text())
    assert dut["toplevel"] == "asymap_slr_sim"
    assert [(m["arg"], m["prefix"]) for m in dut["memories"]] == [("wmem", "m_axi_gmem0"), ("wpre", "m_axi_gmem1")]
    assert [k["sources"][0] for k in dut["kernels"]] == [f"../{k['work_dir']}/hls/syn/verilog/*.v"
                                                         for k in a280["slr"]["kernels"]]
    slr = {k["kernel"]: k["slr"] for k in a280["slr"]["kernels"]}
    for x, y in zip(dut["streams"], a280["slr"]["streams"]):
        assert (x["from"], x["to"], x["depth"]) == (y["from"], y["to"], y["depth"])
        assert x["boundaries"] == slr[x["to"].split(".")[0]] - slr[x["from"].split(".")[0]] >= 1
    assert max(x["boundaries"] for x in dut["streams"]) == 2  # the verdict (and the residual) go SLR0 -> SLR2
    # the one-SLR board keeps its one-kernel harness, unchanged
    assert "kernels" not in json.loads((tree / "a250" / "cocotb" / "dut.json").read_text())


@pytest.mark.parametrize("route", ["every kernel", "first to last"])
def test_split_board_harness_passes_frames_through_its_kernels(tree, tmp_path, run_cli, route):
    """The frames go through every kernel (SLR0 -> SLR1 -> SLR2, one boundary per stream; the
    second hop's connect FIFO is 16 deep) or straight from the first kernel to the last (the
    verdict's stream: two boundaries, 6 slice stages, a 36-deep FIFO); both pass, and the joining
    top has each stream's depth and slices."""
    out = _fresh(tree, tmp_path)
    streams = json.loads((out / "chain.json").read_text())["boards"][0]["slr"]["streams"]
    order = {"top_a280": 0, "top_a280_slr1": 1, "top_a280_slr2": 2}
    if route == "every kernel":
        path = [next(x["stream"] for x in streams if order[x["from"].split(".")[0]] == i
                     and order[x["to"].split(".")[0]] == i + 1) for i in (0, 1)]
    else:
        path = ["img_bad"]
    _stand_in(out, "a280", path)
    p = run_cli("verify", "--rtl", out, "--quiet")
    assert p.returncode == 0, p.stdout + p.stderr
    assert _line(p.stdout, "a280")[1] == "passed", p.stdout
    assert _line(p.stdout, "a250")[1] == "no-rtl" and _line(p.stdout, "link_a280_a250")[1] == "passed"
    assert p.stdout.splitlines()[-1] == "PASS: 2 of 2 RTL harness(es) passed, 1 without RTL yet"
    build = next((out / ".build" / "cocotb").glob("a280_cocotb"))
    top = (build / "slr_sim.v").read_text()
    for k, x in enumerate(streams):
        n = 3 * (order[x["to"].split(".")[0]] - order[x["from"].split(".")[0]])
        assert f"asymap_axis_slice #(.DATA_W(81), .STAGES({n})) slice_{k} " in top, x
        assert f"asymap_axis_fifo #(.DATA_W(81), .DEPTH({max(2, x['depth'])})) connect_{k} " in top, x
    for port in ("m_axi_gmem0_ARVALID", "m_axi_gmem1_ARVALID", "m_axi_gmem1_RDATA"):  # the first kernel's
        assert f"wire {port}" in top or f"wire [63:0] {port}" in top, port      # masters: ports of the top
    log = (build / "sim.log").read_text()
    wpre = (out / "a280" / "weights" / "wpre.bin").read_bytes()
    assert f"m_axi_gmem1 (wpre): {len(wpre)} bytes read in {len(wpre) // 8} beats" in log
    frames = sum(1 for ln in log.splitlines() if "link_out: frame" in ln and "equal" in ln)
    from asymap.codegen.framefile import split_beats

    _, last = split_beats((out / "a280" / "vectors" / "link_in.frames").read_bytes(), 64)
    assert frames == sum(last) > 1


def test_split_board_harness_catches_wrong_weights_and_missing_kernels(tree, tmp_path, run_cli):
    out = _fresh(tree, tmp_path)
    _stand_in(out, "a280", ["img_bad"], magic_ok=False)  # the first kernel inverts the data
    p = run_cli("verify", "--rtl", out)
    assert p.returncode == 1 and _line(p.stdout, "a280")[1] == "failed", p.stdout + p.stderr
    out2 = _fresh(tree, tmp_path / "b")
    _stand_in(out2, "a280", ["img_bad"], skip="top_a280_slr1")  # one kernel not exported yet
    p = run_cli("verify", "--rtl", out2)
    assert p.returncode == 0 and _line(p.stdout, "a280")[1] == "no-rtl", p.stdout + p.stderr
    out3 = _fresh(tree, tmp_path / "c")
    _stand_in(out3, "a280", ["img_bad"])
    wpre = out3 / "a280" / "weights" / "wpre.bin"
    bad = bytearray(wpre.read_bytes())
    bad[-3] ^= 0x01  # the start-up image served is not the one built (its last word)
    wpre.write_bytes(bad)
    p = run_cli("verify", "--rtl", out3)
    assert p.returncode == 1 and _line(p.stdout, "a280")[1] == "failed", p.stdout + p.stderr


def test_module_ports_read_vitis_style_verilog(tmp_path):
    """Non-ANSI declarations whose widths are expressions of the module's parameters (Vitis HLS
    writes ``[C_S_AXI_CONTROL_ADDR_WIDTH - 1:0]``, ``(32 / 8)``), and ANSI ones."""
    v = tmp_path / "k.v"
    v.write_text("module other (input wire x);\nendmodule\n"
                 "module top_k (\n        ap_clk,\n        ap_rst_n,\n        a_TDATA,\n        s_axi_control_WSTRB,\n"
                 "        a_TVALID\n);\n\nparameter    C_S_AXI_CONTROL_DATA_WIDTH = 32;\n"
                 "parameter C_S_AXI_CONTROL_WSTRB_WIDTH = (32 / 8);\nparameter C_W = 8'd72;\n"
                 "input   ap_clk;\ninput   ap_rst_n;\noutput  [C_W - 1:0] a_TDATA;\n"
                 "input  [C_S_AXI_CONTROL_WSTRB_WIDTH - 1:0] s_axi_control_WSTRB;\noutput   a_TVALID;\n"
                 "reg [7:0] inner;\nendmodule\n"
                 "module ansi #(parameter integer W = 16) (\n    input  wire [W-1:0] d,\n    output reg  [2*W-1:0] q\n);\n"
                 "endmodule\n")
    assert module_ports([v], "top_k") == [Port("ap_clk", "input", 1), Port("ap_rst_n", "input", 1),
                                          Port("a_TDATA", "output", 72), Port("s_axi_control_WSTRB", "input", 4),
                                          Port("a_TVALID", "output", 1)]
    assert module_ports([v], "ansi") == [Port("d", "input", 16), Port("q", "output", 32)]
    with pytest.raises(UserError, match="module top_z not found"):
        module_ports([v], "top_z")


def test_streams_whose_ends_differ_are_refused():
    clk = [Port("ap_clk", "input", 1), Port("ap_rst_n", "input", 1)]
    a = clk + [Port("c0_out_TDATA", "output", 64), Port("c0_out_TVALID", "output", 1), Port("c0_out_TREADY", "input", 1)]
    b = clk + [Port("c0_in_TDATA", "input", 72), Port("c0_in_TVALID", "input", 1), Port("c0_in_TREADY", "output", 1)]
    s = [{"stream": "t", "from": "ka.c0_out", "to": "kb.c0_in", "depth": 4, "boundaries": 1}]
    with pytest.raises(UserError, match=re.escape("stream t: ka.c0_out and kb.c0_in differ")):
        render_slr_sim("b", [("ka", a), ("kb", b)], s, "test")
    with pytest.raises(UserError, match="has no AXI4-Stream port c0_in"):
        render_slr_sim("b", [("ka", a), ("kb", clk)], s, "test")
    b[2] = Port("c0_in_TDATA", "input", 64)
    top = render_slr_sim("b", [("ka", a), ("kb", b)], s, "test")
    assert "asymap_axis_fifo #(.DATA_W(64), .DEPTH(4)) connect_0" in top and "STAGES(3)" in top
    assert "module asymap_slr_sim (\n    input wire ap_clk,\n    input wire ap_rst_n\n);" in top
    # a memory master on two kernels: the harness serves one AXI RAM per argument on the first kernel
    gmem = [Port("m_axi_gmem1_ARVALID", "output", 1), Port("m_axi_gmem1_ARREADY", "input", 1)]
    with pytest.raises(UserError, match="m_axi_gmem1 is a memory master of more than one kernel"):
        render_slr_sim("b", [("ka", a + gmem), ("kb", b + gmem)], s, "test")
    # an output both kernels have (Vitis HLS's ap_local_deadlock, say) becomes one top port per kernel
    flag = Port("ap_local_deadlock", "output", 1)
    top = render_slr_sim("b", [("ka", a + [flag]), ("kb", b + [flag])], s, "test")
    assert "output wire ka__ap_local_deadlock," in top and "output wire kb__ap_local_deadlock\n" in top
    assert ".ap_local_deadlock(ka__ap_local_deadlock)" in top and ".ap_local_deadlock(kb__ap_local_deadlock)" in top
