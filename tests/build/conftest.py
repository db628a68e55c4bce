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

from asymap import __version__

PROGRAM = r"""#include <cstdio>
int main() {
    long acc = 0;
    for (int i = 0; i < %(n)d; ++i) acc += (long)i * i %% 7;
    std::printf("board %(name)s checksum %%ld\n", acc);
    return %(rc)d;
}
"""

MAKEFILE = """\
.PHONY: csim
csim:
\techo run >> .runs
\tsleep %(delay)s
\t$(CXX) -O0 -o sim main.cpp
\t./sim
"""


def write_board(d: Path, name: str, rc: int = 0, delay: float = 0, n: int = 1000) -> None:
    d.mkdir(parents=True, exist_ok=True)
    (d / "main.cpp").write_text(PROGRAM % {"name": name, "rc": rc, "n": n})
    (d / "Makefile").write_text(MAKEFILE % {"delay": delay})
    (d / "hls_config.cfg").write_text("part=xcu250-figd2104-2L-e\n[hls]\nsyn.top=top\n")


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


def runs(board_dir: Path) -> int:
    """How many times the board's csim target started."""
    p = board_dir / ".runs"
    return len(p.read_text().split()) if p.exists() else 0


# ----------------------------------------------------------------------------------------- Slurm

SLURM_TOOLS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "scancel", "sinfo")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]


def _munge_ok() -> bool:
    if not shutil.which("munge"):
        return False
    p = subprocess.run(["munge", "-n"], capture_output=True, timeout=10)
    return p.returncode == 0


def _ensure_munge_key() -> None:
    key = Path("/etc/munge/munge.key")
    if key.exists():
        return
    key.parent.mkdir(parents=True, exist_ok=True)
    key.write_bytes(os.urandom(128))
    pw = pwd.getpwnam("munge")
    os.chown(key, pw.pw_uid, pw.pw_gid)
    key.chmod(0o400)


def slurm_conf_text(d: Path, host: str, ctld_port: int, d_port: int, cpus: int, mem_mb: int) -> str:
    return f"""\
ClusterName=asymaptest
SlurmctldHost={host}
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldLogFile={d}/slurmctld.log
SlurmdLogFile={d}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
MessageTimeout=10
InactiveLimit=0
MinJobAge=600
KillWait=2
NodeName={host} CPUs={cpus} RealMemory={mem_mb} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""


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
        if not _munge_ok():
            _ensure_munge_key()
            pw = pwd.getpwnam("munge")
            for p in (Path("/run/munge"), Path("/var/lib/munge"), Path("/var/log/munge")):
                p.mkdir(parents=True, exist_ok=True)
                os.chown(p, pw.pw_uid, pw.pw_gid)
            Path("/run/munge").chmod(0o755)
            started.append(subprocess.Popen(["munged", "-F"], user="munge", group="munge",
                                            stdout=open(d / "munged.out", "wb"), stderr=subprocess.STDOUT))
            for _ in range(100):
                if _munge_ok():
                    break
                time.sleep(0.1)
            else:
                pytest.fail(f"munged did not start; see {d}/munged.out and /var/log/munge/munged.log")
        host = socket.gethostname().split(".")[0]
        conf = d / "slurm.conf"
        conf.write_text(slurm_conf_text(d, host, _free_port(), _free_port(), os.cpu_count() or 1, 4000))
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
