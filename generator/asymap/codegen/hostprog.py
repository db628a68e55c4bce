"""Host programs on XRT's native C++ API, one per host of the cluster (``OUT/host/<name>/``).

Who is a host: the PCIe server that holds every Alveo board of the cluster (named by the cluster's
``host:`` section, else ``host``), and each Zynq UltraScale+ MPSoC board, whose Arm cores run Linux
with XRT (edge). Vivado-flow boards have no XRT; they are programmed over JTAG and driven through
their AXI DMA (docs/deploy.md), so no program is generated for them.

Each program programs its boards (``xrt::device::load_xclbin``), loads the memory images of every
board that has them (off-chip weights, the start-up image of URAM weights: ``MEMORY_IMAGES``),
frames the images of an .npy batch with asymap_host (the C++ twin of asymap.linkproto) when it
holds the first board, runs the kernels, checks CRC and the boards' link
status counters, writes the output .npy when it holds the last board, and prints img/s and latency.

The chain's first and last boards are the stations where the host attaches (plan.json
``host_path``): a forwarding station when the host attaches to a board that is not the first
stage, so the program feeds and drains the attach board. A physical board may hold several
stations (a stage that also forwards the host's images, or a board forwarding both ways): it is
one device, programmed once with the xclbin named after its first station, and every station's
kernel is opened from it.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from asymap import __version__
from asymap.resources import resource_dir
from asymap.util.names import c_ident

HOST_LIB = "host/include/asymap_host"


def _arg_index(top_cpp: str, top: str, arg: str) -> int | None:
    """Position of ``arg`` in the generated top's parameter list (XRT addresses arguments by index)."""
    m = re.search(rf"void\s+{re.escape(top)}\s*\((.*?)\)\s*\{{", top_cpp, re.S)
    if not m:
        return None
    names = [re.findall(r"(\w+)\s*$", p.strip())[0] for p in m.group(1).split(",") if p.strip()]
    return names.index(arg) if arg in names else None


# The memory images a board's kernel reads through its m_axi arguments (plan.json's weight places):
# ``wmem`` the off-chip ("offchip") weights, streamed every image; ``wpre`` the start-up image of
# the URAM ("preload") weights, which the kernel's loader reads on its first call (asymap/preload.h).
# The host loads both into buffers in the argument's bank and passes them on every run.
MEMORY_IMAGES = ("wmem", "wpre")


def _image(top_cpp: str, top: str, entry: dict, arg: str) -> dict:
    """One memory image of a board: its file in the board directory and its argument index (both
    None when the board has no such image)."""
    path = entry.get("files", {}).get(arg)
    if not path:
        return {"arg_name": arg, "file": None, "arg": None}
    idx = _arg_index(top_cpp, top, arg)
    if idx is None:  # the generator wrote the file, so its top takes the argument
        raise RuntimeError(f"{top}: no '{arg}' argument in top.cpp for {path}")
    return {"arg_name": arg, "file": path, "arg": idx}


def _link(link) -> dict:
    """A host link as the program declares it: its tensors (shape, signedness) and the schedule the
    link kernels use (linkproto.link_schedule), which the program checks against its own."""
    return {"src": link.src, "dst": link.dst, "width_bits": link.width_bits, "max_payload_beats": link.max_payload_beats,
            "tensors": [{"id": t.id, "ident": t.ident, "bytes": t.bytes, "shape": list(t.shape), "signed": t.signed}
                        for t in link.tensors],
            "schedule": [list(s) for s in link.schedule]}


def hosts_of(specs: list, boards: list, pcie_host: str = "host") -> dict[str, list[int]]:
    """Host name -> indices (pipeline order) of the XRT boards it drives."""
    hosts: dict[str, list[int]] = {}
    for i, bd in enumerate(boards):
        if bd.runtime == "xrt":
            hosts.setdefault(pcie_host, []).append(i)
        elif bd.runtime == "xrt-edge":
            hosts.setdefault(specs[i].ident, []).append(i)
    return hosts


def write_hosts(env, root: Path, specs: list, entries: list[dict], boards: list, pcie_host: str = "host") -> list[dict]:
    """Write ``OUT/host/<name>/`` for every XRT host; ``pcie_host`` names the PCIe server (the
    cluster's ``host: name``, sanitized)."""
    out = []
    n = len(specs)
    taken = {s.ident for s in specs}
    if pcie_host in taken:  # an MPSoC board of that name is a host of its own
        pcie_host = f"{pcie_host}_pcie"
    for host, idx in sorted(hosts_of(specs, boards, pcie_host).items()):
        d = root / "host" / host
        items = []
        primary: dict[str, int] = {}  # physical board (cluster name) -> position of its first station here
        for i in idx:
            b, e = specs[i], entries[i]
            top_cpp = (root / b.ident / "top.cpp").read_text(encoding="utf-8")
            first = primary.setdefault(b.name, len(items))
            items.append({
                "name": b.ident, "label": b.name, "ident": b.ident, "index": i, "kernel": b.top,
                "device": sorted(set(primary.values())).index(first), "primary": first,
                "board": c_ident(b.name, "board"),
                "xclbin": f"{items[first]['ident'] if first < len(items) else b.ident}.xclbin",
                "images": [_image(top_cpp, b.top, e, arg) for arg in MEMORY_IMAGES],
                "status_arg": _arg_index(top_cpp, b.top, "status"),
                "edge": boards[i].runtime == "xrt-edge",
            })
        feed = 0 in idx
        collect = n - 1 in idx
        ctx = {"version": __version__, "host": host, "boards": items, "feed": feed, "collect": collect,
               "lin": _link(specs[0].link_in), "lout": _link(specs[-1].link_out), "nboards": n,
               "first": specs[0].ident, "last": specs[-1].ident}
        (d / "include").mkdir(parents=True, exist_ok=True)
        (d / "host.cpp").write_text(env.get_template("deploy/host.cpp.j2").render(ctx), encoding="utf-8", newline="\n")
        (d / "Makefile").write_text(env.get_template("deploy/host_Makefile.j2").render(ctx), encoding="utf-8",
                                    newline="\n")
        lib = d / "include" / "asymap_host"
        lib.mkdir(parents=True, exist_ok=True)
        for h in sorted((resource_dir("host") / "include" / "asymap_host").glob("*.h")):
            shutil.copyfile(h, lib / h.name)
        out.append({"name": host, "dir": f"host/{host}", "boards": list(dict.fromkeys(it["label"] for it in items)),
                    "stations": [it["ident"] for it in items],
                    "feeds": feed, "collects": collect, "edge": any(it["edge"] for it in items)})
    return out
