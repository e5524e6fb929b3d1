"""Entry options: how long an entry is fresh, and what a reader gets after that.

One frozen, validated object (:class:`EntryOptions`) carries every freshness and
resilience knob of an entry: its duration and jitter, a grace window
(stale-while-revalidate), fail-safe (serve the last good value when the factory or
the backend fails, for at most ``fail_safe`` seconds past expiry, retrying no more
often than ``fail_safe_throttle``), early refresh (a fixed fraction of the duration,
or XFetch's probabilistic early expiration), factory timeouts, a stampede lock and
tags.  Pass it as ``Cache(options=...)`` for the cache's defaults and as
``get_or_set(..., options=...)`` / ``set(..., options=...)`` for one call; derive
variants with :meth:`EntryOptions.replace`.

The semantics (what a reader can see and for how long) are documented in
``docs/cache.md``, section "Freshness and resilience".
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final, Literal

from cachesim.errors import ConfigurationError

__all__ = [
    "DEFAULT_LOCK_TTL",
    "LOCK_MODES",
    "MAX_TAG_BYTES",
    "EntryOptions",
    "LockMode",
    "validate_tags",
]

LockMode = Literal["local", "distributed"]

#: Accepted values of ``EntryOptions.lock`` (None behaves like "local").
LOCK_MODES: Final = (None, "local", "distributed")

#: Default lifetime of a distributed stampede lock, in seconds.
DEFAULT_LOCK_TTL: Final = 10.0

#: Longest tag (UTF-8 bytes); tags become part of a key.
MAX_TAG_BYTES: Final = 200

_MAX_SECONDS: Final = 365 * 24 * 3600.0


def _seconds(name: str, value: object, *, allow_inf: bool = False) -> float:
    """A positive duration in seconds (int, float or timedelta), else ConfigurationError."""
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(
            f"EntryOptions.{name} must be a number of seconds (int, float or timedelta), "
            f"got {type(value).__name__}"
        )
    seconds = float(value)
    if math.isnan(seconds) or seconds <= 0:
        raise ConfigurationError(f"EntryOptions.{name} must be > 0 seconds, got {value!r}")
    if seconds == math.inf and allow_inf:
        return seconds
    if seconds > _MAX_SECONDS:
        raise ConfigurationError(
            f"EntryOptions.{name} must be at most {_MAX_SECONDS:.0f} s (365 days), got {value!r}"
            + ("; pass NO_EXPIRY (math.inf) for entries that never expire" if allow_inf else "")
        )
    if seconds < 0.001:
        raise ConfigurationError(
            f"EntryOptions.{name} must be at least 0.001 s (millisecond resolution), got {value!r}"
        )
    return seconds


def _f(value: float | timedelta) -> float:
    """A validated duration as float seconds (validation already turned timedeltas into floats)."""
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _fraction(name: str, value: object, *, low_open: bool, high: float, high_open: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise ConfigurationError(f"EntryOptions.{name} must be a number, got {value!r}")
    number = float(value)
    too_low = number <= 0 if low_open else number < 0
    too_high = number >= high if high_open else number > high
    if too_low or too_high:
        lo, hi = ("(" if low_open else "["), (")" if high_open else "]")
        raise ConfigurationError(
            f"EntryOptions.{name} must be in {lo}0, {high:g}{hi}, got {value!r}"
        )
    return number


def validate_tags(tags: object) -> tuple[str, ...]:
    """Return ``tags`` as a sorted, de-duplicated tuple of valid tag strings, or raise.

    A tag is a non-empty printable-ASCII string of at most :data:`MAX_TAG_BYTES`
    (it becomes part of a key on every provider).  A bare string is refused: write
    ``tags=("user:1",)``, not ``tags="user:1"``, which would be six tags.
    """
    if tags is None:
        return ()
    if isinstance(tags, str | bytes) or not isinstance(tags, Iterable):
        raise ConfigurationError(
            f"tags must be a collection of strings such as ('user:1',), got {tags!r}"
        )
    out: set[str] = set()
    for tag in tags:
        if (
            not isinstance(tag, str)
            or not tag
            or len(tag) > MAX_TAG_BYTES
            or not tag.isascii()
            or not tag.isprintable()
        ):
            raise ConfigurationError(
                f"each tag must be a non-empty printable ASCII string of at most "
                f"{MAX_TAG_BYTES} characters, got {tag!r}"
            )
        out.add(tag)
    return tuple(sorted(out))


@dataclass(frozen=True, slots=True, kw_only=True)
class EntryOptions:
    """How an entry is kept fresh and what readers get when it is not.

    All durations are seconds (int, float or ``timedelta``).  Every field is optional;
    ``EntryOptions()`` means "plain TTL from the cache's ``default_ttl``".

    - ``ttl``: how long the value is fresh (None: the cache's ``default_ttl``;
      ``math.inf``/``NO_EXPIRY``: forever).  ``duration`` is an alias.
    - ``jitter``: a fraction in [0, 1]; each write's duration is stretched by a random
      factor in ``[1, 1 + jitter)`` so keys written together do not expire together.
    - ``grace``: stale-while-revalidate.  For ``grace`` seconds after expiry, a read
      returns the old value at once and one background refresh replaces it.
    - ``fail_safe``: for ``fail_safe`` seconds after expiry the last good value is kept;
      when the factory raises or times out (or the backend is down) it is served instead
      of an error.  ``fail_safe_throttle`` (default: 30 s, capped at ``fail_safe``) is
      how long the failed key then serves that value before the factory is tried again.
    - ``eager_refresh``: a fraction in (0, 1); once that fraction of the duration has
      passed, a read returns the (still fresh) value and starts one background refresh.
    - ``xfetch_beta``: probabilistic early expiration (Vattani et al., VLDB 2015): a read
      refreshes early, in the background, when ``now - delta * beta * ln(U) >= expiry``,
      ``delta`` being the recompute time measured and stored with the entry (beta = 1 is
      the paper's optimum; larger refreshes earlier).  Exclusive with ``eager_refresh``.
    - ``soft_timeout``: when a stale value is available (fail-safe), a factory slower
      than this is left to finish in the background (its result is stored) and the stale
      value is returned.  Needs ``fail_safe``.
    - ``hard_timeout``: the longest a caller waits for the factory.  Then the stale value
      is returned if there is one, else :class:`~cachesim.errors.FactoryTimeoutError`
      is raised; the factory still finishes in the background and its result is stored.
    - ``lock``: ``"local"`` (the default, also None): concurrent misses in one process
      call the factory once.  ``"distributed"``: also across processes and hosts, through
      a lock on the backend (``SET NX PX`` with a random token, released by
      compare-and-delete); waiters poll for the filled value with backoff.
      ``lock_ttl`` (default 10 s) bounds how long a dead holder blocks the key;
      ``lock_wait`` (default ``lock_ttl``) is how long a waiter polls before it calls
      the factory itself (counted in ``lock_timeouts``).
    - ``tags``: tags of the entry, for :meth:`Cache.invalidate_tag`.
    """

    ttl: float | timedelta | None = None
    jitter: float = 0.0
    grace: float | timedelta | None = None
    fail_safe: float | timedelta | None = None
    fail_safe_throttle: float | timedelta | None = None
    eager_refresh: float | None = None
    xfetch_beta: float | None = None
    soft_timeout: float | timedelta | None = None
    hard_timeout: float | timedelta | None = None
    lock: LockMode | None = None
    lock_ttl: float | timedelta | None = None
    lock_wait: float | timedelta | None = None
    tags: tuple[str, ...] = ()
    duration: float | timedelta | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if self.duration is not None:
            if self.ttl is not None:
                raise ConfigurationError("EntryOptions: pass ttl or its alias duration, not both")
            set_(self, "ttl", self.duration)
            set_(self, "duration", None)
        if self.ttl is not None:
            set_(self, "ttl", _seconds("ttl", self.ttl, allow_inf=True))
        set_(
            self,
            "jitter",
            _fraction("jitter", self.jitter, low_open=False, high=1.0, high_open=False),
        )
        for name in ("grace", "fail_safe", "soft_timeout", "hard_timeout", "lock_ttl", "lock_wait"):
            value = getattr(self, name)
            if value is not None:
                set_(self, name, _seconds(name, value))
        if self.fail_safe_throttle is not None:
            if self.fail_safe is None:
                raise ConfigurationError(
                    "EntryOptions.fail_safe_throttle needs fail_safe (the longest a stale "
                    "value may be served), e.g. EntryOptions(fail_safe=600, fail_safe_throttle=30)"
                )
            set_(
                self, "fail_safe_throttle", _seconds("fail_safe_throttle", self.fail_safe_throttle)
            )
        if self.eager_refresh is not None:
            set_(
                self,
                "eager_refresh",
                _fraction(
                    "eager_refresh", self.eager_refresh, low_open=True, high=1.0, high_open=True
                ),
            )
        if self.xfetch_beta is not None:
            beta = _fraction(
                "xfetch_beta", self.xfetch_beta, low_open=True, high=100.0, high_open=False
            )
            set_(self, "xfetch_beta", beta)
        if self.eager_refresh is not None and self.xfetch_beta is not None:
            raise ConfigurationError(
                "EntryOptions: choose eager_refresh (a fixed fraction of the duration) or "
                "xfetch_beta (probabilistic early expiration), not both"
            )
        if self.soft_timeout is not None and self.fail_safe is None:
            raise ConfigurationError(
                "EntryOptions.soft_timeout needs fail_safe: a soft timeout returns the last "
                "good value, so one must be kept (e.g. fail_safe=600); use hard_timeout to "
                "bound the wait when there is no stale value"
            )
        if (
            self.soft_timeout is not None
            and self.hard_timeout is not None
            and _f(self.soft_timeout) >= _f(self.hard_timeout)
        ):
            raise ConfigurationError(
                f"EntryOptions.soft_timeout ({self.soft_timeout}) must be shorter than "
                f"hard_timeout ({self.hard_timeout})"
            )
        if self.lock not in LOCK_MODES:
            raise ConfigurationError(
                f"EntryOptions.lock must be None, 'local' or 'distributed', got {self.lock!r}"
            )
        if self.lock != "distributed" and (self.lock_ttl is not None or self.lock_wait is not None):
            raise ConfigurationError(
                "EntryOptions.lock_ttl and lock_wait apply to lock='distributed' only"
            )
        if (
            self.eager_refresh is not None or self.xfetch_beta is not None
        ) and self.ttl == math.inf:
            raise ConfigurationError(
                "EntryOptions: early refresh needs a finite ttl (an entry that never expires "
                "is never refreshed)"
            )
        set_(self, "tags", validate_tags(self.tags))

    # -- derived values ---------------------------------------------------------------
    @property
    def ttl_seconds(self) -> float | None:
        """``ttl`` as float seconds (None: use the cache's default)."""
        return None if self.ttl is None else _f(self.ttl)

    @property
    def grace_seconds(self) -> float:
        """``grace`` as float seconds (0 when off)."""
        return 0.0 if self.grace is None else _f(self.grace)

    @property
    def fail_safe_seconds(self) -> float:
        """``fail_safe`` as float seconds (0 when off)."""
        return 0.0 if self.fail_safe is None else _f(self.fail_safe)

    @property
    def soft_timeout_seconds(self) -> float | None:
        """``soft_timeout`` as float seconds, or None."""
        return None if self.soft_timeout is None else _f(self.soft_timeout)

    @property
    def hard_timeout_seconds(self) -> float | None:
        """``hard_timeout`` as float seconds, or None."""
        return None if self.hard_timeout is None else _f(self.hard_timeout)

    @property
    def throttle(self) -> float:
        """Seconds a failed key serves its stale value before the factory is retried."""
        if self.fail_safe is None:
            return 0.0
        chosen = 30.0 if self.fail_safe_throttle is None else _f(self.fail_safe_throttle)
        return min(chosen, _f(self.fail_safe))

    @property
    def stale_window(self) -> float:
        """Seconds past expiry an entry is kept: ``max(grace, fail_safe)`` (0 if neither)."""
        return max(_f(self.grace or 0.0), _f(self.fail_safe or 0.0))

    @property
    def effective_lock_ttl(self) -> float:
        """The distributed lock's expiry (``lock_ttl`` or :data:`DEFAULT_LOCK_TTL`)."""
        return DEFAULT_LOCK_TTL if self.lock_ttl is None else _f(self.lock_ttl)

    @property
    def effective_lock_wait(self) -> float:
        """How long a waiter polls for the holder's value (``lock_wait`` or the lock TTL)."""
        return self.effective_lock_ttl if self.lock_wait is None else _f(self.lock_wait)

    def replace(self, **changes: Any) -> EntryOptions:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)
