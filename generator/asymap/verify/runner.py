"""``asymap verify``: compile every board's C-simulation with g++ and run the whole chain.

input image -> board 0 -> link frames -> board 1 -> ... -> output. Each board is its own program
(the generated testbench around the generated top function); boards hand their link traffic to
each other as frame files (asymap.codegen.framefile), exactly what the link would carry. Every
tensor leaving a board (each cut tensor, and finally the network output) is compared with the numpy
integer reference twice: by the testbench itself (which decodes its own output frames with the link
receiver) and here in Python with the reference receiver (asymap.linkproto), which also names the
layer and the first differing (c, h, w) index.

Every board runs as a *bounded dataflow simulation*: compiled with ``-DASYMAP_BOUNDED_SIM`` and
the bounded ``hls_stream.h`` (hls/include/asymap/bounded_stream.h), each DATAFLOW process runs in
its own thread and every FIFO holds at most its generated depth (minus ``fifo_slack``), so besides
being bit-exact the run proves the FIFO depths deadlock-free; a stall is reported as
``DEADLOCK: ... full: <streams>; empty: <streams>`` and the board's status is "deadlock".

Compilation runs in parallel (``jobs``); an up-to-date binary (same sources, same command) is reused.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from asymap.codegen import framefile
from asymap.codegen.hlsinc import ap_types_dir
from asymap.errors import UserError
from asymap.util.progress import status, track

CXXFLAGS = ["-std=c++14", "-O2", "-Wno-unknown-pragmas"]
#: the bounded dataflow simulation: bounded hls_stream.h found before the ap_types one, threads
BOUNDED_FLAGS = ["-DASYMAP_BOUNDED_SIM", "-Iinclude/asymap/bounded", "-pthread"]
EXE = "build/dataflow_sim.exe"
RUN_TIMEOUT_S = 3600  # one image; a hang would be a bug, not a slow board
STATUS_KEYS = ("frames_ok", "crc_errors", "seq_errors", "length_errors", "magic_errors", "dest_errors")


@dataclass
class BoardRun:
    index: int
    name: str
    dir: str
    layers: str
    macs: int
    compile_s: float = 0.0
    cached: bool = False
    run_s: float = 0.0
    tensors_checked: int = 0
    status: str = "not run"  # ok | mismatch | rx-error | deadlock | compile-error | run-error | not run
    rx: dict = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass
class VerifyResult:
    out_dir: Path
    boards: list[BoardRun]

    @property
    def ok(self) -> bool:
        return bool(self.boards) and all(b.ok for b in self.boards)

    @property
    def first_problem(self) -> str | None:
        for b in self.boards:
            if b.problems:
                return b.problems[0]
        return None


# --- chain.json and reference --------------------------------------------------------------------
def load_chain(out: Path) -> dict:
    f = out / "chain.json"
    if not out.is_dir():
        raise UserError(f"{out}: no such directory; run 'asymap generate MODEL CLUSTER -o {out}' first")
    try:
        chain = json.loads(f.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{out}: no chain.json, not a generated project; run 'asymap generate ... -o {out}' first") from None
    except (OSError, ValueError) as exc:
        raise UserError(f"{f}: unreadable ({exc}); re-run 'asymap generate --force'") from None
    if not isinstance(chain, dict) or chain.get("schema") != 1 or not chain.get("boards"):
        raise UserError(f"{f}: not a chain.json of schema 1; re-run 'asymap generate --force' with this asymap")
    return chain


def load_quantized(out: Path, chain: dict):
    """The QGraph the tree was generated from: its model.onnx (checked against the recorded sha256),
    quantized with the recorded calibration and seed (also used by asymap.predict)."""
    from asymap.frontend.onnx_import import load_model
    from asymap.quant.quantize import quantize

    model = chain["model"]
    if not model.get("file"):
        raise UserError(f"{out}: the project was generated from an in-memory graph (no model.onnx), so new "
                        "inputs (verify --input, predict) have no reference; generate from an ONNX file")
    mpath = out / model["file"]
    if not mpath.is_file():
        raise UserError(f"{mpath}: missing; re-run 'asymap generate --force'")
    if model.get("sha256") and hashlib.sha256(mpath.read_bytes()).hexdigest() != model["sha256"]:
        raise UserError(f"{mpath}: changed since generation (sha256 differs); re-run 'asymap generate --force'")
    from asymap.quant.calib import from_record

    graph = load_model(mpath)
    calib = from_record(model.get("calib"), str(out / "chain.json"), graph.input_shape)
    return quantize(graph, calib=calib, seed=int(model.get("quant_seed", 0)))


def _expected_from_input(out: Path, chain: dict, input) -> tuple[bytes, list[list[bytes]]]:
    """Board-0 input frames and every board's expected output tensors for a new input image."""
    from asymap.codegen import vectors
    from asymap.quant.reference import run_int

    qg = load_quantized(out, chain)
    x_q = vectors.load_input(qg, input)
    ref = run_int(qg, x_q, return_all=True)
    ref[qg.graph.input] = x_q
    links = chain["links"]
    first = links[0]
    arrays = [np.asarray(ref[t["name"]]).reshape(t["shape"]).astype(np.int8 if t["signed"] else np.uint8)
              for t in first["tensors"]]
    frames = framefile.encode_tensors(arrays, src=first["src_id"], dst=first["dst_id"], width_bits=first["width_bits"],
                                      max_payload_beats=first["max_payload_beats"])
    expected = [[vectors.tensor_payload(ref[t["name"]], t["signed"]) for t in links[b["link_out"]]["tensors"]]
                for b in chain["boards"]]
    return frames, expected


# --- compile -------------------------------------------------------------------------------------
def _compile_cmd(bdir: Path, board: dict, ap_inc: Path) -> list[str]:
    files = board["files"]
    return ["g++", *CXXFLAGS, *BOUNDED_FLAGS, "-isystem", str(ap_inc), "-Iinclude", "-I.", files["top"],
            *([files["segment"]] if files.get("segment") else []), files["tb"], "-o", EXE]  # forwarding: no segment


def _source_digest(bdir: Path, cmd: list[str]) -> str:
    h = hashlib.sha256(" ".join(cmd).encode())
    for p in (sorted(bdir.glob("*.cpp")) + sorted(bdir.glob("*.h")) + sorted(bdir.glob("include/asymap/*.h"))
              + sorted(bdir.glob("include/asymap/bounded/*.h"))):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def _compile(bdir: Path, board: dict, ap_inc: Path) -> tuple[float, bool, str | None]:
    """(seconds, reused, error line or None)."""
    cmd = _compile_cmd(bdir, board, ap_inc)
    (bdir / "build").mkdir(exist_ok=True)
    stamp = bdir / "build" / "dataflow_sim.stamp"
    digest = _source_digest(bdir, cmd)
    exe = bdir / EXE
    if exe.is_file() and stamp.is_file() and stamp.read_text() == digest:
        return 0.0, True, None
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=bdir, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        err = next((ln for ln in p.stderr.splitlines() if "error" in ln), p.stderr.strip()[:200])
        return dt, False, err.strip()
    stamp.write_text(digest)
    return dt, False, None


# --- run -----------------------------------------------------------------------------------------
def _parse_tb(stdout: str) -> tuple[dict, int, list[str]]:
    rx, ok_tensors, problems = {}, 0, []
    for ln in stdout.splitlines():
        if ln.startswith("RX_STATUS"):
            rx = {k: int(v) for k, v in (kv.split("=") for kv in ln.split()[1:])}
        elif ln.startswith("TENSOR ") and " OK " in ln:
            ok_tensors += 1
        elif ln.startswith(("MISMATCH", "LEFTOVER", "ERROR")):
            problems.append(ln.strip())
    return rx, ok_tensors, problems


def _python_check(out_frames: Path, link: dict, expected: list[bytes], board: dict, layer_names: dict) -> list[str]:
    """Decode a board's output frames with the reference receiver and compare with the reference."""
    st = framefile.decode_file(out_frames, dst=link["dst_id"], width_bits=link["width_bits"])
    problems = []
    bad = {k: getattr(st, k) for k in STATUS_KEYS[1:] if getattr(st, k)}
    if bad:
        problems.append(f"board {board['name']}: its output frames fail the reference receiver: {bad}")
    for t, exp in zip(link["tensors"], expected):
        got = bytes(st.payload.get(t["id"], b""))[:t["bytes"]]
        if got == exp:
            continue
        layer = layer_names.get(t["producer"], "input")
        if len(got) != len(exp):
            problems.append(f"board {board['name']}: tensor {t['name']!r} (layer {layer}): got {len(got)} bytes, "
                            f"expected {len(exp)}")
            continue
        g = np.frombuffer(got, np.uint8)
        e = np.frombuffer(exp, np.uint8)
        i = int(np.flatnonzero(g != e)[0])
        C, H, W = t["shape"]
        c, pix = i % C, i // C
        cast = (lambda v: int(np.int8(np.uint8(v)))) if t["signed"] else int
        problems.append(f"board {board['name']}: tensor {t['name']!r} (layer {layer}) differs first at "
                        f"(c={c}, h={pix // W}, w={pix % W}): got {cast(g[i])}, expected {cast(e[i])} "
                        f"({int((g != e).sum())} of {len(e)} values differ)")
    return problems


def _corrupt(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    if not 0 <= offset < len(data):
        raise UserError(f"--corrupt: offset {offset} outside the frame file ({len(data)} bytes)")
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def _board_index(chain: dict, key: str) -> int:
    for b in chain["boards"]:
        if key in (str(b["index"]), b["name"], b["dir"]):
            return b["index"]
    raise UserError(f"--corrupt: no board {key!r} in the chain ({', '.join(b['name'] for b in chain['boards'])})")


def verify(out_dir, jobs: int | None = None, input=None, quiet: bool = False,
           corrupt: tuple[str | int, int] | None = None, fifo_slack: int = 0) -> VerifyResult:
    """Compile and run the chain in ``out_dir``; see the module docstring.

    ``fifo_slack``: run with every generated FIFO ``fifo_slack`` beats shallower than generated
    (at least 1 deep), to show the depths' margin; asymap.codegen.fifodepth.FIFO_SLACK is the
    margin the generator guarantees.
    ``input``: .npy path or array (None: the test image the project was generated with).
    ``corrupt``: (board, byte offset) -- flip one byte of the frame file that board receives
    (fault injection: the board's rx kernel must catch it).
    """
    out = Path(out_dir)
    chain = load_chain(out)
    out = out.resolve()  # the testbenches run inside their board directories
    if shutil.which("g++") is None:
        raise UserError("g++ not found; install g++ (C++14) to run the C-simulation")
    if jobs is not None and jobs < 1:
        raise UserError(f"--jobs must be at least 1, got {jobs}")
    if int(fifo_slack) < 0:
        raise UserError(f"--fifo-slack must be 0 or more beats, got {fifo_slack}")
    ap_inc = ap_types_dir()
    boards = chain["boards"]
    links = chain["links"]
    for b in boards:
        if not (out / b["dir"] / b["files"]["top"]).is_file():
            raise UserError(f"{out / b['dir']}: board project missing or incomplete; re-run 'asymap generate --force'")
    corrupt_at = (_board_index(chain, str(corrupt[0])), int(corrupt[1])) if corrupt is not None else None
    layer_names = {}
    for b in boards:
        for ly in b["layers"]:
            layer_names[ly["index"]] = ly["name"]

    if input is None:
        first_frames = (out / boards[0]["dir"] / boards[0]["vectors"]["link_in"]).read_bytes()
        expected = [[(out / b["dir"] / p).read_bytes() for p in b["vectors"]["expected"]] for b in boards]
    else:
        first_frames, expected = _expected_from_input(out, chain, input)

    runs = [BoardRun(b["index"], b["name"], b["dir"], f"forward ({b['forward']})" if b.get("forward") else
                     f"{b['first_layer']}..{b['last_layer']}", int(b.get("macs", 0)))
            for b in boards]
    # Compile in parallel.
    njobs = jobs or os.cpu_count() or 1
    status(f"compiling {len(boards)} board(s) with g++ ({njobs} job(s))", quiet)
    with ThreadPoolExecutor(max_workers=njobs) as pool:
        futs = {pool.submit(_compile, out / b["dir"], b, ap_inc): i for i, b in enumerate(boards)}
        for fut in track(as_completed(futs), "compiling", total=len(futs), quiet=quiet):
            i = futs[fut]
            dt, cached, err = fut.result()
            runs[i].compile_s, runs[i].cached = dt, cached
            if err:
                runs[i].status = "compile-error"
                runs[i].problems.append(f"board {boards[i]['name']}: g++ failed: {err}")
            elif not quiet:
                status(f"  compiled {boards[i]['name']} ({'up to date' if cached else f'{dt:.1f} s'})", quiet)

    # Run the chain.
    prev_out: Path | None = None
    for i, b in enumerate(boards):
        r = runs[i]
        if r.status == "compile-error":
            prev_out = None
            continue
        bdir = out / b["dir"]
        build = bdir / "build"
        fin, fout, exp_dir = build / "chain_in.frames", build / "chain_out.frames", build / "expected"
        if i == 0:
            fin.write_bytes(first_frames)
        elif prev_out is not None:
            shutil.copyfile(prev_out, fin)
        else:
            r.status = "not run"
            r.problems.append(f"board {b['name']}: not run, the board before it did not produce output")
            continue
        if corrupt_at is not None and corrupt_at[0] == i:
            _corrupt(fin, corrupt_at[1])
        exp_dir.mkdir(exist_ok=True)
        link = links[b["link_out"]]
        for t, data in zip(link["tensors"], expected[i]):
            (exp_dir / f"expected_{t['id']}.bin").write_bytes(data)
        if fout.exists():
            fout.unlink()
        t0 = time.perf_counter()
        try:
            p = subprocess.run([str(bdir / EXE), str(fin.relative_to(bdir)), str(fout.relative_to(bdir)),
                                str(exp_dir.relative_to(bdir))], cwd=bdir, capture_output=True, text=True,
                               timeout=RUN_TIMEOUT_S, env={**os.environ, "ASYMAP_FIFO_SLACK": str(int(fifo_slack))})
        except subprocess.TimeoutExpired:
            r.status = "run-error"
            r.problems.append(f"board {b['name']}: C-simulation did not finish within {RUN_TIMEOUT_S} s")
            prev_out = None
            continue
        r.run_s = time.perf_counter() - t0
        dead = next((ln.strip() for ln in p.stdout.splitlines() if ln.startswith("DEADLOCK")), None)
        if dead is not None:
            r.status = "deadlock"
            r.problems.append(f"board {b['name']}: {dead}" + (f" (FIFOs shrunk by --fifo-slack {fifo_slack})"
                                                               if fifo_slack else ""))
            prev_out = None
            continue
        r.rx, ok_tensors, problems = _parse_tb(p.stdout)
        r.problems.extend(f"board {b['name']}: {x}" for x in problems)
        if not fout.is_file():
            r.status = "run-error"
            r.problems.append(f"board {b['name']}: testbench exited {p.returncode} without output "
                              f"({(p.stdout + p.stderr).strip().splitlines()[-1:] or ['no message']})")
            prev_out = None
            continue
        py_problems = _python_check(fout, link, expected[i], b, layer_names)
        r.problems.extend(py_problems)
        r.tensors_checked = len(link["tensors"])
        rx_bad = {k: v for k, v in r.rx.items() if k not in ("frames_ok", "images_ok") and v}
        if rx_bad:
            r.status = "rx-error"
            r.problems.insert(0, f"board {b['name']}: link-in receiver counted errors: "
                                 + ", ".join(f"{k}={v}" for k, v in rx_bad.items()))
        elif p.returncode != 0 or py_problems or ok_tensors != len(link["tensors"]):
            r.status = "mismatch"
            if not r.problems:
                r.problems.append(f"board {b['name']}: testbench exited {p.returncode}")
        else:
            r.status = "ok"
        prev_out = fout
    return VerifyResult(out, runs)


def format_table(res: VerifyResult) -> str:
    """The per-board table printed by ``asymap verify``."""
    rows = [("board", "layers", "compile s", "run s", "tensors", "rx frames", "status")]
    for r in res.boards:
        comp = "cached" if r.cached else f"{r.compile_s:.1f}"
        rows.append((r.name, r.layers, comp, f"{r.run_s:.2f}", str(r.tensors_checked),
                     str(r.rx.get("frames_ok", "-")), r.status))
    widths = [max(len(row[k]) for row in rows) for k in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)

