"""Every command the README shows runs as shown, in order, and prints the first line shown.

The README's console blocks are the walkthrough a new user follows; this runs each `$ asymap ...`
line in one working directory (with the repository's clusters/ beside it, as in a checkout) and
compares the first line of its output (stdout, or stderr for status lines and errors) with the
line the README prints under it. Only machine-dependent parts are normalized: the working
directory (shown as /work) and the number of parallel jobs.
"""

from __future__ import annotations

import re
import shlex
import shutil

import pytest

pytestmark = pytest.mark.csim


def _commands(text: str) -> list[tuple[str, str | None]]:
    out = []
    for block in re.findall(r"```console\n(.*?)```", text, re.S):
        lines = block.splitlines()
        for i, ln in enumerate(lines):
            if ln.startswith("$ asymap "):
                nxt = lines[i + 1] if i + 1 < len(lines) else None
                expected = None if nxt is None or nxt.startswith("$ ") or nxt == "..." else nxt
                out.append((ln[2:], expected))
    return out


def _norm(line: str, cwd: str) -> str:
    line = line.replace(cwd, "/work")
    return re.sub(r"\(\d+ job\(s\)\)", "(N job(s))", line).rstrip()


def test_readme_commands_print_what_the_readme_shows(repo_root, tmp_path, run_cli):
    cmds = _commands((repo_root / "README.md").read_text())
    assert len(cmds) >= 15 and sum(e is not None for _, e in cmds) >= 12
    shutil.copytree(repo_root / "clusters", tmp_path / "clusters")
    for cmd, expected in cmds:
        argv = shlex.split(cmd)[1:]
        p = run_cli(*argv, cwd=tmp_path, timeout=1200)
        if expected is None:
            assert p.returncode == 0, (cmd, p.stderr[-2000:])
            continue
        firsts = [_norm((s.splitlines() or [""])[0], str(tmp_path)) for s in (p.stdout, p.stderr)]
        assert _norm(expected, str(tmp_path)) in firsts, (cmd, expected, firsts)
