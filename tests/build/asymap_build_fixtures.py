"""Helpers shared by the build tests (imported by name: conftest modules must not be imported,
their name clashes across test directories)."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
from pathlib import Path

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


# ----------------------------------------------------------------------------------------- Slurm

SLURM_TOOLS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "scancel", "sinfo")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]


def munge_ok() -> bool:
    if not shutil.which("munge"):
        return False
    p = subprocess.run(["munge", "-n"], capture_output=True, timeout=10)
    return p.returncode == 0


def ensure_munge_key() -> None:
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


def runs(board_dir: Path) -> int:
    """How many times the board's csim target started."""
    p = board_dir / ".runs"
    return len(p.read_text().split()) if p.exists() else 0
