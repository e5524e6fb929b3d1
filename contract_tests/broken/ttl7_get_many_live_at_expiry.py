"""Broken (TTL-7): get_many serves an entry at exactly its expiry instant; get is right."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.reference import DictProvider


class Ttl7GetManyLiveAtExpiry(DictProvider):
    """get_many reads the dict directly and compares the expiry with <=."""

    async def get_many(self, keys: Sequence[str]) -> list[str | None]:
        """Values aligned with keys (off by one at the instant)."""
        now, out = self.clock.now(), []
        for key in keys:
            item = self.data.get(key)
            live = item is not None and (item[1] is None or now <= item[1])
            out.append(item[0] if item is not None and live else None)
        return out


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return Ttl7GetManyLiveAtExpiry(clock)
