"""Reading an ``asymap generate`` output tree (``OUT/``) without trusting it blindly.

The build stage only needs, per board, the directory of its project, plus the tree's version: a tree
written by another asymap version may use another layout, and building it would waste hours of
Vitis time, so it is refused with one line. ``OUT/chain.json`` is written by ``asymap generate``
(see docs/generated-project.md); this reader accepts its board list either as names or as objects
with a ``name`` (and optional ``dir``/``project``) so small layout changes there do not break builds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from asymap import __version__
from asymap.errors import UserError
from asymap.util.fileio import read_json_object

CHAIN_FILE = "chain.json"
SUPPORTED_CHAIN_SCHEMAS = (1,)


@dataclass(frozen=True)
class BoardProject:
    """One generated board project: its name (as in the plan) and its directory."""

    name: str
    dir: Path
    top: str


@dataclass(frozen=True)
class OutTree:
    root: Path
    boards: list[BoardProject]
    top: str
    version: str
    plan_path: Path | None

    def board(self, name: str) -> BoardProject:
        for b in self.boards:
            if b.name == name:
                return b
        raise UserError(f"{self.root}: no board named {name!r}; boards are {', '.join(b.name for b in self.boards)}")


def _same_release(a: str, b: str) -> bool:
    """Trees are compatible within one major.minor release (the layout changes only across them)."""
    return a.split(".")[:2] == b.split(".")[:2]


def load_tree(out_dir: str | Path, check_version: bool = True) -> OutTree:
    """Read ``OUT/chain.json`` and check every board directory exists; UserError otherwise."""
    root = Path(out_dir)
    if not root.is_dir():
        raise UserError(f"{root}: output tree not found; run 'asymap generate MODEL CLUSTER -o {root}' first")
    chain_path = root / CHAIN_FILE
    if not chain_path.is_file():
        raise UserError(f"{chain_path}: missing; {root} is not an 'asymap generate' output tree (re-run asymap generate)")
    chain = read_json_object(chain_path, "re-run asymap generate")
    version = str(chain.get("asymap_version", ""))
    schema = chain.get("schema", 1)
    if check_version:
        if not version:
            raise UserError(f"{chain_path}: no 'asymap_version'; the tree is from an unknown asymap version, re-generate it")
        if not _same_release(version, __version__):
            raise UserError(
                f"{chain_path}: tree written by asymap {version}, this is asymap {__version__}; "
                f"re-run asymap generate with this version"
            )
        if schema not in SUPPORTED_CHAIN_SCHEMAS:
            raise UserError(f"{chain_path}: schema {schema!r} is not supported (expected {SUPPORTED_CHAIN_SCHEMAS[0]}); re-generate the tree")
    top_default = str(chain.get("top", chain.get("top_function", "top")))
    raw_boards = chain.get("boards")
    if not isinstance(raw_boards, list) or not raw_boards:
        raise UserError(f"{chain_path}: key 'boards' must be a non-empty list; re-run asymap generate")
    boards: list[BoardProject] = []
    for i, entry in enumerate(raw_boards):
        if isinstance(entry, str):
            name, rel, top = entry, entry, top_default
        elif isinstance(entry, dict) and isinstance(entry.get("name"), str):
            name = entry["name"]
            rel = str(entry.get("dir") or entry.get("project") or name)
            top = str(entry.get("top", top_default))
        else:
            raise UserError(f"{chain_path}: boards[{i}] must be a name or an object with 'name'; re-run asymap generate")
        d = (root / rel).resolve()
        if root.resolve() not in d.parents and d != root.resolve():
            raise UserError(f"{chain_path}: boards[{i}] directory {rel!r} lies outside {root}; re-run asymap generate")
        if not d.is_dir():
            raise UserError(f"{root / rel}: board project directory missing; re-run asymap generate")
        boards.append(BoardProject(name=name, dir=d, top=top))
    plan = root / "plan.json"
    return OutTree(root=root.resolve(), boards=boards, top=top_default, version=version, plan_path=plan if plan.is_file() else None)
