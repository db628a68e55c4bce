"""docs/python-api.md's example runs as written (so the documented API cannot drift)."""

from __future__ import annotations

import os
import re
import shutil

import pytest


@pytest.mark.csim
def test_python_api_example_runs(repo_root, tmp_path, monkeypatch):
    text = (repo_root / "docs" / "python-api.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) == 1
    shutil.copytree(repo_root / "clusters", tmp_path / "clusters")
    monkeypatch.chdir(tmp_path)
    exec(compile(blocks[0], "docs/python-api.md", "exec"), {"__name__": "__doc_example__"})
    assert (tmp_path / "out_tiny" / "chain.json").is_file()
    assert os.listdir(tmp_path / "out_tiny")
