"""How activation tensors travel between blocks and boards on chip.

A *tensor port* is an ``hls::stream<ap_uint<8*P>>`` carrying ``P`` consecutive channels of one
pixel per beat, pixels in raster order (HWC, channel fastest). ``P`` depends only on the channel
count and the board's port width (plan.json ``boards[].port_lanes``), so the producer and consumer
of a tensor on one board agree; between boards the bytes on the link are the same whatever either
end's width, and each end's link kernels repack them into its own port words.
"""

from __future__ import annotations

from asymap.lanes import port_lanes  # the rule itself is shared with the cost model

__all__ = ["port_lanes"]
