"""A provider that wraps another: the base for spies, fault injectors and metrics."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cachesim.providers.base import Provider
from cachesim.providers.capabilities import Capability

__all__ = ["ProviderProxy"]


class ProviderProxy:
    """A provider that forwards everything to ``inner`` (attributes included).

    Subclass it to add behaviour around a provider (spying, fault injection,
    metrics): every provider operation goes through :meth:`_call`.
    """

    def __init__(self, inner: Provider) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        if name == "get_now":
            # The cache's synchronous fast path would bypass _call: a proxy that wants
            # it must define get_now itself.
            raise AttributeError(name)
        return getattr(self.inner, name)

    @property
    def name(self) -> str:
        """The inner provider's name."""
        return self.inner.name

    @property
    def capabilities(self) -> frozenset[Capability]:
        """The inner provider's capabilities."""
        return self.inner.capabilities

    @property
    def max_value_bytes(self) -> int | None:
        """The inner provider's limit."""
        return self.inner.max_value_bytes

    @property
    def in_process(self) -> bool:
        """Whether the inner provider is in-process."""
        return bool(getattr(self.inner, "in_process", False))

    async def _call(self, op: str, *args: Any) -> Any:
        """Run provider operation ``op`` on the inner provider (override to wrap it)."""
        return await getattr(self.inner, op)(*args)

    async def initialize(self) -> None:
        """Forward."""
        await self._call("initialize")

    async def disconnect(self) -> None:
        """Forward."""
        await self._call("disconnect")

    async def get(self, key: str) -> str | None:
        """Forward."""
        return await self._call("get", key)  # type: ignore[no-any-return]

    async def get_many(self, keys: Sequence[str]) -> list[str | None]:
        """Forward."""
        return await self._call("get_many", keys)  # type: ignore[no-any-return]

    async def set(self, key: str, value: str, ttl: float | None) -> None:
        """Forward."""
        await self._call("set", key, value, ttl)

    async def set_many(self, items: Sequence[tuple[str, str]], ttl: float | None) -> None:
        """Forward."""
        await self._call("set_many", items, ttl)

    async def delete(self, key: str) -> bool:
        """Forward."""
        return await self._call("delete", key)  # type: ignore[no-any-return]

    async def delete_many(self, keys: Sequence[str]) -> int:
        """Forward."""
        return await self._call("delete_many", keys)  # type: ignore[no-any-return]

    async def has(self, key: str) -> bool:
        """Forward."""
        return await self._call("has", key)  # type: ignore[no-any-return]

    async def invalidate_pattern(self, pattern: str) -> int:
        """Forward."""
        return await self._call("invalidate_pattern", pattern)  # type: ignore[no-any-return]

    async def clear(self, namespace: str) -> int:
        """Forward."""
        return await self._call("clear", namespace)  # type: ignore[no-any-return]

    async def count(self, pattern: str) -> int | None:
        """Forward."""
        return await self._call("count", pattern)  # type: ignore[no-any-return]

    async def get_stats(self) -> dict[str, Any]:
        """Forward."""
        return await self._call("get_stats")  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return repr(self.inner)

    # -- stampede-lock primitives (ATOMIC_SET_IF_ABSENT, COMPARE_AND_DELETE) ----------
    async def set_if_absent(self, key: str, value: str, ttl: float | None) -> bool:
        """Forward."""
        return await self._call("set_if_absent", key, value, ttl)  # type: ignore[no-any-return]

    async def delete_if_equals(self, key: str, value: str) -> bool:
        """Forward."""
        return await self._call("delete_if_equals", key, value)  # type: ignore[no-any-return]
