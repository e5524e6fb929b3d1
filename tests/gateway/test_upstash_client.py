"""The official upstash-redis clients (async and sync) against the gateway, on both backends."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from upstash_redis import Redis
from upstash_redis.asyncio import Redis as AsyncRedis
from upstash_redis.errors import UpstashError

from cachesim.gateway.server import Gateway

UNICODE = "héllo wörld ✓ 日本語 🚀"


async def r(value: Any) -> Any:
    """Await ``value`` if the client is the async one."""
    return await value if inspect.isawaitable(value) else value


@pytest.fixture(params=["async", "sync"])
async def client(request: pytest.FixtureRequest, gateway: Gateway) -> AsyncIterator[Any]:
    """The official client, async or sync, with no retries."""
    if request.param == "async":
        made: Any = gateway.async_client()
        yield made
        await made.close()
    else:
        made = gateway.client()
        yield made
        made.close()


async def test_strings_unicode_and_nil(client: Any, prefix: str) -> None:
    values = {
        "ascii": "bar",
        "unicode": UNICODE,
        "empty": "",
        "ok": "OK",
        "pong": "PONG",
        "b64ish": "YmFy",
        "json": '{"a": [1, 2, "x"]}',
        "newlines": "line1\r\nline2\n",
    }
    for name, value in values.items():
        assert await r(client.set(prefix + name, value)) is True
    for name, value in values.items():
        assert await r(client.get(prefix + name)) == value, name
    assert await r(client.get(prefix + "missing")) is None
    assert await r(client.set(prefix + "ascii", "other", nx=True)) is False
    assert await r(client.set(prefix + "ascii", "new", get=True)) == "bar"
    assert await r(client.ping()) == "PONG"
    assert await r(client.echo(UNICODE)) == UNICODE
    assert await r(client.type(prefix + "ascii")) == "string"
    assert await r(client.type(prefix + "missing")) == "none"


async def test_integers_and_number_arguments(client: Any, prefix: str) -> None:
    key = prefix + "n"
    assert await r(client.incr(key)) == 1
    assert await r(client.incrby(key, 41)) == 42
    assert await r(client.decr(key)) == 41
    assert await r(client.get(key)) == "41"
    assert await r(client.set(prefix + "i", 7)) is True
    assert await r(client.get(prefix + "i")) == "7"
    assert await r(client.set(prefix + "f", 1.5)) is True
    assert await r(client.get(prefix + "f")) == "1.5"
    assert await r(client.set(prefix + "b", True)) is True
    assert await r(client.get(prefix + "b")) == "true"
    assert await r(client.incrbyfloat(prefix + "f", 1.25)) == pytest.approx(2.75)
    assert await r(client.strlen(prefix + "f")) == 4


async def test_mget_exists_delete(client: Any, prefix: str) -> None:
    a, b, c = prefix + "a", prefix + "b", prefix + "c"
    await r(client.set(a, "1"))
    await r(client.set(b, UNICODE))
    assert await r(client.mget(a, c, b)) == ["1", None, UNICODE]
    assert await r(client.exists(a, b, c)) == 2
    assert await r(client.exists(c)) == 0
    assert await r(client.delete(a, c)) == 1
    assert await r(client.unlink(b)) == 1
    assert await r(client.mget(a, b)) == [None, None]


async def test_ttl(client: Any, prefix: str) -> None:
    key = prefix + "ttl"
    await r(client.set(key, "v", ex=100))
    assert 98 <= await r(client.ttl(key)) <= 100
    await r(client.set(key, "v", px=50_000))
    assert 48_000 <= await r(client.pttl(key)) <= 50_000
    assert await r(client.persist(key)) is True
    assert await r(client.ttl(key)) == -1
    assert await r(client.expire(key, 30)) is True
    assert 28 <= await r(client.ttl(key)) <= 30
    assert await r(client.ttl(prefix + "missing")) == -2


async def test_scan_pages_over_hundreds_of_keys(client: Any, prefix: str) -> None:
    expected = {f"{prefix}k{i}" for i in range(600)}
    keys = sorted(expected)
    for start in range(0, len(keys), 200):
        pipe = client.pipeline()
        for key in keys[start : start + 200]:
            pipe.set(key, "x")
        assert await r(pipe.exec()) == [True] * len(keys[start : start + 200])
    await r(client.set(prefix.rstrip(":") + "-other", "not matched"))
    seen: list[str] = []
    cursor, calls = 0, 0
    while True:
        cursor, page = await r(client.scan(cursor, match=prefix + "*", count=50))
        calls += 1
        seen.extend(page)
        if cursor == 0:
            break
        assert calls < 1000, "SCAN never returned cursor 0"
    assert set(seen) == expected
    assert calls > 1, "600 keys with COUNT 50 must take more than one page"


async def test_pipeline_with_error_slot(client: Any, prefix: str) -> None:
    await r(client.set(prefix + "str", "abc"))
    pipe = client.pipeline()
    pipe.incr(prefix + "rocket").incr(prefix + "rocket").get(prefix + "rocket")
    pipe.incr(prefix + "str").get(prefix + "nope")
    with pytest.raises(UpstashError, match="not an integer"):
        await r(pipe.exec())
    # Every command ran, the failing one included, as on Upstash.
    assert await r(client.get(prefix + "rocket")) == "2"
    pipe = client.pipeline()
    pipe.incr(prefix + "rocket").get(prefix + "rocket").get(prefix + "nope")
    assert await r(pipe.exec()) == [3, "3", None]


async def test_multi_exec(client: Any, prefix: str) -> None:
    x = prefix + "x"
    tx = client.multi()
    tx.set(x, "1").incr(x).get(x)
    assert await r(tx.exec()) == [True, 2, "2"]
    tx = client.multi()
    for _ in range(3):
        tx.incr(prefix + "c")
    tx.get(prefix + "c")
    assert await r(tx.exec()) == [1, 2, 3, "3"]
    # A runtime error is a slot of its own; the rest of the transaction applied.
    await r(client.set(prefix + "s", "abc"))
    tx = client.multi()
    tx.incr(prefix + "s").set(x, "after")
    with pytest.raises(UpstashError, match="not an integer"):
        await r(tx.exec())
    assert await r(client.get(x)) == "after"


async def test_wrong_token(gateway: Gateway, prefix: str) -> None:
    bad = Redis(gateway.url, "wrong", rest_retries=0, allow_telemetry=False)
    with pytest.raises(UpstashError, match="Unauthorized"):
        bad.get(prefix + "k")
    bad.close()
    abad = AsyncRedis(gateway.url, "wrong", rest_retries=0, allow_telemetry=False)
    with pytest.raises(UpstashError, match="Unauthorized"):
        await abad.set(prefix + "k", "v")
    await abad.close()
    good = gateway.client()
    assert good.get(prefix + "k") is None, "an unauthorized SET must not run"
    good.close()


async def test_redis_errors_reach_the_client_verbatim(client: Any, prefix: str) -> None:
    await r(client.lpush(prefix + "list", "a"))
    with pytest.raises(UpstashError) as info:
        await r(client.get(prefix + "list"))
    assert str(info.value) == "WRONGTYPE Operation against a key holding the wrong kind of value"
    with pytest.raises(UpstashError) as info:
        await r(client.execute(["SET", prefix + "only-key"]))
    assert str(info.value) == "ERR wrong number of arguments for 'set' command"
    with pytest.raises(UpstashError, match=r"^ERR unknown command"):
        await r(client.execute(["NOSUCHCOMMAND", "x"]))


async def test_refused_commands(client: Any, prefix: str) -> None:
    for command in (
        ["MULTI"],
        ["exec"],
        ["WATCH", prefix + "k"],
        ["SELECT", "1"],
        ["BLPOP", prefix + "l", "0"],
        ["XREAD", "BLOCK", "0", "STREAMS", prefix + "s", "$"],
        ["SUBSCRIBE", "chan"],
        ["CLIENT", "REPLY", "OFF"],
    ):
        with pytest.raises(UpstashError, match=r"not (available|supported) over the REST API"):
            await r(client.execute(command))
    # The connection pool is not poisoned: ordinary commands still work.
    assert await r(client.set(prefix + "k", "v")) is True
    assert await r(client.get(prefix + "k")) == "v"


# -- raw HTTP: exact bodies, status codes and headers -----------------------------------


@pytest.fixture
async def http(gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    """A plain HTTP client with the gateway's token (no proxies)."""
    async with httpx.AsyncClient(
        base_url=gateway.url,
        trust_env=False,
        headers={"Authorization": f"Bearer {gateway.token}"},
    ) as made:
        yield made


async def test_wire_format_base64_and_plain(http: httpx.AsyncClient, prefix: str) -> None:
    b64 = {"Upstash-Encoding": "base64"}
    response = await http.post("/", json=["SET", prefix + "k", "bar", "EX", 60], headers=b64)
    assert (response.status_code, response.json()) == (200, {"result": "OK"})
    assert response.headers["content-type"] == "application/json"
    assert (await http.post("/", json=["GET", prefix + "k"], headers=b64)).json() == {
        "result": "YmFy"
    }
    assert (await http.post("/", json=["PING"], headers=b64)).json() == {"result": "UE9ORw=="}
    assert (await http.post("/", json=["GET", prefix + "k"])).json() == {"result": "bar"}
    assert (await http.post("/", json=["PING"])).json() == {"result": "PONG"}
    assert (
        await http.post("/", json=["MGET", prefix + "k", prefix + "nope"], headers=b64)
    ).json() == {"result": ["YmFy", None]}
    # Number literals are passed through exactly as sent.
    await http.post("/", content=f'["SET","{prefix}f",1.50]', headers=b64)
    assert (await http.post("/", json=["GET", prefix + "f"])).json() == {"result": "1.50"}


async def test_pipeline_and_multi_exec_bodies(http: httpx.AsyncClient, prefix: str) -> None:
    await http.post("/", json=["SET", prefix + "str", "abc"])
    response = await http.post(
        "/pipeline",
        json=[
            ["INCR", prefix + "rocket"],
            ["INCR", prefix + "rocket"],
            ["GET", prefix + "rocket"],
            ["INCR", prefix + "str"],
            ["GET", prefix + "nope"],
            ["SELECT", "2"],
        ],
        headers={"Upstash-Encoding": "base64"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body[:3] == [{"result": 1}, {"result": 2}, {"result": "Mg=="}]
    assert body[3] == {"error": "ERR value is not an integer or out of range"}
    assert body[4] == {"result": None}
    assert "not available over the REST API" in body[5]["error"]

    ok = await http.post("/multi-exec", json=[["SET", prefix + "x", "1"], ["INCR", prefix + "x"]])
    assert (ok.status_code, ok.json()) == (200, [{"result": "OK"}, {"result": 2}])
    discarded = await http.post(
        "/multi-exec", json=[["SET", prefix + "x", "9"], ["SET", prefix + "y"]]
    )
    assert discarded.status_code == 400
    assert discarded.json() == {"error": "ERR wrong number of arguments for 'set' command"}
    assert (await http.post("/", json=["GET", prefix + "x"])).json() == {"result": "2"}
    refused = await http.post("/multi-exec", json=[["SET", prefix + "x", "9"], ["BLPOP", "l", "0"]])
    assert refused.status_code == 400
    assert (await http.post("/", json=["GET", prefix + "x"])).json() == {"result": "2"}


@pytest.mark.parametrize(
    ("path", "content", "message"),
    [
        ("/", b"not json", "failed to parse command"),
        ("/", b"[]", "failed to parse command"),
        ("/", b'{"cmd": "GET"}', "failed to parse command"),
        ("/", b'["SET", "k", {"nested": 1}]', "arguments must be strings"),
        ("/", b"[1, 2]", "failed to parse command"),
        ("/pipeline", b"[]", "ERR empty pipeline"),
        ("/pipeline", b'["GET", "k"]', "failed to parse command"),
        ("/multi-exec", b"[]", "ERR empty transaction"),
    ],
)
async def test_bad_bodies_are_400(
    http: httpx.AsyncClient, path: str, content: bytes, message: str
) -> None:
    response = await http.post(path, content=content)
    assert response.status_code == 400
    assert message in response.json()["error"]


async def test_auth_sync_token_and_routing(gateway: Gateway, http: httpx.AsyncClient) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, trust_env=False) as anonymous:
        missing = await anonymous.post("/", json=["PING"])
        assert (missing.status_code, missing.json()) == (401, {"error": "Unauthorized"})
        wrong = await anonymous.post(
            "/", json=["PING"], headers={"Authorization": f"Bearer {gateway.token}x"}
        )
        assert wrong.status_code == 401
        assert (await anonymous.post("/pipeline", json=[["PING"]])).status_code == 401
        query = await anonymous.post("/", json=["PING"], params={"_token": gateway.token})
        assert (query.status_code, query.json()) == (200, {"result": "PONG"})
        health = await anonymous.get("/")
        assert health.status_code == 200
    tokens = []
    for _ in range(3):
        response = await http.post("/", json=["PING"], headers={"Upstash-Sync-Token": ""})
        tokens.append(response.headers["Upstash-Sync-Token"])
    assert len(set(tokens)) == 3, "the sync token must change on every request"
    error = await http.post("/", json=["SET", "only-key"])
    assert error.status_code == 400
    assert error.headers["Upstash-Sync-Token"] not in tokens
    assert (await http.get("/pipeline")).status_code == 405
    assert (await http.put("/", json=["PING"])).status_code == 405
    not_found = await http.post("/nope", json=["PING"])
    assert (not_found.status_code, not_found.json()) == (404, {"error": "Not found"})
    unsupported = await http.post("/", json=["PING"], headers={"Upstash-Response-Format": "resp2"})
    assert unsupported.status_code == 400
