"""A correct provider that declares no capability: no TTL, no patterns, no counting.

The suite must pass it, skipping every capability test with its reason: a test
that needs a capability but forgets to declare it would fail here.
"""

from __future__ import annotations

from typing import Any

from cachesim.providers import BaseProvider


class MinimalProvider(BaseProvider):
    """Values in a dict; TTLs ignored; clear by prefix; no pattern support."""

    name = "minimal"
    in_process = True

    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    async def get(self, key: str) -> str | None:
        """The value or None."""
        return self.data.get(key)

    async def set(self, key: str, value: str, ttl: float | None) -> None:
        """Store (the TTL is ignored: TTL is not declared)."""
        self.data[key] = value

    async def delete(self, key: str) -> bool:
        """Remove; whether it was there."""
        return self.data.pop(key, None) is not None

    async def invalidate_pattern(self, pattern: str) -> int:
        """Not supported (PATTERN_INVALIDATION is not declared)."""
        raise RuntimeError("pattern invalidation is not supported by this provider")

    async def clear(self, namespace: str) -> int:
        """Remove the keys of ``namespace``."""
        doomed = [k for k in self.data if k.startswith(namespace + ":")]
        for key in doomed:
            del self.data[key]
        return len(doomed)


def factory() -> Any:
    """The contract factory."""
    return MinimalProvider()
