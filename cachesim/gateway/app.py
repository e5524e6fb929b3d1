"""The Upstash-REST-compatible ASGI application (Starlette) and its fault-injection layer.

``POST /`` runs one command, ``POST /pipeline`` several in order on one connection
(errors do not stop it), ``POST /multi-exec`` a transaction on an exclusive
connection.  ``GET /`` is an unauthenticated health check and
``/_cachesim/faults`` the token-guarded admin endpoint that switches faults at
run time.  Build it with :func:`create_app`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import itertools
import json
import logging
import os
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import Any, Final, TypeVar

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, HTTPConnection, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cachesim.gateway.backend import (
    PIPELINE_CHUNK,
    BackendUnavailable,
    RedisBackend,
    RedisErrorReply,
    Reply,
)
from cachesim.gateway.faults import FaultController, FaultPlan
from cachesim.gateway.protocol import (
    MAX_BODY_BYTES,
    MAX_COMMANDS,
    RequestError,
    command_from,
    load_batch,
    parse_command,
    refusal,
    reply_slot,
    translate,
)

__all__ = [
    "ADMIN_PATH",
    "ALLOWED_HOSTS_ENV",
    "ALLOWED_ORIGINS_ENV",
    "MAX_COMMANDS_ENV",
    "GatewayApp",
    "create_app",
]

logger = logging.getLogger("cachesim.gateway")

P = TypeVar("P")

#: Path (after the optional prefix) of the fault-injection admin endpoint.
ADMIN_PATH: Final = "/_cachesim/faults"

_UNAUTHORIZED: Final = {"error": "Unauthorized"}

#: Comma-separated browser origins allowed to call the gateway (``*``: any).
ALLOWED_ORIGINS_ENV: Final = "CACHESIM_GATEWAY_ALLOWED_ORIGINS"
#: Comma-separated extra host names the gateway answers to (``*``: any).
ALLOWED_HOSTS_ENV: Final = "CACHESIM_GATEWAY_ALLOWED_HOSTS"
#: Most commands per ``/pipeline`` or ``/multi-exec`` request (default MAX_COMMANDS).
MAX_COMMANDS_ENV: Final = "CACHESIM_GATEWAY_MAX_COMMANDS"


class _Disconnected(Exception):
    """The client went away before its request body was complete."""


def _from_env(values: Iterable[str] | None, variable: str) -> frozenset[str]:
    if values is None:
        values = os.environ.get(variable, "").split(",")
    return frozenset(v.strip().lower().rstrip("/") for v in values if v.strip())


def _dumps(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def _bearer(connection: HTTPConnection) -> str | None:
    header = connection.headers.get("authorization")
    if header:
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return connection.query_params.get("_token") or None


class GatewayApp:
    """One gateway: a token, a Redis backend, a fault switch and the ASGI app serving them."""

    def __init__(
        self,
        backend: RedisBackend,
        token: str,
        *,
        faults: FaultController | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
        prefix: str = "",
        allowed_origins: Iterable[str] | None = None,
        allowed_hosts: Iterable[str] | None = None,
        max_commands: int | None = None,
    ) -> None:
        if not token:
            raise ValueError("the gateway needs a non-empty token")
        if max_commands is None:
            from_env = os.environ.get(MAX_COMMANDS_ENV, "").strip()
            try:
                max_commands = int(from_env) if from_env else MAX_COMMANDS
            except ValueError:
                raise ValueError(
                    f"{MAX_COMMANDS_ENV} must be an integer, got {from_env!r}"
                ) from None
        if isinstance(max_commands, bool) or not isinstance(max_commands, int) or max_commands < 1:
            raise ValueError(f"max_commands must be a positive int, got {max_commands!r}")
        prefix = prefix.rstrip("/")
        if prefix and not prefix.startswith("/"):
            raise ValueError(f"prefix must start with '/', got {prefix!r}")
        self.backend = backend
        self._token = token.encode("utf-8")
        self.faults = faults or FaultController()
        self.max_body_bytes = max_body_bytes
        #: Most commands one pipeline or transaction request may carry.
        self.max_commands = max_commands
        self.prefix = prefix
        #: Browser origins allowed besides the gateway's own (default: none).
        self.allowed_origins = _from_env(allowed_origins, ALLOWED_ORIGINS_ENV)
        #: Host names answered besides loopback names and IP literals (default: none).
        self.allowed_hosts = _from_env(allowed_hosts, ALLOWED_HOSTS_ENV)
        self._sync_tokens = itertools.count(1)
        self._stopping = False
        self.data_paths: frozenset[str] = frozenset(
            {prefix or "/", prefix + "/", prefix + "/pipeline", prefix + "/multi-exec"}
        )
        routes = [
            Route(prefix + "/pipeline", self._pipeline, methods=["POST"]),
            Route(prefix + "/multi-exec", self._multi_exec, methods=["POST"]),
            Route(prefix + ADMIN_PATH, self._admin, methods=["GET", "PUT", "POST", "DELETE"]),
            Route(prefix + "/", self._single, methods=["GET", "POST"]),
        ]
        if prefix:
            routes.append(Route(prefix, self._single, methods=["POST"]))
        self.starlette = Starlette(
            routes=routes,
            exception_handlers={HTTPException: self._http_error},
            lifespan=self._lifespan,
        )
        self.asgi: ASGIApp = _BrowserGuard(_FaultLayer(self.starlette, self), self)

    def __repr__(self) -> str:
        return f"GatewayApp(backend={self.backend!r}, prefix={self.prefix!r})"

    @property
    def token(self) -> str:
        """The bearer token clients must send (never logged)."""
        return self._token.decode("utf-8")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.asgi(scope, receive, send)

    # -- lifecycle ----------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def _lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        self._stopping = False
        await self.backend.open()
        logger.info("gateway serving %s", self.backend.label)
        try:
            yield
        finally:
            await self.backend.aclose()

    def release_hanging(self) -> None:
        """End injected hangs now (called when the server shuts down)."""
        self._stopping = True

    @property
    def stopping(self) -> bool:
        """True once :meth:`release_hanging` was called."""
        return self._stopping

    # -- helpers ------------------------------------------------------------------
    def authorized(self, connection: HTTPConnection) -> bool:
        """Whether the request carries the token (Bearer header or ``_token``), constant time."""
        given = _bearer(connection)
        return given is not None and hmac.compare_digest(given.encode("utf-8"), self._token)

    def json(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
        """A JSON response carrying a fresh ``Upstash-Sync-Token``."""
        return self.raw_json(status, _dumps(body), headers)

    def raw_json(
        self, status: int, body: bytes, headers: Mapping[str, str] | None = None
    ) -> Response:
        """A response whose body is already JSON text, with a fresh ``Upstash-Sync-Token``."""
        all_headers = {"Upstash-Sync-Token": str(next(self._sync_tokens))}
        if headers:
            all_headers.update(headers)
        return Response(body, status, all_headers, media_type="application/json")

    async def _http_error(self, _request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            return self.json(404, {"error": "Not found"})
        if exc.status_code == 405:
            return self.json(405, {"error": "Method not allowed"}, exc.headers)
        return self.json(exc.status_code, {"error": str(exc.detail)}, exc.headers)

    async def _body(self, request: Request) -> bytes:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            raise RequestError("ERR max request size exceeded")
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > self.max_body_bytes:
                    raise RequestError("ERR max request size exceeded")
                chunks.append(chunk)
        except ClientDisconnect:
            logger.info(
                "client disconnected before sending the whole body of %s %s (%d bytes read)",
                request.method,
                request.url.path,
                size,
            )
            raise _Disconnected from None
        return b"".join(chunks)

    async def _prepare(
        self, request: Request, parse: Callable[[bytes], P]
    ) -> tuple[P, bool] | Response:
        """Check the token and format, read and parse the body: ``(parsed, base64)``.

        Or the error response to send (401, or 400 for a bad format, size or body).
        """
        if not self.authorized(request):
            return self.json(401, _UNAUTHORIZED)
        response_format = request.headers.get("upstash-response-format", "json").strip().lower()
        if response_format != "json":
            return self.json(
                400, {"error": f"ERR response format {response_format!r} is not supported"}
            )
        b64 = request.headers.get("upstash-encoding", "").strip().lower() == "base64"
        try:
            return parse(await self._body(request)), b64
        except RequestError as exc:
            return self.json(400, {"error": str(exc)})
        except _Disconnected:
            return self.json(400, {"error": "ERR incomplete request body"})  # nobody reads it

    def _unavailable(self, exc: BackendUnavailable) -> Response:
        logger.warning("gateway backend unavailable: %s", exc)
        return self.json(502, {"error": f"ERR gateway backend unavailable: {exc}"})

    # -- endpoints ----------------------------------------------------------------
    async def _single(self, request: Request) -> Response:
        if request.method == "GET":  # unauthenticated health check
            return self.json(200, {"result": "cachesim Upstash-compatible gateway"})
        prepared = await self._prepare(request, parse_command)
        if isinstance(prepared, Response):
            return prepared
        command, b64 = prepared
        refused = refusal(command)
        if refused:
            return self.json(400, {"error": refused})
        try:
            (reply,) = await self.backend.run([translate(command)])
        except BackendUnavailable as exc:
            return self._unavailable(exc)
        if isinstance(reply, RedisErrorReply):
            return self.json(400, {"error": reply.message})
        return self.json(200, reply_slot(reply, b64))

    async def _batch(
        self, request: Request, what: str
    ) -> tuple[list[list[bytes]], list[str | None], bool] | Response:
        """Read a pipeline or transaction: ``(commands, refusals, base64)`` or an error response.

        The command count is checked before anything else, and the commands are
        converted and checked in chunks that let other requests through.
        """
        prepared = await self._prepare(request, lambda raw: load_batch(raw, what=what))
        if isinstance(prepared, Response):
            return prepared
        items, b64 = prepared
        if len(items) > self.max_commands:
            return self.json(
                400,
                {
                    "error": f"ERR too many commands in one request: {len(items)} (this "
                    f"gateway's limit is {self.max_commands}; split the {what}, or raise "
                    f"max_commands / {MAX_COMMANDS_ENV})"
                },
            )
        commands: list[list[bytes]] = []
        refusals: list[str | None] = []
        for start in range(0, len(items), PIPELINE_CHUNK):
            if start:
                await asyncio.sleep(0)
            for item in items[start : start + PIPELINE_CHUNK]:
                try:
                    command = command_from(item)
                except RequestError as exc:
                    return self.json(400, {"error": str(exc)})
                refused = refusal(command)
                refusals.append(refused)
                commands.append(command if refused else translate(command))
        return commands, refusals, b64

    async def _pipeline(self, request: Request) -> Response:
        batch = await self._batch(request, "pipeline")
        if isinstance(batch, Response):
            return batch
        commands, refusals, b64 = batch
        allowed = [c for c, r in zip(commands, refusals, strict=True) if r is None]
        try:
            replies = iter(await self.backend.run(allowed))
        except BackendUnavailable as exc:
            return self._unavailable(exc)
        parts: list[bytes] = []
        for start in range(0, len(refusals), PIPELINE_CHUNK):
            if start:
                await asyncio.sleep(0)
            slots = [
                {"error": refused} if refused is not None else reply_slot(next(replies), b64)
                for refused in refusals[start : start + PIPELINE_CHUNK]
            ]
            parts.append(_dumps(slots)[1:-1])
        return self.raw_json(200, b"[" + b",".join(parts) + b"]")

    async def _multi_exec(self, request: Request) -> Response:
        batch = await self._batch(request, "transaction")
        if isinstance(batch, Response):
            return batch
        commands, refusals, b64 = batch
        for refused in refusals:
            if refused:
                return self.json(400, {"error": refused})
        try:
            result: list[Reply] | str = await self.backend.transaction(commands)
        except BackendUnavailable as exc:
            return self._unavailable(exc)
        if isinstance(result, str):
            return self.json(400, {"error": result})
        return self.json(200, [reply_slot(reply, b64) for reply in result])

    async def _admin(self, request: Request) -> Response:
        if not self.authorized(request):
            return self.json(401, _UNAUTHORIZED)
        if request.method in ("PUT", "POST"):
            try:
                data = json.loads(await self._body(request) or b"{}")
                if not isinstance(data, dict):
                    raise ValueError("expected a JSON object")
                self.faults.install(FaultPlan.from_dict(data))
            except _Disconnected:
                return self.json(400, {"error": "ERR incomplete request body"})
            except RecursionError:
                return self.json(
                    400, {"error": "ERR bad fault plan: the JSON body nests too deeply"}
                )
            except (ValueError, TypeError, KeyError, RequestError) as exc:
                return self.json(400, {"error": f"ERR bad fault plan: {exc}"})
        elif request.method == "DELETE":
            self.faults.clear()
        if request.query_params.get("reset_counts") in ("1", "true", "yes"):
            self.faults.reset_counts()
        return self.json(200, self.faults.snapshot())


_CORS_METHODS: Final = "GET, POST, PUT, DELETE, OPTIONS"


class _BrowserGuard:
    """ASGI middleware refusing what only a web page would send (before anything else runs).

    * a ``Host`` that is neither a loopback name, an IP literal nor a configured
      host (a DNS-rebinding page reaches 127.0.0.1 under its own name);
    * an ``Origin`` other than the gateway's own or a configured one, and
      ``Sec-Fetch-Site: cross-site`` (a page of another site, even with a
      ``text/plain`` body that needs no preflight).

    Server-side clients send neither header and pass.  Configured origins get CORS
    headers and preflight answers, so a browser app can use the gateway on purpose.
    """

    def __init__(self, app: ASGIApp, gateway: GatewayApp) -> None:
        self.app = app
        self.gateway = gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        gateway = self.gateway
        headers = HTTPConnection(scope).headers
        host = headers.get("host", "")
        if host and not self._host_allowed(host):
            logger.info("refused a request for Host %r", host[:100])
            await self._refuse(scope, receive, send, f"ERR unexpected Host header {host[:100]!r}")
            return
        origin = headers.get("origin")
        allowed_origin: str | None = None
        if origin is not None:
            normalized = origin.strip().lower().rstrip("/")
            if normalized == f"http://{host.lower()}":
                pass  # same origin: the page came from the gateway itself
            elif normalized in gateway.allowed_origins or "*" in gateway.allowed_origins:
                allowed_origin = origin.strip()
            else:
                logger.info("refused a cross-origin request from %r", origin[:100])
                await self._refuse(
                    scope,
                    receive,
                    send,
                    f"ERR cross-origin request refused: origin {origin[:100]!r} is not allowed",
                )
                return
        elif headers.get("sec-fetch-site", "").strip().lower() == "cross-site":
            await self._refuse(
                scope, receive, send, "ERR cross-origin request refused: Sec-Fetch-Site cross-site"
            )
            return
        if allowed_origin is None:
            await self.app(scope, receive, send)
            return
        cors = [
            (b"access-control-allow-origin", allowed_origin.encode("latin-1", "replace")),
            (b"vary", b"Origin"),
        ]
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            requested = headers.get("access-control-request-headers", "")
            await send(
                {
                    "type": "http.response.start",
                    "status": 204,
                    "headers": [
                        *cors,
                        (b"access-control-allow-methods", _CORS_METHODS.encode()),
                        (b"access-control-allow-headers", requested.encode("latin-1", "replace")),
                        (b"access-control-max-age", b"600"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        cors.append((b"access-control-expose-headers", b"Upstash-Sync-Token"))

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *cors]}
            await send(message)

        await self.app(scope, receive, send_with_cors)

    def _host_allowed(self, host: str) -> bool:
        allowed = self.gateway.allowed_hosts
        if "*" in allowed:
            return True
        name = host.strip().lower()
        if name.startswith("["):
            name = name[1 : name.find("]")] if "]" in name else name[1:]
        elif name.count(":") == 1:
            name = name.partition(":")[0]
        name = name.rstrip(".")
        if name == "localhost" or name.endswith(".localhost") or name in allowed:
            return True
        try:
            ipaddress.ip_address(name)
        except ValueError:
            return False
        return True  # an IP literal cannot be rebound to another address

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, error: str) -> None:
        await self.gateway.json(403, {"error": error})(scope, receive, send)


class _DroppedConnection(Exception):
    """Raised to make the server close a connection when its transport is out of reach."""


class _FaultLayer:
    """ASGI middleware applying the :class:`FaultController` decisions to data requests."""

    def __init__(self, app: ASGIApp, gateway: GatewayApp) -> None:
        self.app = app
        self.gateway = gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gateway = self.gateway
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"] not in gateway.data_paths
            or not gateway.authorized(HTTPConnection(scope))
        ):
            await self.app(scope, receive, send)
            return
        decision = gateway.faults.decide()
        if decision.delay > 0:
            await asyncio.sleep(decision.delay)
        fault = decision.fault
        if fault is None:
            await self.app(scope, receive, send)
            return
        logger.debug("injecting %s into %s", fault, scope["path"])
        if fault in ("error", "unauthorized"):
            await _drain(receive)
            status, error = (
                (500, {"error": "ERR injected fault: internal server error"})
                if fault == "error"
                else (401, _UNAUTHORIZED)
            )
            await gateway.json(status, error)(scope, receive, send)
        elif fault == "hang":
            await _drain(receive)
            await self._hang(receive, decision.hang_seconds)
            await _abort(receive, send)
        elif fault == "drop":
            await _drain(receive)
            await _abort(receive, send)
        else:  # drop_after, malformed: the command runs, the answer is lost or garbled
            captured: list[Message] = []

            async def capture(message: Message) -> None:
                captured.append(message)

            await self.app(scope, receive, capture)
            if fault == "drop_after":
                await _abort(receive, send)
                return
            body = b"".join(
                m.get("body", b"") for m in captured if m["type"] == "http.response.body"
            )
            broken = body[: max(1, len(body) // 2)]
            start = next(m for m in captured if m["type"] == "http.response.start")
            headers = [
                (k, str(len(broken)).encode() if k.lower() == b"content-length" else v)
                for k, v in start.get("headers", [])
            ]
            await send(
                {"type": "http.response.start", "status": start["status"], "headers": headers}
            )
            await send({"type": "http.response.body", "body": broken, "more_body": False})

    async def _hang(self, receive: Receive, seconds: float) -> None:
        """Wait until the client gives up, the server stops, or ``seconds`` pass."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        waiter = asyncio.ensure_future(_wait_disconnect(receive))
        try:
            while not waiter.done() and not self.gateway.stopping:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                await asyncio.wait({waiter}, timeout=min(remaining, 0.1))
        finally:
            waiter.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await waiter


async def _drain(receive: Receive) -> None:
    """Read the request body (so the connection is in a clean state before answering)."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


async def _wait_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _abort(receive: Receive, send: Send) -> None:
    """Close the client's connection without an answer.

    uvicorn's ``receive`` is a bound method of the request cycle, which holds the
    transport: aborting it is a clean, log-free drop.  Any other server gets a
    response start followed by an exception, which makes it close the connection.
    """
    transport = getattr(getattr(receive, "__self__", None), "transport", None)
    if transport is not None and hasattr(transport, "abort"):
        transport.abort()
        # Let the server's connection_lost callback run before the app returns.
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"64")],
        }
    )
    raise _DroppedConnection("injected fault: connection dropped")


def create_app(
    backend: RedisBackend | str,
    token: str,
    *,
    faults: FaultController | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    prefix: str = "",
    allowed_origins: Iterable[str] | None = None,
    allowed_hosts: Iterable[str] | None = None,
    max_commands: int | None = None,
) -> GatewayApp:
    """Build the gateway's ASGI app for ``backend`` (``"fakeredis"``, a URL or a backend).

    ``allowed_origins`` / ``allowed_hosts`` default to the environment variables
    :data:`ALLOWED_ORIGINS_ENV` / :data:`ALLOWED_HOSTS_ENV` (comma-separated),
    ``max_commands`` to :data:`MAX_COMMANDS_ENV`, else :data:`MAX_COMMANDS`.
    """
    if isinstance(backend, str):
        backend = RedisBackend(backend)
    return GatewayApp(
        backend,
        token,
        faults=faults,
        max_body_bytes=max_body_bytes,
        prefix=prefix,
        allowed_origins=allowed_origins,
        allowed_hosts=allowed_hosts,
        max_commands=max_commands,
    )
