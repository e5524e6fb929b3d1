"""set_if_absent and delete_if_equals on every built-in provider."""

from __future__ import annotations

import asyncio

from cachesim.providers.base import Provider
from cachesim.providers.capabilities import Capability


async def test_declares_the_lock_capabilities(any_provider: Provider) -> None:
    caps = any_provider.capabilities
    assert Capability.ATOMIC_SET_IF_ABSENT in caps, "every built-in provider can set-if-absent"
    assert Capability.COMPARE_AND_DELETE in caps, "every built-in provider can compare-and-delete"


async def test_set_if_absent_stores_only_once(any_provider: Provider, key: str) -> None:
    assert await any_provider.set_if_absent(key, "a", 30) is True  # type: ignore[attr-defined]
    assert await any_provider.set_if_absent(key, "b", 30) is False, "a live key was overwritten"  # type: ignore[attr-defined]
    assert await any_provider.get(key) == "a"


async def test_concurrent_set_if_absent_has_one_winner(any_provider: Provider, key: str) -> None:
    results = await asyncio.gather(
        *(any_provider.set_if_absent(key, f"t{i}", 30) for i in range(20))  # type: ignore[attr-defined]
    )
    assert sum(results) == 1, f"exactly one caller must win the key, got {sum(results)}"
    winner = results.index(True)
    assert await any_provider.get(key) == f"t{winner}"


async def test_delete_if_equals_only_removes_the_owner(any_provider: Provider, key: str) -> None:
    await any_provider.set(key, "mine", 30)
    assert await any_provider.delete_if_equals(key, "theirs") is False  # type: ignore[attr-defined]
    assert await any_provider.get(key) == "mine", "a foreign token released the lock"
    assert await any_provider.delete_if_equals(key, "mine") is True  # type: ignore[attr-defined]
    assert await any_provider.get(key) is None
    assert await any_provider.delete_if_equals(key, "mine") is False  # type: ignore[attr-defined]
    assert await any_provider.set_if_absent(key, "next", 30) is True, "the key was not freed"  # type: ignore[attr-defined]


async def test_fakeredis_without_scripting_uses_a_watch_transaction(key: str) -> None:
    from cachesim.providers import RedisProvider

    provider = RedisProvider.fake()
    provider._no_scripting = True  # as when lupa is not installed
    await provider.set(key, "mine", 30)
    assert await provider.delete_if_equals(key, "theirs") is False
    assert await provider.delete_if_equals(key, "mine") is True
    assert await provider.get(key) is None
    assert provider.commands["EVAL"] == 0, "the fallback must not try EVAL"
    assert provider.commands["WATCH"] == 2
    await provider.disconnect()
