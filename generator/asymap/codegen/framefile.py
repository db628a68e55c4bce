"""Frame files: the beats one link carries for one image, as a file (C-sim chaining and tests).

Every beat is stored as ``W/8`` data bytes (little-endian: byte k = bits [8k+7:8k]) followed by one
flag byte whose bit 0 is TLAST. ``hls/include/asymap/linkfile.h`` reads and writes the same format,
so boards simulated as separate programs hand their link traffic to each other through these files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from asymap import linkproto


def encode_tensors(tensors: list[np.ndarray], *, src: int, dst: int, width_bits: int, max_payload_beats: int,
                   seq0: int = 0) -> bytes:
    """Frame file bytes of one image: ``tensors`` (CHW int arrays, tensor ids 0, 1, ...) sent by the
    link transmitter, interleaved by :func:`asymap.linkproto.link_schedule`."""
    shapes = [tuple(np.asarray(t).reshape(-1, 1, 1).shape if np.asarray(t).ndim == 1 else np.asarray(t).shape)
              for t in tensors]
    sched = linkproto.link_schedule(shapes, width_bits, max_payload_beats)
    beats, last, _ = linkproto.encode_image([linkproto.tensor_bytes_hwc(t) for t in tensors], sched, src=src,
                                            dst=dst, seq0=seq0, width_bits=width_bits)
    return b"".join(b + bytes([int(x)]) for b, x in zip(beats, last))


def split_beats(data: bytes, width_bits: int) -> tuple[list[bytes], list[bool]]:
    """(beats, tlast flags) of a frame file's bytes; a trailing partial record is ignored."""
    B = width_bits // 8
    rec = B + 1
    n = len(data) // rec
    beats = [data[i * rec:i * rec + B] for i in range(n)]
    last = [bool(data[i * rec + B] & 1) for i in range(n)]
    return beats, last


def decode_file(path: str | Path, *, dst: int, width_bits: int, seq0: int = 0) -> linkproto.RxStatus:
    """Run the reference receiver over a frame file."""
    beats, last = split_beats(Path(path).read_bytes(), width_bits)
    return linkproto.decode_stream(beats, last, dst=dst, width_bits=width_bits, seq0=seq0)


def hwc_to_chw(data: bytes | bytearray, shape: tuple[int, int, int], signed: bool) -> np.ndarray:
    """Inverse of linkproto.tensor_bytes_hwc for one (C, H, W) tensor."""
    c, h, w = shape
    a = np.frombuffer(bytes(data[:c * h * w]), dtype=np.int8 if signed else np.uint8)
    return a.reshape(h, w, c).transpose(2, 0, 1)
