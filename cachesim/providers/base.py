"""The provider protocol: what every cache backend implements.

A provider stores opaque text values under full keys with an optional TTL and can
find keys by Redis glob.  Everything that must behave the same everywhere
(namespacing, serialization, validation, stats, single-flight, timeouts, fail-open)
lives once, in :class:`cachesim.Cache`; providers stay thin.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from cachesim.keys import escape_glob
from cachesim.providers.capabilities import Capability

__all__ = ["OPERATIONS", "BaseProvider", "Provider"]

#: The provider protocol's operations (all coroutines), in a stable order.
OPERATIONS: tuple[str, ...] = (
    "initialize",
    "disconnect",
    "get",
    "get_many",
    "set",
    "set_many",
    "delete",
    "delete_many",
    "has",
    "invalidate_pattern",
    "clear",
    "count",
    "get_stats",
)


@runtime_checkable
class Provider(Protocol):
    """The interface :class:`cachesim.Cache` drives.

    Keys arrive validated and namespaced; values arrive as text produced by
    :mod:`cachesim.codec`; ``ttl`` is seconds (> 0, millisecond resolution) or None
    for no expiry.  Methods may raise anything on backend failure: the cache
    counts it and fails open.
    """

    @property
    def name(self) -> str:
        """Short provider name (``memory``, ``redis``...), used in stats and reports."""
        ...

    @property
    def capabilities(self) -> frozenset[Capability]:
        """What this provider supports beyond the mandatory core."""
        ...

    @property
    def max_value_bytes(self) -> int | None:
        """Largest stored value (encoded text) the provider accepts, None = no declared limit."""
        ...

    @property
    def in_process(self) -> bool:
        """True when calls never leave the process (no timeout needed)."""
        ...

    async def initialize(self) -> None:
        """Connect (idempotent).  May raise if the backend is unreachable."""
        ...

    async def disconnect(self) -> None:
        """Release connections (idempotent)."""
        ...

    async def get(self, key: str) -> str | None:
        """Return the stored text or None when absent or expired."""
        ...

    async def get_many(self, keys: Sequence[str]) -> list[str | None]:
        """Return stored texts in order, None for each miss."""
        ...

    async def set(self, key: str, value: str, ttl: float | None) -> None:
        """Store ``value`` under ``key``, replacing any old value and TTL."""
        ...

    async def set_many(self, items: Sequence[tuple[str, str]], ttl: float | None) -> None:
        """Store several entries with one TTL."""
        ...

    async def delete(self, key: str) -> bool:
        """Remove ``key``; return whether a live entry existed."""
        ...

    async def delete_many(self, keys: Sequence[str]) -> int:
        """Remove keys; return how many live entries existed."""
        ...

    async def has(self, key: str) -> bool:
        """Whether ``key`` holds a live entry."""
        ...

    async def invalidate_pattern(self, pattern: str) -> int:
        """Remove every key matching the Redis glob ``pattern``; return the count."""
        ...

    async def clear(self, namespace: str) -> int:
        """Remove every key of ``namespace`` (keys starting ``namespace:``); never more."""
        ...

    async def count(self, pattern: str) -> int | None:
        """Count live keys matching ``pattern``, or None when the provider cannot."""
        ...

    async def get_stats(self) -> dict[str, Any]:
        """Provider-specific figures (entries, evictions, commands sent ...)."""
        ...


class BaseProvider:
    """Convenience base: bulk operations, ``clear`` and lifecycle built on the basics.

    Subclasses implement ``get``, ``set``, ``delete``, ``has`` and
    ``invalidate_pattern``; override the rest when the backend does better.
    """

    name: str = "custom"
    capabilities: frozenset[Capability] = frozenset()
    max_value_bytes: int | None = None
    in_process: bool = False

    async def initialize(self) -> None:
        """Nothing to connect by default."""

    async def disconnect(self) -> None:
        """Nothing to release by default."""

    async def get(self, key: str) -> str | None:  # pragma: no cover - abstract
        raise NotImplementedError  # abstract

    async def set(self, key: str, value: str, ttl: float | None) -> None:  # pragma: no cover
        raise NotImplementedError  # abstract

    async def delete(self, key: str) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError  # abstract

    async def has(self, key: str) -> bool:
        """Default: a read."""
        return await self.get(key) is not None

    async def invalidate_pattern(self, pattern: str) -> int:  # pragma: no cover - abstract
        raise NotImplementedError  # abstract

    async def get_many(self, keys: Sequence[str]) -> list[str | None]:
        """Default: one ``get`` per key."""
        return [await self.get(k) for k in keys]

    async def set_many(self, items: Sequence[tuple[str, str]], ttl: float | None) -> None:
        """Default: one ``set`` per entry."""
        for key, value in items:
            await self.set(key, value, ttl)

    async def delete_many(self, keys: Sequence[str]) -> int:
        """Default: one ``delete`` per key."""
        return sum([await self.delete(k) for k in keys])

    async def clear(self, namespace: str) -> int:
        """Default: invalidate ``<escaped namespace>:*``."""
        return await self.invalidate_pattern(escape_glob(namespace) + ":*")

    async def count(self, pattern: str) -> int | None:
        """Default: cannot count."""
        return None

    async def get_stats(self) -> dict[str, Any]:
        """Default: nothing provider-specific."""
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
