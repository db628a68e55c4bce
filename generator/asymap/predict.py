"""``asymap.compile(out_dir).predict(batch)``: run numpy images through the generated boards, as
hls4ml users do with ``hls_model.compile()`` / ``hls_model.predict(x)``.

``compile`` builds every board's C-simulation once (the same g++ command and up-to-date cache as
``asymap verify``) and checks the chain on the project's own test vectors. ``predict`` then runs
each image through the *whole* chain the way ``verify --input`` does -- board 0's link frames, each
board's C-simulated top function, the frames it sends to the next board -- and returns what the last
board sends to the host, decoded by the reference link receiver. Every cut tensor and the output are
also compared with the numpy integer reference (the testbench and Python both check), so a result
comes back only when it is bit-exact; a mismatch raises with the board, layer and first differing
index. ``trace=True`` adds, per image, every tensor crossing a link as the C-simulation sent it and
every layer's output from the integer reference, for debugging a model layer by layer.

Limits (docs/python-api.md): each board runs as its compiled testbench program (one process per
board per image), not as an in-process shared library, so a batch costs a few milliseconds per
board per image on top of the simulation itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from asymap.errors import UserError


@dataclass
class Prediction:
    """Integer outputs (N, C, H, W) in the output tensor's int8/uint8 values, their real values
    (``scale`` x (integer - ``zero_point``)), and the per-image traces when asked for."""

    y_int: np.ndarray
    y: np.ndarray
    scale: float
    traces: list[dict] = field(default_factory=list)
    zero_point: int = 0  # the output tensor's (non-zero only for an asymmetric QDQ model)


class CompiledChain:
    """The boards of one ``asymap generate`` tree, compiled for C-simulation."""

    def __init__(self, out_dir: str | Path, jobs: int | None = None, quiet: bool = True):
        from asymap.util.lock import tree_lock
        from asymap.verify.runner import load_chain, verify

        self.out = Path(out_dir).resolve()
        self.chain = load_chain(self.out)
        self.quiet = quiet
        with tree_lock(self.out, "compile (python)"):
            res = verify(self.out, jobs=jobs, quiet=quiet)  # compiles (or reuses) and checks the vectors
        if not res.ok:
            raise UserError(f"{self.out}: the generated boards do not pass their own test vectors: "
                            f"{res.first_problem}")
        self._qg = None

    @property
    def boards(self) -> list[str]:
        return [b["name"] for b in self.chain["boards"]]

    def _quantized(self):
        if self._qg is None:
            from asymap.frontend.onnx_import import load_model
            from asymap.quant.quantize import quantize

            m = self.chain["model"]
            if not m.get("file"):
                raise UserError(f"{self.out}: generated from an in-memory graph (no model.onnx); predict needs it")
            self._qg = quantize(load_model(self.out / m["file"]), seed=int(m.get("quant_seed", 0)))
        return self._qg

    def _link_tensors(self, board: dict) -> dict[str, np.ndarray]:
        """The tensors board ``board`` sent on its link-out in the last run, decoded by the reference
        receiver, as (C, H, W) integer arrays."""
        from asymap.codegen import framefile

        link = self.chain["links"][board["link_out"]]
        st = framefile.decode_file(self.out / board["dir"] / "build" / "chain_out.frames", dst=link["dst_id"],
                                   width_bits=link["width_bits"])
        out = {}
        for t in link["tensors"]:
            raw = np.frombuffer(bytes(st.payload.get(t["id"], b""))[:t["bytes"]], np.int8 if t["signed"] else np.uint8)
            c, h, w = t["shape"]
            out[t["name"]] = raw.reshape(h, w, c).transpose(2, 0, 1).astype(np.int16)  # bytes are HWC
        return out

    def predict(self, batch, trace: bool = False) -> Prediction:
        """Run float images (N, C, H, W) or (C, H, W) through the chain; see the module docstring."""
        from asymap.util.lock import tree_lock
        from asymap.verify.runner import verify

        x = np.asarray(batch)
        qg = self._quantized()
        shape = tuple(qg.graph.input_shape)
        if x.ndim == 3:
            x = x[None]
        if x.ndim != 4 or tuple(x.shape[1:]) != shape:
            raise UserError(f"predict: batch has shape {x.shape}, the model needs (N, {', '.join(map(str, shape))})")
        if not np.issubdtype(x.dtype, np.floating) or not np.all(np.isfinite(x)):
            raise UserError("predict: the batch must be finite floating-point images")
        last = self.chain["boards"][-1]
        out_name = qg.graph.output
        ys, traces = [], []
        with tree_lock(self.out, "predict (python)"):
            for n in range(x.shape[0]):
                res = verify(self.out, input=x[n].astype(np.float32), quiet=True)
                if not res.ok:
                    raise UserError(f"predict: image {n}: {res.first_problem}")
                sent = self._link_tensors(last)
                ys.append(sent[out_name])
                if trace:
                    traces.append(self._trace(x[n], {k: v for b in self.chain["boards"]
                                                     for k, v in self._link_tensors(b).items()}))
        y_int = np.stack(ys)
        scale, zp = float(qg.tensors[out_name].scale), int(qg.tensors[out_name].zero_point)
        return Prediction(y_int=y_int, y=(y_int.astype(np.float64) - zp) * scale, scale=scale, traces=traces,
                          zero_point=zp)

    def _trace(self, image: np.ndarray, links: dict[str, np.ndarray]) -> dict:
        from asymap.quant.reference import quantize_input, run_int

        qg = self._quantized()
        ref = run_int(qg, quantize_input(qg, image), return_all=True)
        return {"links": links, "layers": {ly.name: ref[ly.output] for ly in qg.graph.layers}}

    def __repr__(self) -> str:
        return f"CompiledChain({str(self.out)!r}, boards={self.boards})"


def compile(out_dir: str | Path, jobs: int | None = None, quiet: bool = True) -> CompiledChain:  # noqa: A001
    """Compile the C-simulation of every board of ``out_dir`` (an ``asymap generate`` tree) once."""
    return CompiledChain(out_dir, jobs=jobs, quiet=quiet)


__all__ = ["CompiledChain", "Prediction", "compile"]
