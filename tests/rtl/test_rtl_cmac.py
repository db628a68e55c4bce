"""The credit return over 100G Ethernet (rtl/asymap_cmac_credit.v) between two boards' transports,
under a model of two CMACs and the cable (tb_cmac.py): a slow consumer loses no frame with credits
and does without them; credit packets interleave with data packets on a full-duplex link; lost or
bad-FCS credit packets are made good by the next absolute credit word (periodic refresh); foreign
packets are dropped; no packet has a TVALID gap or is a runt."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest

from rtl_harness import HAVE_ICARUS, HERE, run_cocotb
from asymap.codegen.rtl_glue import RTL_DIR

pytestmark = [pytest.mark.cocotb,
              pytest.mark.skipif(not HAVE_ICARUS and not os.environ.get("CI"), reason="Icarus Verilog (iverilog) not installed")]

SOURCES = [RTL_DIR / n for n in ("asymap_async_fifo.v", "asymap_axis_width.v", "asymap_bridge_tx.v",
                                 "asymap_bridge_rx.v", "asymap_xport.v", "asymap_cmac_credit.v")]


def run_cmac(tmp_path, *, kw=512, frames=40, max_beats=24, sink_stall=0.9, duplex=False, credit_link=1,
             rx_addr_w=6, pkt_addr_w=5, idle_cycles=2048, seed=1, **extra) -> dict:
    cfg = {"kw": kw, "frames": frames, "max_beats": max_beats, "sink_stall": sink_stall, "duplex": duplex,
           "seed": seed, "latency_cycles": 60, "mac_stall": 0.1, "rx_gap": 0.1, "timeout_cycles": 300_000, **extra}
    params = {"KW": kw, "RX_ADDR_W": rx_addr_w, "PKT_ADDR_W": pkt_addr_w, "SPACING": 16, "KEEPALIVE": 256,
              "IDLE_CYCLES": idle_cycles, "CREDIT_LINK": credit_link}
    run_cocotb(tmp_path / "sim", SOURCES + [HERE / "tb_cmac_top.v"], "tb_cmac_top", "tb_cmac", config=cfg,
               parameters=params)
    return json.loads((tmp_path / "sim" / "stats.json").read_text())


@pytest.mark.parametrize("kw", [512, 128])
def test_slow_consumer_loses_no_frame_with_cmac_credits(tmp_path, kw):
    """Receiving kernel ready 1 cycle in 10, a 64-entry receive buffer: the sender waits for the
    credit packets, every frame arrives unchanged, nothing overflows."""
    s = run_cmac(tmp_path, kw=kw, max_beats=24 if kw == 512 else 60)
    assert s["equal"]["b"] and s["overflow"]["b"] == 0
    assert s["credit_stalls"]["a"] > 0, "the sender never waited for credits"
    assert s["credit_packets"]["b"] > 10 and s["credit_updates_received"]["a"] == s["credit_packets"]["b"]


@pytest.mark.parametrize("kw", [512, 1024])
def test_frames_longer_than_a_packet_travel_in_pieces(tmp_path, kw):
    """Packets of at most 8 body beats (PKT_ADDR_W=3) carry frames of up to 40 kernel beats: each
    frame is cut into several packets, the header flag marks the piece that ends it, and the
    receiver restores the frame boundaries exactly."""
    s = run_cmac(tmp_path, kw=kw, pkt_addr_w=3, max_beats=40 if kw == 512 else 20, frames=30, sink_stall=0.7)
    assert s["equal"]["b"] and s["overflow"]["b"] == 0
    assert s["data_packets"]["a"] > 2 * 30


def test_full_rate_with_128_beat_packets(tmp_path):
    """No stalls anywhere, frames of 258 beats (the HLS kernels' longest at 512 bits), the generated
    packet size (PKT_ADDR_W=7), a receive buffer sized as the generator sizes it and a sending
    kernel clock (400 MHz) above the MAC's, so the packetizer is the limit: the MAC's user side
    carries a frame beat in at most 1.05 cycles (3 header beats per 258-beat frame, plus the
    store-and-forward turn-around), far above the 100G line's share of the 322 MHz x 512-bit
    interface (about 0.6), so packetizing costs no throughput."""
    s = run_cmac(tmp_path, frames=12, max_beats=258, sink_stall=0.0, pkt_addr_w=7, rx_addr_w=10, mac_stall=0.0,
                 rx_gap=0.0, skip_beats=300, fixed_beats=True, ka_ps=2500)
    assert s["equal"]["b"] and s["overflow"]["b"] == 0
    assert s["cycles_per_beat"] <= 1.05, s["cycles_per_beat"]


@pytest.mark.parametrize("credits", [True, False])
def test_without_the_credit_packets_the_slow_consumer_loses_frames(tmp_path, credits):
    """The same slow consumer with a short idle resync (512 MAC cycles, less than the consumer needs
    to drain the 64-entry buffer): with the credit packets every frame arrives; with the received
    credit words cut (CREDIT_LINK=0) the sender only has the idle resync, the receive buffer
    overflows and frames are lost -- the credit packets are what prevents it."""
    s = run_cmac(tmp_path, credit_link=int(credits), idle_cycles=512, expect_loss=not credits, quiet_cycles=6000)
    if credits:
        assert s["equal"]["b"] and s["overflow"]["b"] == 0
    else:
        assert s["overflow"]["b"] > 0 and not s["equal"]["b"]


def test_credit_packets_interleave_with_data_on_a_full_duplex_link(tmp_path):
    """Both boards send frames and both consume slowly: each TX carries its own data packets and the
    credit packets for the other direction; both directions arrive complete, no overflow."""
    s = run_cmac(tmp_path, duplex=True, frames=30, sink_stall=0.8)
    assert s["equal"] == {"a": True, "b": True} and s["overflow"] == {"a": 0, "b": 0}
    assert min(s["data_packets"].values()) == 30 and min(s["credit_packets"].values()) > 5


@pytest.mark.parametrize("loss", ["drop", "bad_fcs"])
def test_lost_credit_packets_are_made_good_by_the_next_absolute_count(tmp_path, loss):
    """Every 3rd credit packet is dropped (or arrives with a bad FCS, rx_axis_tuser = 1, and is
    ignored): the credit word is an absolute count refreshed at least every KEEPALIVE cycles, so
    the next one restores the sender's view -- no frame lost, no overflow, no hang."""
    key = "drop_credit_every" if loss == "drop" else "corrupt_credit_every"
    s = run_cmac(tmp_path, **{key: 3})
    assert s["equal"]["b"] and s["overflow"]["b"] == 0
    assert s["lost_credits" if loss == "drop" else "corrupted_credits"] > 5
    assert s["credit_updates_received"]["a"] < s["credit_packets"]["b"]


def test_foreign_packets_are_dropped_and_counted(tmp_path):
    """Other EtherTypes on the cable (here an IPv4 packet after every 4th packet) are dropped by the
    receiving side and counted; the frames are unaffected."""
    s = run_cmac(tmp_path, sink_stall=0.5, foreign_every=4)
    assert s["equal"]["b"] and s["foreign"]["b"] > 3 and s["rx_dropped"]["b"] == s["foreign"]["b"]


@pytest.mark.parametrize("kw,max_beats", [(512, 24), (1024, 12), (128, 60)])
def test_long_consumer_stalls_mid_frame_lose_nothing(tmp_path, kw, max_beats):
    """The receiving kernel stops for 3000 kernel cycles at a time, longer than the sender's idle
    resync (2048 MAC cycles), while the sender holds part of a frame in its packet FIFO: the
    resync must count those held beats as in flight (asymap_cmac_credit adds them to the
    written count it reports), or the far buffer overflows when the frame completes. Kernel wider
    than the link (1024 bits: two link beats per far entry) and narrower (128 bits) too."""
    s = run_cmac(tmp_path, kw=kw, sink_stall=0.5, sink_bursts=[150, 3000], frames=30, max_beats=max_beats)
    assert s["equal"]["b"] and s["overflow"]["b"] == 0


CMAC_STUB = """
/* verilator lint_off UNDRIVEN */
/* verilator lint_off UNUSEDSIGNAL */
// Port list of cmac_usplus_0 (CAUI-4, AXI4-Stream user interface) as PG203 names the ports the kernel
// uses; a stub only for lint.
module cmac_usplus_0 (input wire [3:0] gt_rxp_in, input wire [3:0] gt_rxn_in, output wire [3:0] gt_txp_out,
  output wire [3:0] gt_txn_out, input wire gt_ref_clk_p, input wire gt_ref_clk_n, input wire init_clk,
  input wire sys_reset, input wire drp_clk, output wire gt_txusrclk2, input wire rx_clk,
  input wire [11:0] gt_loopback_in, input wire core_rx_reset, input wire core_tx_reset, input wire core_drp_reset,
  input wire [511:0] tx_axis_tdata, input wire [63:0] tx_axis_tkeep, input wire tx_axis_tlast,
  input wire tx_axis_tvalid, output wire tx_axis_tready, input wire tx_axis_tuser, input wire [55:0] tx_preamblein,
  output wire [511:0] rx_axis_tdata, output wire [63:0] rx_axis_tkeep, output wire rx_axis_tlast,
  output wire rx_axis_tvalid, output wire rx_axis_tuser, input wire ctl_tx_enable, input wire ctl_tx_send_idle,
  input wire ctl_tx_send_rfi, input wire ctl_tx_send_lfi, input wire ctl_tx_test_pattern, input wire ctl_rx_enable,
  input wire ctl_rx_force_resync, input wire ctl_rx_test_pattern, output wire stat_rx_aligned);
endmodule
"""


@pytest.mark.skipif(shutil.which("verilator") is None and not os.environ.get("CI"), reason="verilator not installed")
@pytest.mark.parametrize("width", [512, 1024])
def test_generated_cmac_transport_kernels_lint_with_the_credit_path(tmp_path, width):
    """A 100G link between two Alveo boards: each generated CMAC transport kernel instantiates
    asymap_cmac_credit (no credit word tied to 0 any more) with packets under the MAC's default
    9600-byte maximum and a receive buffer that holds a packet body, and elaborates under
    verilator -Wall against a port stub of the core."""
    out = _cmac_tree(tmp_path, width)
    kernels = sorted(out.glob("*/transport/asymap_xport_cmac_*.v"))
    assert len(kernels) == 2
    stub = tmp_path / "cmac_stub.v"
    stub.write_text(CMAC_STUB)
    rx_pack = max(1, width // 512)
    for k in kernels:
        text = k.read_text()
        assert "asymap_cmac_credit #(" in text and "32'd0" not in text
        pkt = int(re.search(r"\.PKT_ADDR_W\((\d+)\)", text).group(1))
        assert (2 ** pkt + 1) * 64 <= 9600
        assert 2 ** int(re.search(r"\.RX_ADDR_W\((\d+)\)", text).group(1)) >= 2 ** pkt // rx_pack + 64
        assert f".RX_PACK({rx_pack})" in text
        rtl = sorted((k.parent / "rtl").glob("*.v"))
        p = subprocess.run(["verilator", "--lint-only", "-Wall", "-Wno-DECLFILENAME", "-Wno-PINCONNECTEMPTY",
                            "-Wno-UNUSEDSIGNAL", "--top-module", k.stem, str(k), *map(str, rtl), str(stub)],
                           capture_output=True, text=True, timeout=300)
        assert p.returncode == 0 and "%Warning" not in p.stderr, (k.name, p.stderr)


def _cmac_tree(tmp_path, width: int):
    import onnx

    from asymap.codegen.project import generate
    from asymap.frontend.zoo import build_zoo_model

    model = tmp_path / "tiny.onnx"
    onnx.save(build_zoo_model("tiny", input_size=16, width_mult=1.0, seed=0), str(model))
    (tmp_path / "c.yaml").write_text("boards:\n  - {name: big, type: u250}\n  - {name: small, type: u280}\n"
                                     "links:\n  - {a: big, b: small, gbps: 100, latency_ns: 500}\n")
    plan = {"schema": 1, "boards": [
        {"name": "big", "first_layer": 0, "last_layer": 3,
         "layers": [{"index": i, "factors": {"pe": 2, "simd": 2}, "weights": "onchip"} for i in range(4)]},
        {"name": "small", "first_layer": 4, "last_layer": 8,
         "layers": [{"index": i, "factors": {"pe": 2, "simd": 2}, "weights": "onchip"} for i in range(4, 9)]}],
        "links": [{"from": "big", "to": "small", "width_bits": width}]}
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    generate(model, tmp_path / "c.yaml", tmp_path / "out", plan=tmp_path / "plan.json", quiet=True)
    return tmp_path / "out"


@pytest.mark.parametrize("busy,credits", [(0.4, True), (0.9, True), (0.9, False)])
def test_generated_cmac_link_harness_passes_frames_through_credit_packets(tmp_path, run_cli, busy, credits):
    """`asymap verify --rtl` on a 100G link: the generated harness puts asymap_cmac_credit at both
    ends (frames in data packets of 8-beat bodies, credits back in credit packets over the modelled
    cable, a 16-entry receive buffer) and the frames the receiving board expects arrive bit for bit,
    also with a slow consumer; with the credit words cut (CREDIT_LINK=0) the same run fails."""
    out = _cmac_tree(tmp_path, 512)
    d = out / "cocotb" / "link_big_small"
    assert "asymap_cmac_credit #(" in (d / "link_sim.v").read_text()
    dut = json.loads((d / "dut.json").read_text())
    assert dut["parameters"] == {"KW": 512, "CW": 512, "PKT_ADDR_W": 3, "RX_ADDR_W": 4}
    assert "rtl:asymap_cmac_credit.v" in dut["sources"]
    dut["outputs"][0]["busy"] = busy
    if not credits:
        dut["parameters"]["CREDIT_LINK"] = 0
    (d / "dut.json").write_text(json.dumps(dut))
    p = run_cli("verify", "--rtl", out)
    assert p.returncode == (0 if credits else 1), p.stdout + p.stderr
    state = "passed" if credits else "failed"
    assert any(ln.split()[:2] == ["link_big_small", state] for ln in p.stdout.splitlines()), p.stdout


@pytest.mark.skipif(shutil.which("verilator") is None and not os.environ.get("CI"), reason="verilator not installed")
@pytest.mark.parametrize("kw", [128, 512, 1024])
def test_cmac_link_harness_top_lints_clean(tmp_path, kw):
    """The generated two-board simulation top of a CMAC link (both transports with asymap_cmac_credit)
    under verilator -Wall; waivers as for the Aurora top (file names, open one-way ports)."""
    from asymap.codegen.deploy import BRIDGE_RTL
    from asymap.codegen.env import make_env

    ctx = {"version": "test", "a": type("B", (), {"ident": "a"}), "b": type("B", (), {"ident": "b"}),
           "kw": kw, "cw": 512, "core": "cmac"}
    (tmp_path / "sim.v").write_text(make_env().get_template("deploy/link_sim.v.j2").render(ctx))
    p = subprocess.run(["verilator", "--lint-only", "-Wall", "-Wno-DECLFILENAME", "-Wno-PINCONNECTEMPTY",
                        f"-I{RTL_DIR}", "--top-module", "asymap_link_sim", str(tmp_path / "sim.v"),
                        *(str(RTL_DIR / n) for n in BRIDGE_RTL)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0 and "%Warning" not in p.stderr, p.stderr
