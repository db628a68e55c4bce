"""`asymap plan` shows its long steps (reading the model, cost tables, search, sweep) as transient
progress on a terminal's stderr only: erased before the result or an error is printed, silenced by
-q, absent when stderr is not a terminal; stdout is the same in every case.

A real terminal is used (stderr on a pseudo-terminal) and its screen is replayed with a minimal
ANSI model, so "one line" is what a user would actually see."""

from __future__ import annotations

import os
import pty
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CSI = re.compile(r"\x1b\[([0-9;?]*)([A-Za-z])")


def screen(raw: str) -> list[str]:
    """The lines left on a terminal after writing ``raw`` (\\r, \\n, cursor up, erase line)."""
    rows, r, c = [[]], 0, 0
    i = 0
    while i < len(raw):
        m = CSI.match(raw, i)
        if m:
            arg, op = m.group(1), m.group(2)
            n = int(arg) if arg.isdigit() else None
            if op == "A":
                r = max(0, r - (n or 1))
            elif op == "K":
                rows[r] = rows[r][:c] if (n or 0) == 0 else []
                if n == 2:
                    rows[r] = [" "] * c if c else []
            i = m.end()
            continue
        ch = raw[i]
        i += 1
        if ch == "\r":
            c = 0
        elif ch == "\n":
            r, c = r + 1, 0
            while len(rows) <= r:
                rows.append([])
        elif ch >= " ":
            line = rows[r]
            line.extend(" " * (c - len(line)))
            if c < len(line):
                line[c] = ch
            else:
                line.append(ch)
            c += 1
    return [ln for ln in ("".join(x).rstrip() for x in rows) if ln]


def run_on_tty(args, cwd: Path) -> tuple[int, str, str]:
    """Run ``asymap ARGS`` with stderr on a pseudo-terminal (stdout a pipe)."""
    exe = shutil.which("asymap", path=str(Path(sys.executable).parent)) or "asymap"
    master, slave = pty.openpty()
    env = {**os.environ, "PYTHONHASHSEED": "0", "TERM": "xterm", "COLUMNS": "200"}
    p = subprocess.Popen([exe, *map(str, args)], cwd=cwd, stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    err = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not chunk:
            break
        err += chunk
    os.close(master)
    out = p.stdout.read().decode()
    return p.wait(timeout=600), out, err.decode(errors="replace")


def test_screen_model():
    assert screen("abc\rxy") == ["xyc"]
    assert screen("- step\r\n\x1b[1A\x1b[2Kasymap plan: error: x\r\n") == ["asymap plan: error: x"]


def test_plan_progress_on_a_terminal_only(tiny, run_cli):
    argv = ["plan", "tiny.onnx", "pair2.yaml", "--sweep"]
    piped = run_cli(*argv, check=True)
    assert piped.stderr == ""  # not a terminal: no progress at all (logs, CI, pipes)
    code, out, err = run_on_tty(argv, tiny)
    assert code == 0 and out == piped.stdout  # deterministic stdout, progress or not
    for what in ("reading tiny.onnx", "cost tables of 9 layers", "searching partitions", "sweep"):
        assert what in err, (what, err)
    assert screen(err) == []  # every progress line was erased
    code, out, err = run_on_tty([*argv, "-q"], tiny)
    assert code == 0 and out == piped.stdout and err == ""


def test_plan_layers_progress_is_transient_too(tiny, run_cli):
    argv = ["plan", "tiny.onnx", "pair2.yaml", "--layers"]
    piped = run_cli(*argv, check=True)
    assert piped.stderr == ""
    code, out, err = run_on_tty(argv, tiny)
    assert code == 0 and out == piped.stdout
    assert "quantization SQNR of every layer" in err and screen(err) == []


@pytest.mark.parametrize("setup, argv, fragment", [
    # fails inside the 'reading' step
    (lambda d: (d / "bad.onnx").write_bytes(b"not onnx"), ["plan", "bad.onnx", "pair2.yaml"], "bad.onnx"),
    # fails after the cost tables: no board of the cluster can hold the model
    (lambda d: (d / "one.yaml").write_text("boards:\n  - {name: a, resources: {dsp: 1, bram36: 1, uram: 0, lut: 500, "
                                           "clock_mhz: 200, mem_gbps: 0.001}}\n"),
     ["plan", "tiny.onnx", "one.yaml"], "fits on no board"),
])
def test_an_error_after_progress_is_still_the_only_line(tiny, setup, argv, fragment):
    setup(tiny)
    code, out, err = run_on_tty(argv, tiny)
    assert code == 2 and out == ""
    assert "reading" in err  # progress was on the screen before the error
    lines = screen(err)
    assert len(lines) == 1, (lines, err)
    assert lines[0].startswith("asymap plan: error: ") and fragment in lines[0] and "Traceback" not in err
