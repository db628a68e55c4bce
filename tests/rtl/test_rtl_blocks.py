"""Block-level cocotb tests: async FIFO boundaries, width converter up and down."""

from __future__ import annotations

import os
import pytest

from rtl_harness import HAVE_ICARUS, run_cocotb
from asymap.codegen.rtl_glue import RTL_DIR

pytestmark = [pytest.mark.cocotb,
              pytest.mark.skipif(not HAVE_ICARUS and not os.environ.get("CI"), reason="Icarus Verilog (iverilog) not installed")]


BOUNDARY = ["fifo_full_empty_at_depth", "fifo_reset_mid_traffic"]
RATE = ["fifo_back_to_back_at_slower_clock", "fifo_read_back_to_back_at_slower_clock"]


# Depth 4 (the smallest): boundaries and reset. Depth 8 and 32: also one word per cycle at the
# slower clock, which needs the FIFO to cover the pointer synchronizers' round trip (depth >= 8).
# Both memories: LUT-RAM (asynchronous read) and block RAM (registered read behind an output
# register, BLOCK=1: what a credit buffer deeper than 64 entries uses).
@pytest.mark.parametrize("block", [0, 1])
@pytest.mark.parametrize("addr_w,tests", [(2, BOUNDARY), (3, BOUNDARY + RATE), (5, BOUNDARY + RATE)])
def test_async_fifo_boundaries(tmp_path, addr_w, tests, block):
    width = 16
    run_cocotb(tmp_path, [RTL_DIR / "asymap_async_fifo.v"], "asymap_async_fifo", "tb_blocks",
               parameters={"DATA_W": width, "ADDR_W": addr_w, "BLOCK": block},
               config={"depth": 1 << addr_w, "width": width, "words": 200, "block": block}, testcase=tests)


@pytest.mark.parametrize("s_w,m_w", [(8, 64), (64, 512), (512, 64), (64, 8), (64, 64)])
def test_width_converter(tmp_path, s_w, m_w):
    run_cocotb(tmp_path, [RTL_DIR / "asymap_axis_width.v"], "asymap_axis_width", "tb_blocks",
               parameters={"S_W": s_w, "M_W": m_w},
               config={"s_w": s_w, "m_w": m_w, "frames": 60, "seed": s_w * 1000 + m_w},
               testcase="width_frames")
