"""Multi-SLR boards deployed as one compute unit per SLR (asymap.codegen.segment_slr), end to end.

The tiny CNN is cut inside its residual block over a U280 (3 SLRs) and a U250 (4 SLRs), and the plan
puts the layers of each board in several SLRs (plan.json ``layers[].slr``), with off-chip and URAM
weights in a later SLR than the host-started kernel that reads them, a residual tensor crossing
two SLR boundaries and a link of two tensors leaving from the last SLR. Each board becomes one
kernel per SLR; ``asymap verify`` runs every board's kernels as threads over bounded FIFOs
(slack 32) and the chain is bit-exact with the integer reference. The split reuses the one-region
segment's processes and configs unchanged, so every engine's C-sim cycle count is the model's;
single-SLR boards generate exactly what they did before the split existed.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import onnx
import pytest

from asymap.codegen.fifodepth import FIFO_SLACK
from asymap.codegen.hlsinc import ap_types_dir
from asymap.codegen.project import generate
from asymap.errors import UserError
from asymap.frontend.zoo import build_zoo_model
from asymap.verify.runner import verify
from clusters_yaml import SLR_PAIR

pytestmark = pytest.mark.csim

CLUSTER = SLR_PAIR
WEIGHTS = {2: "offchip", 3: "preload", 6: "onchip", 8: "offchip"}


def _plan(slrs: dict[str, list[int]] | None, names=("a280", "a250")) -> dict:
    cuts = {names[0]: (0, 3), names[1]: (4, 8)}
    boards = []
    for name, (a, b) in cuts.items():
        layers = [{"index": i, "factors": {"pe": 2, "simd": 2}, "weights": WEIGHTS.get(i, "onchip")}
                  for i in range(a, b + 1)]
        if slrs is not None:
            for ly, s in zip(layers, slrs[name]):
                ly["slr"] = s
        boards.append({"name": name, "first_layer": a, "last_layer": b, "layers": layers})
    return {"schema": 1, "boards": boards, "links": [{"from": names[0], "to": names[1], "width_bits": 512}]}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("slr")
    onnx.save(build_zoo_model("tiny", input_size=32, width_mult=1.0, seed=0), str(d / "tiny.onnx"))
    (d / "c.yaml").write_text(CLUSTER)
    return d


def _gen(d: Path, name: str, plan: dict, cluster: str = "c.yaml") -> Path:
    (d / f"{name}.json").write_text(json.dumps(plan))
    generate(d / "tiny.onnx", d / cluster, d / name, plan=d / f"{name}.json", quiet=True)
    return d / name


def _calls(text: str) -> list[str]:
    """The process calls of a generated DATAFLOW source (engines, forks, adapters, loaders)."""
    return sorted(re.findall(r"ASYMAP_PROCESS\(df, ((?:asymap::|segment_\w+_seg::)[^\n]*)\);", text))


def _csim_cycles(board: Path, tmp: Path) -> int:
    """Run the board's testbench (ordinary sequential C-sim) and return asymap::csim_cycles()."""
    main = tmp / "cycles_main.cpp"
    main.write_text('#include <cstdio>\n#include "asymap/csim_count.h"\nint asymap_tb_main(int, char**);\n'
                    'int main(int c, char** v) { int r = asymap_tb_main(c, v);\n'
                    '  std::printf("CYCLES %llu\\n", asymap::csim_cycles().load()); return r; }\n')
    inc = ["-isystem", str(ap_types_dir()), "-Iinclude", "-I."]
    (board / "build").mkdir(exist_ok=True)
    subprocess.run(["g++", "-std=c++14", "-O1", "-w", *inc, "-c", str(main), "-o", "build/cycles_main.o"],
                   cwd=board, check=True, timeout=600)
    subprocess.run(["g++", "-std=c++14", "-O1", "-w", *inc, "-Dmain=asymap_tb_main", "top.cpp", "segment.cpp", "tb.cpp",
                    "build/cycles_main.o", "-o", "build/cycles.exe"], cwd=board, check=True, timeout=600)
    run = subprocess.run(["./build/cycles.exe"], cwd=board, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0 and "RESULT PASS" in run.stdout, run.stdout[-2000:]
    return int(re.search(r"^CYCLES (\d+)$", run.stdout, re.M).group(1))


def test_split_boards_run_bit_exact_as_one_kernel_per_slr(setup):
    d = setup
    out = _gen(d, "split", _plan({"a280": [0, 1, 1, 2], "a250": [0, 1, 2, 2, 3]}))
    chain = json.loads((out / "chain.json").read_text())
    for b, slrs in zip(chain["boards"], ([0, 1, 2], [0, 1, 2, 3])):
        top = (out / b["dir"] / "top.cpp").read_text()
        kernels = [k["kernel"] for k in b["slr"]["kernels"]]
        assert [k["slr"] for k in b["slr"]["kernels"]] == slrs and kernels[0] == b["top"]
        assert b["sim_top"] == f"{b['top']}_csim"
        for k in kernels:  # each kernel defined once; only the first has control and memory interfaces
            (src,) = re.findall(rf"^void {k}\(.*?\n}}\n", top, re.M | re.S)
            free = "mode=ap_ctrl_none port=return" in src
            assert free == (k != b["top"]) and ("m_axi" in src or "s_axilite" in src) == (k == b["top"])
        # every stream between kernels: one producer port and one consumer port, named once
        ends = [e for x in b["slr"]["streams"] for e in (x["from"], x["to"])]
        assert len(ends) == len(set(ends))
        for x in b["slr"]["streams"]:
            assert x["from"].endswith("_out") and x["to"].endswith("_in") and x["depth"] >= 2
    a280 = chain["boards"][0]["slr"]["streams"]
    # weights read by the first kernel cross to the SLR of the layer that uses them
    assert {x["stream"] for x in a280} >= {"q_L2_res_conv1", "p_L3_res_conv2", "img_bad"}
    # the residual tensor leaves on the link from the last SLR, buffered as in the one-region design
    # (its deep FIFO inside the consuming kernel, in that SLR, behind a short stream_connect FIFO)
    (skip,) = [x for x in a280 if x["stream"] == "tx_conv2_relu"]
    assert skip["depth"] == 16 and skip["buffer"] > 100
    (last,) = re.findall(r"^void top_a280_slr2\(.*?\n}\n", (out / "a280" / "top.cpp").read_text(), re.M | re.S)
    assert f"variable=tx_conv2_relu depth={skip['buffer']}" in last and "copy_stream<ap_uint<64>, 512>(c" in last
    res = verify(out, jobs=2, quiet=True, fifo_slack=FIFO_SLACK)
    assert res.ok, [(b.name, b.status, b.problems[:3]) for b in res.boards]

    # Deterministic: the same plan generates the same tree.
    again = _gen(d, "split2", _plan({"a280": [0, 1, 1, 2], "a250": [0, 1, 2, 2, 3]}))
    for p in sorted(out.rglob("*")):
        if p.is_file() and "build" not in p.relative_to(out).parts:
            assert p.read_bytes() == (again / p.relative_to(out)).read_bytes(), p.relative_to(out)

    # The same processes with the same configs as the one-region board: the engines' cycle counts are
    # the model's (the crossing adds register-slice latency, no interval).
    flat = _gen(d, "flat", _plan(None))
    # ... and in the ordinary sequential C-sim (make csim, Vitis csim: the kernels one after another)
    # the split board passes and its engines' cycle counters (asymap/csim_count.h) add up to the
    # same total as the one-kernel board's
    assert _csim_cycles(out / "a280", d) == _csim_cycles(flat / "a280", d) > 0
    for b in chain["boards"]:
        assert (out / b["dir"] / "params.h").read_text().count("struct ") == \
            (flat / b["dir"] / "params.h").read_text().count("struct ") > 0
        split_calls = _calls((out / b["dir"] / "segment.cpp").read_text())
        assert split_calls == _calls((flat / b["dir"] / "segment.cpp").read_text())


def test_single_slr_boards_are_generated_as_before(setup):
    d = setup
    a = _gen(d, "noslr", _plan(None))
    b = _gen(d, "slr0", _plan({"a280": [0] * 4, "a250": [1] * 5}))
    for p in sorted(a.rglob("*")):
        q = b / p.relative_to(a)
        if p.is_file() and p.name != "plan.json":
            assert q.is_file() and p.read_bytes() == q.read_bytes(), p.relative_to(a)
    assert not list(b.glob("*/hls_config_slr*.cfg")) and "slr=" not in (b / "a280" / "connectivity.cfg").read_text()


def test_slr_that_goes_back_is_refused_in_one_line(setup):
    d = setup
    with pytest.raises(UserError) as e:
        _gen(d, "bad", _plan({"a280": [0, 1, 0, 2], "a250": [0] * 5}))
    assert "slr goes back" in str(e.value) and "\n" not in str(e.value) and not (d / "bad").exists()
    with pytest.raises(UserError, match="slr must be an integer"):
        _gen(d, "bad2", _plan({"a280": [0, 1, -1, 2], "a250": [0] * 5}))


def test_vivado_flow_board_gets_one_ip_per_slr(setup):
    """VCU118 (Vivado IP flow, 3 SLRs): one IP per SLR in the block design, joined by AXI4-Stream Data
    FIFOs, each IP in a pblock of its SLR; the C-sim sources are the same as on the Vitis flow."""
    d = setup
    (d / "v.yaml").write_text(CLUSTER.replace("type: u280", "type: vcu118"))
    plan = _plan({"a280": [0, 1, 1, 2], "a250": [0] * 5})
    out = _gen(d, "viv", plan, "v.yaml")
    ref = _gen(d, "vit", plan)
    chain = json.loads((out / "chain.json").read_text())
    assert [k["slr"] for k in chain["boards"][0]["slr"]["kernels"]] == [0, 1, 2]
    for f in ("top.cpp", "segment.cpp", "params.h", "weights.h", "tb.cpp"):
        assert (out / "a280" / f).read_bytes() == (ref / "a280" / f).read_bytes(), f
    assert "flow_target=vivado" in (out / "a280" / "hls_config_slr2.cfg").read_text()
    tcl = (out / "a280" / "bd" / "block_design.tcl").read_text()
    xdc = (out / "a280" / "bd" / "constraints.xdc").read_text()
    for k in ("top_a280_slr1", "top_a280_slr2"):
        assert f"xilinx.com:hls:{k}:1.0 {k}_0\n" in tcl and f" hls_{k[4:]}" in tcl  # the IP and its repository
    fifos = re.findall(r"CONFIG.FIFO_DEPTH \{(\d+)\}\] \[get_bd_cells (fifo_\w+)\]", tcl)
    assert len(fifos) == len(chain["boards"][0]["slr"]["streams"]) and all(int(n) >= 16 for n, _ in fifos)
    assert "top_a280_slr2_0/link_out]" in tcl and "top_a280_0/link_out" not in tcl
    assert [("top_a280_0", "0"), ("top_a280_slr1_0", "1"), ("top_a280_slr2_0", "2")] == \
        re.findall(r"resize_pblock \[get_pblocks pb_(\w+)\] -add SLR(\d)", xdc)


def _width(ctype: str) -> int:
    """Bits of a generated stream's beat type (``asymap::bytes<N>``, ``asymap::wrow<N>``: N bytes, aggregated)."""
    m = re.fullmatch(r"ap_uint<(\d+)>", ctype.strip())
    n = re.fullmatch(r"asymap::(?:bytes|wrow)<(\d+)>", ctype.strip())
    return int(m.group(1)) if m else 8 * int(n.group(1)) if n else {"asymap::wmem_word_t": 512}[ctype.strip()]


def test_slr_crossing_charge_counts_the_generated_streams(setup):
    """The planner's SLL count (partition/slrcross.py) is the generated design's: per boundary, the
    beats of every stream between two SLR kernels (tensors per consumer, weights, the verdict) plus
    their handshake wires, on a plan with weights of every mode, a residual and a two-tensor link."""
    from types import SimpleNamespace

    from asymap.frontend.onnx_import import load_model
    from asymap.partition import slrcross

    d = setup
    slrs = {"a280": [0, 1, 1, 2], "a250": [0, 1, 2, 2, 3]}
    plan = _plan(slrs)
    out = _gen(d, "count", plan)
    chain = json.loads((out / "chain.json").read_text())
    graph = load_model(d / "tiny.onnx")
    for b, pb, nslr in zip(chain["boards"], plan["boards"], (3, 4)):
        top = (out / b["dir"] / "top.cpp").read_text()
        slr_of = {k["kernel"]: k["slr"] for k in b["slr"]["kernels"]}
        got = [0] * (nslr - 1)
        for x in b["slr"]["streams"]:
            (ctype,) = set(re.findall(rf"hls::stream<(.+?) ?> {x['stream']}\(", top))
            for k in range(slr_of[x["from"].split(".")[0]], slr_of[x["to"].split(".")[0]]):
                got[k] += _width(ctype) + slrcross.HANDSHAKE_BITS
        bp = SimpleNamespace(slrs=nslr, last_layer=pb["last_layer"], port_lanes=b["port_lanes"],
                             layers=[SimpleNamespace(index=ly["index"], slr=ly["slr"], weights=ly["weights"])
                                     for ly in pb["layers"]])
        assert slrcross.crossing_bits(graph, bp) == got > [0] * (nslr - 1), b["name"]
