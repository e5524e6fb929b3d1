"""The :func:`cached` decorator: memoise sync or async functions in a cache.

Async functions are cached in a :class:`~cachesim.Cache` (single-flight per key
through :meth:`Cache.get_or_set`); sync functions in a
:class:`~cachesim.sync.SyncCache` (single-flight across threads).  Results follow
the cache's semantics: they round-trip as JSON types, a returned None is cached,
and an exception is never cached.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import fractions
import functools
import hashlib
import inspect
import pathlib
import string
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any, ParamSpec, Protocol, TypeVar, cast, overload

from cachesim.cache import Cache, validate_ttl
from cachesim.keys import encode_id
from cachesim.sync import SyncCache

__all__ = ["AsyncCachedFunction", "CachedFunction", "cached", "stable_repr"]

P = ParamSpec("P")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)

#: Longest (encoded) argument text kept readable in a default key; longer is hashed.
MAX_ARGS_BYTES = 256
#: Longest (encoded) ``module.qualname`` kept readable in a default key.
MAX_NAME_BYTES = 200

KeySpec = str | Callable[..., str] | None


class AsyncCachedFunction(Protocol[P, R_co]):
    """An async function wrapped by :func:`cached`."""

    __name__: str
    __qualname__: str
    __wrapped__: Callable[..., Any]

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Coroutine[Any, Any, R_co]:
        """Return the cached result, computing it (once per key) on a miss."""
        ...

    def invalidate(self, *args: P.args, **kwargs: P.kwargs) -> Coroutine[Any, Any, bool]:
        """Delete the entry for these arguments; True if one existed."""
        ...

    def cache_key(self, *args: P.args, **kwargs: P.kwargs) -> str:
        """The cache key (inside the cache's namespace) for these arguments."""
        ...


class CachedFunction(Protocol[P, R_co]):
    """A sync function wrapped by :func:`cached`."""

    __name__: str
    __qualname__: str
    __wrapped__: Callable[..., Any]

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R_co:
        """Return the cached result, computing it (once per key) on a miss."""
        ...

    def invalidate(self, *args: P.args, **kwargs: P.kwargs) -> bool:
        """Delete the entry for these arguments; True if one existed."""
        ...

    def cache_key(self, *args: P.args, **kwargs: P.kwargs) -> str:
        """The cache key (inside the cache's namespace) for these arguments."""
        ...


# -- stable argument text ----------------------------------------------------------

_PLAIN_REPR = (decimal.Decimal, fractions.Fraction, uuid.UUID, dt.timedelta, pathlib.PurePath)


def _type_name(value: object) -> str:
    cls = type(value)
    return f"{cls.__module__}.{cls.__qualname__}"


def stable_repr(value: object) -> str:
    """Text for ``value`` that is the same in every process (no ``hash()``, no ``id()``).

    Supports None, bool, int, float, str, bytes, enums, Decimal, Fraction, UUID,
    dates and times, paths, dataclass instances, and lists, tuples, dicts, sets and
    frozensets of those.  Anything else raises TypeError: its repr may embed a
    memory address, so pass ``key=`` to :func:`cached` instead.
    """
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, enum.Enum):
        return f"{_type_name(value)}.{value.name}"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return float.__repr__(value)
    if isinstance(value, str):
        return str.__repr__(value)
    if isinstance(value, bytes | bytearray):
        return bytes.__repr__(bytes(value))
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return f"{type(value).__name__}({value.isoformat()})"
    if isinstance(value, _PLAIN_REPR):
        return repr(value)
    if isinstance(value, list):
        return "[" + ",".join(stable_repr(v) for v in value) + "]"
    if isinstance(value, tuple):
        return "(" + ",".join(stable_repr(v) for v in value) + (",)" if len(value) == 1 else ")")
    if isinstance(value, Mapping):
        items = sorted(f"{stable_repr(k)}:{stable_repr(v)}" for k, v in value.items())
        return f"dict({','.join(items)})"
    if isinstance(value, set | frozenset):
        items = sorted(stable_repr(v) for v in value)
        return f"{'set' if isinstance(value, set) else 'frozenset'}({','.join(items)})"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = ",".join(
            f"{f.name}={stable_repr(getattr(value, f.name))}"
            for f in dataclasses.fields(value)
            if f.compare
        )
        return f"{_type_name(value)}({fields})"
    raise TypeError(
        f"cannot build a stable default cache key from a {_type_name(value)} argument "
        "(its repr may differ between processes); pass key='...{param}' or a key "
        "function to @cached"
    )


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "backslashreplace")).hexdigest()


# -- key builders ------------------------------------------------------------------

KeyBuilder = Callable[[tuple[Any, ...], dict[str, Any]], str]


#: Characters percent-encoded in default keys (as :func:`cachesim.keys.encode_id` does):
#: glob metacharacters, so that a key used as a pattern matches only itself, and
#: braces, which Redis Cluster would read as a hash tag.
_KEY_UNSAFE = str.maketrans({c: f"%{ord(c):02X}" for c in "%*?[]\\{}"})


def _default_key(fn: Callable[..., Any], sig: inspect.Signature) -> KeyBuilder:
    name = f"{fn.__module__}.{fn.__qualname__}".translate(_KEY_UNSAFE)
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        name = "sha256-" + _sha256(name)

    def build(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        bound = sig.bind(*args, **kwargs)
        bound.apply_defaults()
        text = ",".join(f"{k}={stable_repr(v)}" for k, v in bound.arguments.items())
        encoded = text.translate(_KEY_UNSAFE)
        if len(encoded.encode("utf-8", "backslashreplace")) <= MAX_ARGS_BYTES:
            return f"{name}({encoded})"
        return f"{name}#{_sha256(text)}"

    return build


class _EscapingFormatter(string.Formatter):
    """Formats a key template, encoding each substituted field as :class:`CacheKeys` does."""

    def format_field(self, value: Any, format_spec: str) -> str:
        return encode_id(format(value, format_spec))


_formatter = _EscapingFormatter()


def _template_key(template: str, fn: Callable[..., Any], sig: inspect.Signature) -> KeyBuilder:
    params = sig.parameters
    open_kwargs = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    try:
        fields = [f for _, f, _, _ in _formatter.parse(template) if f is not None]
    except ValueError as exc:
        raise ValueError(f"invalid cache key template {template!r}: {exc}") from None
    for field in fields:
        root = field.split(".", 1)[0].split("[", 1)[0]
        if not root or root.isdigit():
            raise ValueError(
                f"cache key template {template!r} must name parameters ({{user_id}}), not positions"
            )
        if root not in params and not open_kwargs:
            raise ValueError(
                f"cache key template {template!r} uses {{{root}}}, which is not a parameter "
                f"of {fn.__qualname__}{sig}"
            )

    def build(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        bound = sig.bind(*args, **kwargs)
        bound.apply_defaults()
        values = dict(bound.arguments)
        for p in params.values():  # let {name} reach **kwargs entries too
            if p.kind is inspect.Parameter.VAR_KEYWORD:
                values = {**values.pop(p.name, {}), **values}
        return _formatter.vformat(template, (), values)

    return build


def _callable_key(key: Callable[..., str]) -> KeyBuilder:
    def build(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        return key(*args, **kwargs)

    return build


# -- the decorator -----------------------------------------------------------------


@overload
def cached(
    cache: Cache, *, ttl: float | dt.timedelta | None = None, key: KeySpec = None
) -> Callable[[Callable[P, Awaitable[R]]], AsyncCachedFunction[P, R]]: ...


@overload
def cached(
    cache: SyncCache, *, ttl: float | dt.timedelta | None = None, key: KeySpec = None
) -> Callable[[Callable[P, R]], CachedFunction[P, R]]: ...


def cached(
    cache: Cache | SyncCache,
    *,
    ttl: float | dt.timedelta | None = None,
    key: KeySpec = None,
) -> Callable[[Callable[..., Any]], Any]:
    """Cache a function's results: ``@cached(cache, ttl=60, key="user:{user_id}")``.

    ``cache`` is a :class:`Cache` for ``async def`` functions and a
    :class:`SyncCache` for plain functions.  ``ttl`` is in seconds (None = the
    cache's default).  ``key`` is a template naming parameters, each substituted
    value encoded as :class:`CacheKeys` does (``"user:{user_id}"`` gives
    ``user:{42}``, the key of ``CacheKeys.user(42)``), a function taking the same
    arguments and returning the key, or None for a default key built from the
    function's module, qualified name and bound arguments (defaults applied):
    ``app.users.load(user_id=1)``, stable across processes, glob metacharacters
    percent-encoded, argument text over 256 bytes replaced by its SHA-256.

    The wrapper has ``invalidate(*args, **kwargs)`` (awaitable for async
    functions) and ``cache_key(*args, **kwargs)``.
    """
    if ttl is not None:
        validate_ttl(ttl)
    if key is not None and not isinstance(key, str) and not callable(key):
        raise TypeError(f"key must be a template string, a function or None, got {key!r}")

    def decorate(fn: Callable[..., Any]) -> Any:
        if inspect.isasyncgenfunction(fn) or inspect.isgeneratorfunction(fn):
            raise TypeError(f"@cached cannot cache generator function {fn.__qualname__}")
        sig = inspect.signature(fn)
        if key is None:
            build = _default_key(fn, sig)
        elif isinstance(key, str):
            build = _template_key(key, fn, sig)
        else:
            build = _callable_key(key)

        if inspect.iscoroutinefunction(fn):
            if not isinstance(cache, Cache):
                raise TypeError(
                    f"{fn.__qualname__} is async: decorate it with @cached(cache) where cache "
                    f"is a cachesim.Cache, not a {type(cache).__name__}"
                )
            return _wrap_async(fn, cache, build, ttl)
        if not isinstance(cache, SyncCache):
            raise TypeError(
                f"{fn.__qualname__} is sync: decorate it with @cached(SyncCache(cache)); "
                "a cachesim.Cache serves async functions"
            )
        return _wrap_sync(fn, cache, build, ttl)

    return decorate


def _wrap_async(
    fn: Callable[..., Awaitable[Any]],
    cache: Cache,
    build: KeyBuilder,
    ttl: float | dt.timedelta | None,
) -> AsyncCachedFunction[..., Any]:
    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        return await cache.get_or_set(
            build(args, kwargs), functools.partial(fn, *args, **kwargs), ttl
        )

    async def invalidate(*args: Any, **kwargs: Any) -> bool:
        return await cache.delete(build(args, kwargs))

    def cache_key(*args: Any, **kwargs: Any) -> str:
        return build(args, kwargs)

    wrapper.invalidate = invalidate  # type: ignore[attr-defined]
    wrapper.cache_key = cache_key  # type: ignore[attr-defined]
    return cast(AsyncCachedFunction[..., Any], wrapper)


def _wrap_sync(
    fn: Callable[..., Any],
    cache: SyncCache,
    build: KeyBuilder,
    ttl: float | dt.timedelta | None,
) -> CachedFunction[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return cache.get_or_set(build(args, kwargs), functools.partial(fn, *args, **kwargs), ttl)

    def invalidate(*args: Any, **kwargs: Any) -> bool:
        return cache.delete(build(args, kwargs))

    def cache_key(*args: Any, **kwargs: Any) -> str:
        return build(args, kwargs)

    wrapper.invalidate = invalidate  # type: ignore[attr-defined]
    wrapper.cache_key = cache_key  # type: ignore[attr-defined]
    return cast(CachedFunction[..., Any], wrapper)
