"""Facts about the generated engines that both the planner and the code generator rely on.

They live here, outside both, because the cost model must charge exactly what the generated
engines do (a port carries at most 8 channels per cycle; a 1x1 engine runs a few pixels ahead)
without importing the code generator.
"""

from __future__ import annotations

#: Pixels a 1x1/fc engine may have read past the last pixel it emitted: its DATAFLOW loop keeps
#: load, compute and emit of consecutive pixels in flight with ping-pong buffers between them
#: (conv.h, pointwise_core). FIFO depths and skip-buffer bytes count them.
PW_INFLIGHT = 5


def port_lanes(channels: int) -> int:
    """Channels per beat of a tensor port: the largest of 8, 4, 2, 1 that divides ``channels``."""
    for p in (8, 4, 2, 1):
        if channels % p == 0:
            return p
    return 1
