"""asymap report: a self-contained, deterministic HTML page, checked in headless Chromium."""

from __future__ import annotations

import base64
import copy
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from asymap_report_fixtures import example_plan

from asymap.report.data import gather

IMG = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]*)"')

PROBE = """<script>window.addEventListener("load", function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 100; }).length;
  document.body.setAttribute("data-probe", ok + "/" + imgs.length);
});</script>"""


def _images(html: str) -> list[bytes]:
    return [base64.b64decode(m) for m in IMG.findall(html)]


def big_plan(n_boards: int = 16, layers_per_board: int = 4) -> dict:
    """A 16-board plan with host links and no baselines/sweep (keys the report must tolerate missing)."""
    base = example_plan()
    boards, idx = [], 0
    for i in range(n_boards):
        b = copy.deepcopy(base["boards"][i % 3])
        b["name"] = f"fpga{i:02d}"
        b["layers"] = [dict(l, index=idx + k, name=f"l{idx + k}", cycles=50000 + 997 * ((idx + k) * 7 % 13))
                       for k, l in enumerate((b["layers"] * 2)[:layers_per_board])]
        b["first_layer"], b["last_layer"] = idx, idx + layers_per_board - 1
        b["interval_s"] = max(l["cycles"] for l in b["layers"]) / (b["clock_mhz"] * 1e6)
        idx += layers_per_board
        boards.append(b)
    names = ["host"] + [b["name"] for b in boards] + ["host"]
    links = [{"from": a, "to": b, "tensors": ["t"], "bytes_per_image": 100000, "interval_s": 0.0001}
             for a, b in zip(names, names[1:])]
    interval = max([b["interval_s"] for b in boards] + [l["interval_s"] for l in links])
    bn = max(boards, key=lambda b: b["interval_s"])["name"]
    plan = {k: base[k] for k in ("schema", "model", "cluster")}
    plan.update(boards=boards, links=links, interval_s=interval, throughput_ips=1 / interval, gops=1.0,
                latency_s=0.01, bottleneck=bn, baselines={}, optimal=False, gap_bound=0.03)
    plan["model"] = dict(plan["model"], layers=idx)
    return plan


def test_report_from_plan_is_self_contained_and_deterministic(tmp_path, run_cli):
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(example_plan()))
    p = run_cli("report", plan, "-o", tmp_path / "a.html", check=True)
    assert "wrote" in p.stdout
    run_cli("report", plan, "-o", tmp_path / "b.html", "-q", check=True)
    html = (tmp_path / "a.html").read_text()
    assert html == (tmp_path / "b.html").read_text()
    imgs = _images(html)
    assert len(imgs) == 5 == html.count("<img ")
    assert all(i.startswith(b"\x89PNG\r\n\x1a\n") and len(i) > 5000 for i in imgs)
    assert "http://" not in html and "https://" not in html and "<link" not in html and "<script" not in html
    for title in ("Cluster topology", "Layer → board assignment", "Pipeline", "Resources", "Throughput"):
        assert f"<h2>{title}</h2>" in html
    assert "Predicted vs reported" not in html
    assert "big1" in html and "10.0×" in html  # bottleneck and speed-up over the single-FPGA baseline


def test_report_from_out_tree_adds_predicted_vs_reported(make_reported_tree, run_cli, tmp_path):
    out = make_reported_tree({"big0": dict(ii=95000, dsp=1400, bram=536, lut=80000, uram=8),
                              "big1": dict(ii=200000, dsp=1500, bram=640, lut=90000, uram=16)})
    p = run_cli("report", out, "-o", tmp_path / "r.html", check=True)
    assert "2 Vitis reports" in p.stdout
    html = (tmp_path / "r.html").read_text()
    assert len(_images(html)) == 6 and "<h2>Predicted vs reported</h2>" in html
    assert "off by +67%" in html and "no report" in html


def test_report_uses_cluster_file_for_bandwidth_and_idle_boards(tmp_path):
    (tmp_path / "c.yaml").write_text(
        "boards:\n  - {name: big0, type: u250}\n  - {name: big1, type: u250}\n  - {name: small0, type: zcu102}\n"
        "  - {name: spare, type: zcu104}\n"
        "links:\n  - {a: big0, b: big1, gbps: 100}\n  - {a: big1, b: small0, gbps: 10}\n  - {a: small0, b: spare, gbps: 10}\n")
    plan = example_plan()
    plan["cluster"]["path"] = "c.yaml"
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    data = gather(tmp_path / "plan.json")
    assert [b["name"] for b in data.cluster_boards if b["idle"]] == ["spare"]
    l01 = next(l for l in data.links if (l.a, l.b) == ("big0", "big1"))
    assert l01.gbps == 100 and l01.used and l01.utilization == pytest.approx(0.4)
    unused = [l for l in data.links if not l.used]
    assert [(l.a, l.b, l.gbps) for l in unused] == [("small0", "spare", 10)]


def test_report_errors_are_one_line(tmp_path, run_cli, assert_user_error):
    assert_user_error(run_cli("report", tmp_path / "nope.json", "-o", tmp_path / "r.html"), "nope.json", "not found")
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": 1, "boards": [{"name": "x"}]}')
    assert_user_error(run_cli("report", bad, "-o", tmp_path / "r.html"), "boards[0].interval_s")
    good = tmp_path / "plan.json"
    good.write_text(json.dumps(example_plan()))
    assert_user_error(run_cli("report", good, "-o", tmp_path / "no" / "r.html"), "does not exist")
    assert not (tmp_path / "r.html").exists()


def _chromium(html_file: Path, tmp_path: Path, screenshot: Path | None = None) -> subprocess.CompletedProcess:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        pytest.fail("headless Chromium is needed to check the HTML report: apt-get install chromium (./scripts/test does)")
    args = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={tmp_path / ('chrome-' + html_file.stem + ('-shot' if screenshot else ''))}",
            "--enable-logging=stderr", "--v=0", "--window-size=1400,3000"]
    args += [f"--screenshot={screenshot}"] if screenshot else ["--dump-dom"]
    return subprocess.run([*args, html_file.resolve().as_uri()], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("kind", ["plan3", "out_with_reports", "plan16", "generated"])
def test_report_renders_in_headless_chromium(kind, tmp_path, run_cli, make_reported_tree):
    if kind == "generated":  # a real output tree: the layer table carries the SQNR from model.onnx
        run_cli("zoo", "tiny", "--input-size", "32", "--width-mult", "0.5", "-o", "t.onnx", "-q", check=True)
        run_cli("generate", "t.onnx", "pair2", "-o", "gen", "-q", check=True)
        src = tmp_path / "gen"
        n_img = 5
    elif kind == "plan3":
        src = tmp_path / "plan.json"
        src.write_text(json.dumps(example_plan()))
        n_img = 5
    elif kind == "plan16":
        src = tmp_path / "plan.json"
        src.write_text(json.dumps(big_plan()))
        n_img = 5
    else:
        src = make_reported_tree({"big0": dict(ii=95000), "big1": dict(ii=150000), "small0": dict(ii=60000, dsp=900)})
        n_img = 6
    html_file = tmp_path / "report.html"
    run_cli("report", src, "-o", html_file, "-q", check=True)
    shot = tmp_path / f"{kind}.png"
    p = _chromium(html_file, tmp_path, screenshot=shot)
    assert p.returncode == 0 and shot.stat().st_size > 50000, p.stderr[-2000:]
    assert ":CONSOLE" not in p.stderr and "Uncaught" not in p.stderr  # the page logs nothing at all
    probe = tmp_path / "probe.html"
    probe.write_text(html_file.read_text().replace("</body>", PROBE + "</body>"))
    d = _chromium(probe, tmp_path)
    assert f'data-probe="{n_img}/{n_img}"' in d.stdout, d.stdout[-500:]
    # The per-layer table is laid out by the browser with one row per layer of the plan.
    plan = json.loads((src / "plan.json" if src.is_dir() else src).read_text())
    n_layers = sum(len(b["layers"]) for b in plan["boards"])
    table = d.stdout.split('id="layers-table"', 1)[1].split("</table>", 1)[0]
    assert table.count("<tr") == n_layers + 1 and "SQNR dB" in table and "limit" in table
    if kind == "generated":
        sqnr = [float(c) for c in re.findall(r'<td class="">(\d+\.\d)</td>\s*<td class="l">(?:parallelism|board|slack)',
                                             table)]
        assert len(sqnr) == n_layers and all(10 < s < 80 for s in sqnr), table[:2000]


def test_links_bend_around_boards_they_do_not_join():
    from asymap.report.figures import _crosses

    assert _crosses((0, 0), (2, 0), [(1, 0.1)])  # straight through the middle board: bend it
    assert not _crosses((0, 0), (2, 0), [(1, 1.0)])
    assert not _crosses((0, 0), (1, 0), [(2, 0)])  # a board beyond the end is not crossed


def test_report_shows_the_host_path_and_forwarding_boards(tmp_path):
    """plan.json's host_path (issue 12): where images enter and leave, and the boards that only
    forward them, appear in the report's summary."""
    from asymap.report.html import render

    plan = example_plan()
    hop = {"bytes_per_image": 3072, "interval_s": 1e-6, "gbps": 10, "latency_ns": 0, "shared": False}
    plan["host_path"] = {"attach": "relay", "host": "pc", "forwarding": ["relay"],
                         "in": [dict(hop, **{"from": "pc", "to": "relay"}), dict(hop, **{"from": "relay", "to": "big0"})],
                         "out": [dict(hop, **{"from": "small0", "to": "pc"})]}
    p = tmp_path / "plan.json"
    p.write_text(json.dumps(plan))
    html = render(gather(p))
    assert "pc → relay → big0" in html and "small0 → pc" in html
    assert "forwarding boards" in html and "relay" in html


def test_board_table_shows_the_slr_crossing_latency_of_split_boards(tmp_path):
    """A plan with a board of one kernel per SLR (plan.json boards[].slr_crossing_s > 0): the
    pipeline table gets an "SLR crossing" column with each board's figure; a plan without any
    keeps the table as it was."""
    from asymap.report.html import _board_table

    plan = example_plan()
    p = tmp_path / "plan.json"
    p.write_text(json.dumps(plan))
    assert "SLR crossing" not in _board_table(gather(p))["head"]
    plan["boards"][0]["slr_crossing_s"] = 16 / 300e6  # two hops over two boundaries at 300 MHz
    plan["boards"][1]["slr_crossing_s"] = 0.0
    p.write_text(json.dumps(plan))
    table = _board_table(gather(p))
    assert table["head"][-1] == "SLR crossing" and len(table["align"]) == len(table["head"])
    assert [r["cells"][-1] for r in table["rows"]] == ["53 ns", "0 ns", "0 ns"]
