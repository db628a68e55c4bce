"""Cluster presets by bare name from any directory, and 'asymap clusters' listing them."""

from __future__ import annotations

import json

from asymap.cluster.presets import presets


def test_clusters_lists_every_preset_with_a_description(run_cli, repo_root):
    r = run_cli("clusters", "--json", check=True)
    rows = json.loads(r.stdout)
    names = [row["name"] for row in rows]
    assert names == sorted(p.stem for p in (repo_root / "clusters").glob("*.yaml"))
    assert {"edge4", "example16"} <= set(names)
    assert all(row["description"] and row["boards"] >= 1 for row in rows)
    text = run_cli("clusters", check=True).stdout.splitlines()
    assert text[0].split()[:3] == ["name", "boards", "links"] and len(text) == len(names) + 1
    assert any(ln.startswith("edge4 ") and "Four embedded boards" in ln for ln in text)


def test_bare_preset_names_from_another_directory(run_cli, tmp_path):
    run_cli("zoo", "tiny", "--input-size", "32", "--width-mult", "0.5", "-o", "t.onnx", "-q", check=True)
    for spec in ("edge4", "edge4.yaml", "clusters/edge4.yaml"):
        r = run_cli("plan", "t.onnx", spec, "--json", check=True)
        plan = json.loads(r.stdout)
        assert plan["cluster"]["name"] == "edge4" and plan["cluster"]["path"] == "edge4.yaml"


def test_a_local_file_wins_over_a_preset(run_cli, tmp_path):
    (tmp_path / "edge4").write_text("boards:\n  - {name: only, type: u250}\n")
    run_cli("zoo", "tiny", "--input-size", "32", "--width-mult", "0.5", "-o", "t.onnx", "-q", check=True)
    plan = json.loads(run_cli("plan", "t.onnx", "edge4", "--json", check=True).stdout)
    assert plan["cluster"]["boards"] == 1


def test_unknown_name_lists_the_presets(run_cli, assert_user_error):
    run_cli("zoo", "tiny", "--input-size", "32", "--width-mult", "0.5", "-o", "t.onnx", "-q", check=True)
    r = run_cli("plan", "t.onnx", "edge5")
    assert_user_error(r, "edge5: cluster file not found", "edge4", "asymap clusters")
    assert len(presets()) >= 5


def test_boards_lists_a_description_for_every_board(run_cli):
    rows = json.loads(run_cli("boards", "--json", check=True).stdout)
    assert rows and all(r["description"].endswith(".") and len(r["description"]) > 10 for r in rows)
    table = run_cli("boards", check=True).stdout.splitlines()
    assert table[0].rstrip().endswith("description")
    assert any("AMD Alveo U250" in ln for ln in table)
