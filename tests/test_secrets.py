"""Credentials never appear in reprs, settings dumps, logs, exceptions or `cachesim check`.

Every URL form is covered (userinfo, ``password=``/``username=`` query parameters,
``unix://`` sockets, memcached userinfo, the Upstash token), against a real
redis-server with an ACL user (so the right password connects and a wrong one is
refused by the server) and against dead ports.  All output is captured and
searched for each secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import subprocess
import sys
import traceback
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from cachesim import Cache, SyncCache
from cachesim.errors import CacheError
from cachesim.gateway.redis_server import free_port
from cachesim.gateway.server import run_gateway
from cachesim.redact import redact_text, redact_url, url_secrets
from cachesim.settings import CacheSettings, create_provider, environment_summary

TAG = uuid.uuid4().hex[:6]
USER = f"user-S3cr3t-{TAG}"
PASSWORD = f"pw-S3cr3t-{TAG}"
TOKEN = f"tok-S3cr3t-{TAG}"
SECRETS = (USER, PASSWORD, TOKEN)


@dataclass
class Capture:
    """Everything the library printed, raised or logged, by where it came from."""

    outputs: list[tuple[str, str]] = field(default_factory=list)

    def add(self, source: str, text: object) -> None:
        self.outputs.append((source, str(text)))

    def hits(self) -> list[tuple[str, str]]:
        return [(source, s) for source, text in self.outputs for s in SECRETS if s in text]


def redis_urls(host: str, port: int) -> dict[str, str]:
    """Each way a Redis URL can carry the credentials."""
    return {
        "userinfo": f"redis://{USER}:{PASSWORD}@{host}:{port}/0",
        "password-only-userinfo": f"redis://:{PASSWORD}@{host}:{port}/0",
        "query": f"redis://{host}:{port}/0?username={USER}&password={PASSWORD}",
        "query-mixed-case": f"redis://{host}:{port}/0?Password={PASSWORD}&UserName={USER}",
        "rediss": f"rediss://{USER}:{PASSWORD}@{host}:{port}/0",
        "unix": f"unix:///tmp/nothing-{TAG}.sock?password={PASSWORD}&username={USER}",
    }


@contextlib.contextmanager
def acl_user(redis_url: str) -> Iterator[None]:
    """A real ACL user on the test server, so the password actually authenticates."""
    import redis

    admin = redis.Redis.from_url(redis_url)
    admin.execute_command("ACL", "SETUSER", USER, "on", f">{PASSWORD}", "~*", "&*", "+@all")
    try:
        yield
    finally:
        admin.execute_command("ACL", "DELUSER", USER)
        admin.close()


def _exercise_settings(capture: Capture, env: dict[str, str], label: str) -> CacheSettings | None:
    try:
        settings = CacheSettings(**env)
    except CacheError as exc:
        capture.add(f"{label}: settings error", "".join(traceback.format_exception(exc)))
        return None
    for form, text in (
        ("repr", repr(settings)),
        ("str", str(settings)),
        ("model_dump", settings.model_dump()),
        ("model_dump_json", settings.model_dump_json()),
        ("model_dump(mode=json)", settings.model_dump(mode="json")),
    ):
        capture.add(f"{label}: settings {form}", text)
    return settings


async def _exercise_cache(capture: Capture, settings: CacheSettings, label: str) -> None:
    try:
        cache = Cache.from_env(settings, timeout=0.5)
    except CacheError as exc:
        capture.add(f"{label}: construction error", "".join(traceback.format_exception(exc)))
        return
    capture.add(f"{label}: provider repr", repr(cache.provider))
    capture.add(f"{label}: cache repr", repr(cache))
    await cache.initialize()
    await cache.set("k", {"v": 1})
    capture.add(f"{label}: get", await cache.get("k"))
    await cache.get_or_set("g", lambda: 1)
    await cache.invalidate_pattern("k*")
    stats = await cache.get_stats()
    capture.add(f"{label}: stats", stats.to_json())
    capture.add(f"{label}: stats row", stats.as_dict())
    await cache.disconnect()


def _exercise_sync(capture: Capture, settings: CacheSettings, label: str) -> None:
    with SyncCache.from_env(settings, timeout=0.5) as sc:
        capture.add(f"{label}: sync repr", repr(sc))
        sc.get("k")


def run_check(
    capture: Capture,
    label: str,
    *args: str,
    modes: tuple[tuple[str, ...], ...] = ((), ("--json",)),
    **env: str,
) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("CACHE_", "UPSTASH_"))}
    environ.update(env)
    for extra in modes:
        result = subprocess.run(
            [sys.executable, "-m", "cachesim", "check", *args, "--timeout", "0.5", *extra],
            capture_output=True, text=True, env=environ, timeout=120, check=False,
        )  # fmt: skip
        capture.add(f"{label}: check {' '.join(extra)} stdout", result.stdout)
        capture.add(f"{label}: check {' '.join(extra)} stderr", result.stderr)


def secrets_scan(redis_url: str, caplog: pytest.LogCaptureFixture, *, cli: bool) -> Capture:
    """Drive every surface with every credential form; return all that was captured."""
    capture = Capture()
    caplog.set_level(logging.DEBUG)
    host, port = redis_url.split("//")[1].split("/")[0].split(":")
    dead = free_port()
    with acl_user(redis_url), run_gateway("fakeredis", token=TOKEN) as gateway:
        cases: dict[str, dict[str, str]] = {}
        for form, url in redis_urls(host, int(port)).items():
            cases[f"redis {form}"] = {"CACHE_PROVIDER": "redis", "REDIS_URL": url}
        wrong = f"redis://{USER}:{PASSWORD}x@{host}:{port}/0"
        cases["redis wrong password"] = {"CACHE_PROVIDER": "redis", "REDIS_URL": wrong}
        for form, url in redis_urls("127.0.0.1", dead).items():
            cases[f"redis dead {form}"] = {"CACHE_PROVIDER": "redis", "REDIS_URL": url}
        cases["redis bad scheme"] = {
            "CACHE_PROVIDER": "redis",
            "REDIS_URL": f"http://{USER}:{PASSWORD}@{host}:{port}/0",
        }
        cases["upstash"] = {
            "CACHE_PROVIDER": "upstash",
            "UPSTASH_REDIS_REST_URL": gateway.url,
            "UPSTASH_REDIS_REST_TOKEN": TOKEN,
        }
        cases["upstash wrong token"] = {
            "CACHE_PROVIDER": "upstash",
            "UPSTASH_REDIS_REST_URL": gateway.url,
            "UPSTASH_REDIS_REST_TOKEN": TOKEN + "x",
        }
        cases["upstash dead"] = {
            "CACHE_PROVIDER": "upstash",
            "UPSTASH_REDIS_REST_URL": f"http://{USER}:{PASSWORD}@127.0.0.1:{dead}",
            "UPSTASH_REDIS_REST_TOKEN": TOKEN,
        }
        cases["memcached"] = {
            "CACHE_PROVIDER": "memcached",
            "MEMCACHED_URL": f"memcached://{USER}:{PASSWORD}@127.0.0.1:{dead}",
        }
        cases["invalid settings"] = {
            "CACHE_PROVIDER": "redis",
            "CACHE_TIMEOUT": "-1",
            "REDIS_URL": redis_urls(host, int(port))["userinfo"],
            "UPSTASH_REDIS_REST_TOKEN": TOKEN,
        }
        for label, env in cases.items():
            settings = _exercise_settings(capture, env, label)
            if settings is not None:
                asyncio.run(_exercise_cache(capture, settings, label))
                with contextlib.suppress(CacheError):
                    _exercise_sync(capture, settings, label)
            with pytest.MonkeyPatch.context() as mp:
                for name, value in env.items():
                    mp.setenv(name, value)
                capture.add(f"{label}: environment_summary", environment_summary())
                with contextlib.suppress(CacheError):
                    capture.add(f"{label}: create_provider", repr(create_provider()))
            if cli and not label.startswith("redis dead"):  # one check per URL form
                spec = env["CACHE_PROVIDER"]
                run_check(
                    capture, label, spec, **{k: v for k, v in env.items() if k != "CACHE_PROVIDER"}
                )
    for record in caplog.records:
        capture.add(f"log {record.name}", caplog.handler.format(record))
        for value in record.__dict__.values():
            capture.add(f"log {record.name} field", value)
    return capture


def test_redact_url_covers_every_form() -> None:
    for url in redis_urls("h", 1).values():
        shown = redact_url(url)
        assert not any(s in shown for s in SECRETS), shown
        assert set(url_secrets(url)) <= set(SECRETS)
        assert not any(s in redact_text(f"error talking to {url}: refused") for s in SECRETS)


def test_settings_hold_urls_as_secrets() -> None:
    url = redis_urls("h", 1)["userinfo"]
    settings = CacheSettings(CACHE_PROVIDER="redis", REDIS_URL=url)
    assert settings.redis_url is not None
    assert settings.redis_url.get_secret_value() == url, "the real URL is still available"
    assert "h:1" in repr(settings), "the redacted URL stays useful for diagnosis"


def test_no_secret_in_any_output(redis_url: str, caplog: pytest.LogCaptureFixture) -> None:
    capture = secrets_scan(redis_url, caplog, cli=False)
    assert len(capture.outputs) > 100
    assert capture.hits() == [], "credentials leaked into: " + ", ".join(
        sorted({source for source, _ in capture.hits()})
    )


def test_no_secret_in_cachesim_check(redis_url: str) -> None:
    host, port = redis_url.split("//")[1].split("/")[0].split(":")
    capture = Capture()
    urls = redis_urls(host, int(port))
    run_check(capture, "userinfo", "redis", REDIS_URL=urls["userinfo"])  # text and --json
    for form in ("query", "unix"):  # the reliability session runs every form
        run_check(capture, form, "redis", modes=((),), REDIS_URL=urls[form])
    memcached = f"memcached://{USER}:{PASSWORD}@h:1"
    run_check(capture, "memcached", "memcached", modes=((),), MEMCACHED_URL=memcached)
    assert capture.outputs and capture.hits() == [], capture.hits()


@pytest.mark.parametrize("cut", ["#", "?", "/"])
def test_a_password_holding_a_url_delimiter_never_leaks(cut: str) -> None:
    """A raw '#', '?' or '/' in the password cuts a strict parse short: still masked everywhere."""
    secret = f"Zq9Secret{cut}tail"
    url = f"redis://:{secret}@127.0.0.1:6379/0"
    settings = CacheSettings(provider="redis", redis_url=url)
    with pytest.raises(CacheError) as info:
        create_provider(settings)
    shown = [
        repr(settings),
        str(settings),
        str(settings.model_dump()),
        redact_url(url),
        redact_text(f"connecting to {url} failed"),
        str(info.value),
        "".join(traceback.format_exception(info.value)),
    ]
    for text in shown:
        assert "Zq9Secret" not in text, f"the password leaked: {text!r}"
    assert "percent-encode" in str(info.value), "the error must say how to fix the URL"
