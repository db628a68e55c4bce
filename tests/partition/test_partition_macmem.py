"""MAC kinds and weight memories in real plans: every zoo model on every preset cluster.

No plan may place a weight ROM in URAM (UltraScale+ URAM has no bitstream initialization): a layer
whose weights live in URAM is "preload" (loaded at start-up, its board reports startup_s). MAC
kinds obey the hardware: "packed" only on DSP48E2 boards and for convs whose PEs share activations;
every layer's DSPs split into weight multipliers and requantization multipliers."""

from __future__ import annotations

import math
from pathlib import Path

import onnx
import pytest

from asymap.cluster.boards import load_board_type
from asymap.cluster.load import load_cluster
from asymap.errors import UserError
from asymap.frontend.onnx_import import load_model
from asymap.frontend.zoo import ZOO_NAMES, build_zoo_model
from asymap.partition.costmodel import LUT_MAC_MAX, LUT_PER_MULT, mac_cost, PACKED, DSP1, LUTMUL
from asymap.partition.planfile import Plan
from asymap.partition.planner import plan

ROOT = Path(__file__).resolve().parents[2]
PRESETS = sorted((ROOT / "clusters").glob("*.yaml"))


# The default run plans the models that build quickly (all presets); --runslow adds the rest.
FAST = ("tiny", "resnet18", "resnet50", "mobilenetv2", "inception")


@pytest.fixture(scope="module", params=["fast", pytest.param("rest", marks=pytest.mark.slow)])
def zoo_plans(request, tmp_path_factory):
    d = tmp_path_factory.mktemp("zoo")
    out = []
    names = FAST if request.param == "fast" else [n for n in ZOO_NAMES if n not in FAST]
    for name in names:
        p = d / f"{name}.onnx"
        onnx.save(build_zoo_model(name, 224), str(p))
        g = load_model(p)
        for c in PRESETS:
            try:
                out.append((name, c.name, g, load_cluster(c), plan(g, load_cluster(c))))
            except UserError:  # the model does not fit this preset: nothing to check
                continue
    return out


def test_no_plan_places_a_rom_in_uram(zoo_plans):
    preloads = 0
    for name, cname, g, cluster, pl in zoo_plans:
        for b in pl.boards:
            words = 0
            for ly in b.layers:
                if not ly.mac:
                    assert ly.weight_mem == "" and ly.mac_dsp == 0
                    continue
                assert ly.weights in ("onchip", "preload", "offchip"), (name, cname, ly)
                if ly.weights == "onchip":  # a static const table: bitstream-initialized memory only
                    assert ly.weight_mem in ("lutram", "bram"), (name, cname, b.name, ly.index, ly.weight_mem)
                if ly.weights == "preload":
                    assert ly.weight_mem == "uram", (name, cname, b.name, ly.index)
                    assert b.resources["uram"][1] > 0
                    preloads += 1
                    words += 1
            assert (b.startup_s > 0) == (words > 0) and (b.preload_bytes > 0) == (words > 0)
            if words:
                spec = cluster.board(b.name).spec
                need = b.preload_bytes / 8 / spec.clock_hz
                assert b.startup_s == pytest.approx(max(need, b.preload_bytes / (spec.mem_gbps * 1e9)))
    assert preloads > 0, "some plan wants URAM for weights: the rule is exercised"  # true for both sets


def test_mac_kinds_follow_the_hardware(zoo_plans):
    seen = set()
    for name, cname, g, cluster, pl in zoo_plans:
        for b in pl.boards:
            spec = cluster.board(b.name).spec
            for ly in b.layers:
                assert ly.mac_dsp + ly.requant_dsp <= ly.dsp  # the envelope may charge more, never less
                if not ly.mac:
                    continue
                seen.add(ly.mac)
                layer = g.layers[ly.index]
                f = ly.factors
                pe, inl = f["pe"], f["simd"] * f.get("kpar", 1)
                if ly.mac == "packed":
                    assert spec.dsp_type == "DSP48E2" and (layer.op == "fc" or layer.groups == 1) and pe >= 2
                if ly.mac == "lut":
                    assert pe * inl <= LUT_MAC_MAX and ly.mac_dsp == 0 and ly.mac_lut == LUT_PER_MULT * pe * inl
                kind = {"packed": PACKED, "dsp": DSP1, "lut": LUTMUL}[ly.mac]
                assert ly.mac_dsp == int(mac_cost(pe, inl, kind)[0])
                assert ly.requant_dsp == 4 * pe  # one 32x31 requantization product per PE
    assert {"packed", "dsp"} <= seen
    if any(z[0] == "inception" for z in zoo_plans):  # its 1x1 branch convs take LUT multipliers on a U250
        assert "lut" in seen


def test_plan_json_round_trips_new_keys(zoo_plans):
    pl = max(zoo_plans, key=lambda z: len(z[-1].boards))[-1]
    back = Plan.from_dict(pl.to_dict())
    assert back.to_json() == pl.to_json()
    ly = pl.to_dict()["boards"][0]["layers"][0]
    assert {"mac", "mac_dsp", "mac_lut", "requant_dsp", "weight_mem"} <= set(ly)
    assert {"startup_s", "preload_bytes"} <= set(pl.to_dict()["boards"][0])


def test_packed_halves_the_weight_multiplier_dsps():
    assert int(mac_cost(8, 4, PACKED)[0]) == 16 and int(mac_cost(8, 4, DSP1)[0]) == 32
    assert int(mac_cost(7, 4, PACKED)[0]) == 16  # three pairs + one unpaired PE
    assert int(mac_cost(8, 4, LUTMUL)[0]) == 0 and int(mac_cost(8, 4, LUTMUL)[1]) == 85 * 32
    assert math.ceil(9 / 2) == 5 and load_board_type("zc706").macs_per_dsp == 1
