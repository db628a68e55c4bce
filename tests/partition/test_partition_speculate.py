"""The second core of the exact inner solve (partition/speculate.py): whatever knapsack answers a
helper adds to ``_Knapsack.shared``, and whenever, ``planner._tighten`` ends with the plan, the
bound, the tables and the choices of the serial run.

* in one process: every answer of a finished serial run merged ahead of time (a helper that was
  always first) changes nothing but how many questions are solved;
* with a real forked helper (forced, whatever the machine's load), and with one that dies at once.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from test_partition_exact import _problem, _raw_planner

SEEDS = range(60)


def _tightened(pb, n, work=10**6):
    from asymap.partition import planner

    lb = planner._relaxed_bound(pb, n)
    res = planner.solve_order(pb, n, lb)
    if not np.isfinite(res.interval):
        return None
    res, bound = planner._tighten(pb, res, lb, n, 48, planner.EXACT_BOARDS, work=work)
    return res.interval, res.path, res.cuts, bound


def _same_tables(a, b) -> bool:
    for ta, tb in zip(a.types, b.types):
        if not (np.array_equal(ta.table.lower, tb.table.lower) and np.array_equal(ta.table.interval, tb.table.interval)
                and np.array_equal(ta.table.mode, tb.table.mode) and ta.choices == tb.choices):
            return False
    return True


def _answers(pb) -> dict:
    from asymap.partition import planner

    return {key3: dict(ks.shared) for key3, ks in planner._knapsacks(pb)}


def _counting_fits(monkeypatch) -> list:
    from asymap.partition import segments

    calls = [0]
    fits = segments._Knapsack._fits

    def counted(self, *a):
        calls[0] += 1
        return fits(self, *a)

    monkeypatch.setattr(segments._Knapsack, "_fits", counted)
    return calls


@pytest.mark.parametrize("small", [False, True])
def test_answers_merged_ahead_of_time_change_nothing(small, monkeypatch):
    from asymap.partition import planner

    _raw_planner(monkeypatch)
    if small:  # knapsacks give up: GIVE_UP answers and work that runs out are replayed too
        for name, value in (("PROBE_WORK", 40), ("SETTLE_WORK", 40), ("RETRY_WORK", 80)):
            monkeypatch.setattr(planner, name, value)
    calls = _counting_fits(monkeypatch)
    saved = 0
    for seed in SEEDS:
        (L, n, *_), pb = _problem(seed)
        ahead = copy.deepcopy(pb)
        calls[0] = 0
        want = _tightened(pb, n)
        serial = calls[0]
        for (t, w, md), shared in _answers(pb).items():
            planner._knapsack(ahead, t, md, w)[0].shared.update(shared)
        calls[0] = 0
        got = _tightened(ahead, n)
        assert got == want, seed
        assert _same_tables(pb, ahead), seed
        assert calls[0] <= serial, seed
        saved += serial - calls[0]
    assert saved, "no answer was taken from the merged ones: the test tests nothing"


def test_forked_helper_gives_the_serial_result(monkeypatch):
    from asymap.partition import planner, speculate
    from asymap.util import forked

    _raw_planner(monkeypatch)
    started = []
    start = speculate.SettleHelper.start

    def counted(*a, **k):
        h = start(*a, **k)
        started.append(h is not None)
        return h

    monkeypatch.setattr(speculate.SettleHelper, "start", counted)
    for seed in SEEDS:
        (L, n, *_), pb = _problem(seed)
        forked_pb = copy.deepcopy(pb)
        monkeypatch.setattr(forked, "_can_fork", lambda: False)
        want = _tightened(pb, n)
        monkeypatch.setattr(forked, "_can_fork", lambda: True)
        got = _tightened(forked_pb, n)
        assert got == want, seed
        assert _same_tables(pb, forked_pb), seed
    assert any(started), "no helper was started: the test tests nothing"
    assert planner.SettleHelper is speculate.SettleHelper


def test_a_helper_that_dies_changes_nothing(monkeypatch):
    from asymap.partition import speculate
    from asymap.util import forked

    _raw_planner(monkeypatch)

    def dies(*a, **k):
        raise RuntimeError("helper lost")

    for seed in range(0, 60, 3):
        (L, n, *_), pb = _problem(seed)
        other = copy.deepcopy(pb)
        monkeypatch.setattr(forked, "_can_fork", lambda: False)
        want = _tightened(pb, n)
        monkeypatch.setattr(forked, "_can_fork", lambda: True)
        monkeypatch.setattr(speculate, "_serve", dies)
        got = _tightened(other, n)
        monkeypatch.undo()
        _raw_planner(monkeypatch)
        assert got == want, seed
        assert _same_tables(pb, other), seed
