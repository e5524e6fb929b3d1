"""`cachesim check` tells refused, timed out, unauthorized and wrong-URL backends apart.

Each case is produced for real: the project's gateway with a wrong token, a wrong path
or an injected hang, a loopback port nobody listens on, and a redis-server that wants
a password.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from cachesim.cli.check import classify, diagnose
from cachesim.gateway import free_port
from cachesim.gateway.redis_server import RedisServerNotFound, redis_server
from cachesim.gateway.server import Gateway, run_gateway

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def check(*args: str, **env: str) -> tuple[int, dict[str, Any], str]:
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith(("CACHE_", "UPSTASH_", "REDIS_"))
    }
    environ.update(env)
    run = subprocess.run(
        [sys.executable, "-m", "cachesim", "check", *args, "--json"],
        capture_output=True,
        text=True,
        env=environ,
        timeout=600,  # a hang guard only
        check=False,
    )
    return run.returncode, json.loads(run.stdout), run.stderr


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    with run_gateway("fakeredis") as gw:
        yield gw


def test_a_working_upstash_endpoint_has_no_problem(gateway: Gateway) -> None:
    code, report, _ = check(
        "upstash", UPSTASH_REDIS_REST_URL=gateway.url, UPSTASH_REDIS_REST_TOKEN=gateway.token
    )
    assert (code, report["problem"], report["diagnosis"]) == (0, None, None)


def test_a_rejected_token_is_called_unauthorized(gateway: Gateway) -> None:
    code, report, _ = check(
        "upstash", UPSTASH_REDIS_REST_URL=gateway.url, UPSTASH_REDIS_REST_TOKEN="not-the-token"
    )
    assert code == 1 and report["problem"] == "unauthorized"
    assert "token was rejected (401 Unauthorized)" in report["diagnosis"]
    assert "UPSTASH_REDIS_REST_TOKEN" in report["diagnosis"], "the fix names the variable"
    assert "not-the-token" not in json.dumps(report), "the token never appears"


def test_a_url_that_is_not_an_upstash_endpoint_is_a_wrong_url(gateway: Gateway) -> None:
    code, report, _ = check(
        "upstash",
        UPSTASH_REDIS_REST_URL=gateway.url + "/not/the/endpoint",
        UPSTASH_REDIS_REST_TOKEN=gateway.token,
    )
    assert code == 1 and report["problem"] == "wrong_url"
    assert "not point at an Upstash REST endpoint" in report["diagnosis"]
    assert "https://<database>.upstash.io" in report["diagnosis"]
    assert "token" not in report["diagnosis"].split("(first error")[0].lower()


def test_a_hanging_endpoint_is_a_timeout(gateway: Gateway) -> None:
    with gateway.faults.injected(hang=1.0, hang_seconds=5.0):
        code, report, _ = check(
            "upstash",
            "--timeout",
            "0.3",
            UPSTASH_REDIS_REST_URL=gateway.url,
            UPSTASH_REDIS_REST_TOKEN=gateway.token,
        )
    assert code == 1 and report["problem"] == "timeout"
    assert "did not answer within 0.3 s" in report["diagnosis"]
    assert "CACHE_TIMEOUT" in report["diagnosis"]


@pytest.mark.parametrize("spec", ["upstash", "redis"])
def test_a_closed_port_is_refused_and_the_fix_is_not_the_token(spec: str) -> None:
    port = free_port()
    env = (
        {"UPSTASH_REDIS_REST_URL": f"http://127.0.0.1:{port}", "UPSTASH_REDIS_REST_TOKEN": "t"}
        if spec == "upstash"
        else {"REDIS_URL": f"redis://127.0.0.1:{port}/0"}
    )
    code, report, _ = check(spec, "--timeout", "2", **env)
    assert code == 1 and report["problem"] == "refused"
    advice = report["diagnosis"].split("(first error")[0]
    assert "connection refused" in advice
    assert "token" not in advice.lower(), "a refused connection is not a credentials problem"
    assert ("UPSTASH_REDIS_REST_URL" if spec == "upstash" else "REDIS_URL") in advice


def test_a_wrong_redis_password_is_unauthorized() -> None:
    import redis

    try:
        server_cm = redis_server()
        server = server_cm.__enter__()
    except RedisServerNotFound as exc:
        if IN_CI:
            pytest.fail(f"CI=true but no redis-server is available: {exc}")
        pytest.skip(str(exc))
    try:
        client = redis.Redis.from_url(server.url)
        client.config_set("requirepass", "right-password")
        client.close()
        port = server.url.rsplit(":", 1)[1].split("/")[0]
        for password in ("wrong-password", ""):
            code, report, _ = check("redis", REDIS_URL=f"redis://:{password}@127.0.0.1:{port}/0")
            assert code == 1 and report["problem"] == "unauthorized", password
            assert "password" in report["diagnosis"] and "REDIS_URL" in report["diagnosis"]
            assert "wrong-password" not in json.dumps(report), "the password never appears"
    finally:
        server_cm.__exit__(None, None, None)


def test_every_kind_has_a_fix_for_every_provider() -> None:
    kinds = ("refused", "timeout", "unauthorized", "read_only", "wrong_url", "unknown_host")
    for kind in kinds:
        for provider in ("upstash", "redis", "memcached", "sqlite", "module"):
            text = diagnose(provider, kind, 1.0)
            assert provider in text and len(text) > 60, (kind, provider)
    assert classify(ConnectionRefusedError(111, "Connection refused")) == "refused"
    assert classify(TimeoutError()) == "timeout"
    assert classify(OSError("error connecting to 127.0.0.1:40401")) is None, "ports are not 401s"
