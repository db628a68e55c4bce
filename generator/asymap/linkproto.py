"""The inter-board frame format, in Python: the reference the HLS link kernels and the RTL glue match.

A tensor crossing a board boundary travels as one or more AXI4-Stream *frames* of ``W``-bit beats
(``W`` a multiple of 64). Every beat is little-endian: byte ``k`` of a beat is bits [8k+7:8k].

    beat 0      header   bits [7:0]   MAGIC (0xA5)
                         bits [15:8]  source board id       (pipeline position; HOST = 255)
                         bits [23:16] destination board id
                         bits [31:24] tensor id             (index in the link's tensor list)
                         bits [47:32] sequence number       (per link, +1 per frame, wraps at 2**16)
                         bits [63:48] payload length in beats (1 .. MAX_PAYLOAD_BEATS)
                         bits above 63 are zero
    beats 1..n  payload  tensor bytes in HWC order (channel fastest), packed low byte first; the
                         last beat is zero-padded (TKEEP marks its valid bytes on the RTL side)
    beat n+1    trailer  bits [31:0]  CRC-32 (zlib polynomial, ``zlib.crc32``) over every byte of
                         the header beat and of all payload beats, padding included;
                         other bits zero; TLAST is set on this beat only

A tensor longer than ``max_payload_beats`` is split into consecutive frames with the same tensor
id and increasing sequence numbers. The receiver checks magic, destination, sequence, length (the
trailer must come exactly after ``length`` payload beats, with TLAST) and CRC; a frame failing any
check is dropped and counted, never passed on.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np

MAGIC = 0xA5
HOST = 255
MAX_PAYLOAD_BEATS = 0xFFFF
SEQ_MOD = 1 << 16


def check_width(width_bits: int) -> None:
    if width_bits < 64 or width_bits % 64:
        raise ValueError(f"link width must be a multiple of 64 bits, got {width_bits}")


def pack_header(src: int, dst: int, tensor_id: int, seq: int, length: int) -> int:
    for name, v, bits in (("src", src, 8), ("dst", dst, 8), ("tensor_id", tensor_id, 8), ("seq", seq, 16)):
        if not 0 <= v < (1 << bits):
            raise ValueError(f"{name}={v} does not fit {bits} bits")
    if not 1 <= length <= MAX_PAYLOAD_BEATS:
        raise ValueError(f"payload length {length} beats outside 1..{MAX_PAYLOAD_BEATS}")
    return MAGIC | src << 8 | dst << 16 | tensor_id << 24 | seq << 32 | length << 48


@dataclass
class Header:
    magic: int
    src: int
    dst: int
    tensor_id: int
    seq: int
    length: int

    @classmethod
    def unpack(cls, word: int) -> "Header":
        return cls(word & 0xFF, word >> 8 & 0xFF, word >> 16 & 0xFF, word >> 24 & 0xFF, word >> 32 & 0xFFFF, word >> 48 & 0xFFFF)


def tensor_bytes_hwc(chw: np.ndarray) -> bytes:
    """The payload byte order of a (C, H, W) int8/uint8 tensor: HWC, channel fastest."""
    a = np.asarray(chw)
    if a.ndim == 1:
        return a.astype(np.uint8, copy=False).view(np.uint8).tobytes() if a.dtype != np.int8 else a.view(np.uint8).tobytes()
    return np.ascontiguousarray(a.transpose(1, 2, 0)).view(np.uint8).tobytes()


def encode_frames(payload: bytes, *, src: int, dst: int, tensor_id: int, seq0: int, width_bits: int,
                  max_payload_beats: int = 256) -> tuple[list[bytes], int]:
    """Split ``payload`` into frames; return (frames, next sequence number).

    Each frame is the bytes of its beats (header, payload, trailer), ``width_bits/8`` per beat.
    """
    check_width(width_bits)
    B = width_bits // 8
    per_frame = max_payload_beats * B
    frames = []
    seq = seq0 % SEQ_MOD
    for off in range(0, max(len(payload), 1), per_frame):
        chunk = payload[off:off + per_frame]
        nbeats = -(-len(chunk) // B)
        body = chunk + bytes(nbeats * B - len(chunk))
        head = pack_header(src, dst, tensor_id, seq, nbeats).to_bytes(B, "little")
        crc = zlib.crc32(head + body)
        frames.append(head + body + crc.to_bytes(4, "little") + bytes(B - 4))
        seq = (seq + 1) % SEQ_MOD
    return frames, seq


@dataclass
class RxStatus:
    """The receiver's sticky counters (same names as the RTL and HLS status registers)."""

    frames_ok: int = 0
    crc_errors: int = 0
    seq_errors: int = 0
    length_errors: int = 0
    magic_errors: int = 0
    dest_errors: int = 0
    payload: dict[int, bytearray] = field(default_factory=dict)


def decode_stream(beats: list[bytes], last: list[bool], *, dst: int, width_bits: int, seq0: int = 0,
                  accept_after_gap: bool = False, max_payload_beats: int | None = None) -> RxStatus:
    """Reference receiver over a beat stream with TLAST flags; accepted payloads by tensor id.

    On an error the receiver resynchronizes at the beat after the next TLAST. The expected sequence
    number follows the last frame whose header arrived intact, so one lost frame is one seq error.

    ``accept_after_gap`` (the RTL receiver's behaviour, rtl/asymap_deframer.v): a frame whose
    sequence number is *ahead* of the expected one (frames were lost before it) is intact, so it is
    counted as a seq error but still accepted; a frame *behind* (a duplicate) is dropped. Without
    it every sequence mismatch drops the frame, and the link recovers one frame later.
    ``max_payload_beats``: a receiver that buffers whole frames also rejects, as length errors,
    headers announcing 0 or more than this many payload beats.
    """
    check_width(width_bits)
    st = RxStatus()
    expect = seq0 % SEQ_MOD
    i = 0
    n = len(beats)
    while i < n:
        # Gather one frame: beats up to and including TLAST.
        j = i
        while j < n and not last[j]:
            j += 1
        frame = beats[i:j + 1]
        i = j + 1
        hdr = Header.unpack(int.from_bytes(frame[0][:8], "little"))
        if hdr.magic != MAGIC:
            st.magic_errors += 1
            continue
        too_long = max_payload_beats is not None and not 1 <= hdr.length <= max_payload_beats
        if len(frame) != hdr.length + 2 or j >= n or too_long:
            st.length_errors += 1
            continue
        data = b"".join(frame[:-1])
        if zlib.crc32(data) != int.from_bytes(frame[-1][:4], "little"):
            st.crc_errors += 1
            continue
        if hdr.dst != dst:
            st.dest_errors += 1
            continue
        if hdr.seq != expect:
            st.seq_errors += 1
            ahead = (hdr.seq - expect) % SEQ_MOD < SEQ_MOD // 2
            expect = (hdr.seq + 1) % SEQ_MOD
            if not (accept_after_gap and ahead):
                continue
        else:
            expect = (expect + 1) % SEQ_MOD
        st.frames_ok += 1
        st.payload.setdefault(hdr.tensor_id, bytearray()).extend(b"".join(frame[1:-1]))
    return st
