"""API: the provider protocol and the types it returns."""

from __future__ import annotations

import inspect

from cachesim.contract.context import ContractContext
from cachesim.contract.markers import clause
from cachesim.providers.base import OPERATIONS, Provider
from cachesim.providers.capabilities import Capability


@clause("API-1")
async def test_provider_conforms_to_the_protocol(ctx: ContractContext) -> None:
    raw = ctx.provider.inner
    assert isinstance(raw, Provider), "the provider lacks part of cachesim.providers.Provider"
    for name in OPERATIONS:
        method = getattr(raw, name)
        assert inspect.iscoroutinefunction(method), f"{name} is not a coroutine function"
    assert isinstance(raw.name, str)
    assert raw.name
    assert isinstance(raw.capabilities, frozenset | set)
    assert all(isinstance(c, Capability) for c in raw.capabilities)
    limit = raw.max_value_bytes
    assert limit is None or type(limit) is int, f"max_value_bytes is {limit!r}"
    assert limit is None or limit > 0, f"max_value_bytes is {limit!r}"
    assert isinstance(raw.in_process, bool)


@clause("API-2")
async def test_provider_returns_the_documented_types(ctx: ContractContext) -> None:
    raw = ctx.provider
    ns = ctx.namespace
    texts = ['"plain"', '{"a":[1,2.5,null]}', "b64:AAEC", '"ünï😀"', "x" * 100_000]
    for i, text in enumerate(texts):
        await raw.set(f"{ns}:t{i}", text, None)
        got = await raw.get(f"{ns}:t{i}")
        assert type(got) is str, f"get returned {got!r:.80}"
        assert got == text, f"get returned {got!r:.80} for {text!r:.80}"
    assert await raw.get(f"{ns}:missing") is None
    many = await raw.get_many([f"{ns}:t1", f"{ns}:missing", f"{ns}:t0"])
    assert many == [texts[1], None, texts[0]]
    assert await raw.has(f"{ns}:t0") is True
    assert await raw.has(f"{ns}:missing") is False
    assert await raw.delete(f"{ns}:t0") is True
    assert await raw.delete(f"{ns}:t0") is False
    removed = await raw.delete_many([f"{ns}:t1", f"{ns}:missing"])
    assert type(removed) is int
    assert removed == 1
    await raw.set_many([(f"{ns}:m1", '"1"'), (f"{ns}:m2", '"2"')], 60.0)
    assert await raw.get_many([f"{ns}:m1", f"{ns}:m2"]) == ['"1"', '"2"']
    counted = await raw.count(f"{ns}:*")
    assert counted is None or type(counted) is int
    cleared = await raw.clear(ns)
    assert type(cleared) is int
    assert cleared == 5
    assert isinstance(await raw.get_stats(), dict)
