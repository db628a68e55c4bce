"""Every generated host program compiles and links against Debian's XRT (libxrt-dev) and runs up
to XRT's clean "no device" error, after doing all the work that needs no board: parsing its
arguments, reading the .npy batch and framing it exactly as the first board expects (the frames
it would hand to the mm2s mover equal the generator's own link-0 vectors)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import onnx
import pytest

from asymap.codegen import framefile
from asymap.codegen.project import generate
from asymap.frontend.zoo import build_zoo_model

ROOT = Path(__file__).resolve().parents[2]
HAVE_XRT = Path("/usr/include/xrt/xrt/xrt_device.h").is_file()
pytestmark = [pytest.mark.csim,
              pytest.mark.skipif(not HAVE_XRT and not os.environ.get("CI"),
                                 reason="libxrt-dev not installed (./scripts/test installs it)")]
ALVEO_PAIR = """
boards:
  - {name: left, type: u280}
  - {name: right, type: u55c}
links:
  - {a: left, b: right, gbps: 100, latency_ns: 500}
"""


# Layer 3's weights are streamed from off-chip memory (wmem), layer 2's are preloaded into URAM
# from the start-up image (wpre): left and u280 hold both, so their hosts load two images.
WEIGHTS = {2: "preload", 3: "offchip"}


@pytest.fixture(scope="module")
def trees(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("hosts")
    model = d / "tiny.onnx"
    onnx.save(build_zoo_model("tiny", input_size=16, width_mult=1.0, seed=0), str(model))
    (d / "alveo.yaml").write_text(ALVEO_PAIR)
    out = {}
    for key, cluster, names in (("alveo", d / "alveo.yaml", ["left", "right"]),
                                ("mixed", ROOT / "clusters" / "mixed4.yaml", ["u250", "u280", "vc709", "zcu102"])):
        cuts = [(0, 3), (4, 8)] if len(names) == 2 else [(0, 1), (2, 3), (4, 6), (7, 8)]
        plan = {"schema": 1, "boards": [
            {"name": n, "first_layer": a, "last_layer": b,
             "layers": [{"index": i, "factors": {"pe": 2, "simd": 2}, "weights": WEIGHTS.get(i, "onchip")}
                        for i in range(a, b + 1)]} for n, (a, b) in zip(names, cuts)]}
        (d / f"{key}.json").write_text(json.dumps(plan))
        generate(model, cluster, d / key, plan=d / f"{key}.json", quiet=True)
        out[key] = d / key
    return out


def _make(host_dir: Path) -> Path:
    p = subprocess.run(["make", "CXXFLAGS=-std=c++17 -O1 -Wall -Werror"], cwd=host_dir, capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    return host_dir / "asymap_host"


def _run(exe: Path, *args, env=None) -> subprocess.CompletedProcess:
    e = {k: v for k, v in os.environ.items() if k != "XILINX_XRT"}
    e.update(env or {})
    return subprocess.run([str(exe), *map(str, args)], cwd=exe.parent, capture_output=True, text=True, timeout=60,
                          env=e)


def test_every_host_program_builds_and_stops_at_the_missing_device(trees, tmp_path):
    built = 0
    for key, out in trees.items():
        chain = json.loads((out / "chain.json").read_text())
        hosts = chain["deploy"]["hosts"]
        assert hosts, key
        for h in hosts:
            exe = _make(out / h["dir"])
            built += 1
            if h["feeds"]:
                first = chain["boards"][0]["dir"]
                dump = tmp_path / f"{key}_{h['name']}.frames"
                p = _run(exe, "--dump-frames", dump)
                # Framed from the tree's own input.npy: byte-identical to the generator's link-0 vectors.
                assert dump.read_bytes() == (out / first / "vectors" / "link_in.frames").read_bytes()
                beats, last = framefile.split_beats(dump.read_bytes(), 64)
                assert f"framed 1 image(s): {sum(last)} frames, {len(beats)} beats of 64 bits" in p.stdout
            else:
                p = _run(exe)
                assert p.returncode == 2 and "--images N is required" in p.stderr, p.stderr
                p = _run(exe, "--images", "2")
            # No board here: XRT's own error, reported on one line with its own exit code.
            assert p.returncode == 3, (p.returncode, p.stdout, p.stderr)
            assert p.stderr.startswith("asymap_host: XRT: ") and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert built == 3  # alveo: one host; mixed: the PCIe host and the ZCU102's own Arm


def test_host_program_frames_a_batch_and_rejects_bad_input(trees, tmp_path):
    out = trees["alveo"]
    exe = _make(out / "host" / "host")
    x = np.load(out / "input.npy")
    batch = np.stack([x, np.clip(x + 1, -128, 127), np.clip(x - 3, -128, 127)]).astype(np.int8)
    np.save(tmp_path / "batch.npy", batch)
    dump = tmp_path / "batch.frames"
    p = _run(exe, "--input", tmp_path / "batch.npy", "--dump-frames", dump)
    assert p.returncode == 3, p.stderr
    want, seq = bytearray(), 0
    for img in batch:
        one = framefile.encode_tensors([img], src=255, dst=0, width_bits=64, max_payload_beats=256, seq0=seq)
        want += one
        seq += sum(framefile.split_beats(one, 64)[1])
    assert dump.read_bytes() == bytes(want)
    np.save(tmp_path / "wrong.npy", batch[:, :, :3])
    p = _run(exe, "--input", tmp_path / "wrong.npy")
    assert p.returncode == 2 and "shape must be" in p.stderr
    np.save(tmp_path / "float.npy", batch.astype(np.float32))
    p = _run(exe, "--input", tmp_path / "float.npy")
    assert p.returncode == 2 and "dtype" in p.stderr
    p = _run(exe, "--bogus")
    assert p.returncode == 2 and "unknown argument --bogus" in p.stderr


def test_host_program_programs_every_board_it_holds(trees):
    src = (trees["mixed"] / "host" / "host" / "host.cpp").read_text()
    # The PCIe host drives both Alveo cards, loads the U280's off-chip weights, feeds u250's mm2s.
    # Both of the U280's memory images, each at its own argument of the kernel, set on every run.
    top = (trees["mixed"] / "u280" / "top.cpp").read_text()
    params = re.search(r"void top_u280\((.*?)\)\s*\{", top, re.S).group(1).split(",")
    names = [re.findall(r"(\w+)\s*$", q.strip())[0] for q in params]
    wmem, wpre = names.index("wmem"), names.index("wpre")
    assert ('{"u280", "u280", 1, 1, "u280", "u280.xclbin", "top_u280", '
            f'{{ {{"weights/wmem.bin", {wmem}}}, {{"weights/wpre.bin", {wpre}}} }}') in src
    assert '{"u250", "u250", 0, 0, "u250", "u250.xclbin", "top_u250", { {nullptr, -1}, {nullptr, -1} }' in src
    assert "r.set_arg(d.board->images[j].arg, d.images[j])" in src
    assert (trees["mixed"] / "u280" / "weights" / "wpre.bin").stat().st_size > 0
    assert 'xrt::kernel mm2s(first.dev, first.uuid, "asymap_mm2s")' in src and "xrt::kernel s2mm(" not in src
    edge = (trees["mixed"] / "host" / "zcu102" / "host.cpp").read_text()
    assert 'xrt::kernel s2mm(lastd.dev, lastd.uuid, "asymap_s2mm")' in edge and "xrt::kernel mm2s(" not in edge
    assert shutil.which("g++")


def _link_spec(link: dict):
    from asymap.codegen.chain import CutTensor, LinkSpec

    return LinkSpec(link["index"], link["src_id"], link["dst_id"], link["from"], link["to"], link["width_bits"],
                    link["max_payload_beats"],
                    [CutTensor(t["id"], t["name"], t["ident"], tuple(t["shape"]), t["signed"], t["producer"])
                     for t in link["tensors"]])


def test_host_program_follows_a_multi_tensor_link_schedule(tmp_path):
    """A host program whose host link carries several tensors (here: the host stands in for the
    first board of a plan cut across the residual block, so it feeds the second board's two-tensor
    link, or collects the first board's) builds against XRT, frames one .npy per tensor exactly as
    the link kernels interleave them (the board's own link-in vectors, byte for byte) and stops at
    the missing device."""
    from types import SimpleNamespace

    from asymap.codegen import hostprog
    from asymap.codegen.env import make_env

    model = tmp_path / "tiny.onnx"
    onnx.save(build_zoo_model("tiny", input_size=16, width_mult=1.0, seed=0), str(model))
    (tmp_path / "alveo.yaml").write_text(ALVEO_PAIR)
    plan = {"schema": 1, "boards": [
        {"name": n, "first_layer": a, "last_layer": b,
         "layers": [{"index": i, "factors": {"pe": 2, "simd": 2}} for i in range(a, b + 1)]}
        for n, (a, b) in (("left", (0, 2)), ("right", (3, 8)))]}
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    out = tmp_path / "out"
    generate(model, tmp_path / "alveo.yaml", out, plan=tmp_path / "plan.json", quiet=True)
    chain = json.loads((out / "chain.json").read_text())
    mid = chain["links"][1]
    assert len(mid["tensors"]) == 2 and len({k for k, _ in mid["schedule"]}) == 2  # interleaved row by row
    specs = []
    for b in chain["boards"]:
        specs.append(SimpleNamespace(index=b["index"], name=b["name"], ident=b["dir"], top=b["top"],
                                     link_in=_link_spec(chain["links"][b["link_in"]]),
                                     link_out=_link_spec(chain["links"][b["link_out"]])))
    xrt = [SimpleNamespace(runtime="xrt")]
    env = make_env()
    # The host feeds board 'right' over link 1 (two tensors) ...
    feeds = tmp_path / "feeds"
    feeds.mkdir()
    (feeds / "right").symlink_to(out / "right", target_is_directory=True)
    [h] = hostprog.write_hosts(env, feeds, specs[1:], chain["boards"][1:], xrt)
    assert h["feeds"] and h["collects"]
    exe = _make(feeds / h["dir"])
    vec = (out / "right" / "vectors" / "link_in.frames").read_bytes()
    st = framefile.decode_file(out / "right" / "vectors" / "link_in.frames", dst=mid["dst_id"],
                               width_bits=mid["width_bits"])
    files = []
    for t in mid["tensors"]:
        f = tmp_path / f"{t['ident']}.npy"
        np.save(f, framefile.hwc_to_chw(st.payload[t["id"]], tuple(t["shape"]), t["signed"]))
        files.append(str(f))
    dump = tmp_path / "mid.frames"
    p = _run(exe, "--input", ",".join(files), "--dump-frames", dump)
    assert p.returncode == 3, (p.stdout, p.stderr)
    assert dump.read_bytes() == vec
    beats, last = framefile.split_beats(vec, mid["width_bits"])
    assert f"framed 1 image(s): {len(mid['schedule'])} frames, {len(beats)} beats" in p.stdout
    p = _run(exe, "--input", files[0])
    assert p.returncode == 2 and "--input wants 2 .npy file(s), one per tensor of link 0" in p.stderr, p.stderr
    # ... or drives board 'left' alone and collects its two tensors (one .npy each).
    collects = tmp_path / "collects"
    collects.mkdir()
    (collects / "left").symlink_to(out / "left", target_is_directory=True)
    [h] = hostprog.write_hosts(env, collects, specs[:1], chain["boards"][:1], xrt)
    src = (collects / h["dir"] / "host.cpp").read_text()
    assert "N_OUT = 2;" in src and "output_file(args.output, t)" in src
    exe = _make(collects / h["dir"])
    p = _run(exe, "--input", out / "input.npy")
    assert p.returncode == 3 and p.stderr.startswith("asymap_host: XRT: "), p.stderr


def test_every_memory_argument_is_served_by_the_host_the_link_and_the_rtl_harness(trees):
    """Each m_axi argument of a board's top (wmem, wpre) has its image loaded and passed by the host
    program (XRT boards), a bank in connectivity.cfg (Vitis) or a memory-interconnect port in the
    block design (Vivado flow), and its own memory in the RTL harness (dut.json), with the port and
    image the top names; a board whose top has none has none anywhere."""
    from asymap.codegen.deploy import top_ports

    seen = set()
    for key, out in trees.items():
        chain = json.loads((out / "chain.json").read_text())
        for b in chain["boards"]:
            d = out / b["dir"]
            ports = top_ports((d / "top.cpp").read_text())
            args = {a: ports[f"arg:{a}"] for a in ("wmem", "wpre") if f"arg:{a}" in ports}
            assert set(args) == {a for a in ("wmem", "wpre") if b["files"].get(a)}, b["dir"]
            dut = json.loads((d / "cocotb" / "dut.json").read_text())
            assert {m["arg"]: m["prefix"] for m in dut["memories"]} == args, b["dir"]
            assert all((d / "cocotb" / m["file"]).resolve() == (d / b["files"][m["arg"]]).resolve()
                       for m in dut["memories"])
            deploy = json.loads((d / "deploy.json").read_text())
            if deploy["flow"] == "vitis":
                cfg = (d / "connectivity.cfg").read_text()
                assert set(re.findall(rf"^sp={b['top']}_1\.(\w+):", cfg, re.M)) == set(args), (b["dir"], cfg)
            elif deploy["flow"] == "vivado":
                tcl = (d / "bd" / "block_design.tcl").read_text()
                got = re.findall(rf"connect_bd_intf_net \[get_bd_intf_pins {b['top']}_0/(m_axi_\w+)\] "
                                 r"\[get_bd_intf_pins mem_sc/S\d+_AXI\]", tcl)
                assert sorted(got) == sorted(args.values()), (b["dir"], got)
            if deploy["runtime"] in ("xrt", "xrt-edge"):
                host = next(h for h in chain["deploy"]["hosts"] if b["dir"] in h["stations"])
                src = (out / host["dir"] / "host.cpp").read_text()
                row = next(ln for ln in src.splitlines() if ln.lstrip().startswith(f'{{"{b["dir"]}", '))
                assert sorted(re.findall(r'"weights/(\w+)\.bin"', row)) == sorted(args), row
            seen.add((deploy["flow"], tuple(sorted(args))))
    assert ("vitis", ("wmem", "wpre")) in seen and ("vivado", ()) in seen and ("vitis", ()) in seen, seen
