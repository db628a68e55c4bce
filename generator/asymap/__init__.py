"""asymap: map large CNNs onto clusters of asymmetric FPGAs.

The Python API mirrors the command line, stage by stage::

    import asymap
    g = asymap.load_model("resnet152.onnx")          # ONNX -> layer IR
    q = asymap.quantize(g, calib="calib/")            # int8, integer-only; real images (.npy / folder)
    y = asymap.run_int(q, x)                          # bit-exact reference
    c = asymap.load_cluster("clusters/example16.yaml")
    p = asymap.plan(g, c, calib="calib/")             # optimal partition (plan.json contents)
    asymap.generate("m.onnx", "cluster.yaml", "out/", plan="plan.json")   # the plan's calib
    asymap.verify_boards("out/")
    asymap.build_boards("out/", step="csim")         # local pool or Slurm
    m = asymap.compile("out/")                        # every board's C-sim in one .so
    y = m.predict(batch).y_int                        # bit-exact through the whole chain

Names are resolved lazily so ``import asymap`` (and the CLI's start-up) stays fast.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_API = {
    "UserError": "asymap.errors",
    "load_model": "asymap.frontend.onnx_import",
    "quantize": "asymap.quant.quantize",
    "load_calibration": "asymap.quant.calib",
    "layer_sqnr": "asymap.quant.reference",
    "run_int": "asymap.quant.reference",
    "run_float": "asymap.quant.reference",
    "quantize_input": "asymap.quant.reference",
    "build_zoo_model": "asymap.frontend.zoo",
    "load_cluster": "asymap.cluster.load",
    "plan": "asymap.partition.planner",
    "load_plan": "asymap.partition.planfile",
    "generate": "asymap.codegen.project",
    "verify_boards": ("asymap.verify.runner", "verify"),
    # 'verify' and 'build' are also subpackages (asymap.verify, asymap.build); once imported, a
    # subpackage shadows a lazy attribute of the same name, so these API names differ.
    "build_boards": ("asymap.build.runner", "build"),
    # hls4ml-style: compile the generated boards' C-simulation once, then predict numpy batches.
    "compile": ("asymap.predict", "compile"),
    "run_project": ("asymap.pipeline", "run_project"),
}

__all__ = sorted(_API) + ["__version__"]


def __getattr__(name: str):
    if name in _API:
        target = _API[name]
        module, attr = target if isinstance(target, tuple) else (target, name)
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'asymap' has no attribute {name!r}")
