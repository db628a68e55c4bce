"""How activation tensors travel between blocks and boards on chip.

A *tensor port* is an ``hls::stream<ap_uint<8*P>>`` carrying ``P`` consecutive channels of one
pixel per beat, pixels in raster order (HWC, channel fastest). ``P`` depends only on the channel
count, so the producer and consumer of a tensor (possibly on two different boards, generated
separately) agree without talking to each other.
"""

from __future__ import annotations


def port_lanes(channels: int) -> int:
    """Channels per beat of a tensor port: the largest of 8, 4, 2, 1 that divides ``channels``."""
    for p in (8, 4, 2, 1):
        if channels % p == 0:
            return p
    return 1
