"""A small FastAPI service using cachesim: cached reads, invalidation on write, admin API.

Run it (any provider works; see ``CACHE_PROVIDER``)::

    pip install 'cachesim[fastapi]' uvicorn
    export EXAMPLE_ADMIN_TOKEN=$(python -c 'import secrets; print(secrets.token_urlsafe(32))')
    export EXAMPLE_USER_TOKEN=$(python -c 'import secrets; print(secrets.token_urlsafe(32))')
    CACHE_PROVIDER=memory uvicorn examples.fastapi_app:app

    curl localhost:8000/users/1
    curl -H "Authorization: Bearer $EXAMPLE_ADMIN_TOKEN" localhost:8000/admin/cache/stats
    curl -X POST -H "Authorization: Bearer $EXAMPLE_ADMIN_TOKEN" \\
         -H 'Content-Type: application/json' -d '{"pattern": "user:*"}' \\
         localhost:8000/admin/cache/invalidate

``/admin/cache/*`` answers 401 without a known token and 403 for a non-admin.
"""

# No ``from __future__ import annotations``: FastAPI resolves the closures' annotations.

import hashlib
import hmac
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from cachesim import Cache, CacheKeys
from cachesim.decorators import cached
from cachesim.integrations.fastapi import authorize_user, cache_lifespan, cache_router


@dataclass(frozen=True)
class User:
    """A signed-in account."""

    name: str
    is_admin: bool = False


@dataclass
class UserStore:
    """Stands in for the database; every read is counted."""

    rows: dict[int, dict[str, Any]] = field(
        default_factory=lambda: {1: {"id": 1, "name": "Ada"}, 2: {"id": 2, "name": "Grace"}}
    )
    reads: int = 0
    connected: bool = False

    async def fetch(self, user_id: int) -> dict[str, Any] | None:
        """Read one user row (None when there is none)."""
        self.reads += 1
        row = self.rows.get(user_id)
        return None if row is None else dict(row)


class UserUpdate(BaseModel):
    """Body of ``PUT /users/{id}``."""

    name: str


def _tokens_from_env() -> dict[str, User]:
    tokens = {}
    if admin := os.environ.get("EXAMPLE_ADMIN_TOKEN"):
        tokens[admin] = User("admin", is_admin=True)
    if user := os.environ.get("EXAMPLE_USER_TOKEN"):
        tokens[user] = User("user")
    return tokens


def create_app(
    cache: Cache | None = None,
    *,
    tokens: Mapping[str, User] | None = None,
    store: UserStore | None = None,
) -> FastAPI:
    """Build the service; tests pass their own cache, tokens and store."""
    cache = cache or Cache.from_env()
    store = store or UserStore()
    # Compare digests in constant time; never keep the raw tokens around.
    users = {
        hashlib.sha256(token.encode()).digest(): user
        for token, user in (tokens if tokens is not None else _tokens_from_env()).items()
    }
    bearer = HTTPBearer(auto_error=False)

    async def current_user(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> User | None:
        if credentials is None:
            return None
        presented = hashlib.sha256(credentials.credentials.encode()).digest()
        found = None
        for digest, user in users.items():
            if hmac.compare_digest(presented, digest):
                found = user
        return found

    @cached(cache, ttl=300, key=CacheKeys.user)
    async def load_user(user_id: int) -> dict[str, Any] | None:
        return await store.fetch(user_id)

    @asynccontextmanager
    async def app_lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        store.connected = True  # open the database pool here
        yield {"store": store}
        store.connected = False

    app = FastAPI(title="cachesim example", lifespan=cache_lifespan(cache, inner=app_lifespan))
    app.state.cache = cache

    @app.get("/users/{user_id}")
    async def get_user(user_id: int) -> dict[str, Any]:
        user = await load_user(user_id)
        if user is None:  # "no such user" is cached too, until the TTL or a write
            raise HTTPException(404, "no such user")
        return user

    @app.put("/users/{user_id}")
    async def put_user(user_id: int, body: UserUpdate) -> dict[str, Any]:
        store.rows[user_id] = {"id": user_id, "name": body.name}
        await load_user.invalidate(user_id)
        return store.rows[user_id]

    @app.get("/health")
    async def health(request: Request) -> dict[str, Any]:
        return {"ok": True, "store_connected": request.state.store.connected}

    app.include_router(
        cache_router(cache, authorize=authorize_user(current_user, lambda u: u.is_admin)),
        prefix="/admin/cache",
    )
    return app


app = create_app()
