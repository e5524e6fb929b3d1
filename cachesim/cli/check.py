"""Build the configured provider, round-trip every cache operation and print latency and stats.

Reads CACHE_PROVIDER and friends (or takes SPEC), so ``cachesim check upstash`` tells
you whether your Upstash URL and token work before your app finds out.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from cachesim.cache import Cache
from cachesim.errors import CacheError
from cachesim.settings import CacheSettings, create_provider, environment_summary

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``cachesim check``."""
    parser.add_argument(
        "spec",
        nargs="?",
        help="provider spec (memory, fakeredis, redis, upstash, memcached, sqlite, "
        "package.module:factory); "
        "default: $CACHE_PROVIDER or memory",
    )
    parser.add_argument("--timeout", type=float, default=None, help="per-operation timeout (s)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


async def _round_trip(cache: Cache) -> list[dict[str, Any]]:
    """Run every operation once on scratch keys; record outcome and latency."""
    tag = uuid.uuid4().hex[:8]
    value = {"check": tag, "n": 1, "ok": True, "items": [1, 2, 3], "none": None}
    steps: list[tuple[str, Callable[[], Awaitable[Any]], Callable[[Any], bool]]] = [
        ("set", lambda: cache.set(f"check:{tag}:a", value, ttl=60), lambda r: r is True),
        ("get", lambda: cache.get(f"check:{tag}:a"), lambda r: r == value),
        ("has", lambda: cache.has(f"check:{tag}:a"), lambda r: r is True),
        (
            "set_many",
            lambda: cache.set_many({f"check:{tag}:b": 2, f"check:{tag}:c": None}, ttl=60),
            lambda r: r is True,
        ),
        (
            "get_many",
            lambda: cache.get_many([f"check:{tag}:b", f"check:{tag}:c", f"check:{tag}:x"]),
            lambda r: r == {f"check:{tag}:b": 2, f"check:{tag}:c": None},
        ),
        (
            "get_or_set",
            lambda: cache.get_or_set(f"check:{tag}:d", lambda: 4, ttl=60),
            lambda r: r == 4,
        ),
        ("delete", lambda: cache.delete(f"check:{tag}:a"), lambda r: r is True),
        ("delete_many", lambda: cache.delete_many([f"check:{tag}:b"]), lambda r: r == 1),
        (
            "invalidate_pattern",
            lambda: cache.invalidate_pattern(f"check:{tag}:*"),
            lambda r: r == 2,
        ),
        ("get (after invalidate)", lambda: cache.get(f"check:{tag}:d"), lambda r: r is None),
    ]
    results = []
    for name, call, ok in steps:
        errors_before = cache.errors + cache.timeouts + cache.short_circuited
        start = time.perf_counter()
        outcome = await call()
        elapsed = (time.perf_counter() - start) * 1000
        failed = cache.errors + cache.timeouts + cache.short_circuited > errors_before
        results.append(
            {
                "op": name,
                "ok": bool(ok(outcome)) and not failed,
                "ms": round(elapsed, 3),
                "backend_error": failed,
            }
        )
    return results


def _diagnose(cache: Cache, steps: list[dict[str, Any]]) -> str | None:
    if all(s["ok"] for s in steps):
        return None
    provider = cache.provider.name
    if cache.timeouts:
        return (
            f"the {provider} backend did not answer within {cache.timeout} s: check the host/port "
            "or URL, firewalls, and that the server is running (raise CACHE_TIMEOUT for far "
            "regions)"
        )
    if cache.errors or cache.short_circuited:
        hints = {
            "upstash": "check UPSTASH_REDIS_REST_URL (https://<db>.upstash.io) and "
            "UPSTASH_REDIS_REST_TOKEN (a Standard token, not Read Only)",
            "redis": "check REDIS_URL (redis://[:password@]host:port/db) and that the server is up",
        }
        return f"the {provider} backend failed: {hints.get(provider, 'see the log above')}"
    return "the backend answered, but some operations returned unexpected results (see table)"


class _Collect(logging.Handler):
    """Keeps the cache's warnings so the diagnosis can quote the first backend error."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


async def _check(spec: str | None, op_timeout: float | None) -> dict[str, Any]:
    settings = CacheSettings(CACHE_PROVIDER=spec) if spec else CacheSettings()
    provider = create_provider(settings)
    cache = Cache(
        provider,
        namespace=f"{settings.namespace}-check",
        default_ttl=settings.default_ttl,
        timeout=op_timeout or settings.timeout,
    )
    collector = _Collect()
    log = logging.getLogger("cachesim")
    log.addHandler(collector)
    try:
        async with cache:
            steps = await _round_trip(cache)
            stats = await cache.get_stats()
    finally:
        log.removeHandler(collector)
    diagnosis = _diagnose(cache, steps)
    if diagnosis and collector.messages:
        diagnosis += f" (first error: {collector.messages[0]})"
    return {
        "provider": provider.name,
        "provider_repr": repr(provider),
        "environment": environment_summary(),
        "steps": steps,
        "ok": all(s["ok"] for s in steps),
        "diagnosis": diagnosis,
        "stats": stats.to_json(),
    }


def run(args: argparse.Namespace) -> int:
    """Run the check; exit 0 when every operation round-tripped, 1 otherwise, 2 on bad config."""
    try:
        report = asyncio.run(_check(args.spec, args.timeout))
    except CacheError as exc:
        if args.json:
            print(json.dumps({"ok": False, "diagnosis": str(exc)}))
        else:
            print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report, default=str))
        return 0 if report["ok"] else 1
    print(f"provider: {report['provider_repr']}")
    if report["environment"]:
        print("environment: " + ", ".join(f"{k}={v}" for k, v in report["environment"].items()))
    print(f"{'operation':<24} {'result':<8} {'latency':>10}")
    for step in report["steps"]:
        print(f"{step['op']:<24} {'ok' if step['ok'] else 'FAILED':<8} {step['ms']:>8.3f}ms")
    stats = report["stats"]
    print(
        f"stats: hits={stats['hits']} misses={stats['misses']} hit_rate={stats['hit_rate']:.2f} "
        f"errors={stats['errors']} timeouts={stats['timeouts']} breaker={stats['breaker_state']}"
    )
    if report["ok"]:
        print("OK: every operation round-tripped")
        return 0
    print(f"PROBLEM: {report['diagnosis']}", file=sys.stderr)
    return 1
