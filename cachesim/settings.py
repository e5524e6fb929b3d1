"""Configuration from the environment (pydantic-settings) and provider construction."""

from __future__ import annotations

import importlib
import inspect
import os
from typing import Any

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from cachesim.errors import ConfigurationError
from cachesim.providers.base import Provider
from cachesim.redact import redact_url

__all__ = ["BUILTIN_PROVIDERS", "CacheSettings", "SecretURL", "create_provider", "load_factory"]

#: Built-in provider spec strings (``in-memory`` is an alias of ``memory``).
BUILTIN_PROVIDERS = ("memory", "fakeredis", "redis", "upstash", "memcached", "sqlite")
_ALIASES = {"in-memory": "memory", "inmemory": "memory", "mem": "memory"}

_ENV_NAMES = {
    "provider": "CACHE_PROVIDER",
    "default_ttl": "CACHE_DEFAULT_TTL",
    "namespace": "CACHE_NAMESPACE",
    "timeout": "CACHE_TIMEOUT",
    "max_entries": "CACHE_MAX_ENTRIES",
    "policy": "CACHE_POLICY",
    "redis_url": "REDIS_URL",
    "upstash_url": "UPSTASH_REDIS_REST_URL",
    "upstash_token": "UPSTASH_REDIS_REST_TOKEN",
    "memcached_url": "MEMCACHED_URL",
    "sqlite_path": "SQLITE_PATH",
}


class SecretURL(SecretStr):
    """A connection URL held as a secret: shown with its credentials redacted.

    ``repr``/``str``/``model_dump`` show ``redis://***@host:6379/0``; JSON dumps show
    ``**********``; ``get_secret_value()`` returns the real URL.
    """

    def _display(self) -> str:
        return redact_url(self.get_secret_value())


def _secret(value: SecretStr | None) -> str | None:
    return None if value is None else value.get_secret_value()


class CacheSettings(BaseSettings):
    """Everything needed to build a :class:`~cachesim.Cache`, read from environment variables.

    Invalid values fail at construction with a :class:`ConfigurationError` that
    names the variable and the fix.  Credentials are secrets: the token is a
    ``SecretStr`` and the URLs (which may carry a password) are :class:`SecretURL`,
    so ``repr``, ``str``, ``model_dump`` and errors never show them.
    """

    model_config = SettingsConfigDict(
        env_file=None, extra="ignore", populate_by_name=True, hide_input_in_errors=True
    )

    provider: str = Field(
        "memory",
        validation_alias=AliasChoices("CACHE_PROVIDER", "provider"),
        description="memory (in-memory), fakeredis, redis, upstash, or package.module:factory",
    )
    default_ttl: float = Field(
        3600.0,
        validation_alias=AliasChoices("CACHE_DEFAULT_TTL", "default_ttl"),
        description="default TTL in seconds (> 0)",
    )
    namespace: str = Field(
        "cache",
        validation_alias=AliasChoices("CACHE_NAMESPACE", "namespace"),
        description="prefix of every key this cache writes",
    )
    timeout: float = Field(
        1.0,
        validation_alias=AliasChoices("CACHE_TIMEOUT", "timeout"),
        description="per-operation timeout in seconds",
    )
    max_entries: int | None = Field(
        None,
        validation_alias=AliasChoices("CACHE_MAX_ENTRIES", "max_entries"),
        description="memory provider capacity (entries); unset = unbounded",
    )
    policy: str = Field(
        "lru",
        validation_alias=AliasChoices("CACHE_POLICY", "policy"),
        description="memory provider eviction policy",
    )
    redis_url: SecretURL | None = Field(
        None,
        validation_alias=AliasChoices("REDIS_URL", "redis_url"),
        description="redis://[user:password@]host:port/db URL (secret: may carry a password)",
    )
    upstash_url: SecretURL | None = Field(
        None,
        validation_alias=AliasChoices("UPSTASH_REDIS_REST_URL", "REDIS_REST_URL", "upstash_url"),
        description="Upstash REST URL",
    )
    upstash_token: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices(
            "UPSTASH_REDIS_REST_TOKEN", "REDIS_REST_TOKEN", "upstash_token"
        ),
        description="Upstash REST token (secret)",
    )
    memcached_url: SecretURL | None = Field(
        None,
        validation_alias=AliasChoices("MEMCACHED_URL", "memcached_url"),
        description="memcached://[user:password@]host:port or memcached+unix:///path (secret)",
    )
    sqlite_path: str | None = Field(
        None,
        validation_alias=AliasChoices("SQLITE_PATH", "sqlite_path"),
        description="SQLite database file for the sqlite provider, or :memory:",
    )

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise ConfigurationError(_explain(exc)) from None

    @field_validator("provider")
    @classmethod
    def _check_provider(cls, value: str) -> str:
        spec = value.strip()
        spec = _ALIASES.get(spec.lower(), spec)
        if spec.lower() in BUILTIN_PROVIDERS:
            return spec.lower()
        if ":" in spec and all(part for part in spec.split(":", 1)):
            return spec
        raise ValueError(
            f"unknown provider {value!r}; use one of {', '.join(BUILTIN_PROVIDERS)}, "
            "in-memory, or package.module:factory"
        )

    @field_validator("default_ttl", "timeout")
    @classmethod
    def _positive(cls, value: float) -> float:
        if not value > 0:
            raise ValueError("must be a positive number of seconds")
        return value

    @field_validator("max_entries")
    @classmethod
    def _capacity(cls, value: int | None) -> int | None:
        if value is not None and value < 1:
            raise ValueError("must be a positive number of entries (or unset for unbounded)")
        return value

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value


def _explain(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "?"
        var = _ENV_NAMES.get(field, field)
        message = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"{var}: {message}")
    return "invalid cache configuration: " + "; ".join(lines)


def load_factory(spec: str) -> Any:
    """Import ``package.module:factory`` and return the callable."""
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(
            f"provider spec {spec!r}: cannot import module {module_name!r} ({exc})"
        ) from None
    target: Any = module
    for part in attr.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ConfigurationError(
                f"provider spec {spec!r}: module {module_name!r} has no attribute {attr!r}"
            ) from None
    if not callable(target):
        raise ConfigurationError(f"provider spec {spec!r}: {attr!r} is not callable")
    return target


def create_provider(settings: CacheSettings | str | None = None) -> Provider:
    """Build the provider described by ``settings`` (or a spec string, or the environment).

    A ``package.module:factory`` spec must name a zero-argument callable that
    returns a provider (an async factory is for the contract suite and the CLI,
    which can await it: see :func:`cachesim.settings.resolve_provider`).
    """
    if settings is None:
        settings = CacheSettings()
    elif isinstance(settings, str):
        settings = CacheSettings(CACHE_PROVIDER=settings)
    spec = settings.provider
    if spec == "memory":
        from cachesim.providers.memory import MemoryProvider

        return MemoryProvider(max_entries=settings.max_entries, policy=settings.policy)
    if spec == "fakeredis":
        from cachesim.providers.redis import RedisProvider

        return RedisProvider.fake()
    if spec == "redis":
        from cachesim.providers.redis import RedisProvider

        if not settings.redis_url:
            raise ConfigurationError(
                "REDIS_URL is not set: the redis provider needs e.g. REDIS_URL=redis://localhost:6379/0"
            )
        return RedisProvider.from_url(settings.redis_url.get_secret_value())
    if spec == "upstash":
        from cachesim.providers.upstash import UpstashProvider

        env = {
            "UPSTASH_REDIS_REST_URL": _secret(settings.upstash_url) or "",
            "UPSTASH_REDIS_REST_TOKEN": _secret(settings.upstash_token) or "",
        }
        return UpstashProvider.from_env(env)
    if spec == "memcached":
        from cachesim.providers.memcached import MemcachedProvider

        if not settings.memcached_url:
            raise ConfigurationError(
                "MEMCACHED_URL is not set: the memcached provider needs e.g. "
                "MEMCACHED_URL=memcached://127.0.0.1:11211"
            )
        return MemcachedProvider.from_url(settings.memcached_url.get_secret_value())
    if spec == "sqlite":
        from cachesim.providers.sqlite import SQLiteProvider

        if not settings.sqlite_path:
            raise ConfigurationError(
                "SQLITE_PATH is not set: the sqlite provider needs a database file, e.g. "
                "SQLITE_PATH=/var/cache/app/cache.db (or :memory:)"
            )
        return SQLiteProvider(settings.sqlite_path)
    provider = load_factory(spec)()
    if inspect.isawaitable(provider) or hasattr(provider, "__aenter__"):
        if inspect.iscoroutine(provider):
            provider.close()
        raise ConfigurationError(
            f"provider factory {spec!r} is async; Cache.from_env() needs a plain callable "
            "returning a provider (the contract suite and CLI accept async factories)"
        )
    _check_provider(provider, spec)
    return provider  # type: ignore[no-any-return]


def _check_provider(provider: object, spec: str) -> None:
    missing = [
        name
        for name in ("get", "set", "delete", "has", "invalidate_pattern", "clear")
        if not callable(getattr(provider, name, None))
    ]
    if missing:
        raise ConfigurationError(
            f"provider factory {spec!r} returned {type(provider).__name__}, which lacks "
            f"{', '.join(missing)}; subclass cachesim.providers.BaseProvider"
        )


def environment_summary() -> dict[str, str]:
    """The cache-related variables that are set, with secrets masked (for diagnostics)."""
    names = [*_ENV_NAMES.values(), "REDIS_REST_URL", "REDIS_REST_TOKEN"]
    shown: dict[str, str] = {}
    for name in names:
        value = os.environ.get(name)
        if value is None:
            continue
        shown[name] = "***" if "TOKEN" in name else redact_url(value)
    return shown
