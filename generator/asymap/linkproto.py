"""The inter-board frame format, in Python: the reference the HLS link kernels (link.h) match.

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

                         bit 32       POISON: the image this frame belongs to is already known bad
                                      upstream (set by a board whose receiver saw an error)

One image on one link is a fixed sequence of frames, the *schedule* (:func:`link_schedule`): each
tensor is cut into chunks of whole beats (a row of the tensor when several tensors share the link,
``max_payload_beats`` when one tensor has it alone), and the chunks of all tensors are interleaved
in proportion to their progress, so both ends hold a few rows per tensor, never a whole tensor.
Both link kernels know the schedule (a ROM generated from this function), so the receiver knows
which tensor, and how many beats, every frame slot carries.

The receiver (hls/include/asymap/link.h ``link_rx_image``, modelled here by :class:`CutThroughRx`)
forwards payload beats as they arrive; a bad CRC is known only at the trailer, so it marks the
image bad and counts the error (as cut-through Ethernet switches do) instead of withholding data.
Lost frames are zero-filled slot by slot so the kernels downstream always receive whole tensors,
and the receiver resynchronizes on the next frame header (docs/link-protocol.md, section 4).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np

MAGIC = 0xA5
HOST = 255
POISON_BIT = 32
MAX_PAYLOAD_BEATS = 0xFFFF
DEFAULT_MAX_PAYLOAD_BEATS = 256  # frames the generated link kernels send (codegen.chain)
SEQ_MOD = 1 << 16


def check_width(width_bits: int) -> None:
    if width_bits < 64 or width_bits % 64:
        raise ValueError(f"link width must be a multiple of 64 bits, got {width_bits}")


def link_width_bits(gbps: float, kernel_clock_mhz: float) -> int:
    """Beat width of a link's kernels: the narrowest power of two (>= 64, the header) that carries
    the line rate at the kernel clock, one beat per cycle (10G at 300 MHz: 64; 100G at 250-300 MHz:
    512)."""
    if gbps <= 0 or kernel_clock_mhz <= 0:
        raise ValueError(f"link of {gbps} Gb/s at {kernel_clock_mhz} MHz")
    w = 64
    while w * kernel_clock_mhz < gbps * 1000.0 - 1e-9:
        w *= 2
    return w


def framing_efficiency(schedule: list[tuple[int, int]], payload_bytes: int, width_bits: int) -> float:
    """Tensor bytes / bytes on the wire for one image (headers, trailers and padding cost)."""
    return payload_bytes / (schedule_beats(schedule) * width_bits / 8)


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

    A schedule-agnostic checker (tests, ``asymap verify``); the link kernels' own receiver is
    :class:`CutThroughRx`. ``accept_after_gap``: a frame whose
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


# --- one image on one link: schedule, encoder, cut-through receiver --------------------------------
def chunk_beats(shapes: list[tuple[int, int, int]], width_bits: int, max_payload_beats: int) -> list[int]:
    """Payload beats per frame, per tensor: one row when tensors share the link, else the maximum.

    A row (W*C bytes, rounded up to whole beats) is the unit the engines produce and consume, so a
    row-by-row interleave keeps every tensor's buffer at a few rows."""
    check_width(width_bits)
    B = width_bits // 8
    out = []
    for c, h, w in shapes:
        total = -(-(c * h * w) // B)
        chunk = max_payload_beats if len(shapes) == 1 else -(-(c * w) // B)
        out.append(max(1, min(chunk, max_payload_beats, total)))
    return out


def link_schedule(shapes: list[tuple[int, int, int]], width_bits: int,
                  max_payload_beats: int) -> list[tuple[int, int]]:
    """Frame slots of one image: ``(tensor id, payload beats)`` in sending order.

    Tensor ``k`` has ``F_k`` frames; its frame ``f`` is sent at "progress" ``(f + 1) / F_k`` and
    slots are sorted by progress (ties: lower tensor id first), so tensors advance together."""
    from fractions import Fraction

    B = width_bits // 8
    chunks = chunk_beats(shapes, width_bits, max_payload_beats)
    slots = []
    for k, ((c, h, w), ch) in enumerate(zip(shapes, chunks)):
        total = -(-(c * h * w) // B)
        nf = -(-total // ch)
        for f in range(nf):
            slots.append((Fraction(f + 1, nf), k, min(ch, total - f * ch)))
    slots.sort()
    return [(k, n) for _, k, n in slots]


def wire_beats(shapes: list[tuple[int, int, int]], width_bits: int, max_payload_beats: int) -> int:
    """Link beats of one image, ``schedule_beats(link_schedule(...))`` without building the schedule."""
    B = width_bits // 8
    n = 0
    for (c, h, w), ch in zip(shapes, chunk_beats(shapes, width_bits, max_payload_beats)):
        total = -(-(c * h * w) // B)
        n += total + 2 * -(-total // ch)
    return n


def schedule_beats(schedule: list[tuple[int, int]]) -> int:
    """Link beats of one image: header + payload + trailer per frame."""
    return sum(n + 2 for _, n in schedule)


def encode_image(payloads: list[bytes], schedule: list[tuple[int, int]], *, src: int, dst: int, seq0: int,
                 width_bits: int, poison: bool = False) -> tuple[list[bytes], list[bool], int]:
    """Beats and TLAST flags of one image sent by the link transmitter; returns (beats, last, next seq).

    ``payloads[k]`` are tensor k's bytes (HWC); ``poison`` sets the POISON bit on the image's last
    trailer (what ``link_tx_image`` does when its board's receiver marked the image bad)."""
    check_width(width_bits)
    B = width_bits // 8
    pos = [0] * len(payloads)
    beats: list[bytes] = []
    last: list[bool] = []
    seq = seq0 % SEQ_MOD
    for s, (k, n) in enumerate(schedule):
        chunk = payloads[k][pos[k]:pos[k] + n * B]
        pos[k] += n * B
        body = chunk + bytes(n * B - len(chunk))
        head = pack_header(src, dst, k, seq, n).to_bytes(B, "little")
        trailer = zlib.crc32(head + body) | (1 << POISON_BIT if poison and s == len(schedule) - 1 else 0)
        beats.append(head)
        beats.extend(body[i * B:(i + 1) * B] for i in range(n))
        beats.append(trailer.to_bytes(B, "little"))
        last.extend([False] * (n + 1) + [True])
        seq = (seq + 1) % SEQ_MOD
    return beats, last, seq


STATUS_FIELDS = ("frames_ok", "crc_errors", "seq_errors", "length_errors", "magic_errors", "dest_errors",
                 "frames_lost", "poisoned", "images_ok", "images_bad")


@dataclass
class CutThroughRx:
    """Reference model of ``link_rx_image`` (link.h): same state machine, same counters, beat by beat.

    Feed it the received beats with :meth:`receive_image`, one image per call, exactly as the HLS
    kernel is called once per image; it returns the payload each tensor port received (zero-filled
    where frames were lost) and whether the image is marked bad. States:
    HDR (expect a header), PAY (forward payload), TRL (expect the trailer), HUNT (discard up to
    and including the next TLAST), FILL (zero-fill lost slots), LAND (check the accepted frame
    fits the slot the fill ended on), REST (zero-fill the rest of a truncated frame)."""

    schedule: list[tuple[int, int]]
    dst: int
    width_bits: int
    max_payload_beats: int
    seq: int = 0  # expected sequence number
    frames_ok: int = 0
    crc_errors: int = 0
    seq_errors: int = 0
    length_errors: int = 0
    magic_errors: int = 0
    dest_errors: int = 0
    frames_lost: int = 0
    poisoned: int = 0
    images_ok: int = 0
    images_bad: int = 0
    iterations: int = 0  # loop iterations (one per clock at II=1)
    _pending: tuple | None = None
    _hunt: bool = False
    _cand: int | None = None

    def status(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in STATUS_FIELDS}

    def receive_image(self, beats: list[bytes], last: list[bool], pos: int) -> tuple[list[bytearray], bool, int]:
        """Run one image from beat index ``pos``; returns (per-tensor bytes, bad, next pos).

        Raises EOFError if the beats run out mid-image (in hardware the kernel would wait)."""
        B = self.width_bits // 8
        F = len(self.schedule)
        ntens = 1 + max(k for k, _ in self.schedule)
        out = [bytearray() for _ in range(ntens)]
        slot, bcnt, fill, bad = 0, 0, 0, False
        mode = "HUNT" if self._hunt else "HDR"
        hdr = None  # (seq, tid, len, header beat) of the accepted frame
        crc = 0
        if self._pending is not None:  # a header accepted in the previous image, its gap not yet filled
            hdr, fill = self._pending
            self._pending = None
            mode = "FILL" if fill else "LAND"
            crc = zlib.crc32(hdr[3])

        def read() -> tuple[bytes, bool]:
            nonlocal pos
            if pos >= len(beats):
                raise EOFError("link beats ran out in the middle of an image")
            b, lst = beats[pos], last[pos]
            pos += 1
            return b, lst

        while slot < F:
            self.iterations += 1
            if mode == "FILL":  # zero-fill lost slots before the accepted frame
                k, n = self.schedule[slot]
                out[k] += bytes(B)
                bcnt += 1
                if bcnt == n:
                    bcnt, slot, fill = 0, slot + 1, fill - 1
                    self.seq = (self.seq + 1) % SEQ_MOD
                    self.frames_lost += 1
                    bad = True
                    if fill == 0:
                        mode = "LAND"
                    if slot == F:
                        self._pending = (hdr, fill)
                continue
            if mode == "LAND":  # where a zero-fill ends: the accepted frame must fit this slot
                if (hdr[1], hdr[2]) == self.schedule[slot]:
                    mode = "PAY"
                else:
                    self.seq_errors += 1
                    mode = "HUNT"
                continue
            if mode == "REST":  # zero-fill the rest of a truncated frame
                out[hdr[1]] += bytes(B)
                bcnt += 1
                if bcnt == hdr[2]:
                    bcnt, slot, mode = 0, slot + 1, "HDR"
                continue
            b, lst = read()
            if mode == "HUNT":
                if lst:
                    mode = "HDR"
                continue
            if mode == "HDR":
                h = Header.unpack(int.from_bytes(b[:8], "little"))
                nxt = "HDR" if lst else "HUNT"
                if h.magic != MAGIC:
                    self.magic_errors += 1
                    mode = nxt
                    continue
                if lst or not 1 <= h.length <= self.max_payload_beats:
                    self.length_errors += 1
                    mode = nxt
                    continue
                if h.dst != self.dst:
                    self.dest_errors += 1
                    mode = nxt
                    continue
                g = (h.seq - self.seq) % SEQ_MOD
                if g >= SEQ_MOD // 2:  # behind: a duplicate or stale frame
                    self.seq_errors += 1
                    mode = nxt
                    continue
                if g >= F:
                    # Far ahead (a whole image or more lost): plausible only when the next header
                    # follows this one (two in a row, as ATM cell delineation does); its slot is
                    # checked where the zero-fill lands (LAND).
                    if self._cand != (h.seq - 1) % SEQ_MOD:
                        self._cand = h.seq
                        self.seq_errors += 1
                        mode = nxt
                        continue
                else:
                    t = slot + g
                    t = t - F if t >= F else t
                    if (h.tensor_id, h.length) != self.schedule[t]:
                        if g == 0 and h.tensor_id == self.schedule[t][0]:
                            self.length_errors += 1
                        else:
                            self.seq_errors += 1
                        mode = nxt
                        continue
                    if g:
                        self.seq_errors += 1
                self._cand = None
                hdr = (h.seq, h.tensor_id, h.length, b)
                crc = zlib.crc32(b)
                bcnt, fill = 0, g
                mode = "FILL" if g else "PAY"
                continue
            if mode == "PAY":
                if lst:  # TLAST before the announced length: truncated
                    self.length_errors += 1
                    bad = True
                    mode = "REST"
                    self.seq = (hdr[0] + 1) % SEQ_MOD
                    continue
                out[hdr[1]] += b
                crc = zlib.crc32(b, crc)
                bcnt += 1
                if bcnt == hdr[2]:
                    mode = "TRL"
                continue
            # TRL
            bcnt, slot = 0, slot + 1
            self.seq = (hdr[0] + 1) % SEQ_MOD
            if not lst:
                self.length_errors += 1
                bad = True
                mode = "HUNT"
                continue
            mode = "HDR"
            word = int.from_bytes(b[:8], "little")
            if word & 0xFFFFFFFF != crc:
                self.crc_errors += 1
                bad = True
            else:
                self.frames_ok += 1
            if word >> POISON_BIT & 1:
                self.poisoned += 1
                bad = True
        self._hunt = mode == "HUNT"
        if bad:
            self.images_bad += 1
        else:
            self.images_ok += 1
        return out, bad, pos
