"""asymap_ufc_credit (the credit channel over Aurora UFC) under a model of PG074's UFC handshake:
requests never overlap and are at least SPACING cycles apart, every message carries the word of
its request, and the far side ends with the latest word (the credit word is a value)."""

from __future__ import annotations

import os

import pytest

from rtl_harness import HAVE_ICARUS, run_cocotb
from asymap.codegen.rtl_glue import RTL_DIR

pytestmark = [pytest.mark.cocotb,
              pytest.mark.skipif(not HAVE_ICARUS and not os.environ.get("CI"), reason="Icarus Verilog (iverilog) not installed")]


@pytest.mark.parametrize("seed", [1, 2])
def test_ufc_credit_channel_delivers_the_latest_word(tmp_path, seed):
    run_cocotb(tmp_path / "sim", [RTL_DIR / "asymap_ufc_credit.v"], "asymap_ufc_credit", "tb_ufc",
               config={"seed": seed, "spacing": 16, "cycles": 6000}, parameters={"SPACING": 16, "KEEPALIVE": 256})
