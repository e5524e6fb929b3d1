"""`cachesim check`: round-trips every operation or explains what is misconfigured."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from cachesim.gateway.redis_server import free_port


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("CACHE_", "UPSTASH_"))}
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-m", "cachesim", "check", *args],
        capture_output=True, text=True, env=environ, timeout=60, check=False,
    )  # fmt: skip


def test_check_on_the_embedded_default() -> None:
    result = run()
    assert result.returncode == 0, result.stderr
    assert "OK: every operation round-tripped" in result.stdout
    for op in ("set", "get", "has", "get_many", "get_or_set", "invalidate_pattern"):
        assert op in result.stdout


def test_check_json_against_a_real_redis(redis_url: str) -> None:
    result = run("redis", "--json", REDIS_URL=redis_url)
    report = json.loads(result.stdout)
    assert result.returncode == 0 and report["ok"] is True
    assert report["provider"] == "redis"
    assert all(step["ok"] for step in report["steps"])


def test_check_diagnoses_an_unreachable_backend() -> None:
    result = run("redis", "--timeout", "0.3", REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    assert result.returncode == 1
    assert "PROBLEM: the redis backend failed" in result.stderr
    assert "Connect" in result.stderr


def test_check_diagnoses_missing_upstash_configuration() -> None:
    result = run("upstash")
    assert result.returncode == 2
    assert "UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN" in result.stderr


def test_check_never_prints_the_token() -> None:
    result = run(
        "upstash", "--timeout", "0.3",
        UPSTASH_REDIS_REST_URL=f"http://127.0.0.1:{free_port()}",
        UPSTASH_REDIS_REST_TOKEN="tok-never-print",
    )  # fmt: skip
    assert result.returncode == 1
    assert "tok-never-print" not in result.stdout + result.stderr
    assert "UPSTASH_REDIS_REST_TOKEN=***" in result.stdout


def test_a_missing_optional_dependency_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without the gateway extra, `cachesim gateway` says what to install."""
    import cachesim.cli.gateway as gateway_cli
    from cachesim.cli import main

    def run(args: object) -> int:
        raise ModuleNotFoundError("No module named 'starlette'", name="starlette")

    monkeypatch.setattr(gateway_cli, "run", run)
    assert main(["gateway", "--backend", "fakeredis", "--token", "t"]) == 2
    assert "pip install 'cachesim[gateway]'" in capsys.readouterr().err
