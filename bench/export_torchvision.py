#!/usr/bin/env python3
"""Export torchvision's classification CNNs with both PyTorch ONNX exporters (for bench/frontend.py).

Needs a Python with torch, torchvision and onnxscript (not a dependency of asymap, its tests or CI;
e.g. ``python3 -m venv /tmp/tv && /tmp/tv/bin/pip install torch torchvision onnxscript``). Random
weights (``weights=None``): nothing is downloaded. Writes ``DIR/<family>_<0|1>.onnx`` (0: the
TorchScript exporter, ``dynamo=False``; 1: ``dynamo=True``) and prints the op histogram of each
export, which docs/frontend.md tabulates.

Run:  /tmp/tv/bin/python bench/export_torchvision.py --out /tmp/asymap-torchvision [--families resnet18,...]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import sys
import warnings
from pathlib import Path

FAMILIES = ("alexnet", "vgg16", "resnet18", "resnet50", "resnet152", "resnext50_32x4d", "wide_resnet50_2", "squeezenet1_0",
            "squeezenet1_1", "googlenet", "inception_v3", "mobilenet_v2", "mnasnet1_0", "densenet121", "shufflenet_v2_x1_0",
            "mobilenet_v3_small", "efficientnet_b0", "regnet_y_400mf", "regnet_x_400mf")  # fmt: skip


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="/tmp/asymap-torchvision")
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--size", type=int, default=224, help="input size (Inception-v3 always 299)")
    ap.add_argument("--bn-stats", action="store_true", help="BatchNorm statistics from random batches (see below)")
    a = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    import torch

    # The PyPI torchvision wheel's C++ ops (nms, ...) do not load next to a CPU-only torch; the
    # classification models never call them, but torchvision's import registers fakes for them.
    lib = torch.library.Library("torchvision", "DEF")
    for op in ("nms", "qnms"):
        lib.define(op + "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    import onnx
    import torchvision.models as tvm

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    for name in a.families.split(","):
        kw = dict(aux_logits=False, init_weights=False) if name in ("googlenet", "inception_v3") else {}
        model = getattr(tvm, name)(weights=None, **kw)
        size = 299 if name == "inception_v3" else a.size
        # Random weights with untrained BatchNorm statistics (mean 0, var 1) let the activations of
        # deep nets vanish (Inception-v3: ~1e-13 at the classifier, which no int8 grid holds).
        # --bn-stats sets the statistics from a few random batches, as training would (but random
        # weights then amplify every perturbation, ~1 dB of SQNR per layer in GoogLeNet).
        for mod in (model.modules() if a.bn_stats else ()):
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.reset_running_stats()
                mod.momentum = None  # cumulative average over the batches below
        if a.bn_stats:
            model.train()
            with torch.no_grad():
                for _ in range(2):
                    model(torch.randn(4, 3, size, size))
        model.eval()
        x = torch.randn(1, 3, size, size)
        for dyn in (0, 1):
            path = out / f"{name}_{dyn}.onnx"
            try:
                with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                    extra = {"external_data": False} if dyn else {}  # one self-contained file (all < 2 GB)
                    torch.onnx.export(model, (x,), str(path), dynamo=bool(dyn), opset_version=18 if dyn else 17,
                                      input_names=["input"], output_names=["output"], **extra)  # fmt: skip
                ops = collections.Counter(n.op_type for n in onnx.load(str(path), load_external_data=False).graph.node)
                print(name, dyn, dict(sorted(ops.items())), flush=True)
            except Exception as exc:  # an exporter failure is a row of the table, not the end
                print(name, dyn, "EXPORT FAILED", type(exc).__name__, str(exc).splitlines()[0][:120], flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
