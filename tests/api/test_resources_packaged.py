"""Every non-Python file asymap needs at run time is shipped by a regular (wheel) install.

asymap.resources finds templates/, hls/, rtl/, boards/ and clusters/ in the checkout or under
<prefix>/share/asymap; pyproject.toml's data-files must list every file of those trees, or a
wheel install would miss e.g. a new template subdirectory.
"""

from __future__ import annotations

import glob
import tomllib

from asymap.resources import resource_dir

SHIPPED = ("templates", "hls", "rtl", "boards", "clusters")


def test_data_files_cover_every_resource(repo_root):
    cfg = tomllib.loads((repo_root / "pyproject.toml").read_text())["tool"]["setuptools"]["data-files"]
    listed = set()
    for dest, patterns in cfg.items():
        assert dest.startswith("share/asymap/"), dest
        for pat in patterns:
            matches = glob.glob(str(repo_root / pat))
            assert matches, f"data-files pattern {pat} matches nothing"
            for m in matches:
                rel = m[len(str(repo_root)) + 1:]
                # The file lands in <dest>/<basename>: dest must mirror the file's directory.
                assert dest == "share/asymap/" + rel.rsplit("/", 1)[0], (dest, rel)
                listed.add(rel)
    for name in SHIPPED:
        for path in (repo_root / name).rglob("*"):
            if path.is_file():
                rel = str(path.relative_to(repo_root))
                assert rel in listed, f"{rel} is not in pyproject.toml [tool.setuptools.data-files]"


def test_resource_dirs_found_in_checkout(repo_root):
    for name in SHIPPED:
        assert resource_dir(name) == repo_root / name
