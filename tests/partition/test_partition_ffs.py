"""Flip-flops are estimated per block and checked (issue 12 item 2, partition/ffmodel.py): plan.json
``boards[].ff`` = [layers' and link (un)packers' estimate, what the platform leaves], and a board
beyond ``util`` of it is refused."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import yaml

import asymap
from clusters_yaml import cluster_yaml
from asymap.cluster.boards import load_board_type
from asymap.errors import UserError
from asymap.partition import costmodel as cm
from asymap.partition import ffmodel

ROOT = Path(__file__).resolve().parents[2]
BOARDS = sorted(p.stem for p in (ROOT / "boards").glob("*.yaml"))


@pytest.mark.parametrize("board", BOARDS)
def test_available_flip_flops_are_the_platforms_share(board):
    """The board files' ``ff`` is the part's total; kernels get the share of LUTs the platform
    leaves, which on every board file is 2 flip-flops per LUT of the budget (AMD's platform
    examples leave 2.0-2.09)."""
    spec = load_board_type(board)
    d = yaml.safe_load((ROOT / "boards" / f"{board}.yaml").read_text())
    dev = d.get("device", {})
    want = d.get("ff", 2 * d["lut"]) * d["lut"] // dev["lut"] if dev.get("lut") else d.get("ff", 2 * d["lut"])
    assert ffmodel.ff_available(spec) == want
    assert 1.9 * spec.lut <= ffmodel.ff_available(spec) <= 2.1 * spec.lut


def _model(tmp_path, name="resnet18", size=64):
    import onnx

    p = tmp_path / f"{name}{size}.onnx"
    if not p.exists():
        onnx.save(asymap.build_zoo_model(name, input_size=size, seed=0), str(p))
    return asymap.load_model(p)


@pytest.mark.parametrize("board", ["zcu102", "u280", "zc706"])
def test_option_ffs_grow_with_the_structure(tmp_path, board):
    """Every option row has an estimate, at least its control, lane and PE registers."""
    g = _model(tmp_path, "mobilenetv2", 64)
    spec = load_board_type(board)
    for info in cm.layer_infos(g):
        for mode in (cm.ONCHIP, cm.OFFCHIP):
            rows, kinds = cm.mac_rows(info, spec)
            ff = ffmodel.option_ffs(info, spec, mode, rows, kinds)
            assert np.all(ff >= ffmodel.FF_LAYER)
            o = info.options
            if info.layer.op in ("conv", "fc"):  # at least the control, lane and PE registers
                lanes = o.pe[rows] * o.simd[rows] * o.kpar[rows]
                floor = ffmodel.FF_LAYER + ffmodel.FF_PER_LANE * lanes + ffmodel.FF_PER_PE * o.pe[rows]
                assert np.all(ff >= floor), info.layer.name
                # LUT multipliers register their products on top
                lut = kinds == cm.LUTMUL
                assert np.all(ff[lut] >= floor[lut] + ffmodel.FF_PER_LUT_MULT * lanes[lut])


def test_plan_records_and_checks_ffs(tmp_path):
    g = _model(tmp_path)
    c = tmp_path / "c.yaml"
    c.write_text(cluster_yaml([("a", "zcu102"), ("b", "u280")], [("a", "b", 10, 500)]))
    cl = asymap.load_cluster(c)
    plan = asymap.plan(g, cl)
    specs = {b.name: b.spec for b in cl.boards}
    infos = {}
    for bp in plan.boards:
        used, avail = bp.ff
        assert avail == ffmodel.ff_available(specs[bp.name])
        lanes = bp.port_lanes
        infos.setdefault(lanes, cm.layer_infos(g, True, lanes))
        own = ffmodel.layers_ffs(bp, infos[lanes], specs[bp.name])
        assert own > 0 and used > own  # the link (un)packers' buffers come on top
        assert used <= 0.8 * avail
    d = plan.to_dict()
    assert all(len(b["ff"]) == 2 for b in d["boards"])
    # a board beyond util of its flip-flops is refused, naming it
    bp = copy.deepcopy(plan.boards[0])
    bp.ff = [int(0.5 * bp.ff[1]) + 1, bp.ff[1]]
    with pytest.raises(UserError, match=rf"board {bp.name}: an estimated .* flip-flops exceed 50%"):
        ffmodel.check_ffs([bp], 0.5)
    ffmodel.check_ffs([bp], 0.8)


def test_repack_ffs_are_its_buffer():
    assert ffmodel.repack_ffs(32, 64) == 8 * 96 + 96
    assert ffmodel.link_kernel_ffs([(64, 8, 8), (256, 8, 8)], 512, 16, send=True) == 2 * ffmodel.repack_ffs(16, 64)


def _zoo(tmp_path, name: str, **kw) -> Path:
    import onnx

    p = tmp_path / f"{name}.onnx"
    if not p.exists():
        onnx.save(asymap.build_zoo_model(name, seed=0, **kw), str(p))
    return p


@pytest.mark.parametrize("board", BOARDS)
def test_lut_budget_implies_the_ff_budget(tmp_path, board):
    """Issue 12 item 6: flip-flops are checked after the search, not searched. That is exact because
    every block the plan charges has at most ``ff_available / lut`` flip-flops per LUT (2.0 on every
    board file): each layer option at every port width and weight mode, and every link (un)packer
    (transport ends add LUTs or block RAM, no counted flip-flops). So a board within ``util`` of its
    LUTs is within ``util`` of its flip-flops: ``check_ffs`` never refuses a plan the search made
    (docs/cost-model.md, "Flip-flops")."""
    spec = load_board_type(board)
    rho = ffmodel.ff_available(spec) / spec.lut
    from asymap.lanes import PORT_LANE_CHOICES

    for model in (_zoo(tmp_path, "tiny", input_size=32), _zoo(tmp_path, "resnet18", input_size=32, width_mult=0.5)):
        g = asymap.load_model(model)
        for lanes in PORT_LANE_CHOICES:
            for info in cm.layer_infos(g, True, lanes):
                assert info.options is not None and len(info.options.pe)
                rows, kinds = cm.mac_rows(info, spec)
                for mode in (cm.ONCHIP, cm.OFFCHIP):
                    lut = cm.option_resources(info, spec, mode, rows, kinds)[:, 3]
                    ff = ffmodel.option_ffs(info, spec, mode, rows, kinds)
                    assert (ff <= rho * lut).all(), (info.layer.name, lanes, mode, float((ff / lut).max()))
    for b in (8, 16, 64):  # link beats of 64..512 bits against every port beat up to 32 lanes x 3 channels
        for p in range(1, 97):
            for pi, po in ((p, b), (b, p)):
                assert ffmodel.repack_ffs(pi, po) <= rho * cm.repack_luts(pi, po)
