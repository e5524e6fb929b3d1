"""OPT (Belady) under TTLs: expirations are expirations, evictions are live entries pushed out."""

from __future__ import annotations

import numpy as np
import pytest

from cachesim.policies import POLICIES
from cachesim.sim import Workload, simulate, with_ttls, zipf


@pytest.mark.parametrize("engine", ["auto", "python"])
def test_short_ttls_leave_opt_nothing_to_evict(engine: str) -> None:
    # one request per second, TTL 300 s: at most 300 live entries, room for 500
    w = zipf(10_000, 60_000, 0.99, seed=3)
    lru = simulate(w, 0.05, "lru", 300.0, engine=engine)  # type: ignore[arg-type]
    opt = simulate(w, 0.05, "opt", 300.0, engine=engine)  # type: ignore[arg-type]
    assert opt.capacity is not None and opt.capacity > 300
    assert lru.evictions == opt.evictions == 0
    assert opt.hits == lru.hits
    assert opt.expirations == lru.expirations > 0


@pytest.mark.parametrize("engine", ["auto", "python"])
def test_expired_entries_are_purged_as_expirations_before_opt_evicts(engine: str) -> None:
    # 1 and 2 expire at 2 and 3: at 5 they are purged (expirations) to make room for 3;
    # at 6.5 the cache holds live 3 and 1, and 3 (never read again) is evicted for 2
    w = Workload(np.array([1, 2, 3, 1, 2]), time=np.array([0.0, 1.0, 5.0, 6.0, 6.5]))
    r = simulate(w, 2, "opt", 2.0, engine=engine)  # type: ignore[arg-type]
    assert (r.hits, r.expirations, r.evictions) == (0, 2, 1)


@pytest.mark.parametrize("engine", ["auto", "python"])
def test_opt_evicts_an_entry_that_would_expire_before_its_next_read(engine: str) -> None:
    # B (key 2) is read again at t=3 while live; A (key 1, read at t=1) is read again
    # only at t=10, after it expires at 6: it is dead.
    keys = np.array([2, 1, 3, 2, 1])
    times = np.array([0.0, 1.0, 2.0, 3.0, 10.0])
    r = simulate(Workload(keys, time=times), 2, "opt", 5.0, engine=engine)  # type: ignore[arg-type]
    # t=2: C needs room and A goes, though more recent than B: B hits at t=3.  At t=10
    # B and C have expired and are purged.
    assert (r.hits, r.evictions, r.expirations) == (1, 1, 2)
    lru = simulate(Workload(keys, time=times), 2, "lru", 5.0, engine=engine)  # type: ignore[arg-type]
    assert lru.hits == 0  # LRU evicted B, the least recently used


def test_opt_is_the_ceiling_with_ttls() -> None:
    w = with_ttls(zipf(2_000, 40_000, 0.9, seed=5), [20.0, 200.0, 2_000.0], seed=5)
    for capacity in (20, 200):
        best = simulate(w, capacity, "opt").hits
        for policy in sorted(set(POLICIES) - {"ttl"}):  # ttl-only is unbounded
            assert simulate(w, capacity, policy).hits <= best, (policy, capacity)
