"""csynth.xml parsing, asymap compare and --calibrate on reports that follow Vitis's schema."""

from __future__ import annotations

import json

import pytest
import yaml
from asymap_report_fixtures import csynth_xml

from asymap.build.reports import find_report, parse_csynth
from asymap.errors import UserError


def test_parse_csynth_reads_every_field(tmp_path):
    p = tmp_path / "csynth.xml"
    p.write_text(csynth_xml(version="2023.2", top="top_b", target_ns="3.33", est_ns="2.95", best=1000, worst=1200,
                            ii=700, bram=31, dsp=42, ff=5000, lut=6000, uram=3))
    r = parse_csynth(p)
    assert (r.version, r.top, r.part) == ("2023.2", "top_b", "xcu250-figd2104-2L-e")
    assert (r.target_clock_ns, r.estimated_clock_ns) == (3.33, 2.95)
    assert (r.latency_best, r.latency_avg, r.latency_worst, r.interval_min, r.interval_max) == (1000, 1100, 1200, 700, 700)
    assert r.used == {"bram18k": 31, "dsp": 42, "ff": 5000, "lut": 6000, "uram": 3}
    assert r.available == {"bram18k": 5376, "dsp": 12288, "ff": 3456000, "lut": 1728000, "uram": 1280}
    assert r.interval_s == pytest.approx(700 * 3.33e-9)


def test_parse_old_dsp48e_tag_and_undef_latency(tmp_path):
    p = tmp_path / "top_csynth.xml"
    p.write_text(csynth_xml(version="2019.2", dsp_tag="DSP48E", dsp=17, best="undef", worst="undef", ii="undef"))
    r = parse_csynth(p)
    assert r.used["dsp"] == 17 and r.latency_best is None and r.interval_max is None


@pytest.mark.parametrize("text, fragment", [
    (csynth_xml()[:700], "truncated"),
    (csynth_xml(version="2031.1"), "unknown Vitis HLS version '2031.1'"),
    (csynth_xml().replace("<Interval-max>126000</Interval-max>", ""), "Interval-max missing"),
    ("<html><body/></html>", "not a Vitis HLS csynth report"),
])
def test_bad_reports_are_user_errors(tmp_path, text, fragment):
    p = tmp_path / "csynth.xml"
    p.write_text(text)
    with pytest.raises(UserError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        parse_csynth(p)


def test_find_report_in_both_layouts(tmp_path):
    comp = tmp_path / "a" / "hls_component" / "hls" / "syn" / "report" / "csynth.xml"
    sol = tmp_path / "b" / "proj" / "solution1" / "syn" / "report" / "top_b_csynth.xml"
    for p, top in ((comp, "top_a"), (sol, "top_b")):
        p.parent.mkdir(parents=True)
        p.write_text(csynth_xml(top=top))
    assert find_report(tmp_path / "a", "top_a") == comp
    assert find_report(tmp_path / "b", "top_b") == sol
    assert find_report(tmp_path, "x") is None


def test_find_report_picks_the_board_kernel_not_a_data_mover(tmp_path):
    """A first/last board's directory holds the data movers' HLS components (hls_mm2s, hls_s2mm)
    next to the board kernel's: each report is the kernel it names, whichever is newer; a board
    whose kernel has no report yet has none, however many movers do."""
    import os

    d = tmp_path / "b0"
    mine = d / "hls_b0" / "hls" / "syn" / "report" / "csynth.xml"
    movers = [d / f"hls_{k}" / "hls" / "syn" / "report" / "csynth.xml" for k in ("mm2s", "s2mm")]
    for p, top in zip(movers, ("asymap_mm2s", "asymap_s2mm")):
        p.parent.mkdir(parents=True)
        p.write_text(csynth_xml(top=top, dsp=7))
    assert find_report(d, "top_b0") is None
    mine.parent.mkdir(parents=True)
    mine.write_text(csynth_xml(top="top_b0", dsp=1234))
    for i, p in enumerate(movers):  # the movers' reports are newer than the kernel's
        os.utime(p, (mine.stat().st_mtime + 10 + i,) * 2)
    assert find_report(d, "top_b0") == mine and parse_csynth(find_report(d, "top_b0")).used["dsp"] == 1234
    assert find_report(d, "asymap_mm2s") == movers[0] and find_report(d, "asymap_s2mm") == movers[1]


GOOD = {  # 10 % over every prediction of big0/big1 but URAM (see conftest.example_plan)
    "big0": dict(ii=104500, best=300000, worst=320000, dsp=1540, bram=590, lut=88000, uram=8),
    "big1": dict(ii=132000, best=280000, worst=290000, dsp=1650, bram=704, lut=99000, uram=16),
}


def test_compare_table_flags_off_and_over_budget(make_reported_tree, run_cli):
    reports = dict(GOOD)
    reports["small0"] = dict(ii=70000, dsp=3000, bram=2 * 304, lut=30000, uram=0)  # 3000 DSP > 2520 budget
    reports["big1"] = dict(GOOD["big1"], ii=180000)  # 1.5x the predicted interval
    out = make_reported_tree(reports, tcl_layout=("small0",))
    p = run_cli("compare", out, check=True)
    lines = p.stdout.splitlines()
    row = {(ln.split()[0], ln.split()[1]): ln for ln in lines[1:-1]}
    assert "1.10" in row[("big0", "interval")] and "off by" not in row[("big0", "interval")]
    assert "off by +50%" in row[("big1", "interval")]
    assert "over budget" in row[("small0", "dsp")] and "off by +650%" in row[("small0", "dsp")]
    assert lines[-1] == "3 boards, 3 with reports, 2 flagged: big1, small0"
    doc = json.loads(run_cli("compare", out, "--json", check=True).stdout)
    b1 = {r["metric"]: r for r in doc["boards"][1]["rows"]}
    assert b1["interval"]["predicted"] == 120000 and b1["interval"]["reported"] == 180000 and b1["interval"]["ratio"] == 1.5
    assert doc["boards"][0]["flagged"] is False


def test_calibrate_writes_planner_factors(make_reported_tree, run_cli, tmp_path):
    out = make_reported_tree(GOOD)  # small0 has no report: it is listed, not fitted
    calib = tmp_path / "calibration.yaml"
    p = run_cli("compare", out, "--calibrate", calib, check=True)
    assert "no report" in p.stdout
    doc = yaml.safe_load(calib.read_text())
    u250 = doc["board_types"]["u250"]
    assert set(doc["board_types"]) == {"u250"} and doc["schema"] == 1
    for key in ("cycles_scale", "dsp_scale", "bram36_scale", "lut_scale"):
        assert u250[key] == pytest.approx(1.1, abs=1e-3), key
    assert u250["uram_scale"] == 1.0
    assert u250["samples"] == 2 and u250["boards"] == ["big0", "big1"]


def test_compare_errors_are_one_line(make_reported_tree, run_cli, assert_user_error, tmp_path):
    assert_user_error(run_cli("compare", tmp_path / "missing"), "missing", "asymap generate")
    out = make_reported_tree({}, name="none")
    assert_user_error(run_cli("compare", out), "no csynth reports", "--step csynth")
    out = make_reported_tree(GOOD, copy_plan=False, name="noplan")
    assert_user_error(run_cli("compare", out), "plan.json", "--plan")
    plan = tmp_path / "plan.json"
    from asymap_report_fixtures import example_plan
    plan.write_text(json.dumps(example_plan()))
    assert run_cli("compare", out, "--plan", plan).returncode == 0
    bad = make_reported_tree({"big0": {}}, name="trunc")
    rep = bad / "big0/hls_component/hls/syn/report/csynth.xml"
    rep.write_text(rep.read_text()[:500])
    assert_user_error(run_cli("compare", bad), "csynth.xml", "truncated")
    assert rep.exists()  # nothing is deleted
    bad2 = make_reported_tree({"big0": {"version": "2099.1"}}, name="future")
    assert_user_error(run_cli("compare", bad2), "unknown Vitis HLS version")
    (bad2 / "chain.json").write_text(json.dumps({"schema": 1, "asymap_version": "9.9.0", "boards": ["big0"]}))
    assert_user_error(run_cli("compare", bad2), "asymap 9.9.0")


def test_board_of_one_kernel_per_slr_is_compared_as_the_sum_of_its_kernels(tmp_path):
    """A multi-SLR board built as one kernel per SLR (deploy.json hls_kernels): its kernels' reports
    add up (resources, latency) and the slowest sets the interval; one missing report: no report."""
    from asymap.build.compare import board_report

    d = tmp_path / "b0"
    kernels = [("hls_b0", "top_b0", dict(dsp=100, lut=1000, ii=5000, worst=9000)),
               ("hls_b0_slr1", "top_b0_slr1", dict(dsp=200, lut=2000, ii=7000, worst=8000)),
               ("hls_b0_slr2", "top_b0_slr2", dict(dsp=300, lut=3000, ii=6000, worst=7000))]
    (d / "hls_mm2s" / "hls" / "syn" / "report").mkdir(parents=True)  # a mover's report is not the board's
    (d / "hls_mm2s" / "hls" / "syn" / "report" / "csynth.xml").write_text(csynth_xml(top="asymap_mm2s", dsp=9999))
    (d / "deploy.json").write_text(json.dumps({"flow": "vitis", "hls_kernels": [
        {"kernel": k, "config": f"hls_config_slr{i}.cfg", "work_dir": w} for i, (w, k, _) in enumerate(kernels) if i]}))
    for w, k, kw in kernels[:2]:
        rep = d / w / "hls" / "syn" / "report" / "csynth.xml"
        rep.parent.mkdir(parents=True)
        rep.write_text(csynth_xml(top=k, best=kw["worst"] - 10, **kw))
    assert board_report(d, "top_b0") is None
    w, k, kw = kernels[2]
    rep = d / w / "hls" / "syn" / "report" / "csynth.xml"
    rep.parent.mkdir(parents=True)
    rep.write_text(csynth_xml(top=k, best=kw["worst"] - 10, **kw))
    r = board_report(d, "top_b0")
    assert (r.used["dsp"], r.used["lut"], r.interval_max, r.latency_worst) == (600, 6000, 7000, 24000)


def _split_tree(tmp_path, reports: dict[str, dict]):
    """big0 of example_plan() built as one kernel per SLR: layers 0-1 in SLR0 (top_big0), 2-3 in
    SLR1 (top_big0_slr1), with the plan's per-kernel LUT and flip-flop estimates; a data mover's
    report sits beside the kernels'. ``reports``: kernel -> csynth_xml kwargs."""
    from asymap import __version__
    from asymap_report_fixtures import example_plan

    plan = example_plan()
    b = plan["boards"][0]
    for ly in b["layers"]:
        ly["slr"] = 0 if ly["index"] < 2 else 1
    b["slrs"] = 4
    b["ff"] = [160000, 3456000]
    b["slr_lut"] = [30000, 50000, 0, 0]
    b["slr_ff"] = [60000, 100000, 0, 0]
    out = tmp_path / "out"
    d = out / "big0"
    d.mkdir(parents=True)
    for other in plan["boards"][1:]:
        (out / other["name"]).mkdir()
    (out / "chain.json").write_text(json.dumps({
        "schema": 1, "asymap_version": __version__, "top": "top",
        "boards": [{"index": i, "name": x["name"], "dir": x["name"], "top": f"top_{x['name']}"}
                   for i, x in enumerate(plan["boards"])]}))
    (out / "plan.json").write_text(json.dumps(plan))
    (d / "deploy.json").write_text(json.dumps({"flow": "vitis", "hls_kernels": [
        {"kernel": "top_big0_slr1", "config": "hls_config_slr1.cfg", "work_dir": "hls_big0_slr1"}]}))
    mover = d / "hls_mm2s" / "hls" / "syn" / "report" / "csynth.xml"
    mover.parent.mkdir(parents=True)
    mover.write_text(csynth_xml(top="asymap_mm2s", dsp=5, lut=999999, ff=999999))
    for kernel, kw in reports.items():
        rep = d / ("hls_big0" if kernel == "top_big0" else "hls_big0_slr1") / "hls" / "syn" / "report" / "csynth.xml"
        rep.parent.mkdir(parents=True)
        rep.write_text(csynth_xml(top=kernel, **kw))
    return out


def test_compare_shows_each_split_kernel_against_its_own_estimates(tmp_path, run_cli):
    """A board of one kernel per SLR: besides the board's rows (the kernels' reports summed, FF
    against the plan's flip-flop estimate), one row per kernel and resource: LUT and FF against the
    plan's per-kernel estimates (slr_lut/slr_ff), DSP/BRAM36/URAM against its SLR's layers, budgets
    the SLR's share; flagged like the boards; calibration fits the boards only. A data mover's
    report never counts; a kernel without a report shows as such."""
    out = _split_tree(tmp_path, {"top_big0": dict(dsp=900, bram=280, uram=0, lut=33000, ff=90000, ii=95000),
                                  "top_big0_slr1": dict(dsp=1100, bram=240, uram=8, lut=48000, ff=101000, ii=90000)})
    doc = json.loads(run_cli("compare", out, "--json", check=True).stdout)
    rows = {(r.get("kernel", ""), r["metric"]): r for r in doc["boards"][0]["rows"]}
    assert rows[("", "lut")]["reported"] == 81000 and rows[("", "dsp")]["reported"] == 2000
    assert (rows[("", "ff")]["predicted"], rows[("", "ff")]["reported"], rows[("", "ff")]["budget"]) == (160000, 191000,
                                                                                                       3456000)
    k0, k1 = "top_big0", "top_big0_slr1"
    assert (rows[(k0, "lut")]["predicted"], rows[(k0, "lut")]["reported"]) == (30000, 33000)
    assert (rows[(k1, "lut")]["predicted"], rows[(k1, "lut")]["reported"]) == (50000, 48000)
    assert (rows[(k0, "ff")]["predicted"], rows[(k0, "ff")]["reported"]) == (60000, 90000)
    assert rows[(k0, "ff")]["flags"] == ["off by +50%"] and rows[(k1, "ff")]["flags"] == []
    assert rows[(k0, "dsp")]["predicted"] == 300 + 0 and rows[(k1, "dsp")]["predicted"] == 600 + 500
    assert rows[(k1, "uram")]["predicted"] == 8 and rows[(k1, "lut")]["budget"] == 1728000 / 4
    text = run_cli("compare", out, check=True).stdout
    line = next(ln for ln in text.splitlines() if ln.startswith("big0/top_big0 ") and " ff " in ln)
    assert line.split()[2:5] == ["60,000", "90,000", "1.50"] and "off by +50%" in line
    calib = tmp_path / "calib.yaml"
    run_cli("compare", out, "--calibrate", calib, check=True)
    import yaml

    assert yaml.safe_load(calib.read_text())["board_types"]["u250"]["lut_scale"] == pytest.approx(81000 / 80000, abs=1e-3)
    # one kernel without its report: no board report, the other kernel still shown against its estimate
    half = _split_tree(tmp_path / "half", {"top_big0_slr1": dict(lut=48000, ff=101000)})
    doc = json.loads(run_cli("compare", half, "--json").stdout)
    rows = {(r.get("kernel", ""), r["metric"]): r for r in doc["boards"][0]["rows"]}
    assert rows[("", "interval")]["flags"] == ["no report"] and rows[("top_big0", "lut")]["flags"] == ["no report"]
    assert (rows[("top_big0_slr1", "ff")]["predicted"], rows[("top_big0_slr1", "ff")]["reported"]) == (100000, 101000)


def test_plan_estimates_each_split_kernel(tmp_path):
    """plan.json slr_lut/slr_ff of a board whose layers span SLRs: per SLR its layers' LUTs and
    flip-flops, the link unpackers in the first kernel and the packers in the last; they add up to
    the board's layer LUTs + link_lut and to ff[0]. A board in one SLR records []."""
    import onnx

    import asymap
    from clusters_yaml import cluster_yaml

    p = tmp_path / "r18.onnx"
    onnx.save(asymap.build_zoo_model("resnet18", input_size=64, seed=0), str(p))
    g = asymap.load_model(p)
    c = tmp_path / "two.yaml"
    c.write_text(cluster_yaml([("a", "u280"), ("b", "zcu104")], [("a", "b", 10, 500)]))
    d = asymap.plan(g, asymap.load_cluster(c), boards=2).to_dict()
    boards = {b["name"]: b for b in d["boards"]}
    a = boards["a"]
    used = sorted({ly["slr"] for ly in a["layers"]})
    assert len(used) > 1 and len(a["slr_lut"]) == len(a["slr_ff"]) == a["slrs"]
    assert sum(a["slr_lut"]) == sum(ly["lut"] for ly in a["layers"]) + a["link_lut"]
    assert sum(a["slr_ff"]) == a["ff"][0]
    for s in range(a["slrs"]):
        own = sum(ly["lut"] for ly in a["layers"] if ly["slr"] == s)
        assert (a["slr_lut"][s] > own) == (s in (used[0], used[-1])) and a["slr_lut"][s] >= own
        assert (a["slr_ff"][s] > 0) == (s in used)
    assert boards["b"]["slr_lut"] == [] == boards["b"]["slr_ff"]
