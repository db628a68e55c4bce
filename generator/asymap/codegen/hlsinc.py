"""Where the HLS headers come from when compiling C-simulation with plain g++.

Generated code and the hand-written library (``hls/include/asymap/*.h``) include ``ap_int.h`` and
``hls_stream.h``. With a Vitis install those live in ``$XILINX_HLS/include``; without one we use the
identical Xilinx ``ap_types`` headers that the hls4ml PyPI package ships (Apache-2.0). We locate
the hls4ml *package directory* through ``importlib.util.find_spec`` instead of importing hls4ml,
because importing it pulls in heavy dependencies and takes seconds.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from asymap.errors import UserError
from asymap.resources import resource_dir

#: The repository's hand-written HLS library root (contains ``asymap/*.h``).
LIBRARY_INCLUDE = resource_dir("hls") / "include"


def library_include_dir() -> Path:
    """Directory to pass as ``-I`` so ``#include "asymap/conv.h"`` resolves."""
    return LIBRARY_INCLUDE


def ap_types_dir() -> Path:
    """Directory holding ``ap_int.h`` / ``hls_stream.h``: ``$XILINX_HLS/include`` or hls4ml's copy."""
    xilinx = os.environ.get("XILINX_HLS")
    if xilinx:
        d = Path(xilinx) / "include"
        if (d / "ap_int.h").is_file():
            return d
    spec = importlib.util.find_spec("hls4ml")
    for loc in (spec.submodule_search_locations or []) if spec else []:
        d = Path(loc) / "templates" / "vivado" / "ap_types"
        if (d / "ap_int.h").is_file():
            return d
    raise UserError(
        "HLS headers: ap_int.h not found; set XILINX_HLS to a Vitis HLS install or "
        "`pip install hls4ml` (it ships the Xilinx ap_types headers)"
    )


def hls_include_dirs() -> list[Path]:
    """Include directories for C-sim, in order: ap_types (use with -isystem), then the library.

    Callers compiling with g++ should pass the first entry as ``-isystem`` (its headers warn under
    ``-Wall``) and the rest as ``-I``; :func:`gxx_include_flags` does exactly that.
    """
    return [ap_types_dir(), library_include_dir()]


def gxx_include_flags() -> list[str]:
    """``['-isystem', <ap_types>, '-I', <hls/include>]`` for a g++ command line."""
    ap, lib = hls_include_dirs()
    return ["-isystem", str(ap), "-I", str(lib)]
