"""asymap.compile() / predict(): the whole chain in one shared library, against one testbench
process per board per image (``asymap verify --input``, what predict used to run).

ResNet-18 (32x32) on the four boards of clusters/mixed4.yaml (bench/csim.py's chain: cuts inside
residual blocks, a pass-through board). Prints the library's build time (cold, then cached), the
images/s of predict with and without the numpy reference check, and the images/s of running
``verify --input`` per image, all measured in the same run.

    .venv/bin/python bench/predict.py [--width-mult 0.25] [--images 8] [--jobs 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width-mult", type=float, default=0.25)
    ap.add_argument("--images", type=int, default=8)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)

    import asymap
    from asymap.verify.runner import verify

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from csim import make_chain  # the same chain as bench/csim.py

    with tempfile.TemporaryDirectory(prefix="asymap-bench-predict-") as tmp:
        _, out = make_chain(Path(tmp), args.width_mult)
        batch = np.random.default_rng(0).standard_normal((args.images, 3, 32, 32)).astype(np.float32)

        t0 = time.perf_counter()
        m = asymap.compile(out, jobs=args.jobs)
        t_cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        asymap.compile(out, jobs=args.jobs)
        t_warm = time.perf_counter() - t0

        t0 = time.perf_counter()
        checked = m.predict(batch)
        t_check = time.perf_counter() - t0
        t0 = time.perf_counter()
        fast = m.predict(batch, check=False)
        t_fast = time.perf_counter() - t0
        assert np.array_equal(checked.y_int, fast.y_int)

        verify(out, jobs=args.jobs, quiet=True)  # build the testbench programs (not timed)
        t0 = time.perf_counter()
        for n in range(args.images):
            r = verify(out, input=batch[n], quiet=True)
            assert r.ok, r.first_problem
        t_verify = time.perf_counter() - t0

    n = args.images
    print(f"resnet18 32x32 x{args.width_mult:g} on mixed4 (4 boards), {n} images")
    print(f"  compile (one .so, {args.jobs} g++ jobs)   cold {t_cold:6.1f} s   cached {t_warm:6.2f} s")
    print(f"  predict, check=True (numpy reference)   {n / t_check:8.1f} images/s")
    print(f"  predict, check=False                    {n / t_fast:8.1f} images/s")
    print(f"  verify --input per image (4 processes)  {n / t_verify:8.1f} images/s")
    print(f"  in-process speed-up (check=True)        {t_verify / t_check:8.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
