"""Reading a plan for code generation and checking that it belongs to the model.

A plan may come from the planner (an object with ``to_dict()``), from a hand-edited ``plan.json``
or from a dict in a test. Code generation trusts only what it checks here: the boards cover the
layers 0..L-1 once and in order, the layer count / names / model hash match the model, and the
parallelism factors are positive integers. Everything else in the plan (predictions, baselines) is
carried along untouched.
"""

from __future__ import annotations

from pathlib import Path

from asymap.lanes import DEFAULT_PORT_LANES, PORT_LANE_CHOICES
from asymap.errors import UserError
from asymap.util.fileio import read_json_object
from asymap.frontend.ir import Graph


def load_plan_dict(plan, where: str = "plan") -> dict:
    """A plan dict from a path, a dict or a Plan object."""
    if hasattr(plan, "to_dict"):
        return plan.to_dict()
    if isinstance(plan, dict):
        return plan
    p = Path(plan)
    if not p.is_file():
        raise UserError(f"{p}: plan file not found; run 'asymap plan MODEL CLUSTER -o {p.name}' first")
    return read_json_object(p, "not a valid plan.json; re-create it with 'asymap plan'")


def check_plan(plan: dict, graph: Graph, where: str, model_sha256: str | None = None) -> dict:
    """Validate ``plan`` against ``graph``; return it (unchanged) or raise a one-line UserError."""
    L = len(graph)
    model = plan.get("model") or {}
    if not isinstance(model, dict):
        model = {}
    if model_sha256 and model.get("sha256") and model["sha256"] != model_sha256:
        raise UserError(f"{where}: plan was made for a different model (sha256 {str(model['sha256'])[:12]}..., "
                        f"this model is {model_sha256[:12]}...); re-run 'asymap plan' for this model")
    if "layers" in model and model["layers"] != L:
        raise UserError(f"{where}: plan was made for a different model ({model['layers']} layers, this model has {L}); "
                        "re-run 'asymap plan' for this model")
    boards = plan.get("boards")
    if not isinstance(boards, list) or not boards:
        raise UserError(f"{where}: key 'boards' must be a non-empty list of boards; re-create the plan with 'asymap plan'")
    names: set[str] = set()
    nxt = 0
    for i, b in enumerate(boards):
        if not isinstance(b, dict) or not isinstance(b.get("name"), str) or not b["name"]:
            raise UserError(f"{where}: boards[{i}] needs a 'name'; re-create the plan with 'asymap plan'")
        if b["name"] in names:
            raise UserError(f"{where}: board {b['name']!r} appears twice in 'boards'; each board holds one segment")
        names.add(b["name"])
        first, last = b.get("first_layer"), b.get("last_layer")
        if not isinstance(first, int) or not isinstance(last, int) or first != nxt or last < first or last >= L:
            raise UserError(f"{where}: boards[{i}] ({b['name']}) covers layers {first}..{last}, expected to start at "
                            f"{nxt} and end below {L}; boards must cover layers 0..{L - 1} in order "
                            "(plan for a different model?)")
        nxt = last + 1
        lanes = b.get("port_lanes", DEFAULT_PORT_LANES)
        if lanes not in PORT_LANE_CHOICES or isinstance(lanes, bool):
            raise UserError(f"{where}: board {b['name']}: port_lanes must be one of "
                            f"{', '.join(map(str, PORT_LANE_CHOICES))} (channels per beat), got {lanes!r}")
        for ly in b.get("layers", []) or []:
            idx = ly.get("index") if isinstance(ly, dict) else None
            if not isinstance(idx, int) or not first <= idx <= last:
                raise UserError(f"{where}: board {b['name']}: layer entry {ly!r:.60} is not one of its layers "
                                f"{first}..{last}")
            if "name" in ly and ly["name"] != graph.layers[idx].name:
                raise UserError(f"{where}: layer {idx} is {ly['name']!r} in the plan but {graph.layers[idx].name!r} "
                                "in the model; the plan was made for a different model, re-run 'asymap plan'")
            f = ly.get("factors", {}) or {}
            for key in ("pe", "simd", "kpar"):  # kpar: absent in older plans, means 1
                v = f.get(key, 1)
                if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                    raise UserError(f"{where}: board {b['name']} layer {idx}: factors.{key} must be a positive "
                                    f"integer, got {v!r}")
            if ly.get("weights", "onchip") not in ("onchip", "preload", "offchip"):
                raise UserError(f"{where}: board {b['name']} layer {idx}: weights must be 'onchip', 'preload' or "
                                f"'offchip', got {ly.get('weights')!r}")
            if ly.get("mac", "") not in ("", "packed", "dsp", "lut"):
                raise UserError(f"{where}: board {b['name']} layer {idx}: mac must be 'packed', 'dsp' or 'lut', "
                                f"got {ly.get('mac')!r}")
    if nxt != L:
        raise UserError(f"{where}: boards cover layers 0..{nxt - 1} but the model has {L} layers (0..{L - 1}); "
                        "the plan was made for a different model, re-run 'asymap plan'")
    for k, ln in enumerate(plan.get("links", []) or []):
        w = ln.get("width_bits") if isinstance(ln, dict) else None
        if w is not None and (not isinstance(w, int) or w < 64 or w % 64):
            raise UserError(f"{where}: links[{k}].width_bits must be a multiple of 64, got {w!r}")
    return plan
