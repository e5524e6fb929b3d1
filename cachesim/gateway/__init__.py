"""Local infrastructure: throwaway redis-server processes (and the Upstash-compatible gateway)."""

from cachesim.gateway.redis_server import (
    RedisServer,
    RedisServerNotFound,
    find_redis_server,
    free_port,
    redis_server,
)

__all__ = ["RedisServer", "RedisServerNotFound", "find_redis_server", "free_port", "redis_server"]
