"""Model zoo: exact torchvision parameter counts and MACs, determinism, width/size options."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest

from asymap.frontend import ir
from asymap.frontend.onnx_import import graph_from_model
from asymap.frontend.zoo import ZOO_NAMES, build_zoo_model

# torchvision's published parameter counts; MACs (conv + fc) from the same definitions.
TORCHVISION = {
    "resnet18": (11_689_512, 1.814e9),
    "resnet34": (21_797_672, 3.664e9),
    "resnet50": (25_557_032, 4.089e9),
    "resnet101": (44_549_160, 7.801e9),
    "mobilenetv2": (3_504_872, 0.3008e9),
    "densenet121": (7_978_856, 2.834e9),
    "shufflenetv2": (2_278_604, 0.146e9),  # MACs: the ShuffleNet V2 paper's 146 MFLOPs (1x)
}


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_torchvision_params_and_macs(name):
    params, macs = TORCHVISION[name]
    g = graph_from_model(build_zoo_model(name, 224), name)
    assert g.params == params
    assert abs(g.macs - macs) <= 0.01 * macs


def test_vgg16_params():
    g = graph_from_model(build_zoo_model("vgg16", 224), "vgg16")
    assert g.params == 138_357_544
    assert abs(g.macs - 15.47e9) <= 0.01 * 15.47e9
    assert [lay.op for lay in g.layers].count(ir.FC) == 3


def test_resnet152_via_cli_inspect(run_cli, tmp_path):
    """The issue's acceptance check: `asymap inspect` of ResNet-152 at 224x224."""
    path = tmp_path / "r152.onnx"
    run_cli("zoo", "resnet152", "--input-size", "224", "-o", path, check=True)
    doc = json.loads(run_cli("inspect", path, "--json", check=True).stdout)
    assert doc["totals"]["params"] == 60_192_808
    assert abs(doc["totals"]["macs"] - 11.51e9) <= 0.01 * 11.51e9
    assert doc["totals"]["layers"] == len(doc["layers"]) == 208  # 155 conv + 50 add + maxpool, gap, fc
    assert doc["layers"][0]["name"] == "conv1" and doc["layers"][-1]["op"] == "fc"
    table = run_cli("inspect", path, check=True).stdout
    assert "60,192,808" in table and "total" in table


@pytest.mark.parametrize("name", ZOO_NAMES)
def test_small_sizes_and_width(name):
    m = build_zoo_model(name, 32, 0.25, num_classes=10)
    onnx.checker.check_model(m)
    g = graph_from_model(m, name)
    assert g.input_shape == (3, 32, 32) and g.tensor_shapes[g.output] == (10, 1, 1)
    for lay in g.layers:
        if lay.op == ir.CONV and lay.index > 0:
            assert lay.c_out >= 8 and lay.c_out % 8 == 0, (lay.name, lay.c_out)


def test_deterministic_and_seeded():
    a = build_zoo_model("resnet18", 32, 0.25, seed=3).SerializeToString()
    b = build_zoo_model("resnet18", 32, 0.25, seed=3).SerializeToString()
    c = build_zoo_model("resnet18", 32, 0.25, seed=4).SerializeToString()
    assert a == b and a != c


def test_zoo_cli_writes_model_and_rejects_bad_args(run_cli, assert_user_error, tmp_path):
    out = tmp_path / "t.onnx"
    run_cli("zoo", "tiny", "--input-size", "32", "--width-mult", "0.5", "-o", out, check=True)
    m = onnx.load(str(out))
    assert m.graph.input[0].type.tensor_type.shape.dim[2].dim_value == 32
    assert_user_error(run_cli("zoo", "resnet999", "-o", tmp_path / "x.onnx"), "resnet999", "resnet152")
    assert_user_error(run_cli("zoo", "tiny", "--width-mult", "0", "-o", tmp_path / "x.onnx"), "width")
    assert not (tmp_path / "x.onnx").exists()


def test_inspect_table_rows_match_ir(run_cli, tmp_path):
    path = tmp_path / "inc.onnx"
    onnx.save(build_zoo_model("inception", 32, 0.5), str(path))
    doc = json.loads(run_cli("inspect", path, "--json", check=True).stdout)
    g = graph_from_model(onnx.load(str(path)), "inc")
    assert [r["name"] for r in doc["layers"]] == [lay.name for lay in g.layers]
    assert sum(r["macs"] for r in doc["layers"]) == doc["totals"]["macs"] == g.macs
    assert [r["cut_bytes"] for r in doc["layers"]] == [g.cut_bytes(i) for i in range(len(g))]
    assert {"concat", "avgpool", "maxpool", "gap", "fc"} <= {r["op"] for r in doc["layers"]}
    assert np.all([r["act_bytes"] > 0 for r in doc["layers"]])
