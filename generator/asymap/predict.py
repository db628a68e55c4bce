"""``asymap.compile(out_dir).predict(batch)``: run numpy images through the generated boards, as
hls4ml users do with ``hls_model.compile()`` / ``hls_model.predict(x)``.

``compile`` builds every board's C-simulation into ONE shared library (asymap.csimlib: g++ once,
reused while the sources are unchanged) and checks each board on the project's own test vectors.
``predict`` then runs the images in-process through the *whole* chain: board 0's link frames (the
host's transmitter), each board's top function, the frames it sends to the next board, and what the
last board sends to the host, decoded by the reference receiver (asymap.linkproto) -- the path of
``asymap verify --input``, without a process or a file per board.

With ``check=True`` (the default) every tensor crossing a link is compared with the numpy integer
reference, so a result comes back only when it is bit-exact; a mismatch raises with the image,
board, layer and first differing (c, h, w) index. ``trace=True`` adds, per image, every tensor
crossing a link as the C-simulation sent it and every layer's output from the integer reference,
for debugging a model layer by layer.

Successive calls: every ``predict`` call loads a fresh copy of the library, so every call starts
from reset boards (link sequence numbers 0, receivers in sync), like boards after programming;
within a call the images stream through the links one after another, continuing the sequence
numbers as on the real links. The same batch gives the same result on every call.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from asymap.errors import UserError
from asymap.linkproto import STATUS_FIELDS

#: the link receiver's error counters: every status field but the good-frame/image counts
_RX_ERRORS = tuple(k for k in STATUS_FIELDS if k not in ("frames_ok", "images_ok"))


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
    """The boards of one ``asymap generate`` tree, compiled into one C-simulation library."""

    def __init__(self, out_dir: str | Path, jobs: int | None = None, quiet: bool = True):
        from asymap.csimlib import ChainLibrary, build_library
        from asymap.util.lock import tree_lock
        from asymap.verify.runner import load_chain

        self.out = Path(out_dir).resolve()
        self.chain = load_chain(self.out)
        if jobs is not None and jobs < 1:
            raise UserError(f"jobs must be at least 1, got {jobs}")
        with tree_lock(self.out, "compile (python)"):
            path, self.rebuilt = build_library(self.out, self.chain, jobs=jobs, quiet=quiet)
        self.library = ChainLibrary(self.out, self.chain, path)
        self._qg = None
        self._lock = threading.Lock()  # one predict at a time: a session's boards hold state
        self._self_check()

    @property
    def boards(self) -> list[str]:
        return [b["name"] for b in self.chain["boards"]]

    def _quantized(self):
        if self._qg is None:
            from asymap.verify.runner import load_quantized

            self._qg = load_quantized(self.out, self.chain)
        return self._qg

    def _self_check(self) -> None:
        """Each board on the test vectors it was generated with (its own link-in frames and expected
        tensors), so a library that does not compute what the project promises is refused here."""
        from asymap.codegen import framefile

        links = self.chain["links"]
        with self.library.session() as s:
            for i, b in enumerate(self.chain["boards"]):
                bdir = self.out / b["dir"]
                try:
                    frames = (bdir / b["vectors"]["link_in"]).read_bytes()
                    expected = [(bdir / p).read_bytes() for p in b["vectors"]["expected"]]
                except OSError as exc:
                    raise UserError(f"{bdir}: cannot read the board's test vectors ({exc.strerror}); "
                                    "re-run 'asymap generate --force'") from None
                sent, st = self._run_board(s, i, frames, "test vectors")
                link = links[b["link_out"]]
                beats, last = framefile.split_beats(sent, link["width_bits"])
                rx = _decode(beats, last, link, 0, f"{self.out}: board {b['name']} on its test vectors")
                for t, exp in zip(link["tensors"], expected):
                    got = bytes(rx.payload.get(t["id"], b""))[:t["bytes"]]
                    if got != exp:
                        raise UserError(f"{self.out}: board {b['name']}: the C-simulation library sends "
                                        f"tensor {t['name']!r} different from the test vectors; re-run "
                                        "'asymap generate --force' and 'asymap verify'")

    def _run_board(self, session, i: int, frames: bytes, what: str):
        from asymap.csimlib import BoardRunError

        b = self.chain["boards"][i]
        try:
            sent, st = session.run(i, frames)
        except BoardRunError as exc:
            raise UserError(f"predict: {what}: {exc}") from None
        bad = {k: st[k] for k in _RX_ERRORS if st[k]}
        if bad:
            raise UserError(f"predict: {what}: board {b['name']}: link-in receiver counted errors: "
                            + ", ".join(f"{k}={v}" for k, v in bad.items()))
        return sent, st

    def predict(self, batch, trace: bool = False, check: bool = True) -> Prediction:
        """Run float images (N, C, H, W) or (C, H, W) through the chain; see the module docstring."""
        from asymap.codegen import framefile, vectors
        from asymap.quant.reference import run_int

        x = np.asarray(batch)
        qg = self._quantized()
        shape = tuple(qg.graph.input_shape)
        if x.ndim == 3:
            x = x[None]
        if x.ndim != 4 or tuple(x.shape[1:]) != shape:
            raise UserError(f"predict: batch has shape {x.shape}, the model needs (N, {', '.join(map(str, shape))})")
        if not np.issubdtype(x.dtype, np.floating) or not np.all(np.isfinite(x)):
            raise UserError("predict: the batch must be finite floating-point images")
        boards, links = self.chain["boards"], self.chain["links"]
        layer_of = {ly["index"]: ly["name"] for b in boards for ly in b["layers"]}
        first = links[0]
        out_name = qg.graph.output
        ys, traces = [], []
        with self._lock, self.library.session() as s:
            for n in range(x.shape[0]):
                x_q = vectors.load_input(qg, x[n].astype(np.float32))
                ref = run_int(qg, x_q, return_all=True) if (check or trace) else {}
                ref[qg.graph.input] = x_q
                arrays = [np.asarray(ref[t["name"]]).reshape(t["shape"]).astype(np.int8 if t["signed"] else np.uint8)
                          for t in first["tensors"]]
                frames = framefile.encode_tensors(arrays, src=first["src_id"], dst=first["dst_id"],
                                                  width_bits=first["width_bits"],
                                                  max_payload_beats=first["max_payload_beats"],
                                                  seq0=n * int(first["frames"]))
                sent_tensors = {}
                for i, b in enumerate(boards):
                    frames, _ = self._run_board(s, i, frames, f"image {n}")
                    link = links[b["link_out"]]
                    beats, last = framefile.split_beats(frames, link["width_bits"])
                    rx = _decode(beats, last, link, n * int(link["frames"]), f"predict: image {n}: board {b['name']}")
                    beat = int(link["width_bits"]) // 8
                    for t in link["tensors"]:
                        data = bytes(rx.payload.get(t["id"], b""))
                        # a tensor's last beat is zero-padded (docs/link-protocol.md), as verify reads it
                        if len(data) != -(-int(t["bytes"]) // beat) * beat:
                            raise UserError(f"predict: image {n}: board {b['name']}: tensor {t['name']!r}: "
                                            f"got {len(data)} bytes, expected {t['bytes']} in {beat}-byte beats")
                        data = data[:t["bytes"]]
                        got = framefile.hwc_to_chw(data, tuple(t["shape"]), t["signed"]).astype(np.int16)
                        if check:
                            _compare(got, np.asarray(ref[t["name"]]).reshape(got.shape),
                                     f"predict: image {n}: board {b['name']}: tensor {t['name']!r} "
                                     f"(layer {layer_of.get(t['producer'], 'input')})")
                        sent_tensors[t["name"]] = got
                ys.append(sent_tensors[out_name])
                if trace:
                    traces.append({"links": sent_tensors,
                                   "layers": {ly.name: ref[ly.output] for ly in qg.graph.layers}})
        scale, zp = float(qg.tensors[out_name].scale), int(qg.tensors[out_name].zero_point)
        if not ys:  # an empty batch: nothing ran, the output shape is still known
            y_int = np.zeros((0, *qg.tensors[out_name].shape), np.int16)
            return Prediction(y_int=y_int, y=y_int.astype(np.float64), scale=scale, zero_point=zp)
        y_int = np.stack(ys)
        return Prediction(y_int=y_int, y=(y_int.astype(np.float64) - zp) * scale, scale=scale, traces=traces,
                          zero_point=zp)

    def __repr__(self) -> str:
        return f"CompiledChain({str(self.out)!r}, boards={self.boards})"


def _decode(beats, last, link: dict, seq0: int, where: str):
    """The reference receiver over what a board sent; any receive error is a one-line UserError."""
    from asymap import linkproto
    from asymap.verify.runner import STATUS_KEYS

    rx = linkproto.decode_stream(beats, last, dst=link["dst_id"], width_bits=link["width_bits"], seq0=seq0)
    bad = {k: getattr(rx, k) for k in STATUS_KEYS[1:] if getattr(rx, k)}  # the reference receiver's errors
    if bad:
        raise UserError(f"{where}: its link-out frames fail the reference receiver: "
                        + ", ".join(f"{k}={v}" for k, v in bad.items()))
    return rx


def _compare(got: np.ndarray, exp: np.ndarray, where: str) -> None:
    diff = got != exp
    if diff.any():
        c, h, w = (int(v) for v in np.argwhere(diff)[0])
        raise UserError(f"{where} differs first at (c={c}, h={h}, w={w}): got {int(got[c, h, w])}, expected "
                        f"{int(exp[c, h, w])} ({int(diff.sum())} of {diff.size} values differ)")


def compile(out_dir: str | Path, jobs: int | None = None, quiet: bool = True) -> CompiledChain:  # noqa: A001
    """Build the C-simulation of every board of ``out_dir`` (an ``asymap generate`` tree) into one
    shared library (once; reused while the sources are unchanged) and load it."""
    return CompiledChain(out_dir, jobs=jobs, quiet=quiet)


__all__ = ["CompiledChain", "Prediction", "compile"]
