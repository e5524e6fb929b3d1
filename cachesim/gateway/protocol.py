"""The Upstash REST wire format: request bodies to Redis arguments, replies to JSON.

Pure functions, no I/O, so the conversions can be tested on their own.  See
docs/gateway.md for the rules (they follow the Upstash REST API and what the
official ``upstash-redis`` client decodes).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any, Final

from cachesim.gateway.backend import RedisErrorReply, Reply

__all__ = [
    "ALLOWED_COMMANDS",
    "ALLOWED_PREFIXES",
    "ALLOWED_SUBCOMMANDS",
    "MAX_BODY_BYTES",
    "MAX_COMMANDS",
    "RequestError",
    "command_from",
    "encode_reply",
    "load_batch",
    "parse_batch",
    "parse_command",
    "refusal",
    "reply_slot",
    "translate",
]

#: Upstash's request size limit on the smaller plans.
MAX_BODY_BYTES: Final = 10 * 1024 * 1024

#: Most commands one ``/pipeline`` or ``/multi-exec`` request may carry (configurable).
MAX_COMMANDS: Final = 100_000


class RequestError(ValueError):
    """A request the gateway answers with HTTP 400 and ``{"error": message}``."""


class _Number(str):
    """A JSON number kept as its literal text (so ``60`` is sent as ``"60"``, ``1.50`` as is)."""

    __slots__ = ()


def _load(raw: bytes) -> Any:
    try:
        return json.loads(raw, parse_int=_Number, parse_float=_Number, parse_constant=_Number)
    except ValueError as exc:  # also UnicodeDecodeError
        raise RequestError(f"ERR failed to parse command: body is not valid JSON ({exc})") from None
    except RecursionError:
        raise RequestError("ERR failed to parse command: the JSON body nests too deeply") from None


def _argument(element: Any) -> bytes:
    if isinstance(element, bool):
        return b"true" if element else b"false"
    if isinstance(element, str):
        try:
            return element.encode("utf-8")
        except UnicodeEncodeError:
            raise RequestError(
                "ERR failed to parse command: string argument is not valid UTF-8"
            ) from None
    if element is None:
        return b"null"
    raise RequestError(
        "ERR failed to parse command: arguments must be strings, numbers or booleans, "
        f"got a JSON {'object' if isinstance(element, dict) else 'array'}"
    )


def command_from(value: Any) -> list[bytes]:
    """One decoded JSON command (``["SET", "k", "v"]``) -> Redis arguments."""
    return _command(value)


def _command(value: Any) -> list[bytes]:
    if (
        not isinstance(value, list)
        or not value
        or not isinstance(value[0], str)
        or isinstance(value[0], _Number)
    ):
        raise RequestError(
            'ERR failed to parse command: expected a JSON array such as ["SET", "key", '
            '"value"] whose first element is the command name'
        )
    return [_argument(element) for element in value]


def parse_command(raw: bytes) -> list[bytes]:
    """Body of ``POST /``: one command as a JSON array -> Redis arguments."""
    return _command(_load(raw))


def load_batch(raw: bytes, *, what: str = "pipeline") -> list[Any]:
    """Body of ``/pipeline`` or ``/multi-exec`` as decoded JSON: a non-empty array.

    Each item still has to go through :func:`command_from` (the gateway does that
    in chunks, so a huge batch does not hold the event loop).
    """
    value = _load(raw)
    if not isinstance(value, list):
        raise RequestError(f"ERR failed to parse {what}: expected a JSON array of commands")
    if not value:
        raise RequestError(f"ERR empty {what}")
    return value


def parse_batch(raw: bytes, *, what: str = "pipeline") -> list[list[bytes]]:
    """Body of ``/pipeline`` or ``/multi-exec``: a non-empty array of commands."""
    return [_command(item) for item in load_batch(raw, what=what)]


_TRANSACTION: Final = frozenset({"MULTI", "EXEC", "DISCARD", "WATCH", "UNWATCH"})
_CONNECTION_STATE: Final = frozenset({"SELECT", "AUTH", "HELLO", "QUIT", "RESET", "SWAPDB"})
_STREAMING: Final = frozenset(
    {
        "SUBSCRIBE",
        "PSUBSCRIBE",
        "SSUBSCRIBE",
        "UNSUBSCRIBE",
        "PUNSUBSCRIBE",
        "SUNSUBSCRIBE",
        "MONITOR",
        "SYNC",
        "PSYNC",
    }
)
_BLOCKING: Final = frozenset(
    {
        "BLPOP",
        "BRPOP",
        "BRPOPLPUSH",
        "BLMOVE",
        "BLMPOP",
        "BZPOPMIN",
        "BZPOPMAX",
        "BZMPOP",
        "WAIT",
        "WAITAOF",
    }
)
_CLIENT_REFUSED: Final = frozenset({"REPLY", "TRACKING", "PAUSE", "KILL", "UNPAUSE"})

#: Commands a database user runs on Upstash: every data type, keyspace commands on
#: the one database, scripting, publishing, and a few harmless server commands.
#: Anything else (server administration, replication, persistence, other
#: databases, introspection of the server) is refused.
ALLOWED_COMMANDS: Final = frozenset(
    {
        # strings and bitmaps
        *("APPEND", "DECR", "DECRBY", "GET", "GETDEL", "GETEX", "GETRANGE", "GETSET"),
        *("INCR", "INCRBY", "INCRBYFLOAT", "LCS", "MGET", "MSET", "MSETNX", "PSETEX"),
        *("SET", "SETEX", "SETNX", "SETRANGE", "STRLEN", "SUBSTR"),
        *("BITCOUNT", "BITFIELD", "BITFIELD_RO", "BITOP", "BITPOS", "GETBIT", "SETBIT"),
        # keyspace (of this database only)
        *("COPY", "DEL", "DUMP", "EXISTS", "EXPIRE", "EXPIREAT", "EXPIRETIME", "KEYS"),
        *("OBJECT", "PERSIST", "PEXPIRE", "PEXPIREAT", "PEXPIRETIME", "PTTL", "RANDOMKEY"),
        *("RENAME", "RENAMENX", "RESTORE", "SCAN", "SORT", "SORT_RO", "TOUCH", "TTL"),
        *("TYPE", "UNLINK"),
        # hashes (with the per-field expiry commands of Redis 7.4 and 8)
        *("HDEL", "HEXISTS", "HGET", "HGETALL", "HINCRBY", "HINCRBYFLOAT", "HKEYS", "HLEN"),
        *("HMGET", "HMSET", "HRANDFIELD", "HSCAN", "HSET", "HSETNX", "HSTRLEN", "HVALS"),
        *("HEXPIRE", "HPEXPIRE", "HEXPIREAT", "HPEXPIREAT", "HTTL", "HPTTL", "HEXPIRETIME"),
        *("HPEXPIRETIME", "HPERSIST", "HGETDEL", "HGETEX", "HSETEX"),
        # lists (the blocking ones are refused for that reason)
        *("LINDEX", "LINSERT", "LLEN", "LMOVE", "LMPOP", "LPOP", "LPOS", "LPUSH", "LPUSHX"),
        *("LRANGE", "LREM", "LSET", "LTRIM", "RPOP", "RPOPLPUSH", "RPUSH", "RPUSHX"),
        *("BLMOVE", "BLMPOP", "BLPOP", "BRPOP", "BRPOPLPUSH", "BZMPOP", "BZPOPMAX", "BZPOPMIN"),
        # sets
        *("SADD", "SCARD", "SDIFF", "SDIFFSTORE", "SINTER", "SINTERCARD", "SINTERSTORE"),
        *("SISMEMBER", "SMEMBERS", "SMISMEMBER", "SMOVE", "SPOP", "SRANDMEMBER", "SREM"),
        *("SSCAN", "SUNION", "SUNIONSTORE"),
        # sorted sets
        *("ZADD", "ZCARD", "ZCOUNT", "ZDIFF", "ZDIFFSTORE", "ZINCRBY", "ZINTER", "ZINTERCARD"),
        *("ZINTERSTORE", "ZLEXCOUNT", "ZMPOP", "ZMSCORE", "ZPOPMAX", "ZPOPMIN", "ZRANDMEMBER"),
        *("ZRANGE", "ZRANGEBYLEX", "ZRANGEBYSCORE", "ZRANGESTORE", "ZRANK", "ZREM"),
        *("ZREMRANGEBYLEX", "ZREMRANGEBYRANK", "ZREMRANGEBYSCORE", "ZREVRANGE"),
        *("ZREVRANGEBYLEX", "ZREVRANGEBYSCORE", "ZREVRANK", "ZSCAN", "ZSCORE", "ZUNION"),
        "ZUNIONSTORE",
        # streams
        *("XACK", "XADD", "XAUTOCLAIM", "XCLAIM", "XDEL", "XGROUP", "XINFO", "XLEN"),
        *("XPENDING", "XRANGE", "XREAD", "XREADGROUP", "XREVRANGE", "XSETID", "XTRIM"),
        # hyperloglog and geo
        *("PFADD", "PFCOUNT", "PFMERGE"),
        *("GEOADD", "GEODIST", "GEOHASH", "GEOPOS", "GEORADIUS", "GEORADIUSBYMEMBER"),
        *("GEORADIUSBYMEMBER_RO", "GEORADIUS_RO", "GEOSEARCH", "GEOSEARCHSTORE"),
        # scripting (SCRIPT and FUNCTION: only the subcommands below)
        *("EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO", "SCRIPT", "FUNCTION"),
        # publishing (subscriptions stream and are refused)
        *("PUBLISH", "SPUBLISH", "PUBSUB"),
        # connection and server, harmless parts (CLIENT, MEMORY: subcommands below)
        *("PING", "ECHO", "CLIENT", "DBSIZE", "FLUSHDB", "FLUSHALL", "TIME", "COMMAND"),
        "MEMORY",
        # transactions and the commands refused with a reason of their own
        *_TRANSACTION,
        *_CONNECTION_STATE,
        *_STREAMING,
        *_BLOCKING,
    }
)

#: Subcommands allowed for the container commands of :data:`ALLOWED_COMMANDS`.
ALLOWED_SUBCOMMANDS: Final = {
    "SCRIPT": frozenset({"LOAD", "EXISTS", "HELP"}),
    "FUNCTION": frozenset({"LOAD", "LIST", "DELETE", "DUMP", "STATS", "HELP"}),
    "CLIENT": frozenset({"ID", "GETNAME", "SETNAME", "SETINFO", "INFO", "HELP", *_CLIENT_REFUSED}),
    "MEMORY": frozenset({"USAGE", "HELP"}),
}

#: Prefixes of module commands a database user may run (RedisJSON, as on Upstash).
ALLOWED_PREFIXES: Final = ("JSON.",)


def _not_allowed(shown: str) -> str:
    return (
        f"ERR {shown} is not allowed through the gateway: it administers the server, "
        "and a database user cannot run it (as on Upstash)"
    )


def _unknown(command: Sequence[bytes]) -> str:
    """Redis's own text for an unknown command (so clients see what Redis would say)."""
    args = ""
    for arg in command[1:]:
        if len(args) >= 128:
            break
        args += "'" + arg.decode("utf-8", "replace")[: 128 - len(args)] + "' "
    name = command[0].decode("utf-8", "replace")[:128]
    text = f"ERR unknown command '{name}', with args beginning with: {args}"
    return text.replace("\r", " ").replace("\n", " ")


def _allowed(name: str, command: Sequence[bytes]) -> str | None:
    """The refusal text when the allow-list excludes ``command``, else None."""
    if name not in ALLOWED_COMMANDS:
        if name.startswith(ALLOWED_PREFIXES):
            return None
        if name in _KNOWN_ADMIN:
            return _not_allowed(name)
        return _unknown(command)
    subcommands = ALLOWED_SUBCOMMANDS.get(name)
    if subcommands is not None and len(command) > 1:
        sub = command[1].decode("utf-8", "replace").upper()
        if sub not in subcommands:
            return _not_allowed(f"{name} {sub}")
    if name == "COPY" and any(arg.upper() == b"DB" for arg in command[3:]):
        return _not_allowed("COPY ... DB")  # another database
    return None


#: Server administration named in refusals (anything else unknown is "unknown").
_KNOWN_ADMIN: Final = frozenset(
    {
        *("ACL", "BGREWRITEAOF", "BGSAVE", "CONFIG", "DEBUG", "FAILOVER", "INFO", "LASTSAVE"),
        *("LATENCY", "LOLWUT", "MIGRATE", "MODULE", "MOVE", "PFDEBUG", "PFSELFTEST"),
        *("REPLCONF", "REPLICAOF", "RESTORE-ASKING", "ROLE", "SAVE", "SHUTDOWN", "SLAVEOF"),
        *("SLOWLOG", "SWAPDB", "SYNC", "PSYNC", "MONITOR", "CLUSTER", "ASKING", "READONLY"),
        *("READWRITE", "SENTINEL", "FT.CONFIG"),
    }
)


def refusal(command: Sequence[bytes]) -> str | None:
    """The error text if ``command`` must not run over REST, else None.

    Refused: anything outside :data:`ALLOWED_COMMANDS` (server administration,
    replication, persistence, other databases), transactions as single commands
    (use ``/multi-exec``), commands that change a pooled connection's state,
    streaming commands and blocking commands.
    """
    name = command[0].decode("utf-8", "replace").upper()
    if name == "SHUTDOWN":
        return "ERR SHUTDOWN is not available over the REST API"
    if name in _TRANSACTION:
        if name in ("MULTI", "EXEC", "DISCARD"):
            return (
                f"ERR {name} is not available over the REST API: send the whole transaction "
                "to /multi-exec"
            )
        return f"ERR {name} is not supported over the REST API (transactions go to /multi-exec)"
    if name in _CONNECTION_STATE:
        return (
            f"ERR {name} is not available over the REST API: each request runs on a pooled "
            "connection of one database"
        )
    if name in _STREAMING:
        return f"ERR {name} is not available over the REST API (it streams replies)"
    if name in _BLOCKING:
        return f"ERR {name} is not available over the REST API (blocking command)"
    if name in ("XREAD", "XREADGROUP") and any(
        arg.upper() == b"BLOCK" for arg in _before_streams(command[1:])
    ):
        return f"ERR {name} with BLOCK is not available over the REST API (blocking command)"
    if name == "CLIENT" and len(command) > 1:
        sub = command[1].decode("utf-8", "replace").upper()
        if sub in _CLIENT_REFUSED:
            return f"ERR CLIENT {sub} is not available over the REST API"
    return _allowed(name, command)


def translate(command: list[bytes]) -> list[bytes]:
    """The command to send for an allowed ``command``: ``FLUSHALL`` becomes ``FLUSHDB``.

    The gateway serves one database, as Upstash does ("FLUSHALL removes everything,
    exactly like FLUSHDB"); other databases of the same redis-server stay untouched.
    """
    if command[0].upper() == b"FLUSHALL":
        return [b"FLUSHDB", *command[1:]]
    return command


def _before_streams(args: Sequence[bytes]) -> Sequence[bytes]:
    for index, arg in enumerate(args):
        if arg.upper() == b"STREAMS":
            return args[:index]
    return args


def _string(value: bytes, b64: bool) -> str:
    if not b64:
        return value.decode("utf-8", "replace")
    if value == b"OK":
        return "OK"
    return base64.b64encode(value).decode("ascii")


def encode_reply(reply: Reply, b64: bool) -> Any:
    """A RESP2 reply as the JSON ``result`` value.

    With ``b64`` (the ``Upstash-Encoding: base64`` header) every string except
    ``OK`` is standard base64 of its raw bytes, as the official client expects.
    redis-py's parser cannot tell ``+OK`` from a stored value ``"OK"``, so that
    one value comes back unencoded, which both official clients decode to ``"OK"``
    anyway.  An error nested in an array becomes its message string.
    """
    if reply is None or isinstance(reply, int):
        return reply
    if isinstance(reply, bytes):
        return _string(reply, b64)
    if isinstance(reply, RedisErrorReply):
        return _string(reply.message.encode("utf-8"), b64)
    return [encode_reply(item, b64) for item in reply]


def reply_slot(reply: Reply, b64: bool) -> dict[str, Any]:
    """``{"result": ...}`` or, for an error reply, ``{"error": "<verbatim text>"}``."""
    if isinstance(reply, RedisErrorReply):
        return {"error": reply.message}
    return {"result": encode_reply(reply, b64)}
