"""Credit words on the wire are charged (issue 12 item 2): where a link direction carries data and
its reverse direction does too, the reverse data's credit updates share this direction's line
(costmodel.credit_seconds, transport.charge_credits); Aurora's UFC keepalive takes its share of
every busy direction (costmodel.link_seconds ``credits``). The constants are the RTL's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import asymap
from asymap.linkproto import DEFAULT_MAX_PAYLOAD_BEATS, wire_beats
from asymap.partition import costmodel as cm

ROOT = Path(__file__).resolve().parents[2]


def _param(module: str, name: str) -> int:
    text = (ROOT / "rtl" / f"{module}.v").read_text()
    m = re.search(rf"parameter integer {name}\s*=\s*(\d+)", text)
    assert m, (module, name)
    return int(m.group(1))


def test_constants_are_the_rtls():
    assert cm.CMAC_CREDIT_SPACING == _param("asymap_cmac_credit", "SPACING")
    assert cm.UFC_SPACING == _param("asymap_ufc_credit", "SPACING")
    assert cm.UFC_KEEPALIVE == _param("asymap_ufc_credit", "KEEPALIVE")
    # a CMAC credit packet is the 64-byte header beat alone, + FCS, preamble/SFD and the minimum gap
    assert cm.CMAC_CREDIT_PACKET_BITS == 8 * (64 + 4 + 8 + 12)


def test_credit_rates():
    # CMAC: one 88-byte packet per 64 cycles of 322.27 MHz at most: 3.55 Gb/s, 3.5 % of 100G
    assert cm.credit_rate_share(100.0) * 100.0 == pytest.approx(704 * 322.265625e6 / 64 / 1e9)
    assert cm.credit_rate_share(100.0) == pytest.approx(0.03545, abs=1e-4)
    assert cm.credit_keepalive_share(100.0) == 0.0  # data headers carry the word
    # Aurora: a UFC message takes 2 blocks, at most every 32, at least every 1,024
    assert cm.credit_rate_share(10.0) == pytest.approx(2 / 32)
    assert cm.credit_keepalive_share(10.0) == pytest.approx(2 / 1024)


def test_credit_seconds_is_the_smaller_bound():
    msg = 704 / 100e9
    # few reverse entries: two updates per entry, plus one
    assert cm.credit_seconds(100.0, 1e-3, 18) == pytest.approx(37 * msg)
    # many: the spacing bounds them to the rate share of the busy time
    share = cm.credit_rate_share(100.0)
    assert cm.credit_seconds(100.0, 1e-5, 10**6) == pytest.approx((share * 1e-5 + msg) / (1 - share))
    # data plus credits never exceed the data at the line rate reduced by the share (+ one update)
    for data_s in (1e-7, 1e-6, 1e-4):
        for n in (0, 10, 1000, 10**7):
            assert cm.credit_seconds(100.0, data_s, n) <= (share * data_s + msg) / (1 - share) + 1e-18


def test_aurora_keepalive_in_link_seconds():
    import numpy as np

    beats = np.array([1000, 126423])
    plain = cm.link_seconds(beats, 64, 10, 0, 300e6)
    kept = cm.link_seconds(beats, 64, 10, 0, 300e6, credits=True)
    assert np.allclose(kept, beats * 64 / 10e9 / (1 - 2 / 1024))
    assert np.all(kept > plain)
    # CMAC: the keepalive rides on the data headers, nothing added
    assert np.allclose(cm.link_seconds(beats, 512, 100, 0, 300e6, credits=True), cm.link_seconds(beats, 512, 100, 0, 300e6))


def _model(tmp_path):
    import onnx

    p = tmp_path / "r18.onnx"
    if not p.exists():
        onnx.save(asymap.build_zoo_model("resnet18", input_size=224, width_mult=1.0, seed=0), str(p))
    return asymap.load_model(p)


def _cluster(tmp_path, gbps: float, host: bool = True, board: str = "u50"):
    p = tmp_path / f"c{int(gbps)}{host}{board}.yaml"
    p.write_text(f"boards:\n  - {{name: a, type: {board}}}\n  - {{name: b, type: {board}}}\n  - {{name: h, type: {board}}}\n"
                 f"links:\n  - {{a: a, b: b, gbps: {gbps}, latency_ns: 500}}\n"
                 f"  - {{a: h, b: a, gbps: {gbps}, latency_ns: 700}}\n"
                 + ("host: {attach: h, gbps: 10, latency_ns: 2000}\n" if host else ""))
    return asymap.load_cluster(p)


@pytest.mark.parametrize("gbps", [100.0, 10.0])
def test_plan_charges_credits_where_both_directions_carry_data(tmp_path, gbps):
    """Pipeline a -> b, host at h: the input goes h -> a, the result b -> a -> h. So a -> b carries
    the result's credits and b -> a the pipeline's; h -> a and a -> h likewise."""
    g = _model(tmp_path)
    plan = asymap.plan(g, _cluster(tmp_path, gbps), boards=2).to_dict()
    (ln,) = plan["links"]
    assert (ln["from"], ln["to"]) == ("a", "b")
    hp = plan["host_path"]
    hops = {(h["from"], h["to"]): h for h in hp["in"] + hp["out"]}
    assert set(hops) >= {("h", "a"), ("b", "a"), ("a", "h")}
    shapes = g.tensor_shapes
    w = ln["width_bits"]
    out_beats = wire_beats([tuple(shapes[g.output])], w, DEFAULT_MAX_PAYLOAD_BEATS)
    in_beats = wire_beats([tuple(shapes[g.input])], w, DEFAULT_MAX_PAYLOAD_BEATS)
    pipe_beats = wire_beats([tuple(shapes[t]) for t in ln["tensors"]], w, DEFAULT_MAX_PAYLOAD_BEATS)
    lat = 500e-9
    data = ln["interval_s"] - ln["credit_s"] - lat
    assert ln["credit_s"] == pytest.approx(cm.credit_seconds(gbps, data, out_beats), rel=1e-12) and ln["credit_s"] > 0
    ba = hops[("b", "a")]
    assert ba["credit_s"] == pytest.approx(cm.credit_seconds(gbps, ba["interval_s"] - ba["credit_s"] - lat, pipe_beats))
    ah, ha = hops[("a", "h")], hops[("h", "a")]
    assert ah["credit_s"] == pytest.approx(cm.credit_seconds(gbps, ah["interval_s"] - ah["credit_s"] - 700e-9, in_beats))
    assert ha["credit_s"] == pytest.approx(cm.credit_seconds(gbps, ha["interval_s"] - ha["credit_s"] - 700e-9, out_beats))
    assert all(h["credit_s"] == 0.0 for h in hops.values() if "host" in (h["from"], h["to"]))
    # the charged stages are what the interval is made of
    stages = ([b["interval_s"] for b in plan["boards"]] + [ln["interval_s"]]
              + [h["interval_s"] for h in hops.values() if h["interval_s"]])
    assert plan["interval_s"] == pytest.approx(max(stages), rel=1e-12)


def test_no_credit_charge_without_reverse_data(tmp_path):
    g = _model(tmp_path)
    plan = asymap.plan(g, _cluster(tmp_path, 100.0, host=False), boards=2).to_dict()
    (ln,) = plan["links"]
    assert ln["credit_s"] == 0.0


def test_no_credits_without_a_transport(tmp_path):
    """PYNQ-Z2 boards have no transceiver cages: the PS forwards frames, no credit words."""
    g = asymap.load_model(_tiny_model(tmp_path))
    plan = asymap.plan(g, _cluster(tmp_path, 1.0, board="pynq-z2"), boards=2).to_dict()
    for ln in plan["links"]:
        assert ln["credit_s"] == 0.0
    for h in plan["host_path"]["in"] + plan["host_path"]["out"]:
        assert h["credit_s"] == 0.0


def _tiny_model(tmp_path):
    import onnx

    p = tmp_path / "tiny.onnx"
    if not p.exists():
        onnx.save(asymap.build_zoo_model("tiny", input_size=32, seed=0), str(p))
    return p


def test_optimal_is_claimed_against_the_charged_interval(tmp_path):
    """Issue 12 item 6: credits are charged after the search. Here (two U50s at 5 % of their
    resources, 4 Gb/s between them, the host on b) the input's hop b -> a runs against the pipeline
    link a -> b, whose stage the credits make the slowest: the plan's interval is above the search's,
    so the plan may not say "optimal" and its gap is measured from the charged interval. The bound
    stays below every plan's search interval (charges only add; planner.claim)."""
    from asymap.partition.planner import claim

    g = asymap.load_model(_tiny_model(tmp_path))
    p = tmp_path / "ring4.yaml"
    p.write_text("boards:\n  - {name: a, type: u50}\n  - {name: b, type: u50}\n"
                 "links:\n  - {a: a, b: b, gbps: 4, latency_ns: 500}\n"
                 "host: {attach: b, gbps: 100, latency_ns: 2000}\n")
    plan = asymap.plan(g, asymap.load_cluster(p), util=0.05).to_dict()
    (ln,) = plan["links"]
    assert (ln["from"], ln["to"]) == ("a", "b") and ln["credit_s"] > 0
    assert plan["bottleneck"] == "a->b" and plan["interval_s"] == ln["interval_s"]
    searched = max([b["interval_s"] for b in plan["boards"]] + [ln["interval_s"] - ln["credit_s"]]
                   + [h["interval_s"] - h["credit_s"] for h in plan["host_path"]["in"] + plan["host_path"]["out"]])
    assert plan["interval_s"] > searched * (1 + 1e-9)  # the charge moved the interval
    lb = plan["lower_bound_s"]
    assert lb <= searched * (1 + 1e-12)
    assert plan["optimal"] is False
    assert plan["gap_bound"] == pytest.approx((plan["interval_s"] - lb) / lb, rel=1e-12) and plan["gap_bound"] > 0
    # the claim itself: against the final interval
    assert claim(1.0, 1.0) == (True, 0.0)
    assert claim(1.1, 1.0)[0] is False and claim(1.1, 1.0)[1] == pytest.approx(0.1)
