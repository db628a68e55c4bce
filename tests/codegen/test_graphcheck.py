"""The generator checks its own DATAFLOW graphs (asymap.codegen.graphcheck) and refuses to write
one that breaks the single-producer/consumer rule or has two readers of an m_axi argument."""

from __future__ import annotations

import re
from pathlib import Path

import onnx
import pytest

from asymap.codegen import segment
from asymap.codegen.graphcheck import DataflowGraph, DataflowGraphError, Process, check_dataflow
from asymap.codegen.project import generate
from asymap.frontend.zoo import build_zoo_model

ROOT = Path(__file__).resolve().parents[2]


def _good() -> DataflowGraph:
    return DataflowGraph(
        where="segment s", streams=["a", "b", "q"], inputs=["in_x"], outputs=["out_y"], maxi=["wmem"],
        processes=[Process("streamer", (), ("q",), ("wmem",)),
                   Process("fork", ("in_x",), ("a", "b")),
                   Process("conv", ("a", "q"), ()),
                   Process("add", ("b",), ("out_y",))])


def test_a_well_formed_graph_passes():
    g = _good()
    g.processes[2] = Process("conv", ("a", "q"), ("c",))
    g.streams.append("c")
    g.processes[3] = Process("add", ("b", "c"), ("out_y",))
    check_dataflow(g)


@pytest.mark.parametrize("mutate,message", [
    (lambda g: g.processes.append(Process("extra", ("a",), ())), "stream 'a' has 1 producer(s) ('fork') and 2 consumer(s)"),
    (lambda g: g.processes.append(Process("extra", (), ("b",))), "stream 'b' has 2 producer(s)"),
    (lambda g: g.processes.append(Process("reader2", (), (), ("wmem",))), "m_axi argument 'wmem' is accessed by 2"),
    (lambda g: g.processes.append(Process("x", ("in_x",), ())), "input port 'in_x' is read by 2"),
    (lambda g: g.processes.append(Process("x", ("ghost",), ())), "reads 'ghost', which is no stream"),
    (lambda g: g.streams.append("unused"), "stream 'unused' has 0 producer(s) (none) and 0 consumer(s)"),
    (lambda g: g.outputs.append("a"), "'a' is declared twice"),
    (lambda g: g.processes.__setitem__(1, Process("fork", ("in_x",), ("a", "b"), (), ("in_x", "a", "a"))),
     "process 'fork' is called with ['a', 'in_x'] but recorded as accessing ['a', 'b', 'in_x']"),
])
def test_broken_graphs_are_refused(mutate, message):
    g = _good()
    g.processes[2] = Process("conv", ("a", "q"), ("c",))
    g.streams.append("c")
    g.processes[3] = Process("add", ("b", "c"), ("out_y",))
    mutate(g)
    with pytest.raises(DataflowGraphError) as e:
        check_dataflow(g)
    text = str(e.value)
    assert text.startswith("segment s: refusing to write a DATAFLOW region") and message in text, text
    assert "\n" not in text


def test_generate_refuses_a_broken_graph_and_writes_nothing(tmp_path, monkeypatch):
    """Break the real generator: every fork writes its first branch twice and never its second.
    generate must fail on the graph check and leave no output behind."""
    model = tmp_path / "tiny.onnx"
    onnx.save(build_zoo_model("tiny", input_size=32, seed=0), str(model))
    real = segment.fork_call

    def broken(btype, beats, src, a, b, comment):
        call = real(btype, beats, src, a, a, comment)
        call["writes"] = [a, a]
        return call

    # (the record of the writes above matches the emitted arguments; a record that does not
    # match the arguments is refused too, see the parametrized test)

    monkeypatch.setattr(segment, "fork_call", broken)
    out = tmp_path / "out"
    with pytest.raises(DataflowGraphError, match=r"has 2 producer\(s\)"):
        generate(model, ROOT / "clusters" / "pair2.yaml", out, quiet=True)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]  # no staging left


def test_generated_segments_pass_and_offchip_has_one_wmem_reader(tmp_path):
    """The real generator's graphs pass; with off-chip layers exactly one process touches wmem."""
    from asymap.frontend.onnx_import import graph_from_model
    from asymap.quant.quantize import quantize

    qg = quantize(graph_from_model(build_zoo_model("tiny", input_size=32, seed=0)))
    g = qg.graph
    n = len(qg.layers)
    mac = {q.index for q in qg.layers if q.op in ("conv", "fc")}
    code = segment.render_segment(qg, 0, n - 1, {}, mac, g.live_across(-1), g.live_across(n - 1), "seg")
    assert code.wmem is not None
    body = "\n".join(ln for ln in code.source.split("void seg(")[1].splitlines() if not ln.strip().startswith("//"))
    assert len(re.findall(r"\bwmem\b", body)) == 2  # the parameter and the single streamer call
    assert code.source.count("asymap::weights_burst<") == len(mac)
    assert "#pragma HLS INTERFACE" not in code.source  # interface pragmas belong to the top function
