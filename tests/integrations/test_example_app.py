"""The example service in examples/fastapi_app.py, end to end."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from cachesim import Cache, CacheEvent, CacheKeys

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fastapi_app.py"
ADMIN = "example-admin-token-0123"
USER = "example-user-token-0123"


@pytest.fixture(scope="module")
def example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cachesim_example_fastapi_app", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def store(example: ModuleType) -> Any:
    class GatedStore(example.UserStore):  # type: ignore[name-defined,misc]
        """Reads wait for ``gate`` so that requests can pile up on one miss."""

        def __init__(self) -> None:
            super().__init__()
            self.gate = asyncio.Event()
            self.gate.set()

        async def fetch(self, user_id: int) -> Any:
            await self.gate.wait()
            return await super().fetch(user_id)

    return GatedStore()


@pytest.fixture
async def client(
    example: ModuleType, memory_cache: Cache, store: Any
) -> AsyncIterator[httpx.AsyncClient]:
    tokens = {ADMIN: example.User("ada", is_admin=True), USER: example.User("bob")}
    app = example.create_app(memory_cache, tokens=tokens, store=store)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as made:
        yield made


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_reads_are_cached_and_writes_invalidate(
    client: httpx.AsyncClient, store: Any, memory_cache: Cache
) -> None:
    first = await client.get("/users/1")
    second = await client.get("/users/1")
    assert first.json() == second.json() == {"id": 1, "name": "Ada"}
    assert store.reads == 1
    assert await memory_cache.has(CacheKeys.user(1))

    updated = await client.put("/users/1", json={"name": "Ada L."})
    assert updated.status_code == 200
    assert (await client.get("/users/1")).json() == {"id": 1, "name": "Ada L."}
    assert store.reads == 2


async def test_missing_users_are_cached_as_none(client: httpx.AsyncClient, store: Any) -> None:
    assert (await client.get("/users/99")).status_code == 404
    assert (await client.get("/users/99")).status_code == 404
    assert store.reads == 1


async def test_concurrent_misses_reach_the_store_once(
    client: httpx.AsyncClient, store: Any, memory_cache: Cache
) -> None:
    all_missed = asyncio.Event()

    def on_event(event: CacheEvent) -> None:
        if memory_cache.misses == 20:  # every request is now waiting on the one read
            all_missed.set()

    memory_cache.subscribe(on_event)
    store.gate.clear()
    requests = [asyncio.ensure_future(client.get("/users/2")) for _ in range(20)]
    await all_missed.wait()
    store.gate.set()
    responses = await asyncio.gather(*requests)
    assert {r.json()["name"] for r in responses} == {"Grace"}
    assert store.reads == 1


async def test_admin_api_is_guarded_and_works(client: httpx.AsyncClient) -> None:
    await client.get("/users/1")
    await client.get("/users/1")
    await client.get("/users/2")
    assert (await client.get("/admin/cache/stats")).status_code == 401
    assert (await client.get("/admin/cache/stats", headers=bearer(USER))).status_code == 403

    stats = await client.get("/admin/cache/stats", headers=bearer(ADMIN))
    assert stats.status_code == 200
    data = stats.json()["data"]
    assert (data["hits"], data["misses"], data["keys"]) == (1, 2, 2)

    invalidated = await client.post(
        "/admin/cache/invalidate",
        json={"pattern": CacheKeys.user_pattern(1)},
        headers=bearer(ADMIN),
    )
    assert invalidated.json()["removed"] == 1
    cleared = await client.delete("/admin/cache/stats", headers=bearer(ADMIN))
    assert cleared.json() == {
        "success": True,
        "message": cleared.json()["message"],
        "removed": 1,
    }


def test_lifespan_runs_under_a_real_asgi_server_loop(
    example: ModuleType, memory_cache: Cache, store: Any
) -> None:
    app = example.create_app(memory_cache, tokens={}, store=store)
    with TestClient(app) as client:
        assert client.get("/health").json() == {"ok": True, "store_connected": True}
    assert store.connected is False


def test_app_from_the_environment(example: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CACHE_PROVIDER", "memory")
    monkeypatch.setenv("EXAMPLE_USER_TOKEN", USER)
    monkeypatch.delenv("EXAMPLE_ADMIN_TOKEN", raising=False)
    with TestClient(example.create_app()) as client:
        assert client.get("/admin/cache/stats").status_code == 401
        assert client.get("/admin/cache/stats", headers=bearer(USER)).status_code == 403
        assert client.get("/admin/cache/stats").status_code == 401
        assert client.get("/users/2").json() == {"id": 2, "name": "Grace"}
