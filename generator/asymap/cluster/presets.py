"""Cluster presets: the example clusters shipped with asymap (``clusters/*.yaml`` in a checkout,
``<prefix>/share/asymap/clusters`` in a wheel install), usable by bare name from any directory.

``asymap plan m.onnx edge4`` means the preset ``edge4``; a path that exists always wins, so a
user's own ``edge4`` file in the working directory is never shadowed. A preset's description is
the first line of its leading comment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from asymap.resources import resource_dir


@dataclass(frozen=True)
class Preset:
    name: str
    path: Path
    description: str


def presets_dir() -> Path:
    return resource_dir("clusters")


def file_description(path: Path) -> str:
    """The leading comment of a YAML file (a preset or a board), as one line: its first sentence."""
    if not path.is_file():
        return ""
    words = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        words.append(line.lstrip("#").strip())
    text = " ".join(w for w in words if w)
    first = text.split(". ")[0].rstrip(".")
    return first + "." if first else ""


def presets() -> list[Preset]:
    d = presets_dir()
    return [Preset(p.stem, p, file_description(p)) for p in sorted(d.glob("*.yaml"))]


def resolve_cluster(path: str | os.PathLike) -> Path:
    """``path`` itself when it exists; else the preset it names (``edge4``, ``edge4.yaml`` or
    ``clusters/edge4.yaml`` from another directory); else ``path`` unchanged (the caller reports
    it as not found, listing the presets)."""
    p = Path(path)
    if p.exists():
        return p
    name = p.name[:-5] if p.name.endswith(".yaml") else p.name
    if len(p.parts) == 1 or (len(p.parts) == 2 and p.parts[0] == "clusters"):
        cand = presets_dir() / f"{name}.yaml"
        if cand.is_file():
            return cand
    return p


def not_found_hint() -> str:
    names = [pr.name for pr in presets()]
    return (f"give a path, or a preset name ({', '.join(names)}; 'asymap clusters' describes them)"
            if names else "give a path to a cluster YAML file")
