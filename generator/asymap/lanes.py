"""Facts about the generated engines that both the planner and the code generator rely on.

They live here, outside both, because the cost model must charge exactly what the generated
engines do (a port carries at most its board's 8, 16 or 32 channels per cycle; a 1x1 engine runs
a few pixels ahead)
without importing the code generator.
"""

from __future__ import annotations

import math

#: Pixels a 1x1/fc engine may have read past the last pixel it emitted (an upper bound): the input
#: gearbox's chunk and its 2-word FIFO, the pixel whose words the MVAU holds in ``inbuf``, and the
#: output gearbox's chunk (conv.h, pointwise_core) stay within 3 pixels; 5 leaves margin. FIFO
#: depths and skip-buffer bytes count them.
PW_INFLIGHT = 5


#: Channels per beat a board's tensor ports may carry at most (plan.json ``boards[].port_lanes``):
#: the planner evaluates every segment at each of these and keeps the fastest (issue 12: a 56x56x256
#: tensor takes 100,352 beats at 8 channels per beat, 0.4 ms at 250 MHz, which bounded ResNet-152 on
#: 16 x U280). Wider ports cost wider gearboxes, FIFOs and adder/requant lanes (costmodel), so no
#: single width is best on every board.
PORT_LANE_CHOICES = (8, 16, 32)
DEFAULT_PORT_LANES = 8


def fit_factor(n: int, f: int) -> int:
    """Largest divisor of ``n`` that is <= ``f`` (at least 1): how codegen fits a plan's SIMD/KPAR
    to a layer (shared with partition.slrcross, which counts the streams codegen makes)."""
    f = max(1, min(int(f), n))
    while n % f:
        f -= 1
    return f


def port_lanes(channels: int, max_lanes: int = DEFAULT_PORT_LANES) -> int:
    """Channels per beat of a tensor port: the largest power of two up to ``max_lanes`` (the
    board's port width, a power of two) that divides ``channels``."""
    p = int(max_lanes)
    while p > 1 and channels % p:
        p //= 2
    return max(p, 1)


#: A tensor with fewer channels than this carries several whole pixels per beat ("wide port").
WIDE_MAX_C = 8
#: Pixels per beat of a wide port (at most): 8 pixels of the 3-channel RGB input = 24 bytes.
WIDE_MAX_PIXELS = 8


def port_pixels(channels: int, width: int) -> int:
    """Pixels per beat of a tensor port: for fewer than WIDE_MAX_C channels the largest of 8, 4, 2,
    1 that divides the row width (a beat never straddles two rows, so a window generator loads whole
    beats per row), else 1 (one pixel takes ``channels / port_lanes(channels)`` beats).

    Why: a port beat is one transfer per cycle; at 3 channels and one pixel per beat the RGB stem's
    input took 3 cycles per pixel and bounded the whole pipeline (issue 12, "wide stem ports")."""
    if channels >= WIDE_MAX_C:
        return 1
    for g in (WIDE_MAX_PIXELS, 4, 2, 1):
        if g <= WIDE_MAX_PIXELS and width % g == 0:
            return g
    return 1


def port_bytes(shape, max_lanes: int = DEFAULT_PORT_LANES) -> int:
    """Bytes per beat of the port of a (C, H, W) tensor: ``port_lanes(C)`` channels of one pixel,
    or C x ``port_pixels`` bytes (whole pixels) for a wide port. The HLS engines tell the two apart
    by comparing the beat width with C (``lanes > c`` means ``lanes / c`` pixels per beat)."""
    c, _, w = (int(v) for v in shape)
    g = port_pixels(c, w)
    return c * g if g > 1 else port_lanes(c, max_lanes)


def tensor_port_beats(shape, max_lanes: int = DEFAULT_PORT_LANES) -> int:
    """Beats of a whole (C, H, W) tensor on its port."""
    c, h, w = (int(v) for v in shape)
    return c * h * w // port_bytes(shape, max_lanes)


# Pipeline depth (fill = drain) of each engine process's loop body, in cycles: charged once per
# image per process by the cost model and by the C-sim counters. The C++ twins are the lat_*
# constants of hls/include/asymap/csim_count.h (tests/hls/test_latency_constants.py checks that
# they agree); docs/hls-library.md explains each value.
LAT_GEARBOX = 2  # width conversion: shift registers only
LAT_SWG = 4  # sliding-window generator: line-buffer read, window select, write
LAT_MVAU = 12  # MAC array: weight ROM read, multiply, adder tree, requantization multiply
LAT_POOL = 6  # pool reduction: compare/add, requantization
LAT_ADD = 6  # residual add: two products, round, clamp
LAT_GAP = 7  # global average pool: accumulator read-modify-write, requantization
LAT_CONCAT = 6  # concat: requantization, shift-register move
LAT_LUT = 3  # lookup-table activation: ROM read, write
LAT_CHMUL = 8  # channel-wise Mul: scale buffer read, product, requantization, zero point and clamp
LAT_AFFINE = 7  # per-channel affine (pre-activation BatchNorm): product, bias, requantization
LAT_CHANSEL = 2  # channel selection / shuffle: shift-register move


def gearbox_steps(pi: int, po: int, ci: int) -> tuple[int, int]:
    """(loop iterations per item, tail) of stream_utils.h ``gearbox<PI, PO, CI, ...>``: chunks of
    L = lcm(PI, PO) bytes, M = max(L/PI, L/PO) iterations per chunk, ceil(CI/L) chunks per item,
    one more chunk slot to send the last one, plus the pipeline depth."""
    g = math.gcd(pi, po)
    lcm = pi // g * po
    m = max(lcm // pi, lcm // po)
    return -(-ci // lcm) * m, m + LAT_GEARBOX


def pixel_beats(shape, max_lanes: int = DEFAULT_PORT_LANES) -> int:
    """Loop iterations a per-pixel process spends on one pixel of a port: C / lanes beats, or one
    for a wide port (the process shifts one pixel out of the beat it holds, concat.h)."""
    c, _, w = (int(v) for v in shape)
    return 1 if port_pixels(c, w) > 1 else c // port_lanes(c, max_lanes)


def concat_slot_steps(in_shapes, out_shape, max_lanes: int = DEFAULT_PORT_LANES) -> int:
    """Loop iterations per pixel of a concat wrapper (concat.h): shifting in every operand's beats
    of one pixel, or sending the previous pixel's output beats, whichever takes longer."""
    ins = sum(pixel_beats(s, max_lanes) for s in in_shapes)
    return max(ins, pixel_beats(out_shape, max_lanes))
