"""The admin cache router: authorization, stats, clear, invalidate and error shapes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import fakeredis
import httpx
import pytest
from fastapi import Depends, FastAPI
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from cachesim import Cache, CacheStats
from cachesim.integrations.fastapi import (
    authorize_user,
    cache_router,
    require_bearer_token,
)
from cachesim.providers import RedisProvider

ADMIN = "admin-token-0123456789"
USER = "user-token-0123456789"
USERS = {ADMIN: {"name": "ada", "admin": True}, USER: {"name": "bob", "admin": False}}
PREFIX = "/admin/cache"

_bearer = HTTPBearer(auto_error=False)


async def current_user(
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),  # noqa: B008
) -> dict[str, Any] | None:
    """The app's own authentication: a token table."""
    return None if credentials is None else USERS.get(credentials.credentials)


def make_app(cache: Cache, authorize: Any = None) -> FastAPI:
    app = FastAPI()
    guard = authorize or authorize_user(current_user, lambda user: user["admin"])
    app.include_router(cache_router(cache, authorize=guard), prefix=PREFIX)
    return app


def client_for(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def server() -> fakeredis.FakeServer:
    return fakeredis.FakeServer()


@pytest.fixture
async def cache(server: fakeredis.FakeServer, namespace: str) -> AsyncIterator[Cache]:
    async with Cache(RedisProvider.fake(server), namespace=namespace) as made:
        yield made


@pytest.fixture
async def neighbour(server: fakeredis.FakeServer, namespace: str) -> AsyncIterator[Cache]:
    """Another application's cache on the same Redis server, another namespace."""
    async with Cache(RedisProvider.fake(server), namespace=namespace + "-other") as made:
        yield made


@pytest.fixture
async def client(cache: Cache) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(make_app(cache)) as made:
        yield made


ROUTES = [
    ("GET", "/stats", None),
    ("DELETE", "/stats", None),
    ("POST", "/invalidate", {"pattern": "*"}),
]


# -- authorization ---------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
async def test_unauthenticated_requests_get_401_and_change_nothing(
    client: httpx.AsyncClient, cache: Cache, method: str, path: str, body: Any
) -> None:
    await cache.set("user:1", {"id": 1})
    response = await client.request(method, PREFIX + path, json=body)
    assert response.status_code == 401
    assert response.json() == {"success": False, "error": "authentication required"}
    assert response.headers["www-authenticate"] == "Bearer"
    assert await cache.get("user:1") == {"id": 1}


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
async def test_signed_in_non_admins_get_403_and_change_nothing(
    client: httpx.AsyncClient, cache: Cache, method: str, path: str, body: Any
) -> None:
    await cache.set("user:1", {"id": 1})
    response = await client.request(method, PREFIX + path, json=body, headers=auth(USER))
    assert response.status_code == 403
    assert response.json() == {"success": False, "error": "administrator access required"}
    assert await cache.get("user:1") == {"id": 1}


async def test_unknown_token_is_unauthenticated(client: httpx.AsyncClient) -> None:
    response = await client.get(PREFIX + "/stats", headers=auth("not-a-known-token"))
    assert response.status_code == 401


def test_router_cannot_be_built_without_authorization(cache: Cache) -> None:
    with pytest.raises(TypeError):
        cache_router(cache)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="authorize="):
        cache_router(cache, authorize=None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="authorize="):
        cache_router(cache, authorize="admin")  # type: ignore[arg-type]


def test_router_needs_a_cache() -> None:
    with pytest.raises(TypeError, match=r"cachesim\.Cache"):
        cache_router(object(), authorize=lambda: None)  # type: ignore[arg-type]


async def test_async_predicates_are_awaited(cache: Cache) -> None:
    async def is_admin(user: dict[str, Any]) -> bool:
        return bool(user["admin"])

    app = make_app(cache, authorize_user(current_user, is_admin))
    async with client_for(app) as client:
        assert (await client.get(PREFIX + "/stats", headers=auth(USER))).status_code == 403
        assert (await client.get(PREFIX + "/stats", headers=auth(ADMIN))).status_code == 200


async def test_bearer_token_helper(cache: Cache) -> None:
    app = make_app(cache, require_bearer_token(ADMIN))
    async with client_for(app) as client:
        missing = await client.get(PREFIX + "/stats")
        wrong = await client.get(PREFIX + "/stats", headers=auth(ADMIN + "x"))
        basic = await client.get(PREFIX + "/stats", headers={"Authorization": f"Basic {ADMIN}"})
        right = await client.get(PREFIX + "/stats", headers=auth(ADMIN))
    assert missing.status_code == wrong.status_code == basic.status_code == 401
    assert wrong.json() == {"success": False, "error": "invalid token"}
    assert 'error="invalid_token"' in wrong.headers["www-authenticate"]
    assert ADMIN not in wrong.text
    assert right.status_code == 200


@pytest.mark.parametrize("token", ["", "short", None, 12345678901234567890])
def test_bearer_token_helper_rejects_weak_tokens(token: Any) -> None:
    with pytest.raises(ValueError, match="at least 16"):
        require_bearer_token(token)


def test_bearer_token_accepts_secret_str() -> None:
    from pydantic import SecretStr

    assert callable(require_bearer_token(SecretStr(ADMIN)))


# -- stats -----------------------------------------------------------------------


async def test_get_stats_returns_this_caches_stats(
    client: httpx.AsyncClient, cache: Cache, neighbour: Cache
) -> None:
    await cache.set("a", 1)
    await cache.set("b", 2)
    await neighbour.set("c", 3)
    await cache.get("a")
    await cache.get("missing")
    response = await client.get(PREFIX + "/stats", headers=auth(ADMIN))
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    data = body["data"]
    assert data["namespace"] == cache.namespace
    assert data["provider"] == "fakeredis"
    assert (data["hits"], data["misses"], data["sets"]) == (1, 1, 2)
    assert data["hit_rate"] == 0.5
    assert data["keys"] == 2
    assert set(data["latency"]) >= {"get", "set"}
    expected = (await cache.get_stats()).to_json()
    assert data.keys() == expected.keys()
    uncounted = await client.get(PREFIX + "/stats?count_keys=false", headers=auth(ADMIN))
    assert uncounted.json()["data"]["keys"] is None


# -- clear -----------------------------------------------------------------------


async def test_delete_stats_clears_only_this_namespace(
    client: httpx.AsyncClient, cache: Cache, neighbour: Cache
) -> None:
    await cache.set_many({"user:1": 1, "user:2": 2, "org:1": 3})
    await neighbour.set_many({"user:1": "keep", "session:x": "keep"})
    response = await client.delete(PREFIX + "/stats", headers=auth(ADMIN))
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert body["removed"] == 3
    assert "removed 3 keys" in body["message"]
    assert await cache.get_many(["user:1", "user:2", "org:1"]) == {}
    assert await neighbour.get_many(["user:1", "session:x"]) == {
        "user:1": "keep",
        "session:x": "keep",
    }


# -- invalidate ------------------------------------------------------------------


async def test_invalidate_removes_matching_keys_and_counts_them(
    client: httpx.AsyncClient, cache: Cache, neighbour: Cache
) -> None:
    await cache.set_many({"user:1": 1, "user:2": 2, "user:2:sessions": [], "org:1": 3})
    await neighbour.set("user:1", "keep")
    response = await client.post(
        PREFIX + "/invalidate", json={"pattern": "user:*"}, headers=auth(ADMIN)
    )
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert body["removed"] == 3
    assert body["pattern"] == "user:*"
    assert "Removed 3 keys" in body["message"]
    assert await cache.get_many(["user:1", "user:2", "user:2:sessions", "org:1"]) == {"org:1": 3}
    assert await neighbour.get("user:1") == "keep"
    again = await client.post(
        PREFIX + "/invalidate", json={"pattern": "user:*"}, headers=auth(ADMIN)
    )
    assert again.json()["removed"] == 0


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"pattern": ""}, "pattern"),
        ({"pattern": 5}, "pattern"),
        ({}, "pattern"),
        ({"pattern": "user:*", "extra": 1}, "extra"),
        ({"pattern": "x" * 600}, "at most 512 bytes"),
        ({"pattern": "user:\n*"}, "control characters"),
        (["user:*"], "invalid request"),
    ],
)
async def test_bad_invalidate_bodies_get_422_with_a_clear_message(
    client: httpx.AsyncClient, cache: Cache, body: Any, fragment: str
) -> None:
    await cache.set("user:1", 1)
    response = await client.post(PREFIX + "/invalidate", json=body, headers=auth(ADMIN))
    assert response.status_code == 422
    payload = response.json()
    assert payload["success"] is False
    assert payload["error"].startswith("invalid request")
    assert fragment in payload["error"]
    assert await cache.get("user:1") == 1


async def test_malformed_json_gets_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        PREFIX + "/invalidate",
        content=b"{not json",
        headers={**auth(ADMIN), "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["success"] is False


async def test_invalid_pattern_from_the_cache_gets_400(cache: Cache) -> None:
    class Strict(Cache):
        async def invalidate_pattern(self, pattern: str) -> int:
            return await super().invalidate_pattern("")  # the cache refuses it

    strict = Strict(cache.provider, namespace=cache.namespace)
    async with client_for(make_app(strict)) as client:
        response = await client.post(
            PREFIX + "/invalidate", json={"pattern": "a"}, headers=auth(ADMIN)
        )
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "error": "pattern must be a non-empty Redis glob such as 'user:*'",
    }


# -- failures --------------------------------------------------------------------


def assert_no_internals(response: httpx.Response) -> None:
    text = response.text
    for leak in ("Traceback", "ConnectionError", "FakeRedis", "unavailable)", 'File "'):
        assert leak not in text


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [("DELETE", "/stats", None), ("POST", "/invalidate", {"pattern": "user:*"})],
)
async def test_backend_down_gives_503_without_internals(
    client: httpx.AsyncClient,
    cache: Cache,
    server: fakeredis.FakeServer,
    method: str,
    path: str,
    body: Any,
) -> None:
    await cache.set("user:1", 1)
    server.connected = False
    response = await client.request(method, PREFIX + path, json=body, headers=auth(ADMIN))
    assert response.status_code == 503
    payload = response.json()
    assert payload.keys() == {"success", "error"}
    assert payload["success"] is False
    assert payload["error"].startswith("cache backend unavailable")
    assert_no_internals(response)
    server.connected = True
    assert await cache.get("user:1") == 1  # nothing was claimed cleared


async def test_stats_still_answer_when_the_backend_is_down(
    client: httpx.AsyncClient, cache: Cache, server: fakeredis.FakeServer
) -> None:
    server.connected = False
    response = await client.get(PREFIX + "/stats", headers=auth(ADMIN))
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["keys"] is None
    assert data["errors"] >= 1
    assert_no_internals(response)


async def test_unexpected_errors_give_500_without_internals(
    cache: Cache, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(Cache):
        async def get_stats(self, *, count_keys: bool = True) -> CacheStats:
            raise RuntimeError("backend said: password=hunter2 at redis://10.0.0.5")

    broken = Broken(cache.provider, namespace=cache.namespace)
    async with client_for(make_app(broken)) as client:
        response = await client.get(PREFIX + "/stats", headers=auth(ADMIN))
    assert response.status_code == 500
    assert response.json() == {"success": False, "error": "internal error"}
    assert "hunter2" not in response.text
    assert "RuntimeError" in caplog.text  # the operator still learns what happened


async def test_errors_in_the_apps_dependency_are_contained(cache: Cache) -> None:
    def exploding_auth() -> None:
        raise LookupError("session store at 10.0.0.9 refused: secret=abc")

    async with client_for(make_app(cache, exploding_auth)) as client:
        response = await client.get(PREFIX + "/stats")
    assert response.status_code == 500
    assert response.json() == {"success": False, "error": "internal error"}
    assert "secret" not in response.text


async def test_router_prefix_and_openapi(cache: Cache) -> None:
    app = FastAPI()
    app.include_router(cache_router(cache, authorize=require_bearer_token(ADMIN), prefix="/c"))
    async with client_for(app) as client:
        schema = (await client.get("/openapi.json")).json()
        stats = await client.get("/c/stats", headers=auth(ADMIN))
    assert {"/c/stats", "/c/invalidate"} <= set(schema["paths"])
    assert "CacheAdminToken" in schema["components"]["securitySchemes"]
    assert stats.status_code == 200
