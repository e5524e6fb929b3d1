"""Throwaway ``redis-server`` processes for tests, notebooks and local development.

``with redis_server() as url:`` starts a server on a free loopback port with no
persistence, waits until it answers, yields its ``redis://`` URL and always stops
it.  The binary comes from ``$CACHESIM_REDIS_SERVER`` or ``PATH``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["RedisServer", "RedisServerNotFound", "find_redis_server", "free_port", "redis_server"]


class RedisServerNotFound(RuntimeError):
    """No ``redis-server`` binary could be found."""


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def find_redis_server() -> str:
    """Path of ``redis-server``, or :class:`RedisServerNotFound` saying how to get one."""
    explicit = os.environ.get("CACHESIM_REDIS_SERVER")
    if explicit:
        if os.access(explicit, os.X_OK):
            return explicit
        raise RedisServerNotFound(f"CACHESIM_REDIS_SERVER={explicit!r} is not an executable file")
    found = shutil.which("redis-server") or next(
        (
            p
            for p in ("/usr/bin/redis-server", "/usr/local/bin/redis-server")
            if os.access(p, os.X_OK)
        ),
        None,
    )
    if not found:
        raise RedisServerNotFound(
            "redis-server is not installed: install it (Debian/Ubuntu: apt-get install "
            "redis-server; macOS: brew install redis) or set CACHESIM_REDIS_SERVER"
        )
    return found


@dataclass(frozen=True)
class RedisServer:
    """A running throwaway server."""

    host: str
    port: int
    pid: int

    @property
    def url(self) -> str:
        """``redis://host:port/0``."""
        return f"redis://{self.host}:{self.port}/0"


def _ping(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextlib.contextmanager
def redis_server(
    host: str = "127.0.0.1", port: int | None = None, *, startup_timeout: float = 10.0
) -> Iterator[RedisServer]:
    """Start ``redis-server`` on a free loopback port; stop and clean up on exit."""
    binary = find_redis_server()
    with tempfile.TemporaryDirectory(prefix="cachesim-redis-") as workdir:
        for _attempt in range(5):
            chosen = port or free_port(host)
            proc = subprocess.Popen(
                [
                    binary,
                    "--port",
                    str(chosen),
                    "--bind",
                    host,
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    workdir,
                    "--protected-mode",
                    "no",
                    "--daemonize",
                    "no",
                    "--loglevel",
                    "warning",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            deadline = time.monotonic() + startup_timeout
            while time.monotonic() < deadline and proc.poll() is None:
                if _ping(host, chosen):
                    break
                time.sleep(0.02)
            if proc.poll() is None and _ping(host, chosen):
                break
            err = b""
            if proc.poll() is not None and proc.stderr is not None:
                err = proc.stderr.read() or b""
            _stop(proc)
            if port is not None:
                raise RuntimeError(
                    f"redis-server did not start on port {chosen}: {err.decode()[-500:]}"
                )
        else:
            raise RuntimeError("redis-server did not start after 5 attempts")
        try:
            yield RedisServer(host, chosen, proc.pid)
        finally:
            _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    if proc.stderr is not None:
        proc.stderr.close()
