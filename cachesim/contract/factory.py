"""From a provider spec to providers: built-in names, ``package.module:factory``, probing.

A factory is a callable returning a provider, an awaitable of one, or a context
manager (async or sync) yielding one. It may accept the keyword options
``clock`` (a :class:`~cachesim.clock.ManualClock`, passed when the provider declares
``CLOCK_INJECTABLE``) and ``max_entries`` (passed by the eviction tests); options it
does not accept are not passed. Attributes on the factory (or the provider) tune the
run: ``contract_deviations`` (``{"test_name[case]": "reason"}``) and
``contract_secrets`` (strings that must never leak).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from cachesim.clock import ManualClock
from cachesim.errors import ConfigurationError
from cachesim.providers.base import Provider
from cachesim.providers.capabilities import Capability

__all__ = ["BUILTIN_SPECS", "FACTORY_OPTIONS", "ProviderFactory", "ProviderInfo", "resolve"]

#: Built-in spec names (``in-memory`` is an alias of ``memory``).
BUILTIN_SPECS = ("memory", "fakeredis", "redis", "upstash", "memcached", "sqlite")
_ALIASES = {"in-memory": "memory", "inmemory": "memory", "mem": "memory"}

#: Keyword options the suite may pass to a factory.
FACTORY_OPTIONS = ("clock", "max_entries")

_fake_server: Any = None


def _memory(clock: ManualClock | None = None, max_entries: int | None = None) -> Provider:
    from cachesim.providers.memory import MemoryProvider

    return MemoryProvider(max_entries=max_entries, clock=clock)


def _fakeredis() -> Provider:
    """fakeredis, with one in-process server shared by every provider of the run."""
    global _fake_server
    import fakeredis

    from cachesim.providers.redis import RedisProvider

    if _fake_server is None:
        _fake_server = fakeredis.FakeServer()
    return RedisProvider.fake(_fake_server)


def _redis() -> Provider:
    from cachesim.settings import create_provider

    return create_provider("redis")


def _upstash() -> Provider:
    from cachesim.settings import create_provider

    return create_provider("upstash")


def _memcached() -> Provider:
    from cachesim.settings import create_provider

    return create_provider("memcached")


def _sqlite(clock: ManualClock | None = None) -> Provider:
    from cachesim.providers.sqlite import SQLiteProvider

    return SQLiteProvider(os.environ["SQLITE_PATH"], clock=clock)


def _builtin_secrets(name: str) -> tuple[str, ...]:
    if name == "upstash":
        return tuple(
            v
            for var in ("UPSTASH_REDIS_REST_TOKEN", "REDIS_REST_TOKEN")
            if (v := os.environ.get(var, "").strip())
        )
    if name in ("redis", "memcached"):
        password = urlsplit(os.environ.get(f"{name.upper()}_URL", "")).password
        return (password,) if password else ()
    return ()


@dataclass(frozen=True)
class ProviderFactory:
    """A resolved spec: how to build a provider for one test."""

    spec: str
    func: Callable[..., Any]
    builtin: bool
    accepts: frozenset[str]
    deviations: Mapping[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()

    @contextlib.asynccontextmanager
    async def open(self, **options: Any) -> AsyncIterator[Provider]:
        """Build one provider (not initialized) and dispose of it afterwards.

        ``options`` the factory does not accept are dropped, except ``clock``,
        which is then set as the provider's ``clock`` attribute when it has one.
        """
        passed = {k: v for k, v in options.items() if v is not None and k in self.accepts}
        made = self.func(**passed)
        async with contextlib.AsyncExitStack() as stack:
            if hasattr(made, "__aenter__"):
                made = await stack.enter_async_context(made)
            elif hasattr(made, "__enter__") and not _is_provider(made):
                made = stack.enter_context(made)
            elif inspect.isawaitable(made):
                made = await made
            if not _is_provider(made):
                raise ConfigurationError(
                    f"provider factory {self.spec!r} produced {type(made).__name__}, which is "
                    "not a provider: subclass cachesim.providers.BaseProvider"
                )
            clock = options.get("clock")
            if clock is not None and "clock" not in passed and hasattr(made, "clock"):
                made.clock = clock
            yield made


def _is_provider(obj: object) -> bool:
    return all(callable(getattr(obj, name, None)) for name in ("get", "set", "delete", "clear"))


def _accepted(func: Callable[..., Any]) -> frozenset[str]:
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return frozenset()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return frozenset(FACTORY_OPTIONS)
    return frozenset(
        name
        for name, p in params.items()
        if name in FACTORY_OPTIONS
        and p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    )


def resolve(spec: str) -> ProviderFactory:
    """Turn a spec string into a factory (raises ConfigurationError with the fix)."""
    from cachesim.settings import load_factory

    raw = spec.strip()
    name = _ALIASES.get(raw.lower(), raw.lower())
    if name in BUILTIN_SPECS:
        func = {
            "memory": _memory,
            "fakeredis": _fakeredis,
            "redis": _redis,
            "upstash": _upstash,
            "memcached": _memcached,
            "sqlite": _sqlite,
        }
        needs = {
            "memcached": ("MEMCACHED_URL", "memcached://127.0.0.1:11211"),
            "sqlite": ("SQLITE_PATH", "/tmp/cachesim-contract.db"),
        }
        if name in needs and not os.environ.get(needs[name][0]):
            var, example = needs[name]
            raise ConfigurationError(f"--cache-provider {name} needs {var} (e.g. {var}={example})")
        if name == "redis" and not os.environ.get("REDIS_URL"):
            raise ConfigurationError(
                "--cache-provider redis needs REDIS_URL (e.g. redis://localhost:6379/0)"
            )
        if name == "upstash" and not (
            os.environ.get("UPSTASH_REDIS_REST_URL") or os.environ.get("REDIS_REST_URL")
        ):
            raise ConfigurationError(
                "--cache-provider upstash needs UPSTASH_REDIS_REST_URL and "
                "UPSTASH_REDIS_REST_TOKEN (or run `cachesim gateway` locally)"
            )
        return ProviderFactory(
            name, func[name], True, _accepted(func[name]), {}, _builtin_secrets(name)
        )
    if ":" not in raw or not all(raw.split(":", 1)):
        raise ConfigurationError(
            f"unknown provider spec {spec!r}: use one of {', '.join(BUILTIN_SPECS)} "
            "or package.module:factory"
        )
    func = load_factory(raw)
    deviations = dict(getattr(func, "contract_deviations", None) or {})
    secrets = tuple(str(s) for s in getattr(func, "contract_secrets", ()) or () if s)
    return ProviderFactory(raw, func, False, _accepted(func), deviations, secrets)


@dataclass(frozen=True)
class ProviderInfo:
    """What a probe learned about the provider before the run."""

    spec: str
    name: str
    cls: str
    repr: str
    capabilities: frozenset[Capability]
    max_value_bytes: int | None
    in_process: bool
    deviations: Mapping[str, str]
    version: str | None
    ttl_resolution: float | None = None
    command_costs: Mapping[str, int] | None = None

    @property
    def clock_injectable(self) -> bool:
        """Whether tests move time by hand (else they sleep)."""
        return Capability.CLOCK_INJECTABLE in self.capabilities

    def as_json(self) -> dict[str, Any]:
        """JSON-ready description (for the report)."""
        return {
            "spec": self.spec,
            "name": self.name,
            "class": self.cls,
            "repr": self.repr,
            "version": self.version,
            "capabilities": sorted(c.name for c in self.capabilities),
            "max_value_bytes": self.max_value_bytes,
            "in_process": self.in_process,
            "time": ("injected clock" if self.clock_injectable else "real time")
            + (f", TTL resolution {self.ttl_resolution:g} s" if self.ttl_resolution else ""),
            "ttl_resolution": self.ttl_resolution,
            "command_costs": dict(self.command_costs) if self.command_costs else None,
            "deviations": dict(self.deviations),
        }


def _capabilities(raw: object, where: str) -> frozenset[Capability]:
    if isinstance(raw, str) or not isinstance(raw, set | frozenset | list | tuple):
        raise ConfigurationError(
            f"{where}.capabilities must be a set of Capability members, got "
            f"{type(raw).__name__} {raw!r:.80}: declare e.g. "
            "frozenset({Capability.TTL, Capability.PATTERN_INVALIDATION})"
        )
    found, unknown = set(), []
    for item in raw:
        try:
            found.add(Capability(item))
        except ValueError:
            if isinstance(item, str) and item in Capability.__members__:
                found.add(Capability[item])
            else:
                unknown.append(item)
    if unknown:
        known = ", ".join(c.name for c in Capability)
        raise ConfigurationError(
            f"{where} declares unknown capabilities {unknown!r}; the vocabulary is: {known}"
        )
    return frozenset(found)


def _ttl_resolution(raw: object, where: str) -> float | None:
    """A provider's declared ``ttl_resolution`` (seconds its backend's clock steps by)."""
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 < raw <= 60:
        raise ConfigurationError(
            f"{where}.ttl_resolution must be a number of seconds in (0, 60], got {raw!r}"
        )
    return float(raw)


#: Operations whose exact command cost a provider may declare (``command_costs``).
COSTED_OPERATIONS = (
    "get",
    "set",
    "delete",
    "has",
    "get_many",
    "set_many",
    "delete_many",
    "invalidate_pattern",
    "clear",
    "count",
)


def _check_declarations(provider: object, where: str) -> None:
    """Refuse malformed declarations with a message that says what to write instead."""
    name = getattr(provider, "name", None)
    if not isinstance(name, str) or not name:
        raise ConfigurationError(f"{where}.name must be a non-empty str, got {name!r:.80}")
    size = getattr(provider, "max_value_bytes", None)
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size <= 0):
        raise ConfigurationError(
            f"{where}.max_value_bytes must be None (no limit) or a positive int of bytes, "
            f"got {size!r:.80}"
        )
    in_process = getattr(provider, "in_process", False)
    if not isinstance(in_process, bool):
        raise ConfigurationError(f"{where}.in_process must be a bool, got {in_process!r:.80}")
    _command_costs(getattr(provider, "command_costs", None), where)


def _command_costs(raw: object, where: str) -> dict[str, int] | None:
    """A provider's declared ``command_costs``: operation -> exact commands per call."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or not all(
        isinstance(k, str) and type(v) is int and v >= 0 for k, v in raw.items()
    ):
        raise ConfigurationError(
            f"{where}.command_costs must map operation names to command counts (int >= 0), "
            f"got {raw!r:.120}"
        )
    unknown = sorted(set(raw) - set(COSTED_OPERATIONS))
    if unknown:
        raise ConfigurationError(
            f"{where}.command_costs names unknown operations {unknown}; known: "
            + ", ".join(COSTED_OPERATIONS)
        )
    return dict(raw)


def _version(obj: object) -> str | None:
    top = type(obj).__module__.split(".", 1)[0]
    with contextlib.suppress(Exception):
        from importlib.metadata import version

        return version(top)
    return None


async def probe(factory: ProviderFactory, *, limit: float = 30.0) -> ProviderInfo:
    """Build, initialize and dispose of one provider; return what it declares.

    Raises ConfigurationError when the provider cannot be built or reached.
    """
    try:
        async with asyncio.timeout(limit), factory.open(clock=ManualClock(0.0)) as provider:
            where = type(provider).__name__
            capabilities = _capabilities(getattr(provider, "capabilities", ()), where)
            _check_declarations(provider, where)
            try:
                await provider.initialize()
            finally:
                with contextlib.suppress(Exception):
                    await provider.disconnect()
            size = getattr(provider, "max_value_bytes", None)
            deviations = dict(getattr(provider, "contract_deviations", None) or {})
            deviations.update(factory.deviations)
            return ProviderInfo(
                spec=factory.spec,
                name=str(getattr(provider, "name", where)),
                cls=f"{type(provider).__module__}.{type(provider).__qualname__}",
                repr=repr(provider),
                capabilities=capabilities,
                max_value_bytes=size if isinstance(size, int) and size > 0 else None,
                in_process=bool(getattr(provider, "in_process", False)),
                deviations=deviations,
                version=_version(provider),
                ttl_resolution=_ttl_resolution(getattr(provider, "ttl_resolution", None), where),
                command_costs=_command_costs(getattr(provider, "command_costs", None), where),
            )
    except ConfigurationError:
        raise
    except TimeoutError:
        raise ConfigurationError(
            f"provider {factory.spec!r} did not initialize within {limit:.0f} s"
        ) from None
    except Exception as exc:
        raise ConfigurationError(
            f"provider {factory.spec!r} could not be built or reached: "
            f"{type(exc).__name__}: {_redact(str(exc), factory.secrets)}"
        ) from None


def _redact(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text[:500]
