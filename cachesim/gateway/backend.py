"""Redis backends for the gateway: raw RESP2 commands on exclusive pooled connections.

Replies are read with redis-py's RESP2 parser and ``disable_decoding=True`` on a
bare connection, so no response callback ever runs: ``SET`` yields ``b"OK"``,
``PING`` yields ``b"PONG"``, integers stay integers, nil stays ``None`` and error
replies keep their full text.  The same code drives a real ``redis-server``
(``redis://`` URL) and an in-process fakeredis server.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from cachesim.redact import redact_text, redact_url, url_secrets

if TYPE_CHECKING:
    import fakeredis

__all__ = [
    "PIPELINE_CHUNK",
    "BackendUnavailable",
    "RedisBackend",
    "RedisErrorReply",
    "Reply",
    "error_text",
]

logger = logging.getLogger("cachesim.gateway.backend")

#: Commands sent (and replies read) per round trip of a long pipeline; between two
#: chunks the event loop serves other requests.
PIPELINE_CHUNK = 500


@dataclass(frozen=True, slots=True)
class RedisErrorReply:
    """An error reply from Redis, with its text verbatim (``ERR ...``, ``WRONGTYPE ...``)."""

    message: str


#: One RESP2 reply: bulk/simple string, integer, nil, array, or an error.
Reply: TypeAlias = "bytes | int | list[Reply] | RedisErrorReply | None"


class BackendUnavailable(Exception):
    """The Redis backend could not be reached or stopped answering (no secrets in the text)."""


def error_text(exc: BaseException) -> str:
    """The error reply exactly as Redis sent it (redis-py strips known prefixes such as ``ERR``)."""
    text = str(exc.args[0]) if exc.args else str(exc)
    code = getattr(exc, "status_code", None)
    if code:
        return f"{code} {text}"
    if hasattr(exc, "status_code"):
        return text  # redis-py kept an unknown prefix (WRONGTYPE, BUSYKEY ...) in the text
    # redis-py < 8 does not record the prefix it stripped: restore the usual one.
    first = text.split(" ", 1)[0]
    if first.isupper() and first.isalpha() and len(first) > 2:
        return text
    return f"ERR {text}"


def _convert(value: Any) -> Reply:
    """Normalise what the parser returned into :data:`Reply` (errors nested in arrays too)."""
    from redis.exceptions import ResponseError

    if value is None or isinstance(value, bytes):
        return value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, list | tuple | set | frozenset):
        return [_convert(item) for item in value]
    if isinstance(value, ResponseError):
        return RedisErrorReply(error_text(value))
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, float):
        return repr(value).encode()
    if isinstance(value, dict):
        return [_convert(item) for pair in value.items() for item in pair]
    raise BackendUnavailable(f"unexpected reply type from the backend: {type(value).__name__}")


class RedisBackend:
    """A pool of raw RESP2 connections to one Redis database (real or fakeredis).

    ``spec`` is ``fakeredis`` (a fresh in-process server, or ``fake_server``) or a
    ``redis://`` / ``rediss://`` / ``unix://`` URL.  Open it inside the event loop
    that will use it (the pool is bound to that loop).
    """

    def __init__(
        self,
        spec: str,
        *,
        command_timeout: float = 10.0,
        connect_timeout: float = 2.0,
        max_connections: int = 64,
        fake_server: fakeredis.FakeServer | None = None,
    ) -> None:
        if spec != "fakeredis" and not spec.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(
                "backend must be 'fakeredis' or a redis://HOST:PORT/DB URL, "
                f"got {redact_url(spec)!r}"
            )
        if spec != "fakeredis":
            from redis.asyncio.connection import parse_url

            try:
                parse_url(spec)  # fail now, with one line, rather than at start-up
            except ValueError as exc:
                reason = redact_text(str(exc))
                if any(secret in reason for secret in url_secrets(spec)):
                    reason = "malformed URL"  # the parser quoted a credential
                raise ValueError(f"invalid backend URL {redact_url(spec)!r}: {reason}") from None
        self.spec = spec
        self.command_timeout = command_timeout
        self.connect_timeout = connect_timeout
        self.max_connections = max_connections
        self.fake_server = fake_server
        self._pool: Any = None
        self._pass_command_name = False

    @property
    def label(self) -> str:
        """Printable name of the backend (passwords redacted)."""
        return "fakeredis" if self.spec == "fakeredis" else redact_url(self.spec)

    def __repr__(self) -> str:
        return f"RedisBackend({self.label})"

    async def open(self) -> None:
        """Create the connection pool (connections are made lazily)."""
        if self._pool is not None:
            return
        if self.spec == "fakeredis":
            import fakeredis

            if self.fake_server is None:
                self.fake_server = fakeredis.FakeServer()
            client = fakeredis.FakeAsyncRedis(server=self.fake_server, protocol=2)
            self._pool = client.connection_pool
        else:
            import redis.asyncio

            self._pool = redis.asyncio.BlockingConnectionPool.from_url(
                self.spec,
                protocol=2,
                max_connections=self.max_connections,
                timeout=self.connect_timeout + self.command_timeout,
                socket_timeout=self.command_timeout,
                socket_connect_timeout=self.connect_timeout,
            )
        parameter = inspect.signature(self._pool.get_connection).parameters.get("command_name")
        self._pass_command_name = (
            parameter is not None and parameter.default is inspect.Parameter.empty
        )

    async def aclose(self) -> None:
        """Close every pooled connection."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.disconnect()

    async def _acquire(self) -> Any:
        if self._pool is None:
            await self.open()
        try:
            if self._pass_command_name:  # redis-py < 6 requires a command name here
                return await self._pool.get_connection("_")
            return await self._pool.get_connection()
        except Exception as exc:
            if _is_connection_error(exc):
                raise BackendUnavailable(
                    f"cannot connect to {self.label}: {type(exc).__name__}"
                ) from exc
            raise

    async def run(self, commands: Sequence[Sequence[bytes]]) -> list[Reply]:
        """Send ``commands`` pipelined on one exclusive connection; one reply each, in order.

        A long list goes in chunks of :data:`PIPELINE_CHUNK`, one round trip each on
        the same connection, and the event loop serves other requests between
        chunks (a pipeline is not atomic; a transaction still is, by MULTI/EXEC).
        Error replies become :class:`RedisErrorReply` items; a broken or silent
        connection raises :class:`BackendUnavailable` (and is not reused).
        """
        if not commands:
            return []
        from redis.exceptions import ResponseError

        conn = await self._acquire()
        healthy = False
        try:
            replies: list[Reply] = []
            for start in range(0, len(commands), PIPELINE_CHUNK):
                if start:
                    await asyncio.sleep(0)  # let other requests through
                chunk = commands[start : start + PIPELINE_CHUNK]
                await conn.send_packed_command(conn.pack_commands([list(c) for c in chunk]))
                for _ in chunk:
                    try:
                        replies.append(_convert(await conn.read_response(disable_decoding=True)))
                    except ResponseError as exc:
                        replies.append(RedisErrorReply(error_text(exc)))
            healthy = True
            return replies
        except BackendUnavailable:
            raise
        except Exception as exc:
            if _is_connection_error(exc):
                raise BackendUnavailable(
                    f"{self.label} stopped answering: {type(exc).__name__}"
                ) from exc
            raise
        finally:
            if not healthy:
                await _discard(conn)
            if self._pool is not None:
                await self._pool.release(conn)

    async def transaction(self, commands: Sequence[Sequence[bytes]]) -> list[Reply] | str:
        """``MULTI`` + ``commands`` + ``EXEC`` on one exclusive connection.

        Returns the ``EXEC`` replies (runtime errors as :class:`RedisErrorReply`),
        or the text of the first queue-time error when Redis discarded the
        transaction.
        """
        replies = await self.run([(b"MULTI",), *commands, (b"EXEC",)])
        first = replies[0]
        if isinstance(first, RedisErrorReply):
            return first.message
        for queued in replies[1:-1]:
            if isinstance(queued, RedisErrorReply):
                return queued.message
        result = replies[-1]
        if isinstance(result, RedisErrorReply):
            return result.message
        if not isinstance(result, list):
            return "ERR transaction aborted"
        return result


def _is_connection_error(exc: BaseException) -> bool:
    """A socket or timeout error, from the OS or from redis-py: the backend is unreachable."""
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return isinstance(exc, OSError | TimeoutError | RedisConnectionError | RedisTimeoutError)


async def _discard(conn: Any) -> None:
    """Drop a connection whose protocol state is unknown so it is never reused as is."""
    try:
        await conn.disconnect()
    except Exception:  # already broken: nothing more to release
        logger.debug("ignoring error while discarding a backend connection", exc_info=True)
