"""The one Jinja2 environment every code generator uses.

Templates live in the repository's ``templates/`` directory (``*.j2``). ``StrictUndefined`` turns a
missing variable into an error instead of silently emitting an empty string into C++; blocks are
trimmed so templates can be indented for readability without changing the output.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from asymap.resources import resource_dir

if TYPE_CHECKING:
    import jinja2

TEMPLATES_DIR = resource_dir("templates")


def templates_dir() -> Path:
    return TEMPLATES_DIR


def make_env() -> jinja2.Environment:
    """A fresh environment rooted at ``templates/`` (StrictUndefined, trim/lstrip blocks). Jinja2
    is imported here, on first use: commands that only check (``asymap plan`` runs deploy's
    checks) do not pay for it."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
