"""Memcached provider over the ``emcache`` asyncio client (the ``memcached`` extra).

Memcached differs from Redis in ways this module absorbs so that ``Cache`` behaves
the same on it:

* **Keys** are at most 250 bytes of printable ASCII without spaces.  Cache keys are
  any Unicode up to 512 bytes, so they are percent-encoded (``%`` and every byte
  outside ``!``..``~``); an encoded key longer than 250 bytes becomes its readable
  head, ``%~`` and the SHA-256 of the full key, and the item then stores the full
  key next to the value, which every read checks.  Both forms are injective and
  cannot collide with each other (:func:`encode_key`).
* **TTLs** are whole seconds on a clock that ticks once a second, so an item set with
  ``exptime`` *n* lives between *n* - 1 and *n* seconds.  A TTL is sent as
  ``ceil(ttl) + 1``: an entry never expires before its TTL, and may outlive it by up
  to a second and a bit.  ``exptime`` above 30 days means a Unix time, so long TTLs
  are converted, on the server's clock (:func:`memcached_exptime`).
* **No SCAN.**  ``clear``, ``invalidate_pattern`` and ``count`` list the server's
  keys with ``lru_crawler metadump hash`` (memcached >= 1.6.10; a walk of the hash
  table that visits every item present for the whole walk once), match them with
  Redis glob semantics in Python (:func:`cachesim.keys.compile_glob`) and delete the
  matches with acknowledged ``delete`` commands, so counts are exact.  The walk
  covers the whole server: its cost grows with everything stored there.
* **Item size** is capped by the server's ``-I`` (1 MiB by default):
  ``max_value_bytes`` is declared below it, and :meth:`initialize` warns when the
  server's limit is smaller.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import hashlib
import logging
import math
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, unquote_to_bytes, urlsplit

from cachesim.errors import ConfigurationError, ProviderError
from cachesim.keys import compile_glob
from cachesim.providers.base import BaseProvider
from cachesim.providers.capabilities import Capability
from cachesim.redact import redact_url

if TYPE_CHECKING:
    import emcache

__all__ = [
    "DEFAULT_MAX_VALUE_BYTES",
    "MemcachedProvider",
    "decode_key",
    "encode_key",
    "memcached_exptime",
]

logger = logging.getLogger("cachesim.providers.memcached")

#: Longest memcached key, in bytes.
MAX_KEY_BYTES = 250
#: Largest relative ``exptime``; anything above it is read as a Unix time.
REALTIME_MAXDELTA = 30 * 24 * 3600
#: memcached's default item size limit (``-I 1m``).
DEFAULT_ITEM_SIZE_MAX = 1024 * 1024
#: Room kept in an item for its key, header and (hashed keys) the stored full key.
ITEM_OVERHEAD = 4096
#: The declared value limit against a server with the default ``-I``.
DEFAULT_MAX_VALUE_BYTES = DEFAULT_ITEM_SIZE_MAX - ITEM_OVERHEAD
DEFAULT_PORT = 11211

_FLAG_TEXT = 0  # the item is the value's UTF-8 text
_FLAG_KEYED = 1  # the item is b"<n>:" + the full key (n bytes) + the value's text
_HASH_MARK = b"%~"  # never produced by percent-encoding: it starts every hashed key's tail
_DIGEST_CHARS = 43  # unpadded base64url of a SHA-256 digest
_HEAD_BYTES = MAX_KEY_BYTES - len(_HASH_MARK) - _DIGEST_CHARS

# Bytes that stay as they are: printable ASCII except "%", the escape character.
_SAFE = frozenset(range(0x21, 0x7F)) - {0x25}
_ESCAPES = [bytes([b]) if b in _SAFE else b"%%%02X" % b for b in range(256)]
_PLAIN_TEXT = re.compile(r"[!-$&-~]{1,250}")  # keys that are their own encoding
_ENCODED = re.compile(rb"(?:[!-$&-~]|%[0-9A-F]{2})+")


def encode_key(key: str) -> bytes:
    """The memcached key for cache key ``key``: injective, at most 250 printable bytes.

    Printable ASCII stays readable, every other byte (and ``%``) becomes ``%XX``.  An
    encoding longer than 250 bytes is cut to its first ~200 bytes (at an escape
    boundary) followed by ``%~`` and the unpadded base64url SHA-256 of the whole
    key; ``%~`` never occurs in a plain encoding, so the two forms never collide.
    """
    if _PLAIN_TEXT.fullmatch(key):
        return key.encode("ascii")
    raw = key.encode("utf-8")
    plain = b"".join([_ESCAPES[b] for b in raw])
    if len(plain) <= MAX_KEY_BYTES:
        return plain
    cut = _HEAD_BYTES
    if plain[cut - 1 : cut] == b"%":
        cut -= 1
    elif plain[cut - 2 : cut - 1] == b"%":
        cut -= 2
    digest = base64.urlsafe_b64encode(hashlib.sha256(raw).digest()).rstrip(b"=")
    return plain[:cut] + _HASH_MARK + digest


def decode_key(mkey: bytes) -> tuple[bytes, bool] | None:
    """Invert :func:`encode_key` as far as the key allows.

    Returns ``(full key as UTF-8 bytes, True)`` for a plain key, ``(head bytes,
    False)`` for a hashed one (its full key is stored in the item), or None for a key
    this module could not have written.
    """
    head, mark, _ = mkey.partition(_HASH_MARK)
    if head and not _ENCODED.fullmatch(head):
        return None
    decoded = unquote_to_bytes(head) if b"%" in head else head
    if mark:
        return decoded, False
    return (decoded, True) if decoded else None


def memcached_exptime(ttl: float | None, server_now: float) -> int:
    """The ``exptime`` to send for ``ttl`` seconds, given the server's Unix time.

    ``None`` is 0 (never expire).  Otherwise ``ceil(ttl) + 1`` seconds, because an item
    with ``exptime`` *n* can expire up to one clock tick early; above 30 days the
    value must be an absolute Unix time, computed on the server's clock with one
    more second for its own one-second granularity.
    """
    if ttl is None:
        return 0
    seconds = math.ceil(ttl) + 1
    if seconds <= REALTIME_MAXDELTA:
        return seconds
    return math.ceil(server_now) + seconds + 1


def _literal_prefix(pattern: str) -> bytes:
    """The bytes every key matching the Redis glob ``pattern`` starts with."""
    out = bytearray()
    raw = pattern.encode("utf-8")
    i = 0
    while i < len(raw):
        c = raw[i]
        if c in b"*?[":
            break
        if c == 0x5C and i + 1 < len(raw):  # backslash escape
            i += 1
            c = raw[i]
        out.append(c)
        i += 1
    return bytes(out)


@dataclass(frozen=True)
class _Target:
    """Where the server is: ``host``/``port``, or a unix socket ``path``."""

    host: str | None
    port: int
    path: str | None
    username: str | None
    password: str | None


def _parse_url(url: str) -> _Target:
    if not isinstance(url, str):
        raise ConfigurationError(f"MEMCACHED_URL must be a string, got {type(url).__name__}")
    shown = redact_url(url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ConfigurationError(f"MEMCACHED_URL is not a valid URL: {shown!r}") from None
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    if bool(user) != bool(password):
        raise ConfigurationError(
            "MEMCACHED_URL: SASL needs both a username and a password "
            f"(memcached://user:password@host:11211), got {shown!r}"
        )
    if parts.query or parts.fragment:
        raise ConfigurationError(
            f"MEMCACHED_URL takes no query options ({shown!r}): pass them to "
            "MemcachedProvider(...) as keyword arguments"
        )
    if parts.scheme in ("memcached+unix", "unix"):
        if not parts.path:
            raise ConfigurationError(
                f"MEMCACHED_URL {shown!r} names no socket: use memcached+unix:///run/memcached.sock"
            )
        return _Target(None, -1, parts.path, user, password)
    if parts.scheme != "memcached" or not parts.hostname:
        raise ConfigurationError(
            "MEMCACHED_URL must look like memcached://host:11211 (or "
            f"memcached+unix:///path/to/socket), got {shown!r}"
        )
    if parts.path not in ("", "/"):
        raise ConfigurationError(
            f"MEMCACHED_URL {shown!r} has a path; memcached has no databases: drop it"
        )
    return _Target(parts.hostname, port or DEFAULT_PORT, None, user, password)


class _AdminConnection:
    """One connection for what ``emcache`` does not send: ``lru_crawler metadump``, ``stats``.

    Any error or cancellation in the middle of a command closes it (its stream
    could be out of step); the next command opens a new one.
    """

    def __init__(self, target: _Target, timeout: float | None) -> None:
        self.target = target
        self.timeout = timeout
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._lock = asyncio.Lock()

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._streams is None:
            t = self.target
            if t.path is not None:
                reader, writer = await asyncio.open_unix_connection(t.path, limit=1 << 20)
            else:
                assert t.host is not None
                reader, writer = await asyncio.open_connection(t.host, t.port, limit=1 << 20)
            self._streams = (reader, writer)
            if t.username and t.password:
                secret = f"{t.username} {t.password}".encode()
                writer.write(b"set auth 0 0 %d\r\n%b\r\n" % (len(secret), secret))
                line = await reader.readline()
                if line != b"STORED\r\n":
                    raise ProviderError("memcached refused the SASL username/password")
        return self._streams

    async def run(
        self, command: bytes, read: Callable[[asyncio.StreamReader], Awaitable[Any]]
    ) -> Any:
        """Send ``command`` and return ``read(reader)``; close the connection on any failure."""
        async with self._lock:
            try:
                async with asyncio.timeout(self.timeout):
                    reader, writer = await self._open()
                    writer.write(command)
                    return await read(reader)
            except BaseException:
                await self.close()
                raise

    async def close(self) -> None:
        """Close the connection (idempotent)."""
        streams, self._streams = self._streams, None
        if streams is not None:
            streams[1].close()
            with contextlib.suppress(Exception):
                await streams[1].wait_closed()


async def _read_stats(reader: asyncio.StreamReader) -> dict[str, str]:
    stats: dict[str, str] = {}
    while True:
        line = await reader.readline()
        if line == b"END\r\n":
            return stats
        if not line.startswith(b"STAT "):
            raise ProviderError(f"memcached answered stats with {line[:100]!r}")
        _, name, value = line.rstrip(b"\r\n").decode("latin-1").split(" ", 2)
        stats[name] = value


class MemcachedProvider(BaseProvider):
    """Stores entries in a memcached server through ``emcache``.

    ``url`` is ``memcached://[user:password@]host[:port]`` or
    ``memcached+unix:///path/to/socket``; a username and password turn on memcached's
    ASCII SASL authentication (a server started with ``-Y``).  Connections open on
    :meth:`initialize` (or the first call) and the pool holds ``max_connections``;
    each command gives up after ``timeout`` seconds.  Bulk reads are ``get`` with up
    to ``batch_size`` keys; bulk writes and deletes run ``concurrency`` commands at a
    time.  Every command sent is counted in ``get_stats()``.
    """

    name = "memcached"
    capabilities: frozenset[Capability] = frozenset(
        {
            Capability.TTL,
            Capability.PATTERN_INVALIDATION,
            Capability.COUNT_KEYS,
            Capability.SHARED_BACKEND,
            Capability.COMMAND_ACCOUNTING,
            Capability.PERSISTENT,
            Capability.NETWORK,
            Capability.ATOMIC_SET_IF_ABSENT,
            Capability.COMPARE_AND_DELETE,
        }
    )
    in_process = False
    #: memcached counts TTLs in whole seconds on a clock that ticks once a second: an
    #: entry lives at least its TTL and is gone one tick after its TTL rounded up.
    ttl_resolution = 1.0

    def __init__(
        self,
        url: str = f"memcached://127.0.0.1:{DEFAULT_PORT}",
        *,
        max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES,
        timeout: float | None = 5.0,
        connect_timeout: float = 2.0,
        max_connections: int = 8,
        batch_size: int = 100,
        concurrency: int = 32,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._target = _parse_url(url)
        self._label = redact_url(url)
        for label, number in (
            ("max_value_bytes", max_value_bytes),
            ("max_connections", max_connections),
            ("batch_size", batch_size),
            ("concurrency", concurrency),
        ):
            if isinstance(number, bool) or not isinstance(number, int) or number < 1:
                raise ConfigurationError(f"{label} must be a positive int, got {number!r}")
        self.max_value_bytes: int = max_value_bytes
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.max_connections = max_connections
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.wall_clock = wall_clock
        self.commands: Counter[str] = Counter()
        self.server_version: str | None = None
        self.item_size_max: int | None = None
        self._clock_offset = 0.0  # server Unix time - wall_clock()
        self._client: emcache.Client | None = None
        self._admin = _AdminConnection(self._target, timeout)
        self._connecting = asyncio.Lock()

    @classmethod
    def from_url(cls, url: str, **options: Any) -> MemcachedProvider:
        """Same as ``MemcachedProvider(url, **options)`` (the spelling the other providers use)."""
        return cls(url, **options)

    # -- lifecycle ----------------------------------------------------------------
    async def initialize(self) -> None:
        """Connect, check the server answers, learn its clock and item size limit."""
        await self._connection()

    async def _connection(self) -> emcache.Client:
        client = self._client
        if client is not None:
            return client
        async with self._connecting:
            if self._client is not None:
                return self._client
            import emcache

            # Ask first on our own connection: it fails fast on a dead or refusing server,
            # where emcache would keep retrying in the background.
            await self._inspect_server()
            t = self._target
            address: emcache.MemcachedHostAddress | emcache.MemcachedUnixSocketPath = (
                emcache.MemcachedUnixSocketPath(t.path)
                if t.path is not None
                else emcache.MemcachedHostAddress(t.host or "", t.port)
            )
            self._client = await emcache.create_client(
                [address],
                timeout=self.timeout,
                connection_timeout=self.connect_timeout,
                max_connections=self.max_connections,
                username=t.username,
                password=t.password,
            )
            return self._client

    async def _inspect_server(self) -> None:
        self.commands["stats"] += 2
        stats = await self._admin.run(b"stats\r\n", _read_stats)
        settings = await self._admin.run(b"stats settings\r\n", _read_stats)
        self.server_version = stats.get("version")
        self._clock_offset = float(stats.get("time", 0)) - self.wall_clock()
        self.item_size_max = int(settings.get("item_size_max", DEFAULT_ITEM_SIZE_MAX))
        if self.item_size_max < self.max_value_bytes + ITEM_OVERHEAD:
            logger.warning(
                "memcached at %s stores items of at most %d bytes, less than max_value_bytes=%d "
                "plus %d for the key: start it with a larger -I or lower max_value_bytes",
                self._label,
                self.item_size_max,
                self.max_value_bytes,
                ITEM_OVERHEAD,
            )

    async def disconnect(self) -> None:
        """Close every connection (a later call reconnects)."""
        client, self._client = self._client, None
        await self._admin.close()
        if client is not None:
            await client.close()

    # -- values -------------------------------------------------------------------
    @staticmethod
    def _item(key: str, mkey: bytes, value: str) -> tuple[bytes, int]:
        data = value.encode("utf-8")
        if _HASH_MARK not in mkey:
            return data, _FLAG_TEXT
        raw = key.encode("utf-8")
        return b"%d:%b%b" % (len(raw), raw, data), _FLAG_KEYED

    @staticmethod
    def _unpack(item: emcache.Item) -> tuple[bytes | None, str]:
        """(full key stored in the item or None, value text)."""
        data = item.value
        if not item.flags:
            return None, data.decode("utf-8")
        if item.flags != _FLAG_KEYED:
            raise ProviderError(f"memcached item has flags {item.flags}, not written by cachesim")
        size, _, rest = data.partition(b":")
        n = int(size)
        return rest[:n], rest[n:].decode("utf-8")

    def _value(self, key: str, item: emcache.Item | None) -> str | None:
        if item is None:
            return None
        stored_key, text = self._unpack(item)
        if stored_key is not None and stored_key != key.encode("utf-8"):
            return None  # another key with the same hash: a miss, never its value
        return text

    def _exptime(self, ttl: float | None) -> int:
        return memcached_exptime(ttl, self.wall_clock() + self._clock_offset)

    # -- operations ---------------------------------------------------------------
    async def get(self, key: str) -> str | None:
        """One ``get``."""
        client = await self._connection()
        self.commands["get"] += 1
        return self._value(key, await client.get(encode_key(key), return_flags=True))

    async def _fetch(self, mkeys: Sequence[bytes]) -> dict[bytes, emcache.Item]:
        client = await self._connection()
        found: dict[bytes, emcache.Item] = {}
        unique = list(dict.fromkeys(mkeys))
        for start in range(0, len(unique), self.batch_size):
            self.commands["get"] += 1
            found.update(
                await client.get_many(unique[start : start + self.batch_size], return_flags=True)
            )
        return found

    async def get_many(self, keys: Sequence[str]) -> list[str | None]:
        """``get`` with up to ``batch_size`` keys per command."""
        if not keys:
            return []
        mkeys = [encode_key(k) for k in keys]
        found = await self._fetch(mkeys)
        return [self._value(k, found.get(m)) for k, m in zip(keys, mkeys, strict=True)]

    async def set(self, key: str, value: str, ttl: float | None) -> None:
        """One ``set`` with ``exptime`` = ceil(ttl) + 1 (see :func:`memcached_exptime`)."""
        client = await self._connection()
        mkey = encode_key(key)
        data, flags = self._item(key, mkey, value)
        self.commands["set"] += 1
        await client.set(mkey, data, flags=flags, exptime=self._exptime(ttl))

    async def _each(self, calls: Iterable[Callable[[], Awaitable[Any]]]) -> list[Any]:
        """Run the calls ``concurrency`` at a time; results in order."""
        pending = list(calls)
        results: list[Any] = []
        step = self.concurrency
        for start in range(0, len(pending), step):
            results += await asyncio.gather(*(c() for c in pending[start : start + step]))
        return results

    async def set_many(self, items: Sequence[tuple[str, str]], ttl: float | None) -> None:
        """One ``set`` per entry, ``concurrency`` in flight (memcached has no multi-set)."""
        if not items:
            return
        client = await self._connection()
        exptime = self._exptime(ttl)

        def call(key: str, value: str) -> Callable[[], Awaitable[None]]:
            mkey = encode_key(key)
            data, flags = self._item(key, mkey, value)

            async def run() -> None:
                self.commands["set"] += 1
                await client.set(mkey, data, flags=flags, exptime=exptime)

            return run

        await self._each(call(k, v) for k, v in items)

    async def _delete(self, mkey: bytes) -> bool:
        import emcache

        client = await self._connection()
        self.commands["delete"] += 1
        try:
            await client.delete(mkey)
        except emcache.NotFoundCommandError:
            return False
        return True

    async def delete(self, key: str) -> bool:
        """One ``delete`` (memcached answers NOT_FOUND for an expired item)."""
        mkey = encode_key(key)
        if _HASH_MARK in mkey and await self.get(key) is None:
            return False  # absent, or another key's item under the same hash
        return await self._delete(mkey)

    async def delete_many(self, keys: Sequence[str]) -> int:
        """One ``delete`` per key, ``concurrency`` in flight."""
        if not keys:
            return 0
        mkeys = list(dict.fromkeys(encode_key(k) for k in keys))
        hashed = [k for k in keys if _HASH_MARK in encode_key(k)]
        if hashed:
            present = {
                encode_key(k) for k, v in zip(hashed, await self.get_many(hashed), strict=True) if v
            }
            mkeys = [m for m in mkeys if _HASH_MARK not in m or m in present]
        return sum(await self._each(functools.partial(self._delete, m) for m in mkeys))

    async def has(self, key: str) -> bool:
        """One ``get`` (memcached has no cheaper existence check that keeps the TTL)."""
        return await self.get(key) is not None

    # -- listing ------------------------------------------------------------------
    async def _live_keys(self) -> list[bytes]:
        """The memcached keys of every live item on the server (one metadump walk).

        The walk lists items whose ``exptime`` equals the server's current second,
        which ``get`` already treats as expired: they are dropped by comparing with
        the server's time once the walk is over.
        """

        async def read(reader: asyncio.StreamReader) -> list[tuple[bytes, int]] | None:
            found: list[tuple[bytes, int]] = []
            while True:
                line = await reader.readline()
                if line.startswith(b"key="):
                    fields = dict(f.split(b"=", 1) for f in line.split())
                    found.append((unquote_to_bytes(fields[b"key"]), int(fields[b"exp"])))
                elif line == b"END\r\n" or line.startswith(b"NOTSTARTED"):
                    return found
                elif line.startswith((b"BUSY", b"ERROR locked")):
                    return None  # another crawl (or a hash table expansion) is running
                else:
                    raise ProviderError(
                        f"memcached refused lru_crawler metadump: {line[:120]!r}; listing keys "
                        "needs memcached >= 1.6.10 with the LRU crawler on and dumps allowed"
                    )

        delay = 0.005
        while True:
            self.commands["lru_crawler metadump"] += 1
            dumped = await self._admin.run(b"lru_crawler metadump hash\r\n", read)
            if dumped is not None:
                break
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.2)
        self.commands["stats"] += 1
        server_time = int((await self._admin.run(b"stats\r\n", _read_stats))["time"])
        return [mkey for mkey, exp in dumped if exp == -1 or exp > server_time]

    async def _matching(self, pattern: str) -> list[bytes]:
        """Memcached keys of the live entries whose cache key matches ``pattern``."""
        match = compile_glob(pattern).match
        literal = _literal_prefix(pattern)
        matched: list[bytes] = []
        hashed: list[bytes] = []
        for mkey in await self._live_keys():
            decoded = decode_key(mkey)
            if decoded is None:
                continue
            key, complete = decoded
            if complete:
                if match(key):
                    matched.append(mkey)
            elif key.startswith(literal) or literal.startswith(key):
                hashed.append(mkey)  # only the head is known: read the full key
        if hashed:
            found = await self._fetch(hashed)
            for mkey in hashed:
                item = found.get(mkey)
                if item is None:
                    continue
                stored_key, _ = self._unpack(item)
                if (
                    stored_key is not None
                    and match(stored_key)
                    and encode_key(stored_key.decode("utf-8")) == mkey
                ):
                    matched.append(mkey)
        return matched

    async def invalidate_pattern(self, pattern: str) -> int:
        """List keys (metadump), match in Python, delete each match; count the live ones."""
        matched = await self._matching(pattern)
        return sum(await self._each(functools.partial(self._delete, m) for m in matched))

    async def count(self, pattern: str) -> int:
        """Live keys matching ``pattern`` (one metadump, plus reads for hashed keys)."""
        return len(await self._matching(pattern))

    async def get_stats(self) -> dict[str, Any]:
        """Commands sent (in total and by name), server version and item size limit."""
        return {
            "commands": sum(self.commands.values()),
            "commands_by_name": dict(self.commands),
            "server_version": self.server_version,
            "item_size_max": self.item_size_max,
        }

    def __repr__(self) -> str:
        return f"MemcachedProvider({self._label})"

    # -- stampede-lock primitives (ATOMIC_SET_IF_ABSENT, COMPARE_AND_DELETE) ----------
    async def set_if_absent(self, key: str, value: str, ttl: float | None) -> bool:
        """One ``add`` (stores only when the key is absent); True if stored."""
        import emcache

        client = await self._connection()
        mkey = encode_key(key)
        data, flags = self._item(key, mkey, value)
        self.commands["add"] += 1
        try:
            await client.add(mkey, data, flags=flags, exptime=self._exptime(ttl))
        except emcache.NotStoredStorageCommandError:
            return False
        return True

    async def delete_if_equals(self, key: str, value: str) -> bool:
        """``gets`` then ``cas`` with an already-past expiry: removed only if unchanged.

        memcached has no conditional delete; a ``cas`` that expires the item at once is
        one, because it fails (EXISTS) when anyone wrote the key after our ``gets``.
        """
        import emcache

        client = await self._connection()
        mkey = encode_key(key)
        self.commands["gets"] += 1
        item = await client.gets(mkey, return_flags=True)
        if self._value(key, item) != value or item is None or item.cas is None:
            return False
        self.commands["cas"] += 1
        try:
            await client.cas(mkey, b"", item.cas, exptime=-1)
        except (emcache.NotStoredStorageCommandError, emcache.NotFoundCommandError):
            return False
        return True
