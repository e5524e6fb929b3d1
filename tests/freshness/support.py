"""Helpers for the freshness tests: controllable factories and a backend that can fail."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from cachesim.providers.proxy import ProviderProxy


class Factory:
    """Counts calls; returns ``value`` (``value-<n>`` when value is None), or raises ``error``.

    ``gate`` (an Event) makes each call wait until it is set; ``started`` is set when a
    call begins; ``advance`` moves a ManualClock forward inside the call (a measured
    recompute time for XFetch).
    """

    def __init__(
        self,
        value: Any = None,
        *,
        error: BaseException | None = None,
        gate: asyncio.Event | None = None,
        clock: Any = None,
        advance: float = 0.0,
    ) -> None:
        self.value = value
        self.error = error
        self.gate = gate
        self.clock = clock
        self.advance = advance
        self.calls = 0
        self.finished = 0
        self.started = asyncio.Event()

    async def __call__(self) -> Any:
        self.calls += 1
        n = self.calls
        self.started.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.clock is not None and self.advance:
            self.clock.advance(self.advance)
        self.finished += 1
        if self.error is not None:
            raise self.error
        return f"value-{n}" if self.value is None else self.value


class Switchable(ProviderProxy):
    """A provider whose backend can be switched off (every call raises ConnectionError)."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.down = False
        self.calls: list[str] = []

    async def _call(self, op: str, *args: Any) -> Any:
        self.calls.append(op)
        if self.down and op not in ("disconnect",):
            raise ConnectionError("backend down")
        return await super()._call(op, *args)


class FixedRandom(random.Random):
    """A Random whose ``random()`` returns a fixed value (for XFetch and jitter tests)."""

    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


async def settle(rounds: int = 5) -> None:
    """Let background tasks run (no wall-clock sleep)."""
    for _ in range(rounds):
        await asyncio.sleep(0)


# ---------------------------------------------------------------------------------------
# Until Cache itself takes options=/tags=, this subclass wires the engine the same way.
from collections.abc import Callable, Iterable  # noqa: E402
from datetime import timedelta  # noqa: E402

from cachesim import Cache, codec  # noqa: E402
from cachesim.freshness import DEFAULT_TAG_TTL, Freshness  # noqa: E402
from cachesim.options import EntryOptions  # noqa: E402


class FreshCache(Cache):
    """Cache with ``options=``, ``tags=`` and ``invalidate_tag`` routed to the engine."""

    def __init__(
        self,
        provider: Any,
        *,
        options: EntryOptions | None = None,
        tag_ttl: float = DEFAULT_TAG_TTL,
        **kwargs: Any,
    ) -> None:
        super().__init__(provider, **kwargs)
        self.freshness = Freshness(self, tag_ttl=tag_ttl)
        self.options = None if options is None else self.freshness.check(options)

    async def get(self, key: str, default: Any = None) -> Any:
        full = self._key(key)
        text = await self._call("get", self.provider.get, full)
        if isinstance(text, str) and text[:1] == "e":
            text = await self.freshness.fresh_text(text)
        hit = isinstance(text, str)
        if hit:
            self.hits += 1
        else:
            self.misses += 1
        return codec.decode(text) if isinstance(text, str) else default

    async def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        by_full = {self._key(k): k for k in keys}
        texts = await self._call("get_many", self.provider.get_many, list(by_full))
        if not isinstance(texts, list):
            texts = [None] * len(by_full)
        texts = await self.freshness.fresh_texts(texts)
        found = {
            k: codec.decode(t)
            for k, t in zip(by_full.values(), texts, strict=True)
            if t is not None
        }
        self.hits += len(found)
        self.misses += len(by_full) - len(found)
        return found

    async def set(  # type: ignore[override]
        self,
        key: str,
        value: Any,
        ttl: float | timedelta | None = None,
        tags: Iterable[str] | None = None,
        options: EntryOptions | None = None,
    ) -> bool:
        opts = self.options if options is None else self.freshness.check(options)
        if opts is None and not tags:
            return await super().set(key, value, ttl)
        opts = opts or EntryOptions()
        full = self._key(key)
        seconds = self._ttl(ttl if ttl is not None else opts.ttl)
        return await self.freshness.set(key, full, value, seconds, opts, tags)

    async def get_or_set(  # type: ignore[override]
        self,
        key: str,
        factory: Callable[[], Any],
        ttl: float | timedelta | None = None,
        options: EntryOptions | None = None,
    ) -> Any:
        opts = self.options if options is None else self.freshness.check(options)
        if opts is None:
            return await super().get_or_set(key, factory, ttl)
        full = self._key(key)
        seconds = self._ttl(ttl if ttl is not None else opts.ttl)
        return await self.freshness.get_or_set(key, full, factory, seconds, opts)

    async def invalidate_tag(self, tag: str) -> int | None:
        return await self.freshness.invalidate_tag(tag)

    async def disconnect(self) -> None:
        await self.freshness.close()
        await super().disconnect()
