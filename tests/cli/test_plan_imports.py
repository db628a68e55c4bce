"""``asymap plan`` imports only what planning needs (issue 12 item 7: plan time): no Jinja2 (the
deploy checks it runs never render a template) and no numpy.ma (``np.unique`` imports it on its
first call; the planner uses ``util.arrays.sorted_unique``)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import onnx
import pytest

from asymap.frontend.zoo import build_zoo_model
from asymap.util.arrays import sorted_unique


def test_plan_command_leaves_out_jinja2_and_numpy_ma(tmp_path):
    model = tmp_path / "r18s.onnx"
    onnx.save(build_zoo_model("resnet18", 32, width_mult=0.5), str(model))
    code = ("import sys\n"
            "from asymap.cli import main\n"
            f"rc = main(['plan', {str(model)!r}, 'edge4', '-q', '-o', {str(tmp_path / 'plan.json')!r}])\n"
            "print(sorted(m for m in ('jinja2', 'numpy.ma') if m in sys.modules))\n"
            "sys.exit(rc)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("dtype", [np.int64, np.float64, np.int32])
def test_sorted_unique_equals_np_unique(dtype):
    rng = np.random.default_rng(3)
    for n in (0, 1, 2, 5, 100, 1000):
        a = rng.integers(-20, 20, n).astype(dtype)
        if dtype is np.float64 and n:
            a[::7] = np.inf
        got = sorted_unique(a)
        want = np.unique(a)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
