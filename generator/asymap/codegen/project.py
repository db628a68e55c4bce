"""``asymap generate``: one complete Vitis HLS project per board, plus OUT/chain.json.

Flow: model -> IR -> quantize -> plan (given, or computed) -> chain of boards (codegen.chain) ->
per board: the layer segment (codegen.segment, H1's block library), the DATAFLOW top with the link
kernels, a testbench, Vitis configs, a Makefile and test vectors from the integer reference.

The whole tree is rendered into a staging directory beside OUT and renamed into place at the end,
so an error never leaves a half-written project, and an existing OUT is only replaced when it is an
asymap output (chain.json says so) and ``force`` is given. Output is deterministic and relocatable:
sorted keys, no timestamps, no absolute paths.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from asymap import __version__
from asymap.codegen import vectors
from asymap.codegen.chain import BoardSpec, LinkSpec, build_chain, plan_parts, plan_stations
from asymap.codegen.deploy import check_deployable, flow_context, plan_checks, write_deploy
from asymap.codegen.env import make_env
from asymap.codegen.fifodepth import FIFO_SLACK
from asymap.codegen.graphcheck import DataflowGraph, Process, check_dataflow
from asymap.codegen.hlsinc import library_include_dir
from asymap.codegen.planio import check_plan, load_plan_dict
from asymap.errors import UserError
from asymap.frontend.ir import Graph
from asymap.util.progress import status, track

SCHEMA = 1
GENERATOR = "asymap generate"
TB_DEFAULTS = {"link_in": "vectors/link_in.frames", "link_out": "build/link_out.frames", "expected": "vectors",
               "wmem": "weights/wmem.bin", "wpre": "weights/wpre.bin"}
CSIM_ARGV = "vectors/link_in.frames build/link_out.frames vectors"
#: m_axi burst settings of the weight port, on the top function's INTERFACE pragma (UG1399
#: "Controlling AXI4 Burst Behavior"): 64 beats of 64 bytes = the 4 KB an AXI burst may span,
#: 8 bursts in flight to cover DRAM latency (the adapter buffers 8 x 64 words, 8 BRAM36).
WMEM_BURST = {"max_read_burst_length": 64, "num_read_outstanding": 8, "latency": 64}


@dataclass
class GenerateResult:
    out_dir: Path
    boards: list[str]
    files: int


# --- inputs -----------------------------------------------------------------------------------
def _load_model(model) -> tuple[Graph, bytes | None]:
    """(graph, ONNX bytes or None). Accepts a path, an onnx.ModelProto or an IR Graph."""
    if isinstance(model, Graph):
        return model, None
    from asymap.frontend.onnx_import import graph_from_model, load_model

    if hasattr(model, "SerializeToString"):
        return graph_from_model(model, where=getattr(model.graph, "name", "model") or "model"), \
            model.SerializeToString(deterministic=True)
    p = Path(model)
    if not p.is_file():
        raise UserError(f"{p}: model file not found")
    return load_model(p), p.read_bytes()


def _load_cluster(cluster):
    if cluster is None or hasattr(cluster, "boards"):
        return cluster
    from asymap.cluster.load import load_cluster

    return load_cluster(cluster)


# --- output directory ---------------------------------------------------------------------------
def is_generated(out: Path) -> bool:
    """True when ``out`` holds a tree written by asymap generate (its chain.json says so)."""
    try:
        data = json.loads((out / "chain.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("generator") == GENERATOR


def _check_out(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: exists and is not a directory; choose another output directory")
    if not out.parent.is_dir():
        raise UserError(f"{out}: parent directory {out.parent} does not exist; create it first")
    if out.is_dir() and any(out.iterdir()):
        if not is_generated(out):
            raise UserError(f"{out}: directory is not empty and was not written by asymap generate; "
                            "choose an empty or new directory")
        if not force:
            raise UserError(f"{out}: already holds a generated project; use --force to overwrite it")


def _install(stage: Path, out: Path) -> None:
    """Move the finished staging tree to ``out`` (replacing an old asymap output)."""
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
        os.replace(out, old / "tree")
        os.replace(stage, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(stage, out)


# --- rendering ----------------------------------------------------------------------------------
def _link_view(link: LinkSpec, producer_layer: dict[int, str], port_lanes: int) -> dict:
    """The link as one board's top.cpp sees it: its tensors at that board's port width."""
    return {
        "index": link.index, "src_id": link.src, "dst_id": link.dst, "width_bits": link.width_bits,
        "max_payload_beats": link.max_payload_beats, "beats": link.beats, "frames": link.frames,
        "rom": link.rom, "max_chunk": link.max_chunk,
        # beat FIFOs between framer and (un)packer: one frame's chunk plus the FIFO_SLACK margin
        # every FIFO of a reconvergent region gets (codegen/fifodepth.py)
        "beat_fifo": link.max_chunk + 2 + FIFO_SLACK,
        "src_label": "host" if link.src == 255 else f"board {link.src}",
        "dst_label": "host" if link.dst == 255 else f"board {link.dst}",
        "tensors": [{"id": t.id, "ident": t.ident, "lanes": t.lanes_at(port_lanes), "bytes": t.bytes,
                     "words": t.words_at(port_lanes),
                     "shape": list(t.shape), "signed": t.signed, "layer": producer_layer.get(t.producer, "input")}
                    for t in link.tensors],
    }


def _segment(qg, b: BoardSpec):
    """The board's layer segment; its ports are exactly the link-in and link-out tensors (the
    segment itself forks tensors it consumes and copies those that only pass through)."""
    from asymap.codegen.segment import render_segment

    from asymap.codegen.segment_slr import splits

    return render_segment(qg, b.first, b.last, b.factors, b.offchip, [t.name for t in b.link_in.tensors],
                          [t.name for t in b.link_out.tensors], f"segment_{b.ident}",
                          macs=b.macs_kinds, preload=b.preload, port_lanes=b.port_lanes,
                          slr_of=b.slr_of if splits(b) else None, lanes_split=b.lanes_split)


def _streams(b: BoardSpec, seg) -> tuple[list[dict], list[str], list[str], list[str]]:
    """Stream declarations and the argument lists of rx, segment and tx in top.cpp.

    A link interleaves its tensors row by row, so a tensor's port FIFO holds only the rows it
    runs ahead of the others (chain.link_buffer_rows) plus the FIFO_SLACK margin every
    reconvergent FIFO gets (codegen/fifodepth.py); single-tensor links need little.
    """
    def depth(link: LinkSpec, t, rows: dict) -> int:
        if len(link.tensors) == 1:
            return 16
        c, _, w = t.shape
        return min(t.words_at(b.port_lanes), (rows.get(t.name, 0) + 1) * (w * c // t.lanes_at(b.port_lanes))) + FIFO_SLACK

    streams = []
    name_of: dict[tuple[str, str], str] = {}
    for side, link, rows in (("rx", b.link_in, b.rx_rows), ("tx", b.link_out, b.tx_rows)):
        for t in link.tensors:
            name = f"{side}_{t.ident}"
            streams.append({"name": name, "lanes": t.lanes_at(b.port_lanes), "depth": depth(link, t, rows)})
            name_of[side, t.name] = name
    seg_args = [name_of["rx", p["tensor"]] for p in seg.in_ports] + [name_of["tx", p["tensor"]] for p in seg.out_ports]
    if seg.wmem is not None:
        seg_args.append("wmem")
    if getattr(seg, "wpre", None) is not None:
        seg_args.append("wpre")
    rx_args = [name_of["rx", t.name] for t in b.link_in.tensors]
    tx_args = [name_of["tx", t.name] for t in b.link_out.tensors]
    return streams, rx_args, seg_args, tx_args


def _check_top(b: BoardSpec, streams: list[dict], rx_args: list[str], seg_args: list[str],
               tx_args: list[str], maxi: list[str]) -> None:
    """The top's DATAFLOW region (link_rx -> unpack per tensor -> segment -> pack per tensor ->
    link_tx) obeys the single-producer/consumer and one-reader-per-m_axi rules
    (asymap.codegen.graphcheck)."""
    seg_reads = [a for a in seg_args if a in rx_args]
    seg_writes = [a for a in seg_args if a in tx_args]
    rxb = [f"rxb[{t.id}]" for t in b.link_in.tensors]
    txb = [f"txb[{t.id}]" for t in b.link_out.tensors]
    check_dataflow(DataflowGraph(
        where=f"top of board {b.ident}", streams=[s["name"] for s in streams] + rxb + txb + ["img_bad"],
        inputs=["link_in"], outputs=["link_out"], maxi=maxi,
        processes=[Process("link_rx", ("link_in",), (*rxb, "img_bad")),
                   *[Process(f"link_unpack {r}", (r,), (a,)) for r, a in zip(rxb, rx_args)],
                   Process("segment", tuple(seg_reads), tuple(seg_writes), tuple(maxi)),
                   *[Process(f"link_pack {t}", (a,), (t,)) for t, a in zip(txb, tx_args)],
                   Process("link_tx", (*txb, "img_bad"), ("link_out",))]))


def _seg_params(seg) -> list[str]:
    params = [f"hls::stream<ap_uint<{8 * p['lanes']}> >& {p['ident']}" for p in seg.in_ports + seg.out_ports]
    if seg.wmem is not None:
        params.append("const ap_uint<512>* wmem")
    if getattr(seg, "wpre", None) is not None:
        params.append("const ap_uint<64>* wpre")
    return params


def _check_ports(b: BoardSpec, seg) -> None:
    lanes = {t.name: t.lanes_at(b.port_lanes) for t in b.link_in.tensors + b.link_out.tensors}
    want_in = sorted(t.name for t in b.link_in.tensors)
    want_out = sorted(t.name for t in b.link_out.tensors)
    got_in = sorted(p["tensor"] for p in seg.in_ports)
    got_out = sorted(p["tensor"] for p in seg.out_ports)
    if got_in != want_in or got_out != want_out:
        raise RuntimeError(f"segment of board {b.ident}: ports {got_in}->{got_out}, expected {want_in}->{want_out}")
    for p in seg.in_ports + seg.out_ports:
        if p["lanes"] != lanes[p["tensor"]]:
            raise RuntimeError(f"segment of board {b.ident}: tensor {p['ident']} has {p['lanes']} lanes, "
                               f"the port convention says {lanes[p['tensor']]}")


def _write(path: Path, data: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8", newline="\n")
    else:
        path.write_bytes(data)


def _write_project(d: Path, files: dict, b, ref: dict) -> None:
    """Write a board project: ``files`` plus the header library and the link test vectors."""
    for h in sorted(library_include_dir().glob("asymap/*.h")) + sorted(library_include_dir().glob("asymap/bounded/*.h")):
        files[f"include/{h.relative_to(library_include_dir()).as_posix()}"] = h.read_bytes()
    files["vectors/link_in.frames"] = vectors.link_frames(b.link_in, ref)
    for t in b.link_out.tensors:
        files[f"vectors/expected_{t.id}.bin"] = vectors.tensor_payload(ref[t.name], t.signed)
    for name, content in files.items():
        _write(d / name, content)


def _render_forwarder(env, b: BoardSpec, ref: dict, root: Path) -> dict:
    """Write OUT/<station>/ for a forwarding station of the host path: the board top of
    templates/project with ``forward`` set (link rx -> unpack -> pack -> link tx, no segment), its
    testbench and vectors; return its chain.json entry."""
    d = root / b.ident
    # Host links carry the model's input or output, one tensor: a short FIFO between unpacker and
    # packer. Several tensors (two schedules of different widths) would get a whole tensor each.
    streams = [{"name": f"rx_{t.ident}", "lanes": t.lanes_at(b.port_lanes), "depth": 16 if len(b.link_in.tensors) == 1
                else t.words_at(b.port_lanes) + FIFO_SLACK} for t in b.link_in.tensors]
    args = [s["name"] for s in streams]
    _check_top(b, streams, args, [], args, [])
    lin, lout = _link_view(b.link_in, {}, b.port_lanes), _link_view(b.link_out, {}, b.port_lanes)
    segv = {"fn": "", "params": [], "args": [], "wmem": False, "wmem_words": 0, "wpre": False, "wpre_words": 0}
    tb_files = ["tb.cpp", "vectors/link_in.frames"] + [f"vectors/expected_{t.id}.bin" for t in b.link_out.tensors]
    ctx = {"version": __version__, "b": b, "lin": lin, "lout": lout, "seg": segv, "streams": streams, "forward": True,
           "rx_args": args, "tx_args": args, "defaults": TB_DEFAULTS, "syn_files": ["top.cpp"], "tb_files": tb_files,
           "csim_argv": CSIM_ARGV, "tb_argv": CSIM_ARGV.split(), "clock_ns": _fmt_ns(b.clock_mhz), "burst": WMEM_BURST,
           "glue_in": f"link_glue_{b.link_in.index}_rx_1", "glue_out": f"link_glue_{b.link_out.index}_tx_1",
           "split": None, "sim_top": b.top}
    ctx.update(flow_context(b.type))
    files = {name: env.get_template(f"project/{name}.j2").render(ctx)
             for name in ("top.cpp", "tb.cpp", "hls_config.cfg", "run_hls.tcl", "Makefile")}
    _write_project(d, files, b, ref)
    return {
        # "name" is unique in the chain (build state, --boards, --platform key on it); "board" is the FPGA
        "index": b.index, "name": b.ident, "board": b.name, "dir": b.ident, "type": b.type, "part": b.part,
        "forward": b.forward,
        "clock_mhz": b.clock_mhz, "port_lanes": b.port_lanes, "first_layer": b.first, "last_layer": b.last, "top": b.top, "macs": 0,
        "files": {"top": "top.cpp", "segment": None, "params": None, "tb": "tb.cpp", "hls_config": "hls_config.cfg",
                  "run_hls": "run_hls.tcl", "connectivity": "connectivity.cfg", "makefile": "Makefile", "weights": [],
                  "wmem": None, "wpre": None},
        "ports": {"link_in": "link_in", "link_out": "link_out", "wmem": None, "wpre": None},
        "wmem_words": 0, "wpre_words": 0, "link_in": b.link_in.index, "link_out": b.link_out.index,
        "vectors": {"link_in": "vectors/link_in.frames",
                    "expected": [f"vectors/expected_{t.id}.bin" for t in b.link_out.tensors]},
        "layers": [],
    }


def _render_board(env, qg, b: BoardSpec, ref: dict, root: Path, layer_ident: dict[int, str]) -> dict:
    """Write OUT/<board>/ and return the board's chain.json entry."""
    if b.forward:
        return _render_forwarder(env, b, ref, root)
    d = root / b.ident
    seg = _segment(qg, b)
    _check_ports(b, seg)
    streams, rx_args, seg_args, tx_args = _streams(b, seg)
    _check_top(b, streams, rx_args, seg_args, tx_args, [a for a in ("wmem", "wpre") if a in seg_args])
    lin, lout = _link_view(b.link_in, layer_ident, b.port_lanes), _link_view(b.link_out, layer_ident, b.port_lanes)
    wmem = seg.wmem is not None
    wpre = getattr(seg, "wpre", None) is not None  # URAM weights loaded at start-up (preload.h)
    segv = {"fn": seg.fn, "params": _seg_params(seg), "args": seg_args, "wmem": wmem,
            "wmem_words": int(getattr(seg, "wmem_words", 0) or 0), "wpre": wpre,
            "wpre_words": int(getattr(seg, "wpre_words", 0) or 0)}
    syn_files = ["top.cpp", "segment.cpp"]
    tb_files = ["tb.cpp", "vectors/link_in.frames"] + [f"vectors/expected_{t.id}.bin" for t in b.link_out.tensors]
    if wmem:
        tb_files.append(TB_DEFAULTS["wmem"])
    if wpre:
        tb_files.append(TB_DEFAULTS["wpre"])
    ctx = {"version": __version__, "b": b, "lin": lin, "lout": lout, "seg": segv, "streams": streams, "forward": False,
           "rx_args": rx_args, "tx_args": tx_args, "defaults": TB_DEFAULTS,
           "syn_files": syn_files, "tb_files": tb_files, "csim_argv": CSIM_ARGV, "tb_argv": CSIM_ARGV.split(),
           "clock_ns": _fmt_ns(b.clock_mhz), "burst": WMEM_BURST, "glue_in": f"link_glue_{b.link_in.index}_rx_1",
           "glue_out": f"link_glue_{b.link_out.index}_tx_1", "split": None, "sim_top": b.top}
    ctx.update(flow_context(b.type))  # Vitis kernel or Vivado IP-catalog export (asymap.codegen.deploy)
    slr_entry = {}
    if seg.parts:  # one kernel per SLR (asymap.codegen.segment_slr); tb.cpp runs them chained
        from asymap.codegen.segment_slr import split_entry, split_top

        ctx["split"] = split_top(b.top, seg, streams, rx_args, seg_args, tx_args, lin, lout)
        ctx["sim_top"] = f"{b.top}_csim"
        slr_entry = split_entry(b, ctx["split"])
    files = {
        "top.cpp": env.get_template("project/top.cpp.j2").render(ctx),
        "tb.cpp": env.get_template("project/tb.cpp.j2").render(ctx),
        "hls_config.cfg": env.get_template("project/hls_config.cfg.j2").render(ctx),
        "run_hls.tcl": env.get_template("project/run_hls.tcl.j2").render(ctx),
        "Makefile": env.get_template("project/Makefile.j2").render(ctx),
        "params.h": seg.header,
        "segment.cpp": seg.source,
    }
    for name, content in sorted(seg.weights.items()):
        files[name] = content
    for k in slr_entry.get("kernels", [])[1:]:  # the other SLR kernels: an HLS component each, same sources
        view = SimpleNamespace(index=b.index, ident=k["work_dir"][len("hls_"):], top=k["kernel"], part=b.part)
        files[k["config"]] = env.get_template("project/hls_config.cfg.j2").render(ctx, b=view, tb_files=[], config=k["config"])
    if wmem:
        files[TB_DEFAULTS["wmem"]] = bytes(seg.wmem)
    if wpre:
        files[TB_DEFAULTS["wpre"]] = bytes(seg.wpre)
    _write_project(d, files, b, ref)
    return {
        "index": b.index, "name": b.name, "dir": b.ident, "type": b.type, "part": b.part,
        "clock_mhz": b.clock_mhz, "port_lanes": b.port_lanes, "first_layer": b.first, "last_layer": b.last, "top": b.top,
        "macs": int(sum(qg.graph.layers[ly.index].macs for ly in b.layers)),
        "files": {"top": "top.cpp", "segment": "segment.cpp", "params": "params.h", "tb": "tb.cpp",
                  "hls_config": "hls_config.cfg", "run_hls": "run_hls.tcl", "connectivity": "connectivity.cfg",
                  "makefile": "Makefile", "weights": sorted(seg.weights), "wmem": TB_DEFAULTS["wmem"] if wmem else None,
                  "wpre": TB_DEFAULTS["wpre"] if wpre else None},
        "ports": {"link_in": "link_in", "link_out": "link_out", "wmem": "wmem" if wmem else None,
                  "wpre": "wpre" if wpre else None},
        "wmem_words": segv["wmem_words"],
        "wpre_words": segv["wpre_words"],
        "link_in": b.link_in.index, "link_out": b.link_out.index,
        "vectors": {"link_in": "vectors/link_in.frames",
                    "expected": [f"vectors/expected_{t.id}.bin" for t in b.link_out.tensors]},
        "layers": [{"index": ly.index, "name": ly.name, "ident": ly.ident, "op": ly.op, "pe": ly.pe,
                    "simd": ly.simd, "weights": "offchip" if ly.offchip else ("preload" if ly.preload else "onchip"),
                    "mac": ly.mac or None} for ly in b.layers],
        **({"sim_top": ctx["sim_top"], "slr": slr_entry} if slr_entry else {}),
    }


def _link_glue(specs: list[BoardSpec], cluster) -> tuple[dict[str, str], list[dict]]:
    """RTL glue ``links/link_<src>_<dst>.v`` for every board-to-board link (asymap.codegen.rtl_glue).

    Returns (files, chain.json entries). A link the glue generator rejects (e.g. a tensor that is
    not a whole number of kernel beats) gets no file and its reason in chain.json, so the HLS
    projects are still written; only identifiers and numbers reach the Verilog.
    """
    try:
        from asymap.codegen.rtl_glue import render_link_glue, transport_width_bits
    except ImportError:  # pragma: no cover - glue generator not installed
        return {}, []
    cl_links = {}
    for ln in getattr(cluster, "links", []) or []:
        cl_links[frozenset((ln.a, ln.b))] = ln
    files, entries = {}, []
    for a, b in zip(specs, specs[1:]):
        link = a.link_out
        cl = cl_links.get(frozenset((a.name, b.name)))
        gbps = float(getattr(cl, "gbps", 10.0) or 10.0)
        lat = float(getattr(cl, "latency_ns", 0.0) or 0.0)
        name = f"links/link_{a.ident}_{b.ident}.v"
        entry = {"link": link.index, "file": name, "note": None}
        try:
            files[name] = render_link_glue(a.ident, b.ident, kernel_width_bits=link.width_bits,
                                           link_width_bits=transport_width_bits(gbps),
                                           kernel_clock_mhz=min(a.clock_mhz, b.clock_mhz), link_gbps=gbps,
                                           link_latency_ns=lat)
        except UserError as exc:
            entry.update(file=None, note=str(exc))
        entries.append(entry)
    return files, entries


def _fmt_ns(clock_mhz: float) -> str:
    return f"{1000.0 / clock_mhz:.4f}".rstrip("0").rstrip(".")


def _link_entry(link: LinkSpec, layer_name: dict[int, str], src_lanes: int, dst_lanes: int) -> dict:
    """chain.json's link: each tensor's port beat at the receiving board (``lanes``) and at the
    sending one (``src_lanes``); they differ when the two boards' ``port_lanes`` do."""
    return {
        "index": link.index, "from": link.src_name, "to": link.dst_name, "src_id": link.src, "dst_id": link.dst,
        "width_bits": link.width_bits, "max_payload_beats": link.max_payload_beats, "bytes": link.bytes,
        "beats": link.beats, "frames": link.frames, "schedule": [list(x) for x in link.schedule],
        "tensors": [{"id": t.id, "name": t.name, "ident": t.ident, "shape": list(t.shape), "bytes": t.bytes,
                     "signed": t.signed, "lanes": t.lanes_at(dst_lanes), "src_lanes": t.lanes_at(src_lanes),
                     "producer": t.producer,
                     "producer_name": layer_name.get(t.producer, "input")} for t in link.tensors],
    }


# --- entry point --------------------------------------------------------------------------------
def generate(model, cluster, out_dir, plan=None, force: bool = False, quiet: bool = False, input=None,
             seed: int = 0, allow_stale: bool = False, calib=None, calib_method: str = "maxabs",
             percentile: float = 99.99) -> GenerateResult:
    """Write OUT/chain.json and one HLS project per board of the plan (see docs/generated-project.md).

    ``model``: ONNX path, onnx.ModelProto or IR Graph; ``cluster``: YAML path or Cluster; ``plan``:
    plan.json path, dict or Plan (None: run the planner); ``input``: .npy path or array for the test
    vectors (None: a seeded random image); ``seed``: quantization calibration and default input;
    ``calib``: calibration images (path, array or Calibration; None: the plan's recorded ``calib``,
    else seeded synthetic images), recorded in chain.json.
    A given plan must pass partition.contract (fresh hashes, legal factors, resources that fit);
    ``allow_stale`` accepts a cluster file changed since planning. The plan is copied to OUT/plan.json.
    """
    from asymap.quant.quantize import input_signed, quantize
    from asymap.quant.reference import run_int

    out = Path(out_dir)
    _check_out(out, force)
    graph, onnx_bytes = _load_model(model)
    cl = _load_cluster(cluster)
    if cl is not None:  # every board's deployment keys fail before any work or progress output
        from asymap.cluster.deploy import board_deploy

        for cb in cl.boards:
            board_deploy(cb, getattr(cl, "path", "cluster") or "cluster")
    if plan is None:
        if cl is None:
            raise UserError("generate: give a cluster or a plan")
        from asymap.partition.planner import plan as make_plan

        plan_dict = load_plan_dict(make_plan(graph, cl, deployable=plan_checks(graph, cl)))  # as 'asymap plan'
        where = "plan"
    else:
        plan_dict = json.loads(json.dumps(load_plan_dict(plan)))  # private copy
        where = str(plan) if isinstance(plan, (str, os.PathLike)) else "plan"
    sha = hashlib.sha256(onnx_bytes).hexdigest() if onnx_bytes is not None else None
    check_plan(plan_dict, graph, where, sha)
    if plan is not None and cl is not None:
        from asymap.partition.contract import check_contract

        check_contract(plan_dict, graph, cl, where, allow_stale)
    plan_text = json.dumps(plan_dict, indent=2, sort_keys=True) + "\n"
    parts = plan_parts(plan_dict, cl, where)
    stations = plan_stations(plan_dict, cl, where)  # forwarding boards of the host path
    # Every refusal a user can cause comes before the first progress line and the first file: the
    # deployment's (cages, host path, clocks), the calibration set's and the input image's.
    check_deployable(graph, plan_dict, cl, where)
    from asymap.quant.calib import as_calibration, from_record

    if calib is None:
        calib = from_record(plan_dict.get("model", {}).get("calib"), where, graph.input_shape)
    else:
        calib = as_calibration(calib, calib_method, percentile, graph.input_shape)
    image = vectors.read_input(input, graph.input_shape, input_signed(graph))[0] if input is not None else None

    status(f"{graph.name}: {len(graph)} layers on {len(plan_dict['boards'])} board(s); quantizing and running the "
           "integer reference for the test vectors", quiet)
    qg = quantize(graph, calib=calib, seed=seed, method=calib_method, percentile=percentile)
    x_q = vectors.default_input(qg, seed) if image is None else vectors.load_input(qg, image)
    ref = run_int(qg, x_q, return_all=True)
    ref[graph.input] = x_q
    specs = build_chain(graph, {n: t.signed for n, t in qg.tensors.items()}, plan_dict, parts, stations=stations)
    layer_ident = {ly.index: ly.ident for b in specs for ly in b.layers}
    layer_name = {i: ly.name for i, ly in enumerate(graph.layers)}

    status(f"{graph.name}: writing {len(specs)} board project(s) to {out}", quiet)
    env = make_env()
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.gen.", dir=out.parent))
    try:
        entries = [_render_board(env, qg, b, ref, stage, layer_ident)
                   for b in track(specs, "generating boards", quiet=quiet)]
        links = ([_link_entry(b.link_in, layer_name, specs[i - 1].port_lanes if i else b.port_lanes, b.port_lanes)
                  for i, b in enumerate(specs)]
                 + [_link_entry(specs[-1].link_out, layer_name, specs[-1].port_lanes, specs[-1].port_lanes)])
        glue_files, glue_entries = _link_glue(specs, cl)
        chain = {
            "schema": SCHEMA, "asymap_version": __version__, "generator": GENERATOR,
            "model": {"name": graph.name, "file": "model.onnx" if onnx_bytes is not None else None, "sha256": sha,
                      "layers": len(graph), "macs": int(graph.macs), "quant_seed": seed, "calib": qg.calib, "input": graph.input,
                      "output": graph.output, "input_file": "input.npy"},
            "host_id": 255, "max_payload_beats": specs[0].link_in.max_payload_beats,
            "boards": entries, "links": links, "rtl_glue": glue_entries,
        }
        chain["deploy"] = write_deploy(env, stage, specs, entries, cl, ref, quiet)  # flows, connectivity, hosts
        for name, text in glue_files.items():
            _write(stage / name, text)
        if onnx_bytes is not None:
            _write(stage / "model.onnx", onnx_bytes)
        with open(stage / "input.npy", "wb") as fh:
            np.save(fh, np.asarray(x_q, np.int16), allow_pickle=False)
        _write(stage / "plan.json", plan_text)
        _write(stage / "chain.json", json.dumps(chain, indent=2, sort_keys=True) + "\n")
        nfiles = sum(1 for p in stage.rglob("*") if p.is_file())
        os.chmod(stage, 0o755)
        _install(stage, out)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return GenerateResult(out, [b.ident for b in specs], nfiles)
