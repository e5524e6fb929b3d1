"""Local infrastructure: the Upstash-compatible gateway, fault injection, throwaway redis-server.

* :func:`run_gateway` / :func:`gateway_process`: an Upstash-REST-compatible
  gateway (Starlette + uvicorn) in front of fakeredis or a real Redis, on a free
  loopback port, so the official ``upstash-redis`` client runs offline.
* :class:`FaultController`, :class:`Latency`, :class:`FaultyProvider`: seeded,
  run-time switchable faults (latency, 500, 401, hangs, dropped connections,
  malformed bodies; or raise/hang at the provider level).
* :func:`redis_server`: a throwaway ``redis-server`` process.

The HTTP parts import Starlette and uvicorn (the ``gateway`` extra) only when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cachesim.gateway.redis_server import (
    RedisServer,
    RedisServerNotFound,
    find_redis_server,
    free_port,
    redis_server,
)

if TYPE_CHECKING:
    from cachesim.gateway.app import GatewayApp, create_app
    from cachesim.gateway.faults import (
        FaultController,
        FaultPlan,
        FaultyProvider,
        InjectedFault,
        Latency,
    )
    from cachesim.gateway.server import (
        Gateway,
        GatewayProcess,
        GatewayThread,
        RemoteFaults,
        gateway_process,
        run_gateway,
    )

__all__ = [
    "FaultController",
    "FaultPlan",
    "FaultyProvider",
    "Gateway",
    "GatewayApp",
    "GatewayProcess",
    "GatewayThread",
    "InjectedFault",
    "Latency",
    "RedisServer",
    "RedisServerNotFound",
    "RemoteFaults",
    "create_app",
    "find_redis_server",
    "free_port",
    "gateway_process",
    "redis_server",
    "run_gateway",
]

_LAZY = {
    "GatewayApp": "cachesim.gateway.app",
    "create_app": "cachesim.gateway.app",
    "FaultController": "cachesim.gateway.faults",
    "FaultPlan": "cachesim.gateway.faults",
    "FaultyProvider": "cachesim.gateway.faults",
    "InjectedFault": "cachesim.gateway.faults",
    "Latency": "cachesim.gateway.faults",
    "Gateway": "cachesim.gateway.server",
    "GatewayProcess": "cachesim.gateway.server",
    "GatewayThread": "cachesim.gateway.server",
    "RemoteFaults": "cachesim.gateway.server",
    "gateway_process": "cachesim.gateway.server",
    "run_gateway": "cachesim.gateway.server",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'cachesim.gateway' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
