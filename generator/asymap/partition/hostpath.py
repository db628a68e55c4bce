"""The host path: images enter at the board the cluster's ``host:`` attaches to, travel the
topology to the pipeline's first board, and results travel from its last board back.

Each hop is a link stage of the cluster pipeline like the links between stages (its interval is
the bytes of one image over the link, plus its latency), and the host link itself (``host.gbps``,
``host.latency_ns``) is one more stage. Boards the image only passes through are *forwarding*
boards: they run link kernels, no layers. Between the host's board and a given first board the
route is the one whose slowest hop is fastest (a minimax path; ties: fewest hops), so the planner
can charge ``entry[b]`` / ``exit[b]`` per board before it knows the plan.

Links are full duplex: the image path shares a link with the pipeline only if it uses it in the
same direction; the planner then charges both on that link (``planner._shared_links``).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

from asymap.cluster.load import Cluster


@dataclass
class HostRoutes:
    attach: int  # board index the host attaches to, -1 without a host
    host_seconds_in: float  # the host link's interval for one input image
    host_seconds_out: float
    entry: np.ndarray  # [n] slowest stage of host -> ... -> board b (input image)
    exit: np.ndarray  # [n] slowest stage of board b -> ... -> host (result)
    pred_in: list[int]  # minimax tree of the input image from the attach board (-1 at the root)
    pred_out: list[int]  # the same for the result (fewer bytes: latency may pick another route)


def _minimax_tree(cluster: Cluster, root: int, nbytes: int) -> tuple[np.ndarray, list[int]]:
    """Slowest-hop seconds of the best route from ``root`` to every board, and the route tree."""
    names = [b.name for b in cluster.boards]
    pos = {nm: i for i, nm in enumerate(names)}
    n = len(names)
    best = np.full(n, np.inf)
    hops = [1 << 30] * n
    pred = [-1] * n
    best[root], hops[root] = 0.0, 0
    heap = [(0.0, 0, root)]
    while heap:
        v, h, b = heapq.heappop(heap)
        if v > best[b] or (v == best[b] and h > hops[b]):
            continue
        for nb in cluster.neighbors(names[b]):
            j = pos[nb]
            ln = cluster.link(names[b], nb)
            w = max(v, ln.seconds(nbytes))
            if w < best[j] or (w == best[j] and h + 1 < hops[j]):
                best[j], hops[j], pred[j] = w, h + 1, b
                heapq.heappush(heap, (w, h + 1, j))
    return best, pred


def host_routes(cluster: Cluster, in_bytes: int, out_bytes: int) -> HostRoutes:
    n = len(cluster.boards)
    host = cluster.host or {}
    if "attach" not in host:
        z = np.zeros(n)
        return HostRoutes(-1, 0.0, 0.0, z, z.copy(), [-1] * n, [-1] * n)
    names = [b.name for b in cluster.boards]
    root = names.index(host["attach"])
    gbps, lat = host.get("gbps"), float(host.get("latency_ns", 0.0))
    hin = in_bytes * 8.0 / (gbps * 1e9) + lat * 1e-9 if gbps else 0.0
    hout = out_bytes * 8.0 / (gbps * 1e9) + lat * 1e-9 if gbps else 0.0
    e_in, pred_in = _minimax_tree(cluster, root, in_bytes)
    e_out, pred_out = _minimax_tree(cluster, root, out_bytes)
    return HostRoutes(root, hin, hout, np.maximum(e_in, hin), np.maximum(e_out, hout), pred_in, pred_out)


def route(hr: HostRoutes, board: int, inbound: bool = True) -> list[int]:
    """Boards from the host's board to ``board`` (inbound) or back (both ends included)."""
    pred = hr.pred_in if inbound else hr.pred_out
    out = [board]
    while out[-1] != hr.attach and pred[out[-1]] >= 0:
        out.append(pred[out[-1]])
    return out[::-1] if inbound else out
