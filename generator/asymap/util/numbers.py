"""Numbers read from user files must be finite and physically plausible.

YAML spells NaN and infinity as ``.nan`` / ``.inf`` and both are floats, so a plain ``v < 0``
check lets them through: a NaN link bandwidth made the planner silently skip the link and an
infinite one wrote ``Infinity`` (not JSON) into plan.json. Every numeric field of a cluster or
board file goes through :func:`check_finite`, which also rejects values beyond any real device
(a typo such as ``clock_mhz: 3000000``), so the error names the key before any work starts.
"""

from __future__ import annotations

import math

from asymap.errors import UserError

# Upper bounds far above any real board or link, to catch typos and unit mistakes.
MAXIMUM = {
    "gbps": 10_000.0,  # 10 Tb/s per link
    "mem_gbps": 10_000.0,
    "clock_mhz": 2_000.0,
    "latency_ns": 1e10,  # 10 s
    "dsp": 1_000_000,
    "bram36": 1_000_000,
    "uram": 1_000_000,
    "lut": 100_000_000,
    "ff": 200_000_000,
    "count": 1_024,
}


def check_finite(where: str, key: str, value) -> None:
    """Raise a one-line UserError when ``value`` is NaN, infinite or beyond ``MAXIMUM[key]``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return  # the caller's type check names the expected type
    if not math.isfinite(value):
        raise UserError(f"{where}: '{key}' must be a finite number, got {value!r}; give a real value")
    cap = MAXIMUM.get(key)
    if cap is not None and value > cap:
        raise UserError(f"{where}: '{key}' = {value:g} is beyond any real device (at most {cap:g}); fix the value")
