"""The RTL itself: `verilator --lint-only -Wall` is clean and yosys `synth` succeeds, per block and
for rendered glue tops. Run when the tools are installed (scripts/test installs them)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from asymap.codegen.rtl_glue import RTL_DIR, render_link_glue, rtl_sources

# The glue's blocks plus asymap_xport (both directions of a link, the deployed transport kernel's
# logic), asymap_ufc_credit (its credit channel over Aurora UFC) and asymap_cmac_credit (data and
# credit packets over 100G Ethernet).
# asymap_axis_fifo and asymap_axis_slice join a split board's SLR kernels in `verify --rtl`
# (asymap.verify.slr_sim): the stream_connect FIFO and the SLR-crossing register slices.
SOURCES = rtl_sources() + [RTL_DIR / "asymap_xport.v", RTL_DIR / "asymap_ufc_credit.v", RTL_DIR / "asymap_cmac_credit.v",
                           RTL_DIR / "asymap_axis_fifo.v", RTL_DIR / "asymap_axis_slice.v"]
BLOCKS = [p.stem for p in SOURCES]
need_verilator = pytest.mark.skipif(shutil.which("verilator") is None and not os.environ.get("CI"), reason="verilator not installed")
need_yosys = pytest.mark.skipif(shutil.which("yosys") is None and not os.environ.get("CI"), reason="yosys not installed")

# Non-default parameters that reach the other branches of the generate blocks.
LINT_PARAMS = {
    "asymap_async_fifo": [[], ["-GBLOCK=1"], ["-GBLOCK=1", "-GADDR_W=10", "-GDATA_W=577"]],
    "asymap_axis_width": [[], ["-GS_W=512", "-GM_W=64"], ["-GS_W=64", "-GM_W=64"], ["-GS_W=8", "-GM_W=64"]],
    "asymap_bridge_tx": [[], ["-GKW=512", "-GLW=64"], ["-GKW=64", "-GLW=512"], ["-GKW=128", "-GLW=64", "-GRX_PACK=2"]],
    "asymap_bridge_rx": [[], ["-GKW=512", "-GLW=64"], ["-GKW=64", "-GLW=512"]],
    "asymap_xport": [[], ["-GKW=512", "-GCW=64"], ["-GKW=64", "-GCW=512"], ["-GKW=512", "-GCW=512"],
                     ["-GKW=64", "-GCW=512", "-GKW_RX=512", "-GFAR_ADDR_W=8"]],  # both directions, two widths
    "asymap_cmac_credit": [[], ["-GPKT_ADDR_W=4", "-GSPACING=4", "-GKEEPALIVE=64"]],
    "asymap_axis_fifo": [[], ["-GDEPTH=2", "-GDATA_W=8"], ["-GDEPTH=36"], ["-GDEPTH=3"]],
    "asymap_axis_slice": [[], ["-GSTAGES=0"], ["-GSTAGES=6", "-GDATA_W=577"]],
}
# Small memories so generic synthesis (flip-flops, no block RAM) stays quick.
SYNTH_PARAMS = {"asymap_bridge_rx": {"RX_ADDR_W": 4}, "asymap_async_fifo": {"ADDR_W": 3},
                "asymap_bridge_tx": {"FIFO_ADDR_W": 3}, "asymap_xport": {"RX_ADDR_W": 4, "FIFO_ADDR_W": 3},
                "asymap_cmac_credit": {"PKT_ADDR_W": 3}, "asymap_axis_fifo": {"DEPTH": 5},
                "asymap_axis_slice": {"STAGES": 2}}


def _lint(files, top, extra=()):
    proc = subprocess.run(["verilator", "--lint-only", "-Wall", f"-I{RTL_DIR}", "--top-module", top,
                           *extra, *map(str, files)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "%Warning" not in proc.stderr, proc.stderr


@need_verilator
@pytest.mark.parametrize("block", BLOCKS)
def test_verilator_lint_block(block):
    for params in LINT_PARAMS.get(block, [[]]):
        _lint(SOURCES, block, params)


@need_verilator
@pytest.mark.parametrize("kw,lw", [(64, 64), (64, 512), (512, 64)])
def test_verilator_lint_rendered_glue(tmp_path, kw, lw):
    glue = tmp_path / "link_b0_b1.v"
    glue.write_text(render_link_glue("b0", "b1", kernel_width_bits=kw, link_width_bits=lw, kernel_clock_mhz=300.0,
                                     link_gbps=25.0, link_latency_ns=100.0))
    for half in ("tx", "rx"):
        # One generated file holds both halves, so its name cannot match both module names.
        _lint(rtl_sources() + [glue], f"link_b0_b1_{half}", ["-Wno-DECLFILENAME"])


@need_yosys
@pytest.mark.parametrize("block", BLOCKS)
def test_yosys_synth_block(tmp_path, block):
    chparams = "".join(f"chparam -set {k} {v} {block}; " for k, v in SYNTH_PARAMS.get(block, {}).items())
    reads = "".join(f"read_verilog -I{RTL_DIR} {p}; " for p in SOURCES)
    stat = tmp_path / "stat.txt"
    proc = subprocess.run(["yosys", "-q", "-p", f"{reads}{chparams}synth -top {block}; tee -o {stat} stat"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = stat.read_text()
    assert "Number of cells" in report, report[-2000:]


@need_yosys
@pytest.mark.parametrize("kw,rx_addr_w,kind,count", [
    (512, 10, "RAMB18E2", 2 * 17),     # CMAC entries, 1,024 deep: 17 BRAM36 (= 2 x 17 RAMB18E2 at most)
    (64, 10, "RAM64M8", 16 * 11),      # Aurora entries (73 bits), 1,024 deep: 16 banks x 11 RAM64M8
])
def test_credit_buffer_memory_is_what_the_model_charges(tmp_path, kw, rx_addr_w, kind, count):
    """asymap_bridge_rx's credit buffer maps (yosys synth_xilinx, UltraScale+) to the memory the cost
    model charges (costmodel.transport_ends): block RAM for 512-bit entries in more than 64 rows,
    LUT-RAM for narrower ones, and no memory of the other kind."""
    from asymap.partition import costmodel as cm

    reads = "".join(f"read_verilog -I{RTL_DIR} {RTL_DIR / n}; " for n in
                    ("asymap_async_fifo.v", "asymap_axis_width.v", "asymap_bridge_rx.v"))
    stat = tmp_path / "stat.txt"
    proc = subprocess.run(["yosys", "-q", "-p", f"{reads}chparam -set KW {kw} -set LW {kw} -set RX_ADDR_W {rx_addr_w} "
                           f"asymap_bridge_rx; synth_xilinx -family xcup -top asymap_bridge_rx; tee -o {stat} stat"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    cells = {}
    for line in stat.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            cells[parts[0]] = int(parts[1])
    gbps = 100.0 if kw >= 512 else 10.0
    _, rx = cm.transport_ends(gbps, 500.0, kw)
    bits = kw + kw // 8 + 1
    if kind == "RAMB18E2":
        assert 2 * (rx.rx_bram36 - 1) < cells.get("RAMB18E2", 0) + 2 * cells.get("RAMB36E2", 0) <= count
        assert rx.rx_bram36 == cm.bram_count(bits, 1 << rx_addr_w) and rx.rx_lut == 0
        assert not any(k.startswith("RAM64") or k.startswith("RAM32") for k in cells), cells
    else:
        assert cells.get("RAM64M8", 0) == count
        assert cm.lutram_sdp_luts(bits, 1 << rx_addr_w) == count * 8 + bits * 4
        assert not any(k.startswith("RAMB") for k in cells), cells
