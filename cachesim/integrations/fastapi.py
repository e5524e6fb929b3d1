"""FastAPI integration: an admin-only cache API and a lifespan that connects the cache.

Install with ``pip install 'cachesim[fastapi]'``.  ::

    cache = Cache.from_env()
    app = FastAPI(lifespan=cache_lifespan(cache, inner=app_lifespan))
    app.include_router(
        cache_router(cache, authorize=require_bearer_token(settings.admin_token)),
        prefix="/admin/cache",
    )

The router cannot be built without an ``authorize`` dependency.  Every response
of the router has the shape ``{"success": true, ...}`` or
``{"success": false, "error": "..."}``; errors never carry tracebacks or backend
exception text.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the annotations of
# the dependency closures below at runtime, and they refer to local variables.

import hashlib
import hmac
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from enum import Enum
from typing import Annotated, Any, TypeVar, overload

try:
    from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from fastapi.routing import APIRoute
    from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
    from pydantic import BaseModel, ConfigDict, Field, SecretStr, StrictStr, field_validator
    from starlette.exceptions import HTTPException as StarletteHTTPException
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "cachesim.integrations.fastapi needs FastAPI: pip install 'cachesim[fastapi]'"
    ) from exc

from cachesim.cache import Cache
from cachesim.errors import CacheError
from cachesim.keys import MAX_KEY_BYTES

__all__ = [
    "InvalidateRequest",
    "authorize_user",
    "cache_lifespan",
    "cache_router",
    "require_bearer_token",
]

logger = logging.getLogger("cachesim.integrations.fastapi")

AppT = TypeVar("AppT")
StateT = TypeVar("StateT")

#: Shortest bearer token :func:`require_bearer_token` accepts.
MIN_TOKEN_LENGTH = 16


# -- responses -------------------------------------------------------------------


def _error(
    status_code: int, message: Any, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"success": False, "error": message}, status_code=status_code, headers=headers
    )


def _describe_validation(exc: RequestValidationError) -> str:
    """A readable summary of a request validation error, without echoing the input."""
    parts = []
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            parts.append("the body is not valid JSON")
            continue
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        msg = str(err.get("msg", "invalid value"))
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "invalid request: " + "; ".join(parts or ["malformed body"])


class _CacheAdminRoute(APIRoute):
    """Turns every failure of the admin routes into ``{"success": false, "error": ...}``.

    This covers the app's ``authorize`` dependency (its HTTPException status,
    detail and headers are kept), body validation (422), and anything unexpected
    (500 with a generic message; the details go to the log only).
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except StarletteHTTPException as exc:
                return _error(exc.status_code, exc.detail, headers=exc.headers)
            except RequestValidationError as exc:
                return _error(422, _describe_validation(exc))
            except Exception as exc:
                logger.exception(
                    "cache admin request %s %s failed (%s)",
                    request.method,
                    request.url.path,
                    type(exc).__name__,
                )
                return _error(status.HTTP_500_INTERNAL_SERVER_ERROR, "internal error")

        return guarded


# -- the admin router ------------------------------------------------------------


class InvalidateRequest(BaseModel):
    """Body of ``POST /invalidate``: a Redis glob over keys inside the cache's namespace."""

    model_config = ConfigDict(extra="forbid")

    pattern: StrictStr = Field(
        min_length=1,
        description="Redis glob within the namespace, e.g. 'user:*' (escape literal * ? [ ] \\)",
        examples=["user:*"],
    )

    @field_validator("pattern")
    @classmethod
    def _check_pattern(cls, value: str) -> str:
        if len(value.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
            raise ValueError(f"must be at most {MAX_KEY_BYTES} bytes in UTF-8")
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
            raise ValueError("must not contain control characters")
        return value


def _failures(cache: Cache) -> int:
    """Backend failures the cache has absorbed so far (errors, timeouts, skipped calls)."""
    return cache.errors + cache.timeouts + cache.short_circuited


_UNAVAILABLE = "cache backend unavailable; the operation did not complete, try again later"


def cache_router(
    cache: Cache,
    *,
    authorize: Callable[..., Any],
    prefix: str = "",
    tags: Sequence[str | Enum] = ("cache",),
) -> APIRouter:
    """An admin API for ``cache``, every route guarded by the app's ``authorize`` dependency.

    Routes: ``GET /stats`` (the cache's :class:`~cachesim.CacheStats`;
    ``?count_keys=false`` skips the key count, a SCAN on Redis), ``DELETE
    /stats`` (clear this cache's namespace) and ``POST /invalidate`` (remove the
    keys matching ``{"pattern": ...}``).  ``authorize`` is any FastAPI dependency;
    it must raise ``HTTPException(401)`` for an unauthenticated caller and
    ``HTTPException(403)`` for one who is not an admin (see
    :func:`require_bearer_token` and :func:`authorize_user`).  A backend failure
    during clear/invalidate answers 503.
    """
    if authorize is None or not callable(authorize):
        raise TypeError(
            "cache_router() needs authorize=<a FastAPI dependency that raises HTTPException "
            "401/403>, e.g. require_bearer_token(token) or authorize_user(get_user, is_admin)"
        )
    if not isinstance(cache, Cache):
        raise TypeError(f"cache_router() needs a cachesim.Cache, got {type(cache).__name__}")

    router = APIRouter(prefix=prefix, tags=list(tags), route_class=_CacheAdminRoute)
    guard = [Depends(authorize)]
    errors: dict[int | str, dict[str, Any]] = {
        401: {"description": "Not authenticated"},
        403: {"description": "Not an administrator"},
    }

    @router.get("/stats", dependencies=guard, responses=errors, summary="Cache statistics")
    async def get_cache_stats(count_keys: bool = True) -> dict[str, Any]:
        stats = await cache.get_stats(count_keys=count_keys)
        return {"success": True, "data": stats.to_json()}

    @router.delete(
        "/stats",
        dependencies=guard,
        responses={**errors, 503: {"description": "Backend unavailable"}},
        summary="Clear this cache's namespace",
    )
    async def clear_cache() -> Any:
        before = _failures(cache)
        removed = await cache.clear()
        if _failures(cache) > before:
            return _error(status.HTTP_503_SERVICE_UNAVAILABLE, _UNAVAILABLE)
        return {
            "success": True,
            "message": f"Cleared namespace {cache.namespace!r}: removed {removed} keys",
            "removed": removed,
        }

    @router.post(
        "/invalidate",
        dependencies=guard,
        responses={**errors, 503: {"description": "Backend unavailable"}},
        summary="Remove the keys matching a glob pattern",
    )
    async def invalidate(body: InvalidateRequest) -> Any:
        before = _failures(cache)
        try:
            removed = await cache.invalidate_pattern(body.pattern)
        except CacheError as exc:  # our own validation message: safe to show
            return _error(status.HTTP_400_BAD_REQUEST, str(exc))
        if _failures(cache) > before:
            return _error(status.HTTP_503_SERVICE_UNAVAILABLE, _UNAVAILABLE)
        return {
            "success": True,
            "message": f"Removed {removed} keys matching {body.pattern!r}",
            "removed": removed,
            "pattern": body.pattern,
        }

    return router


# -- authorization helpers -------------------------------------------------------


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def require_bearer_token(
    token: str | SecretStr, *, scheme_name: str = "CacheAdminToken"
) -> Callable[..., Coroutine[Any, Any, None]]:
    """A dependency admitting requests with ``Authorization: Bearer <token>``.

    Missing credentials and a wrong token both answer 401 with a
    ``WWW-Authenticate: Bearer`` header.  The comparison is constant-time
    (``hmac.compare_digest`` over SHA-256 digests, so the length does not leak
    either).  The token must be at least 16 characters (e.g.
    ``secrets.token_urlsafe(32)``).
    """
    expected = token.get_secret_value() if isinstance(token, SecretStr) else token
    if not isinstance(expected, str) or len(expected) < MIN_TOKEN_LENGTH:
        raise ValueError(
            f"the admin token must be a string of at least {MIN_TOKEN_LENGTH} characters "
            "(generate one with secrets.token_urlsafe(32))"
        )
    expected_digest = _digest(expected)
    bearer = HTTPBearer(
        auto_error=False, scheme_name=scheme_name, description="Cache admin bearer token"
    )

    async def check_bearer_token(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> None:
        if credentials is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "authentication required",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not hmac.compare_digest(_digest(credentials.credentials), expected_digest):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "invalid token",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )

    return check_bearer_token


def authorize_user(
    current_user: Callable[..., Any],
    is_allowed: Callable[[Any], bool | Awaitable[bool]],
) -> Callable[..., Coroutine[Any, Any, None]]:
    """Build an ``authorize`` dependency from the app's user dependency and a predicate.

    ``current_user`` is the app's own dependency returning the signed-in user, or
    None when nobody is signed in (it may also raise its own 401).  No user
    answers 401; a user for whom ``is_allowed(user)`` (sync or async) is falsy
    answers 403.  Typical use: ``authorize_user(get_current_user, lambda u: u.is_admin)``.
    """
    if not callable(current_user) or not callable(is_allowed):
        raise TypeError("authorize_user(current_user, is_allowed) needs two callables")

    async def check_user(user: Annotated[Any, Depends(current_user)]) -> None:
        if user is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "authentication required",
                headers={"WWW-Authenticate": "Bearer"},
            )
        allowed = is_allowed(user)
        if inspect.isawaitable(allowed):
            allowed = await allowed
        if not allowed:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "administrator access required")

    return check_user


# -- lifespan --------------------------------------------------------------------


@overload
def cache_lifespan(
    *caches: Cache, inner: None = None
) -> Callable[[Any], AbstractAsyncContextManager[None]]: ...


@overload
def cache_lifespan(
    *caches: Cache, inner: Callable[[AppT], AbstractAsyncContextManager[StateT]]
) -> Callable[[AppT], AbstractAsyncContextManager[StateT]]: ...


def cache_lifespan(
    *caches: Cache,
    inner: Callable[[Any], AbstractAsyncContextManager[Any]] | None = None,
) -> Callable[[Any], AbstractAsyncContextManager[Any]]:
    """A lifespan for ``FastAPI(lifespan=...)``: initialise the caches, run, disconnect them.

    Caches are initialised in order before ``inner`` (the app's own lifespan, whose
    state is passed through) starts, so start-up code can already use them, and
    disconnected in reverse order after it ends.  An unreachable backend does not
    stop start-up: the cache logs it and serves misses until the backend is back.
    Inside a lifespan of your own, ``async with cache:`` does the same.
    """
    if not caches:
        raise TypeError("cache_lifespan() needs at least one Cache")
    for cache in caches:
        if not isinstance(cache, Cache):
            raise TypeError(f"cache_lifespan() takes Cache objects, got {type(cache).__name__}")

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[Any]:
        async with AsyncExitStack() as stack:
            for cache in caches:
                await stack.enter_async_context(cache)
                logger.info(
                    "cache %r initialised (%s provider)",
                    cache.namespace,
                    getattr(cache.provider, "name", type(cache.provider).__name__),
                )
            if inner is None:
                yield None
            else:
                async with inner(app) as state:
                    yield state

    return lifespan
