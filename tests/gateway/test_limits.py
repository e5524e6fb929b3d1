"""Big and hostile requests: command caps, pipelines in chunks, deep JSON, half-sent bodies."""

from __future__ import annotations

import asyncio
import itertools
import logging
import socket
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

import cachesim.gateway.backend as backend_module
from cachesim.gateway.app import MAX_COMMANDS_ENV, GatewayApp
from cachesim.gateway.backend import PIPELINE_CHUNK, RedisBackend
from cachesim.gateway.protocol import MAX_COMMANDS
from cachesim.gateway.server import Gateway, run_gateway


def _auth(gw: Gateway) -> dict[str, str]:
    return {"Authorization": f"Bearer {gw.token}"}


# -- commands per request ------------------------------------------------------------
@pytest.fixture(scope="module")
def capped(redis_url: str) -> Iterator[Gateway]:
    with run_gateway(redis_url, max_commands=100) as gw:
        yield gw


@pytest.mark.parametrize("path", ["/pipeline", "/multi-exec"])
def test_requests_over_the_command_cap_are_400_and_run_nothing(capped: Gateway, path: str) -> None:
    key = f"cap:{uuid.uuid4().hex}"
    body = [["SET", key, "1"], *([["PING"]] * 100)]
    with httpx.Client(trust_env=False, timeout=30) as http:
        response = http.post(capped.url + path, json=body, headers=_auth(capped))
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error.startswith("ERR too many commands in one request: 101"), error
        assert "100" in error, "the error names the limit"
        assert http.post(capped.url, json=["GET", key], headers=_auth(capped)).json() == {
            "result": None
        }, "nothing of a refused request runs"
        at_cap = http.post(capped.url + path, json=body[:100], headers=_auth(capped))
        assert at_cap.status_code == 200, "a request at the cap runs"


def test_default_cap_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert MAX_COMMANDS == 100_000
    monkeypatch.setenv(MAX_COMMANDS_ENV, "3")
    with run_gateway("fakeredis") as gw, httpx.Client(trust_env=False, timeout=10) as http:
        response = http.post(gw.url + "/pipeline", json=[["PING"]] * 4, headers=_auth(gw))
        assert response.status_code == 400
        assert "3" in response.json()["error"]


def test_bad_cap_is_refused() -> None:
    with pytest.raises(ValueError, match="max_commands"):
        GatewayApp(RedisBackend("fakeredis"), "t", max_commands=0)


# -- big pipelines let other requests through ----------------------------------------
@pytest.fixture
async def app(redis_url: str) -> AsyncIterator[GatewayApp]:
    gateway = GatewayApp(RedisBackend(redis_url), "token")
    await gateway.backend.open()
    try:
        yield gateway
    finally:
        await gateway.backend.aclose()


def _client(app: GatewayApp) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://127.0.0.1",
        headers={"Authorization": "Bearer token"},
        timeout=120,
    )


async def test_pipeline_replies_are_handled_in_chunks_that_yield(
    app: GatewayApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    n = 10 * PIPELINE_CHUNK
    converted = [0]
    convert = backend_module._convert

    def counting(value: Any) -> Any:
        converted[0] += 1
        return convert(value)

    monkeypatch.setattr(backend_module, "_convert", counting)
    readings: list[int] = []
    done = False

    async def ticker() -> None:
        while not done:
            readings.append(converted[0])
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    async with _client(app) as http:
        response = await http.post("/pipeline", json=[["PING"]] * n)
    done = True
    await task
    assert response.status_code == 200 and len(response.json()) == n
    marks = [0, *readings, converted[0]]
    most = max(b - a for a, b in itertools.pairwise(marks))
    assert most <= PIPELINE_CHUNK, (
        f"a pipeline must let the loop run other tasks every {PIPELINE_CHUNK} replies "
        f"(it handled {most} in one go)"
    )


async def test_another_clients_request_is_served_while_a_big_pipeline_runs(
    app: GatewayApp,
) -> None:
    p = f"big:{uuid.uuid4().hex[:8]}:"
    n = 20 * PIPELINE_CHUNK
    big = [["SET", p + "started", "1"], *([["SET", p + "filler", "x"]] * n), ["GET", p + "probe"]]

    async def other_client() -> int:
        requests = 0
        async with _client(app) as http:
            while True:
                requests += 1
                got = await http.post("/", json=["GET", p + "started"])
                if got.json()["result"] == "1":
                    break
            requests += 1
            await http.post("/", json=["SET", p + "probe", "served"])
        return requests

    other = asyncio.create_task(other_client())
    async with _client(app) as http:
        response = await http.post("/pipeline", json=big)
    requests = await other
    assert response.status_code == 200
    assert response.json()[-1] == {"result": "served"}, (
        "another client's request must run between the first and last command of a big "
        f"pipeline (it sent {requests} requests meanwhile)"
    )


# -- hostile bodies ------------------------------------------------------------------
@pytest.fixture(scope="module")
def gw() -> Iterator[Gateway]:
    with run_gateway("fakeredis") as gateway:
        yield gateway


@pytest.mark.parametrize("path", ["/", "/pipeline", "/multi-exec", "/_cachesim/faults"])
def test_deeply_nested_json_is_a_400(gw: Gateway, path: str) -> None:
    with httpx.Client(trust_env=False, timeout=30) as http:
        response = http.request(
            "PUT" if "faults" in path else "POST",
            gw.url + path,
            content=b"[" * 100_000,
            headers=_auth(gw),
        )
    assert response.status_code == 400, f"deep JSON must be a client error: {response.text}"
    assert "nest" in response.json()["error"]


def _half_sent(gw: Gateway, path: str) -> None:
    host, port = gw.url.removeprefix("http://").split("/")[0].rsplit(":", 1)
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Authorization: Bearer {gw.token}\r\nContent-Type: application/json\r\n"
            "Content-Length: 100000\r\n\r\n".encode()
            + b'[["SET","k",'
        )


@pytest.mark.parametrize("path", ["/", "/pipeline", "/_cachesim/faults"])
def test_client_disconnecting_mid_body_logs_one_quiet_line(
    gw: Gateway, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    if path.endswith("faults"):
        # the admin endpoint reads with PUT: send the same half body with that method
        host, port = gw.url.removeprefix("http://").split("/")[0].rsplit(":", 1)
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(
                f"PUT {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                f"Authorization: Bearer {gw.token}\r\nContent-Length: 100000\r\n\r\n{{".encode()
            )
    else:
        _half_sent(gw, path)
    deadline = time.monotonic() + 30  # waiting for an event, not asserting a duration
    while time.monotonic() < deadline:
        quiet = [r for r in caplog.records if "disconnected" in r.getMessage()]
        if quiet:
            break
        time.sleep(0.02)
    # the server is still serving
    with httpx.Client(trust_env=False, timeout=10) as http:
        assert http.post(gw.url, json=["PING"], headers=_auth(gw)).status_code == 200
    quiet = [r for r in caplog.records if "disconnected" in r.getMessage()]
    assert len(quiet) == 1, "one line per half-sent request"
    assert quiet[0].levelno <= logging.INFO and quiet[0].exc_info is None
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    assert not loud, f"no warning, error or traceback: {[r.getMessage() for r in loud]}"
