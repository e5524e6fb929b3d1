"""A pinned maximum nesting depth: deeper values are refused at set, the rest read back anywhere."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import pytest

from cachesim import Cache, ManualClock
from cachesim.codec import MAX_DEPTH, decode, encode
from cachesim.errors import UnstorableValueError
from cachesim.providers.base import Provider


def nested(depth: int, leaf: Any = 1, kind: str = "list") -> Any:
    """A value with ``depth`` nested containers around ``leaf``."""
    value = leaf
    for _ in range(depth):
        value = [value] if kind == "list" else {"k": value}
    return value


def at_stack_depth(margin: int, fn: Callable[[], Any]) -> Any:
    """Call ``fn`` with only about ``margin`` frames left before the recursion limit."""
    import inspect

    here = len(inspect.stack(0))

    def down(n: int) -> Any:
        return fn() if n <= 0 else down(n - 1)

    return down(sys.getrecursionlimit() - here - margin)


@pytest.fixture
async def cache(provider: Provider, namespace: str, clock: ManualClock) -> Cache:
    return Cache(provider, namespace=namespace, default_ttl=60, clock=clock)


@pytest.mark.parametrize("kind", ["list", "dict"])
async def test_deeper_than_the_limit_is_refused_at_set(cache: Cache, kind: str) -> None:
    with pytest.raises(UnstorableValueError, match=str(MAX_DEPTH)) as info:
        await cache.set("deep", nested(MAX_DEPTH + 1, kind=kind))
    assert "flatten" in str(info.value), "the message says what to do"
    assert not await cache.has("deep"), "a refused value writes nothing"
    with pytest.raises(UnstorableValueError):
        await cache.set("deep", nested(900, kind=kind))
    with pytest.raises(UnstorableValueError):
        await cache.get_or_set("deep", lambda: nested(MAX_DEPTH + 1, kind=kind))


@pytest.mark.parametrize("leaf", [1, 2**70, "\ud800"], ids=["plain", "big-int", "lone-surrogate"])
async def test_values_at_the_limit_read_back_from_a_deep_stack(cache: Cache, leaf: Any) -> None:
    value = nested(MAX_DEPTH, leaf)
    assert await cache.set("deep", value)
    text = encode(value)
    # Reading (and writing) must not depend on how deep the caller's stack is.
    assert at_stack_depth(40, lambda: decode(text)) == value
    assert at_stack_depth(40, lambda: encode(value)) == text
    assert await cache.get("deep") == value


def test_the_limit_is_pinned() -> None:
    assert MAX_DEPTH == 128, "MAX_DEPTH is part of the documented contract"
    assert decode(encode(nested(MAX_DEPTH))) == nested(MAX_DEPTH)
