"""cache_lifespan: start-up initialisation, shutdown, composition with the app's lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from cachesim import Cache
from cachesim.integrations.fastapi import cache_lifespan
from cachesim.providers import MemoryProvider


class RecordingProvider(MemoryProvider):
    """A memory provider that notes when it is connected and released."""

    def __init__(self, name: str, log: list[str]) -> None:
        super().__init__(sweep_interval=None)
        self.label = name
        self.log = log

    async def initialize(self) -> None:
        self.log.append(f"{self.label} initialize")

    async def disconnect(self) -> None:
        self.log.append(f"{self.label} disconnect")


def test_lifespan_initialises_and_disconnects_around_the_app() -> None:
    log: list[str] = []
    cache = Cache(RecordingProvider("cache", log), namespace="app")
    app = FastAPI(lifespan=cache_lifespan(cache))

    @app.get("/ping")
    async def ping() -> dict[str, bool]:
        log.append("request")
        return {"ok": await cache.set("k", 1)}

    with TestClient(app) as client:
        assert log == ["cache initialize"]
        assert client.get("/ping").json() == {"ok": True}
    assert log == ["cache initialize", "request", "cache disconnect"]


def test_lifespan_wraps_the_apps_own_lifespan_and_passes_its_state() -> None:
    log: list[str] = []
    first = Cache(RecordingProvider("first", log), namespace="a")
    second = Cache(RecordingProvider("second", log), namespace="b")

    @asynccontextmanager
    async def app_lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        # Start-up code can already use the caches (e.g. to warm them).
        log.append(f"app start (warm: {await first.set('warm', True)})")
        yield {"answer": 42}
        log.append("app stop")

    app = FastAPI(lifespan=cache_lifespan(first, second, inner=app_lifespan))

    @app.get("/state")
    async def state(request: Request) -> dict[str, Any]:
        return {"answer": request.state.answer}

    with TestClient(app) as client:
        assert client.get("/state").json() == {"answer": 42}
    assert log == [
        "first initialize",
        "second initialize",
        "app start (warm: True)",
        "app stop",
        "second disconnect",
        "first disconnect",
    ]


async def test_caches_are_disconnected_when_the_apps_start_up_fails() -> None:
    log: list[str] = []
    cache = Cache(RecordingProvider("cache", log), namespace="app")

    @asynccontextmanager
    async def failing(app: Any) -> AsyncIterator[None]:
        raise RuntimeError("database unreachable")
        yield  # pragma: no cover

    lifespan = cache_lifespan(cache, inner=failing)
    with pytest.raises(RuntimeError, match="database unreachable"):
        async with lifespan(None):
            pass  # pragma: no cover
    assert log == ["cache initialize", "cache disconnect"]


async def test_an_unreachable_backend_does_not_stop_start_up() -> None:
    class Down(MemoryProvider):
        async def initialize(self) -> None:
            raise ConnectionError("refused")

    cache = Cache(Down(sweep_interval=None), namespace="app")
    async with cache_lifespan(cache)(None) as state:
        assert state is None
        assert await cache.get("k", "fallback") == "fallback"
    assert cache.errors == 1


def test_lifespan_needs_caches() -> None:
    with pytest.raises(TypeError, match="at least one"):
        cache_lifespan()
    with pytest.raises(TypeError, match="Cache objects"):
        cache_lifespan(object())  # type: ignore[call-overload]
