"""The channels-per-beat rule of tensor ports, shared by the planner and the code generator.

It lives here, outside both, because the cost model must charge exactly the beats the generated
engines move (a port carries at most 8 channels per cycle) without importing the code generator.
"""

from __future__ import annotations


def port_lanes(channels: int) -> int:
    """Channels per beat of a tensor port: the largest of 8, 4, 2, 1 that divides ``channels``."""
    for p in (8, 4, 2, 1):
        if channels % p == 0:
            return p
    return 1
