"""The ``asymap`` command: argument parsing only.

Each subcommand lives in ``asymap/commands/<name>.py`` and exposes ``HELP`` (one line),
``EXAMPLE`` (shown by ``--help``), ``add_arguments(parser)`` and ``run(args) -> int``; the work is
done by library functions that tests call directly. A :class:`~asymap.errors.UserError` becomes one
line on stderr and exit code 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from asymap import __version__
from asymap.errors import UserError

# Order is the order of the flow, and of ``asymap --help``.
COMMANDS = ["zoo", "inspect", "reference", "boards", "clusters", "plan", "generate", "verify", "build", "compare", "report", "run"]


# The same meaning on every command (docs/user-guide.md, "Output conventions").
QUIET_HELP = "no progress or status lines on stderr (errors still); the result on stdout stays"
JSON_HELP = "print the result as one JSON document on stdout (progress, if any, stays on stderr)"


def _load(name: str):
    return importlib.import_module(f"asymap.commands.{name}")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; with ``only``, every other command is an empty stub (its module, and
    what it imports, is not loaded: ``asymap plan`` need not import the model zoo)."""
    parser = argparse.ArgumentParser(
        prog="asymap",
        description="Map a CNN (ONNX) onto a cluster of asymmetric FPGAs and generate per-board HLS projects.",
        epilog="Run 'asymap COMMAND --help' for a command's options and an example.",
    )
    parser.add_argument("--version", action="version", version=f"asymap {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        if only is not None and name != only:
            sub.add_parser(name)
            continue
        mod = _load(name)
        p = sub.add_parser(
            name,
            help=mod.HELP,
            description=mod.HELP,
            epilog=f"example:\n  {mod.EXAMPLE}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.add_argument("-q", "--quiet", action="store_true", help=QUIET_HELP)
        mod.add_arguments(p)
        if not any("--json" in a.option_strings for a in p._actions):
            p.add_argument("--json", action="store_true", help=JSON_HELP)
        p.set_defaults(_run=mod.run)
    return parser




def _command_of(argv: list[str]) -> str | None:
    """The command named on the command line, if nothing before it asks for the overall help."""
    for a in argv:
        if a in ("-h", "--help") or a.startswith("--v"):
            return None
        if not a.startswith("-"):
            return a if a in COMMANDS else None
    return None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser(_command_of(sys.argv[1:] if argv is None else argv))
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except BrokenPipeError:  # an OSError too, but the reader went away: not an error of ours
        return 0
    except UserError as exc:
        print(f"asymap {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # a file-system fault (full disk, read-only, a directory in the way)
        from asymap.util.fileio import describe_os_error

        print(f"asymap {args.command}: error: {describe_os_error(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"asymap {args.command}: interrupted", file=sys.stderr)
        return 130


def entry() -> None:
    """The console script (``asymap``): ``main``, then exit without the interpreter's last
    garbage collections. Why: a plan leaves ~200 MB of tables and memos, and the collections at
    shutdown walk every object once more (~0.07 s of ResNet-152's ``asymap plan``); frozen objects
    are skipped. Objects are still freed and atexit handlers still run (unlike ``os._exit``).
    Not in ``main``: tests call it in one process many times."""
    import gc

    rc = main()
    gc.freeze()
    sys.exit(rc)


if __name__ == "__main__":
    entry()
