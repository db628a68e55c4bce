"""C-sim exactness of hls/include/asymap/mac.h: the packed two-MACs-per-DSP48E2 product (WP486),
the one-per-DSP and the LUT multiplier against plain integer products.

``mac/mac_exact.cpp`` runs every (w_hi, w_lo, x) of int8 x int8 x int8 and int8 x int8 x uint8
(33.5M triples) through one packed DSP and ~4M products through the accumulate-in-pairs form the
engines use (dot products of every length 1..40, random and all-extreme operands that reach the
chunk limits), for all three kinds.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from asymap.codegen.hlsinc import gxx_include_flags

pytestmark = pytest.mark.csim

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def mac_exe(tmp_path_factory):
    exe = tmp_path_factory.mktemp("mac") / "mac_exact"
    cmd = ["g++", "-std=c++14", "-O2", "-Wno-unknown-pragmas", *gxx_include_flags(),
           str(HERE / "mac" / "mac_exact.cpp"), "-o", str(exe)]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return exe


def test_packed_mac_exhaustive_and_chains(mac_exe):
    out = subprocess.run([str(mac_exe), "1", "400"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    m = re.search(r"OK single=(\d+) chained_products=(\d+)", out.stdout)
    assert m, out.stdout
    assert int(m.group(1)) == 2 * 256 ** 3  # every int8 x int8 x (int8 | uint8) triple
    assert int(m.group(2)) >= 1_000_000


def test_pair_chunk_is_the_largest_exact_one():
    """The chunk limits of mac.h are the largest that keep the low sum in 18 signed bits."""
    lo, hi = -(1 << 17), (1 << 17) - 1
    for signed, chunk in ((True, 7), (False, 4)):
        xs = range(-128, 128) if signed else range(0, 256)
        pmin = min(x * w for x in (min(xs), max(xs)) for w in (-128, 127))
        pmax = max(x * w for x in (min(xs), max(xs)) for w in (-128, 127))
        assert lo <= chunk * pmin and chunk * pmax <= hi
        assert not (lo <= (chunk + 1) * pmin and (chunk + 1) * pmax <= hi)
    text = (HERE.parents[1] / "hls" / "include" / "asymap" / "mac.h").read_text()
    assert "X_SIGNED ? 7 : 4" in text
