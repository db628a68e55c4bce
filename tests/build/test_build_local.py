"""asymap build with the local executor, on fake trees whose csim step really runs g++."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from asymap_build_fixtures import runs, write_board

from asymap.build.state import load_state
from asymap.build.tools import find_tool
from asymap.codegen.hlsinc import ap_types_dir

pytestmark = pytest.mark.csim


def _state(out: Path) -> dict:
    return json.loads((out / "build.json").read_text())["boards"]


def test_dry_run_prints_exact_commands(make_out_tree, run_cli):
    out = make_out_tree({"b0": {}, "b1": {}})
    p = run_cli("build", out, "--step", "csim", "--dry-run", check=True)
    lines = p.stdout.strip().splitlines()
    ap = ap_types_dir()
    assert lines == [f"cd {out.resolve() / b} && env AP_TYPES_INC={ap} make csim" for b in ("b0", "b1")]
    p = run_cli("build", out, "--step", "csynth", "--dry-run", check=True)
    assert p.stdout.splitlines()[0].endswith("&& v++ -c --mode hls --config hls_config.cfg --work_dir hls_b0")
    p = run_cli("build", out, "--step", "csynth", "--tcl", "--dry-run", check=True)
    assert p.stdout.splitlines()[0].endswith("&& env ASYMAP_HLS_STEPS=csynth vitis_hls -f run_hls.tcl")
    p = run_cli("build", out, "--step", "link", "--platform", "/opt/p/u250.xpfm", "--dry-run", check=True)
    assert p.stdout.splitlines()[1].endswith(
        "&& v++ --link --target hw --platform /opt/p/u250.xpfm --config connectivity.cfg -o b1.xclbin hls_b1/top.xo")
    assert not (out / "build.json").exists() and runs(out / "b0") == 0


def test_local_build_keeps_going_and_records_everything(make_out_tree, run_cli):
    out = make_out_tree({"b0": {}, "bad": {"rc": 3}, "b2": {}})
    p = run_cli("build", out, "--step", "csim", "--jobs", "2")
    assert p.returncode == 1, p.stderr
    assert "2 done, 1 failed" in p.stdout and "failed: bad" in p.stdout
    st = _state(out)
    assert [st[b]["csim"]["state"] for b in ("b0", "bad", "b2")] == ["done", "failed", "done"]
    assert st["b0"]["csim"]["returncode"] == 0 and st["bad"]["csim"]["returncode"] == 2  # make reports 2
    for b in ("b0", "bad", "b2"):
        rec = st[b]["csim"]
        assert rec["start"] <= rec["end"] and rec["command"][-1] == "csim" and rec["command"][-2].endswith("/make")
        assert rec["log"] == f"{b}/logs/csim.log"
        assert f"board {b} checksum" in (out / rec["log"]).read_text()
    assert (out / "b0/.build/csim.ok").exists() and not (out / "bad/.build/csim.ok").exists()


def test_resume_skips_up_to_date_boards_and_reruns_changed_ones(make_out_tree, run_cli):
    out = make_out_tree({"b0": {}, "b1": {}, "bad": {"rc": 1}})
    run_cli("build", out, "--step", "csim")
    assert [runs(out / b) for b in ("b0", "b1", "bad")] == [1, 1, 1]
    p = run_cli("build", out, "--step", "csim", "--resume")
    assert [runs(out / b) for b in ("b0", "b1", "bad")] == [1, 1, 2]  # only the failed board again
    assert "2 skipped" in p.stdout
    future = time.time() + 5
    os.utime(out / "b1" / "main.cpp", (future, future))
    run_cli("build", out, "--step", "csim", "--resume")
    assert [runs(out / b) for b in ("b0", "b1", "bad")] == [1, 2, 3]
    run_cli("build", out, "--step", "csim")  # without --resume everything runs
    assert [runs(out / b) for b in ("b0", "b1", "bad")] == [2, 3, 4]


def _procs_in(d: Path) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if Path(os.readlink(f"/proc/{pid}/cwd")) == d:
                    found.append(int(pid))
            except OSError:
                pass
    return found


def _wait_for(pred, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if pred():
                return True
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_stops_children_and_resume_finishes_the_rest(make_out_tree, run_cli, sig):
    out = make_out_tree({"a": {}, "slow": {"delay": 60}, "c": {}})
    exe = Path(sys.executable).parent / "asymap"
    proc = subprocess.Popen([str(exe), "build", str(out), "--step", "csim", "--jobs", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert _wait_for(lambda: _state(out)["slow"]["csim"]["state"] == "running"), proc.communicate(timeout=5)
    assert _wait_for(lambda: _procs_in(out.resolve() / "slow"))
    # the csim target has started (its run is recorded) before the signal: on a loaded machine the
    # child can exist for a while before make gets that far
    assert _wait_for(lambda: runs(out / "slow") == 1)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted" in err
    st = _state(out)
    assert st["a"]["csim"]["state"] == "done"
    assert st["slow"]["csim"]["state"] == "failed" and st["slow"]["csim"]["reason"] == "interrupted"
    assert st["c"]["csim"]["state"] == "pending"
    assert _wait_for(lambda: not _procs_in(out.resolve() / "slow"), 10), "children left running"
    write_board(out / "slow", "slow", delay=0)  # the user fixes the slow board; a stays untouched
    p = run_cli("build", out, "--step", "csim", "--resume")
    assert p.returncode == 0, p.stderr
    assert [runs(out / b) for b in ("a", "slow", "c")] == [1, 2, 1]
    assert {b: r["csim"]["state"] for b, r in _state(out).items()} == {"a": "done", "slow": "done", "c": "done"}


def test_json_output(make_out_tree, run_cli):
    out = make_out_tree({"b0": {}, "bad": {"rc": 1}})
    p = run_cli("build", out, "--step", "csim", "--json")
    doc = json.loads(p.stdout)
    assert p.returncode == 1 and doc["ok"] is False and doc["failed"] == ["bad"] and doc["ran"] == ["b0"]
    assert doc["boards"]["b0"]["state"] == "done"


def test_missing_vitis_is_one_line(make_out_tree, run_cli, assert_user_error, monkeypatch):
    out = make_out_tree({"b0": {}})
    for var in ("XILINX_VITIS", "XILINX_HLS"):
        monkeypatch.delenv(var, raising=False)
    p = run_cli("build", out, "--step", "csynth")
    assert_user_error(p, "'v++'", "settings64.sh")
    p = run_cli("build", out, "--step", "csynth", "--tcl")
    assert_user_error(p, "'vitis_hls'")
    p = run_cli("build", out, "--step", "link")
    assert_user_error(p, "--platform")
    assert not (out / "build.json").exists()


def test_tools_found_under_xilinx_homes(tmp_path):
    bin_dir = tmp_path / "Vitis" / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("v++", "vitis-run"):
        (bin_dir / name).write_text("#!/bin/sh\n")
        (bin_dir / name).chmod(0o755)
    env = {"PATH": "/nonexistent", "XILINX_VITIS": str(tmp_path / "Vitis")}
    assert find_tool("v++", env) == str(bin_dir / "v++")
    assert find_tool("vitis_hls", env) is None
    assert find_tool("vitis_hls", {**env, "XILINX_HLS": str(tmp_path / "Vitis")}) is None


def test_bad_trees_are_one_line_and_keep_outputs(make_out_tree, run_cli, assert_user_error, tmp_path):
    assert_user_error(run_cli("build", tmp_path / "nope", "--step", "csim"), "nope", "asymap generate")
    old = make_out_tree({"b0": {}}, name="old", version="0.0.9")
    assert_user_error(run_cli("build", old, "--step", "csim"), "chain.json", "0.0.9")
    plain = tmp_path / "plain"
    plain.mkdir()
    assert_user_error(run_cli("build", plain, "--step", "csim"), "chain.json")
    out = make_out_tree({"b0": {}})
    run_cli("build", out, "--step", "csim", check=True)
    (out / "build.json").write_text('{"schema": 1, "boards": {"b0": {"csim": {"state": "do')
    p = run_cli("build", out, "--step", "csim")
    assert_user_error(p, "build.json", "corrupted")
    assert (out / "build.json").read_text().endswith('"do')  # left for the user to inspect
    assert (out / "b0" / "sim").exists() and (out / "b0/.build/csim.ok").exists()
    assert_user_error(run_cli("build", out, "--step", "csim", "--jobs", "0"), "--jobs")


def test_fake_vitis_csynth_end_to_end(make_out_tree, run_cli, tmp_path):
    """csynth through a stand-in v++ found via $XILINX_VITIS: the command line and layout Vitis sees."""
    out = make_out_tree({"b0": {}, "b1": {}})
    vitis = tmp_path / "Vitis"
    (vitis / "bin").mkdir(parents=True)
    fake = vitis / "bin" / "v++"
    fake.write_text('#!/bin/sh\necho "v++ $*"\nmkdir -p "$7/hls/syn/report"\n'
                    'echo "<profile/>" > "$7/hls/syn/report/csynth.xml"\n')
    fake.chmod(0o755)
    env_path = os.environ["PATH"]
    p = subprocess.run([str(Path(sys.executable).parent / "asymap"), "build", str(out), "--step", "csynth", "-q"],
                       env={**os.environ, "XILINX_VITIS": str(vitis), "PATH": env_path}, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    for b in ("b0", "b1"):
        assert f"v++ -c --mode hls --config hls_config.cfg --work_dir hls_{b}" in (out / b / "logs/csynth.log").read_text()
        assert (out / b / f"hls_{b}/hls/syn/report/csynth.xml").exists()
    st = load_state(out)
    assert st.boards["b0"]["csynth"].command[0] == str(fake)


def test_build_section_of_cluster_yaml_is_checked(make_out_tree, run_cli, assert_user_error, tmp_path):
    out = make_out_tree({"b0": {}})
    c = tmp_path / "c.yaml"
    c.write_text("boards:\n  - {name: a, type: u250}\nbuild: {cpus: 2, memory: 8G}\n")
    assert_user_error(run_cli("build", out, "--step", "csim", "--executor", "slurm", "--cluster", c),
                      "build.memory", "mem")
    c.write_text("boards:\n  - {name: a, type: u250}\nbuild: {cpus: 2, mem_gb: 8, time: '01:00:00', jobs: 1}\n")
    from asymap.build.slurm import SlurmOptions

    opts = SlurmOptions.from_build_section({"cpus": 2, "mem_gb": 8, "time": "01:00:00"}, "c.yaml").merged(cpus=4)
    assert opts.sbatch_args() == ["--cpus-per-task=4", "--mem=8192M", "--time=01:00:00"]
    p = run_cli("build", out, "--step", "csim", "--cluster", c)  # local: jobs from the build section
    assert p.returncode == 0, p.stderr
