"""The reference model of a cache namespace, written independently of the code under test.

``CacheModel`` is what the contract says a ``Cache`` does, as a dict plus an
expiry map: the model-based tests compare every result of the real cache with it.
It deliberately shares no code with :mod:`cachesim.cache` or :mod:`cachesim.keys`
(its glob matcher is the suite's own, :mod:`cachesim.contract.glob`), so a bug
there cannot hide by agreeing with itself.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass, field
from typing import Any

from cachesim.contract.glob import stringmatch

__all__ = ["CacheModel", "glob_match"]


def glob_match(pattern: str, key: str) -> bool:
    """Whether Redis glob ``pattern`` matches the whole of ``key`` (on UTF-8 bytes).

    The suite's reference matcher, :func:`cachesim.contract.glob.stringmatch`.
    """
    return stringmatch(pattern, key)


def _normalise(value: Any) -> Any:
    """What a value looks like after a round trip (tuples -> lists, bytes-like -> bytes)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return json.loads(json.dumps(value, allow_nan=False))


@dataclass
class _Entry:
    value: Any
    expires_at: float | None


@dataclass
class CacheModel:
    """One cache namespace as the contract describes it.

    ``now`` is the model's clock (seconds); ``default_ttl`` may be ``math.inf``.
    Every method mirrors the ``Cache`` method of the same name and returns what the
    real one must return; ``hits`` and ``misses`` follow STAT-2.
    """

    default_ttl: float = math.inf
    now: float = 0.0
    entries: dict[str, _Entry] = field(default_factory=dict)
    hits: int = 0
    misses: int = 0

    # -- time ---------------------------------------------------------------------
    def advance(self, seconds: float) -> None:
        """Move the model's clock forward."""
        self.now += seconds

    def _live(self, key: str) -> _Entry | None:
        entry = self.entries.get(key)
        if entry is None:
            return None
        if entry.expires_at is not None and self.now >= entry.expires_at:
            del self.entries[key]
            return None
        return entry

    def live_keys(self) -> list[str]:
        """Keys holding live entries."""
        return [k for k in list(self.entries) if self._live(k) is not None]

    def _expiry(self, ttl: float | None) -> float | None:
        seconds = self.default_ttl if ttl is None else ttl
        return None if math.isinf(seconds) else self.now + seconds

    # -- operations ---------------------------------------------------------------
    def get(self, key: str, default: Any = None) -> Any:
        """The value, or ``default`` on a miss (counts a hit or a miss)."""
        entry = self._live(key)
        if entry is None:
            self.misses += 1
            return default
        self.hits += 1
        return copy.deepcopy(entry.value)

    def has(self, key: str) -> bool:
        """Whether ``key`` is live (not a read)."""
        return self._live(key) is not None

    def set(self, key: str, value: Any, ttl: float | None = None) -> bool:
        """Store ``value`` with ``ttl`` (None = default)."""
        self.entries[key] = _Entry(_normalise(value), self._expiry(ttl))
        return True

    def set_many(self, items: dict[str, Any], ttl: float | None = None) -> bool:
        """Store every item with one TTL."""
        for key, value in items.items():
            self.set(key, value, ttl)
        return True

    def get_many(self, keys: list[str]) -> dict[str, Any]:
        """Hits only; one hit or miss per distinct key."""
        found: dict[str, Any] = {}
        for key in dict.fromkeys(keys):
            entry = self._live(key)
            if entry is None:
                self.misses += 1
            else:
                self.hits += 1
                found[key] = copy.deepcopy(entry.value)
        return found

    def delete(self, key: str) -> bool:
        """Remove ``key``; whether it was live."""
        live = self._live(key) is not None
        self.entries.pop(key, None)
        return live

    def delete_many(self, keys: list[str]) -> int:
        """Remove keys; how many were live."""
        return sum(self.delete(k) for k in dict.fromkeys(keys))

    def invalidate_pattern(self, pattern: str) -> int:
        """Remove live keys matching the glob; how many."""
        doomed = [k for k in self.live_keys() if glob_match(pattern, k)]
        for key in doomed:
            del self.entries[key]
        return len(doomed)

    def clear(self) -> int:
        """Remove everything; how many live entries there were."""
        live = len(self.live_keys())
        self.entries.clear()
        return live

    def get_or_set(self, key: str, value: Any, ttl: float | None = None) -> tuple[Any, bool]:
        """``(result, factory_called)`` for a factory that returns ``value``."""
        entry = self._live(key)
        if entry is not None:
            self.hits += 1
            return copy.deepcopy(entry.value), False
        self.misses += 1
        self.set(key, value, ttl)
        return _normalise(value), True
