"""The RTL transport under each link is charged (issue 12 item 2): the CMAC packet FIFO (block RAM,
the sending end), the credit buffer (LUTRAM, the receiving end) and the CMAC store-and-forward
latency per 100G hop, host path included (costmodel transport functions, partition/transport.py).
The buffer sizes are the ones deploy gives the generated transport."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import asymap
from asymap.codegen import deploy, rtl_glue
from asymap.partition import costmodel as cm

ROOT = Path(__file__).resolve().parents[2]


def test_constants_are_deploys():
    assert cm.CMAC_MIN_GBPS == deploy.CMAC_MIN_GBPS
    assert cm.CORE_WIDTH == deploy.CORE_WIDTH and cm.CORE_CLOCK_MHZ == deploy.CORE_CLOCK_MHZ
    assert cm.CMAC_PKT_BEATS == 1 << deploy.CMAC_PKT_ADDR_W
    assert cm.CMAC_CREDIT_SPACING == deploy.CMAC_CREDIT_SPACING
    assert cm.TRANSPORT_PIPELINE_CYCLES == rtl_glue.PIPELINE_CYCLES


@pytest.mark.parametrize("gbps", [1.0, 10.0, 25.0, 40.0, 100.0])
@pytest.mark.parametrize("latency_ns", [0.0, 60.0, 500.0, 2000.0, 10000.0, 20000.0])
@pytest.mark.parametrize("width", [64, 512, 1024])
def test_rx_buffer_is_what_deploy_generates(gbps, latency_ns, width):
    core = deploy._core_for(gbps)
    t = SimpleNamespace(port="qsfp0", peer="far", core=core, gbps=gbps, latency_ns=latency_ns)
    b = SimpleNamespace(ident="near", clock_mhz=300.0)
    glue = deploy._credit_sizing(b, t, width)
    assert cm.rx_buffer_entries(gbps, latency_ns, width) == glue.rx_buffer_beats
    assert cm.transport_core(gbps) == core


def test_credit_buffer_is_the_bandwidth_delay_product_at_the_line_rate():
    """The round trip holds the beats the line carries, not one per core cycle: a 1G link at 20 us
    on an Aurora core (64 bits at 156.25 MHz = 10 Gb/s user side) has 629 beats in flight (1,024
    entries, 1,700 LUTs; at one beat per core cycle it would be 8,192 entries, 13,600 LUTs); a 100G
    CMAC (512 bits at 322 MHz = 165 Gb/s) at 2 us holds 60.6 % of its 1,322-cycle round trip."""
    assert cm.rx_buffer_entries(1.0, 20000.0, 64) == 1024
    assert cm.transport_ends(1.0, 20000.0, 64)[1].rx_lut == 1700
    assert rtl_glue.rtt_line_beats(6282, 1.0, 64, 156.25) == 629
    assert rtl_glue.rtt_line_beats(1322, 100.0, 512, 322.265625) == 802
    # a line as fast as the core's user side: one beat per cycle, as before
    assert rtl_glue.rtt_line_beats(345, 10.0, 64, 156.25) == 345
    assert cm.rx_buffer_entries(100.0, 2000.0, 512) == 2048


def test_transport_end_charges():
    tx, rx = cm.transport_ends(100.0, 500.0, 512)
    # packet FIFO: 128 entries of 577 bits (TDATA, TKEEP, TLAST): 9 BRAM36 in 72 x 512
    assert tx.tx_bram36 == cm.bram_count(577, 128) == 9 and tx.rx_lut == 0
    # credit buffer: 1,024 entries of 577 bits in block RAM (asymap_bridge_rx's RX_BLOCK): 17 BRAM36
    # (yosys synth_xilinx maps it to 33 RAMB18E2, tests/rtl/test_rtl_lint_synth.py)
    assert cm.rx_buffer_entries(100.0, 500.0, 512) == 1024
    assert rx.rx_bram36 == cm.bram_count(577, 1024) == 17 and rx.rx_lut == 0 and rx.tx_bram36 == 0
    # as LUT-RAM it would be RAM64M8 (7 bits per 8 LUTs) + a 16:1 read mux: 12,932 LUTs
    assert cm.lutram_sdp_luts(577, 1024) == 16 * 83 * 8 + 577 * 4 == 12932
    tx10, rx10 = cm.transport_ends(10.0, 1000.0, 64)
    assert tx10.tx_bram36 == 0  # Aurora: no packet FIFO (it tolerates gaps inside a frame)
    # Aurora's 73-bit entries stay LUT-RAM (block RAM would be half empty)
    assert rx10.rx_lut == cm.lutram_sdp_luts(73, cm.rx_buffer_entries(10.0, 1000.0, 64)) > 0 and rx10.rx_bram36 == 0
    # a shallow CMAC buffer (no latency: 512 entries) is block RAM too, one of <= 64 entries LUT-RAM
    assert cm.transport_ends(100.0, 0.0, 512)[1].rx_bram36 == cm.bram_count(577, 512) == 9


def test_store_and_forward_latency():
    full = 128 * 512 / 100e9
    assert cm.store_forward_s(100.0) == pytest.approx(full)
    assert cm.store_forward_s(100.0, [(64, 56, 56)], 512) == pytest.approx(full)  # frames > 128 beats
    # 1,000 logits: one frame of 16 payload beats + header + trailer = 18 beats of 512 bits
    assert cm.store_forward_s(100.0, [(1000, 1, 1)], 512) == pytest.approx(18 * 512 / 100e9)
    # 1024-bit link kernels: a frame beat is two core beats
    assert cm.store_forward_s(100.0, [(1000, 1, 1)], 1024) == pytest.approx(2 * 10 * 512 / 100e9)
    assert cm.store_forward_s(10.0, [(64, 56, 56)], 64) == 0.0


def _cluster(tmp_path, gbps: float):
    p = tmp_path / f"c{int(gbps)}.yaml"
    p.write_text("boards:\n  - {name: a, type: u50}\n  - {name: b, type: u50}\n  - {name: h, type: u50}\n"
                 f"links:\n  - {{a: a, b: b, gbps: {gbps}, latency_ns: 500}}\n"
                 f"  - {{a: h, b: a, gbps: {gbps}, latency_ns: 700}}\n"
                 "host: {attach: h, gbps: 10, latency_ns: 2000}\n")
    return asymap.load_cluster(p)


def test_plan_charges_links_and_host_path(tmp_path):
    g = asymap.load_model(_tiny(tmp_path))
    plan = asymap.plan(g, _cluster(tmp_path, 100.0), boards=2).to_dict()
    boards = {b["name"]: b for b in plan["boards"]}
    assert list(boards) == ["a", "b"] or list(boards) == ["b", "a"], list(boards)
    (ln,) = plan["links"]
    rx100 = cm.transport_ends(100.0, 500.0, ln["width_bits"])[1]
    assert ln["tx_bram36"] == 9 and ln["rx_lut"] == 0 and ln["rx_bram36"] == rx100.rx_bram36 == 17
    assert ln["store_forward_s"] > 0
    hops = plan["host_path"]["in"] + plan["host_path"]["out"]
    board_hops = [h for h in hops if h["from"] != "host" and h["to"] != "host"]
    assert board_hops and all(h["store_forward_s"] > 0 for h in board_hops)
    assert all(h["store_forward_s"] == 0.0 for h in hops if "host" in (h["from"], h["to"]))
    # latency: every stage's interval plus the store-and-forward of every 100G hop
    stages = ([b["interval_s"] for b in plan["boards"]] + [ln["interval_s"]]
              + [h["interval_s"] for h in hops if h["interval_s"]])
    sf = ln["store_forward_s"] + sum(h["store_forward_s"] for h in hops)
    cross = sum(b["slr_crossing_s"] for b in plan["boards"])  # multi-SLR boards' crossings (slrcross.py)
    assert plan["latency_s"] == pytest.approx(sum(stages) + sf + cross, rel=1e-12)
    # resources: layers + link beat FIFOs + the transport ends at this board
    for name, b in boards.items():
        bram = sum(lay["bram36"] for lay in b["layers"]) + ln["buffer_bram36"]
        lut = sum(lay["lut"] for lay in b["layers"]) + b["link_lut"]
        for src, dst in [(ln["from"], ln["to"])] + [(h["from"], h["to"]) for h in board_hops]:
            tx, rx = cm.transport_ends(100.0, 500.0 if {src, dst} == {"a", "b"} else 700.0, ln["width_bits"])
            bram += (tx.tx_bram36 if src == name else 0) + (rx.rx_bram36 if dst == name else 0)
            lut += rx.rx_lut if dst == name else 0
        assert b["resources"]["bram36"][0] == bram, name
        assert b["resources"]["lut"][0] == lut, name
    # the same cluster over 10G: no packet FIFO, no store-and-forward, a small credit buffer
    plan10 = asymap.plan(g, _cluster(tmp_path, 10.0), boards=2).to_dict()
    (l10,) = plan10["links"]
    assert l10["tx_bram36"] == 0 and l10["store_forward_s"] == 0.0 and 0 < l10["rx_lut"] and l10["rx_bram36"] == 0


def _tiny(tmp_path):
    import onnx

    p = tmp_path / "r18.onnx"
    if p.exists():
        return p
    onnx.save(asymap.build_zoo_model("resnet18", input_size=224, width_mult=1.0, seed=0), str(p))
    return p


def test_no_nan():
    assert np.isfinite(cm.store_forward_s(100.0, [(3, 224, 224)], 512))


def test_search_reserves_the_pipeline_ends(tmp_path):
    """The search keeps a send and a receive end free on every board, two of each with a host path
    (at the board type's most expensive link, spread over its SLRs), so the charged plan stays
    within util x avail."""
    from asymap.partition.transport import transport_reserve

    c = _cluster(tmp_path, 100.0)
    types = [0, 0, 0]  # three U50s
    _, rx = cm.transport_ends(100.0, 700.0, 512)  # a's link to h is the longer one
    # packet FIFO (9) + credit buffer (17 BRAM36) per end pair, two pairs
    assert rx.rx_bram36 == 17 and rx.rx_lut == 0
    assert transport_reserve(c, types, 0).tolist() == [0, 2 * (9 + 17), 0, 0]
    assert transport_reserve(c, types, 0, slrs=3).tolist() == [0, -(-2 * 26 // 3), 0, 0]
    g = asymap.load_model(_tiny(tmp_path))
    plan = asymap.plan(g, c, boards=2).to_dict()
    for b in plan["boards"]:
        for k, (used, avail) in b["resources"].items():
            assert used <= 0.8 * avail, (b["name"], k)


def test_boards_without_transceivers_carry_no_transport(tmp_path):
    """A PYNQ-Z2 forwards frames in software (no GT cages) and a ZCU102's SFP+ cages cannot host a
    100G CMAC: deploy generates no transport there, so nothing is charged or reserved."""
    from asymap.partition.transport import has_transport, transport_reserve

    c = asymap.load_cluster(ROOT / "clusters" / "edge4.yaml")
    by = {b.name: b for b in c.boards}
    assert not has_transport(by["pynq0"], 1.0) and has_transport(by["zcu102"], 10.0)
    assert not has_transport(by["zcu102"], 100.0)
    types = [0, 1, 2, 2]  # zcu102, zcu104, pynq0, pynq1
    assert transport_reserve(c, types, 2).tolist() == [0, 0, 0, 0]
    assert transport_reserve(c, types, 0)[3] > 0


def test_no_fit_error_names_the_transport_reserve(tmp_path, run_cli, assert_user_error):
    """When the link transport's buffers take part of a board's budget, the one-line "does not
    fit" error says how much, so a user does not read "lut N > 0" as a board without LUTs."""
    import onnx

    from asymap.frontend.zoo import build_zoo_model

    onnx.save(build_zoo_model("resnet18", 32, width_mult=0.5), str(tmp_path / "m.onnx"))
    (tmp_path / "z2.yaml").write_text(
        "boards:\n  - {name: a, type: zcu102}\n  - {name: b, type: zcu102}\n"
        "links:\n  - {a: a, b: b, gbps: 10, latency_ns: 1000}\n")
    p = run_cli("plan", str(tmp_path / "m.onnx"), str(tmp_path / "z2.yaml"), "--util", "0.0005", "-q")
    assert_user_error(p, "fits on no board", "lut", "kept for the link transport")
    p = run_cli("plan", str(tmp_path / "m.onnx"), str(tmp_path / "z2.yaml"), "--util", "0.05", "-q")
    # the Aurora credit buffer (850 LUTs) and the link (un)packers' reserve (transport.link_kernel_reserve)
    from asymap.partition.transport import link_kernel_reserve

    kernels = int(link_kernel_reserve(asymap.load_model(tmp_path / "m.onnx"),
                                      asymap.load_cluster(tmp_path / "z2.yaml"), [0, 0], 0)[3])
    assert kernels > 0
    assert_user_error(p, "does not fit", f"{850 + kernels} kept for the link transport")


@pytest.mark.parametrize("preset", ["example16", "u280x16", "ring8"])
def test_reserve_bounds_what_is_charged_after(tmp_path, preset):
    """Issue 12 item 6: the transport ends are charged after the search, which kept
    ``transport_reserve`` out of every board's budget. On the presets, every plan board's charged
    ends (its pipeline links and host-path hops, ``charge_transport`` onto empty boards) stay within
    that reserve, so the after-search charge cannot break the plan's budget (docs/cost-model.md,
    "What optimal covers")."""
    import json

    import onnx

    from asymap.partition.transport import charge_transport, transport_reserve

    m = tmp_path / "r18s.onnx"
    onnx.save(asymap.build_zoo_model("resnet18", input_size=32, width_mult=0.5, seed=0), str(m))
    g = asymap.load_model(m)
    cl = asymap.load_cluster(ROOT / "clusters" / f"{preset}.yaml")
    plan = asymap.plan(g, cl, util=0.05).to_dict()  # (at 5 % the model takes several boards: links)
    assert plan["links"]
    keys: dict = {}
    types = [keys.setdefault(b.spec.cost_key(), len(keys)) for b in cl.boards]
    bps = [SimpleNamespace(name=b["name"], resources={k: [0, 0] for k in ("dsp", "bram36", "uram", "lut")})
           for b in plan["boards"]]
    lps = [SimpleNamespace(src=ln["from"], dst=ln["to"], gbps=ln["gbps"], latency_ns=ln["latency_ns"],
                           width_bits=ln["width_bits"], tensors=ln["tensors"]) for ln in plan["links"]]
    charge_transport(g, cl, bps, lps, json.loads(json.dumps(plan.get("host_path"))))
    pos = {b.name: i for i, b in enumerate(cl.boards)}
    charged_any = False
    for bp in bps:
        i = pos[bp.name]
        spec = cl.boards[i].spec
        reserve = transport_reserve(cl, types, types[i], spec.slrs) * spec.slrs
        got = np.array([bp.resources[k][0] for k in ("dsp", "bram36", "uram", "lut")])
        charged_any |= bool(got.any())
        assert (got <= reserve).all(), (bp.name, got.tolist(), reserve.tolist())
    assert charged_any
