"""C-sim unit tests of the HLS link kernels (hls/include/asymap/link.h) against asymap.linkproto.

One harness (tests/hls/link_harness.cpp) is compiled once per session with plain g++; it sends three
tensors (8, 4 and 1 lanes, partial last beats, several frames each) over links of 64, 128 and 512
bits, and receives them back. The Python reference (linkproto / framefile) decides what is right.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from asymap import linkproto
from asymap.codegen import framefile
from asymap.codegen.hlsinc import gxx_include_flags

HERE = Path(__file__).resolve().parent
SHAPES = [(8, 5, 3), (4, 3, 3), (3, 7, 7)]  # the harness's tensors (C, H, W)
MAXB = {64: 4, 128: 2, 512: 1}  # the harness's max payload beats per width
SRC, DST = 3, 4

pytestmark = pytest.mark.csim


@pytest.fixture(scope="module")
def harness(tmp_path_factory) -> Path:
    exe = tmp_path_factory.mktemp("link") / "link_harness"
    cmd = ["g++", "-std=c++14", "-O2", "-Wno-unknown-pragmas", *gxx_include_flags(),
           str(HERE / "link_harness.cpp"), "-o", str(exe)]
    subprocess.run(cmd, check=True, capture_output=True)
    return exe


def _tensors(seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(-128, 128, size=s, dtype=np.int64).astype(np.int8) for s in SHAPES]


def _frames(tensors, width, **kw) -> bytes:
    args = dict(src=SRC, dst=DST, width_bits=width, max_payload_beats=MAXB[width])
    args.update(kw)
    return framefile.encode_tensors(tensors, **args)


def _rx(harness, tmp_path, width, data: bytes):
    fin = tmp_path / "in.frames"
    fin.write_bytes(data)
    outs = [tmp_path / f"o{i}.bin" for i in range(3)]
    p = subprocess.run([str(harness), "rx", str(width), str(fin), *map(str, outs)], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    line = next(ln for ln in p.stdout.splitlines() if ln.startswith("RX_STATUS"))
    status = {k: int(v) for k, v in (kv.split("=") for kv in line.split()[1:])}
    got = [np.frombuffer(o.read_bytes(), np.int8) for o in outs]
    return status, got


def _ref_status(data: bytes, width: int) -> dict:
    beats, last = framefile.split_beats(data, width)
    st = linkproto.decode_stream(beats, last, dst=DST, width_bits=width)
    return {k: getattr(st, k) for k in ("frames_ok", "crc_errors", "seq_errors", "length_errors", "magic_errors",
                                        "dest_errors")}


@pytest.mark.parametrize("width", [64, 128, 512])
def test_tx_matches_linkproto_byte_for_byte(harness, tmp_path, width):
    ts = _tensors(width)
    ins = [tmp_path / f"t{i}.bin" for i in range(3)]
    for f, t in zip(ins, ts):
        f.write_bytes(linkproto.tensor_bytes_hwc(t))
    out = tmp_path / "tx.frames"
    subprocess.run([str(harness), "tx", str(width), *map(str, ins), str(out)], check=True, timeout=60)
    assert out.read_bytes() == _frames(ts, width)


@pytest.mark.parametrize("width", [64, 128, 512])
def test_rx_good_frames_roundtrip(harness, tmp_path, width):
    ts = _tensors(width + 1)
    data = _frames(ts, width)
    status, got = _rx(harness, tmp_path, width, data)
    assert status == _ref_status(data, width)
    assert status["frames_ok"] > 3 and sum(v for k, v in status.items() if k != "frames_ok") == 0
    for g, t in zip(got, ts):
        assert g.tobytes() == linkproto.tensor_bytes_hwc(t)


def _frame_spans(data: bytes, width: int) -> list[tuple[int, int]]:
    """(first beat, last beat) of every frame in a frame file."""
    _, last = framefile.split_beats(data, width)
    spans, start = [], 0
    for i, lst in enumerate(last):
        if lst:
            spans.append((start, i))
            start = i + 1
    return spans


@pytest.mark.parametrize("where", ["payload", "crc", "seqbyte", "magic"])
def test_rx_drops_corrupted_frame(harness, tmp_path, where):
    width = 64
    B = width // 8
    ts = _tensors(7)
    data = bytearray(_frames(ts, width))
    spans = _frame_spans(bytes(data), width)
    first, lastb = spans[1]  # second frame of tensor 0
    rec = B + 1
    offset = {"payload": (first + 1) * rec + 3, "crc": lastb * rec + 1, "seqbyte": first * rec + 4,
              "magic": first * rec}[where]
    data[offset] ^= 0x5A
    status, got = _rx(harness, tmp_path, width, bytes(data))
    ref = _ref_status(bytes(data), width)
    assert status == ref
    key = {"payload": "crc_errors", "crc": "crc_errors", "seqbyte": "crc_errors", "magic": "magic_errors"}[where]
    assert status[key] == 1
    # linkproto's receiver does not advance the expected sequence number past a frame whose header
    # it cannot trust, so the next frame is a seq error too. Both are replaced by zeros; everything
    # else arrives intact.
    assert status["seq_errors"] == 1
    exp0 = bytearray(linkproto.tensor_bytes_hwc(ts[0]))
    exp0[MAXB[width] * B:3 * MAXB[width] * B] = bytes(2 * MAXB[width] * B)
    assert got[0].tobytes() == bytes(exp0)
    assert got[1].tobytes() == linkproto.tensor_bytes_hwc(ts[1])
    assert got[2].tobytes() == linkproto.tensor_bytes_hwc(ts[2])


def test_rx_counts_dest_and_seq_errors(harness, tmp_path):
    width = 128
    ts = _tensors(9)
    wrong_dst = _frames(ts, width, dst=DST + 1)
    status, got = _rx(harness, tmp_path, width, wrong_dst)
    assert status == _ref_status(wrong_dst, width)
    assert status["dest_errors"] > 0 and status["frames_ok"] == 0
    assert all(not g.any() for g in got)  # nothing addressed elsewhere is passed on
    late = _frames(ts, width, seq0=5)
    status, _ = _rx(harness, tmp_path, width, late)
    assert status == _ref_status(late, width)
    assert status["seq_errors"] == 1 and status["frames_ok"] == len(_frame_spans(late, width)) - 1


def test_rx_survives_lost_tlast(harness, tmp_path):
    """A corrupted flag byte merges two frames: a length error, no hang, later tensors intact."""
    width = 512
    B = width // 8
    ts = _tensors(11)
    data = bytearray(_frames(ts, width))
    spans = _frame_spans(bytes(data), width)
    data[spans[0][1] * (B + 1) + B] = 0  # clear TLAST of the first frame
    status, got = _rx(harness, tmp_path, width, bytes(data))
    assert status["length_errors"] >= 1
    assert status["frames_ok"] < len(spans)
    assert got[2].tobytes() == linkproto.tensor_bytes_hwc(ts[2]) or status["seq_errors"] >= 1


def test_crc_matches_zlib_on_all_byte_values(harness, tmp_path):
    """A tensor holding every byte value 0..255 goes through tx; the trailer equals zlib.crc32."""
    width = 64
    ts = [np.arange(120, dtype=np.int64).astype(np.uint8).reshape(SHAPES[0]),
          (np.arange(36) + 120).astype(np.uint8).reshape(SHAPES[1]),
          (np.arange(147) + 109).astype(np.uint8).reshape(SHAPES[2])]
    ins = [tmp_path / f"t{i}.bin" for i in range(3)]
    for f, t in zip(ins, ts):
        f.write_bytes(linkproto.tensor_bytes_hwc(t))
    out = tmp_path / "tx.frames"
    subprocess.run([str(harness), "tx", str(width), *map(str, ins), str(out)], check=True, timeout=60)
    assert out.read_bytes() == _frames(ts, width)
