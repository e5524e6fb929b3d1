"""cachesim.sim against libcachesim (PyPI) on the same trace file, in the same run.

1. Load + LRU replay: ``load_trace`` + ``simulate`` vs ``TraceReader`` +
   ``LRU.process_trace`` (hit ratios must agree to 1e-9).
2. A 10-size LRU miss-ratio curve: one ``miss_ratio_curve`` pass vs ten
   libcachesim runs (every value must agree to 1e-9).
3. Peak memory of each, measured in a fresh subprocess (peak RSS).

The trace is a generated Zipf workload written as a libCacheSim oracleGeneral
file with 63-bit hashed ids (so both sides must hash keys), or ``--trace``.
Prints throughputs and ratios (>1 means cachesim is faster).
Run: ``python bench/bench_sim.py`` (or ``nox -s bench``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TOLERANCE = 1e-9


def _lcs_reader(path: str, fmt: str) -> Any:
    import libcachesim as lcs
    from libcachesim.libcachesim_python import ReaderInitParam, TraceType

    kinds = {
        "oracleGeneral": TraceType.ORACLE_GENERAL_TRACE,
        "txt": TraceType.PLAIN_TXT_TRACE,
    }
    if fmt not in kinds:
        raise SystemExit(f"bench: libcachesim comparison supports {sorted(kinds)}, not {fmt}")
    return lcs.TraceReader(
        trace=path,
        trace_type=kinds[fmt],
        reader_init_params=ReaderInitParam(ignore_obj_size=True),
    )


def lcs_replay(path: str, fmt: str, capacity: int) -> float:
    """libcachesim: open the trace and replay it through LRU; returns the hit ratio."""
    import libcachesim as lcs

    miss_ratio, _ = lcs.LRU(cache_size=capacity).process_trace(_lcs_reader(path, fmt))
    return 1.0 - float(miss_ratio)


def ours_replay(path: str, fmt: str, capacity: int, keys_only: bool = False) -> float:
    """cachesim: load the trace and replay it through LRU; returns the hit ratio."""
    from cachesim.sim import load_trace, simulate

    workload = load_trace(path, fmt, keys_only=keys_only)
    return simulate(workload, capacity, "lru").hit_ratio


def lcs_mrc(path: str, fmt: str, sizes: list[int]) -> list[float]:
    """libcachesim: one LRU run per size."""
    return [lcs_replay(path, fmt, size) for size in sizes]


def ours_mrc(path: str, fmt: str, sizes: list[int]) -> list[float]:
    """cachesim: one stack-distance pass for every size."""
    from cachesim.sim import load_trace, miss_ratio_curve

    frame = miss_ratio_curve(load_trace(path, fmt, keys_only=True), sizes)
    return [float(h) for h in frame["hit_ratio"]]


def _best(func: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, value = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        value = func()
        best = min(best, time.perf_counter() - start)
    return best, value


def _make_trace(directory: Path, n_requests: int, n_keys: int, alpha: float) -> Path:
    import numpy as np

    from cachesim.sim import Workload, write_trace, zipf

    base = zipf(n_keys, n_requests, alpha, seed=42)
    with np.errstate(over="ignore"):  # hashed 63-bit ids, like real object ids
        z = base.key.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        ids = ((z ^ (z >> np.uint64(29))) >> np.uint64(1)).astype(np.int64)
    workload = Workload(ids, np.arange(n_requests) / 1000.0, name="zipf")
    return write_trace(workload, directory / "bench.oracleGeneral.bin")


def _peak_rss_kib() -> int:
    """Peak resident set size of this process (VmHWM; ru_maxrss survives exec on Linux)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _worker(args: argparse.Namespace) -> None:
    """Run one task in this fresh process and print its peak memory."""
    import numpy  # noqa: F401 - imported before the baseline, like the libraries
    import pandas  # noqa: F401

    import cachesim.sim  # noqa: F401

    if args.worker.startswith("lcs"):
        import libcachesim  # noqa: F401
    baseline = _peak_rss_kib()
    sizes = [int(s) for s in args.sizes.split(",")]
    task = {
        "lcs-replay": lambda: lcs_replay(args.trace, args.format, sizes[0]),
        "ours-replay": lambda: ours_replay(args.trace, args.format, sizes[0]),
        "lcs-mrc": lambda: lcs_mrc(args.trace, args.format, sizes),
        "ours-mrc": lambda: ours_mrc(args.trace, args.format, sizes),
    }[args.worker]
    task()
    peak = _peak_rss_kib()
    print(json.dumps({"baseline_kib": baseline, "peak_kib": peak}))


def _memory(task: str, trace: str, fmt: str, sizes: list[int]) -> dict[str, float]:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--worker",
            task,
            "--trace",
            trace,
            "--format",
            fmt,
            "--sizes",
            ",".join(map(str, sizes)),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    data: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return data


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5_000_000)
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--alpha", type=float, default=0.9)
    parser.add_argument("--trace", help="benchmark this trace instead of a generated one")
    parser.add_argument("--format", default=None, help="trace format (oracleGeneral or txt)")
    parser.add_argument("--capacity", type=float, default=0.01, help="entries or share of keys")
    parser.add_argument("--repeat", type=int, default=3, help="best of N timings")
    parser.add_argument("--json", action="store_true", help="also print the results as JSON")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--sizes", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args)
        return 0

    from cachesim.sim import detect_format, load_trace, miss_ratio_curve, simulate, zipf
    from cachesim.sim._kernels import HAVE_NUMBA

    with tempfile.TemporaryDirectory(prefix="cachesim-bench-") as tmp:
        if args.trace:
            trace = Path(args.trace)
        else:
            trace = _make_trace(Path(tmp), args.requests, args.keys, args.alpha)
        fmt = args.format or detect_format(trace)
        path = str(trace)
        workload = load_trace(path, fmt, keys_only=True)
        n, unique = len(workload), workload.n_unique
        capacity = int(args.capacity * unique) if args.capacity < 1 else int(args.capacity)
        fractions = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.3, 0.8)
        sizes = sorted({max(1, int(unique * f)) for f in fractions})
        python = sys.version.split()[0]
        print(f"machine    {platform.machine()}, {os.cpu_count()} CPUs, Python {python}")
        print(f"trace      {trace.name} ({fmt}): {n:,} requests, {unique:,} distinct keys")
        print(f"engine     numba={'yes' if HAVE_NUMBA else 'no'}")
        start = time.perf_counter()  # compile (or load the cached machine code) once
        simulate(zipf(100, 1000), 10)
        miss_ratio_curve(zipf(100, 1000), [10])
        print(f"warm-up    {time.perf_counter() - start:.2f} s (kernel compile / cache load)\n")

        results: dict[str, Any] = {"requests": n, "unique": unique, "capacity": capacity}
        t_lcs, hr_lcs = _best(lambda: lcs_replay(path, fmt, capacity), args.repeat)
        t_ours, hr_ours = _best(lambda: ours_replay(path, fmt, capacity), args.repeat)
        t_keys, hr_keys = _best(lambda: ours_replay(path, fmt, capacity, True), args.repeat)
        for label, value in (("cachesim", hr_ours), ("cachesim keys-only", hr_keys)):
            if abs(value - hr_lcs) > TOLERANCE:
                raise SystemExit(f"bench: {label} LRU hit ratio {value} != libcachesim {hr_lcs}")
        print(f"1. load + LRU replay at {capacity:,} entries (hit ratio {hr_ours:.6f}, equal)")
        print(f"   libcachesim          {t_lcs:7.3f} s  {n / t_lcs / 1e6:7.2f} M req/s")
        print(f"   cachesim             {t_ours:7.3f} s  {n / t_ours / 1e6:7.2f} M req/s")
        print(f"   cachesim keys_only   {t_keys:7.3f} s  {n / t_keys / 1e6:7.2f} M req/s")
        print(
            f"   ratio                {t_lcs / t_ours:7.2f} x  ({t_lcs / t_keys:.2f} x keys-only)\n"
        )
        results["replay"] = {
            "libcachesim_s": t_lcs,
            "cachesim_s": t_ours,
            "cachesim_keys_only_s": t_keys,
            "ratio": t_lcs / t_ours,
            "ratio_keys_only": t_lcs / t_keys,
        }

        t_lcs_mrc, mrc_lcs = _best(lambda: lcs_mrc(path, fmt, sizes), 1)
        t_ours_mrc, mrc_ours = _best(lambda: ours_mrc(path, fmt, sizes), args.repeat)
        worst = max(abs(a - b) for a, b in zip(mrc_lcs, mrc_ours, strict=True))
        if worst > TOLERANCE:
            raise SystemExit(f"bench: MRC differs from libcachesim by {worst}")
        print(
            f"2. LRU miss-ratio curve, {len(sizes)} sizes {sizes[0]:,}..{sizes[-1]:,} (all equal)"
        )
        print(f"   libcachesim x{len(sizes):<3}      {t_lcs_mrc:7.3f} s")
        print(f"   cachesim one pass    {t_ours_mrc:7.3f} s")
        print(f"   ratio                {t_lcs_mrc / t_ours_mrc:7.2f} x\n")
        results["mrc"] = {
            "sizes": sizes,
            "libcachesim_s": t_lcs_mrc,
            "cachesim_s": t_ours_mrc,
            "ratio": t_lcs_mrc / t_ours_mrc,
        }

        print("3. peak memory (fresh process; peak RSS, and above the post-import baseline)")
        memory: dict[str, Any] = {}
        for task in ("lcs-replay", "ours-replay", "lcs-mrc", "ours-mrc"):
            m = _memory(task, path, fmt, [capacity] if "replay" in task else sizes)
            extra = (m["peak_kib"] - m["baseline_kib"]) / 1024
            memory[task] = {"peak_mib": m["peak_kib"] / 1024, "extra_mib": extra}
            print(
                f"   {task:<12} peak {m['peak_kib'] / 1024:7.1f} MiB, "
                f"+{extra:7.1f} MiB ({extra * 2**20 / n:5.1f} bytes/request)"
            )
        results["memory"] = memory
        key_bytes = workload.key.nbytes / n
        print(f"   Workload in memory: {key_bytes:.0f} bytes/request (keys only)")
        if args.json:
            print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
