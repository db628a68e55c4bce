"""Finding the Xilinx tools (and make/g++) a build step needs.

Vitis is installed under a versioned directory and made visible by sourcing its
``settings64.sh``, which puts ``$XILINX_VITIS/bin`` and ``$XILINX_HLS/bin`` on PATH. A user who only
exported ``XILINX_VITIS``/``XILINX_HLS`` (common in batch scripts) should still be served, so those
directories are searched after PATH.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from asymap.errors import UserError

# Where each tool lives in a Vitis install (the env var naming the install root).
_HOMES = {
    "v++": ("XILINX_VITIS",),
    "vitis-run": ("XILINX_VITIS",),
    "vitis_hls": ("XILINX_HLS", "XILINX_VITIS"),
    "vivado": ("XILINX_VIVADO", "XILINX_VITIS"),
}

_SETUP = {
    "make": "install it with 'apt-get install make'",
    "g++": "install it with 'apt-get install g++'",
}


def find_tool(name: str, env: dict[str, str] | None = None) -> str | None:
    """Absolute path of ``name`` from PATH, else from ``$XILINX_*/bin``; None when absent."""
    env = os.environ if env is None else env
    found = shutil.which(name, path=env.get("PATH", os.defpath))
    if found:
        return found
    for var in _HOMES.get(name, ()):
        root = env.get(var)
        if root:
            cand = Path(root) / "bin" / name
            if cand.is_file() and os.access(cand, os.X_OK):
                return str(cand)
    return None


def setup_hint(name: str) -> str:
    if name in _SETUP:
        return _SETUP[name]
    homes = " or ".join(f"${v}" for v in _HOMES.get(name, ("XILINX_VITIS",)))
    return (
        f"source the Vitis settings (e.g. 'source /tools/Xilinx/Vitis/2024.1/settings64.sh') "
        f"or set {homes} to the install directory"
    )


def require_tools(names: list[str], step: str, env: dict[str, str] | None = None) -> dict[str, str]:
    """Resolve every tool; the first missing one is a one-line UserError saying how to get it."""
    resolved = {}
    for name in names:
        path = find_tool(name, env)
        if path is None:
            raise UserError(f"step {step!r} needs '{name}', which is not on PATH; {setup_hint(name)}")
        resolved[name] = path
    return resolved
