"""Regenerate the README's images in docs/images/ from real simulator runs.

Run ``nox -s docs`` (or ``MPLBACKEND=Agg python docs/make_images.py``). Every input
is synthetic and seeded, so the images come out the same on every machine and need
no trace files, servers or network. It takes well under a minute on two cores.

* ``mrc.png``: hit ratio by cache size on a Zipf workload for LRU, S3-FIFO and
  FIFO, between Belady's optimum and the infinite-cache ceiling.
* ``hit_ratio_over_time.png``: a day of diurnal traffic through LRU with and
  without a 10-minute TTL, hit ratio per 15-minute window, warm-up shaded.
* ``latency_cdf.png``: response time with no cache and with each default provider
  model, for the hit ratio of a simulated 20,000-entry LRU cache.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

import pandas as pd
from matplotlib.figure import Figure

from cachesim.sim import (
    diurnal,
    latency_samples,
    miss_ratio_curve,
    plots,
    simulate,
    zipf,
)

OUT = Path(__file__).resolve().parent / "images"
DPI = 100
MAX_BYTES = 150_000


def save(fig: Figure, name: str) -> Path:
    """Write ``fig`` as a PNG in docs/images; warn if it is heavier than the README wants."""
    path = OUT / name
    fig.savefig(path, dpi=DPI, metadata={"Software": None})
    size = path.stat().st_size
    flag = "" if size <= MAX_BYTES else f"  (over {MAX_BYTES // 1000} KB: simplify the figure)"
    print(f"wrote {path.relative_to(OUT.parent.parent)}  {size / 1000:.0f} KB{flag}")
    return path


def mrc_image() -> Path:
    """Hit ratio by size for three policies, with the OPT and infinite-cache ceilings."""
    workload = zipf(100_000, 1_000_000, alpha=0.9, seed=1)
    sizes = [100, 300, 1_000, 3_000, 10_000, 30_000, 60_000]
    curves = [miss_ratio_curve(workload, sizes).assign(policy="lru")]
    for policy in ("s3fifo", "fifo"):
        curve = miss_ratio_curve(workload, sizes, method="simulate", policy=policy)
        curves.append(curve.assign(policy=policy))
    opt = miss_ratio_curve(workload, sizes, method="simulate", policy="opt")
    fig = plots.plot_mrc(
        pd.concat(curves, ignore_index=True),
        opt=opt,
        workload=workload,
        title="Hit ratio by cache size: Zipf α=0.9, 100,000 keys, 1M requests",
    )
    return save(fig, "mrc.png")


def hit_ratio_over_time_image() -> Path:
    """One day of diurnal traffic through LRU, with and without a TTL, warm-up shaded."""
    day = 86_400.0
    workload = diurnal(
        zipf(50_000, 1_000_000, alpha=0.9, seed=2), rate=1_000_000 / day, amplitude=0.8, seed=2
    )
    end = float(workload.times[-1])
    warmup = int((workload.times < 3 * 3_600).sum())  # the night is slow to fill the cache
    curves = {}
    for label, ttl in (("no TTL", None), ("TTL 10 min", 600)):
        result = simulate(
            workload, capacity=10_000, policy="lru", ttl=ttl, warmup=warmup, window_seconds=900
        )
        windows = result.windows[result.windows["end"] <= end].copy()  # drop the partial last one
        windows[["start", "end"]] = windows[["start", "end"]] / 3_600  # hours
        curves[f"LRU, 10,000 entries, {label}"] = windows
    fig = Figure(figsize=(8.0, 5.0), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    plots.plot_hit_ratio_over_time(
        curves, ax=top, title="Hit ratio over a day of diurnal traffic (peak at 14:00)"
    )
    top.set_xlabel("")
    windows = next(iter(curves.values()))
    width = windows["end"] - windows["start"]
    bottom.bar(
        windows["start"],
        windows["requests"] / (width * 3_600),
        width=width,
        align="edge",
        color=plots.NEUTRAL,
    )
    bottom.set_ylabel("requests/s")
    bottom.set_xlabel("time of day (h)")
    bottom.set_xlim(0, 24)
    bottom.set_xticks(range(0, 25, 3))
    bottom.grid(True, axis="y", alpha=0.3)
    return save(fig, "hit_ratio_over_time.png")


def latency_cdf_image() -> Path:
    """Response-time CDFs without a cache and with each default provider model."""
    result = simulate(zipf(100_000, 1_000_000, alpha=0.9, seed=1), capacity=20_000, policy="lru")
    samples = latency_samples(
        result, ["memory", "redis-same-az", "upstash-same-region", "upstash-cross-region"]
    )
    fig = plots.plot_latency_cdf(
        samples,
        title=f"Response time by provider at a {result.hit_ratio:.0%} hit ratio",
    )
    return save(fig, "latency_cdf.png")


def main() -> int:
    """Write every image; print each one's size and the total time."""
    OUT.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for make in (mrc_image, hit_ratio_over_time_image, latency_cdf_image):
        make()
    print(f"done in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
