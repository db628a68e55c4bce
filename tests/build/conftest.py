"""Fixtures for the build stage: small fake output trees and a real single-node Slurm cluster.

``make_out_tree`` writes an OUT/ tree shaped like ``asymap generate``'s (chain.json + one project
directory per board with a Makefile) whose ``csim`` target really compiles and runs a tiny C++
program with g++, so the executors are tested on a real build step without Vitis.

``slurm_cluster`` starts munged (when not running), slurmctld and slurmd on this host with a
slurm.conf generated into a temp dir, on free non-default ports, and stops what it started by pid.
It is session-scoped and only used by tests marked ``slurm`` + ``xdist_group("slurm")``, so one
xdist worker owns it.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
from asymap_build_fixtures import SLURM_TOOLS, ensure_munge_key, free_port, munge_ok, slurm_conf_text, write_board

from asymap import __version__


@pytest.fixture
def make_out_tree(tmp_path):
    """``make_out_tree(spec, name="out")`` with spec = {board: {"rc": int, "delay": s}}."""

    def _make(spec: dict[str, dict], name: str = "out", version: str = __version__) -> Path:
        out = tmp_path / name
        out.mkdir()
        for i, (board, opts) in enumerate(spec.items()):
            write_board(out / board, board, rc=opts.get("rc", 0), delay=opts.get("delay", 0), n=1000 + 17 * i)
        chain = {"schema": 1, "asymap_version": version, "top": "top",
                 "boards": [{"name": b, "dir": b} for b in spec]}
        (out / "chain.json").write_text(json.dumps(chain, indent=2))
        return out

    return _make


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory):
    """A running single-node Slurm; yields the path of its slurm.conf (also exported as SLURM_CONF)."""
    missing = [t for t in SLURM_TOOLS if not shutil.which(t)]
    if missing:
        pytest.fail(f"Slurm integration tests need {', '.join(missing)}: run ./scripts/test, which installs "
                    f"slurm-wlm and munge (apt-get install slurm-wlm munge)")
    if os.geteuid() != 0:
        pytest.fail("Slurm integration tests start slurmctld/slurmd/munged and must run as root")
    d = tmp_path_factory.mktemp("slurm")
    (d / "state").mkdir()
    (d / "spool").mkdir()
    started: list[subprocess.Popen] = []
    try:
        if not munge_ok():
            ensure_munge_key()
            pw = pwd.getpwnam("munge")
            for p in (Path("/run/munge"), Path("/var/lib/munge"), Path("/var/log/munge")):
                p.mkdir(parents=True, exist_ok=True)
                os.chown(p, pw.pw_uid, pw.pw_gid)
            Path("/run/munge").chmod(0o755)
            started.append(subprocess.Popen(["munged", "-F"], user="munge", group="munge",
                                            stdout=open(d / "munged.out", "wb"), stderr=subprocess.STDOUT))
            for _ in range(100):
                if munge_ok():
                    break
                time.sleep(0.1)
            else:
                pytest.fail(f"munged did not start; see {d}/munged.out and /var/log/munge/munged.log")
        host = socket.gethostname().split(".")[0]
        conf = d / "slurm.conf"
        conf.write_text(slurm_conf_text(d, host, free_port(), free_port(), os.cpu_count() or 1, 4000))
        os.environ["SLURM_CONF"] = str(conf)
        for daemon in ("slurmctld", "slurmd"):
            started.append(subprocess.Popen([daemon, "-D", "-f", str(conf)], stdout=open(d / f"{daemon}.out", "wb"),
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))
        deadline = time.monotonic() + 60
        while True:
            p = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=30)
            if p.returncode == 0 and p.stdout.strip() == "idle":
                break
            if time.monotonic() > deadline or any(x.poll() is not None for x in started):
                pytest.fail(f"single-node Slurm did not come up (sinfo: {p.stdout.strip() or p.stderr.strip()}); see logs in {d}")
            time.sleep(0.3)
        yield conf
    finally:
        for proc in reversed(started):
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        os.environ.pop("SLURM_CONF", None)
