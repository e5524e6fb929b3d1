"""Cache providers: the protocol, its capabilities and the built-in implementations."""

from typing import TYPE_CHECKING, Any

from cachesim.providers.base import BaseProvider, Provider
from cachesim.providers.capabilities import CAPABILITY_VOCABULARY_VERSION, Capability
from cachesim.providers.memory import MemoryProvider
from cachesim.providers.redis import RedisProvider
from cachesim.providers.upstash import UpstashProvider

if TYPE_CHECKING:
    from cachesim.providers.memcached import MemcachedProvider
    from cachesim.providers.sqlite import SQLiteProvider
    from cachesim.providers.tiered import TieredProvider

__all__ = [
    "CAPABILITY_VOCABULARY_VERSION",
    "BaseProvider",
    "Capability",
    "MemcachedProvider",
    "MemoryProvider",
    "Provider",
    "RedisProvider",
    "SQLiteProvider",
    "TieredProvider",
    "UpstashProvider",
]

# Imported on first use: their modules are not needed by everyone who imports cachesim.
_LAZY = {
    "MemcachedProvider": "cachesim.providers.memcached",
    "SQLiteProvider": "cachesim.providers.sqlite",
    "TieredProvider": "cachesim.providers.tiered",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'cachesim.providers' has no attribute {name!r}")
