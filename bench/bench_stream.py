"""Streaming a trace far larger than memory: time and peak RSS of each streamed pass.

Writes a libCacheSim oracleGeneral trace (24 bytes per request) of
``--requests`` Zipf(``--alpha``) requests over ``--keys`` keys with a fixed
size per key, then runs each streamed computation in a fresh subprocess and
reports its wall time and peak resident memory (``ru_maxrss``):

* the exact one-pass LRU curve in objects (``miss_ratio_curve(path)``),
* the exact one-pass byte-capacity LRU curve (``unit="bytes"``),
* fixed-size SHARDS (16,384 keys, 4 samples),
* a streamed LRU replay through the policy store (``simulate_stream``) over the
  first ``--replay-requests`` requests (it runs at Python speed).

For scale, loading the same trace with ``load_trace`` would need about 24 bytes
per request (key, time, size columns): the "load" row is that estimate.

    python bench/bench_stream.py --requests 500_000_000 --keys 5_000_000 --dir /var/tmp
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CHILD = r"""
import json, resource, sys, time
import numpy as np
from cachesim.sim import miss_ratio_curve
from cachesim.sim.stream import simulate_stream

path, what, keys, limit = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
read = {"chunk_size": 1 << 20}
sizes = [max(1, int(keys * f)) for f in (0.001, 0.01, 0.1, 0.4, 0.8)]
started = time.perf_counter()
if what == "mrc-objects":
    frame = miss_ratio_curve(path, sizes, read=read)
elif what == "mrc-bytes":
    frame = miss_ratio_curve(path, [s * 4096 for s in sizes], unit="bytes", read=read)
elif what == "shards":
    frame = miss_ratio_curve(path, sizes, method="shards", read=read)
else:
    from itertools import islice
    from cachesim.sim.traces import iter_trace
    chunks = islice(iter_trace(path, **read), max(1, limit >> 20))
    result = simulate_stream(chunks, sizes[2], "lru")
    frame = None
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
out = {"what": what, "seconds": seconds, "peak_rss": peak}
if frame is not None:
    out["hit_ratio"] = frame["hit_ratio"].round(4).tolist()
    out["chunks"] = frame.attrs.get("chunks")
    out["state_bytes"] = frame.attrs.get("state_bytes")
    out["requests"] = frame.attrs.get("requests")
else:
    out["requests"] = result.requests
    out["hit_ratio"] = round(result.hit_ratio, 4)
print(json.dumps(out))
"""


def write_trace(path: Path, requests: int, keys: int, alpha: float, seed: int) -> None:
    """Stream a Zipf oracleGeneral trace to ``path`` without holding it."""
    rng = np.random.default_rng(seed)
    weights = np.arange(1, keys + 1, dtype=np.float64) ** -alpha
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]
    ids = rng.permutation(keys).astype(np.uint64) * np.uint64(2654435761) + np.uint64(1)
    sizes = (rng.lognormal(np.log(4096), 1.0, keys).clip(64, 1 << 20)).astype(np.uint32)
    record = np.dtype([("time", "<u4"), ("key", "<u8"), ("size", "<u4"), ("next", "<i8")])
    step = 10_000_000
    with open(path, "wb") as f:
        for start in range(0, requests, step):
            n = min(step, requests - start)
            rank = np.searchsorted(cdf, rng.random(n))
            rec = np.empty(n, dtype=record)
            rec["time"] = (np.arange(start, start + n) // 1000).astype(np.uint32)
            rec["key"] = ids[rank]
            rec["size"] = sizes[rank]
            rec["next"] = -1
            f.write(rec.tobytes())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=500_000_000)
    parser.add_argument("--keys", type=int, default=5_000_000)
    parser.add_argument("--alpha", type=float, default=0.9)
    parser.add_argument("--replay-requests", type=int, default=20_000_000)
    parser.add_argument("--dir", default=tempfile.gettempdir())
    parser.add_argument("--keep", action="store_true", help="keep the generated trace")
    parser.add_argument(
        "--only", default="mrc-objects,mrc-bytes,shards,replay", help="comma-separated runs"
    )
    args = parser.parse_args()
    path = Path(args.dir) / f"bench-{args.requests}.oracleGeneral.bin"
    if not path.exists():
        started = time.perf_counter()
        write_trace(path, args.requests, args.keys, args.alpha, seed=1)
        print(
            f"wrote {path} ({path.stat().st_size / 2**30:.1f} GiB) in "
            f"{time.perf_counter() - started:.0f} s",
            flush=True,
        )
    print(f"load_trace estimate: {24 * args.requests / 2**30:.1f} GiB of columns", flush=True)
    try:
        for what in args.only.split(","):
            out = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    CHILD,
                    str(path),
                    what,
                    str(args.keys),
                    str(args.replay_requests),
                ],
                check=True,
                capture_output=True,
                text=True,
                env=os.environ.copy(),
            )
            result = json.loads(out.stdout.strip().splitlines()[-1])
            result["peak_rss_mib"] = round(result.pop("peak_rss") / 2**20)
            result["seconds"] = round(result["seconds"], 1)
            print(json.dumps(result), flush=True)
    finally:
        if not args.keep:
            path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
