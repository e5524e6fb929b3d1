"""Redis provider over ``redis.asyncio`` (a real server, or fakeredis in-process)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cachesim import forks
from cachesim.providers.capabilities import Capability
from cachesim.providers.resp import RedisCommandProvider, ttl_ms
from cachesim.redact import redact_text, redact_url, url_secrets

if TYPE_CHECKING:
    import fakeredis
    import redis.asyncio

__all__ = ["RedisProvider", "redact_url"]


def _fresh_client(client: Any) -> Any:
    """A client like ``client`` over a new, empty connection pool of the same settings."""
    pool = getattr(client, "connection_pool", None)
    if pool is None:
        return client
    import redis.asyncio

    options: dict[str, Any] = dict(pool.connection_kwargs)
    if isinstance(pool, redis.asyncio.BlockingConnectionPool):
        options["timeout"] = pool.timeout
    fresh_pool = type(pool)(
        connection_class=pool.connection_class, max_connections=pool.max_connections, **options
    )
    return type(client).from_pool(fresh_pool)


class RedisProvider(RedisCommandProvider):
    """Stores entries in Redis through any ``redis.asyncio``-compatible client.

    Bulk reads use ``MGET``, bulk writes a non-transactional pipeline, deletes
    ``UNLINK``, and pattern invalidation pages with ``SCAN`` (never ``KEYS``),
    unlinking page by page.  Every command sent is counted in ``get_stats()``.
    """

    name = "redis"
    capabilities: frozenset[Capability] = frozenset(
        {
            Capability.TTL,
            Capability.TTL_SUBSECOND,
            Capability.PATTERN_INVALIDATION,
            Capability.COUNT_KEYS,
            Capability.SHARED_BACKEND,
            Capability.COMMAND_ACCOUNTING,
            Capability.NETWORK,
        }
    )
    max_value_bytes: int | None = 512 * 1024 * 1024

    def __init__(
        self,
        client: redis.asyncio.Redis | Any,
        *,
        scan_count: int = 500,
        owns_client: bool = False,
        label: str | None = None,
    ) -> None:
        super().__init__(client, scan_count=scan_count)
        self._owns_client = owns_client
        self._label = label or type(client).__name__
        #: What must never be shown: the credentials of the URL it was built from.
        self._secrets: tuple[str, ...] = ()
        forks.register(self)

    def _after_fork(self) -> None:
        """In a forked child: a fresh connection pool (the parent's sockets stay the parent's)."""
        old = self.client
        forks.keep_from_parent(old)
        self.client = _fresh_client(old)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        connect_timeout: float = 2.0,
        socket_timeout: float = 5.0,
        max_connections: int = 50,
        **client_options: Any,
    ) -> RedisProvider:
        """Connect lazily to ``redis://`` / ``rediss://`` / ``unix://`` ``url``.

        Connections come from a blocking pool of ``max_connections``: under a burst,
        callers wait for a free connection (within the cache's timeout) instead of
        failing.
        """
        import redis.asyncio

        from cachesim.errors import ConfigurationError

        if not url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigurationError(
                f"REDIS_URL must start with redis://, rediss:// or unix://, got {redact_url(url)!r}"
            )
        options: dict[str, Any] = {
            "decode_responses": True,
            # Bytes another application stored that are not UTF-8 come back as text the
            # codec refuses (a counted miss), instead of an error blamed on the server.
            "encoding_errors": "surrogateescape",
            "socket_connect_timeout": connect_timeout,
            "socket_timeout": socket_timeout,
        }
        options.update(client_options)
        try:
            pool = redis.asyncio.BlockingConnectionPool.from_url(
                url, max_connections=max_connections, timeout=None, **options
            )
        except ValueError as exc:  # the parser's message may quote the password
            raise ConfigurationError(
                f"REDIS_URL {redact_url(url)!r} is not a valid Redis URL "
                f"({redact_text(str(exc), url_secrets(url))}); percent-encode a password "
                "that holds '@', ':', '/', '?' or '#'"
            ) from None
        client = redis.asyncio.Redis.from_pool(pool)
        provider = cls(client, owns_client=True, label=redact_url(url))
        provider._secrets = tuple(url_secrets(url))
        return provider

    @classmethod
    def fake(cls, server: fakeredis.FakeServer | None = None) -> RedisProvider:
        """An in-process provider on fakeredis.

        Without ``server`` it gets a fresh private server (so it does not declare
        ``SHARED_BACKEND``); pass one ``fakeredis.FakeServer`` to several providers
        to share a backend the way a real server does.
        """
        import fakeredis

        client = fakeredis.FakeAsyncRedis(
            server=server or fakeredis.FakeServer(),
            decode_responses=True,
            encoding_errors="surrogateescape",
        )
        provider = cls(client, owns_client=True, label="fakeredis")
        provider.name = "fakeredis"
        if server is None:
            provider.capabilities = cls.capabilities - {Capability.SHARED_BACKEND}
        return provider

    async def disconnect(self) -> None:
        """Close the connection pool if this provider created the client."""
        if self._owns_client:
            await self.client.aclose()

    async def set_many(self, items: Sequence[tuple[str, str]], ttl: float | None) -> None:
        """One non-transactional pipeline of ``SET`` commands."""
        if not items:
            return
        px = None if ttl is None else ttl_ms(ttl)
        async with self.client.pipeline(transaction=False) as pipe:
            for key, value in items:
                pipe.set(key, value, px=px)
            self.commands["SET"] += len(items)
            await pipe.execute()

    def __repr__(self) -> str:
        return f"RedisProvider({self._label})"

    # -- stampede-lock primitives (ATOMIC_SET_IF_ABSENT, COMPARE_AND_DELETE) ----------
    capabilities = capabilities | {Capability.ATOMIC_SET_IF_ABSENT, Capability.COMPARE_AND_DELETE}
