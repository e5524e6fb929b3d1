"""Backplanes: how tiered-cache instances tell each other to drop L1 entries.

* :class:`LocalBackplane`: an in-process bus (tests, notebooks, simulations).
* :class:`RedisBackplane`: Redis pub/sub with heartbeats (a real server or fakeredis).
* :class:`TrackingBackplane`: redis-server's own invalidation messages (``CLIENT
  TRACKING ... BCAST``), which also catch writes made by other clients.
* :class:`PollingBackplane`: a change log (a Redis stream) in the shared backend,
  polled at an interval; works over Upstash's REST API.

See :class:`cachesim.providers.TieredProvider` and docs/cache.md, "Tiered cache".
"""

from cachesim.backplane.base import DEFAULT_CHANNEL, Backoff, Backplane, BackplaneBase, Change
from cachesim.backplane.local import LocalBackplane, LocalBus
from cachesim.backplane.polling import PollingBackplane
from cachesim.backplane.redis import RedisBackplane
from cachesim.backplane.tracking import TrackingBackplane

__all__ = [
    "DEFAULT_CHANNEL",
    "Backoff",
    "Backplane",
    "BackplaneBase",
    "Change",
    "LocalBackplane",
    "LocalBus",
    "PollingBackplane",
    "RedisBackplane",
    "TrackingBackplane",
]
