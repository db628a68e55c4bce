"""Images travel the plan's host path (issue 13, part 2): the host attaches to a board that is not
the first stage, so the chain holds *forwarding stations* (link rx -> link tx, no layers) from the
attach board to the first stage and from the last stage back. Each station is a generated project
of its own (the board templates with ``forward`` set), the C-simulation chains through every one
of them bit-exactly, the host program feeds and drains the attach board, and the build files
connect the movers there."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import onnx
import pytest

from asymap.codegen import framefile
from asymap.codegen.fifodepth import FIFO_SLACK
from asymap.codegen.project import generate
from asymap.errors import UserError
from asymap.frontend.zoo import build_zoo_model
from asymap.verify.runner import verify
from clusters_yaml import RELAY_LINE

HAVE_XRT = Path("/usr/include/xrt/xrt/xrt_device.h").is_file()
pytestmark = pytest.mark.csim
LINE = RELAY_LINE  # relay - left - right in a line; the host (pc) attaches to relay, which gets no layers


def _hop(a: str, b: str, gbps: float) -> dict:
    return {"from": a, "to": b, "gbps": gbps, "bytes_per_image": 0, "interval_s": 0.0, "latency_ns": 0.0,
            "shared": False}


def _plan(**host_path) -> dict:
    hp = {"attach": "relay", "host": "pc", "forwarding": ["relay"],
          "in": [_hop("pc", "relay", 64), _hop("relay", "left", 10)],
          "out": [_hop("right", "left", 100), _hop("left", "relay", 10), _hop("relay", "pc", 64)]}
    hp.update(host_path)
    return {"schema": 1, "host_path": hp, "boards": [
        {"name": n, "first_layer": a, "last_layer": b,
         "layers": [{"index": i, "factors": {"pe": 2, "simd": 2}} for i in range(a, b + 1)]}
        for n, (a, b) in (("left", (0, 2)), ("right", (3, 8)))]}


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("hostpath")
    onnx.save(build_zoo_model("tiny", input_size=16, width_mult=1.0, seed=0), str(d / "tiny.onnx"))
    (d / "line.yaml").write_text(LINE)
    (d / "plan.json").write_text(json.dumps(_plan()))
    generate(d / "tiny.onnx", d / "line.yaml", d / "out", plan=d / "plan.json", quiet=True)
    return d / "out"


def test_chain_holds_the_forwarding_stations_of_the_host_path(tree):
    chain = json.loads((tree / "chain.json").read_text())
    got = [(b["name"], b.get("forward"), b["first_layer"], b["last_layer"]) for b in chain["boards"]]
    assert [b.get("board", b["name"]) for b in chain["boards"]] == ["relay", "left", "right", "left", "relay"]
    assert set(chain["deploy"]["boards"]) == {"relay_fwd_in", "left", "right", "left_fwd_out", "relay_fwd_out"}
    # relay forwards both ways; left is a stage and forwards the result on its way back to relay.
    assert got == [("relay_fwd_in", "in", 0, -1), ("left", None, 0, 2), ("right", None, 3, 8),
                   ("left_fwd_out", "out", 9, 8), ("relay_fwd_out", "out", 9, 8)]
    links = [(ln["from"], ln["to"], ln["src_id"], ln["dst_id"], ln["width_bits"]) for ln in chain["links"]]
    # Each hop at its own line rate: 10G -> 64-bit beats, 100G -> 512-bit beats at the kernel clock.
    assert links == [("host", "relay", 255, 0, 64), ("relay", "left", 0, 1, 64), ("left", "right", 1, 2, 64),
                     ("right", "left", 2, 3, 512), ("left", "relay", 3, 4, 64), ("relay", "host", 4, 255, 64)]
    for st in ("relay_fwd_in", "left_fwd_out"):
        top = (tree / st / "top.cpp").read_text()
        # The stage's own link kernels, no segment; the unpacker feeds the packer directly.
        assert "forwarding station of the host path" in top and "segment" not in top
        assert "link_rx_image<cfg_link_in>" in top and "link_tx_image<cfg_link_out>" in top
        assert not (tree / st / "segment.cpp").exists()
        assert "SRCS = top.cpp" in (tree / st / "Makefile").read_text()


def test_csim_chains_through_the_forwarding_stations_bit_exactly(tree):
    res = verify(tree, jobs=1, quiet=True, fifo_slack=FIFO_SLACK)  # bounded FIFOs, minus their margin
    assert res.ok, res.first_problem
    assert [r.status for r in res.boards] == ["ok"] * 5
    assert [r.layers for r in res.boards][0] == "forward (in)"
    # What leaves the last station is the model's output, framed for the host.
    chain = json.loads((tree / "chain.json").read_text())
    last = chain["links"][-1]
    st = framefile.decode_file(tree / "relay_fwd_out" / "build" / "chain_out.frames", dst=255, width_bits=64)
    want = (tree / "right" / "vectors" / "expected_0.bin").read_bytes()
    assert bytes(st.payload[0])[:last["tensors"][0]["bytes"]] == want
    # A corrupted frame on the way in is caught by the forwarding station's receiver.
    bad = verify(tree, jobs=1, quiet=True, corrupt=("relay_fwd_in", 8 * 9 + 3))
    assert not bad.ok and bad.boards[0].status == "rx-error"


def test_each_station_has_its_own_csim_test(tree):
    """`make csim` in a station's directory runs its testbench on its own vectors (the Makefile a
    stage has, with top.cpp alone as the source); a wrong expected vector fails it."""
    from asymap.codegen.hlsinc import ap_types_dir

    d = tree / "left_fwd_out"  # 512-bit beats in, 64-bit beats out
    make = ["make", "-C", str(d), "csim", f"AP_TYPES_INC={ap_types_dir()}"]
    p = subprocess.run(make, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0 and "RESULT PASS" in p.stdout, p.stdout[-2000:] + p.stderr[-2000:]
    exp = d / "vectors" / "expected_0.bin"
    good = exp.read_bytes()
    try:
        exp.write_bytes(bytes([good[0] ^ 1]) + good[1:])
        p = subprocess.run(make, capture_output=True, text=True, timeout=600)
        assert p.returncode != 0 and "MISMATCH" in p.stdout
    finally:
        exp.write_bytes(good)


def test_movers_and_transports_follow_the_host_path(tree):
    # One link configuration per FPGA, in the board's first station: relay's two stations share one.
    cfg = {st: (tree / st / "connectivity.cfg").read_text() for st in ("relay_fwd_in", "left")}
    assert not (tree / "relay_fwd_out" / "connectivity.cfg").exists()
    assert not (tree / "left_fwd_out" / "connectivity.cfg").exists()
    assert "stream_connect=mm2s_1.out:top_relay_fwd_in_1.link_in" in cfg["relay_fwd_in"]
    assert "stream_connect=top_relay_fwd_out_1.link_out:s2mm_1.in" in cfg["relay_fwd_in"]
    assert "mm2s" not in cfg["left"] and "s2mm" not in cfg["left"]  # the stage takes its image from the link
    assert ".m_axis_rx:top_left_1.link_in" in cfg["left"]
    # Both directions of the relay <-> left cable: one bidirectional transport kernel on each end.
    assert "nk=asymap_xport_aurora_rxtx_w64:1:xport_qsfp0" in cfg["relay_fwd_in"]
    assert "xport_qsfp0.m_axis_rx:top_relay_fwd_out_1.link_in" in cfg["relay_fwd_in"]
    assert "top_relay_fwd_in_1.link_out:xport_qsfp0.s_axis_tx" in cfg["relay_fwd_in"]
    assert "nk=asymap_xport_aurora_rxtx_w64:1:xport_qsfp0" in cfg["left"]
    # One cable per cluster link: the stations of a board use the cage its other projects use for
    # the same peer (the link's other direction), never a cage of their own.
    port = {}
    for st in ("left", "left_fwd_out", "relay_fwd_in", "relay_fwd_out"):
        for t in json.loads((tree / st / "deploy.json").read_text())["transports"]:
            port.setdefault((st, t["role"]), t["port"])  # a linking station lists its own link ends first
    assert port["left", "in"] == port["left_fwd_out", "out"]  # left <-> relay
    assert port["left", "out"] == port["left_fwd_out", "in"] != port["left", "in"]  # left <-> right
    assert port["relay_fwd_in", "out"] == port["relay_fwd_out", "in"]
    chain = json.loads((tree / "chain.json").read_text())
    notes = chain["deploy"]["notes"]
    # Linked together, nothing left to do by hand: no note about the shared FPGAs or their cages.
    assert not any("FPGA" in n or "by hand" in n or "GT" in n for n in notes), notes
    assert "../left_fwd_out/hls_left_fwd_out/top_left_fwd_out.xo" in cfg["left"]
    dep = json.loads((tree / "left_fwd_out" / "deploy.json").read_text())
    assert dep["linked_by"] == "left" and all(k["origin"] == "hls" for k in dep["kernels"])


@pytest.mark.skipif(not HAVE_XRT and not os.environ.get("CI"), reason="libxrt-dev not installed")
def test_host_program_feeds_and_drains_the_attach_board(tree, tmp_path):
    chain = json.loads((tree / "chain.json").read_text())
    [h] = chain["deploy"]["hosts"]
    assert h["feeds"] and h["collects"] and h["boards"] == ["relay", "left", "right"]
    hdir = tree / h["dir"]
    src = (hdir / "host.cpp").read_text()
    # Three devices for five stations: a board's second station shares its device and xclbin.
    assert '{"relay_fwd_out", "relay", 0, 0, "relay_fwd_out", "relay_fwd_in.xclbin", "top_relay_fwd_out"' in src
    assert '{"left_fwd_out", "left", 1, 1, "left_fwd_out", "left.xclbin", "top_left_fwd_out"' in src
    p = subprocess.run(["make", "CXXFLAGS=-std=c++17 -O1 -Wall -Werror"], cwd=hdir, capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    dump = tmp_path / "in.frames"
    env = {k: v for k, v in os.environ.items() if k != "XILINX_XRT"}
    p = subprocess.run([str(hdir / "asymap_host"), "--dump-frames", str(dump)], cwd=hdir, capture_output=True,
                       text=True, timeout=60, env=env)
    assert p.returncode == 3 and p.stderr.startswith("asymap_host: XRT: "), p.stderr
    # The host frames for the attach board (destination: station 0), exactly its link-in vectors.
    assert dump.read_bytes() == (tree / "relay_fwd_in" / "vectors" / "link_in.frames").read_bytes()


def test_a_host_path_that_misses_the_pipeline_is_refused(tmp_path):
    onnx.save(build_zoo_model("tiny", input_size=16, width_mult=1.0, seed=0), str(tmp_path / "tiny.onnx"))
    (tmp_path / "line.yaml").write_text(LINE)
    for hp, msg in (({"in": [_hop("pc", "relay", 64), _hop("relay", "right", 10)]}, "does not lead from the host"),
                    ({"in": [_hop("pc", "relay", 64), _hop("relay", "ghost", 10), _hop("ghost", "left", 10)]},
                     "'ghost', which is not in the cluster"),
                    ({"out": [_hop("right", "relay", 1), _hop("relay", "pc", 64)]}, "right -> relay is not a link")):
        (tmp_path / "plan.json").write_text(json.dumps(_plan(**hp)))
        with pytest.raises(UserError, match=msg):
            generate(tmp_path / "tiny.onnx", tmp_path / "line.yaml", tmp_path / "out", plan=tmp_path / "plan.json",
                     quiet=True)
        assert not (tmp_path / "out").exists()


def test_build_steps_build_and_link_every_station(tree):
    """`asymap build` treats a station as a board: its HLS component is synthesized and the link
    step passes exactly the .xo files its connectivity.cfg instantiates (dry run)."""
    from asymap.build.runner import build

    cmds: dict[str, dict[str, list[str]]] = {}
    for step in ("csynth", "link"):
        lines: list[str] = []
        build(tree, step=step, dry_run=True, quiet=True, print_fn=lines.append)
        for ln in lines:
            cd, _, cmd = ln.partition(" && ")
            cmds.setdefault(step, {}).setdefault(Path(cd.split()[1]).name, []).append(cmd)
    for st in ("relay_fwd_in", "left_fwd_out", "relay_fwd_out"):
        assert f"v++ -c --mode hls --config hls_config.cfg --work_dir hls_{st}" in cmds["csynth"][st]
    # One v++ --link per FPGA, in its first station, with every station's kernels of that FPGA.
    assert sorted(cmds["link"]) == ["left", "relay_fwd_in", "right"]
    for st, others in (("relay_fwd_in", ["relay_fwd_out"]), ("left", ["left_fwd_out"])):
        dep = json.loads((tree / st / "deploy.json").read_text())
        (link,) = cmds["link"][st]
        xos = sorted(a for a in link.split() if a.endswith(".xo"))
        assert xos == sorted(k["artifact"] for k in dep["kernels"]), (st, link)
        for o in others:
            assert f"../{o}/hls_{o}/top_{o}.xo" in xos
            assert (tree / o / "deploy.json").is_file()
        assert f"-o {st}.xclbin" in link
    assert "../relay_fwd_out/hls_s2mm/asymap_s2mm.xo" in cmds["link"]["relay_fwd_in"][0]


@pytest.mark.skipif(shutil.which("verilator") is None and not os.environ.get("CI"), reason="verilator not installed")
def test_the_bidirectional_transport_kernel_elaborates(tree, tmp_path):
    """The ``rxtx`` kernel of a cage used both ways (relay <-> left, Aurora) has both kernel-side
    streams, each declared to v++ (kernel.xml, package Tcl), and elaborates under verilator -Wall
    with the rtl/ files beside it against the Aurora core's port stub."""
    from test_cocotb_harness import AURORA_STUB

    for st in ("relay_fwd_in", "left"):
        k = tree / st / "transport" / "asymap_xport_aurora_rxtx_w64.v"
        text = k.read_text()
        assert "output wire [63:0] m_axis_rx_tdata" in text and "input  wire [63:0] s_axis_tx_tdata" in text
        assert ".KW_RX(64)" in text and "s_axis_k_tdata(s_axis_tx_tdata)" in text
        xml = (k.parent / "asymap_xport_aurora_rxtx_w64.xml").read_text()
        assert '<port name="m_axis_rx"' in xml and '<port name="s_axis_tx"' in xml
        assert 'id="0" port="m_axis_rx"' in xml and 'id="1" port="s_axis_tx"' in xml
        tcl = (k.parent / "package_asymap_xport_aurora_rxtx_w64.tcl").read_text()
        assert "-busif m_axis_rx -clock ap_clk" in tcl and "-busif s_axis_tx -clock ap_clk" in tcl
        stub = tmp_path / "aurora_stub.v"
        stub.write_text(AURORA_STUB)
        rtl = sorted((k.parent / "rtl").glob("*.v"))
        p = subprocess.run(["verilator", "--lint-only", "-Wall", "-Wno-DECLFILENAME", "-Wno-PINCONNECTEMPTY",
                            "-Wno-UNUSEDSIGNAL", "--top-module", k.stem, str(k), *map(str, rtl), str(stub)],
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 0 and "%Warning" not in p.stderr, (k.name, p.stderr)
    # left <-> right is CMAC with a 64-bit link out and a 512-bit link back: one kernel, two widths.
    cmac = (tree / "left" / "transport" / "asymap_xport_cmac_rxtx_w64_r512.v").read_text()
    assert "output wire [511:0] m_axis_rx_tdata" in cmac and "input  wire [63:0] s_axis_tx_tdata" in cmac
    assert ".KW(64)" in cmac and ".KW_RX(512)" in cmac


def test_the_merged_link_is_stale_when_another_station_of_its_fpga_changes(tree):
    """`--resume` skips a link only while the inputs of every entry it links are older than its stamp."""
    from asymap.build.steps import is_up_to_date, stamp_path

    stamp = stamp_path(tree / "left", "link")
    stamp.parent.mkdir(parents=True, exist_ok=True)
    try:
        stamp.write_text("ok\n")
        newest = max(p.stat().st_mtime for d in ("left", "left_fwd_out") for p in (tree / d).rglob("*") if p.is_file())
        os.utime(stamp, (newest + 10, newest + 10))
        assert is_up_to_date(tree / "left", "link")
        top = tree / "left_fwd_out" / "top.cpp"
        os.utime(top, (newest + 20, newest + 20))
        assert not is_up_to_date(tree / "left", "link")
    finally:
        stamp.unlink(missing_ok=True)
