"""The one compiled part of asymap: ``asymap.partition._fast``, the outer search's transition
(order.py). Everything else is in pyproject.toml. ``optional=True``: without a C compiler (or
Python's headers) the install goes on and order.py uses its numpy path, which gives the same plans.
Built at install time only (``pip install [-e] .``), never at run time. ``-ffp-contract=off``:
no fused multiply-add, so each product and sum rounds on its own as in the numpy paths
(segments.lagrange_bound's steps give the same doubles either way)."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("asymap.partition._fast", ["generator/asymap/partition/_fast.c"],
                             extra_compile_args=["-O2", "-ffp-contract=off"], optional=True)])
