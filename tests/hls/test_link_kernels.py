"""C-sim tests of the HLS link kernels (hls/include/asymap/link.h, crc32.h) against asymap.linkproto.

One harness (tests/hls/link_harness.cpp) is compiled once per module with plain g++. It packs three
tensors (8, 4 and 1 lanes, partial last beats, several frames each) into frames with
``link_tx_image`` and receives frames with ``link_rx_image``, several images per run. The Python
side decides what is right: ``linkproto.encode_image`` for every transmitted byte and
``linkproto.CutThroughRx`` (the receiver's state machine in Python) for every counter, every
forwarded byte and every per-image verdict, on clean links and on links that lose, corrupt,
truncate, merge and duplicate frames.
"""

from __future__ import annotations

import random
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest

from asymap import linkproto
from asymap.codegen import framefile
from asymap.codegen.hlsinc import gxx_include_flags

HERE = Path(__file__).resolve().parent
SHAPES = [(8, 5, 3), (4, 3, 3), (3, 7, 7)]  # (C, H, W) of the harness's three tensors (8, 4, 1 lanes)
MAXB = {64: 4, 128: 2, 256: 2, 512: 1}  # small frames, so tensors span several
SRC, DST = 3, 4

pytestmark = pytest.mark.csim


@pytest.fixture(scope="module")
def harness(tmp_path_factory) -> Path:
    exe = tmp_path_factory.mktemp("link") / "link_harness"
    cmd = ["g++", "-std=c++14", "-O2", "-Wno-unknown-pragmas", *gxx_include_flags(),
           str(HERE / "link_harness.cpp"), "-o", str(exe)]
    subprocess.run(cmd, check=True, capture_output=True)
    return exe


def _images(seed: int, n: int, shapes=SHAPES) -> list[list[bytes]]:
    rng = np.random.default_rng(seed)
    return [[linkproto.tensor_bytes_hwc(rng.integers(-128, 128, size=s).astype(np.int8)) for s in shapes]
            for _ in range(n)]


def _schedule(width: int, shapes=SHAPES, maxb=None) -> list[tuple[int, int]]:
    return linkproto.link_schedule(shapes, width, maxb or MAXB[width])


def _encode(images, width, shapes=SHAPES, poison=0, seq0=0, maxb=None):
    sched = _schedule(width, shapes, maxb)
    beats, last, seq = [], [], seq0
    for i, im in enumerate(images):
        b, lst, seq = linkproto.encode_image(im, sched, src=SRC, dst=DST, seq0=seq, width_bits=width,
                                             poison=bool(poison >> i & 1))
        beats += b
        last += lst
    return beats, last


def _file(beats, last) -> bytes:
    return b"".join(b + bytes([int(x)]) for b, x in zip(beats, last))


def _sched_file(tmp_path, sched) -> Path:
    p = tmp_path / "sched.txt"
    p.write_text("".join(f"{k} {n}\n" for k, n in sched))
    return p


def _bytes_args(shapes=SHAPES) -> list[str]:
    return [str(c * h * w) for c, h, w in shapes]


def _tx(harness, tmp_path, width, images, poison=0, shapes=SHAPES, maxb=None):
    sched = _schedule(width, shapes, maxb)
    ins = []
    for k in range(3):
        p = tmp_path / f"t{k}.bin"
        p.write_bytes(b"".join(im[k] for im in images))
        ins.append(str(p))
    out = tmp_path / "tx.frames"
    p = subprocess.run([str(harness), "tx", str(width), str(_sched_file(tmp_path, sched)),
                        str(maxb or MAXB[width]), str(len(images)), str(poison), *_bytes_args(shapes), *ins,
                        str(out)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    cycles = int(next(ln for ln in p.stdout.splitlines() if ln.startswith("TX_CYCLES")).split()[1])
    return out.read_bytes(), cycles


def _model(beats, last, width, shapes=SHAPES, maxb=None):
    """What the receiver must do: (status, per-tensor bytes over all images, verdicts, images, iterations)."""
    rx = linkproto.CutThroughRx(_schedule(width, shapes, maxb), DST, width, maxb or MAXB[width])
    outs = [bytearray() for _ in shapes]
    verdicts, pos = [], 0
    while True:
        snap = (rx.status(), rx.iterations)
        try:
            got, bad, pos = rx.receive_image(beats, last, pos)
        except EOFError:  # the kernel would wait for more frames: stop before this image
            return snap[0], outs, verdicts, snap[1]
        B = width // 8
        for k, (c, h, w) in enumerate(shapes):
            outs[k] += got[k][:c * h * w]
            assert len(got[k]) == -(-(c * h * w) // B) * B  # whole tensors, always
        verdicts.append(int(bad))


def _rx(harness, tmp_path, width, data: bytes, images: int, shapes=SHAPES, maxb=None):
    fin = tmp_path / "in.frames"
    fin.write_bytes(data)
    outs = [tmp_path / f"o{i}.bin" for i in range(3)]
    sched = _schedule(width, shapes, maxb)
    p = subprocess.run([str(harness), "rx", str(width), str(_sched_file(tmp_path, sched)), str(maxb or MAXB[width]),
                        str(images), *_bytes_args(shapes), str(fin), *map(str, outs)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    lines = p.stdout.splitlines()
    line = next(ln for ln in lines if ln.startswith("RX_STATUS"))
    status = {k: int(v) for k, v in (kv.split("=") for kv in line.split()[1:])}
    verdicts = [int(c) for c in next(ln for ln in lines if ln.startswith("BAD="))[4:]]
    cycles = int(next(ln for ln in lines if ln.startswith("RX_CYCLES")).split()[1])
    return status, [o.read_bytes() for o in outs], verdicts, cycles


def _check_against_model(harness, tmp_path, width, beats, last, shapes=SHAPES, maxb=None):
    status, outs, verdicts, iters = _model(beats, last, width, shapes, maxb)
    got = _rx(harness, tmp_path, width, _file(beats, last), len(verdicts), shapes, maxb)
    assert got[0] == status
    assert got[2] == verdicts
    assert got[1] == [bytes(o) for o in outs]
    assert got[3] == iters
    return status, outs, verdicts


def _spans(last) -> list[tuple[int, int]]:
    spans, start = [], 0
    for i, x in enumerate(last):
        if x:
            spans.append((start, i))
            start = i + 1
    return spans


# --- CRC ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("width", [64, 128, 256, 512, 1024])
def test_parallel_crc_equals_zlib_on_random_data(harness, tmp_path, width):
    rng = random.Random(width)
    B = width // 8
    for trial in range(12):
        data = bytes(rng.getrandbits(8) for _ in range(B * rng.randint(1, 40)))
        if trial == 0:
            data = bytes(range(256)) * (B // 64 or 1) + bytes(B - (256 * (B // 64 or 1)) % B) if B >= 64 else bytes(B)
            data = data[:len(data) // B * B] or bytes(B)
        f = tmp_path / "d.bin"
        f.write_bytes(data)
        p = subprocess.run([str(harness), "crc", str(width), str(f)], capture_output=True, text=True, check=True)
        assert p.stdout.strip() == f"CRC={zlib.crc32(data):08x}"


# --- transmitter ----------------------------------------------------------------------------------
@pytest.mark.parametrize("width", [64, 128, 256, 512])
def test_tx_matches_linkproto_byte_for_byte(harness, tmp_path, width):
    ims = _images(width, 3)
    data, cycles = _tx(harness, tmp_path, width, ims, poison=0b010)
    beats, last = _encode(ims, width, poison=0b010)
    assert data == _file(beats, last)
    assert cycles == len(beats)  # one beat per loop iteration (II=1)
    # The poison bit sits on image 1's last trailer only.
    assert sum(int.from_bytes(b[:8], "little") >> 32 & 1 for b, x in zip(beats, last) if x) == 1


def test_schedule_interleaves_tensors_row_by_row():
    shapes = [(64, 8, 8), (256, 8, 8)]
    sched = linkproto.link_schedule(shapes, 512, 256)
    # One row per frame (64*8 and 256*8 bytes = 8 and 32 beats), the two tensors alternate.
    assert sched == [(0, 8), (1, 32)] * 8
    # Different heights advance in proportion: 4 rows of the short one spread over 8 of the tall one.
    sched = linkproto.link_schedule([(16, 8, 8), (32, 4, 4)], 128, 256)
    assert [k for k, _ in sched] == [0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1]
    # One tensor alone: frames as long as allowed.
    assert linkproto.link_schedule([(8, 16, 16)], 64, 100) == [(0, 100), (0, 100), (0, 56)]


# --- receiver, clean link ---------------------------------------------------------------------------
@pytest.mark.parametrize("width", [64, 128, 512])
def test_rx_good_frames_roundtrip(harness, tmp_path, width):
    ims = _images(width + 1, 3)
    beats, last = _encode(ims, width)
    status, outs, verdicts = _check_against_model(harness, tmp_path, width, beats, last)
    assert verdicts == [0, 0, 0] and status["images_ok"] == 3
    assert status["frames_ok"] == 3 * len(_schedule(width))
    assert sum(v for k, v in status.items() if k not in ("frames_ok", "images_ok")) == 0
    for k in range(3):
        assert bytes(outs[k]) == b"".join(im[k] for im in ims)


def test_link_kernels_move_one_512bit_beat_per_cycle(harness, tmp_path):
    """Both framers: loop iterations (clocks at II=1) == link beats, at 512 bits, larger tensors."""
    shapes = [(64, 12, 12), (32, 12, 12), (5, 24, 24)]
    ims = _images(3, 2, shapes)
    data, tx_cycles = _tx(harness, tmp_path, 512, ims, shapes=shapes, maxb=64)
    beats, last = _encode(ims, 512, shapes, maxb=64)
    assert data == _file(beats, last)
    status, outs, verdicts, rx_cycles = _rx(harness, tmp_path, 512, data, 2, shapes, maxb=64)
    assert tx_cycles == rx_cycles == len(beats)
    assert verdicts == [0, 0] and status["frames_ok"] == 2 * len(_schedule(512, shapes, 64))


# --- receiver, faulty link ----------------------------------------------------------------------
def test_rx_crc_error_forwards_and_marks_image_bad(harness, tmp_path):
    width = 64
    ims = _images(7, 3)
    beats, last = _encode(ims, width)
    s = _spans(last)
    a, z = s[2]
    beats[a + 1] = bytes([beats[a + 1][0] ^ 0x40]) + beats[a + 1][1:]  # a payload bit of image 0
    status, outs, verdicts = _check_against_model(harness, tmp_path, width, beats, last)
    assert status["crc_errors"] == 1 and verdicts == [1, 0, 0]
    assert status["images_bad"] == 1 and status["images_ok"] == 2
    # Cut-through: the corrupted bytes were forwarded (the verdict says so), nothing else changed.
    tid = linkproto.Header.unpack(int.from_bytes(beats[a][:8], "little")).tensor_id
    good = b"".join(im[tid] for im in ims)
    diff = [i for i in range(len(good)) if outs[tid][i] != good[i]]
    assert len(diff) == 1


def test_rx_lost_frame_is_zero_filled_and_counted(harness, tmp_path):
    width = 128
    ims = _images(8, 3)
    beats, last = _encode(ims, width)
    s = _spans(last)
    F = len(_schedule(width))
    a, z = s[F + 3]  # the 4th frame of image 1
    del beats[a:z + 1], last[a:z + 1]
    status, outs, verdicts = _check_against_model(harness, tmp_path, width, beats, last)
    assert verdicts == [0, 1, 0]
    assert status["frames_lost"] == 1 and status["seq_errors"] == 1 and status["frames_ok"] == 3 * F - 1
    for k in range(3):  # images 0 and 2 intact
        n = len(ims[0][k])
        assert bytes(outs[k][:n]) == ims[0][k] and bytes(outs[k][2 * n:]) == ims[2][k]


def test_rx_lost_last_frame_of_an_image_recovers_on_next_header(harness, tmp_path):
    width = 64
    ims = _images(9, 3)
    beats, last = _encode(ims, width)
    s = _spans(last)
    F = len(_schedule(width))
    a, z = s[F - 1]
    del beats[a:z + 1], last[a:z + 1]
    status, outs, verdicts = _check_against_model(harness, tmp_path, width, beats, last)
    assert verdicts == [1, 0, 0] and status["frames_lost"] == 1


@pytest.mark.parametrize("fault", ["magic", "length_field", "dest", "tlast_lost", "tlast_early", "dup", "beat_lost"])
def test_rx_faults_match_reference_receiver(harness, tmp_path, fault):
    width = 64
    ims = _images(10, 4)
    beats, last = _encode(ims, width)
    s = _spans(last)
    a, z = s[len(_schedule(width)) + 2]  # a frame of image 1
    hdr = bytearray(beats[a])
    if fault == "magic":
        hdr[0] ^= 0x01
        beats[a] = bytes(hdr)
    elif fault == "length_field":
        hdr[6] ^= 0x01
        beats[a] = bytes(hdr)
    elif fault == "dest":
        hdr[2] ^= 0x10
        beats[a] = bytes(hdr)
    elif fault == "tlast_lost":
        last[z] = False  # merges two frames
    elif fault == "tlast_early":
        last[a + 1] = True  # truncates the frame
    elif fault == "dup":
        beats[z + 1:z + 1] = beats[a:z + 1]
        last[z + 1:z + 1] = last[a:z + 1]
    elif fault == "beat_lost":
        del beats[a + 1], last[a + 1]
    status, outs, verdicts = _check_against_model(harness, tmp_path, width, beats, last)
    errors = {k: v for k, v in status.items() if k not in ("frames_ok", "images_ok", "images_bad") and v}
    assert errors, status
    if fault == "dup":  # a duplicate is dropped and harms nothing
        assert verdicts == [0, 0, 0, 0] and errors == {"seq_errors": 1}
    else:
        assert verdicts[1] == 1 and verdicts[3] == 0  # image 1 bad, the link recovered by image 3
    assert len(verdicts) == 4


def test_rx_resyncs_after_losing_more_than_an_image(harness, tmp_path):
    """Frames of more than one image lost: two consecutive headers re-align the receiver, every
    lost slot is zero-filled (whole images marked bad), later images are good."""
    width = 64
    ims = _images(11, 6)
    beats, last = _encode(ims, width)
    s = _spans(last)
    F = len(_schedule(width))
    a, _ = s[3]
    _, z = s[3 + F + 2]
    del beats[a:z + 1], last[a:z + 1]
    status, outs, verdicts = _check_against_model(harness, tmp_path, width, beats, last)
    # Lost: image 0 from slot 3 and image 1 up to slot 5; the first header after the gap is a
    # far-ahead candidate (dropped too), the second one is accepted.
    assert verdicts == [1, 1, 0, 0, 0, 0]
    assert status["frames_lost"] == F + 4 and status["frames_ok"] == 6 * F - (F + 4)


def test_rx_poisoned_image_is_bad(harness, tmp_path):
    width = 128
    ims = _images(12, 3)
    beats, last = _encode(ims, width, poison=0b100)
    status, _, verdicts = _check_against_model(harness, tmp_path, width, beats, last)
    assert verdicts == [0, 0, 1] and status["poisoned"] == 1 and status["crc_errors"] == 0


@pytest.mark.parametrize("seed", range(16))
def test_rx_random_faults_equal_reference(harness, tmp_path, seed):
    """Random flips, lost/duplicated frames and lost beats: the C++ receiver equals the Python model
    beat for beat (counters, forwarded bytes, verdicts) and never loses lockstep."""
    rng = random.Random(seed)
    width = rng.choice([64, 128, 512])
    ims = _images(100 + seed, 8)
    beats, last = _encode(ims, width)
    B = width // 8
    F = len(_schedule(width))
    for _ in range(rng.randint(1, 6)):
        s = _spans(last)
        a, z = s[rng.randrange(5 * F)]  # faults in the first five images
        kind = rng.choice(["flip", "flip", "lose", "dup", "beat", "tlast"])
        if kind == "flip":
            i = rng.randint(a, z)
            b = bytearray(beats[i])
            b[rng.randrange(8 if i == a else B)] ^= 1 << rng.randrange(8)
            beats[i] = bytes(b)
        elif kind == "lose":
            del beats[a:z + 1], last[a:z + 1]
        elif kind == "dup":
            beats[z + 1:z + 1], last[z + 1:z + 1] = beats[a:z + 1], last[a:z + 1]
        elif kind == "beat":
            i = rng.randint(a, z)
            del beats[i], last[i]
        else:
            last[z] = False
    status, outs, verdicts = _check_against_model(harness, tmp_path, width, beats, last)
    assert len(verdicts) >= 7 and verdicts[-1] == 0  # recovered


def test_frame_file_roundtrip_of_interleaved_link():
    """framefile.encode_tensors follows the schedule and decode_stream gets each tensor back."""
    rng = np.random.default_rng(0)
    ts = [rng.integers(-128, 128, size=s).astype(np.int8) for s in SHAPES]
    data = framefile.encode_tensors(ts, src=SRC, dst=DST, width_bits=64, max_payload_beats=4)
    beats, last = framefile.split_beats(data, 64)
    assert (beats, last) == _encode([[linkproto.tensor_bytes_hwc(t) for t in ts]], 64)
    st = linkproto.decode_stream(beats, last, dst=DST, width_bits=64)
    for k, t in enumerate(ts):
        assert bytes(st.payload[k][:t.size]) == linkproto.tensor_bytes_hwc(t)


def test_rx_csim_ends_an_image_whose_frames_ran_out(harness, tmp_path):
    """C-sim only: a frame file cut in the middle of an image (in hardware the kernel would wait for
    the next frame) ends that image as lost slots instead of reading an empty stream forever."""
    width = 64
    ims = _images(13, 2)
    beats, last = _encode(ims, width)
    s = _spans(last)
    F = len(_schedule(width))
    a, _ = s[F + 4]
    beats, last = beats[:a + 2], last[:a + 2]  # image 1 stops inside its 5th frame
    status, outs, verdicts, _ = _rx(harness, tmp_path, width, _file(beats, last), 2)
    assert verdicts == [0, 1]
    assert status["frames_lost"] == F - 5 and status["length_errors"] == 1 and status["frames_ok"] == F + 4
    for k in range(3):  # image 0 intact, image 1 whole (zero-filled where it ran out)
        n = len(ims[0][k])
        assert outs[k][:n] == ims[0][k] and len(outs[k]) == 2 * n
