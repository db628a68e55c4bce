"""Per-link RTL bridge: the numbers behind ``link_<src>_<dst>.v`` and its rendering.

The link protocol (framing, sequence numbers, CRC, interleaving, error recovery) lives once, in
the HLS link kernels (hls/include/asymap/link.h). What remains in RTL is transport: the
hand-written blocks in ``rtl/`` move the kernels' beats unchanged between the kernel clock and the
transport core's clock, convert width, and keep the serial link lossless with credits (the
receiving bridge's FIFO is the credit buffer). Per link only a few numbers change: the two widths,
the clocks, and the buffer that covers the round trip. This module computes them (rejecting
impossible ones with one clear line) and fills ``templates/link_glue.v.j2``, which instantiates
``asymap_bridge_tx`` (source board) and ``asymap_bridge_rx`` (destination board).

Sizing, in link-clock beats (docs/link-protocol.md, section 5):
  * round trip  = 2 x latency x link clock + ``PIPELINE_CYCLES`` (CDC, width converters, credit path)
  * rx buffer   = entries in flight during a round trip (+ margin), rounded up to a power of two:
                  then credits never stop a busy link. Beats arrive at most one per link cycle and
                  no faster than the line rate: a core whose user side is wider x faster than its
                  line (100G CMAC: 512 bits x 322 MHz = 165 Gb/s) throttles TX to the line, so the
                  round trip holds ``rtt_beats`` = round trip x min(1, line rate / (width x link
                  clock)) beats, the bandwidth-delay product at the line rate
  * idle resync = 2 x round trip + 64: after that long without sending, nothing is in flight
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from asymap.codegen.env import make_env
from asymap.errors import UserError
from asymap.util.names import c_ident
from asymap.resources import resource_dir

RTL_DIR = resource_dir("rtl")

#: Hand-written blocks a rendered bridge needs, in dependency order.
RTL_BLOCKS = (
    "asymap_async_fifo.v",
    "asymap_axis_width.v",
    "asymap_bridge_tx.v",
    "asymap_bridge_rx.v",
)

#: Link cycles of pipeline in the credit loop besides the wire: clock crossings of data and credit
#: word, width converters, the credit register (generous on purpose).
PIPELINE_CYCLES = 32
MAX_RX_ADDR_W = 14  # 16-bit credit counters (asymap_bridge_rx needs RX_ADDR_W <= 14)


def rtl_sources() -> list[Path]:
    """The ``rtl/*.v`` files a bridge top instantiates."""
    return [RTL_DIR / name for name in RTL_BLOCKS]


def transport_width_bits(gbps: float) -> int:
    """User-interface width of the transport core for a line rate: Aurora 64b/66b with one lane
    (up to 25G) presents 64 bits, four lanes (40-50G) 256 bits, the 100G CMAC 512 bits."""
    return 64 if gbps <= 25 else 256 if gbps <= 50 else 512


@dataclass(frozen=True)
class LinkGlue:
    """Every number the bridge template needs; computed and checked by :func:`plan_link_glue`."""

    src: str
    dst: str
    module: str
    kernel_width_bits: int = 64
    link_width_bits: int = 64
    kernel_clock_mhz: float = 300.0
    link_clock_mhz: float = 156.25
    link_gbps: float = 10.0
    link_latency_ns: float = 0.0
    kernel_clock: str = "ap_clk"
    link_clock: str = "link_clk"
    rtt_cycles: int = 0
    rtt_beats: int = 0  # link beats that can arrive during a round trip (at the line rate)
    rx_buffer_beats: int = 1024  # entries of the receiving FIFO (link beats, or packed words)
    rx_pack: int = 1  # link beats per receiving FIFO entry (kernel wider than the link)
    fifo_depth: int = 32
    idle_cycles: int = 1024

    @property
    def rx_addr_w(self) -> int:
        return self.rx_buffer_beats.bit_length() - 1

    @property
    def fifo_addr_w(self) -> int:
        return self.fifo_depth.bit_length() - 1


def rtt_line_beats(rtt_cycles: int, gbps: float, width_bits: int, clock_mhz: float) -> int:
    """Link beats that can arrive during ``rtt_cycles`` link cycles: one per cycle at most, and no
    more than the line carries (the bandwidth-delay product at the line rate). A core whose user
    side is faster than its line throttles TX to the line (PG203: the 100G CMAC's 512-bit TX at
    322.265625 MHz deasserts TREADY to hold 100 Gb/s), so the far sender cannot put more beats in
    flight than the line carries, whatever its credits allow. costmodel.rx_buffer_entries repeats
    this (tests/partition/test_partition_transport.py keeps them equal)."""
    per_cycle = min(1.0, gbps * 1000.0 / (width_bits * clock_mhz))
    return int(math.ceil(rtt_cycles * per_cycle - 1e-9))


def _pow2(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def plan_link_glue(src: str, dst: str, *, kernel_width_bits: int, link_width_bits: int,
                   kernel_clock_mhz: float, link_gbps: float, link_latency_ns: float,
                   link_clock_mhz: float | None = None, fifo_depth: int = 32,
                   rx_buffer_beats: int | None = None, kernel_clock: str = "ap_clk",
                   link_clock: str = "link_clk") -> LinkGlue:
    """Check the link's numbers and size its buffers; raise UserError for impossible ones."""
    where = f"link {src}->{dst}"

    def bad(msg: str) -> UserError:
        return UserError(f"{where}: {msg}")

    kw, lw = int(kernel_width_bits), int(link_width_bits)
    if kw < 64 or kw % 64:
        raise bad(f"kernel_width_bits={kernel_width_bits} is not a multiple of 64 (the HLS link beat holds the 64-bit frame header); use 64, 128, 256, 512")
    if lw <= 0 or lw % 64:
        raise bad(f"link_width_bits={link_width_bits} is not a positive multiple of 64; use 64, 128, 256, 512")
    if not _pow2(kw) or not _pow2(lw):
        raise bad(f"kernel width {kw} and link width {lw} bits must be powers of two (64, 128, ..., 1024)")
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
    if not _pow2(int(fifo_depth)) or fifo_depth < 8:
        raise bad(f"fifo_depth={fifo_depth} must be a power of two >= 8 (Gray-coded pointers; 8 covers the synchronizers' round trip at full rate)")
    rx_pack = kw // lw if kw > lw else 1
    rtt = math.ceil(2 * link_latency_ns * link_clock_mhz / 1000.0) + PIPELINE_CYCLES
    rtt_beats = rtt_line_beats(rtt, link_gbps, lw, link_clock_mhz)
    need = -(-rtt_beats // rx_pack) + 16
    if rx_buffer_beats is None:
        rx_buffer_beats = 1 << max(4, (need - 1).bit_length())
    elif not _pow2(int(rx_buffer_beats)) or rx_buffer_beats < 16:
        raise bad(f"rx_buffer_beats={rx_buffer_beats} must be a power of two >= 16")
    if rx_buffer_beats > 1 << MAX_RX_ADDR_W:
        raise bad(f"rx buffer of {rx_buffer_beats} entries exceeds the 16-bit credit counters' {1 << MAX_RX_ADDR_W}; "
                  "the link's latency is too long for this bridge")
    clocks = (c_ident(kernel_clock, "clk"), c_ident(link_clock, "clk"))
    if clocks[0] == clocks[1] or "rst" in clocks:
        raise bad(f"clock names {clocks} must differ from each other and from 'rst'")
    return LinkGlue(
        src=src, dst=dst, module=f"link_{c_ident(src)}_{c_ident(dst)}", kernel_width_bits=kw,
        link_width_bits=lw, kernel_clock_mhz=kernel_clock_mhz, link_clock_mhz=link_clock_mhz,
        link_gbps=link_gbps, link_latency_ns=link_latency_ns, kernel_clock=clocks[0],
        link_clock=clocks[1], rtt_cycles=rtt, rtt_beats=rtt_beats, rx_buffer_beats=int(rx_buffer_beats), rx_pack=rx_pack,
        fifo_depth=int(fifo_depth), idle_cycles=2 * rtt + 64)


def render_glue(glue: LinkGlue) -> str:
    """Fill templates/link_glue.v.j2 with a checked :class:`LinkGlue`."""
    tpl = make_env().get_template("link_glue.v.j2")
    ctx = {k: getattr(glue, k) for k in glue.__dataclass_fields__}
    ctx.update(rx_addr_w=glue.rx_addr_w, fifo_addr_w=glue.fifo_addr_w)
    return tpl.render(**ctx)


def render_link_glue(src: str, dst: str, *, kernel_width_bits: int, link_width_bits: int,
                     kernel_clock_mhz: float, link_gbps: float, link_latency_ns: float, **options) -> str:
    """Verilog text of ``link_<src>_<dst>.v``: modules ``link_<src>_<dst>_tx`` (source board) and
    ``link_<src>_<dst>_rx`` (destination board). ``options`` are those of :func:`plan_link_glue`."""
    return render_glue(plan_link_glue(src, dst, kernel_width_bits=kernel_width_bits,
                                      link_width_bits=link_width_bits, kernel_clock_mhz=kernel_clock_mhz,
                                      link_gbps=link_gbps, link_latency_ns=link_latency_ns, **options))
