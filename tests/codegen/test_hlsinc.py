"""Where C-sim finds ap_int.h: $XILINX_HLS/include first, else hls4ml's bundled ap_types."""

from __future__ import annotations

import importlib.util

import pytest

from asymap.codegen import hlsinc
from asymap.errors import UserError


def test_prefers_xilinx_hls(tmp_path, monkeypatch):
    (tmp_path / "include").mkdir()
    (tmp_path / "include" / "ap_int.h").write_text("// stub\n")
    monkeypatch.setenv("XILINX_HLS", str(tmp_path))
    dirs = hlsinc.hls_include_dirs()
    assert dirs[0] == tmp_path / "include"
    assert (dirs[1] / "asymap" / "conv.h").is_file()
    assert hlsinc.gxx_include_flags()[:2] == ["-isystem", str(tmp_path / "include")]


def test_falls_back_to_hls4ml_without_importing_it(monkeypatch):
    import subprocess
    import sys

    monkeypatch.setenv("XILINX_HLS", "/nonexistent")
    d = hlsinc.ap_types_dir()
    assert (d / "ap_int.h").is_file() and (d / "hls_stream.h").is_file()
    assert d.parts[-3:] == ("templates", "vivado", "ap_types")
    # locating the headers must not import hls4ml (slow, heavy dependencies)
    code = "import sys; from asymap.codegen.hlsinc import ap_types_dir; ap_types_dir(); print('hls4ml' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_missing_headers_is_a_user_error(monkeypatch):
    monkeypatch.delenv("XILINX_HLS", raising=False)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(UserError, match="XILINX_HLS"):
        hlsinc.hls_include_dirs()
