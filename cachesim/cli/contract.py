"""Run the provider contract suite against a provider.

SPEC is memory, fakeredis, redis (REDIS_URL), upstash (UPSTASH_REDIS_REST_URL and
UPSTASH_REDIS_REST_TOKEN), memcached (MEMCACHED_URL), sqlite (SQLITE_PATH) or
package.module:factory. Arguments after SPEC go to
pytest unchanged (for example -k ttl, -x, -q). The run uses the suite's own pytest
configuration, so the settings of the project it is started in do not apply.
Equivalent to: pytest --pyargs cachesim.contract --cache-provider SPEC
"""

from __future__ import annotations

import argparse
from importlib import resources

__all__ = ["EXAMPLES", "add_arguments", "build_argv", "run"]

EXAMPLES = """\
examples:
  cachesim contract memory --profile smoke
  cachesim contract fakeredis --report conformance.json -x -q
  cachesim contract memory -k ttl
"""


def _add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--report",
        metavar="PATH",
        help="write the conformance report to PATH (JSON) and PATH with .md (Markdown)",
    )
    parser.add_argument(
        "--profile",
        choices=("full", "smoke", "quick", "thorough"),
        default="full",
        help="smoke: one cheap test per clause (for metered backends such as Upstash); "
        "quick: fail-fast runs without shrinking; thorough: nightly (larger model-based run)",
    )
    parser.add_argument(
        "--examples", type=int, metavar="N", help="Hypothesis examples of the model-based test"
    )
    parser.add_argument(
        "--deviations",
        metavar="FILE",
        action="append",
        help="JSON file of known deviations (test id -> reason); repeatable",
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        metavar="F",
        help="stretch real-time TTLs and waits by F (slow networks)",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``cachesim contract`` (they may also follow SPEC)."""
    _add_options(parser)
    parser.add_argument("spec", metavar="SPEC", help="the provider to check")
    parser.add_argument(
        "pytest_args",
        nargs=argparse.REMAINDER,
        metavar="PYTEST_ARGS",
        help="further arguments for pytest",
    )


def build_argv(args: argparse.Namespace) -> list[str]:
    """The pytest command line for ``args``."""
    late = argparse.ArgumentParser(add_help=False)
    _add_options(late)
    args, extra = late.parse_known_args(list(args.pytest_args or []), namespace=args)
    ini = resources.files("cachesim.contract").joinpath("contract.ini")
    argv = [
        "-c",
        str(ini),
        "-p",
        "no:cacheprovider",
        "--pyargs",
        "cachesim.contract",
        "--cache-provider",
        args.spec,
        "--contract-profile",
        args.profile,
    ]
    if args.report:
        argv += ["--contract-report", args.report]
    if args.examples is not None:
        argv += ["--contract-examples", str(args.examples)]
    for path in args.deviations or []:
        argv += ["--contract-deviations", path]
    if args.time_scale is not None:
        argv += ["--contract-time-scale", str(args.time_scale)]
    if extra[:1] == ["--"]:
        extra = extra[1:]
    return argv + extra


def run(args: argparse.Namespace) -> int:
    """Run pytest in this process and return its exit code.

    Like ``python -m pytest``, the current directory is importable, so a
    ``package.module:factory`` next to you works without PYTHONPATH. Other pytest
    plugins are not auto-loaded (the suite's own run, isolated from the host
    project; add one with ``-p NAME``), which also keeps pytest from marking the
    already imported cachesim package for assertion rewriting.
    """
    import os
    import sys

    import pytest

    here = os.getcwd()
    if here not in sys.path:
        sys.path.insert(0, here)
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return int(pytest.main(["-p", "cachesim.contract.plugin", *build_argv(args)]))
