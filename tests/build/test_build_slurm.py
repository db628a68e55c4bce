"""asymap build --executor slurm against a real single-node Slurm (see conftest.slurm_cluster)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from asymap_build_fixtures import runs, slurm_conf_text, write_board

pytestmark = [pytest.mark.slurm, pytest.mark.xdist_group("slurm"), pytest.mark.csim]


def _state(out: Path) -> dict:
    return json.loads((out / "build.json").read_text())["boards"]


def _program_output(log: Path) -> list[str]:
    return [ln for ln in log.read_text().splitlines() if ln.startswith("board ")]


def test_slurm_build_matches_local(slurm_cluster, make_out_tree, run_cli, tmp_path):
    spec = {"b0": {}, "bad": {"rc": 4}, "b2": {}}
    local = make_out_tree(spec, name="local")
    remote = make_out_tree(spec, name="remote")
    cluster = tmp_path / "cluster.yaml"
    cluster.write_text("boards:\n  - {name: a, type: u250}\n  - {name: b, type: zcu102}\n"
                       "links:\n  - {a: a, b: b, gbps: 10}\nbuild: {cpus: 1, mem_gb: 0.25, time: '00:10:00'}\n")
    p_local = run_cli("build", local, "--step", "csim")
    p_remote = run_cli("build", remote, "--step", "csim", "--executor", "slurm", "--cluster", cluster)
    assert p_local.returncode == p_remote.returncode == 1, (p_local.stderr, p_remote.stdout, p_remote.stderr)
    sl, sr = _state(local), _state(remote)
    for b in spec:
        assert (sl[b]["csim"]["state"], sl[b]["csim"]["returncode"]) == (sr[b]["csim"]["state"], sr[b]["csim"]["returncode"]), (sl, sr)
        assert _program_output(local / b / "logs/csim.log") == _program_output(remote / b / "logs/csim.log") != []
        assert re.fullmatch(r"\d+_\d+", sr[b]["csim"]["job_id"]) and sr[b]["csim"]["executor"] == "slurm"
    script = remote / ".build" / "csim.sbatch"
    assert script.exists()
    job = sr["b0"]["csim"]["job_id"].split("_")[0]
    show = subprocess.run(["scontrol", "show", "job", "-o", job], capture_output=True, text=True, check=True).stdout
    assert "TimeLimit=00:10:00" in show and "MinMemoryNode=256M" in show and "NumCPUs=1" in show, show
    # and the stamps let --resume skip the two good boards on Slurm too
    p = run_cli("build", remote, "--step", "csim", "--executor", "slurm", "--resume")
    assert [runs(remote / b) for b in spec] == [1, 2, 1], (p.stdout, p.stderr)


def test_slurm_ctrl_c_cancels_and_resume_finishes(slurm_cluster, make_out_tree, run_cli):
    out = make_out_tree({"a": {}, "slow": {"delay": 120}, "c": {"delay": 120}})
    exe = Path(sys.executable).parent / "asymap"
    proc = subprocess.Popen([str(exe), "build", str(out), "--step", "csim", "--executor", "slurm", "--cpus", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            st = _state(out)
            if st["a"]["csim"]["state"] == "done" and st["slow"]["csim"]["state"] == "running":
                break
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail(f"build did not reach the expected state: {proc.communicate()}")
    job = _state(out)["slow"]["csim"]["job_id"].split("_")[0]
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=90)
    assert proc.returncode == 130, err
    st = _state(out)
    assert st["a"]["csim"]["state"] == "done"
    assert st["slow"]["csim"]["state"] == "failed" and st["slow"]["csim"]["reason"] == "interrupted"
    assert st["c"]["csim"]["state"] in ("pending", "failed")
    assert all(r["csim"]["state"] != "running" for r in st.values())
    q = subprocess.run(["squeue", "-h", "-j", job], capture_output=True, text=True)
    assert q.stdout.strip() == "", q.stdout  # scancel'ed: nothing left queued or running
    write_board(out / "slow", "slow", delay=0)
    write_board(out / "c", "c", delay=0)
    p = run_cli("build", out, "--step", "csim", "--executor", "slurm", "--resume")
    assert p.returncode == 0, p.stderr
    assert runs(out / "a") == 1
    assert {b: r["csim"]["state"] for b, r in _state(out).items()} == {"a": "done", "slow": "done", "c": "done"}


def test_unreachable_controller_is_one_line(make_out_tree, run_cli, assert_user_error, tmp_path, monkeypatch):
    out = make_out_tree({"b0": {}})
    d = tmp_path / "deadslurm"
    d.mkdir()
    conf = d / "slurm.conf"
    conf.write_text(slurm_conf_text(d, "vm-does-not-exist", 9, 9, 1, 100))  # port 9: discard, nobody listens
    monkeypatch.setenv("SLURM_CONF", str(conf))
    p = run_cli("build", out, "--step", "csim", "--executor", "slurm")
    assert_user_error(p, "Slurm controller unreachable", "SLURM_CONF")
    assert runs(out / "b0") == 0 and not (out / "build.json").exists() and not (out / ".build").exists()
