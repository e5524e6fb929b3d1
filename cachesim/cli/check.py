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

__all__ = ["EXAMPLES", "add_arguments", "classify", "diagnose", "run"]

EXAMPLES = """\
examples:
  cachesim check
  cachesim check fakeredis --json
  CACHE_PROVIDER=sqlite SQLITE_PATH=/tmp/cachesim-check.db cachesim check
"""


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


#: what went wrong -> (what it means, how to fix it), by provider where the fix differs
_FIXES: dict[str, dict[str, str]] = {
    "refused": {
        "upstash": "nothing accepts connections at the host and port of UPSTASH_REDIS_REST_URL: "
        "fix the URL (https://<database>.upstash.io), or start the local gateway "
        "(cachesim gateway) if you meant to run offline",
        "redis": "no Redis server listens at the host and port of REDIS_URL: start redis-server "
        "or fix the host/port in REDIS_URL (redis://[:password@]host:port/db)",
        "memcached": "no memcached listens at the host and port of MEMCACHED_URL: start memcached "
        "or fix MEMCACHED_URL (memcached://host:port)",
        "": "nothing accepts connections at the configured address: start the server or fix "
        "the host and port",
    },
    "timeout": {
        "": "the host may be unreachable (firewall, VPN, wrong host) or far away: check the host "
        "in the URL, and raise CACHE_TIMEOUT (or --timeout) for a distant region",
    },
    "unauthorized": {
        "upstash": "the token was rejected (401 Unauthorized): set UPSTASH_REDIS_REST_TOKEN to "
        "this database's REST token from the Upstash console (the standard one; the read-only "
        "token cannot write)",
        "redis": "the server rejected the password, or wants one: put the right password in "
        "REDIS_URL (redis://:password@host:port/db, or redis://user:password@... with ACLs)",
        "": "the credentials were rejected: fix the password or token",
    },
    "read_only": {
        "upstash": "the token may read but not write: use the database's standard REST token, "
        "not the read-only one",
        "": "the credentials may read but not write: use credentials allowed to write",
    },
    "wrong_url": {
        "upstash": "UPSTASH_REDIS_REST_URL does not point at an Upstash REST endpoint (404 Not "
        "Found or a reply that is not Upstash's): use the database's REST URL, "
        "https://<database>.upstash.io, with no path, not its redis:// address",
        "": "the configured address does not serve this protocol: check the scheme, host, port "
        "and path of the URL",
    },
    "unknown_host": {
        "": "the host name in the URL does not resolve: check it for typos, and your DNS",
    },
}
_WHAT = {
    "refused": "connection refused",
    "timeout": "no answer",
    "unauthorized": "unauthorized",
    "read_only": "write refused (read-only credentials)",
    "wrong_url": "wrong URL",
    "unknown_host": "unknown host",
}


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and every exception it was raised from or while handling."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or any(current is s for s in seen):
            continue
        seen.append(current)
        todo += [current.__cause__, current.__context__]
    return seen


def _status(text: str, code: int) -> bool:
    """Whether ``text`` mentions HTTP status ``code`` (not as part of a port or a number)."""
    import re

    return re.search(rf"(?<![\d:.]){code}(?![\d.])", text) is not None


def classify(exc: BaseException) -> str | None:
    """``refused``, ``timeout``, ``unauthorized``, ``read_only``, ``wrong_url``,
    ``unknown_host`` or None: what a backend exception says went wrong."""
    import socket

    for e in _chain(exc):
        text = f"{type(e).__name__} {e}".lower()
        if isinstance(e, ConnectionRefusedError) or "connection refused" in text:
            return "refused"
        if isinstance(e, socket.gaierror) or "name or service not known" in text:
            return "unknown_host"
        if isinstance(e, TimeoutError) or "timeout" in text or "timed out" in text:
            return "timeout"
        if "unauthorized" in text or _status(text, 401) or "wrongpass" in text or "noauth" in text:
            return "unauthorized"
        if "authentication" in text or "invalid password" in text:
            return "unauthorized"
        if "noperm" in text or "readonly" in text or "read only" in text:
            return "read_only"
        if "not found" in text or _status(text, 404) or "jsondecodeerror" in text:
            return "wrong_url"
        if "expecting value" in text or "remoteprotocolerror" in text:
            return "wrong_url"
    return None


async def _probe(cache: Cache) -> str | None:
    """Call the provider directly (no fail-open) once and classify what it raises."""
    try:
        await asyncio.wait_for(cache.provider.get(f"{cache.namespace}:check:probe"), cache.timeout)
    except Exception as exc:
        return classify(exc)
    return None


def diagnose(provider: str, kind: str | None, timeout: float) -> str:
    """One sentence: what went wrong with ``provider`` and how to fix it."""
    if kind is None:
        return f"the {provider} backend failed: see the first error below"
    fixes = _FIXES[kind]
    fix = fixes.get(provider, fixes[""])
    if kind == "timeout":
        return f"the {provider} backend did not answer within {timeout:g} s: {fix}"
    return f"the {provider} backend failed: {_WHAT[kind]}. Fix: {fix}"


def _diagnose(cache: Cache, steps: list[dict[str, Any]], kind: str | None) -> str | None:
    if all(s["ok"] for s in steps):
        return None
    provider = cache.provider.name
    if kind is None and cache.timeouts:
        kind = "timeout"
    if kind is not None or cache.errors or cache.short_circuited:
        return diagnose(provider, kind, cache.timeout)
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
    kind: str | None = None
    try:
        async with cache:
            steps = await _round_trip(cache)
            stats = await cache.get_stats()
            if not all(s["ok"] for s in steps):
                kind = await _probe(cache)
    finally:
        log.removeHandler(collector)
    diagnosis = _diagnose(cache, steps, kind)
    if diagnosis and collector.messages:
        diagnosis += f" (first error: {collector.messages[0]})"
    return {
        "provider": provider.name,
        "provider_repr": repr(provider),
        "environment": environment_summary(),
        "steps": steps,
        "ok": all(s["ok"] for s in steps),
        "problem": None if diagnosis is None else (kind or "other"),
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
