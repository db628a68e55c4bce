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
    """Frame file bytes for ``tensors`` (CHW int arrays) sent in order with tensor ids 0, 1, ..."""
    B = width_bits // 8
    out = bytearray()
    seq = seq0
    for tid, t in enumerate(tensors):
        frames, seq = linkproto.encode_frames(linkproto.tensor_bytes_hwc(t), src=src, dst=dst, tensor_id=tid,
                                              seq0=seq, width_bits=width_bits, max_payload_beats=max_payload_beats)
        for fr in frames:
            nb = len(fr) // B
            for i in range(nb):
                out += fr[i * B:(i + 1) * B]
                out.append(1 if i == nb - 1 else 0)
    return bytes(out)


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
