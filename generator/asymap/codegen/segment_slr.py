"""One compute unit per super logic region: a board's segment cut at the plan's SLR boundaries.

The planner places every layer's engine inside one SLR and fills the SLRs in chain order
(plan.json ``layers[].slr``, costmodel.pack_slrs). One HLS kernel spanning three or four SLRs would
leave the placement, and the unregistered SLR crossings, to Vivado; the idiom of multi-SLR dataflow
accelerators (FINN's Vitis flow floorplans its dataflow partitions, one kernel per SLR) is one
compute unit per SLR, placed with ``connectivity.slr`` and joined by ``stream_connect`` AXI4-Stream
connections (AMD UG1393, "Assigning Compute Units to SLRs" and "Specifying Streaming Connections").

How the split is made: the board's segment is built once, as for a single-SLR board (same
processes, same FIFO depths, the same weight image), and its already checked DATAFLOW graph is
partitioned. Every process goes to one SLR part: a layer's engine, its width adapters and its
off-chip weight unpacker to the layer's SLR; a fork or pass-through copy to the part of the process
that produces the tensor it forks (the link receiver's part for the board's input tensors); the
processes that read memory (the off-chip weight streamer, the URAM preloader) to the first part,
whose kernel is the one the host starts and the only one with m_axi arguments: the other kernels
are free-running (``ap_ctrl_none``, streams only, UG1393 "Free-Running Kernel"), so the host program
is the same as for a single-SLR board. A stream whose producer and consumer land in different parts
becomes a port of both part functions and, between the kernels, a ``stream_connect`` whose FIFO has
the depth the stream had inside the one region, so the split design is the same process network
with the same bounded buffers: what ran deadlock-free and bit-exact as one region does so as
several kernels, and every engine's cycle count is unchanged. A layer whose PE lanes the plan
splits over SLRs s and s+1 (``slr_lanes``) is two processes of the segment (lanesplit.h), each
carrying its own ``slr`` (half A, its weight unpacker and row dealer, and an input width adapter in
s; half B and an output width adapter in s+1), so it is cut like any other stream between parts. The crossing itself adds a few
cycles of latency per stream (register slices at the SLR boundary), not interval.
"""

from __future__ import annotations

from asymap.codegen.graphcheck import DataflowGraph, Process, check_dataflow

__all__ = ["split_processes", "split_top", "splits", "split_entry"]

#: Depth of the stream_connect FIFO of a stream between two SLR kernels that needs more buffering
#: than this (a residual tensor's skip FIFO, a multi-tensor link's port FIFO): the rest stays a FIFO
#: inside the consuming kernel, behind a copy process, so it sits in the SLR whose budget the cost
#: model charges it to (the add/concat's skip FIFO, the link's buffers) and not wherever v++ puts
#: its own FIFO. Total buffering on the path only grows, so the region stays deadlock-free.
CROSS_FIFO = 16


def split_processes(fn: str, calls: list[dict], streams: list[dict], in_ports: list[dict], out_ports: list[dict],
                    slr_of: dict[int, int], port_type) -> tuple[list[dict], list[dict]]:
    """Partition a checked segment into SLR parts.

    ``calls``: the segment's processes (``reads``/``writes``/``maxi``; a layer's own processes carry
    ``layer``, the processes of a lane-split layer also their ``slr``), ``streams``: its internal streams, ``in_ports``/``out_ports`` its tensor ports,
    ``slr_of``: layer index -> SLR, ``port_type(port) -> C++ stream type``.
    Returns ``(parts, crossings)``: per SLR in chain order ``{"slr", "fn", "calls", "streams",
    "params", "args", "reads", "writes", "maxi", "first", "last"}`` (``args``: the stream or memory
    names the part function takes, in order; ``reads``/``writes``: the ports and crossing streams it
    consumes/produces), and every internal stream that crosses parts ``{"name", "type", "depth",
    "src", "dst", "beat", "beats"}`` (SLRs; a tensor stream's beat type and beats per image, None
    for weight streams)."""
    slrs = sorted(set(slr_of.values()) | {c["slr"] for c in calls if "slr" in c})
    producer: dict[str, dict] = {}
    for c in calls:
        for s in c["writes"]:
            producer[s] = c
    ports_in = {p["ident"] for p in in_ports}

    part_of: dict[int, int] = {}

    def place(c: dict) -> int:
        key = id(c)
        if key not in part_of:
            if "slr" in c:  # the halves of a lane-split engine (segment.render_segment)
                part_of[key] = c["slr"]
            elif "layer" in c:
                part_of[key] = slr_of[c["layer"]]
            elif c.get("maxi") or not c["reads"]:
                part_of[key] = slrs[0]  # memory readers: the host-started kernel owns every m_axi argument
            else:  # a fork or copy: where the tensor it distributes is produced
                src = c["reads"][0]
                part_of[key] = slrs[0] if src in ports_in else place(producer[src])
        return part_of[key]

    for c in calls:
        place(c)
    by_name = {s["name"]: s for s in streams}
    consumer: dict[str, dict] = {s: c for c in calls for s in c["reads"]}
    crossings = [{"name": s["name"], "type": s["type"], "depth": s["depth"], "src": place(producer[s["name"]]),
                  "dst": place(consumer[s["name"]]), "beat": s.get("beat"), "beats": s.get("beats")} for s in streams
                 if place(producer[s["name"]]) != place(consumer[s["name"]])]
    crossing = {x["name"] for x in crossings}
    types = {p["ident"]: port_type(p) for p in in_ports + out_ports}
    types.update({x["name"]: x["type"] for x in crossings})
    parts = []
    for slr in slrs:
        mine = [c for c in calls if place(c) == slr]
        reads = [s for c in mine for s in c["reads"] if s in types]
        writes = [s for c in mine for s in c["writes"] if s in types]
        maxi = [m for c in mine for m in c.get("maxi", ())]
        layers = sorted(c["layer"] for c in mine if "layer" in c)
        part = {"slr": slr, "fn": f"{fn}_slr{slr}", "calls": mine, "reads": reads, "writes": writes, "maxi": maxi,
                "streams": [by_name[s] for s in by_name if s not in crossing and place(producer[s]) == slr],
                "args": reads + writes + maxi, "first": layers[0] if layers else -1,
                "last": layers[-1] if layers else -1}
        part["params"] = [f"{types[s]}& {s}" for s in reads + writes] + [
            {"wmem": "const ap_uint<512>* wmem", "wpre": "const ap_uint<64>* wpre"}[m] for m in maxi]
        check_dataflow(DataflowGraph(
            where=f"segment {part['fn']}", streams=[s["name"] for s in part["streams"]], inputs=reads,
            outputs=writes, maxi=maxi,
            processes=[Process(c["comment"], tuple(c["reads"]), tuple(c["writes"]), tuple(c.get("maxi", ())),
                               tuple(c["args"])) for c in mine]))
        parts.append(part)
    return parts, crossings


def kernel_name(top: str, slr: int, first: int) -> str:
    """The HLS top of an SLR part: the board's own top for the first part (the kernel the host
    starts, with the link receiver and every m_axi argument), ``<top>_slr<n>`` for the others."""
    return top if slr == first else f"{top}_slr{slr}"


def split_top(top: str, seg, streams: list[dict], rx_args: list[str], seg_args: list[str], tx_args: list[str],
              lin: dict, lout: dict) -> dict:
    """The board's kernels, one per SLR part, and the C-simulation wrapper that chains them.

    The board's DATAFLOW top (link_rx -> unpackers -> segment -> packers -> link_tx, rendered by
    templates/project/top.cpp.j2) is cut like the segment: link_rx and the unpackers go to the first
    part's kernel, the packers and link_tx to the last one's; every stream between two kernels
    (the segment's crossings, a link tensor read or written in another part, the receiver's
    per-image verdict ``img_bad``) becomes an AXI4-Stream output ``c<k>_out`` of its producer's
    kernel and input ``c<k>_in`` of its consumer's, with the depth it had in the one region (beyond
    ``CROSS_FIFO`` beats as a FIFO inside the consuming kernel).
    Returns ``{"kernels": [...], "crossings": [...], "parts": seg.parts}`` for the template and
    deploy: each kernel ``{"name", "slr", "params", "pragmas", "streams", "calls", "free"}``, each
    crossing ``{"name", "type", "depth", "src", "dst", "out", "in"}`` (kernel names and ports)."""
    parts = seg.parts
    first, last = parts[0]["slr"], parts[-1]["slr"]
    name_of = dict(zip([p["ident"] for p in seg.in_ports + seg.out_ports],
                       [a for a in seg_args if a not in ("wmem", "wpre")]))
    stype = {s["name"]: f"hls::stream<ap_uint<{8 * s['lanes']}> >" for s in streams}
    depth = {s["name"]: s["depth"] for s in streams}
    stype.update({x["name"]: x["type"] for x in seg.crossings})
    depth.update({x["name"]: x["depth"] for x in seg.crossings})
    stype["img_bad"], depth["img_bad"] = "hls::stream<ap_uint<1> >", 36
    beats = {x["name"]: (x["beat"], x["beats"]) for x in seg.crossings if x.get("beats")}
    beats.update({a: (f"ap_uint<{8 * t['lanes']}>", t["words"]) for t, a in zip(lin["tensors"], rx_args)})
    beats.update({a: (f"ap_uint<{8 * t['lanes']}>", t["words"]) for t, a in zip(lout["tensors"], tx_args)})
    # processes of the top: (SLR, C++ call head, arguments, streams read, streams written)
    rxb = [f"rxb[{t['id']}]" for t in lin["tensors"]]
    txb = [f"txb[{t['id']}]" for t in lout["tensors"]]
    procs = [(first, "link_rx", ["link_in", "rxb", "img_bad", "status"], ["link_in"], [*rxb, "img_bad"])]
    procs += [(first, f"asymap::link_unpack<cfg_rx_{t['ident']}>", [f"rxb[{t['id']}]", a], [f"rxb[{t['id']}]"], [a])
              for t, a in zip(lin["tensors"], rx_args)]
    for p in parts:
        args = [name_of.get(a, a) for a in p["args"]]
        procs.append((p["slr"], p["fn"], args, [name_of.get(a, a) for a in p["reads"]],
                      [name_of.get(a, a) for a in p["writes"]]))
    procs += [(last, f"asymap::link_pack<cfg_tx_{t['ident']}>", [a, f"txb[{t['id']}]"], [a], [f"txb[{t['id']}]"])
              for t, a in zip(lout["tensors"], tx_args)]
    procs.append((last, "asymap::link_tx_image<cfg_link_out>", ["txb", "img_bad", "link_out"], [*txb, "img_bad"],
                  ["link_out"]))
    src = {s: k for k, _, _, _, w in procs for s in w}
    dst = {s: k for k, _, _, r, _ in procs for s in r}
    crossings = []
    for s in src:
        if s in dst and src[s] != dst[s]:
            k = len(crossings)
            deep = depth[s] > CROSS_FIFO and s in beats
            crossings.append({"name": s, "type": stype[s], "depth": CROSS_FIFO if deep else depth[s], "src": src[s],
                              "dst": dst[s], "out": (kernel_name(top, src[s], first), f"c{k}_out"),
                              "in": (kernel_name(top, dst[s], first), f"c{k}_in"), "buffer": depth[s] if deep else 0})
    port = {(x["src"], x["name"]): x["out"][1] for x in crossings}
    port.update({(x["dst"], x["name"]): x["in"][1] for x in crossings if not x["buffer"]})
    kernels = []
    for p in parts:
        slr = p["slr"]
        outs = [x for x in crossings if x["src"] == slr]
        ins = [x for x in crossings if x["dst"] == slr]
        params = [f"{x['type']}& {x['in'][1]}" for x in ins] + [f"{x['type']}& {x['out'][1]}" for x in outs]
        axis = [x["in"][1] for x in ins] + [x["out"][1] for x in outs]
        local = [{"name": s, "type": stype[s], "depth": depth[s]} for s in stype
                 if src.get(s) == slr and dst.get(s) == slr]
        local += [{"name": x["name"], "type": x["type"], "depth": x["buffer"]} for x in ins if x["buffer"]]
        args = [x["name"] for x in ins] + [x["name"] for x in outs]  # the wrapper's streams, in param order
        if slr == first:
            params = ["hls::stream<asymap::link_beat<%d> >& link_in" % lin["width_bits"]] + params
            axis = ["link_in"] + axis
            args = ["link_in"] + args
        if slr == last:
            params.append("hls::stream<asymap::link_beat<%d> >& link_out" % lout["width_bits"])
            axis.append("link_out")
            args.append("link_out")
        if slr == first:  # the template adds these parameters (the same as the single-SLR top's)
            args += [a for a in seg_args if a in ("wmem", "wpre")] + ["status"]
        calls = [f"asymap::copy_stream<{beats[x['name']][0]}, {beats[x['name']][1]}>({x['in'][1]}, {x['name']})"
                 for x in ins if x["buffer"]]  # the deep part of a crossing's FIFO, in the consumer's SLR
        calls += [f"{head}({', '.join(port.get((slr, a), a) for a in args)})" for k, head, args, _, _ in procs
                  if k == slr]
        ren = {a: port.get((slr, a), a) for k, _, _, r, w in procs if k == slr for a in r + w}
        check_dataflow(DataflowGraph(  # the kernel's own region: one producer and consumer per stream
            where=f"kernel {kernel_name(top, slr, first)}",
            streams=[x["name"] for x in local] + (rxb if slr == first else []) + (txb if slr == last else []),
            inputs=[a for a in axis if a.endswith("_in")], outputs=[a for a in axis if a.endswith("_out")],
            maxi=[m for p in parts if p["slr"] == slr for m in p["maxi"]],
            processes=[Process(head, tuple(ren[a] for a in r), tuple(ren[a] for a in w),
                               tuple(m for p in parts if p["fn"] == head for m in p["maxi"]))
                       for k, head, _, r, w in procs if k == slr]
            + [Process("copy", (x["in"][1],), (x["name"],)) for x in ins if x["buffer"]]))
        kernels.append({"name": kernel_name(top, slr, first), "slr": slr, "params": params, "axis": axis, "args": args,
                        "streams": local, "calls": calls, "first": slr == first, "last": slr == last,
                        "free": slr != first})
    return {"kernels": kernels, "crossings": crossings, "parts": parts}


def splits(b) -> bool:
    """Whether board ``b`` (codegen.chain.BoardSpec) gets one kernel per SLR: its layers span
    several SLRs (on the Vitis flow one compute unit each, on the Vivado IP flow one IP each)."""
    return len(b.slrs_used) > 1


def split_entry(b, split: dict) -> dict:
    """chain.json ``boards[].slr`` of a split board: its kernels in chain order (the HLS component
    config and work directory that build each) and the streams between them (``from``/``to`` as
    ``kernel.port``, the depth of the stream_connect FIFO and ``buffer``: the depth of the FIFO
    behind it inside the consuming kernel, 0 for none; together the stream's one-region depth)."""
    first = split["kernels"][0]["slr"]
    return {"kernels": [{"kernel": k["name"], "slr": k["slr"],
                         "config": "hls_config.cfg" if k["slr"] == first else f"hls_config_slr{k['slr']}.cfg",
                         "work_dir": f"hls_{b.ident}" if k["slr"] == first else f"hls_{b.ident}_slr{k['slr']}"}
                        for k in split["kernels"]],
            "streams": [{"stream": x["name"], "from": ".".join(x["out"]), "to": ".".join(x["in"]), "depth": x["depth"],
                         "buffer": x["buffer"]} for x in split["crossings"]]}
