"""Redis credentials never appear in anything the gateway prints, logs or answers.

Every URL form (userinfo, ``password=`` / ``username=`` query parameters), right and
wrong passwords and a malformed URL, through ``cachesim gateway`` in a child process
(stdout, stderr at debug level, HTTP bodies) and through ``run_gateway`` (log records,
reprs).  Everything captured is searched for every secret.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
import redis

from cachesim.gateway.redis_server import RedisServerNotFound, redis_server
from cachesim.gateway.server import TOKEN_ENV, GatewayProcess, run_gateway

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

PASSWORD = "pw-Secret-4f1c"
USER_PASSWORD = "user-Secret-9a2e"
WRONG = "wrong-Secret-77b0"
USERNAME = "appuser-Secret-name"
SECRETS = (PASSWORD, USER_PASSWORD, WRONG, USERNAME, "Secret")


@pytest.fixture(scope="module")
def locked() -> Iterator[tuple[str, int]]:
    """A redis-server with a password and an ACL user."""
    try:
        with redis_server() as server:
            direct = redis.Redis(host=server.host, port=server.port)
            direct.acl_setuser(
                USERNAME,
                enabled=True,
                passwords=[f"+{USER_PASSWORD}"],
                commands=["+@all"],
                keys=["*"],
                channels=["*"],
            )
            direct.config_set("requirepass", PASSWORD)
            direct.close()
            yield server.host, server.port
    except RedisServerNotFound as exc:
        if IN_CI:
            pytest.fail(f"CI=true but no redis-server is available: {exc}")
        pytest.skip(str(exc))


def _urls(host: str, port: int) -> dict[str, tuple[str, int]]:
    """URL form -> (URL, expected status of a PING through the gateway)."""
    base = f"{host}:{port}"
    return {
        "userinfo": (f"redis://:{PASSWORD}@{base}/0", 200),
        "query": (f"redis://{base}/0?password={PASSWORD}", 200),
        "acl-user": (f"redis://{USERNAME}:{USER_PASSWORD}@{base}/0", 200),
        "acl-query": (f"redis://{base}/0?username={USERNAME}&password={USER_PASSWORD}", 200),
        "wrong-userinfo": (f"redis://:{WRONG}@{base}/0", 502),
        "wrong-query": (f"redis://{base}/0?password={WRONG}&username={USERNAME}", 502),
    }


def _leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


@pytest.mark.parametrize(
    "form", ["userinfo", "query", "acl-user", "acl-query", "wrong-userinfo", "wrong-query"]
)
def test_process_output_and_replies_hold_no_secret(locked: tuple[str, int], form: str) -> None:
    url, status = _urls(*locked)[form]
    process = GatewayProcess(url, extra_args=["--log-level", "debug"])
    captured: list[str] = []
    try:
        gateway = process.start()
        captured += [repr(process), repr(gateway), gateway.backend, str(gateway.faults)]
        with httpx.Client(trust_env=False, timeout=10) as http:
            auth = {"Authorization": f"Bearer {gateway.token}"}
            for path, body in (
                ("/", ["PING"]),
                ("/pipeline", [["PING"]]),
                ("/multi-exec", [["PING"]]),
            ):
                response = http.post(gateway.url + path, json=body, headers=auth)
                captured.append(response.text)
                assert response.status_code == status, response.text
        if status == 502:
            assert "ERR gateway backend unavailable" in captured[-1]
    finally:
        process.stop()
    captured += [*process.output, *process.stderr]
    while not process.stdout.empty():
        captured.append(process.stdout.get())
    text = "\n".join(captured)
    assert _leaks(text) == [], f"secrets in the gateway's output or replies ({form}): {text}"


def test_malformed_url_exits_2_with_one_redacted_line() -> None:
    url = f"redis://{USERNAME}:{PASSWORD}@127.0.0.1:notaport/0"
    result = subprocess.run(
        [sys.executable, "-m", "cachesim", "gateway", "--backend", url, "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, TOKEN_ENV: "t"},
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, "a bad URL is a one-line reason, not a traceback"
    assert "port" in result.stderr.lower()
    assert _leaks(result.stdout + result.stderr) == []


def test_thread_gateway_logs_and_reprs_hold_no_secret(
    locked: tuple[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    captured: list[str] = []
    for url, status in _urls(*locked).values():
        with run_gateway(url) as gateway:
            captured += [repr(gateway), gateway.backend]
            with httpx.Client(trust_env=False, timeout=10) as http:
                response = http.post(
                    gateway.url, json=["PING"], headers={"Authorization": f"Bearer {gateway.token}"}
                )
            assert response.status_code == status
            captured.append(response.text)
    captured += [record.getMessage() for record in caplog.records]
    captured += [caplog.text]
    text = "\n".join(captured)
    assert _leaks(text) == [], f"secrets in logs or reprs: {text}"
