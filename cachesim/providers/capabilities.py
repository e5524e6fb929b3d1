"""The named capabilities a provider can declare.

The contract suite runs a test only when the provider declares every capability the
test needs; the rest are skipped with the reason.  Names are stable: adding one is a
minor version of the vocabulary, renaming one is a major version.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["CAPABILITY_VOCABULARY_VERSION", "Capability"]

CAPABILITY_VOCABULARY_VERSION = "1.2"


class Capability(StrEnum):
    """What a provider can do beyond the mandatory core (get/set/delete/has)."""

    TTL = "ttl"
    """Entries expire after their TTL and are then invisible to every operation.

    Contract clauses TTL-1..3, TTL-5, TTL-7..9. Without it the provider may ignore TTLs.
    """

    TTL_SUBSECOND = "ttl_subsecond"
    """TTLs below one second are honoured with millisecond resolution (TTL-6)."""

    CLOCK_INJECTABLE = "clock_injectable"
    """The provider reads time from an injected Clock, so tests advance time instead of sleeping.

    The contract suite passes a ``ManualClock`` as the factory's ``clock`` keyword (or sets
    the provider's ``clock`` attribute); without it the time tests sleep in real time.
    """

    PATTERN_INVALIDATION = "pattern_invalidation"
    """Keys can be found and removed by Redis glob pattern (SCAN-style, any number of keys).

    Contract clauses PAT-1..5.
    """

    COUNT_KEYS = "count_keys"
    """The provider can count the live keys of a namespace (``CacheStats.keys``, STAT-4)."""

    EVICTION = "eviction"
    """Capacity is bounded and a replacement policy evicts entries when full.

    The contract suite bounds the provider through the factory's ``max_entries`` keyword
    (EVI-1, EVI-2).
    """

    SHARED_BACKEND = "shared_backend"
    """Two provider instances built from the same spec see each other's writes (SHARE-1, 2)."""

    COMMAND_ACCOUNTING = "command_accounting"
    """The provider counts the backend commands it sends (``get_stats()['commands']``, STAT-6)."""

    PERSISTENT = "persistent"
    """Entries survive the provider's ``disconnect()`` and ``initialize()`` (ISO-2).

    The backend keeps the data, not the provider object: a reconnected instance, and a
    new instance from the same factory when ``SHARED_BACKEND`` is declared too, read the
    entries written before with their values and TTLs.
    """

    NETWORK = "network"
    """Operations cross a process boundary, so they can fail or time out.

    Informational: no contract test depends on it. The cache absorbs such failures the
    same way for every provider (FAIL-1..8).
    """

    ATOMIC_SET_IF_ABSENT = "atomic_set_if_absent"
    """``set_if_absent(key, value, ttl)`` stores only when no live entry exists, atomically
    across every client of the backend (``SET NX PX``, memcached ``add``, one SQL statement).

    With COMPARE_AND_DELETE it makes the distributed stampede lock (LOCK-1..4).
    """

    COMPARE_AND_DELETE = "compare_and_delete"
    """``delete_if_equals(key, value)`` removes the entry only while it still holds ``value``,
    atomically (a Lua script on Redis and Upstash, ``gets`` + ``cas`` on memcached) (LOCK-2).
    """

    ATOMIC_BULK = "atomic_bulk"
    """``set_many`` and ``delete_many`` are all or nothing to concurrent callers of the
    provider: no other operation sees, or leaves behind, some of a bulk write's keys
    without the others, as with Redis ``MSET`` (CONC-6).

    Declared by providers that apply a batch in one step (``MemoryProvider`` without an
    await, ``SQLiteProvider`` in one call on its one connection; ``TieredProvider``
    inherits it from its L2). Non-transactional pipelines (Redis, Upstash) and
    memcached, which has no multi-key write, do not.
    """
