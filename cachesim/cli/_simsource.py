"""Options shared by ``cachesim simulate`` and ``cachesim mrc``: where the requests come from.

Imports nothing heavy at module level: numpy and pandas load only when a
command runs.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cachesim.sim.workload import Workload

__all__ = [
    "DEFAULT_KEYS",
    "DEFAULT_REQUESTS",
    "add_source_arguments",
    "load_source",
    "parse_capacity",
]

DEFAULT_KEYS = 10_000
DEFAULT_REQUESTS = 1_000_000
_WORKLOADS = (
    "zipf",
    "scrambled-zipf",
    "uniform",
    "hotspot",
    "loop",
    "scan",
    "shifting-hotset",
)


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """``--trace``/``--format`` (+ CSV column mapping) or ``--workload`` and its knobs."""
    source = parser.add_argument_group("requests (a trace file, or a synthetic workload)")
    source.add_argument("--trace", metavar="PATH", help="trace file (.gz/.xz/.zst allowed)")
    source.add_argument(
        "--format",
        metavar="F",
        help="csv, parquet, txt, lis, oracleGeneral, int32be, uint32be, int64be "
        "(default: from the file name)",
    )
    source.add_argument("--key-col", type=int, metavar="N", help="CSV key column (1-based)")
    source.add_argument("--time-col", type=int, metavar="N", help="CSV time column (1-based)")
    source.add_argument("--size-col", type=int, metavar="N", help="CSV size column (1-based)")
    source.add_argument("--op-col", type=int, metavar="N", help="CSV operation column (1-based)")
    source.add_argument("--ttl-col", type=int, metavar="N", help="CSV TTL column (1-based)")
    source.add_argument("--no-header", action="store_true", help="the CSV has no header line")
    source.add_argument("--delimiter", default=",", help="CSV delimiter (default: ',')")
    source.add_argument("--limit", type=int, metavar="N", help="read at most N requests")
    source.add_argument(
        "--workload",
        choices=_WORKLOADS,
        help="synthetic workload when no --trace is given (default: zipf)",
    )
    source.add_argument(
        "--keys", type=int, default=DEFAULT_KEYS, help=f"distinct keys (default {DEFAULT_KEYS:,})"
    )
    source.add_argument(
        "--requests",
        type=int,
        default=DEFAULT_REQUESTS,
        help=f"requests (default {DEFAULT_REQUESTS:,})",
    )
    source.add_argument("--alpha", type=float, default=0.99, help="Zipf skew (default 0.99)")
    source.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    source.add_argument(
        "--write-ratio",
        type=float,
        default=0.0,
        help="share of requests that are writes invalidating the key (default 0)",
    )


def load_source(args: argparse.Namespace) -> Workload:
    """The workload the parsed options describe (reads the trace or generates requests)."""
    from cachesim.sim.traces import load_trace
    from cachesim.sim.workload import GENERATORS, with_writes

    if args.trace:
        if args.workload:
            raise SystemExit("cachesim: give --trace or --workload, not both")
        workload = load_trace(
            args.trace,
            args.format,
            key_col=args.key_col,
            time_col=args.time_col,
            size_col=args.size_col,
            op_col=args.op_col,
            ttl_col=args.ttl_col,
            has_header=(False if args.no_header else None) if args.key_col else None,
            delimiter=args.delimiter,
            limit=args.limit,
        )
    else:
        if args.keys < 1 or args.requests < 0:
            raise SystemExit("cachesim: --keys must be >= 1 and --requests >= 0")
        workload = GENERATORS[args.workload or "zipf"](
            args.keys, args.requests, args.alpha, args.seed
        )
    if args.write_ratio:
        workload = with_writes(workload, args.write_ratio, seed=args.seed)
    return workload


def parse_capacity(text: str) -> float | None:
    """``1000`` (entries), ``0.1`` (share of the working set) or ``none``/``inf`` (unbounded)."""
    if text.strip().lower() in ("none", "inf", "unbounded"):
        return None
    value = float(text.replace("_", ""))
    if value.is_integer():
        return int(value)
    return value
