"""Cluster YAML the deploy, host-path and refusal tests share (one text per cluster shape).

Importable from any test file: pytest puts tests/ (the rootdir conftest's directory) on sys.path.
``cluster_yaml`` writes the same shape docs/cluster-format.md describes, so a test can name its own
variation in one line instead of repeating the text.
"""

from __future__ import annotations


def cluster_yaml(boards: list[tuple[str, str]], links: list[tuple], host: tuple[str, float] | None = None) -> str:
    """Cluster YAML: ``boards`` (name, type), ``links`` (a, b, Gb/s, latency ns), ``host`` (the
    board it attaches to, Gb/s; the host is named pc)."""
    lines = ["boards:"] + [f"  - {{name: {n}, type: {t}}}" for n, t in boards]
    lines += ["links:"] + [f"  - {{a: {a}, b: {b}, gbps: {g}, latency_ns: {lat}}}" for a, b, g, lat in links]
    if host is not None:
        lines.append(f"host: {{name: pc, attach: {host[0]}, gbps: {host[1]}}}")
    return "\n".join(lines) + "\n"


# Three U50s on 10G in a line: a plan over all three puts the middle card's two links on lanes 0 and
# 1 of its one QSFP28 (a breakout), which its platform exposes as one GT interface.
U50_LINE = cluster_yaml([("ua", "u50"), ("mid", "u50"), ("ub", "u50")],
                        [("ua", "mid", 10, 500), ("mid", "ub", 10, 500)])

# sa - sb - sc in a line, the host on sc: the image travels sc -> sb -> sa to a pipeline that
# starts at sa.
SA_SB_SC = [("sa", "u280"), ("sb", "u250"), ("sc", "u55c")]
HOSTPATH_LINE = cluster_yaml(SA_SB_SC, [("sa", "sb", 100, 500), ("sb", "sc", 10, 500)], ("sc", 64))

# The same boards in a ring with the host on sb: for a pipeline sa -> sb -> sc the result's fastest
# route back is sc -> sa -> sb, over the pipeline link sa -> sb the same way.
RING = cluster_yaml(SA_SB_SC, [("sa", "sb", 100, 500), ("sb", "sc", 10, 500), ("sc", "sa", 100, 500)], ("sb", 64))

# relay - left - right in a line; the host (pc) attaches to relay, which gets no layers.
RELAY_LINE = cluster_yaml([("relay", "u50"), ("left", "u280"), ("right", "u55c")],
                          [("relay", "left", 10, 500), ("left", "right", 100, 500)], ("relay", 64))

# A U280 (3 SLRs) and a U250 (4 SLRs) on 100G: the split-board (one kernel per SLR) tests.
SLR_PAIR = cluster_yaml([("a280", "u280"), ("a250", "u250")], [("a280", "a250", 100, 500)])
