"""Accuracy of the sampled curves (SHARDS, MINISIM) against exact per-size results.

    python bench/curve_accuracy.py [TRACE [--format F]]

Without a trace it uses a generated Zipf(0.9) trace (200,000 keys, 2,000,000 requests).
For each of several hash salts it prints the mean and largest absolute error over the
S3-FIFO artifact's size ladder (1 % ... 80 % of the distinct keys), for SHARDS at a fixed
1 % rate (one sample: the old default), fixed-size SHARDS (the default: 16,384 keys, four
samples) and MINISIM (default rate 0.01, at least 4,000 sampled entries, four samples) of
FIFO, ARC and S3-FIFO.
"""

from __future__ import annotations

import argparse

import numpy as np

from cachesim.sim import DEFAULT_FRACTIONS, load_trace, miss_ratio_curve, zipf

FRACTIONS = (0.01, 0.03, 0.1, 0.2, 0.4, 0.8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trace", nargs="?")
    parser.add_argument("--format")
    parser.add_argument("--salts", type=int, default=5)
    parser.add_argument("--policies", default="fifo,arc,s3fifo")
    parser.add_argument(
        "--default-ladder",
        action="store_true",
        help="the default sizes (0.1 %% ... 80 %%) instead of 1 %% ... 80 %%",
    )
    args = parser.parse_args()
    generated = zipf(200_000, 2_000_000, 0.9, seed=1) if not args.trace else None
    w = generated if generated is not None else load_trace(args.trace, args.format)
    fractions = DEFAULT_FRACTIONS if args.default_ladder else FRACTIONS
    sizes = sorted({max(1, int(w.n_unique * f)) for f in fractions})
    print(f"{w.name}: {len(w):,} requests, {w.n_unique:,} keys; sizes {sizes}")
    exact = miss_ratio_curve(w, sizes)["hit_ratio"].to_numpy()
    variants = {
        "SHARDS fixed rate 1% (1 sample)": {"sample_rate": 0.01, "replicates": 1},
        "SHARDS fixed size 16,384 (4 samples)": {},
    }
    for label, kwargs in variants.items():
        errors = []
        for salt in range(args.salts):
            frame = miss_ratio_curve(w, sizes, method="shards", seed=100 * salt, **kwargs)
            errors.append(np.abs(frame["hit_ratio"].to_numpy() - exact))
        e = np.asarray(errors)
        print(f"{label:40s} mean {e.mean():.4f}  max {e.max():.4f}", flush=True)
    for policy in [p for p in args.policies.split(",") if p]:
        truth = miss_ratio_curve(w, sizes, method="simulate", policy=policy)
        errors, estimates = [], []
        for salt in range(args.salts):
            frame = miss_ratio_curve(w, sizes, method="minisim", policy=policy, seed=100 * salt)
            errors.append(np.abs(frame["hit_ratio"].to_numpy() - truth["hit_ratio"].to_numpy()))
            estimates.append(frame["error"].to_numpy())
        e = np.asarray(errors)
        print(
            f"MINISIM {policy:32s} mean {e.mean():.4f}  max {e.max():.4f}  "
            f"per size (max) {np.round(e.max(axis=0), 4).tolist()}  "
            f"mean estimated error {np.mean(estimates):.4f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
