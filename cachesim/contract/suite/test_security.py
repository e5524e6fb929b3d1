"""SEC: secrets never appear in reprs, stats or logs."""

from __future__ import annotations

import pytest

from cachesim.contract.context import ContractContext
from cachesim.contract.helpers import capture_logs
from cachesim.contract.markers import clause


@clause("SEC-1")
async def test_secrets_never_leak(ctx: ContractContext) -> None:
    secrets = [s for s in ctx.harness.factory.secrets if len(s) >= 4]
    if not secrets:
        pytest.skip("no secret is known for this provider (set contract_secrets on the factory)")
    texts: list[str] = []
    with capture_logs("") as records:
        provider = await ctx.open_provider()
        cache = ctx.make_cache(provider)
        await cache.set("k", "v")
        await cache.get("k")
        texts += [repr(provider.inner), repr(cache), repr(await cache.get_stats())]
        failing = ctx.make_cache(ctx.faulty(provider), timeout=0.1)
        await failing.get("k")
        await cache.disconnect()
        ctx.allow_provider_failures = True
        await cache.get("k")
        texts.append(repr(await cache.get_stats()))
    for record in records:
        texts.append(record.getMessage())
        if record.exc_text:
            texts.append(record.exc_text)
        texts.extend(str(v) for v in record.__dict__.values() if isinstance(v, str))
    leaks = [t[:120] for t in texts for s in secrets if s in t]
    assert not leaks, f"a secret appeared in: {leaks}"
