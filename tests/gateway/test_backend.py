"""Backend behaviour behind the gateway: unreachable servers, exclusive connections, raw bytes."""

from __future__ import annotations

import asyncio
import base64
import uuid

import fakeredis
import httpx
import pytest
import redis
from upstash_redis.errors import UpstashError

from cachesim.gateway.redis_server import free_port
from cachesim.gateway.server import Gateway, run_gateway


def test_unreachable_backend_is_a_502_without_secrets() -> None:
    url = f"redis://:s3cret-password@127.0.0.1:{free_port()}/0"
    with run_gateway(url) as gw:
        assert "s3cret" not in repr(gw)
        assert "s3cret" not in gw.backend
        client = gw.client()
        with pytest.raises(UpstashError, match="gateway backend unavailable") as info:
            client.get("k")
        assert "s3cret" not in str(info.value)
        client.close()
        with httpx.Client(trust_env=False) as http:
            response = http.post(
                gw.url, json=["PING"], headers={"Authorization": f"Bearer {gw.token}"}
            )
        assert response.status_code == 502
        assert "Upstash-Sync-Token" in response.headers


async def test_transactions_get_exclusive_connections(gateway: Gateway, prefix: str) -> None:
    client = gateway.async_client()
    counter = prefix + "counter"

    async def transaction() -> list[int]:
        tx = client.multi()
        tx.incr(counter).incr(counter).incr(counter)
        result: list[int] = await tx.exec()
        return result

    async def pipeline() -> None:
        pipe = client.pipeline()
        pipe.incr(prefix + "other").get(counter)
        await pipe.exec()

    results = await asyncio.gather(
        *(transaction() for _ in range(25)), *(pipeline() for _ in range(25))
    )
    transactions = [r for r in results if r is not None]
    for first, second, third in transactions:
        assert (second, third) == (first + 1, first + 2), "a transaction was interleaved"
    assert sorted(t[0] for t in transactions) == list(range(1, 75, 3))
    assert await client.get(counter) == "75"
    await client.close()


async def test_raw_bytes_are_encoded_from_the_stored_bytes(
    gateway: Gateway, request: pytest.FixtureRequest
) -> None:
    key = f"bin{uuid.uuid4().hex[:8]}"
    value = b"\xff\xfe\x00caf\xc3\xa9"
    if gateway.backend == "fakeredis":
        server = request.getfixturevalue("fake_server")
        direct: redis.Redis = fakeredis.FakeRedis(server=server)
    else:
        direct = redis.Redis.from_url(request.getfixturevalue("redis_url"))
    direct.set(key, value)
    direct.close()
    async with httpx.AsyncClient(
        trust_env=False, headers={"Authorization": f"Bearer {gateway.token}"}
    ) as http:
        encoded = await http.post(
            gateway.url, json=["GET", key], headers={"Upstash-Encoding": "base64"}
        )
        assert base64.b64decode(encoded.json()["result"]) == value
        plain = await http.post(gateway.url, json=["GET", key])
        assert plain.json()["result"] == value.decode("utf-8", "replace")


def test_path_prefix() -> None:
    with run_gateway("fakeredis", prefix="/tenant1") as gw:
        assert gw.url.endswith("/tenant1")
        client = gw.client()
        assert client.set("k", "v") is True
        pipe = client.pipeline()
        pipe.get("k").incr("n")
        assert pipe.exec() == ["v", 1]
        tx = client.multi()
        tx.incr("n")
        assert tx.exec() == [2]
        client.close()
        root = gw.url.removesuffix("/tenant1")
        with httpx.Client(trust_env=False) as http:
            auth = {"Authorization": f"Bearer {gw.token}"}
            assert http.post(root + "/", json=["PING"], headers=auth).status_code == 404
            assert http.post(gw.url + "/", json=["PING"], headers=auth).json() == {"result": "PONG"}
