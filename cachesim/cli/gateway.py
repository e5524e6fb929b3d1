"""Run a local Upstash-REST-compatible gateway in front of fakeredis or a real Redis.

Code written for Upstash (the official upstash-redis client, cachesim's upstash
provider) then runs offline: export the two printed variables and start it.
Faults (latency, errors, hangs, dropped connections) can be set at start-up
with --latency/--fault, or at run time through the admin endpoint
/_cachesim/faults (same token).  Stops cleanly on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import socket

    from cachesim.gateway.app import GatewayApp
    from cachesim.gateway.server import GatewayServer

__all__ = ["EXAMPLES", "add_arguments", "run"]

EXAMPLES = """\
examples (each prints the two variables to export, then serves until Ctrl-C):
  cachesim gateway --token dev --port 0
  cachesim gateway --port 0 --latency same-continent --fault error=0.05 --seed 1
"""

DEFAULT_PORT = 8079


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``cachesim gateway``."""
    parser.add_argument(
        "--backend",
        default="fakeredis",
        metavar="fakeredis|redis://HOST:PORT/DB",
        help="where commands run: an in-process fakeredis (default) or a Redis URL",
    )
    parser.add_argument(
        "--token",
        default=None,
        help="bearer token clients must send (default: $CACHESIM_GATEWAY_TOKEN, else a random one)",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, loopback only)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port to bind (default: {DEFAULT_PORT}; 0 picks a free one)",
    )
    parser.add_argument(
        "--prefix", default="", help="serve under a path prefix, e.g. /tenant1 (default: none)"
    )
    parser.add_argument(
        "--latency",
        default=None,
        metavar="SPEC",
        help="added latency per request: 30ms, uniform:10ms:50ms, lognormal:30ms:0.5[:cap], "
        "or same-region / same-continent / cross-ocean",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="KIND=RATE",
        help="inject a fault into a fraction of requests (repeatable); KIND is one of "
        "error, unauthorized, hang, drop, drop_after, malformed",
    )
    parser.add_argument("--seed", type=int, default=None, help="seed of the fault draws")
    parser.add_argument(
        "--hang-seconds",
        type=float,
        default=30.0,
        help="how long an injected hang lasts if the client does not give up (default: 30)",
    )
    parser.add_argument(
        "--max-body-bytes",
        type=int,
        default=None,
        help="largest request body accepted (default: 10 MiB, like Upstash)",
    )
    parser.add_argument(
        "--log-level",
        default="warning",
        choices=["critical", "error", "warning", "info", "debug"],
        help="server log level (default: warning)",
    )


def _fail(message: str) -> int:
    print(f"cachesim gateway: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; returns the exit code."""
    import asyncio
    import os
    import secrets

    from cachesim.gateway.app import GatewayApp
    from cachesim.gateway.backend import RedisBackend
    from cachesim.gateway.faults import FaultController, FaultPlan, Latency
    from cachesim.gateway.protocol import MAX_BODY_BYTES
    from cachesim.gateway.server import TOKEN_ENV, GatewayServer, bind_socket, server_config

    token = args.token or os.environ.get(TOKEN_ENV) or secrets.token_urlsafe(24)
    try:
        backend = RedisBackend(args.backend)
        rates: dict[str, float] = {}
        for item in args.fault:
            kind, sep, rate = item.partition("=")
            if not sep:
                raise ValueError(f"--fault expects KIND=RATE, got {item!r}")
            rates[kind.strip()] = float(rate)
        latency = None if args.latency is None else Latency.parse(args.latency)
        faults = FaultController(FaultPlan(rates, latency, args.hang_seconds, args.seed))
        app = GatewayApp(
            backend,
            token,
            faults=faults,
            max_body_bytes=args.max_body_bytes or MAX_BODY_BYTES,
            prefix=args.prefix,
        )
    except ValueError as exc:
        return _fail(str(exc))
    try:
        sock = bind_socket(args.host, args.port)
    except OSError as exc:
        return _fail(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
    server = GatewayServer(server_config(app, log_level=args.log_level), app)
    try:
        asyncio.run(_serve(server, sock, app))
    except SystemExit as exc:  # uvicorn exits this way when start-up fails
        return int(exc.code) if isinstance(exc.code, int) else 1
    finally:
        sock.close()
    print("cachesim gateway: stopped", file=sys.stderr, flush=True)
    return 0


async def _serve(server: GatewayServer, sock: socket.socket, app: GatewayApp) -> None:
    import asyncio

    from cachesim.gateway.app import ADMIN_PATH
    from cachesim.gateway.backend import BackendUnavailable

    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not task.done():  # noqa: ASYNC110 - uvicorn sets a flag only
        await asyncio.sleep(0.01)
    if server.started:
        host, port = sock.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        url = f"http://{shown}:{port}{app.prefix}"
        plan = app.faults.plan
        print(
            f"cachesim gateway: Upstash-compatible REST API for {app.backend.label} at {url}\n"
            f"export UPSTASH_REDIS_REST_URL={url}\n"
            f"export UPSTASH_REDIS_REST_TOKEN={app.token}\n"
            f"faults: {plan.to_dict() if plan.active else 'none'} "
            f"(change them at run time: {url}{ADMIN_PATH})\n"
            "Press Ctrl-C to stop.",
            flush=True,
        )
        if host not in ("127.0.0.1", "::1", "localhost"):
            print(
                f"cachesim gateway: warning: listening on {host}, reachable from other machines",
                file=sys.stderr,
                flush=True,
            )
        try:
            await app.backend.run([[b"PING"]])
        except BackendUnavailable as exc:
            print(f"cachesim gateway: warning: {exc}", file=sys.stderr, flush=True)
    await task
