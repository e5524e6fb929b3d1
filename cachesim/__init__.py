"""cachesim: a provider-agnostic async cache, its provider contract suite and a workload simulator.

The public API is re-exported here::

    from cachesim import Cache, CacheKeys, CacheSettings, CacheStats, create_provider
"""

from cachesim import errors
from cachesim.cache import MAX_TTL, NO_EXPIRY, Cache, CacheEvent
from cachesim.clock import Clock, ManualClock, SystemClock
from cachesim.decorators import cached
from cachesim.errors import (
    CacheError,
    ConfigurationError,
    FactoryTimeoutError,
    InvalidKeyError,
    InvalidTTLError,
    ProviderError,
    UnstorableValueError,
)
from cachesim.keys import CacheKeys, escape_glob
from cachesim.options import EntryOptions
from cachesim.settings import CacheSettings, create_provider
from cachesim.stats import CacheStats, LatencySummary
from cachesim.sync import SyncCache

__version__ = "0.1.0"

__all__ = [
    "MAX_TTL",
    "NO_EXPIRY",
    "Cache",
    "CacheError",
    "CacheEvent",
    "CacheKeys",
    "CacheSettings",
    "CacheStats",
    "Clock",
    "ConfigurationError",
    "EntryOptions",
    "FactoryTimeoutError",
    "InvalidKeyError",
    "InvalidTTLError",
    "LatencySummary",
    "ManualClock",
    "ProviderError",
    "SyncCache",
    "SystemClock",
    "UnstorableValueError",
    "__version__",
    "cached",
    "create_provider",
    "errors",
    "escape_glob",
]
