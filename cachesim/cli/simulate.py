"""Replay a trace or a synthetic workload against a cache policy and report the hit ratio.

With no arguments, replays a built-in Zipf workload (10,000 keys, 1,000,000
requests, alpha 0.99, 100 requests per second) against a 1,000-entry LRU cache.
``--policy`` takes one policy or a comma-separated list to compare
(``lru,s3fifo,opt``); ``--trace`` takes a file or a shipped trace (web07, web12, oltp).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from cachesim.cli._simsource import (
    add_source_arguments,
    describe_rate,
    load_source,
    parse_capacity,
)

__all__ = ["EXAMPLES", "add_arguments", "run"]

DEFAULT_CAPACITY = 1_000
#: windows drawn by --plot when --window is not given
PLOT_WINDOWS = 60

EXAMPLES = """\
examples:
  cachesim simulate --trace web07 --capacity 0.05 --policy lru,s3fifo,opt
  cachesim simulate --capacity 0.05 --policy lru,s3fifo --ttl 300 --rate 20 --plot hits.png
  cachesim simulate --workload zipf --capacity 1000 --policy lru --json
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``cachesim simulate``."""
    add_source_arguments(parser)
    cache = parser.add_argument_group("cache")
    cache.add_argument(
        "--capacity",
        default=str(DEFAULT_CAPACITY),
        metavar="N",
        help="entries (bytes with --unit bytes); 0.1 = 10%% of the distinct keys; "
        f"'none' = unbounded (default {DEFAULT_CAPACITY:,})",
    )
    cache.add_argument(
        "--policy",
        default="lru",
        metavar="P",
        help="lru, fifo, lfu, clock, sieve, s3fifo, arc, redis-lru, random, ttl or opt; "
        "comma-separated to compare (default lru)",
    )
    cache.add_argument("--ttl", type=float, metavar="S", help="default TTL in seconds")
    cache.add_argument(
        "--unit", choices=("objects", "bytes"), default="objects", help="capacity unit"
    )
    cache.add_argument(
        "--warmup", type=float, default=0, help="requests (or share if < 1) not counted"
    )
    cache.add_argument(
        "--window", type=int, metavar="N", help="also report the hit ratio per N requests"
    )
    cache.add_argument(
        "--engine",
        choices=("auto", "numba", "python"),
        default="auto",
        help="replay engine (default: compiled when numba is installed)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--plot",
        metavar="FILE.png",
        help="also save the hit ratio over time of each policy (PNG, SVG or PDF by extension)",
    )


def _result_dict(result: Any, workload: Any, rate: float | None) -> dict[str, Any]:
    out: dict[str, Any] = result.as_dict()
    times = workload.times
    out["request_rate"] = rate
    out["duration_s"] = float(times[-1] - times[0]) if len(times) > 1 else 0.0
    if result.windows is not None:
        frame = result.windows.astype({"warmup": bool})
        out["windows"] = json.loads(frame.to_json(orient="records"))
    return out


def run(args: argparse.Namespace) -> int:
    """Run ``cachesim simulate``; prints a table, or JSON with ``--json``."""
    from cachesim.sim.engine import simulate

    try:
        capacity = parse_capacity(args.capacity)
    except ValueError:
        print(f"cachesim: --capacity {args.capacity!r} is not a number", file=sys.stderr)
        return 2
    policies = [p.strip() for p in args.policy.split(",") if p.strip()]
    try:
        workload = load_source(args)
        results = [
            simulate(
                workload,
                capacity,
                policy,
                args.ttl,
                warmup=int(args.warmup) if args.warmup >= 1 else args.warmup,
                window=args.window or (_plot_window(workload) if args.plot else None),
                unit=args.unit,
                engine=args.engine,
            )
            for policy in policies
        ]
    except (ValueError, TypeError, OSError, RuntimeError) as exc:
        print(f"cachesim simulate: {exc}", file=sys.stderr)
        return 2
    rate = getattr(args, "rate_used", None)
    if args.plot:
        try:
            _plot(workload, results, args.plot)
        except (OSError, ValueError) as exc:
            print(f"cachesim simulate: cannot write the plot {args.plot}: {exc}", file=sys.stderr)
            return 2
    if args.json:
        rows = [_result_dict(r, workload, rate) for r in results]
        payload: Any = rows[0] if len(rows) == 1 else rows
        print(json.dumps(payload, indent=2))
        return 0
    _print_table(workload, results, rate, windows=bool(args.window))
    if args.plot:
        print(f"\nplot saved to {args.plot}")
    return 0


def _plot_window(workload: Any) -> int:
    return max(1, len(workload) // PLOT_WINDOWS)


def _cache_text(result: Any) -> str:
    unit = "bytes" if result.unit == "bytes" else "entries"
    cap = result.capacity
    text = "unbounded" if cap is None else f"{cap:,} {unit}"
    return text + (f", TTL {result.ttl:g} s" if result.ttl is not None else "")


def _plot(workload: Any, results: list[Any], path: str) -> None:
    """Hit ratio over time, one line per policy, overall hit ratio in the legend."""
    from cachesim.sim import plots

    fig = plots.plot_hit_ratio_over_time(
        {f"{r.policy} ({r.hit_ratio:.1%} overall)": r for r in results},
        title=f"Hit ratio over time: {workload.name}, {_cache_text(results[0])}",
    )
    fig.savefig(path, dpi=120)


def _print_table(workload: Any, results: list[Any], rate: float | None, *, windows: bool) -> None:
    unit = "bytes" if results[0].unit == "bytes" else "entries"
    cap = results[0].capacity
    cap_text = "unbounded" if cap is None else f"{cap:,} {unit}"
    print(f"workload   {workload.name}")
    print(f"           {len(workload):,} requests, {workload.n_unique:,} distinct keys")
    timing = describe_rate(workload)
    if rate is not None:
        timing += f" (Poisson arrivals at --rate {rate:g})"
    print(f"           {timing}")
    ttl = results[0].ttl
    print(f"cache      {cap_text}" + (f", default TTL {ttl:g} s" if ttl is not None else ""))
    if results[0].warmup:
        print(f"warm-up    first {results[0].warmup:,} requests not counted")
    print()
    header = (
        f"{'policy':<10} {'hit ratio':>9} {'hits':>12} {'misses':>12} "
        f"{'evictions':>11} {'expired':>9} {'req/s':>10}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.policy:<10} {r.hit_ratio:>9.4f} {r.hits:>12,} {r.misses:>12,} "
            f"{r.evictions:>11,} {r.expirations:>9,} {_rate(r.requests_per_second):>10}"
        )
    writes = results[0].writes + results[0].deletes
    if writes:
        print(f"\n{results[0].writes:,} writes and {results[0].deletes:,} deletes not in the ratio")
    for r in results if windows else ():
        if r.windows is not None and len(r.windows):
            print(f"\nhit ratio per window ({r.policy}):")
            for row in r.windows.itertuples():
                bar = "#" * round(40 * (row.hit_ratio if row.hit_ratio == row.hit_ratio else 0))
                print(f"  {row.start:>12,.0f}  {row.hit_ratio:6.3f}  {bar}")


def _rate(value: float) -> str:
    if value >= 1e6:
        return f"{value / 1e6:.1f}M"
    if value >= 1e3:
        return f"{value / 1e3:.0f}k"
    return f"{value:.0f}"
