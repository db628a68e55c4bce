"""Helpers shared by the RTL tests: run a cocotb module on Icarus, wrap a rendered bridge for loopback.

Every simulation builds in its own directory (a pytest tmp_path), so xdist workers never share
build products. The cocotb test modules (``tb_*.py`` beside this file) read their configuration
from the ASYMAP_TB environment variable (JSON).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:          # the simulator's Python finds tb_*.py through sys.path
    sys.path.insert(0, str(HERE))

from asymap.codegen.rtl_glue import RTL_DIR, LinkGlue  # noqa: E402

HAVE_ICARUS = shutil.which("iverilog") is not None and shutil.which("vvp") is not None


def run_cocotb(build_dir: Path, sources: list[Path], toplevel: str, module: str, *,
               config: dict | None = None, parameters: dict | None = None,
               testcase: str | list[str] | None = None) -> None:
    """Build ``sources`` with Icarus and run the cocotb tests of ``module``; fail on any failure."""
    from cocotb_tools.runner import get_runner
    from cocotb_tools.check_results import get_results

    build_dir = Path(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    runner = get_runner("icarus")
    runner.build(sources=[str(s) for s in sources], includes=[str(RTL_DIR)], hdl_toplevel=toplevel,
                 build_dir=str(build_dir), parameters=parameters or {}, timescale=("1ns", "1ps"),
                 log_file=str(build_dir / "build.log"))
    xml = build_dir / "results.xml"
    try:
        runner.test(hdl_toplevel=toplevel, test_module=module, build_dir=str(build_dir),
                    test_dir=str(build_dir), testcase=testcase,
                    extra_env={"ASYMAP_TB": json.dumps(config or {})},
                    results_xml=str(xml), log_file=str(build_dir / "sim.log"))
    except SystemExit as e:      # the runner exits on failures when it runs under pytest
        raise AssertionError(f"cocotb {module} failed (exit {e.code}):\n{_failure_excerpt(build_dir)}") from None
    ntests, nfail = get_results(xml)
    assert ntests > 0 and nfail == 0, f"cocotb {module}: {nfail} of {ntests} failed:\n{_failure_excerpt(build_dir)}"


def _failure_excerpt(build_dir: Path, lines: int = 40) -> str:
    """The end of the simulation log (assertion and counters), so a failure explains itself."""
    log = build_dir / "sim.log"
    text = log.read_text(errors="replace").splitlines() if log.exists() else ["(no sim.log)"]
    return "\n".join(text[-lines:]) + f"\n(full log: {log})"


def loopback_wrapper(glue: LinkGlue) -> str:
    """A top for the testbench: the bridge's tx and rx halves side by side, with generic port names
    (s_link_* into tx from the sending HLS kernel, m_link_* out of rx to the receiving HLS kernel).
    The link and the credit return between them are left open: the cocotb link model carries them."""
    kw, lw = glue.kernel_width_bits, glue.link_width_bits
    ports = ["input wire rst", "input wire k_tx_clk", "input wire k_rx_clk", "input wire l_clk",
             f"input wire [{kw - 1}:0] s_link_tdata", f"input wire [{kw // 8 - 1}:0] s_link_tkeep",
             "input wire s_link_tlast", "input wire s_link_tvalid", "output wire s_link_tready",
             f"output wire [{kw - 1}:0] m_link_tdata", f"output wire [{kw // 8 - 1}:0] m_link_tkeep",
             "output wire m_link_tlast", "output wire m_link_tvalid", "input wire m_link_tready",
             f"output wire [{lw - 1}:0] tx_tdata", f"output wire [{lw // 8 - 1}:0] tx_tkeep",
             "output wire tx_tlast", "output wire tx_tvalid", "input wire tx_tready",
             f"input wire [{lw - 1}:0] rx_tdata", f"input wire [{lw // 8 - 1}:0] rx_tkeep",
             "input wire rx_tlast", "input wire rx_tvalid",
             "input wire [31:0] tx_credit_tdata", "input wire tx_credit_tvalid",
             "output wire [31:0] rx_credit_tdata", "output wire rx_credit_tvalid",
             "output wire [31:0] beats_sent", "output wire credit_stall", "output wire [31:0] overflow_errors"]
    tx_conn = [".rst(rst)", f".{glue.kernel_clock}(k_tx_clk)", f".{glue.link_clock}(l_clk)",
               ".s_axis_link_tdata(s_link_tdata)", ".s_axis_link_tkeep(s_link_tkeep)",
               ".s_axis_link_tlast(s_link_tlast)", ".s_axis_link_tvalid(s_link_tvalid)",
               ".s_axis_link_tready(s_link_tready)", ".m_axis_tx_tdata(tx_tdata)", ".m_axis_tx_tkeep(tx_tkeep)",
               ".m_axis_tx_tlast(tx_tlast)", ".m_axis_tx_tvalid(tx_tvalid)", ".m_axis_tx_tready(tx_tready)",
               ".s_axis_credit_tdata(tx_credit_tdata)", ".s_axis_credit_tvalid(tx_credit_tvalid)",
               ".s_axis_credit_tready()", ".beats_sent(beats_sent)", ".credit_stall(credit_stall)"]
    rx_conn = [".rst(rst)", f".{glue.kernel_clock}(k_rx_clk)", f".{glue.link_clock}(l_clk)",
               ".s_axis_rx_tdata(rx_tdata)", ".s_axis_rx_tkeep(rx_tkeep)", ".s_axis_rx_tlast(rx_tlast)",
               ".s_axis_rx_tvalid(rx_tvalid)", ".s_axis_rx_tready()",
               ".m_axis_link_tdata(m_link_tdata)", ".m_axis_link_tkeep(m_link_tkeep)",
               ".m_axis_link_tlast(m_link_tlast)", ".m_axis_link_tvalid(m_link_tvalid)",
               ".m_axis_link_tready(m_link_tready)", ".m_axis_credit_tdata(rx_credit_tdata)",
               ".m_axis_credit_tvalid(rx_credit_tvalid)", ".m_axis_credit_tready(1'b1)",
               ".overflow_errors(overflow_errors)"]
    sep = ",\n    "
    return (f"`timescale 1ns/1ps\nmodule tb_loopback (\n    {sep.join(ports)}\n);\n"
            f"  {glue.module}_tx u_tx (\n    {sep.join(tx_conn)}\n  );\n"
            f"  {glue.module}_rx u_rx (\n    {sep.join(rx_conn)}\n  );\nendmodule\n")
