"""The versioned envelope of entries written with :class:`~cachesim.options.EntryOptions`.

Entries written without options are stored exactly as before (codec text: JSON,
``b64:...`` or ``j:...``), so reading them costs nothing extra.  An entry written with
options (or tags) is stored as::

    e1:[written, fresh_until, keep_until, compute, [tags...], retry_after]\\n<codec text>

``e`` can never start JSON text nor either codec tag, so one look at the first
character tells the forms apart.  The header is a JSON array on one line (JSON
escapes newlines), the value follows the first newline unchanged.  Times are
seconds on the cache's wall clock (Unix time, or the injected clock):

- ``written``: when the value was produced (tag invalidations after it hide it);
- ``fresh_until``: logical expiry (null: never);
- ``keep_until``: physical expiry, ``fresh_until + max(grace, fail_safe)``; readers
  enforce it even where the backend's own TTL is coarse (memcached);
- ``compute``: the factory's measured recompute time (XFetch's delta);
- ``tags``: the entry's tags;
- ``retry_after``: set on a value re-served by fail-safe: the factory is not tried
  again before this time (the throttle).

A reader that meets an unknown version (``e2:``...) treats the entry as a miss.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import orjson

__all__ = ["ENVELOPE_PREFIX", "ENVELOPE_TAG", "Envelope", "decode_envelope", "encode_envelope"]

#: First character of every envelope (of any version).
ENVELOPE_TAG: Final = "e"
#: Prefix of version 1 envelopes.
ENVELOPE_PREFIX: Final = "e1:"

_dumps = orjson.dumps
_loads = orjson.loads


@dataclass(frozen=True, slots=True)
class Envelope:
    """A stored value with its freshness metadata (see the module docstring)."""

    text: str
    written: float
    fresh_until: float | None
    keep_until: float | None
    compute: float = 0.0
    tags: tuple[str, ...] = ()
    retry_after: float | None = None

    def is_fresh(self, now: float) -> bool:
        """Logically fresh at ``now`` (before ``fresh_until``)."""
        return self.fresh_until is None or now < self.fresh_until

    def is_kept(self, now: float) -> bool:
        """Still physically present at ``now`` (before ``keep_until``)."""
        return self.keep_until is None or now < self.keep_until

    def stale_for(self, now: float) -> float:
        """Seconds past logical expiry at ``now`` (0 while fresh)."""
        if self.fresh_until is None:
            return 0.0
        return max(0.0, now - self.fresh_until)


def encode_envelope(envelope: Envelope) -> str:
    """The stored text of ``envelope``."""
    header = _dumps(
        [
            envelope.written,
            envelope.fresh_until,
            envelope.keep_until,
            envelope.compute,
            list(envelope.tags),
            envelope.retry_after,
        ]
    ).decode("ascii")
    return f"{ENVELOPE_PREFIX}{header}\n{envelope.text}"


def decode_envelope(stored: str) -> Envelope | None:
    """Parse stored text that starts with ``e``; None for an unknown version or damage."""
    if not stored.startswith(ENVELOPE_PREFIX):
        return None
    cut = stored.find("\n", 3)
    if cut < 0:
        return None
    try:
        written, fresh, keep, compute, tags, retry = _loads(stored[3:cut])
        return Envelope(
            stored[cut + 1 :],
            float(written),
            None if fresh is None else float(fresh),
            None if keep is None else float(keep),
            float(compute),
            tuple(str(t) for t in tags),
            None if retry is None else float(retry),
        )
    except (ValueError, TypeError):  # orjson.JSONDecodeError is a ValueError
        return None
