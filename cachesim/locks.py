"""The distributed stampede lock: one factory call per key across processes and hosts.

A lock is a key ``<namespace>:__lock:<key>`` taken with the provider's atomic
``set_if_absent`` (``SET NX PX`` on Redis and Upstash, ``add`` on memcached) holding a
random token and an expiry, and released with ``delete_if_equals`` (compare-and-delete:
a Lua script on Redis and Upstash), so a holder never releases a lock that expired and
was taken by someone else.  Waiters do not call the factory: they poll for the value the
holder writes, with jittered exponential backoff, and take the lock themselves if it
disappears without a value (the holder died, or its factory failed).

Every backend call goes through the owning cache's fail-open machinery: a lock that
cannot be taken because the backend is down lets the caller proceed without it.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final, Literal

from cachesim.errors import ConfigurationError
from cachesim.providers.capabilities import Capability

__all__ = [
    "LOCK_CAPABILITIES",
    "POLL_FIRST",
    "POLL_MAX",
    "LockOutcome",
    "StampedeLock",
    "require_lock_capabilities",
]

#: What a provider must declare for ``lock="distributed"``.
LOCK_CAPABILITIES: Final = frozenset(
    {Capability.ATOMIC_SET_IF_ABSENT, Capability.COMPARE_AND_DELETE}
)
#: First and largest pause between a waiter's polls (seconds; each is jittered ±50 %).
POLL_FIRST: Final = 0.005
POLL_MAX: Final = 0.2

#: ``call(op, fn, *args)`` runs one provider call with the cache's timeout, breaker and
#: fail-open handling; it returns ``failed`` (a sentinel) when the backend failed.
CallFn = Callable[..., Awaitable[Any]]


def require_lock_capabilities(provider: object) -> None:
    """Raise :class:`ConfigurationError` unless ``provider`` can hold a distributed lock."""
    declared = frozenset(getattr(provider, "capabilities", ()))
    missing = sorted(str(c) for c in LOCK_CAPABILITIES - declared)
    if missing:
        name = getattr(provider, "name", type(provider).__name__)
        raise ConfigurationError(
            f"lock='distributed' needs a provider declaring {', '.join(missing)}; the "
            f"{name} provider does not. Use lock='local' (single flight per process) or a "
            "provider with atomic set-if-absent and compare-and-delete (redis, upstash, "
            "memcached, sqlite, memory)"
        )


@dataclass(frozen=True, slots=True)
class LockOutcome:
    """How a lock attempt ended.

    ``acquired``: we hold the lock (``token`` set) and must fill and release it.
    ``filled``: the holder's value appeared (``text`` is the stored text).
    ``timeout``: we waited ``lock_wait`` without seeing a value.
    ``unavailable``: the backend failed; proceed without a lock.
    """

    kind: Literal["acquired", "filled", "timeout", "unavailable"]
    token: str | None = None
    text: str | None = None
    waited: bool = False


class StampedeLock:
    """Take, wait for and release the distributed lock of one cache.

    ``read`` returns the stored text of a key when it holds a value a waiter may return
    (fresh), else None; ``call`` is the cache's fail-open provider call.
    """

    def __init__(
        self,
        provider: Any,
        call: CallFn,
        is_failed: Callable[[object], bool],
        *,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.provider = provider
        self.call = call
        self.is_failed = is_failed
        self.rng = rng or random.Random()
        self.sleep = sleep
        self.monotonic = monotonic
        self.polls = 0

    async def acquire_or_wait(
        self,
        lock_key: str,
        read: Callable[[], Awaitable[str | None]],
        *,
        ttl: float,
        wait: float,
    ) -> LockOutcome:
        """Take the lock, or wait (up to ``wait`` s) for the holder's value.

        Right after taking the lock the value is read once more: a holder that finished
        between our miss and our lock must not make us call the factory again.
        """
        token = secrets.token_hex(16)
        deadline = self.monotonic() + wait
        pause = POLL_FIRST
        waited = False
        while True:
            got = await self.call("lock", self.provider.set_if_absent, lock_key, token, ttl)
            if self.is_failed(got):
                return LockOutcome("unavailable", waited=waited)
            if got:
                text = await read()
                if text is not None:
                    await self.release(lock_key, token)
                    return LockOutcome("filled", text=text, waited=waited)
                return LockOutcome("acquired", token=token, waited=waited)
            waited = True
            if self.monotonic() >= deadline:
                return LockOutcome("timeout", waited=True)
            await self.sleep(pause * (0.5 + self.rng.random()))
            pause = min(pause * 2, POLL_MAX)
            self.polls += 1
            text = await read()
            if text is not None:
                return LockOutcome("filled", text=text, waited=True)

    async def release(self, lock_key: str, token: str) -> bool:
        """Compare-and-delete: remove the lock only if it still holds ``token``."""
        done = await self.call("unlock", self.provider.delete_if_equals, lock_key, token)
        return done is True
