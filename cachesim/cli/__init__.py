"""The ``cachesim`` command.

Each subcommand lives in its own module under :mod:`cachesim.cli` and exposes
``add_arguments(parser)`` and ``run(args) -> int``; modules are imported only when
their subcommand runs, so ``cachesim check`` needs no simulator dependencies.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from collections.abc import Sequence

__all__ = ["COMMANDS", "EXAMPLES", "main"]

EXAMPLES = """\
examples:
  cachesim simulate --trace web07 --capacity 0.05 --policy lru,s3fifo,opt
  cachesim check fakeredis
  cachesim contract memory --profile smoke
"""

#: subcommand -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("cachesim.cli.check", "build the configured provider and round-trip every operation"),
    "simulate": (
        "cachesim.cli.simulate",
        "replay a trace or synthetic workload and report hit ratio",
    ),
    "mrc": ("cachesim.cli.mrc", "compute a miss-ratio curve (hit ratio per capacity)"),
    "gateway": ("cachesim.cli.gateway", "run a local Upstash-REST-compatible gateway"),
    "contract": ("cachesim.cli.contract", "run the provider contract suite against a provider"),
}


#: subcommand -> the extra that installs its optional dependencies
EXTRAS: dict[str, str] = {
    "simulate": "sim",
    "mrc": "sim",
    "gateway": "gateway",
    "contract": "contract",
}


def _available() -> dict[str, tuple[str, str]]:
    found = {}
    for name, (module, help_text) in COMMANDS.items():
        if importlib.util.find_spec(module) is not None:
            found[name] = (module, help_text)
    return found


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every available subcommand."""
    parser = argparse.ArgumentParser(
        prog="cachesim",
        description="Provider-agnostic cache layer, provider contract suite and cache simulator. "
        "Run 'cachesim COMMAND --help' for a command's options and examples.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from cachesim import __version__

    parser.add_argument("--version", action="version", version=f"cachesim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in _available().items():
        module = importlib.import_module(module_name)
        command = sub.add_parser(
            name,
            help=help_text,
            description=module.__doc__,
            epilog=getattr(module, "EXAMPLES", None),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(command)
        command.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``cachesim`` console script."""
    try:
        code = _main(argv)
        sys.stdout.flush()  # a closed pipe shows here, not as a traceback at exit
    except BrokenPipeError:
        return _reader_went_away()
    return code


def _reader_went_away() -> int:
    """``cachesim ... | head``: the reader closed the pipe; stop quietly, as Unix tools do.

    Further writes (and the interpreter's final flush) go to /dev/null; the exit code
    is the shell's for a process stopped by SIGPIPE (128 + 13).
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 141


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args._run(args))
    except KeyboardInterrupt:
        return 130
    except ModuleNotFoundError as exc:
        extra = EXTRAS.get(args.command)
        if extra is None or exc.name is None or exc.name.startswith("cachesim"):
            raise
        print(
            f"cachesim {args.command} needs {exc.name!r}, which is not installed: "
            f"pip install 'cachesim[{extra}]'",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
