"""Reproduce the validation table of docs/simulator.md for the breadth policies.

``python bench/validate_policies.py libcachesim``
    SLRU, 2Q, LRU-K, GDSF, LIRS, Belady-Size and the Bloom-filter admission
    against libcachesim 0.3.5 on generated traces (entries and bytes); prints
    every run and the largest difference per policy.

``python bench/validate_policies.py caffeine --jar caffeine-3.2.2.jar [--traces DIR]``
    W-TinyLFU (adaptive and static) against the Caffeine library: a small Java
    program replays the same keys through ``Caffeine.newBuilder().maximumSize(n)``
    (maintenance after every request).  Needs ``javac``/``java``.  ``--traces``
    adds LIRS-format traces (``*.trace.gz``, one key per line) from a folder.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from cachesim.sim import Workload, load_trace, scan, simulate, with_sizes, write_trace, zipf

JAVA = """
import com.github.benmanes.caffeine.cache.*;
import java.nio.file.*;
public class Replay {
  public static void main(String[] a) throws Exception {
    long[] keys = Files.readAllLines(Path.of(a[0])).stream().mapToLong(Long::parseLong).toArray();
    for (int i = 1; i < a.length; i++) {
      long cap = Long.parseLong(a[i]);
      Cache<Long, Long> c = Caffeine.newBuilder().maximumSize(cap).executor(Runnable::run).build();
      long hits = 0;
      for (long k : keys) {
        if (c.getIfPresent(k) == null) c.put(k, k); else hits++;
        c.cleanUp();
      }
      System.out.println(cap + " " + ((double) hits / keys.length));
    }
  }
}
"""


def traces() -> dict[str, Workload]:
    """The generated traces of the table: Zipf, Zipf with scans, Zipf with sizes."""
    z = zipf(3_000, 40_000, 0.9, seed=3)
    s = scan(2_000, 40_000, scan_length=500, scan_every=4_000, seed=4)
    zk = Workload(z.key + 1, name="zipf")
    return {
        "zipf": zk,
        "scan": Workload(s.key + 1, name="scan"),
        "zipf-sized": with_sizes(zk, mean=4_000, seed=5),
    }


def lcs_ratios(
    lcs: Any, path: Path, make: Any, capacity: int, by_bytes: bool
) -> tuple[float, float]:
    """libcachesim's (hit ratio, byte hit ratio)."""
    from libcachesim.libcachesim_python import ReaderInitParam, TraceType

    reader = lcs.TraceReader(
        trace=str(path),
        trace_type=TraceType.ORACLE_GENERAL_TRACE,
        reader_init_params=ReaderInitParam(ignore_obj_size=not by_bytes),
    )
    miss, byte_miss = make(capacity).process_trace(reader)
    return 1.0 - float(miss), 1.0 - float(byte_miss)


def run_libcachesim() -> None:
    """Every comparison with libcachesim; the largest difference per policy."""
    import libcachesim as lcs

    cases: dict[str, tuple[Any, dict[str, Any]]] = {
        "slru": (lambda c: lcs.SLRU(cache_size=c, hashpower=16), {}),
        "2q": (lambda c: lcs.TwoQ(cache_size=c, hashpower=16), {}),
        "lru-k": (lambda c: lcs.LRUK(cache_size=c, hashpower=16), {}),
        "gdsf": (lambda c: lcs.GDSF(cache_size=c, hashpower=16), {}),
        "lirs": (lambda c: lcs.LIRS(cache_size=c, hashpower=16), {}),
        "opt-size": (lambda c: lcs.BeladySize(cache_size=c, hashpower=16), {}),
        "lru+bloom": (
            lambda c: lcs.LRU(cache_size=c, hashpower=16, admissioner=lcs.BloomFilterAdmissioner()),
            {"admission": "bloom", "admission_options": {"expected_items": 10**7, "fpp": 1e-9}},
        ),
    }
    worst: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, w in traces().items():
            path = write_trace(w, Path(tmp) / f"{name}.oracleGeneral.bin")
            by_bytes = w.size is not None
            if by_bytes:
                per_key = dict(zip(w.key.tolist(), w.size.tolist(), strict=True))
                total = sum(per_key.values())
                capacities = [int(total * f) for f in (0.01, 0.05, 0.2, 0.5)]
            else:
                capacities = [10, 100, 500, 2_000]
            unit = "bytes" if by_bytes else "objects"
            for label, (make, options) in cases.items():
                policy = label.split("+")[0]
                for capacity in capacities:
                    expected = lcs_ratios(lcs, path, make, capacity, by_bytes)
                    got = simulate(w, capacity, policy, unit=unit, **options)  # type: ignore[arg-type]
                    diff = max(
                        abs(got.hit_ratio - expected[0]), abs(got.byte_hit_ratio - expected[1])
                    )
                    worst[label] = max(worst.get(label, 0.0), diff)
                    print(
                        f"{label:10s} {name:10s} {capacity:>9d}  libcachesim "
                        f"{expected[0]:.6f}/{expected[1]:.6f}  cachesim "
                        f"{got.hit_ratio:.6f}/{got.byte_hit_ratio:.6f}"
                    )
    for label, diff in worst.items():
        print(f"max |diff| {label}: {diff:.2e}")


def run_caffeine(jar: str, trace_dir: str | None) -> None:
    """W-TinyLFU against the Caffeine library at 100 ... 2,000 entries."""
    capacities = (100, 500, 1_000, 2_000)
    keysets = {name: w.key for name, w in traces().items() if w.size is None}
    if trace_dir:
        for path in sorted(Path(trace_dir).glob("*.trace.gz")):
            keysets[path.name.split(".")[0]] = load_trace(path).key
    worst = {"adaptive": 0.0, "static": 0.0}
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "Replay.java").write_text(JAVA)
        subprocess.run(["javac", "-cp", jar, "Replay.java"], cwd=tmp, check=True)
        for name, keys in keysets.items():
            key_file = Path(tmp) / f"{name}.keys"
            key_file.write_text("\n".join(map(str, np.asarray(keys).tolist())))
            out = subprocess.run(
                ["java", "-cp", f"{jar}:.", "Replay", str(key_file), *map(str, capacities)],
                cwd=tmp,
                check=True,
                capture_output=True,
                text=True,
            ).stdout.split()
            caffeine = {int(out[i]): float(out[i + 1]) for i in range(0, len(out), 2)}
            w = Workload(np.asarray(keys, dtype=np.int64))
            for capacity in capacities:
                adaptive = simulate(w, capacity, "wtinylfu", adaptive=True).hit_ratio
                static = simulate(w, capacity, "wtinylfu").hit_ratio
                worst["adaptive"] = max(worst["adaptive"], abs(adaptive - caffeine[capacity]))
                worst["static"] = max(worst["static"], abs(static - caffeine[capacity]))
                print(
                    f"{name:8s} {capacity:5d}  caffeine {caffeine[capacity]:.4f}  "
                    f"adaptive {adaptive:.4f}  static {static:.4f}"
                )
    print(f"max |diff| adaptive {worst['adaptive']:.4f}, static {worst['static']:.4f}")


def main(argv: list[str]) -> int:
    """Parse the command line and run one comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    sub.add_parser("libcachesim")
    caffeine = sub.add_parser("caffeine")
    caffeine.add_argument("--jar", required=True, help="path to a caffeine-3.x.jar")
    caffeine.add_argument("--traces", help="folder of LIRS *.trace.gz traces")
    args = parser.parse_args(argv)
    if args.what == "libcachesim":
        run_libcachesim()
    else:
        run_caffeine(args.jar, args.traces)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
