"""Per-link RTL glue: the numbers behind ``link_<src>_<dst>.v`` and its rendering.

The hand-written blocks in ``rtl/`` (framer, deframer, clock-crossing FIFO, width converters,
tensor mux/demux) are generic; what changes from link to link is a handful of numbers: the
tensors crossing the cut and their sizes, the two widths, and the buffer sizes that let the link
run at full rate across its latency. This module computes those numbers (and rejects impossible
ones with one clear line), then fills ``templates/link_glue.v.j2``, which only instantiates
``asymap_link_tx`` (source board) and ``asymap_link_rx`` (destination board) with named ports.

Sizing, in link-clock beats (docs/link-protocol.md explains why):
  * round trip  = 2 x latency x link clock + ``PIPELINE_CYCLES`` (CDC, framer, deframer, credit path)
  * credits     = frames in flight to keep the link busy for a round trip, + 2 frame times
                  (store-and-forward check, read-out) + 1 spare
  * rx buffer   = (credits + 2) x max payload beats, rounded up to a power of two
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from asymap.codegen.env import make_env
from asymap.errors import UserError
from asymap.util.names import c_ident, unique_idents
from asymap.resources import resource_dir

RTL_DIR = resource_dir("rtl")

#: Hand-written blocks a rendered glue file needs, in dependency order.
RTL_BLOCKS = (
    "asymap_async_fifo.v",
    "asymap_axis_width.v",
    "asymap_framer.v",
    "asymap_deframer.v",
    "asymap_rx_tensor_track.v",
    "asymap_tensor_mux.v",
    "asymap_tensor_demux.v",
    "asymap_link_tx.v",
    "asymap_link_rx.v",
)

#: Link cycles of pipeline in the credit loop besides the wire: two clock crossings of the
#: credit/ack, framer and deframer registers, frame buffer read-out (generous on purpose).
PIPELINE_CYCLES = 32
MAX_TENSORS = 255


def rtl_sources() -> list[Path]:
    """The ``rtl/*.v`` files a glue top instantiates (include dir: :data:`RTL_DIR`)."""
    return [RTL_DIR / name for name in RTL_BLOCKS]


@dataclass(frozen=True)
class LinkGlue:
    """Every number the glue template needs; computed and checked by :func:`plan_link_glue`."""

    src: str
    dst: str
    module: str
    src_id: int
    dst_id: int
    tensors: list[dict] = field(default_factory=list)   # {id, name, ident, bytes}
    kernel_width_bits: int = 64
    link_width_bits: int = 64
    kernel_clock_mhz: float = 300.0
    link_clock_mhz: float = 156.25
    link_gbps: float = 10.0
    link_latency_ns: float = 0.0
    kernel_clock: str = "ap_clk"
    link_clock: str = "link_clk"
    max_payload_beats: int = 256
    credits: int = 2
    rtt_cycles: int = 0
    rx_buffer_beats: int = 1024
    fifo_depth: int = 32

    @property
    def rx_addr_w(self) -> int:
        return self.rx_buffer_beats.bit_length() - 1

    @property
    def fifo_addr_w(self) -> int:
        return self.fifo_depth.bit_length() - 1

    @property
    def tensor_bytes_vector(self) -> str:
        """Verilog concatenation, tensor 0 in the low 32 bits (as the RTL indexes it)."""
        return "{" + ", ".join(f"32'd{t['bytes']}" for t in reversed(self.tensors)) + "}"

    def link_beats(self, tensor_index: int) -> int:
        return -(-self.tensors[tensor_index]["bytes"] // (self.link_width_bits // 8))


def _pow2(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def _frame_beats(beats: list[int], limit: int) -> int | None:
    """Largest M <= limit with no tensor beat count a multiple of M.

    The receiver recognises a tensor's last frame by its being shorter than M (that is how it
    resynchronizes after a lost frame), so no tensor may end on a full frame.
    """
    for m in range(limit, 1, -1):
        if all(b % m for b in beats):
            return m
    return None


def plan_link_glue(src: str, dst: str, tensors: list[dict], *, kernel_width_bits: int,
                   link_width_bits: int, kernel_clock_mhz: float, link_gbps: float,
                   link_latency_ns: float, link_clock_mhz: float | None = None, src_id: int = 0,
                   dst_id: int = 1, max_payload_beats: int = 256, credits: int | None = None,
                   fifo_depth: int = 32, rx_buffer_beats: int | None = None,
                   kernel_clock: str = "ap_clk", link_clock: str = "link_clk") -> LinkGlue:
    """Check the link's numbers and size its buffers; raise UserError for impossible ones."""
    where = f"link {src}->{dst}"

    def bad(msg: str) -> UserError:
        return UserError(f"{where}: {msg}")

    kw, lw = int(kernel_width_bits), int(link_width_bits)
    if kw <= 0 or kw % 8:
        raise bad(f"kernel_width_bits={kernel_width_bits} is not a positive multiple of 8; use 8, 16, 32, 64, ...")
    if lw <= 0 or lw % 64:
        raise bad(f"link_width_bits={link_width_bits} is not a positive multiple of 64 (the frame header is 64 bits); use 64, 128, 256, 512")
    if not _pow2(kw) or not _pow2(lw):
        raise bad(f"kernel width {kw} and link width {lw} bits must be powers of two (8, 16, ..., 512, 1024)")
    if not kernel_clock_mhz or kernel_clock_mhz <= 0:
        raise bad(f"kernel_clock_mhz={kernel_clock_mhz} must be > 0")
    if not link_gbps or link_gbps <= 0:
        raise bad(f"link_gbps={link_gbps} must be > 0")
    if link_latency_ns is None or link_latency_ns < 0:
        raise bad(f"link_latency_ns={link_latency_ns} must be >= 0")
    if link_clock_mhz is None:
        # The user clock that carries the line rate at this width (10G, 64 bits: 156.25 MHz).
        link_clock_mhz = link_gbps * 1000.0 / lw
    if link_clock_mhz <= 0:
        raise bad(f"link_clock_mhz={link_clock_mhz} must be > 0")
    for name, v in (("src_id", src_id), ("dst_id", dst_id)):
        if not 0 <= int(v) <= 255:
            raise bad(f"{name}={v} does not fit the header's 8 bits (0..255)")
    if not tensors:
        raise bad("no tensors cross this link; give at least one {id, name, bytes}")
    if len(tensors) > MAX_TENSORS:
        raise bad(f"{len(tensors)} tensors, the header's tensor id allows {MAX_TENSORS}")
    ids = [t.get("id") for t in tensors]
    if ids != list(range(len(tensors))):
        raise bad(f"tensor ids {ids} must be 0..{len(tensors) - 1} in order (the id is the index in the link's tensor list)")
    for t in tensors:
        if not isinstance(t.get("bytes"), int) or t["bytes"] <= 0:
            raise bad(f"tensor {t.get('name')!r}: bytes={t.get('bytes')!r} must be a positive integer")
        if t["bytes"] % (kw // 8):
            raise bad(f"tensor {t.get('name')!r}: {t['bytes']} bytes is not a whole number of {kw}-bit kernel beats")
    if credits is not None and credits < 1:
        raise bad(f"credits={credits}: at least one frame credit is needed or nothing is ever sent")
    if not _pow2(int(fifo_depth)) or fifo_depth < 8:
        raise bad(f"fifo_depth={fifo_depth} must be a power of two >= 8 (Gray-coded pointers; 8 covers the synchronizers' round trip at full rate)")
    if rx_buffer_beats is not None and not _pow2(int(rx_buffer_beats)):
        raise bad(f"rx_buffer_beats={rx_buffer_beats} must be a power of two")
    if not 2 <= max_payload_beats <= 0xFFFF:
        raise bad(f"max_payload_beats={max_payload_beats} must be in 2..65535")

    lb = lw // 8
    beats = [-(-t["bytes"] // lb) for t in tensors]
    mpb = _frame_beats(beats, int(max_payload_beats))
    if mpb is None:
        raise bad(f"no frame length <= {max_payload_beats} beats leaves every tensor a short last frame; raise max_payload_beats")

    rtt = math.ceil(2 * link_latency_ns * link_clock_mhz / 1000.0) + PIPELINE_CYCLES
    # A credit comes back one round trip plus two frame times after its frame started (rx stores
    # the whole frame before checking it, then reads it out), so that many frames must be in flight.
    need = math.ceil(rtt / (mpb + 2)) + 3
    credits = int(credits) if credits is not None else max(2, need)
    min_buf = (credits + 2) * mpb
    if rx_buffer_beats is None:
        rx_buffer_beats = 1 << max(4, (min_buf - 1).bit_length())
    elif rx_buffer_beats < min_buf:
        raise bad(f"rx_buffer_beats={rx_buffer_beats} is below (credits + 2) x max payload = {min_buf} beats; the buffer could overflow")

    idents = unique_idents([t.get("name", f"t{t['id']}") for t in tensors], prefix="t")
    clocks = (c_ident(kernel_clock, "clk"), c_ident(link_clock, "clk"))
    if clocks[0] == clocks[1] or "rst" in clocks:
        raise bad(f"clock names {clocks} must differ from each other and from 'rst'")
    return LinkGlue(
        src=src, dst=dst, module=f"link_{c_ident(src)}_{c_ident(dst)}", src_id=int(src_id),
        dst_id=int(dst_id),
        tensors=[{"id": t["id"], "name": " ".join(str(t.get("name", "")).split()), "ident": i,
                  "bytes": t["bytes"]} for t, i in zip(tensors, idents)],
        kernel_width_bits=kw, link_width_bits=lw, kernel_clock_mhz=kernel_clock_mhz,
        link_clock_mhz=link_clock_mhz, link_gbps=link_gbps, link_latency_ns=link_latency_ns,
        kernel_clock=clocks[0], link_clock=clocks[1], max_payload_beats=mpb, credits=credits,
        rtt_cycles=rtt, rx_buffer_beats=int(rx_buffer_beats), fifo_depth=int(fifo_depth))


def render_glue(glue: LinkGlue) -> str:
    """Fill templates/link_glue.v.j2 with a checked :class:`LinkGlue`."""
    tpl = make_env().get_template("link_glue.v.j2")
    ctx = {k: getattr(glue, k) for k in glue.__dataclass_fields__}
    ctx.update(rx_addr_w=glue.rx_addr_w, fifo_addr_w=glue.fifo_addr_w,
               tensor_bytes_vector=glue.tensor_bytes_vector)
    return tpl.render(**ctx)


def render_link_glue(src: str, dst: str, tensors: list[dict], kernel_width_bits: int,
                     link_width_bits: int, kernel_clock_mhz: float, link_gbps: float,
                     link_latency_ns: float, **options) -> str:
    """Verilog text of ``link_<src>_<dst>.v``: modules ``link_<src>_<dst>_tx`` (source board) and
    ``link_<src>_<dst>_rx`` (destination board). ``options`` are those of :func:`plan_link_glue`."""
    return render_glue(plan_link_glue(src, dst, tensors, kernel_width_bits=kernel_width_bits,
                                      link_width_bits=link_width_bits,
                                      kernel_clock_mhz=kernel_clock_mhz, link_gbps=link_gbps,
                                      link_latency_ns=link_latency_ns, **options))
