"""The wire-format conversions on their own (no server)."""

from __future__ import annotations

import base64

import pytest
from redis.exceptions import ExecAbortError, ResponseError

from cachesim.gateway.backend import RedisErrorReply, error_text
from cachesim.gateway.protocol import (
    RequestError,
    encode_reply,
    parse_batch,
    parse_command,
    refusal,
    reply_slot,
)


def test_arguments_keep_number_literals_and_map_booleans() -> None:
    assert parse_command(b'["SET","k","v","EX",60]') == [b"SET", b"k", b"v", b"EX", b"60"]
    assert parse_command(b'["SET","k",1.50]') == [b"SET", b"k", b"1.50"]
    assert parse_command(b'["SET","k",true]') == [b"SET", b"k", b"true"]
    assert parse_command(b'["SET","k",false,null]') == [b"SET", b"k", b"false", b"null"]
    assert parse_command('["SET","k","héllo ✓"]'.encode()) == [b"SET", b"k", "héllo ✓".encode()]
    assert parse_command(b'["set", "k"]') == [b"set", b"k"]  # plain json.dumps spacing


@pytest.mark.parametrize(
    "body",
    [b"", b"nope", b"{}", b"[]", b"[1]", b'["GET", ["x"]]', b'["GET", {"a": 1}]', b"\xff"],
)
def test_bad_single_commands_raise(body: bytes) -> None:
    with pytest.raises(RequestError, match=r"^ERR"):
        parse_command(body)


def test_batches() -> None:
    assert parse_batch(b'[["PING"],["GET","k"]]') == [[b"PING"], [b"GET", b"k"]]
    with pytest.raises(RequestError, match="ERR empty pipeline"):
        parse_batch(b"[]")
    with pytest.raises(RequestError, match="ERR empty transaction"):
        parse_batch(b"[]", what="transaction")
    with pytest.raises(RequestError):
        parse_batch(b'["PING"]')


@pytest.mark.parametrize(
    "command",
    [
        [b"multi"],
        [b"EXEC"],
        [b"watch", b"k"],
        [b"select", b"1"],
        [b"AUTH", b"x"],
        [b"hello", b"3"],
        [b"blpop", b"l", b"0"],
        [b"BZPOPMIN", b"z", b"1"],
        [b"xread", b"COUNT", b"1", b"block", b"0", b"STREAMS", b"s", b"$"],
        [b"SUBSCRIBE", b"c"],
        [b"MONITOR"],
        [b"client", b"reply", b"off"],
        [b"SHUTDOWN"],
    ],
)
def test_refused(command: list[bytes]) -> None:
    message = refusal(command)
    assert message is not None
    assert message.startswith("ERR ")
    assert command[0].decode().upper() in message


@pytest.mark.parametrize(
    "command",
    [
        [b"GET", b"k"],
        [b"xread", b"COUNT", b"1", b"STREAMS", b"block", b"0"],  # a stream named "block"
        [b"CLIENT", b"SETINFO", b"LIB-NAME", b"x"],
        [b"PING"],
    ],
)
def test_allowed(command: list[bytes]) -> None:
    assert refusal(command) is None


def test_base64_encodes_raw_bytes_except_ok() -> None:
    raw = b"\xff\x00caf\xc3\xa9"
    assert encode_reply(raw, True) == base64.b64encode(raw).decode()
    assert encode_reply(b"OK", True) == "OK"
    assert encode_reply(b"PONG", True) == "UE9ORw=="
    assert encode_reply(b"PONG", False) == "PONG"
    assert encode_reply(raw, False) == "\ufffd\x00café"
    assert encode_reply([b"a", 1, None, [b"b"]], True) == ["YQ==", 1, None, ["Yg=="]]
    assert encode_reply(-2, True) == -2


def test_error_slots() -> None:
    assert reply_slot(RedisErrorReply("ERR boom"), True) == {"error": "ERR boom"}
    assert reply_slot(b"x", True) == {"result": "eA=="}
    nested = encode_reply([1, RedisErrorReply("ERR inner")], False)
    assert nested == [1, "ERR inner"]


def test_error_text_restores_the_prefix_redis_py_strips() -> None:
    assert error_text(ResponseError("wrong number", status_code="ERR")) == "ERR wrong number"
    assert error_text(ResponseError("WRONGTYPE Operation")) == "WRONGTYPE Operation"
    assert (
        error_text(ExecAbortError("Transaction discarded", status_code="EXECABORT"))
        == "EXECABORT Transaction discarded"
    )
