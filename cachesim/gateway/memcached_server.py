"""A throwaway ``memcached`` process on a free loopback port, for tests and local runs."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from cachesim.gateway.redis_server import free_port

__all__ = ["MemcachedServer", "MemcachedServerNotFound", "find_memcached", "memcached_server"]


class MemcachedServerNotFound(RuntimeError):
    """No ``memcached`` binary could be found."""


def find_memcached() -> str:
    """Path of ``memcached``, or :class:`MemcachedServerNotFound` saying how to get one."""
    explicit = os.environ.get("CACHESIM_MEMCACHED")
    if explicit:
        if os.access(explicit, os.X_OK):
            return explicit
        raise MemcachedServerNotFound(f"CACHESIM_MEMCACHED={explicit!r} is not an executable file")
    found = shutil.which("memcached") or next(
        (p for p in ("/usr/bin/memcached", "/usr/local/bin/memcached") if os.access(p, os.X_OK)),
        None,
    )
    if not found:
        raise MemcachedServerNotFound(
            "memcached is not installed: install it (Debian/Ubuntu: apt-get install memcached; "
            "macOS: brew install memcached) or set CACHESIM_MEMCACHED"
        )
    return found


@dataclass(frozen=True)
class MemcachedServer:
    """A running throwaway server (TCP ``host``/``port``, or a unix ``socket_path``)."""

    host: str
    port: int
    pid: int
    socket_path: str | None = None
    username: str | None = None
    password: str | None = None

    @property
    def url(self) -> str:
        """``memcached://host:port`` (with the SASL user when there is one)."""
        auth = f"{self.username}:{self.password}@" if self.username else ""
        if self.socket_path:
            return f"memcached+unix://{auth}{self.socket_path}"
        return f"memcached://{auth}{self.host}:{self.port}"


def _answers(server: MemcachedServer) -> bool:
    try:
        if server.socket_path:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.settimeout(0.2)
                sock.connect(server.socket_path)
            except OSError:
                sock.close()
                raise
        else:
            sock = socket.create_connection((server.host, server.port), timeout=0.2)
        with sock:
            sock.sendall(b"version\r\n")
            reply = sock.recv(64)
            # With SASL on, an unauthenticated command is refused, which still proves life.
            return reply.startswith((b"VERSION", b"CLIENT_ERROR"))
    except OSError:
        return False


@contextlib.contextmanager
def memcached_server(
    host: str = "127.0.0.1",
    *,
    memory_mb: int = 64,
    item_size: str = "1m",
    unix_socket: bool = False,
    credentials: tuple[str, str] | None = None,
    extra_args: Sequence[str] = (),
    startup_timeout: float = 10.0,
) -> Iterator[MemcachedServer]:
    """Start ``memcached`` on a free loopback port (or a unix socket); stop it on exit.

    ``item_size`` is its ``-I`` (largest item); ``credentials`` turns on ASCII SASL
    authentication (``-Y``) with that one user.
    """
    binary = find_memcached()
    with tempfile.TemporaryDirectory(prefix="cachesim-memcached-") as workdir:
        base = [binary, "-m", str(memory_mb), "-I", item_size, "-U", "0", "-t", "2"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            base += ["-u", "root"]  # memcached refuses to run as root without it
        if credentials is not None:
            authfile = os.path.join(workdir, "auth")
            with open(authfile, "w", encoding="utf-8") as fh:
                fh.write(f"{credentials[0]}:{credentials[1]}\n")
            base += ["-Y", authfile]
        user, password = credentials or (None, None)
        for _attempt in range(5):
            if unix_socket:
                path = os.path.join(workdir, "memcached.sock")
                server = MemcachedServer(host, 0, 0, path, user, password)
                args = [*base, "-s", path, "-a", "0700"]
            else:
                server = MemcachedServer(host, free_port(host), 0, None, user, password)
                args = [*base, "-l", host, "-p", str(server.port)]
            proc = subprocess.Popen(
                [*args, *extra_args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
            deadline = time.monotonic() + startup_timeout
            while time.monotonic() < deadline and proc.poll() is None and not _answers(server):
                time.sleep(0.02)
            if proc.poll() is None and _answers(server):
                break
            _stop(proc)
        else:
            raise RuntimeError("memcached did not start after 5 attempts")
        try:
            yield MemcachedServer(
                server.host, server.port, proc.pid, server.socket_path, user, password
            )
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
