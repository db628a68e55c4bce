"""C-sim of the data movers (hls/include/asymap/datamover.h) against the Python frame reference.

mm2s must put TLAST exactly where linkproto's frames end (it reads only each header's length);
s2mm must store beats and TLAST flags unchanged and stop after the requested number of frames or
at its beat limit.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from asymap.codegen import framefile
from asymap.codegen.hlsinc import gxx_include_flags

HERE = Path(__file__).resolve().parent
pytestmark = pytest.mark.csim


@pytest.fixture(scope="module")
def harness(tmp_path_factory) -> Path:
    exe = tmp_path_factory.mktemp("dm") / "datamover_harness"
    subprocess.run(["g++", "-std=c++14", "-O1", "-Wno-unknown-pragmas", *gxx_include_flags(),
                    str(HERE / "datamover_harness.cpp"), "-o", str(exe)], check=True, capture_output=True)
    return exe


def _frames(width: int, seed: int, maxb: int) -> bytes:
    rng = np.random.default_rng(seed)
    tensors = [rng.integers(-128, 128, size=s).astype(np.int8) for s in [(8, 5, 3), (3, 7, 7), (16, 1, 1)]]
    return framefile.encode_tensors(tensors, src=1, dst=2, width_bits=width, max_payload_beats=maxb)


@pytest.mark.parametrize("width,maxb", [(64, 4), (64, 256), (512, 1)])
def test_mm2s_s2mm_round_trip(harness, tmp_path, width, maxb):
    data = _frames(width, width + maxb, maxb)
    fin, fout = tmp_path / "in.frames", tmp_path / "out.frames"
    fin.write_bytes(data)
    p = subprocess.run([str(harness), str(width), str(fin), str(fout)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    _, last = framefile.split_beats(data, width)
    flags = next(ln.split()[1] for ln in p.stdout.splitlines() if ln.startswith("MM2S_LAST"))
    assert flags == "".join("1" if x else "0" for x in last)
    assert f"count={len(last)} left=0" in p.stdout
    assert fout.read_bytes() == data
    st = framefile.decode_file(fout, dst=2, width_bits=width)
    assert st.frames_ok == sum(last) and st.crc_errors == 0


def test_s2mm_stops_at_beat_limit(harness, tmp_path):
    data = _frames(64, 7, 4)
    fin, fout = tmp_path / "in.frames", tmp_path / "out.frames"
    fin.write_bytes(data)
    p = subprocess.run([str(harness), "64", str(fin), str(fout), "5"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "count=5 left=1" in p.stdout
    assert fout.read_bytes() == data[:5 * 9]
