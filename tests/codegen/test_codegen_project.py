"""Project generation without compiling: chain.json contents, planner hand-off, files for asymap build."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest

from asymap.codegen.chain import build_chain
from asymap.codegen.planio import check_plan
from asymap.errors import UserError
from asymap.frontend.onnx_import import load_model
from asymap.frontend.zoo import build_zoo_model

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("m") / "tiny.onnx"
    onnx.save(build_zoo_model("tiny", input_size=32, seed=0), str(p))
    return p


def test_generate_with_planner_writes_chain_for_build(tiny_model, tmp_path, run_cli):
    out = tmp_path / "out"
    p = run_cli("generate", tiny_model, ROOT / "clusters" / "pair2.yaml", "-o", out)
    assert p.returncode == 0, p.stderr
    chain = json.loads((out / "chain.json").read_text())
    assert chain["schema"] == 1 and chain["generator"] == "asymap generate"
    covered = [i for b in chain["boards"] for i in range(b["first_layer"], b["last_layer"] + 1)]
    assert covered == list(range(chain["model"]["layers"]))
    assert chain["links"][0]["src_id"] == 255 and chain["links"][-1]["dst_id"] == 255
    for b in chain["boards"]:
        d = out / b["dir"]
        for key in ("top", "segment", "params", "tb", "hls_config", "run_hls", "connectivity", "makefile"):
            assert (d / b["files"][key]).is_file(), key
        cfg = (d / "hls_config.cfg").read_text()
        assert f"syn.top={b['top']}" in cfg and "part=" in cfg
        assert f"set_top {b['top']}" in (d / "run_hls.tcl").read_text()
        assert f"{b['top']}_1.link_out" in (d / "connectivity.cfg").read_text()
        assert f"void {b['top']}(" in (d / "top.cpp").read_text()
        for f in b["vectors"]["expected"] + [b["vectors"]["link_in"]]:
            assert (d / f).stat().st_size > 0
    # The frame file of board 0 decodes (reference receiver) to the stored input image.
    import numpy as np

    from asymap.codegen import framefile

    b0 = chain["boards"][0]
    st = framefile.decode_file(out / b0["dir"] / b0["vectors"]["link_in"], dst=0, width_bits=chain["links"][0]["width_bits"])
    x = np.load(out / "input.npy")
    got = framefile.hwc_to_chw(st.payload[0], x.shape, signed=chain["links"][0]["tensors"][0]["signed"])
    assert np.array_equal(got, x)


def test_chain_cut_tensors_and_passthrough(tiny_model):
    g = load_model(tiny_model)
    plan = {"boards": [{"name": "a", "first_layer": 0, "last_layer": 2}, {"name": "b", "first_layer": 3, "last_layer": 3},
                       {"name": "c", "first_layer": 4, "last_layer": 8}],
            "links": [{"from": "a", "to": "b", "width_bits": 256}]}
    check_plan(plan, g, "plan")
    specs = build_chain(g, {t: False for t in g.tensor_shapes}, plan, {})
    # Board b computes res.conv2 only; the block input conv2_relu passes through it to the add.
    assert [t.name for t in specs[1].link_in.tensors] == ["conv2_relu", "res.conv1_relu"]
    assert [t.name for t in specs[1].passthrough] == ["conv2_relu"]
    assert specs[1].link_in.width_bits == 256 and specs[1].link_out.width_bits == 64
    assert specs[0].link_in.src == 255 and specs[2].link_out.dst == 255
    assert all(t.lanes == 8 for t in specs[1].link_in.tensors)


@pytest.mark.parametrize("mutate, fragment", [
    (lambda p: p["boards"][1].update(first_layer=5), "expected to start at 4"),
    (lambda p: p["boards"].append(dict(p["boards"][0])), "appears twice"),
    (lambda p: p["links"].append({"from": "a", "to": "b", "width_bits": 100}), "multiple of 64"),
    (lambda p: p["boards"][0].update(layers=[{"index": 0, "name": "other"}]), "different model"),
    (lambda p: p["boards"][0].update(layers=[{"index": 0, "weights": "cloud"}]), "onchip"),
])
def test_plan_checks(tiny_model, mutate, fragment):
    g = load_model(tiny_model)
    plan = {"boards": [{"name": "a", "first_layer": 0, "last_layer": 3}, {"name": "b", "first_layer": 4, "last_layer": 8}],
            "links": []}
    mutate(plan)
    with pytest.raises(UserError, match=fragment):
        check_plan(plan, g, "plan.json")


def test_board_named_links_does_not_collide_with_glue_dir(tiny_model):
    g = load_model(tiny_model)
    plan = {"boards": [{"name": "links", "first_layer": 0, "last_layer": 3},
                       {"name": "b", "first_layer": 4, "last_layer": 8}]}
    specs = build_chain(g, {t: False for t in g.tensor_shapes}, check_plan(plan, g, "plan"), {})
    assert [b.ident for b in specs] == ["links_1", "b"]
