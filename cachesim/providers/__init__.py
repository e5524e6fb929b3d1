"""Cache providers: the protocol, its capabilities and the built-in implementations."""

from cachesim.providers.base import BaseProvider, Provider
from cachesim.providers.capabilities import CAPABILITY_VOCABULARY_VERSION, Capability
from cachesim.providers.memory import MemoryProvider
from cachesim.providers.redis import RedisProvider
from cachesim.providers.upstash import UpstashProvider

__all__ = [
    "CAPABILITY_VOCABULARY_VERSION",
    "BaseProvider",
    "Capability",
    "MemoryProvider",
    "Provider",
    "RedisProvider",
    "UpstashProvider",
]
