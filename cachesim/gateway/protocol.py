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
    "MAX_BODY_BYTES",
    "RequestError",
    "encode_reply",
    "parse_batch",
    "parse_command",
    "refusal",
    "reply_slot",
]

#: Upstash's request size limit on the smaller plans.
MAX_BODY_BYTES: Final = 10 * 1024 * 1024


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


def parse_batch(raw: bytes, *, what: str = "pipeline") -> list[list[bytes]]:
    """Body of ``/pipeline`` or ``/multi-exec``: a non-empty array of commands."""
    value = _load(raw)
    if not isinstance(value, list):
        raise RequestError(f"ERR failed to parse {what}: expected a JSON array of commands")
    if not value:
        raise RequestError(f"ERR empty {what}")
    return [_command(item) for item in value]


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


def refusal(command: Sequence[bytes]) -> str | None:
    """The error text if ``command`` must not run over REST, else None.

    Refused: transactions as single commands (use ``/multi-exec``), commands that
    change a pooled connection's state, streaming commands, blocking commands
    and ``SHUTDOWN``.
    """
    name = command[0].decode("utf-8", "replace").upper()
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
    if name == "SHUTDOWN":
        return "ERR SHUTDOWN is not available over the REST API"
    return None


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
