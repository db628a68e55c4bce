"""Plan-time short cuts of the segment tables (issue 12 item 7), each against what it replaces:
the two-pointer sweep on rows packed into one 64-bit word (segments._packing/_reach_packed)
against the column-wise sweep, budgets too wide to pack falling back, and the infos of a second
port width built from the first one's width-independent charges."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import asymap.partition.costmodel as cm
from asymap.frontend.zoo import build_zoo_model
from asymap.frontend.onnx_import import graph_from_model
from asymap.partition import segments as sg


def _capped_pref(rng, n, nt, budget):
    """Layer-major prefix sums [n+1, nt, R] of per-layer amounts capped at budget + 1 (as
    segments._prefix caps them), many at the cap or zero."""
    R = len(budget)
    hi = budget + 2
    step = (rng.random((n, nt, R)) * hi).astype(np.int64)
    step[rng.random((n, nt, R)) < 0.2] = 0
    step = np.minimum(step, budget + 1)
    pref = np.zeros((n + 1, nt, R), np.int64)
    np.cumsum(step, axis=0, out=pref[1:])
    return step, pref


def _packed(step, budget, shifts):
    n, nt, _ = step.shape
    words = np.zeros((n, nt), np.uint64)
    for r, sh in enumerate(shifts):
        words |= step[..., r].astype(np.uint64) << np.uint64(sh)
    pref = np.zeros((n + 2, nt), np.uint64)
    for i in range(n):
        pref[i + 1] = pref[i] + words[i]
    pref[n + 1] = pref[n] + sg._pack(budget + 1, shifts)
    return pref


@pytest.mark.parametrize("seed", range(30))
def test_packed_sweep_equals_the_columnwise_sweep(seed):
    """Budgets from 0 to ones that fill 64 bits (the sums then wrap modulo 2**64)."""
    rng = np.random.default_rng(seed)
    R = int(rng.integers(1, 6))
    bits = int(rng.integers(1, 64 // R - 1))  # budget < 2**bits: each field at most bits + 2 wide
    budget = rng.integers(0, 1 << bits, size=R).astype(np.int64)
    budget[rng.random(R) < 0.15] = 0
    shifts = sg._packing(budget)
    assert shifts is not None  # (drawn to fit: R fields of at most 64 // R bits)
    n, nt = int(rng.integers(1, 30)), int(rng.integers(1, 40))
    step, pref = _capped_pref(rng, n, nt, budget)
    want = sg._reach_by_layer(pref, budget)
    got = sg._reach_packed(_packed(step, budget, shifts), budget)
    assert np.array_equal(got.T, want), seed
    for slrs in (1, 2, 3):  # the first feasible candidate of every segment, composed over SLRs
        a, b = want, got
        for _ in range(slrs - 1):
            a = np.take_along_axis(want, a, axis=1)
            b = np.take(got.ravel(), b * nt + np.arange(nt))
        assert np.array_equal(sg._first_of_reach_by_start(b), sg._first_of_reach(a, n)), (seed, slrs)


def test_packing_layout_and_the_fallback():
    """Field r is bit_length(budget + 1) + 1 wide; over 64 bits no packing, and the tables then
    take the column-wise sweep (still equal to the definition: test_partition_tables)."""
    assert sg._packing(np.array([0, 1, 2, 6])) == [0, 2, 5, 8]
    assert sg._packing(np.array([2**31, 2**31])) is None  # 33 + 33 bits
    assert sg._packing(np.array([2**30 - 1, 2**30 - 1])) == [0, 32]  # 32 + 32 bits: fits
    # every preset board's per-SLR budget packs (the planner's tables take the packed sweep)
    from asymap.cluster.boards import all_board_specs

    for spec in all_board_specs():
        assert sg._packing(cm.slr_budget(spec, 1.0)) is not None, spec.name


def test_min_feasible_T_without_packing_is_the_same(monkeypatch):
    """The achievable tables of real menus with and without the packed sweep."""
    from asymap.cluster.boards import all_board_specs

    g = graph_from_model(build_zoo_model("resnet18", 32, width_mult=0.5), weights=False)
    infos = cm.layer_infos(g, True, 16)
    for spec in all_board_specs()[:4]:
        bud = cm.slr_budget(spec, 0.8)
        menus = cm.board_menus(infos, spec, cm.OFFCHIP)
        ts = np.unique(np.concatenate([m.cycles for m in menus]))
        packed = sg.min_feasible_T(menus, bud, ts, spec.slrs)
        with monkeypatch.context() as mp:
            mp.setattr(sg, "_packing", lambda b: None)
            plain = sg.min_feasible_T(menus, bud, ts, spec.slrs)
        assert np.array_equal(packed, plain), spec.name


@pytest.mark.parametrize("width", [16, 32])
def test_infos_of_a_second_width_equal_infos_built_alone(width):
    g = graph_from_model(build_zoo_model("resnet18", 32, width_mult=0.5), weights=False)
    base = cm.layer_infos(g, True, 8)
    alone = cm.layer_infos(g, True, width)
    like = cm.layer_infos(g, True, width, like=base)
    for a, b in zip(alone, like, strict=True):
        assert a.signature == b.signature == cm._signature(a)
        da, db = dataclasses.asdict(a), dataclasses.asdict(b)
        for k in da:
            if k in ("options", "layer"):
                continue
            assert da[k] == db[k], k
        assert a.layer is b.layer
        for f in dataclasses.fields(a.options):
            assert np.array_equal(getattr(a.options, f.name), getattr(b.options, f.name))
