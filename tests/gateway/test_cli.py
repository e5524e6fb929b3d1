"""``cachesim gateway`` run as a real subprocess."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import pytest
import redis
from upstash_redis.errors import UpstashError

from cachesim.gateway.server import TOKEN_ENV, GatewayProcess


def _cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
    return subprocess.run(
        [sys.executable, "-m", "cachesim", "gateway", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serves_the_official_client_and_stops_cleanly(sig: signal.Signals) -> None:
    process = GatewayProcess("fakeredis", token="cli-token")
    gw = process.start()
    try:
        assert gw.url.startswith("http://127.0.0.1:")
        client = gw.client()
        assert client.set("k", "héllo") is True
        assert client.get("k") == "héllo"
        client.close()
        assert process.proc is not None
        process.proc.send_signal(sig)
        assert process.proc.wait(timeout=15) == 0
    finally:
        process.stop()
    assert "cachesim gateway: stopped" in "".join(process.stderr)


def test_prints_the_export_lines() -> None:
    process = GatewayProcess("fakeredis", token="printed-token")
    gw = process.start()
    try:
        assert process.wait_for_output("Press Ctrl-C", timeout=10) is not None
        out = "".join(process.output)
        assert "export UPSTASH_REDIS_REST_TOKEN=printed-token" in out
        assert "Press Ctrl-C to stop." in out
        assert gw.url in out
    finally:
        assert process.stop() == 0


def test_real_redis_backend_and_startup_faults(redis_url: str) -> None:
    process = GatewayProcess(redis_url, extra_args=["--fault", "error=1.0", "--seed", "1"])
    with process as gw:
        client = gw.client()
        with pytest.raises(UpstashError, match="injected fault"):
            client.set("cli:k", "v")
        assert gw.faults.counts == {"error": 1}
        gw.faults.clear()
        assert client.set("cli:k", "through the gateway") is True
        client.close()
        direct = redis.Redis.from_url(redis_url, decode_responses=True)
        assert direct.get("cli:k") == "through the gateway"
        direct.delete("cli:k")
        direct.close()


def test_bad_arguments_exit_2() -> None:
    result = _cli("--backend", "memcached://nope", "--port", "0")
    assert result.returncode == 2
    assert "backend must be 'fakeredis' or a redis://" in result.stderr
    result = _cli("--fault", "explode=0.5", "--port", "0")
    assert result.returncode == 2
    assert "unknown fault" in result.stderr
    result = _cli("--latency", "fast", "--port", "0")
    assert result.returncode == 2


def test_port_in_use_exits_2() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = _cli("--port", str(port), "--token", "t")
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


def test_remote_faults_mirror_the_local_switch() -> None:
    with GatewayProcess("fakeredis") as gw:
        faults = gw.faults
        client = gw.client()
        with faults.injected(unauthorized=1.0, seed=4):
            assert faults.plan.rates == {"unauthorized": 1.0}
            with pytest.raises(UpstashError, match="Unauthorized"):
                client.ping()
        assert not faults.plan.active
        assert client.ping() == "PONG"
        assert faults.requests == 2
        assert faults.counts == {"unauthorized": 1}
        faults.reset_counts()
        assert faults.requests == 0
        client.close()
