"""Board library and cluster files: presets load, every user mistake is one line with exit 2."""

from __future__ import annotations

import json

import pytest
import yaml

from asymap.cluster.boards import MACS_PER_DSP, all_board_specs, board_types
from asymap.cluster.load import cluster_from_dict, load_cluster
from asymap.errors import UserError

REQUIRED_TYPES = ["u250", "u280", "u55c", "u50", "vcu118", "vc709", "zcu102", "zc706", "zcu104", "pynq-z2"]


def test_board_library_has_every_type_with_a_source(repo_root):
    assert set(REQUIRED_TYPES) <= set(board_types())
    for spec in all_board_specs():
        text = (repo_root / "boards" / f"{spec.type}.yaml").read_text()
        assert "Source" in text or "Sources" in text, spec.type
        assert spec.dsp_type in MACS_PER_DSP and spec.dsp > 0 and spec.bram36 > 0 and spec.clock_mhz > 0
        assert spec.ports, spec.type
        assert spec.platform and spec.resources_source, spec.type  # whose leftover the budget is, and why
        dev = dict(spec.device)
        assert all(getattr(spec, k) <= v for k, v in dev.items()), spec.type  # a shell never adds resources
    specs = {s.type: s for s in all_board_specs()}
    # Alveo budgets are what the XDMA shell leaves to kernels, not the device totals (UG1120)
    assert specs["u250"].dsp == 11508 and dict(specs["u250"].device)["dsp"] == 12288 and specs["u250"].macs_per_dsp == 2
    assert specs["u280"].dsp == 8490 and specs["u280"].bram36 == 1487 and specs["u280"].slrs == 3
    assert specs["u280"].reference_for("ResNet-152").ips == 259.9
    assert specs["u280"].clock_mhz == 250 and specs["u280"].clock_source
    assert specs["zc706"].dsp_type == "DSP48E1" and specs["zc706"].macs_per_dsp == 1


@pytest.mark.parametrize("name", ["example16", "mixed4", "ring8", "pair2", "u280x16"])
def test_presets_load(repo_root, name):
    c = load_cluster(repo_root / "clusters" / f"{name}.yaml")
    assert c.boards and c.sha256 and len(c.sha256) == 64
    for ln in c.links:
        assert c.link(ln.a, ln.b) is ln and c.link(ln.b, ln.a) is ln
        assert ln.width_bits == (64 if ln.gbps <= 25 else 512)


def test_example16_is_asymmetric(repo_root):
    c = load_cluster(repo_root / "clusters" / "example16.yaml")
    assert len(c.boards) == 16
    assert len({b.type for b in c.boards}) >= 4
    assert len({ln.gbps for ln in c.links}) >= 2


def test_ring8_is_a_homogeneous_ring(repo_root):
    c = load_cluster(repo_root / "clusters" / "ring8.yaml")
    assert len(c.boards) == 8 and len({b.type for b in c.boards}) == 1
    assert all(len(c.neighbors(b.name)) == 2 for b in c.boards)


def test_inline_board_and_build_section(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump({
        "boards": [{"name": "custom", "resources": {"dsp": 900, "bram36": 545, "uram": 0, "lut": 218600,
                                                     "clock_mhz": 200, "mem_gbps": 12.8}},
                   {"name": "big", "type": "U250"}],
        "links": [{"a": "custom", "b": "big", "gbps": 10}],
        "build": {"cpus": 4, "mem_gb": 16, "time": "01:00:00", "partition": "fpga", "account": "x"},
        "host": {"name": "h", "attach": "big"},
    }))
    c = load_cluster(p)
    assert c.board("custom").spec.macs_per_dsp == 1  # inline boards default to DSP48E1
    assert c.board("big").spec.type == "u250"
    assert c.build["partition"] == "fpga" and c.build["account"] == "x"
    assert c.links[0].latency_ns == 0.0


GOOD = {"boards": [{"name": "a", "type": "u250"}, {"name": "b", "type": "zcu102"}],
        "links": [{"a": "a", "b": "b", "gbps": 10, "latency_ns": 500}]}


def _bad(**patch):
    d = json.loads(json.dumps(GOOD))
    for k, v in patch.items():
        exec(k, {"d": d, "v": v})
    return d


@pytest.mark.parametrize(
    "data, fragments",
    [
        (_bad(**{"d['boards'][1]['type'] = v": "zcu012"}), ["unknown board type 'zcu012'", "did you mean 'zcu102'"]),
        (_bad(**{"d['linkz'] = d.pop('links')": None}), ["unknown key 'linkz'", "did you mean 'links'"]),
        (_bad(**{"d['links'][0]['gbsp'] = d['links'][0].pop('gbps')": None}), ["unknown key 'gbsp'", "did you mean 'gbps'"]),
        (_bad(**{"d['links'][0]['b'] = v": "c"}), ["link to missing board 'c'"]),
        (_bad(**{"d['links'] = v": []}), ["disconnected", "'b'"]),
        (_bad(**{"d['links'][0]['gbps'] = v": 0}), ["'gbps' must be positive"]),
        (_bad(**{"d['links'][0]['gbps'] = v": -10}), ["'gbps' must be positive"]),
        (_bad(**{"d['boards'][1]['name'] = v": "a"}), ["duplicate board name 'a'"]),
        (_bad(**{"d['boards'][0] = v": {"name": "a", "resources": {"dsp": 1}}}), ["missing 'bram36'"]),
        (_bad(**{"d['build'] = v": {"cpus": "many"}}), ["build: 'cpus'"]),
    ],
)
def test_cluster_errors_are_one_line(tmp_path, run_cli, assert_user_error, data, fragments):
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump(data))
    model = tmp_path / "m.onnx"
    model.write_bytes(b"")  # never read: the cluster is validated first
    proc = run_cli("plan", str(model), str(p))
    assert_user_error(proc, "bad.yaml", *fragments)


def test_missing_and_invalid_cluster_file(tmp_path, run_cli, assert_user_error):
    model = tmp_path / "m.onnx"
    model.write_bytes(b"")
    assert_user_error(run_cli("plan", str(model), str(tmp_path / "nope.yaml")), "nope.yaml", "not found")
    bad = tmp_path / "broken.yaml"
    bad.write_text("boards: [\n")
    assert_user_error(run_cli("plan", str(model), str(bad)), "broken.yaml", "not valid YAML")


def test_boards_command_lists_the_library(run_cli):
    proc = run_cli("boards", check=True)
    for t in REQUIRED_TYPES:
        assert f"\n{t} " in "\n" + proc.stdout, t
    data = json.loads(run_cli("boards", "--json", check=True).stdout)
    assert {d["type"] for d in data} >= set(REQUIRED_TYPES)
    assert all(d["peak_gops"] > 0 for d in data)


def test_clock_override_and_reference_validation(tmp_path):
    c = cluster_from_dict({"boards": [{"name": "a", "type": "u280", "clock_mhz": 200}, {"name": "b", "type": "u280"}],
                           "links": [{"a": "a", "b": "b", "gbps": 100}]})
    assert c.board("a").spec.clock_mhz == 200 and "cluster file" in c.board("a").spec.clock_source
    assert c.board("b").spec.clock_mhz == 250
    assert c.board("a").spec.cost_key() != c.board("b").spec.cost_key()  # planned as different types
    with pytest.raises(UserError, match="clock_mhz"):
        cluster_from_dict({"boards": [{"name": "a", "type": "u280", "clock_mhz": 0}], "links": []})
    with pytest.raises(UserError, match=r"reference\[0\]"):
        cluster_from_dict({"boards": [{"name": "a", "resources": {"dsp": 1, "bram36": 1, "uram": 0, "lut": 10,
                                                                  "clock_mhz": 100, "mem_gbps": 1,
                                                                  "reference": [{"model": "x"}]}}], "links": []})
    with pytest.raises(UserError, match="host: 'gbps'"):
        cluster_from_dict({"boards": [{"name": "a", "type": "u280"}], "links": [],
                           "host": {"attach": "a", "gbps": -1}})
