"""reuse_single's sweep over every Tn runs in cache-sized blocks (baselines._TN_BLOCK) into one
matrix: the answer (seconds and engine) must be bit-identical to the whole-matrix computation it
replaced, for every board preset, utilization and block size."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from asymap.cluster.boards import load_board_type
from asymap.frontend.onnx_import import load_model
from asymap.frontend.zoo import build_zoo_model
from asymap.partition import baselines as bl
from asymap.partition.costmodel import ceil_div
from asymap.resources import resource_dir


def _whole_matrix(graph, spec, util):
    """reuse_interval as one whole-matrix numpy expression (the code before the blocks)."""
    dsp_budget = int(spec.dsp * util)
    mpd, mem, f = spec.macs_per_dsp, spec.mem_gbps * 1e9, spec.clock_hz
    a, count = np.unique(bl._reuse_rows(graph), axis=0, return_counts=True)
    onchip = (spec.bram36 * 36 * 1024 // 8 + spec.uram * 288 * 1024 // 8) * util
    tn = np.arange(1, max(1, dsp_budget) + 1, dtype=np.int64)
    tm = (dsp_budget // tn) * mpd
    tn, tm = tn[tm > 0], tm[tm > 0]
    if len(tn) == 0:
        return float("inf"), (0, 0)
    mac = a[:, 0] == 1
    outer, red, cout = a[:, 1][None, :], a[:, 2][None, :], a[:, 3][None, :]
    cyc = np.where(mac[None, :], outer * ceil_div(red, tn[:, None]) * ceil_div(cout, tm[:, None]),
                   outer * ceil_div(cout, tm[:, None]))
    act_off = np.where(a[:, 5][None, :] + 2 * tn[:, None] * tm[:, None] <= onchip, 0, a[:, 5][None, :])
    t = np.maximum(cyc / f, (a[:, 4][None, :] + act_off) / mem) @ count.astype(np.float64)
    i = int(np.argmin(t))
    return float(t[i]), (int(tn[i]), int(tm[i]))


@pytest.fixture(scope="module")
def graphs(tmp_path_factory):
    out = []
    for name, size, wm in (("resnet18", 32, 0.5), ("resnet50", 64, 0.25), ("mobilenetv2", 32, 0.5)):
        p = tmp_path_factory.mktemp("m") / f"{name}.onnx"
        onnx.save(build_zoo_model(name, size, width_mult=wm), str(p))
        out.append(load_model(p, weights=False))
    return out


BOARDS = sorted(p.stem for p in resource_dir("boards").glob("*.yaml"))


@pytest.mark.parametrize("board", BOARDS)
def test_blocks_equal_the_whole_matrix(graphs, board):
    spec = load_board_type(board)
    for g in graphs:
        for util in (0.8, 0.37, 1.0):
            assert bl.reuse_interval(g, spec, util) == _whole_matrix(g, spec, util), (g.name, util)


@pytest.mark.parametrize("block", [1, 7, 512, 10**6])
def test_block_size_does_not_change_the_answer(graphs, monkeypatch, block):
    spec = load_board_type("u250")
    monkeypatch.setattr(bl, "_TN_BLOCK", block)
    for g in graphs:
        assert bl.reuse_interval(g, spec, 0.8) == _whole_matrix(g, spec, 0.8)
