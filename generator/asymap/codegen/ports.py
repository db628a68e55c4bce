"""How activation tensors travel between blocks and boards on chip.

A *tensor port* is an ``hls::stream<ap_uint<8*P>>`` carrying ``P`` consecutive channels of one
pixel per beat, pixels in raster order (HWC, channel fastest). ``P`` depends only on the channel
count, so the producer and consumer of a tensor (possibly on two different boards, generated
separately) agree without talking to each other.
"""

from __future__ import annotations

from asymap.lanes import port_lanes  # the rule itself is shared with the cost model

__all__ = ["port_lanes"]
