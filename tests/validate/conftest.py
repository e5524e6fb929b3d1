"""Validation against published hit ratios on the public sample traces.

The traces live beside the project (``../shared/traces``) or wherever
``CACHESIM_TRACES`` points.  When they are absent these tests are skipped with
a clear message, except under ``CI=true``, where they must be present.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from cachesim.sim import Workload, load_trace

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def traces_root() -> Path:
    """``$CACHESIM_TRACES`` or ``<repo>/../shared/traces``."""
    configured = os.environ.get("CACHESIM_TRACES")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2].parent / "shared" / "traces"


@pytest.fixture(scope="session")
def traces() -> Path:
    """The sample-trace directory (skips, or fails under CI, when missing)."""
    root = traces_root()
    if not (root / "libcachesim" / "cloudPhysicsIO.txt").is_file():
        message = (
            f"sample traces not found at {root} (set CACHESIM_TRACES to the directory "
            "holding libcachesim/, lirs/, arc/, cache2k/, scarab/)"
        )
        if IN_CI:
            pytest.fail(f"CI=true but {message}")
        pytest.skip(message)
    return root


@pytest.fixture(scope="session")
def trace(traces: Path) -> Callable[..., Workload]:
    """Load a trace by relative path once per session."""
    cache: dict[tuple[str, str | None], Workload] = {}

    def load(relative: str, format: str | None = None, **options: object) -> Workload:
        key = (relative + repr(sorted(options.items())), format)
        if key not in cache:
            cache[key] = load_trace(traces / relative, format, **options)  # type: ignore[arg-type]
        return cache[key]

    return load
