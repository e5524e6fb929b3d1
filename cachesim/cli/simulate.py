"""Replay a trace or a synthetic workload against a cache policy and report the hit ratio.

With no arguments, replays a built-in Zipf workload (10,000 keys, 1,000,000
requests, alpha 0.99) against a 1,000-entry LRU cache.  ``--policy`` takes one
policy or a comma-separated list to compare (``lru,s3fifo,opt``).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from cachesim.cli._simsource import add_source_arguments, load_source, parse_capacity

__all__ = ["add_arguments", "run"]

DEFAULT_CAPACITY = 1_000


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


def _result_dict(result: Any) -> dict[str, Any]:
    out: dict[str, Any] = result.as_dict()
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
                window=args.window,
                unit=args.unit,
                engine=args.engine,
            )
            for policy in policies
        ]
    except (ValueError, TypeError, OSError, RuntimeError) as exc:
        print(f"cachesim simulate: {exc}", file=sys.stderr)
        return 2
    if args.json:
        payload: Any = (
            _result_dict(results[0]) if len(results) == 1 else [_result_dict(r) for r in results]
        )
        print(json.dumps(payload, indent=2))
        return 0
    _print_table(workload, results)
    return 0


def _print_table(workload: Any, results: list[Any]) -> None:
    unit = "bytes" if results[0].unit == "bytes" else "entries"
    cap = results[0].capacity
    cap_text = "unbounded" if cap is None else f"{cap:,} {unit}"
    print(f"workload   {workload.name}")
    print(f"           {len(workload):,} requests, {workload.n_unique:,} distinct keys")
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
    for r in results:
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
