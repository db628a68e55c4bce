"""The credit return over 100G Ethernet (rtl/asymap_cmac_credit.v) between two boards' transports,
under a model of two CMACs and the cable (tb_cmac.py): a slow consumer loses no frame with credits
and does without them; credit packets interleave with data packets on a full-duplex link; lost or
bad-FCS credit packets are made good by the next absolute credit word (periodic refresh); foreign
packets are dropped; no packet has a TVALID gap or is a runt."""

from __future__ import annotations

import json
import os

import pytest

from rtl_harness import HAVE_ICARUS, HERE, run_cocotb
from asymap.codegen.rtl_glue import RTL_DIR

pytestmark = [pytest.mark.cocotb,
              pytest.mark.skipif(not HAVE_ICARUS and not os.environ.get("CI"), reason="Icarus Verilog (iverilog) not installed")]

SOURCES = [RTL_DIR / n for n in ("asymap_async_fifo.v", "asymap_axis_width.v", "asymap_bridge_tx.v",
                                 "asymap_bridge_rx.v", "asymap_xport.v", "asymap_cmac_credit.v")]


def run_cmac(tmp_path, *, kw=512, frames=40, max_beats=24, sink_stall=0.9, duplex=False, credit_link=1,
             rx_addr_w=6, seed=1, **extra) -> dict:
    cfg = {"kw": kw, "frames": frames, "max_beats": max_beats, "sink_stall": sink_stall, "duplex": duplex,
           "seed": seed, "latency_cycles": 60, "mac_stall": 0.1, "rx_gap": 0.1, "timeout_cycles": 300_000, **extra}
    params = {"KW": kw, "RX_ADDR_W": rx_addr_w, "PKT_ADDR_W": 5, "SPACING": 16, "KEEPALIVE": 256,
              "IDLE_CYCLES": 2048, "CREDIT_LINK": credit_link}
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


def test_without_the_credit_packets_the_slow_consumer_loses_frames(tmp_path):
    """The same run with the received credit words cut (CREDIT_LINK=0): the receive buffer
    overflows and frames are lost -- the test above would fail without credits."""
    s = run_cmac(tmp_path, credit_link=0, expect_loss=True, quiet_cycles=6000)
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
