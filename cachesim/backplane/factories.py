"""Provider factories for running the contract suite on tiered caches.

    cachesim contract cachesim.backplane.factories:tiered_memory
    pytest --pyargs cachesim.contract --cache-provider cachesim.backplane.factories:tiered_redis

Each builds a :class:`~cachesim.providers.TieredProvider` whose backplane is the one
that L2 would use in production: a local bus over memory, Redis pub/sub over
fakeredis and redis-server (``REDIS_URL``), the polled change log over Upstash
(``UPSTASH_REDIS_REST_URL`` / ``_TOKEN``, e.g. the local gateway).  Instances built
by one factory in one process share their L2 and hear each other.
"""

from __future__ import annotations

import os
from typing import Any

from cachesim.backplane.local import LocalBackplane, LocalBus
from cachesim.backplane.polling import PollingBackplane
from cachesim.backplane.redis import RedisBackplane
from cachesim.clock import ManualClock
from cachesim.providers.memory import MemoryProvider
from cachesim.providers.tiered import TieredProvider

__all__ = ["tiered_fakeredis", "tiered_memory", "tiered_redis", "tiered_upstash"]

#: L1 size used by these factories (small, so the suite's bulk tests also exercise eviction).
L1_ENTRIES = 1000

_fake_server: Any = None
_bus = LocalBus()


def tiered_memory(clock: ManualClock | None = None) -> TieredProvider:
    """Memory L1 over a memory L2 (private to the instance), local bus, injectable clock."""
    return TieredProvider(
        l1=MemoryProvider(max_entries=L1_ENTRIES, clock=clock),
        l2=MemoryProvider(clock=clock),
        backplane=LocalBackplane(_bus),
    )


def tiered_fakeredis() -> TieredProvider:
    """Memory L1 over fakeredis (one server per process), pub/sub backplane on it."""
    global _fake_server
    import fakeredis

    from cachesim.providers.redis import RedisProvider

    if _fake_server is None:
        _fake_server = fakeredis.FakeServer()
    client = fakeredis.FakeAsyncRedis(server=_fake_server, decode_responses=True)
    return TieredProvider(
        l1=MemoryProvider(max_entries=L1_ENTRIES),
        l2=RedisProvider.fake(_fake_server),
        backplane=RedisBackplane(client=client, heartbeat=0.05),
        staleness_bound=1.0,
    )


def tiered_redis() -> TieredProvider:
    """Memory L1 over redis-server at ``REDIS_URL``, pub/sub backplane on it."""
    from cachesim.settings import create_provider

    url = os.environ["REDIS_URL"]
    return TieredProvider(
        l1=MemoryProvider(max_entries=L1_ENTRIES),
        l2=create_provider("redis"),
        backplane=RedisBackplane(url, heartbeat=0.05),
        staleness_bound=1.0,
    )


def tiered_upstash() -> TieredProvider:
    """Memory L1 over Upstash REST, change log polled every 0.25 s."""
    from cachesim.settings import create_provider

    return TieredProvider(
        l1=MemoryProvider(max_entries=L1_ENTRIES),
        l2=create_provider("upstash"),
        backplane=PollingBackplane(interval=0.25),
        staleness_bound=1.0,
    )


tiered_upstash.contract_secrets = tuple(  # type: ignore[attr-defined]
    v for var in ("UPSTASH_REDIS_REST_TOKEN", "REDIS_REST_TOKEN") if (v := os.environ.get(var))
)
