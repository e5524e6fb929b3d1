"""Running the gateway: uvicorn server, background-thread and subprocess helpers.

For tests and notebooks::

    with run_gateway(backend="fakeredis") as gw:        # or: async with run_gateway(...)
        redis = upstash_redis.Redis(gw.url, gw.token, rest_retries=0)
        gw.faults.set(error=0.1, latency="lognormal:30ms:0.5", seed=1)

``run_gateway`` serves from a daemon thread of this process (its faults are a
:class:`~cachesim.gateway.faults.FaultController`); ``gateway_process`` runs
``cachesim gateway`` as a child process (its faults go through the admin
endpoint).  Both bind a free loopback port and always stop what they started.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any

import uvicorn

from cachesim.gateway.app import ADMIN_PATH, GatewayApp
from cachesim.gateway.backend import RedisBackend
from cachesim.gateway.faults import FaultController, FaultPlan, _FaultSwitch
from cachesim.gateway.protocol import MAX_BODY_BYTES
from cachesim.redact import redact_url

if TYPE_CHECKING:
    import fakeredis
    import upstash_redis
    import upstash_redis.asyncio

    from cachesim.providers.upstash import UpstashProvider

__all__ = [
    "TOKEN_ENV",
    "Gateway",
    "GatewayProcess",
    "GatewayServer",
    "GatewayThread",
    "RemoteFaults",
    "bind_socket",
    "gateway_process",
    "run_gateway",
]

logger = logging.getLogger("cachesim.gateway.server")

#: Environment variable ``cachesim gateway`` reads its token from when ``--token`` is absent.
TOKEN_ENV = "CACHESIM_GATEWAY_TOKEN"


class GatewayServer(uvicorn.Server):
    """uvicorn's server, ending injected hangs at shutdown and exiting cleanly on signals.

    uvicorn re-raises a captured SIGINT/SIGTERM after shutting down; a gateway
    stopped by Ctrl-C or ``kill`` has shut down cleanly, so it does not.
    """

    def __init__(self, config: uvicorn.Config, gateway: GatewayApp) -> None:
        super().__init__(config)
        self.gateway = gateway

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Turn SIGINT/SIGTERM into a graceful shutdown (main thread only)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handled = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self._on_signal) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _on_signal(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True
        self.should_exit = True

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Release hanging requests, then shut down as uvicorn does."""
        self.gateway.release_hanging()
        await super().shutdown(sockets)


def bind_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A TCP socket bound to ``host:port`` (0 = a free port), ready to hand to uvicorn."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP lets asyncio set TCP_NODELAY on accepted connections; without
    # it small responses wait for delayed ACKs (~40 ms per request).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.set_inheritable(True)
    except OSError:
        sock.close()
        raise
    return sock


def server_config(app: GatewayApp, *, log_level: str | None = None) -> uvicorn.Config:
    """uvicorn settings for the gateway (``log_level=None`` leaves logging configuration alone)."""
    options: dict[str, Any] = {
        "lifespan": "on",
        "ws": "none",
        "access_log": False,
        "server_header": False,
        "proxy_headers": False,
        "timeout_graceful_shutdown": 3,
        "timeout_keep_alive": 30,
    }
    if log_level is None:
        options["log_config"] = None
    else:
        options["log_level"] = log_level
    return uvicorn.Config(app, **options)


def _url(host: str, port: int, prefix: str = "") -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}{prefix}"


class RemoteFaults(_FaultSwitch[dict[str, Any]]):
    """The fault switch of a gateway in another process, through its admin endpoint."""

    def __init__(self, url: str, token: str, *, timeout: float = 5.0) -> None:
        self.url = url.rstrip("/") + ADMIN_PATH
        self._token = token
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"RemoteFaults({self.url!r})"

    def _call(self, method: str, body: Mapping[str, Any] | None = None, **params: str) -> Any:
        import httpx

        with httpx.Client(trust_env=False, timeout=self.timeout) as client:
            response = client.request(
                method,
                self.url,
                json=body,
                params=params,
                headers={"Authorization": f"Bearer {self._token}"},
            )
        data = response.json()
        if response.status_code != 200:
            raise RuntimeError(f"gateway refused the fault change: {data.get('error')}")
        return data

    def install(self, plan: FaultPlan) -> dict[str, Any]:
        """Put ``plan`` in force; returns the gateway's snapshot."""
        snapshot: dict[str, Any] = self._call("PUT", plan.to_dict())
        return snapshot

    def clear(self) -> None:
        """Inject nothing from now on."""
        self._call("DELETE")

    def snapshot(self) -> dict[str, Any]:
        """Plan and counters."""
        snapshot: dict[str, Any] = self._call("GET")
        return snapshot

    @property
    def plan(self) -> FaultPlan:
        """The plan in force."""
        return FaultPlan.from_dict(self.snapshot()["plan"])

    @property
    def counts(self) -> dict[str, int]:
        """Injected faults so far by kind."""
        counts: dict[str, int] = self.snapshot()["injected"]
        return counts

    @property
    def requests(self) -> int:
        """Data requests the gateway has seen."""
        return int(self.snapshot()["requests"])

    def reset_counts(self) -> None:
        """Zero the counters."""
        self._call("GET", reset_counts="1")


@dataclass(frozen=True, repr=False)
class Gateway:
    """A running gateway: where it listens, its token and its fault switch."""

    url: str
    token: str
    backend: str
    faults: FaultController | RemoteFaults

    def __repr__(self) -> str:
        return f"Gateway(url={self.url!r}, backend={self.backend!r})"

    def env(self) -> dict[str, str]:
        """``UPSTASH_REDIS_REST_URL`` / ``UPSTASH_REDIS_REST_TOKEN`` for this gateway."""
        return {"UPSTASH_REDIS_REST_URL": self.url, "UPSTASH_REDIS_REST_TOKEN": self.token}

    def client(self, **options: Any) -> upstash_redis.Redis:
        """The official sync client for this gateway (no retries, no telemetry by default)."""
        from upstash_redis import Redis

        options.setdefault("rest_retries", 0)
        options.setdefault("allow_telemetry", False)
        return Redis(self.url, self.token, **options)

    def async_client(self, **options: Any) -> upstash_redis.asyncio.Redis:
        """The official async client for this gateway (no retries, no telemetry by default)."""
        from upstash_redis.asyncio import Redis

        options.setdefault("rest_retries", 0)
        options.setdefault("allow_telemetry", False)
        return Redis(self.url, self.token, **options)

    def provider(self, **options: Any) -> UpstashProvider:
        """An :class:`~cachesim.providers.UpstashProvider` for this gateway."""
        from cachesim.providers.upstash import UpstashProvider

        return UpstashProvider(url=self.url, token=self.token, **options)


class _GatewayRunner(ABC):
    """``with`` / ``async with`` support for a gateway that starts and stops (sync calls)."""

    @abstractmethod
    def start(self) -> Gateway:
        """Start serving and return the running gateway."""

    @abstractmethod
    def stop(self) -> object:
        """Stop serving and release everything."""

    def __enter__(self) -> Gateway:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Gateway:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)


class GatewayThread(_GatewayRunner):
    """Serve a gateway from a daemon thread of this process (``with`` or ``async with``)."""

    def __init__(
        self,
        backend: str = "fakeredis",
        *,
        token: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: FaultController | FaultPlan | None = None,
        fake_server: fakeredis.FakeServer | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
        prefix: str = "",
        startup_timeout: float = 10.0,
        allowed_origins: Iterable[str] | None = None,
        allowed_hosts: Iterable[str] | None = None,
        max_commands: int | None = None,
    ) -> None:
        self.backend = RedisBackend(backend, fake_server=fake_server)
        self.token = token or secrets.token_urlsafe(24)
        self.host = host
        self.port = port
        if isinstance(faults, FaultPlan):
            faults = FaultController(faults)
        self.faults = faults or FaultController()
        self.app = GatewayApp(
            self.backend,
            self.token,
            faults=self.faults,
            max_body_bytes=max_body_bytes,
            prefix=prefix,
            allowed_origins=allowed_origins,
            allowed_hosts=allowed_hosts,
            max_commands=max_commands,
        )
        self.startup_timeout = startup_timeout
        self._server: GatewayServer | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.gateway: Gateway | None = None

    def __repr__(self) -> str:
        return f"GatewayThread(backend={self.backend.label!r}, gateway={self.gateway!r})"

    def start(self) -> Gateway:
        """Bind, start serving and wait until the gateway answers."""
        if self.gateway is not None:
            return self.gateway
        sock = bind_socket(self.host, self.port)
        port = int(sock.getsockname()[1])
        server = GatewayServer(server_config(self.app), self.app)
        self._server = server

        def serve() -> None:
            try:
                server.run(sockets=[sock])
            except BaseException as exc:  # includes uvicorn's SystemExit on startup failure
                self._error = exc
            finally:
                sock.close()

        self._thread = threading.Thread(target=serve, name="cachesim-gateway", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + self.startup_timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                reason = f": {self._error!r}" if self._error else ""
                raise RuntimeError(f"the gateway did not start on {self.host}:{port}{reason}")
            time.sleep(0.005)
        self.gateway = Gateway(
            _url(self.host, port, self.app.prefix), self.token, self.backend.label, self.faults
        )
        return self.gateway

    def stop(self) -> None:
        """Shut the server down and wait for its thread."""
        server, thread = self._server, self._thread
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(timeout=15)
            if thread.is_alive():
                if server is not None:
                    server.force_exit = True
                thread.join(timeout=5)
        self._server = self._thread = None
        self.gateway = None


def run_gateway(
    backend: str = "fakeredis",
    *,
    token: str | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    faults: FaultController | FaultPlan | None = None,
    fake_server: fakeredis.FakeServer | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    prefix: str = "",
    allowed_origins: Iterable[str] | None = None,
    allowed_hosts: Iterable[str] | None = None,
    max_commands: int | None = None,
) -> GatewayThread:
    """A gateway in a background thread: ``with run_gateway("fakeredis") as gw: gw.url ...``.

    ``backend`` is ``fakeredis`` or a ``redis://`` URL; ``token`` defaults to a
    random one; ``port=0`` picks a free port.  Browser origins and extra host names
    it accepts: ``allowed_origins`` / ``allowed_hosts`` (default: the environment,
    see docs/gateway.md); ``max_commands`` caps commands per pipeline or
    transaction request.  Works with ``async with`` too.
    """
    return GatewayThread(
        backend,
        token=token,
        host=host,
        port=port,
        faults=faults,
        fake_server=fake_server,
        max_body_bytes=max_body_bytes,
        prefix=prefix,
        allowed_origins=allowed_origins,
        allowed_hosts=allowed_hosts,
        max_commands=max_commands,
    )


class GatewayProcess(_GatewayRunner):
    """``cachesim gateway`` as a child process (``with`` or ``async with``)."""

    def __init__(
        self,
        backend: str = "fakeredis",
        *,
        token: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        extra_args: Sequence[str] = (),
        startup_timeout: float = 30.0,
        python: str = sys.executable,
    ) -> None:
        self.backend = backend
        self.token = token or secrets.token_urlsafe(24)
        self.host = host
        self.port = port
        self.extra_args = list(extra_args)
        self.startup_timeout = startup_timeout
        self.python = python
        self.proc: subprocess.Popen[str] | None = None
        self.stdout: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self.stderr: deque[str] = deque(maxlen=200)
        self.gateway: Gateway | None = None
        self._readers: list[threading.Thread] = []

    def __repr__(self) -> str:
        pid = None if self.proc is None else self.proc.pid
        return f"GatewayProcess(pid={pid}, gateway={self.gateway!r})"

    @property
    def command(self) -> list[str]:
        """The command line (the token travels in the environment, not here)."""
        return [
            self.python,
            "-m",
            "cachesim",
            "gateway",
            "--backend",
            self.backend,
            "--host",
            self.host,
            "--port",
            str(self.port),
            *self.extra_args,
        ]

    def start(self) -> Gateway:
        """Start the process and wait for the URL it prints."""
        if self.gateway is not None:
            return self.gateway
        env = dict(os.environ)
        env[TOKEN_ENV] = self.token
        env["PYTHONUNBUFFERED"] = "1"
        proc = subprocess.Popen(
            self.command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.proc = proc
        assert proc.stdout is not None
        assert proc.stderr is not None
        self._readers = [
            threading.Thread(target=_pump, args=(proc.stdout, self.stdout.put), daemon=True),
            threading.Thread(target=_pump, args=(proc.stderr, self.stderr.append), daemon=True),
        ]
        for reader in self._readers:
            reader.start()
        prefix = "export UPSTASH_REDIS_REST_URL="
        line = self.wait_for_output(prefix, timeout=self.startup_timeout)
        if line is None:
            self.stop()
            tail = "".join(list(self.stderr)[-20:])
            raise RuntimeError(f"cachesim gateway did not start (exit {proc.returncode}):\n{tail}")
        url = line[len(prefix) :].strip()
        label = self.backend if self.backend == "fakeredis" else redact_url(self.backend)
        self.gateway = Gateway(url, self.token, label, RemoteFaults(url, self.token))
        return self.gateway

    def wait_for_output(self, text: str, timeout: float = 10.0) -> str | None:
        """Read stdout until a line starting with ``text``; return it (None if it never came).

        Every line read is kept in :attr:`output`.
        """
        proc = self.proc
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                line = self.stdout.get(timeout=max(0.01, min(remaining, 0.2)))
            except queue.Empty:
                if remaining <= 0 or proc is None or proc.poll() is not None:
                    return None
                continue
            self.output.append(line)
            if line.startswith(text):
                return line

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, wait (kill after ``timeout``); returns the exit code."""
        proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        for reader in self._readers:
            reader.join(timeout=5)
        self.gateway = None
        return proc.returncode


def gateway_process(
    backend: str = "fakeredis",
    *,
    token: str | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    extra_args: Sequence[str] = (),
) -> GatewayProcess:
    """``cachesim gateway`` in a child process: ``with gateway_process("fakeredis") as gw: ...``."""
    return GatewayProcess(backend, token=token, host=host, port=port, extra_args=extra_args)


def _pump(stream: Any, sink: Any) -> None:
    with contextlib.suppress(ValueError, OSError):
        for line in stream:
            sink(line)
    stream.close()
