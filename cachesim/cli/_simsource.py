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
    "DEFAULT_RATE",
    "DEFAULT_REQUESTS",
    "add_source_arguments",
    "load_source",
    "parse_capacity",
]

DEFAULT_KEYS = 10_000
DEFAULT_REQUESTS = 1_000_000
#: requests per second given to requests without timestamps: a modest web service
DEFAULT_RATE = 100.0
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
    source.add_argument(
        "--trace",
        metavar="PATH|NAME",
        help="trace file (.gz/.xz/.zst allowed), or the name of a trace shipped with "
        "cachesim: oltp, web07, web12 (see cachesim.sim.datasets)",
    )
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
        "--rate",
        type=float,
        metavar="R",
        help="requests per second (Poisson arrivals) for requests without timestamps: "
        "synthetic workloads and key-only traces; sets how long a TTL lasts in requests "
        f"(default {DEFAULT_RATE:g}; traces with timestamps keep theirs)",
    )
    source.add_argument(
        "--write-ratio",
        type=float,
        default=0.0,
        help="share of requests that are writes invalidating the key (default 0)",
    )


def load_source(args: argparse.Namespace) -> Workload:
    """The workload the parsed options describe (reads the trace or generates requests)."""
    from cachesim.sim.traces import load_trace
    from cachesim.sim.workload import GENERATORS

    if args.trace:
        if args.workload:
            raise SystemExit("cachesim: give --trace or --workload, not both")
        shipped = _shipped(args.trace)
        if shipped is not None:
            from cachesim.sim import datasets

            return _finish(datasets.load(shipped, limit=args.limit), args)
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
    return _finish(workload, args)


def _shipped(trace: str) -> str | None:
    """The dataset name ``trace`` stands for, when it is one and no such file exists."""
    from pathlib import Path

    from cachesim.sim import datasets

    if Path(trace).exists() or trace.strip().lower() not in datasets.names():
        return None
    return trace.strip().lower()


def _finish(workload: Workload, args: argparse.Namespace) -> Workload:
    """Apply the options that transform any source: request rate, then writes."""
    from cachesim.sim.workload import with_rate, with_writes

    if args.rate is not None and not (args.rate > 0 and args.rate < float("inf")):
        raise SystemExit(f"cachesim: --rate must be a positive number, got {args.rate:g}")
    if workload.time is None:
        args.rate_used = args.rate or DEFAULT_RATE
        workload = with_rate(workload, args.rate_used, seed=args.seed).with_columns(
            name=workload.name  # the rate is reported on its own line
        )
    elif args.rate is not None:
        raise SystemExit(
            f"cachesim: --rate: {workload.name} has its own timestamps "
            f"({describe_rate(workload)}); leave --rate out"
        )
    else:
        args.rate_used = None
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


def describe_rate(workload: Workload) -> str:
    """``"100 requests/s over 2.8 h"``: the mean request rate and the span of a workload."""
    times = workload.times
    span = float(times[-1] - times[0]) if len(times) > 1 else 0.0
    if span <= 0:
        return f"{len(workload):,} requests at one instant"
    rate = (len(workload) - 1) / span
    if span >= 7_200:
        length = f"{span / 3_600:.1f} h"
    elif span >= 120:
        length = f"{span / 60:.0f} min"
    else:
        length = f"{span:.0f} s"
    return f"{rate:,.4g} requests/s over {length}"
