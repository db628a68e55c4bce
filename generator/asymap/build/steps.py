"""What each build step runs in a board's project directory, and what it needs.

The commands follow the two ways Vitis builds an HLS kernel:
  * the unified flow (Vitis >= 2023.2): ``v++ -c --mode hls --config hls_config.cfg`` synthesizes
    into a component work directory, ``vitis-run --mode hls --cosim|--package`` continues from it;
  * the classic Tcl flow (``--tcl``): ``vitis_hls -f run_hls.tcl`` with the steps to run in
    ``$ASYMAP_HLS_STEPS`` (the generated run_hls.tcl reads it, see docs/generated-project.md).
``link`` builds the board's xclbin with ``v++ --link`` and the board's ``connectivity.cfg`` on the
board's platform. ``csim`` needs only make and g++: it runs the project's own ``make csim``.

A board written with deployment data (``deploy.json``, asymap.codegen.deploy) gets its family's
flow, possibly several commands per step (see :func:`step_commands`): on the Vitis flow the data
movers are synthesized and packaged beside the kernel, ``export`` also packages the link transport
RTL kernels with Vivado, and ``link`` passes every ``.xo`` the connectivity names (a physical board that carries several
chain entries is linked once, by its first station, with the other stations' ``.xo`` files, and the
other stations' ``link`` runs nothing); on the Vivado IP
flow ``export`` writes the IP-catalog package and ``link`` runs the generated block design through
implementation to a bitstream.

Every command runs with the board directory as working directory and only relative paths, so the
same command works locally and on a Slurm compute node that sees the tree at another mount point.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from asymap.errors import UserError

STEPS = ("csim", "csynth", "cosim", "export", "link")

# Source files whose change makes a step's earlier success stale (see ``input_files``).
_SOURCE_SUFFIXES = {".cpp", ".cc", ".h", ".hpp", ".cfg", ".tcl", ".bin", ".dat", ".npy", ".txt", ".json",
                    ".v", ".vh", ".xml", ".xdc", ".frames"}
_NOT_INPUT_DIRS = {"logs", "build", "_x"}
# Tool work directories inside a board project, at any depth: hls_<component> (v++ --work_dir),
# prj_<name> (vitis_hls projects, Vivado projects under transport/ and bd/).
_WORK_PREFIXES = ("hls_", "prj_", ".")


def work_dir(board_dir: Path) -> str:
    """The v++ component directory of a board, as named in its generated hls_config.cfg."""
    return f"hls_{board_dir.name}"


def _ap_types_env() -> tuple[tuple[str, str], ...]:
    """csim's Makefile needs the ap_types headers; hand it the same directory asymap verify uses,
    so ``make csim`` works even when ``python3`` on PATH has no hls4ml."""
    if os.environ.get("AP_TYPES_INC"):
        return ()
    try:
        from asymap.codegen.hlsinc import ap_types_dir

        return (("AP_TYPES_INC", str(ap_types_dir())),)
    except Exception:  # noqa: BLE001 - no headers found: let the Makefile explain
        return ()


@dataclass(frozen=True)
class StepCommand:
    argv: list[str]  # argv[0] is a tool name; the runner swaps in the resolved path
    tools: list[str]  # every tool that must exist for the step
    env: tuple[tuple[str, str], ...] = ()  # extra environment, passed through env(1) so it survives sbatch

    def full_argv(self, tool_path: str | None = None) -> list[str]:
        """The argv that really runs: ``env K=V ... TOOL ARGS`` (tool resolved when given)."""
        head = [tool_path or self.argv[0], *self.argv[1:]]
        return ["env", *[f"{k}={v}" for k, v in self.env], *head] if self.env else head


def step_command(step: str, top: str, board_dir: Path, tcl: bool = False, platform: str | None = None) -> StepCommand:
    """The command one board runs for ``step`` (tool names unresolved)."""
    wd = work_dir(board_dir)
    if step == "csim":
        return StepCommand(["make", "csim"], ["make", "g++"], _ap_types_env())
    if step == "csynth":
        if tcl:
            return StepCommand(["vitis_hls", "-f", "run_hls.tcl"], ["vitis_hls"], (("ASYMAP_HLS_STEPS", "csynth"),))
        return StepCommand(["v++", "-c", "--mode", "hls", "--config", "hls_config.cfg", "--work_dir", wd], ["v++"])
    if step in ("cosim", "export"):
        if tcl:
            return StepCommand(["vitis_hls", "-f", "run_hls.tcl"], ["vitis_hls"], (("ASYMAP_HLS_STEPS", step),))
        flag = "--cosim" if step == "cosim" else "--package"
        return StepCommand(
            ["vitis-run", "--mode", "hls", flag, "--config", "hls_config.cfg", "--work_dir", wd], ["vitis-run"]
        )
    if step == "link":
        if not platform:
            raise UserError("step 'link' needs the target platform; pass --platform /path/to/platform.xpfm")
        return StepCommand(
            ["v++", "--link", "--target", "hw", "--platform", platform, "--config", "connectivity.cfg",
             "-o", f"{board_dir.name}.xclbin", f"{top}.xo" if tcl else f"{wd}/{top}.xo"],
            ["v++"],
        )
    raise UserError(f"unknown step {step!r}; choose one of {', '.join(STEPS)}")


def read_deploy(board_dir: Path) -> dict | None:
    """The board's deploy.json (None for trees written before deployment data existed)."""
    from asymap.util.fileio import read_json_object

    p = board_dir / "deploy.json"
    return read_json_object(p, "re-run asymap generate") if p.is_file() else None


def platform_for(board: str, deploy: dict | None, platforms: dict[str, str] | None) -> str | None:
    """``--platform BOARD=P`` beats ``--platform P`` beats the board library / cluster YAML's platform."""
    platforms = platforms or {}
    if board in platforms:
        if deploy is not None and deploy.get("flow") == "vivado":
            raise UserError(f"--platform {board}=...: board {board!r} takes the Vivado IP flow "
                            f"(board part {deploy.get('board_part')}); a Vitis platform does not apply")
        return platforms[board]
    if deploy is not None and deploy.get("flow") == "vivado":
        return None
    return platforms.get("*") or (deploy or {}).get("platform")


def step_commands(step: str, top: str, board_dir: Path, tcl: bool = False,
                  platforms: dict[str, str] | None = None, board: str | None = None) -> list[StepCommand]:
    """Every command one board runs for ``step``, in order (tool names unresolved)."""
    deploy = read_deploy(board_dir)
    name = board or board_dir.name
    platform = platform_for(name, deploy, platforms)
    if deploy is None or deploy.get("flow") not in ("vitis", "vivado"):
        return [step_command(step, top, board_dir, tcl=tcl, platform=platform)]
    movers = (deploy.get("movers") or []) + (deploy.get("hls_kernels") or [])  # + the SLR kernels beside the top
    if step in ("csim", "cosim"):
        return [step_command(step, top, board_dir, tcl=tcl)]
    if step == "csynth":
        return [step_command(step, top, board_dir, tcl=tcl)] + [
            StepCommand(["v++", "-c", "--mode", "hls", "--config", m["config"], "--work_dir", m["work_dir"]], ["v++"])
            for m in movers]
    if step == "export":
        cmds = [step_command(step, top, board_dir, tcl=tcl)] + [
            StepCommand(["vitis-run", "--mode", "hls", "--package", "--config", m["config"], "--work_dir", m["work_dir"]],
                        ["vitis-run"]) for m in movers]
        cmds += [StepCommand(["vivado", "-mode", "batch", "-nojournal", "-source", f"transport/package_{k['kernel']}.tcl"],
                             ["vivado"]) for k in deploy.get("kernels", []) if k.get("origin") == "rtl"]
        return cmds
    if step == "link":
        if deploy.get("linked_by"):  # another station of this FPGA links the one xclbin with this one's kernels
            return []
        if deploy.get("unconnected"):
            raise UserError(f"step 'link' of board {name!r}: {', '.join(deploy['unconnected'])} have no link transport "
                            f"(see the notes in {board_dir / 'deploy.json'}); give the board a link it has a cage for, "
                            "or leave it out with --board")
        if deploy["flow"] == "vivado":
            return [StepCommand(["vivado", "-mode", "batch", "-nojournal", "-source", "bd/block_design.tcl"], ["vivado"])]
        if not platform:
            raise UserError(f"step 'link' of board {name!r} needs a Vitis platform; pass --platform {name}=PLATFORM")
        xos = [_link_xo(k, top, tcl) for k in deploy.get("kernels", [])]
        return [StepCommand(["v++", "--link", "--target", "hw", "--platform", platform, "--config", "connectivity.cfg",
                             "-o", f"{board_dir.name}.xclbin", *xos], ["v++"])]
    raise UserError(f"unknown step {step!r}; choose one of {', '.join(STEPS)}")


def _link_xo(k: dict, top: str, tcl: bool) -> str:
    """The .xo of one kernel as the link step passes it, relative to the linking directory: kernels
    of another station of the same FPGA (``dir``) come from that station's directory; with ``--tcl``
    an HLS top's .xo is the one run_hls.tcl exports next to it."""
    base = f"../{k['dir']}/" if k.get("dir") else ""
    if tcl and k.get("origin") == "hls" and not k["kernel"].startswith("asymap_") and (k.get("dir") or k["kernel"] == top):
        return f"{base}{k['kernel']}.xo"
    return k["artifact"]


def stamp_path(board_dir: Path, step: str) -> Path:
    """Written when ``step`` succeeded for the board; its mtime is the step's output time."""
    return board_dir / ".build" / f"{step}.ok"


def input_files(board_dir: Path) -> list[Path]:
    """The board's source files (code, configs, weights, test vectors), skipping logs, build state
    and the tools' own work directories, which a later step writes into."""
    out = []
    for p in board_dir.rglob("*"):
        rel = p.relative_to(board_dir)
        if len(rel.parts) > 1 and (rel.parts[0] in _NOT_INPUT_DIRS
                                    or any(part.startswith(_WORK_PREFIXES) for part in rel.parts[:-1])):
            continue
        if p.is_file() and (p.suffix in _SOURCE_SUFFIXES or p.name == "Makefile"):
            out.append(p)
    return out


def is_up_to_date(board_dir: Path, step: str) -> bool:
    """True when the step's success stamp is newer than every input of the board (for ``link``,
    also of the other chain entries on the same FPGA whose kernels the link takes)."""
    stamp = stamp_path(board_dir, step)
    if not stamp.is_file():
        return False
    t = stamp.stat().st_mtime
    dirs = [board_dir]
    if step == "link":
        deploy = read_deploy(board_dir) or {}
        dirs += sorted({board_dir.parent / k["dir"] for k in deploy.get("kernels", []) if k.get("dir")})
    return all(p.stat().st_mtime <= t for d in dirs for p in input_files(d))
