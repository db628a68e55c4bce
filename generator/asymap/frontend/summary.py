"""Per-layer work table of a Graph: what ``asymap inspect`` shows and the cost model reads.

One row per layer (op, shapes, MACs, params, int8 weight and activation bytes, and the bytes that
cross a cut placed after the layer), plus totals. Pure data; formatting is separate so the JSON
and the text table cannot drift apart.
"""

from __future__ import annotations

import json

from asymap.frontend.ir import Graph, Shape


def _shape(s: Shape) -> str:
    return "x".join(map(str, s))


def layer_rows(graph: Graph) -> list[dict]:
    rows = []
    for layer in graph.layers:
        rows.append(
            {
                "index": layer.index,
                "name": layer.name,
                "op": layer.op,
                "act": layer.act,
                "lut_fn": layer.lut_fn,
                "in_shapes": [list(s) for s in layer.in_shapes],
                "out_shape": list(layer.out_shape),
                "macs": layer.macs,
                "params": layer.params,
                "weight_bytes": layer.weight_bytes,
                "act_bytes": layer.act_bytes,
                "cut_bytes": graph.cut_bytes(layer.index),
            }
        )
    return rows


def totals(graph: Graph) -> dict:
    return {
        "layers": len(graph),
        "macs": graph.macs,
        "params": graph.params,
        "weight_bytes": sum(layer.weight_bytes for layer in graph.layers),
        "act_bytes": sum(layer.act_bytes for layer in graph.layers),
    }


def summary_json(graph: Graph) -> str:
    doc = {
        "model": graph.name,
        "input": {"name": graph.input, "shape": list(graph.input_shape)},
        "output": {"name": graph.output, "shape": list(graph.tensor_shapes[graph.output])},
        "layers": layer_rows(graph),
        "totals": totals(graph),
    }
    return json.dumps(doc, indent=1, sort_keys=True) + "\n"


def _human(n: int) -> str:
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= div:
            return f"{n / div:.2f}{unit}"
    return str(n)


def summary_table(graph: Graph) -> str:
    """Fixed-width text table with a totals line; exact integers in the totals."""
    head = ["#", "layer", "op", "in", "out", "MACs", "params", "w bytes", "act bytes", "cut bytes"]
    body = []
    for r in layer_rows(graph):
        name = r["name"] if len(r["name"]) <= 32 else r["name"][:29] + "..."
        ins = ",".join(_shape(s) for s in r["in_shapes"])
        body.append(
            [str(r["index"]), name, r["op"] + (f":{r['lut_fn']}" if r.get("lut_fn") else "") + (f"+{r['act']}" if r["act"] else ""), ins, _shape(r["out_shape"]), _human(r["macs"]), _human(r["params"]),
             _human(r["weight_bytes"]), _human(r["act_bytes"]), _human(r["cut_bytes"])]
        )  # fmt: skip
    t = totals(graph)
    foot = ["", "total", f"{t['layers']} layers", "", "", f"{t['macs']:,}", f"{t['params']:,}", f"{t['weight_bytes']:,}", f"{t['act_bytes']:,}", ""]
    widths = [max(len(row[i]) for row in [head, *body, foot]) for i in range(len(head))]
    left = {1, 2, 3, 4}

    def fmt(row):
        return "  ".join(c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip()

    lines = [f"model {graph.name}: input {graph.input} {_shape(graph.input_shape)}", fmt(head), fmt(["-" * w for w in widths])]
    lines += [fmt(r) for r in body]
    lines += [fmt(["-" * w for w in widths]), fmt(foot)]
    return "\n".join(lines) + "\n"
