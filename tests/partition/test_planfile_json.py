"""plan.json is written by a fast encoder (planfile.dumps, planfile._plain) that must give exactly
json.dumps(indent=2, sort_keys=True)'s text and dataclasses.asdict's dicts: on real plans and on
random nested values with every edge the encoder handles or hands back to json.dumps."""

from __future__ import annotations

import dataclasses
import json
import math
from collections import OrderedDict, namedtuple

import numpy as np
import onnx
import pytest

from asymap.cluster.load import load_cluster
from asymap.frontend.onnx_import import load_model
from asymap.frontend.zoo import build_zoo_model
from asymap.partition import planfile as pf
from asymap.partition.planner import plan


def _ref(o) -> str:
    return json.dumps(o, indent=2, sort_keys=True)


@pytest.fixture(scope="module")
def r18_plan(tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "r18s.onnx"
    onnx.save(build_zoo_model("resnet18", 32, width_mult=0.5), str(path))
    return plan(load_model(path, weights=False), load_cluster("edge4"), sweep=True, model_path=str(path))


def test_real_plan_text_and_dicts(r18_plan):
    p = r18_plan
    d = p.to_dict()
    assert p.to_json() == _ref(d) + "\n"
    assert [pf._plain(b) for b in p.boards] == [dataclasses.asdict(b) for b in p.boards]
    assert [ln.to_dict() for ln in p.links] == [
        {**{k: v for k, v in dataclasses.asdict(ln).items() if k not in ("src", "dst")}, "from": ln.src, "to": ln.dst}
        for ln in p.links]
    # the dicts are copies: editing one leaves the plan as it was
    d["boards"][0]["resources"]["dsp"][0] = -1
    d["boards"][0]["layers"][0]["factors"]["pe"] = -1
    assert p.boards[0].resources["dsp"][0] != -1 and p.boards[0].layers[0].factors["pe"] != -1
    assert pf.Plan.from_dict(json.loads(p.to_json())).to_json() == p.to_json()


def _random_value(rng, depth=0):
    kind = rng.integers(0, 12 if depth < 4 else 7)
    if kind == 0:
        return None
    if kind == 1:
        return bool(rng.integers(0, 2))
    if kind == 2:
        return int(rng.integers(-10**12, 10**12)) * int(rng.choice([1, 10**9]))
    if kind == 3:
        return float(rng.choice([0.0, -0.0, 1e-300, 1.5e308, math.nan, math.inf, -math.inf, 1 / 3, 2.5e-7, 1e16]))
    if kind == 4:
        return float(rng.standard_normal() * 10.0 ** int(rng.integers(-8, 9)))
    if kind in (5, 6):
        return "".join(rng.choice(list('ab "\\\n\t\u00e9\u4e2d\U0001f600/\x01')) for _ in range(rng.integers(0, 8)))
    if kind in (7, 8):
        return [_random_value(rng, depth + 1) for _ in range(rng.integers(0, 4))]
    if kind == 9:
        return tuple(_random_value(rng, depth + 1) for _ in range(rng.integers(0, 3)))
    return {str(_random_value(rng, 5)) + str(i): _random_value(rng, depth + 1) for i in range(rng.integers(0, 4))}


def test_random_values_give_json_dumps_text():
    rng = np.random.default_rng(12)
    for _ in range(2000):
        v = {"x": _random_value(rng)}
        assert pf.dumps(v) == _ref(v)


Point = namedtuple("Point", "x y")


@dataclasses.dataclass
class _Inner:
    a: list
    b: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class _Outer:
    inner: _Inner
    items: list
    pair: tuple
    pt: Point
    od: OrderedDict
    arr: object


@pytest.mark.parametrize("value", [
    {1: "int key"}, {"a": 1, 2: "mixed keys"}, {True: 1}, {None: 1}, {1.5: 2},  # json.dumps converts the keys
    {"n": np.int64(3)},  # not JSON: json.dumps's own TypeError
    {"f": np.float64(0.1)},  # a float subclass: json.dumps writes it
    OrderedDict([("b", 1), ("a", 2)]), Point(1, 2), [True, 1, 1.0],
])
def test_edge_values_go_to_json_dumps(value):
    try:
        want = _ref(value)
    except TypeError as exc:
        with pytest.raises(TypeError, match=str(exc)):
            pf.dumps(value)
        return
    assert pf.dumps(value) == want


def test_cycles_are_json_dumps_errors():
    a: list = []
    a.append(a)
    with pytest.raises(ValueError, match="Circular reference"):
        pf.dumps({"a": a})


def test_plain_equals_asdict_on_every_container_kind():
    o = _Outer(_Inner([1, {"k": [2, 3]}], {"x": (4, 5)}), [_Inner([]), None], (1, [2]), Point([1], {"y": 2}),
               OrderedDict([("z", [1])]), np.arange(3))
    got, want = pf._plain(o), dataclasses.asdict(o)
    assert type(got["pt"]) is Point and type(got["od"]) is OrderedDict and type(got["pair"]) is tuple
    np.testing.assert_array_equal(got.pop("arr"), want.pop("arr"))
    assert got == want
    assert got["inner"]["a"][1] is not o.inner.a[1]  # containers are copies, as asdict's
