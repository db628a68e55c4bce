"""Where asymap's non-Python files live: templates/, hls/, rtl/, boards/, clusters/.

They sit at the repository root (DESIGN.md's layout), next to ``generator/``. A source checkout or
an editable install finds them there. A regular (wheel) install ships them as data files under
``<prefix>/share/asymap/`` (pyproject.toml's ``[tool.setuptools.data-files]``), so both are looked
up, the checkout first.
"""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parents[2]


@lru_cache(maxsize=None)
def resource_dir(name: str) -> Path:
    """The directory ``name`` (e.g. "templates") of this asymap installation."""
    if (_CHECKOUT / name).is_dir():  # a checkout: sysconfig (~4 ms to import) is not needed
        return _CHECKOUT / name
    import sysconfig

    candidates = [_CHECKOUT / name]
    for prefix in {sys.prefix, sysconfig.get_path("data")}:
        candidates.append(Path(prefix) / "share" / "asymap" / name)
    for c in candidates:
        if c.is_dir():
            return c
    return candidates[0]  # a broken install: the caller's error then names the expected path
