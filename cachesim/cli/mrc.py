"""Compute a miss-ratio curve: the hit ratio at many cache capacities in one pass.

``--method exact`` (default) is a one-pass LRU stack-distance computation;
``shards`` samples keys (``--sample-rate``) for very large traces;
``simulate`` replays any ``--policy`` once per size.  Without ``--trace`` the
built-in Zipf workload is used; ``--trace`` takes a file or a shipped trace
(web07, web12, oltp).
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

EXAMPLES = """\
examples:
  cachesim mrc --trace web07 --sizes 100,1000,10000 --plot mrc.png
  cachesim mrc --trace oltp --method shards --json
  cachesim mrc --workload zipf --method simulate --policy s3fifo --sizes 0.01,0.05,0.2
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``cachesim mrc``."""
    add_source_arguments(parser)
    curve = parser.add_argument_group("curve")
    curve.add_argument(
        "--sizes",
        metavar="N,N,...",
        help="capacities, comma-separated (0.1 = 10%% of the distinct keys); "
        "default: 0.1%% to 80%% of the distinct keys",
    )
    curve.add_argument(
        "--method",
        choices=("exact", "shards", "minisim", "simulate"),
        default="exact",
        help="exact (LRU, one pass), shards (sampled LRU), minisim (sampled replay, any "
        "policy) or simulate (any policy)",
    )
    curve.add_argument(
        "--sample-rate",
        type=float,
        default=None,
        help="sampling rate (shards: default a fixed-size sample of 16,384 keys; "
        "minisim: default 0.01)",
    )
    curve.add_argument("--policy", default="lru", help="policy for --method simulate/minisim")
    curve.add_argument("--ttl", type=float, metavar="S", help="default TTL (--method simulate)")
    parser.add_argument("--json", action="store_true", help="print a JSON list")
    parser.add_argument(
        "--plot",
        metavar="FILE.png",
        help="also save a plot of the curve: hit ratio by cache size (objects)",
    )


def run(args: argparse.Namespace) -> int:
    """Run ``cachesim mrc``; prints a table, or JSON with ``--json``."""
    from cachesim.sim.mrc import miss_ratio_curve

    sizes: list[float] | None = None
    if args.sizes:
        try:
            parsed = [parse_capacity(s) for s in args.sizes.split(",") if s.strip()]
        except ValueError:
            print(f"cachesim mrc: --sizes {args.sizes!r} must be numbers", file=sys.stderr)
            return 2
        if any(s is None for s in parsed):
            print("cachesim mrc: every size must be a number", file=sys.stderr)
            return 2
        sizes = [s for s in parsed if s is not None]
    try:
        workload = load_source(args)
        frame = miss_ratio_curve(
            workload,
            sizes,
            method=args.method,
            sample_rate=args.sample_rate,
            policy=args.policy,
            ttl=args.ttl,
        )
    except (ValueError, TypeError, OSError) as exc:
        print(f"cachesim mrc: {exc}", file=sys.stderr)
        return 2
    if args.plot:
        try:
            _plot(frame, workload.name, args.plot)
        except (OSError, ValueError) as exc:
            print(f"cachesim mrc: cannot write the plot {args.plot}: {exc}", file=sys.stderr)
            return 2
    if args.json:
        rows = [
            {"capacity": int(c), "hit_ratio": float(h), "miss_ratio": float(m)}
            for c, h, m in zip(
                frame["capacity"], frame["hit_ratio"], frame["miss_ratio"], strict=True
            )
        ]
        if "error" in frame.columns:  # sampled curves: standard error of each estimate
            for row, err in zip(rows, frame["error"], strict=True):
                row["error"] = float(err)
        print(json.dumps(rows, indent=2))
        return 0
    method = frame.attrs.get("method", args.method)
    rate = frame.attrs.get("sample_rate")
    sampled = method in ("shards", "minisim")
    detail = f", sample rate {rate:g}" if sampled and rate is not None else ""
    print(f"workload   {workload.name}: {len(workload):,} requests, {workload.n_unique:,} keys")
    print(f"curve      {frame.attrs.get('policy', 'lru')}, {method}{detail}")
    if args.ttl is not None:
        print(f"           TTL {args.ttl:g} s; {describe_rate(workload)}")
    print()
    print(f"{'capacity':>12} {'hit ratio':>10} {'miss ratio':>11}")
    errors = frame["error"] if "error" in frame.columns else [None] * len(frame)
    for c, h, m, e in zip(
        frame["capacity"], frame["hit_ratio"], frame["miss_ratio"], errors, strict=True
    ):
        note = f"  ± {e:.4f} (standard error)" if e is not None else ""
        print(f"{int(c):>12,} {h:>10.4f} {m:>11.4f}{note}")
    if args.plot:
        print(f"\nplot saved to {args.plot}")
    return 0


def _plot(frame: Any, title: str, path: str) -> None:
    """Hit ratio by cache size in objects, the line named by policy and method."""
    from cachesim.sim import plots

    label = plots.curve_label(frame)
    sizes = [float(c) for c in frame["capacity"] if c > 0]
    fig = plots.plot_mrc(
        {label: frame},
        unit="objects",
        logx=bool(sizes) and max(sizes) / min(sizes) >= 10,  # sizes usually grow tenfold
        title=f"Hit ratio by cache size: {title}, {label}",
    )
    fig.savefig(path, dpi=120)
