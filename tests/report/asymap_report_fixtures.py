"""Plan and csynth.xml builders shared by the report tests (imported by name: conftest modules
must not be imported, their name clashes across test directories). The csynth files follow
Vitis's report schema (data/csynth_template.xml, modelled on a Vitis HLS 2020.2 report; see
docs/build.md for the sources)."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).parent / "data"


def example_plan() -> dict:
    """3 boards, 9 layers; big1 is the bottleneck. Numbers are consistent (interval = max)."""
    def layer(i, name, op, cycles, dsp, bram, uram=0, pe=4, simd=8):
        return {"index": i, "name": name, "op": op, "factors": {"pe": pe, "simd": simd}, "cycles": cycles,
                "dsp": dsp, "bram36": bram, "uram": uram, "weights": "onchip"}

    boards = [
        {"name": "big0", "type": "u250", "clock_mhz": 300.0, "first_layer": 0, "last_layer": 3,
         "layers": [layer(0, "conv1", "conv", 90000, 300, 40), layer(1, "pool1", "maxpool", 20000, 0, 8),
                    layer(2, "conv2", "conv", 95000, 600, 120, 8), layer(3, "conv3", "conv", 88000, 500, 100)],
         "resources": {"dsp": [1400, 12288], "bram36": [268, 2688], "uram": [8, 1280], "lut": [80000, 1728000]}},
        {"name": "big1", "type": "u250", "clock_mhz": 300.0, "first_layer": 4, "last_layer": 6,
         "layers": [layer(4, "conv4", "conv", 120000, 800, 150, 16), layer(5, "add1", "add", 30000, 0, 10),
                    layer(6, "conv5", "conv", 110000, 700, 160)],
         "resources": {"dsp": [1500, 12288], "bram36": [320, 2688], "uram": [16, 1280], "lut": [90000, 1728000]}},
        {"name": "small0", "type": "zcu102", "clock_mhz": 200.0, "first_layer": 7, "last_layer": 8,
         "layers": [layer(7, "gap", "gap", 40000, 0, 4), layer(8, "fc", "fc", 70000, 400, 300)],
         "resources": {"dsp": [400, 2520], "bram36": [304, 912], "uram": [0, 0], "lut": [30000, 274080]}},
    ]
    for b in boards:
        b["interval_s"] = max(l["cycles"] for l in b["layers"]) / (b["clock_mhz"] * 1e6)
    links = [
        {"from": "big0", "to": "big1", "tensors": ["t3"], "bytes_per_image": 200000, "interval_s": 0.00016},
        {"from": "big1", "to": "small0", "tensors": ["t6"], "bytes_per_image": 50000, "interval_s": 0.00004},
    ]
    interval = max([b["interval_s"] for b in boards] + [l["interval_s"] for l in links])
    return {
        "schema": 1,
        "model": {"path": "m.onnx", "sha256": "0" * 64, "layers": 9, "macs": 123456789},
        "cluster": {"path": "c.yaml", "sha256": "1" * 64},
        "boards": boards,
        "links": links,
        "interval_s": interval, "throughput_ips": 1 / interval, "gops": 2 * 123456789 / interval / 1e9,
        "latency_s": 0.0012, "bottleneck": "big1",
        "baselines": {"reuse_single": {"board": "big0", "interval_s": 0.004, "throughput_ips": 250.0, "gops": 61.7},
                      "even_split": {"interval_s": 0.0009, "throughput_ips": 1111.1, "gops": 274.3}},
        "optimal": True, "gap_bound": 0.0,
        "sweep": [{"boards": 1, "throughput_ips": 250.0}, {"boards": 2, "throughput_ips": 1500.0},
                  {"boards": 3, "throughput_ips": 1 / interval}],
    }


def csynth_xml(version="2023.2", top="top", target_ns="3.33", est_ns="2.95", best=300000, worst=330000,
               ii=126000, bram=700, dsp=1500, ff=150000, lut=95000, uram=16, dsp_tag="DSP") -> str:
    return (DATA / "csynth_template.xml").read_text().format(
        version=version, top=top, target_ns=target_ns, est_ns=est_ns, best=best, avg=(best + worst) // 2 if isinstance(best, int) else best,
        worst=worst, ii_min=ii, ii_max=ii, bram=bram, dsp=dsp, dsp_tag=dsp_tag, ff=ff, lut=lut, uram=uram)
