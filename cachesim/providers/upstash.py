"""Upstash Redis over its REST API, through the official ``upstash-redis`` client."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from cachesim import forks
from cachesim.errors import ConfigurationError
from cachesim.providers.capabilities import Capability
from cachesim.providers.resp import RedisCommandProvider, ttl_ms
from cachesim.redact import redact_url, url_secrets

__all__ = ["UpstashProvider"]

URL_VARS = ("UPSTASH_REDIS_REST_URL", "REDIS_REST_URL")
TOKEN_VARS = ("UPSTASH_REDIS_REST_TOKEN", "REDIS_REST_TOKEN")


def _first(env: Mapping[str, str], names: Sequence[str]) -> str | None:
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return value
    return None


class UpstashProvider(RedisCommandProvider):
    """Stores entries in Upstash Redis over HTTPS (``upstash_redis.asyncio.Redis``).

    The client's own retries (a fixed 3 s sleep) are switched off: the cache bounds
    every call with its timeout and fails open instead.  Upstash bills every
    command, so this provider keeps a hit at one command (``GET``), a miss followed
    by a fill at two (``GET`` + ``SET``), and counts every command it sends.
    """

    name = "upstash"
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
    #: Upstash refuses requests over 10 MB; leave room for the JSON envelope.
    max_value_bytes: int | None = 8_000_000

    def __init__(
        self,
        url: str,
        token: str,
        *,
        scan_count: int = 1000,
        client: Any | None = None,
    ) -> None:
        if (
            not isinstance(url, str)
            or urlsplit(url).scheme not in ("http", "https")
            or not urlsplit(url).netloc
        ):
            raise ConfigurationError(
                "UPSTASH_REDIS_REST_URL must be an http(s) URL such as "
                f"https://<db>.upstash.io, got {redact_url(str(url))!r}"
            )
        if not isinstance(token, str) or not token.strip():
            raise ConfigurationError(
                "UPSTASH_REDIS_REST_TOKEN is empty: copy the REST token from the Upstash console"
            )
        self.url = url.rstrip("/")
        self._token = token
        #: What must never be shown: the token and any credentials in the URL.
        self._secrets = (token, *url_secrets(url))
        self._closed = False
        super().__init__(client or self._new_client(), scan_count=scan_count)
        forks.register(self)

    def _after_fork(self) -> None:
        """In a forked child: a new HTTP client (the parent's keep-alive sockets stay its own)."""
        forks.keep_from_parent(self.client)
        self.client = self._new_client()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **options: Any) -> UpstashProvider:
        """Build from ``UPSTASH_REDIS_REST_URL``/``_TOKEN`` (or ``REDIS_REST_URL``/``_TOKEN``)."""
        env = os.environ if env is None else env
        url, token = _first(env, URL_VARS), _first(env, TOKEN_VARS)
        missing = [names[0] for names, v in ((URL_VARS, url), (TOKEN_VARS, token)) if not v]
        if missing:
            raise ConfigurationError(
                f"the upstash provider needs {' and '.join(missing)} (or the REDIS_REST_* "
                "aliases): copy them from the Upstash console, or run `cachesim gateway` locally"
            )
        assert url is not None
        assert token is not None
        return cls(url=url, token=token, **options)

    def _new_client(self) -> Any:
        from upstash_redis.asyncio import Redis

        return Redis(
            self.url,
            self._token,
            rest_retries=0,
            rest_retry_interval=0,
            allow_telemetry=False,
            read_your_writes=True,
        )

    async def initialize(self) -> None:
        """Reopen the HTTP client after a disconnect, then check the database answers PING."""
        if self._closed:
            self.client = self._new_client()
            self._closed = False
        await super().initialize()

    async def disconnect(self) -> None:
        """Close the HTTP client (``initialize()`` opens a new one)."""
        self._closed = True
        await self.client.close()

    async def set_many(self, items: Sequence[tuple[str, str]], ttl: float | None) -> None:
        """One ``/pipeline`` request (Upstash bills each command in it)."""
        if not items:
            return
        px = None if ttl is None else ttl_ms(ttl)
        pipe = self.client.pipeline()
        for key, value in items:
            pipe.set(key, value, px=px)
        self.commands["SET"] += len(items)
        await pipe.exec()

    def __repr__(self) -> str:
        return f"UpstashProvider(url={redact_url(self.url)!r})"

    # -- stampede-lock primitives (ATOMIC_SET_IF_ABSENT, COMPARE_AND_DELETE) ----------
    capabilities = capabilities | {Capability.ATOMIC_SET_IF_ABSENT, Capability.COMPARE_AND_DELETE}

    async def eval_script(self, script: str, keys: Sequence[str], args: Sequence[str]) -> Any:
        """``EVAL`` over REST (one billed command)."""
        return await self.client.eval(script, keys=list(keys), args=list(args))
