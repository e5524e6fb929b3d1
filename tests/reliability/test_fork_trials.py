"""Reliability figures: fork trials over a real redis-server and through the gateway.

Many forks per configuration (a SyncCache used before the fork, a fill in flight
at the fork; the child works through the SyncCache or through the async Cache on
a loop of its own), every read of parent and child checked.  Prints the trials
and the wrong values (which must be 0).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from cachesim import Cache, SyncCache
from cachesim.gateway.server import Gateway, GatewayProcess

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")

TRIALS = 10
OPS = 100


def _load(name: str) -> ModuleType:
    """The trial machinery shared with the quick test in tests/ (one copy of it)."""
    path = Path(__file__).resolve().parents[1] / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_cachesim_reliability_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


forks = _load("test_fork")


@pytest.fixture(scope="module")
def gateway_over_redis(redis_url: str) -> Iterator[Gateway]:
    with GatewayProcess(redis_url) as gw:
        yield gw


@pytest.fixture(scope="module")
def fork_figures(reliability_report: Any) -> Iterator[dict[str, Any]]:
    figures: dict[str, Any] = {"trials_per_config": TRIALS, "ops_per_side": OPS, "configs": {}}
    yield figures
    configs = figures["configs"]
    if configs:
        trials = sum(c["trials"] for c in configs.values())
        wrong = sum(c["parent_wrong"] + c["child_wrong"] for c in configs.values())
        reads = sum(c["parent_reads"] + c["child_reads"] for c in configs.values())
        figures.update(trials=trials, wrong_values=wrong, reads_checked=reads)
        line = (
            f"fork: {trials} fork trials ({', '.join(sorted(configs))}), {reads} reads "
            f"checked, {wrong} wrong values"
        )
        reliability_report.record("fork", figures, line)


@pytest.mark.parametrize("child_mode", ["sync", "async"])
@pytest.mark.parametrize("backend", ["redis", "upstash-gateway"])
def test_fork_trials(
    request: pytest.FixtureRequest,
    backend: str,
    child_mode: str,
    namespace: str,
    fork_figures: dict[str, Any],
) -> None:
    if backend == "redis":
        provider = forks.RedisProvider.from_url(request.getfixturevalue("redis_url"))
    else:
        provider = request.getfixturevalue("gateway_over_redis").provider()
    sc = SyncCache(Cache(provider, namespace=namespace, timeout=5))
    try:
        totals: Counter[str] = forks.fork_trials(sc, TRIALS, OPS, child_mode)
    finally:
        sc.close()
    fork_figures["configs"][f"{backend}/{child_mode}"] = dict(totals)
    print(f"fork {backend}/{child_mode}: {dict(totals)}")
    forks.check(totals)
    assert totals["trials"] == TRIALS
