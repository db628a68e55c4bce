"""The generated boards' C-simulation as ONE shared library, called in-process through ctypes.

``asymap verify`` runs every board as its own testbench program; a Python user predicting many
images (asymap.compile / predict) wants the hls4ml way instead: compile once, then call. This
module builds ``OUT/predict/libasymap_chain.so`` from every board's ``top.cpp`` + ``segment.cpp``
(the link kernels and the layer engines) plus one small generated entry file per board
(templates/predict_board.cpp.j2, in ``OUT/predict/``) exporting two C functions:

    asymap_board<i>_load(wmem, wmem_bytes, wpre, wpre_bytes)   the board's weight images
    asymap_board<i>_run(in, in_beats, out, cap, &out_beats, status[10])   one image

Frames cross the C boundary in the frame-file record format (asymap.codegen.framefile).

Why one namespace per board: every generated ``top.cpp`` names its link configs ``cfg_link_in``,
``cfg_link_out``...; linked together, the template instances ``link_rx_image<cfg_link_in>`` of two
boards would be one symbol (an ODR clash the linker resolves silently by keeping one of them).
Compiled inside ``namespace asymap_board<i>_ns`` they are distinct, and so is their state.

State: the link kernels keep sequence numbers and receiver state in function-local statics, as the
hardware keeps them in registers across images. :class:`ChainLibrary` therefore loads a fresh copy
of the library per :meth:`ChainLibrary.session` (dlopen ... dlclose; calls run on a worker thread
that ends before the dlclose, see there): every session starts from
reset state, as boards do after programming, and images within a session continue the sequence
numbers as a stream of images does on the real links. Objects are built with ``-fno-gnu-unique``
(otherwise g++ marks template statics STB_GNU_UNIQUE, which makes the library impossible to unload)
and ``-fvisibility=hidden`` plus a linker version script (only the entry points are exported).

Rebuilds are incremental: each board's object and the library carry the sha256 of their inputs
(sources, headers, command), so an unchanged tree is reused without running g++.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from asymap.errors import UserError
from asymap.linkproto import STATUS_FIELDS  # status[10]: link.h link_status, in this order

LIB_DIR = "predict"
LIB_NAME = "libasymap_chain.so"
CXXFLAGS = ["-std=c++14", "-O2", "-fPIC", "-fvisibility=hidden", "-fno-gnu-unique", "-Wno-unknown-pragmas"]
RUN_ERRORS = {1: "sent more beats than its link carries per image", 2: "left link-in beats unread",
              3: "weights not loaded"}
_INCLUDE = re.compile(r'^\s*#\s*include\s+([<"])([^>"]+)[>"]', re.M)


@dataclass(frozen=True)
class BoardEntry:
    """What the library needs to know about one board (from chain.json)."""

    index: int
    name: str
    dir: str
    top: str
    sources: tuple[str, ...]
    w_in: int
    w_out: int
    wmem: str | None
    wmem_words: int
    wpre: str | None
    wpre_words: int

    @property
    def sym(self) -> str:
        return f"asymap_board{self.index}"


def board_entries(chain: dict) -> list[BoardEntry]:
    links = chain["links"]
    out = []
    for b in chain["boards"]:
        f = b["files"]
        # sim_top: a board with one kernel per SLR is called through the wrapper that chains them
        out.append(BoardEntry(index=int(b["index"]), name=b["name"], dir=b["dir"], top=b.get("sim_top") or b["top"],
                              sources=(f["top"], f["segment"]), w_in=int(links[b["link_in"]]["width_bits"]),
                              w_out=int(links[b["link_out"]]["width_bits"]), wmem=f.get("wmem"),
                              wmem_words=int(b.get("wmem_words") or 0), wpre=f.get("wpre"),
                              wpre_words=int(b.get("wpre_words") or 0)))
    return out


def _pre_includes(bdir: Path, sources: tuple[str, ...]) -> list[str]:
    """Every system and ``asymap/`` header the board's sources include (directly or through its own
    headers such as params.h), in first-seen order, spelled as in the source."""
    seen: list[str] = []
    visited: set[str] = set()
    todo = list(sources)
    while todo:
        name = todo.pop(0)
        if name in visited:
            continue
        visited.add(name)
        try:
            text = (bdir / name).read_text(encoding="utf-8")
        except OSError as exc:
            raise UserError(f"{bdir / name}: unreadable ({exc.strerror}); re-run 'asymap generate --force'") from None
        for kind, inc in _INCLUDE.findall(text):
            spelled = f"<{inc}>" if kind == "<" else f'"{inc}"'
            if kind == "<" or inc.startswith("asymap/"):
                if spelled not in seen:
                    seen.append(spelled)
            elif (bdir / inc).is_file():
                todo.append(inc)  # a board header (params.h, weights.h): included inside the namespace
    return seen


def _render_entry(out: Path, e: BoardEntry) -> str:
    from asymap.codegen.env import make_env

    return make_env().get_template("predict_board.cpp.j2").render(
        index=e.index, name=e.name, ns=f"{e.sym}_ns", sym=e.sym, top=e.top, sources=e.sources,
        pre_includes=_pre_includes(out / e.dir, e.sources), w_in=e.w_in, w_out=e.w_out,
        wmem_words=e.wmem_words if e.wmem else 0, wpre_words=e.wpre_words if e.wpre else 0)


def _digest(out: Path, e: BoardEntry, cmd: list[str], entry_text: str) -> str:
    bdir = out / e.dir
    h = hashlib.sha256("\0".join(cmd).encode())
    h.update(entry_text.encode())
    for p in sorted(bdir.glob("*.cpp")) + sorted(bdir.glob("*.h")) + sorted(bdir.glob("include/asymap/*.h")):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def _write(path: Path, data: str | bytes) -> None:
    """Write through a temporary name, so a killed build leaves no half-written file."""
    tmp = path.with_name(path.name + ".tmp")
    (tmp.write_bytes if isinstance(data, bytes) else tmp.write_text)(data)
    os.replace(tmp, path)


def _first_error(stderr: str) -> str:
    return next((ln.strip() for ln in stderr.splitlines() if "error" in ln), stderr.strip()[:200] or "no message")


def build_library(out: Path, chain: dict, jobs: int | None = None, quiet: bool = True) -> tuple[Path, bool]:
    """Build (or reuse) ``OUT/predict/libasymap_chain.so``; returns (path, rebuilt)."""
    from asymap.codegen.hlsinc import ap_types_dir
    from asymap.util.progress import status, track

    if shutil.which("g++") is None:
        raise UserError("g++ not found; install g++ (C++14) to build the C-simulation library")
    entries = board_entries(chain)
    for e in entries:
        for src in e.sources:
            if not (out / e.dir / src).is_file():
                raise UserError(f"{out / e.dir / src}: missing; re-run 'asymap generate --force'")
    ap_inc = ap_types_dir()
    # the compiler's version is part of every digest: objects of another g++ are rebuilt
    gxx = subprocess.run(["g++", "-dumpfullversion", "-dumpversion"], capture_output=True, text=True).stdout.strip()
    d = out / LIB_DIR
    try:
        d.mkdir(exist_ok=True)
    except OSError as exc:
        raise UserError(f"{d}: cannot create the library directory ({exc.strerror})") from None

    def compile_one(e: BoardEntry) -> tuple[str, bool]:
        text = _render_entry(out, e)
        src, obj = d / f"board{e.index}.cpp", d / f"board{e.index}.o"
        cmd = ["g++", *CXXFLAGS, "-isystem", str(ap_inc), f"-I{e.dir}/include", f"-I{e.dir}", "-c",
               str(src.relative_to(out)), "-o", str(obj.relative_to(out)) + ".tmp"]
        digest = _digest(out, e, [f"g++ {gxx}", *cmd], text)
        stamp = d / f"board{e.index}.sha256"
        if obj.is_file() and stamp.is_file() and stamp.read_text() == digest:
            return digest, False
        _write(src, text)
        p = subprocess.run(cmd, cwd=out, capture_output=True, text=True)
        if p.returncode != 0:
            Path(str(obj) + ".tmp").unlink(missing_ok=True)
            raise UserError(f"{out}: g++ cannot build board {e.name} into the C-simulation library: "
                            f"{_first_error(p.stderr)}")
        os.replace(str(obj) + ".tmp", obj)
        _write(stamp, digest)
        return digest, True

    njobs = max(1, jobs or os.cpu_count() or 1)
    status(f"building the C-simulation library of {len(entries)} board(s) ({njobs} g++ job(s))", quiet)
    try:
        with ThreadPoolExecutor(max_workers=njobs) as pool:
            results = list(track(pool.map(compile_one, entries), "compiling", total=len(entries), quiet=quiet))
        lib = d / LIB_NAME
        # Export the entry points only: a weak std:: instance left visible (e.g. ctype<char>::do_widen)
        # gets bound by the already loaded libstdc++, which then pins this library in memory.
        _write(d / "exports.map", "{\n  global: asymap_board*;\n  local: *;\n};\n")
        cmd = ["g++", "-shared", "-fPIC", *[f"{LIB_DIR}/board{e.index}.o" for e in entries],
               f"-Wl,--version-script={LIB_DIR}/exports.map", "-o", f"{LIB_DIR}/{LIB_NAME}.tmp"]
        h = hashlib.sha256("\0".join([f"g++ {gxx}", *cmd]).encode())
        for digest, _ in results:
            h.update(digest.encode())
        stamp = d / (LIB_NAME + ".sha256")
        if lib.is_file() and stamp.is_file() and stamp.read_text() == h.hexdigest():
            return lib, False
        p = subprocess.run(cmd, cwd=out, capture_output=True, text=True)
        if p.returncode != 0:
            Path(str(lib) + ".tmp").unlink(missing_ok=True)
            raise UserError(f"{out}: g++ cannot link the C-simulation library: {_first_error(p.stderr)}")
        os.replace(str(lib) + ".tmp", lib)
        _write(stamp, h.hexdigest())
    except OSError as exc:
        raise UserError(f"{d}: cannot write the C-simulation library ({exc.strerror or exc})") from None
    return lib, True


class BoardRunError(Exception):
    """A board's entry point refused or failed one image (the caller names the image)."""


class Session:
    """One loaded copy of the library: boards in reset state, weights loaded."""

    def __init__(self, lib: ctypes.CDLL, entries: list[BoardEntry], weights: dict[int, tuple[bytes, bytes]],
                 out_beats: dict[int, int], worker: ThreadPoolExecutor):
        self._lib = lib
        self._worker = worker
        self._entries = entries
        self._cap = out_beats
        u8p, ul = ctypes.c_char_p, ctypes.c_ulong
        self._run = {}
        for e in entries:
            load = getattr(lib, f"{e.sym}_load")
            load.argtypes = [u8p, ul, u8p, ul]
            load.restype = ctypes.c_int
            wmem, wpre = weights[e.index]
            rc = worker.submit(load, wmem, len(wmem), wpre, len(wpre)).result()
            if rc:
                raise UserError(f"board {e.name}: its weight image has the wrong size (code {rc}); "
                                "re-run 'asymap generate --force'")
            fn = getattr(lib, f"{e.sym}_run")
            fn.argtypes = [u8p, ul, ctypes.c_void_p, ul, ctypes.POINTER(ul), ctypes.POINTER(ctypes.c_uint)]
            fn.restype = ctypes.c_int
            self._run[e.index] = fn

    def run(self, index: int, frames: bytes) -> tuple[bytes, dict[str, int]]:
        """One image through board ``index``: (link-out frame records, link-in receiver counters,
        cumulative over the session)."""
        e = self._entries[index]
        rec_in, rec_out = e.w_in // 8 + 1, e.w_out // 8 + 1
        cap = self._cap[index]
        buf = ctypes.create_string_buffer(cap * rec_out)
        n = ctypes.c_ulong(0)
        st = (ctypes.c_uint * len(STATUS_FIELDS))()
        rc = self._worker.submit(self._run[index], frames, len(frames) // rec_in, buf, cap, ctypes.byref(n),
                                 st).result()
        if rc:
            raise BoardRunError(f"board {e.name}: {RUN_ERRORS.get(rc, f'entry point returned {rc}')}")
        return buf.raw[:n.value * rec_out], dict(zip(STATUS_FIELDS, (int(v) for v in st)))


class ChainLibrary:
    """The built library of one output tree; :meth:`session` loads a fresh copy."""

    def __init__(self, out: Path, chain: dict, path: Path):
        self.out, self.path = out, path
        self.entries = board_entries(chain)
        links = chain["links"]
        # room for a few images' worth of beats: a board that sends more is reported, not overrun
        self._cap = {e.index: 4 * int(links[b["link_out"]]["beats"]) + 64
                     for e, b in zip(self.entries, chain["boards"])}
        self._weights: dict[int, tuple[bytes, bytes]] | None = None

    def _read_weights(self) -> dict[int, tuple[bytes, bytes]]:
        if self._weights is None:
            w = {}
            for e in self.entries:
                parts = []
                for rel, words in ((e.wmem, e.wmem_words), (e.wpre, e.wpre_words)):
                    if not rel or not words:
                        parts.append(b"")
                        continue
                    f = self.out / e.dir / rel
                    try:
                        parts.append(f.read_bytes())
                    except OSError as exc:
                        raise UserError(f"{f}: cannot read the board's weight image ({exc.strerror}); "
                                        "re-run 'asymap generate --force'") from None
                w[e.index] = (parts[0], parts[1])
            self._weights = w
        return self._weights

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """Load the library (all boards in reset state) for the body, then unload it."""
        import _ctypes

        weights = self._read_weights()
        path, tmp = self.path, None
        if _mapped(path):
            # A copy still in memory (another CompiledChain of this tree, or an unload that did
            # not happen) would hand us its state: load a private copy instead.
            fd, tmp = tempfile.mkstemp(prefix="asymap_chain_", suffix=".so")
            os.close(fd)
            shutil.copyfile(path, tmp)
            path = Path(tmp)
        try:
            lib = ctypes.CDLL(str(path), mode=os.RTLD_LOCAL)
        except OSError as exc:
            raise UserError(f"{self.path}: cannot load the C-simulation library ({exc}); "
                            "delete it and call asymap.compile() again") from None
        finally:
            if tmp:
                os.unlink(tmp)  # the mapping stays valid
        # Every call into the library runs on one worker thread that ends with the session: the
        # engines' thread_local scratch (csim_count.h) registers a destructor per calling thread,
        # and glibc unloads a library only once those have run, i.e. once the thread has exited.
        tids: list[int] = []
        worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="asymap-csim",
                                    initializer=lambda: tids.append(threading.get_native_id()))
        try:
            yield Session(lib, self.entries, weights, self._cap, worker)
        finally:
            worker.shutdown(wait=True)
            _wait_thread_gone(tids)
            _ctypes.dlclose(lib._handle)


def _mapped(path: Path) -> bool:
    """Is ``path`` mapped into this process (Linux /proc/self/maps)?"""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return False
    return f" {path.resolve()}\n" in maps or f" {path.resolve()} (deleted)\n" in maps


def _wait_thread_gone(tids: list[int], timeout_s: float = 10.0) -> None:
    """Python's join returns when the thread's Python state is gone, slightly before the native
    thread runs its thread_local destructors and exits; wait for the exit itself."""
    deadline = time.monotonic() + timeout_s
    for tid in tids:
        while os.path.exists(f"/proc/self/task/{tid}") and time.monotonic() < deadline:
            time.sleep(0.001)
