"""Fixtures for report parsing, compare and the HTML report: a hand-written plan.json that follows
the DESIGN.md schema exactly, an OUT tree that matches it, and csynth.xml files that follow
Vitis's report schema (data/csynth_template.xml, modelled on a Vitis HLS 2020.2 report; see
docs/build.md for the sources)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from asymap import __version__

from asymap_report_fixtures import csynth_xml, example_plan


@pytest.fixture
def plan_dict():
    return example_plan()


@pytest.fixture
def make_reported_tree(tmp_path):
    """OUT tree for example_plan() with csynth reports for the boards in ``reports`` (board ->
    csynth_xml kwargs), in the v++ component layout, or the vitis_hls solution layout for
    ``tcl_layout`` boards. Copies plan.json into OUT/ unless ``copy_plan`` is False."""

    def _make(reports: dict[str, dict], tcl_layout=(), copy_plan=True, name="out") -> Path:
        plan = example_plan()
        out = tmp_path / name
        out.mkdir()
        chain = {"schema": 1, "asymap_version": __version__, "top": "top",
                 "boards": [{"index": i, "name": b["name"], "dir": b["name"], "top": f"top_{b['name']}"}
                            for i, b in enumerate(plan["boards"])]}
        (out / "chain.json").write_text(json.dumps(chain))
        if copy_plan:
            (out / "plan.json").write_text(json.dumps(plan))
        for b in plan["boards"]:
            d = out / b["name"]
            d.mkdir()
            if b["name"] in reports:
                top = f"top_{b['name']}"
                if b["name"] in tcl_layout:
                    rep = d / "proj" / "solution1" / "syn" / "report" / f"{top}_csynth.xml"
                else:
                    rep = d / "hls_component" / "hls" / "syn" / "report" / "csynth.xml"
                rep.parent.mkdir(parents=True)
                rep.write_text(csynth_xml(top=top, **reports[b["name"]]))
        return out

    return _make
