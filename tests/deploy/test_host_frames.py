"""The host-side C++ frame library (host/include/asymap_host) equals the Python reference.

asymap.linkproto is the specification: the C++ encoder must produce byte-identical frame files,
and the C++ receiver must count the same errors and accept the same payloads on random streams
with random corruption (flipped bits, dropped beats, lost TLAST, wrong destination, replayed
frames), with and without accepting frames after a sequence gap. The batch layer must mark exactly
the images that lost a frame as bad and return the others intact.
"""

from __future__ import annotations

import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest

from asymap import linkproto
from asymap.codegen import framefile
from asymap.resources import resource_dir

HERE = Path(__file__).resolve().parent
pytestmark = pytest.mark.csim


@pytest.fixture(scope="module")
def tool(tmp_path_factory) -> Path:
    exe = tmp_path_factory.mktemp("frames") / "frames_tool"
    subprocess.run(["g++", "-std=c++17", "-O1", "-Wall", "-Werror", "-I", str(resource_dir("host") / "include"),
                    str(HERE / "frames_tool.cpp"), "-o", str(exe)], check=True, capture_output=True, text=True)
    return exe


def _parse(out: str) -> tuple[dict, dict]:
    status, payload = {}, {}
    for ln in out.splitlines():
        parts = ln.split()
        if parts and parts[0] == "STATUS":
            status = {k: int(v) for k, v in (p.split("=") for p in parts[1:])}
        elif parts and parts[0] == "PAYLOAD":
            d = dict(p.split("=") for p in parts[1:])
            payload[int(d["id"])] = (int(d["len"]), int(d["crc"]))
    return status, payload


def _corrupt(beats: list[bytes], last: list[bool], rng, dst: int) -> tuple[list[bytes], list[bool]]:
    beats, last = list(beats), list(last)
    for _ in range(int(rng.integers(1, 6))):
        kind = int(rng.integers(0, 6))
        i = int(rng.integers(0, len(beats)))
        if kind == 0:  # flip a bit
            b = bytearray(beats[i])
            b[int(rng.integers(0, len(b)))] ^= 1 << int(rng.integers(0, 8))
            beats[i] = bytes(b)
        elif kind == 1 and len(beats) > 3:  # drop a beat
            del beats[i], last[i]
        elif kind == 2:  # lose a TLAST
            last[i] = False
        elif kind == 3:  # spurious TLAST
            last[i] = True
        elif kind == 4 and True in last:  # replay the first frame (a duplicate sequence number)
            j = last.index(True) + 1
            beats[i:i] = beats[:j]
            last[i:i] = last[:j]
        else:  # wrong destination: rewrite a header with a valid CRC
            j = 0
            while j < len(beats):
                k = j
                while k < len(beats) and not last[k]:
                    k += 1
                if k < len(beats) and rng.random() < 0.5:
                    h = bytearray(beats[j])
                    h[2] = (dst + 1) % 255
                    beats[j] = bytes(h)
                    crc = zlib.crc32(b"".join(beats[j:k]))
                    beats[k] = crc.to_bytes(4, "little") + beats[k][4:]
                    break
                j = k + 1
    return beats, last


def _write(path: Path, beats, last) -> None:
    path.write_bytes(b"".join(b + bytes([1 if t else 0]) for b, t in zip(beats, last)))


@pytest.mark.parametrize("width", [64, 128, 512])
def test_decode_equals_linkproto_on_random_corrupt_streams(tool, tmp_path, width):
    rng = np.random.default_rng(width)
    for trial in range(25):
        maxb = int(rng.integers(1, 6))
        tensors = [rng.integers(-128, 128, size=(int(rng.integers(1, 9)), int(rng.integers(1, 5)), 3)).astype(np.int8)
                   for _ in range(int(rng.integers(1, 4)))]
        seq0 = int(rng.integers(0, 1 << 16))
        data = framefile.encode_tensors(tensors, src=3, dst=4, width_bits=width, max_payload_beats=maxb, seq0=seq0)
        beats, last = framefile.split_beats(data, width)
        if trial:
            beats, last = _corrupt(beats, last, rng, 4)
        f = tmp_path / f"t{trial}.frames"
        _write(f, beats, last)
        for gap in (False, True):
            bound = maxb if trial % 2 else 0
            ref = linkproto.decode_stream(beats, last, dst=4, width_bits=width, seq0=seq0, accept_after_gap=gap,
                                          max_payload_beats=bound or None)
            p = subprocess.run([str(tool), "decode", str(width), "4", str(seq0), str(int(gap)), str(bound), str(f)],
                               capture_output=True, text=True, timeout=30)
            assert p.returncode == 0, p.stderr
            status, payload = _parse(p.stdout)
            want = {k: getattr(ref, k) for k in status}
            assert status == want, (trial, gap)
            assert payload == {k: (len(v), zlib.crc32(bytes(v))) for k, v in ref.payload.items()}, (trial, gap)


def _shape_args(shapes) -> list[str]:
    return ["x".join(map(str, sh)) for sh in shapes]


def _random_shapes(rng) -> list[tuple[int, int, int]]:
    return [(int(rng.integers(1, 70)), int(rng.integers(1, 9)), int(rng.integers(1, 9)))
            for _ in range(int(rng.integers(1, 5)))]


def test_schedule_equals_linkproto_on_random_links(tool):
    """asymap_host::link_schedule is linkproto.link_schedule: same slots, same order, for one to
    four tensors of random shapes (rows of odd byte counts, ties in progress), widths and frame caps."""
    rng = np.random.default_rng(7)
    for _ in range(120):
        shapes = _random_shapes(rng)
        width = int(rng.choice([64, 128, 256, 512]))
        maxb = int(rng.choice([1, 2, 3, 7, 256]))
        p = subprocess.run([str(tool), "schedule", str(width), str(maxb), *_shape_args(shapes)],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, p.stderr
        got = [tuple(map(int, ln.split()[1:])) for ln in p.stdout.splitlines() if ln.startswith("SLOT")]
        assert got == linkproto.link_schedule(shapes, width, maxb), (shapes, width, maxb)


def _run_batch(tool, tmp_path, width, maxb, shapes, images, seq0, rx_beats, rx_last):
    out, rx = tmp_path / "batch.frames", tmp_path / "rx.frames"
    _write(rx, rx_beats, rx_last)
    stdin = b"".join(linkproto.tensor_bytes_hwc(t) for img in images for t in img)
    p = subprocess.run([str(tool), "batch", str(width), str(maxb), "255", "0", str(seq0), str(len(images)), str(out),
                        str(rx), *_shape_args(shapes)], input=stdin, capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr
    text = p.stdout.decode()
    results = []
    for k in range(len(images)):
        line = next(ln for ln in text.splitlines() if ln.startswith(f"IMAGE {k} "))
        results.append(("ok=1" in line, [int(x.split("=")[1]) for x in line.split()[3:]]))
    return out.read_bytes(), text, results


def _linkproto_batch(images, shapes, width, maxb, seq0, poison=()):
    """The reference: each image framed by linkproto.encode_image over link_schedule, sequence
    numbers continuing across images (what the first board's receiver expects)."""
    sched = linkproto.link_schedule(shapes, width, maxb)
    beats, last, seq = [], [], seq0
    for k, img in enumerate(images):
        b, t, seq = linkproto.encode_image([linkproto.tensor_bytes_hwc(x) for x in img], sched, src=255, dst=0,
                                           seq0=seq, width_bits=width, poison=k in poison)
        beats += b
        last += t
    return beats, last, sched


@pytest.mark.parametrize("seed", range(6))
def test_batch_follows_random_multi_tensor_schedules(tool, tmp_path, seed):
    """The host library frames a batch over a link carrying several tensors exactly as the link
    kernels (linkproto.encode_image over link_schedule) do, and reassembles what comes back slot by
    slot: a corrupted frame loses exactly its image, a POISONed trailer marks its image bad."""
    rng = np.random.default_rng(100 + seed)
    shapes = _random_shapes(rng) if seed else [(16, 3, 3), (5, 3, 3), (33, 1, 2)]
    width = int(rng.choice([64, 128, 512]))
    maxb = int(rng.choice([1, 3, 256]))
    nimg, seq0 = 4, 65534 - int(rng.integers(0, 3))  # the batch wraps the 16-bit sequence number
    images = [[rng.integers(-128, 128, size=s).astype(np.int8) for s in shapes] for _ in range(nimg)]
    beats, last, sched = _linkproto_batch(images, shapes, width, maxb, seq0, poison={3})
    want_beats, want_last, _ = _linkproto_batch(images, shapes, width, maxb, seq0)
    fpi = len(sched)
    starts = [0] + [i + 1 for i, t in enumerate(last) if t][:-1]
    bad = 1
    victim = starts[bad * fpi + int(rng.integers(0, fpi))]
    beats = list(beats)
    b = bytearray(beats[victim + 1])  # a payload beat (or the trailer of a one-beat frame)
    b[0] ^= 0x10
    beats[victim + 1] = bytes(b)
    sent, text, results = _run_batch(tool, tmp_path, width, maxb, shapes, images, seq0, beats, last)
    assert sent == b"".join(x + bytes([int(t)]) for x, t in zip(want_beats, want_last))
    assert f"PER_IMAGE frames={fpi} beats={linkproto.schedule_beats(sched)}" in text
    status, _ = _parse(text)
    assert status["crc_errors"] == 1 and status["frames_ok"] == nimg * fpi - 1
    assert "POISONED 1" in text
    for k, (ok, crcs) in enumerate(results):
        assert ok == (k not in (bad, 3)), (k, text)
        if k != bad:  # the poisoned image's data arrived intact; only its verdict is bad
            assert crcs == [zlib.crc32(linkproto.tensor_bytes_hwc(t)) for t in images[k]]


@pytest.mark.parametrize("width,maxb", [(64, 3), (512, 1), (64, 256)])
def test_batch_encode_equals_framefile_and_bad_images_are_marked(tool, tmp_path, width, maxb):
    rng = np.random.default_rng(maxb + width)
    # One tensor alone on the link: frames of max_payload_beats (linkproto.link_schedule).
    shapes = [(16, 3, 3)]
    nimg, seq0 = 5, 65530  # the batch wraps the 16-bit sequence number
    images = [[rng.integers(-128, 128, size=s).astype(np.int8) for s in shapes] for _ in range(nimg)]
    want, seq = bytearray(), seq0
    for img in images:
        want += framefile.encode_tensors(img, src=255, dst=0, width_bits=width, max_payload_beats=maxb, seq0=seq)
        seq += sum(-(-(-(-t.size // (width // 8))) // maxb) for t in img)
    out, rx = tmp_path / "batch.frames", tmp_path / "rx.frames"
    # What comes back, with one frame corrupted; the host accepts intact frames after a gap (their
    # sequence number says which image they carry), so only that frame's image is lost.
    beats, last = framefile.split_beats(bytes(want), width)
    rx_beats = []
    for b in beats:
        rx_beats.append(b)
    frames_per_image = sum(-(-(-(-t.size // (width // 8))) // maxb) for t in images[0])
    bad_image = 2
    # index of the first beat of image 2's second frame (its only one when an image is one frame)
    starts = [0] + [i + 1 for i, t in enumerate(last) if t][:-1]
    victim = starts[bad_image * frames_per_image + min(1, frames_per_image - 1)]
    b = bytearray(rx_beats[victim + 1])
    b[0] ^= 0x10
    rx_beats[victim + 1] = bytes(b)
    _write(rx, rx_beats, last)
    stdin = b"".join(linkproto.tensor_bytes_hwc(t) for img in images for t in img)
    p = subprocess.run([str(tool), "batch", str(width), str(maxb), "255", "0", str(seq0), str(nimg), str(out), str(rx),
                        *_shape_args(shapes)], input=stdin, capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert out.read_bytes() == bytes(want)
    text = p.stdout.decode()
    status, _ = _parse(text)
    assert status["crc_errors"] == 1 and status["frames_ok"] == nimg * frames_per_image - 1
    for k in range(nimg):
        line = next(ln for ln in text.splitlines() if ln.startswith(f"IMAGE {k} "))
        ok = "ok=1" in line
        assert ok == (k != bad_image), line
        if ok:
            crcs = [int(x.split("=")[1]) for x in line.split()[3:]]
            assert crcs == [zlib.crc32(linkproto.tensor_bytes_hwc(t)) for t in images[k]]
