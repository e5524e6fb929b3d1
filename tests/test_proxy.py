"""ProviderProxy: every operation goes through one hook, the fast path included."""

from __future__ import annotations

from typing import Any

from cachesim import Cache, ManualClock
from cachesim.providers import MemoryProvider
from cachesim.providers.proxy import ProviderProxy


class Counting(ProviderProxy):
    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.ops: list[str] = []

    async def _call(self, op: str, *args: Any) -> Any:
        self.ops.append(op)
        return await super()._call(op, *args)


async def test_every_operation_goes_through_the_hook() -> None:
    inner = MemoryProvider(clock=ManualClock(), sweep_interval=None)
    proxy = Counting(inner)
    assert proxy.in_process is True
    assert proxy.name == "memory"
    assert proxy.capabilities == inner.capabilities
    cache = Cache(proxy, namespace="n")
    await cache.set("k", 1)
    assert await cache.get("k") == 1, "a proxied in-process provider still serves reads"
    await cache.get_many(["k"])
    await cache.delete("k")
    assert proxy.ops == ["set", "get", "get_many", "delete"], "the get fast path is not taken"
    assert repr(proxy) == repr(inner)
