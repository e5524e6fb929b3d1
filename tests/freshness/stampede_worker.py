"""One process of the multi-process stampede proofs (started with the spawn method)."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any

from cachesim import Cache, EntryOptions
from cachesim.providers import RedisProvider, UpstashProvider


def build_provider(backend: dict[str, str]) -> Any:
    """A provider for ``backend``: {"kind": "redis", "url": ...} or {"kind": "upstash", ...}."""
    if backend["kind"] == "redis":
        return RedisProvider.from_url(backend["url"], max_connections=50)
    return UpstashProvider(url=backend["url"], token=backend["token"])


def stampede(
    backend: dict[str, str],
    namespace: str,
    key: str,
    lock: str | None,
    concurrency: int,
    calls: Any,
    barrier: Any,
    results: Any,
) -> None:
    """Run ``concurrency`` concurrent get_or_set on one cold key; count factory calls."""
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    logging.basicConfig(level=logging.WARNING)

    async def main() -> None:
        options = (
            EntryOptions(ttl=60, lock="distributed", lock_ttl=10, lock_wait=60)
            if lock == "distributed"
            else EntryOptions(ttl=60)
        )
        cache = Cache(build_provider(backend), namespace=namespace, timeout=60, options=options)
        async with cache:

            async def factory() -> str:
                with calls.get_lock():
                    calls.value += 1
                await asyncio.sleep(0.3)  # a slow origin widens the stampede window
                return "filled"

            await asyncio.get_running_loop().run_in_executor(None, barrier.wait)
            answers = await asyncio.gather(
                *(cache.get_or_set(key, factory) for _ in range(concurrency))
            )
            bad = [a for a in answers if a != "filled"]
            results.put(
                {
                    "pid": os.getpid(),
                    "answers": len(answers),
                    "bad": len(bad),
                    "lock_waits": cache.freshness.lock_waits,
                    "lock_timeouts": cache.freshness.lock_timeouts,
                    "errors": cache.errors,
                    "timeouts": cache.timeouts,
                }
            )

    asyncio.run(main())


def holder(
    backend: dict[str, str], namespace: str, key: str, started: Any, lock_ttl: float
) -> None:
    """Take the lock and start a fill that never finishes (the test kills this process)."""
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")

    async def main() -> None:
        options = EntryOptions(ttl=60, lock="distributed", lock_ttl=lock_ttl)
        cache = Cache(build_provider(backend), namespace=namespace, timeout=60, options=options)
        async with cache:

            async def factory() -> str:
                started.set()
                await asyncio.sleep(3600)
                return "never"

            await cache.get_or_set(key, factory)

    asyncio.run(main())


def waiter(
    backend: dict[str, str],
    namespace: str,
    key: str,
    lock_ttl: float,
    ready: Any,
    go: Any,
    waiting: Any,
    results: Any,
) -> None:
    """Wait behind the (doomed) holder, then fill once its lock has expired.

    ``waiting`` is set once this process has seen the lock taken (it polls by then).
    """
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")

    async def main() -> None:
        options = EntryOptions(ttl=60, lock="distributed", lock_ttl=lock_ttl, lock_wait=600)
        provider = build_provider(backend)
        cache = Cache(provider, namespace=namespace, timeout=60, options=options)
        async with cache:
            calls = 0
            lock_name = f"{namespace}:__lock:{key}"

            async def factory() -> str:
                nonlocal calls
                calls += 1
                return "filled-by-waiter"

            ready.set()
            await asyncio.get_running_loop().run_in_executor(None, go.wait)
            task = asyncio.ensure_future(cache.get_or_set(key, factory))
            held = False
            while not task.done():
                held = await provider.has(lock_name)
                if held:  # the holder's lock is there while we ask: we are waiting behind it
                    break
                await asyncio.sleep(0.01)
            waiting.set()
            value = await task
            results.put(
                {
                    "value": value,
                    "calls": calls,
                    "filled_at": time.time(),
                    "lock_waits": cache.freshness.lock_waits,
                    "lock_timeouts": cache.freshness.lock_timeouts,
                    "held_while_asking": held,
                }
            )

    asyncio.run(main())
