"""W-TinyLFU (Einziger, Friedman & Manes, ACM ToS 2017), as in Caffeine's simulator.

New entries go to a small LRU *window* (``window`` = 1 % of the capacity).
The window's least recently used entries move to the *probation* segment of
the main cache, a segmented LRU whose *protected* segment holds
``protected`` = 80 % of it: a hit in probation moves the entry to protected,
and protected's overflow goes back to probation.  When room is needed, the
entry leaving the window (the *candidate*) competes with probation's least
recently used entry (the *victim*): TinyLFU admits the candidate only if its
estimated frequency is higher, and the loser is evicted.  Frequencies come
from a 4-bit count-min sketch (4 rows of 4 × capacity counters) that sees
every request and halves itself every 10 × capacity requests
(:class:`~cachesim.policies.sketch.FrequencySketch`); ``doorkeeper=True`` adds
a Bloom filter that absorbs first requests.

``adaptive=True`` sizes the window by hill climbing, as Caffeine does: every
sample of 10 × capacity requests it compares the hit ratio with the previous
sample and moves the window by a step (6.25 % of the capacity at first) in
the direction that helped; the step shrinks by 2 % each sample and is reset
when the hit ratio moves by 5 points or more.  With sizes, the capacities are
in bytes; the sketch is sized for the number of entries the cache holds when
it first fills (the capacity in entries), or for ``expected_entries``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import TypeVar

from cachesim.policies._store import PolicyStore
from cachesim.policies.base import MISSING
from cachesim.policies.sketch import FrequencySketch

__all__ = ["WTinyLFUStore"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

WINDOW, PROBATION, PROTECTED = 0, 1, 2

STEP_PERCENT = 0.0625
STEP_DECAY = 0.98
RESTART_THRESHOLD = 0.05


class WTinyLFUStore(PolicyStore[K, V]):
    """Window TinyLFU: LRU window, segmented-LRU main cache, TinyLFU admission between them."""

    name = "wtinylfu"

    def __init__(
        self,
        capacity: int | None = None,
        *,
        window: float = 0.01,
        protected: float = 0.8,
        doorkeeper: bool = False,
        adaptive: bool = False,
        expected_entries: int | None = None,
        sample_size: int | None = None,
    ) -> None:
        super().__init__(capacity)
        if not 0 <= window < 1 or not 0 <= protected < 1:
            raise ValueError("need 0 <= window < 1 and 0 <= protected < 1")
        if expected_entries is not None and expected_entries < 1:
            raise ValueError(f"expected_entries must be >= 1, got {expected_entries!r}")
        self.protected_share = protected
        self.adaptive = adaptive
        cap = capacity if capacity is not None else 1 << 62
        self._total = cap
        self._set_window(cap - int(cap * (1 - window)))
        # until the cache first fills, the sketch is sized for the capacity (at most
        # 65,536 entries); then for the entries it holds (the capacity in entries
        # when sizes are 1), unless expected_entries fixes it
        self._sample_size = sample_size
        self._doorkeeper = doorkeeper
        self._sized = expected_entries is not None or capacity is None
        self._new_sketch(expected_entries or min(capacity or 1024, 1 << 16))
        self._segments: tuple[OrderedDict[K, None], ...] = (
            OrderedDict(),
            OrderedDict(),
            OrderedDict(),
        )
        self._bytes = [0, 0, 0]
        self._where: dict[K, int] = {}
        self._candidates: list[K] = []
        self._last_read: object = MISSING
        # hill climber
        self._step = -STEP_PERCENT * cap
        self._previous_rate = 0.0
        self._sample_hits = 0
        self._sample_requests = 0
        self.window_history: list[int] = []

    def _new_sketch(self, entries: int) -> None:
        entries = max(1, min(entries, 1 << 22))
        self.sketch_entries = entries
        # 16 counters per entry (4 rows of 4 x entries), as Caffeine's sketch has
        self.sketch = FrequencySketch(
            4 * entries,
            sample_size=self._sample_size or 10 * entries,
            doorkeeper=self._doorkeeper,
        )

    def _set_window(self, window_capacity: int) -> None:
        window_capacity = max(0, min(window_capacity, self._total))
        self.window_capacity = window_capacity
        self.main_capacity = self._total - window_capacity
        self.protected_capacity = int(self.main_capacity * self.protected_share)

    # -- requests -----------------------------------------------------------------
    def get(self, key: K, now: float) -> V:
        """Look ``key`` up; every read is counted by the frequency sketch."""
        self.sketch.record(key)
        value = super().get(key, now)
        self._last_read = key if value is MISSING else MISSING  # the fill that may follow
        if self.adaptive:
            self._sample_requests += 1
            if value is not MISSING:
                self._sample_hits += 1
            if self._sample_requests >= self.sketch.sample_size:
                self._climb()
        return value

    def put(self, key: K, value: V, expires_at: float | None, now: float, size: int = 1) -> bool:
        """Store ``key``; a write that does not fill the preceding read miss is counted too."""
        if self._last_read != key:
            self.sketch.record(key)
        self._last_read = MISSING
        return super().put(key, value, expires_at, now, size)

    # -- segments -----------------------------------------------------------------
    def _move(self, key: K, to: int) -> None:
        size = self._size(key)
        src = self._where[key]
        del self._segments[src][key]
        self._bytes[src] -= size
        self._segments[to][key] = None
        self._bytes[to] += size
        self._where[key] = to

    def _trim_protected(self) -> None:
        protected = self._segments[PROTECTED]
        while protected and self._bytes[PROTECTED] > self.protected_capacity:
            self._move(next(iter(protected)), PROBATION)

    def _on_hit(self, key: K) -> None:
        where = self._where[key]
        if where == PROBATION:
            self._move(key, PROTECTED)
            self._trim_protected()
        else:
            self._segments[where].move_to_end(key)

    def _admit(self, key: K, size: int) -> bool:
        """Move the window's overflow to probation; those entries become the candidates."""
        window = self._segments[WINDOW]
        candidates = self._candidates = []
        while window and self._bytes[WINDOW] + size > self.window_capacity:
            candidate = next(iter(window))
            self._move(candidate, PROBATION)
            candidates.append(candidate)
        return True

    def _victim(self, size: int) -> K:
        """The loser of the oldest candidate against probation's least recently used entry."""
        if not self._sized:  # the cache is full for the first time: size the sketch
            self._sized = True
            if len(self) != self.sketch_entries:
                self._new_sketch(len(self))
        victim = self.peek_victim()
        candidates = self._candidates
        if candidates and victim != candidates[0]:
            frequency = self.sketch.frequency
            if frequency(candidates[0]) <= frequency(victim):
                return candidates[0]
        return victim

    def _on_insert(self, key: K, size: int) -> bool:
        self._segments[WINDOW][key] = None
        self._bytes[WINDOW] += size
        self._where[key] = WINDOW
        self._candidates = []
        return True

    def _on_remove(self, key: K) -> None:
        where = self._where.pop(key)
        del self._segments[where][key]
        self._bytes[where] -= self._size(key)
        if key in self._candidates:
            self._candidates.remove(key)

    def peek_victim(self) -> K:
        for seg in (PROBATION, PROTECTED, WINDOW):
            if self._segments[seg]:
                return next(iter(self._segments[seg]))
        return MISSING  # type: ignore[no-any-return]

    # -- hill climbing --------------------------------------------------------------
    def _climb(self) -> None:
        rate = self._sample_hits / self._sample_requests
        change = rate - self._previous_rate
        amount = self._step if change >= 0 else -self._step
        if abs(change) >= RESTART_THRESHOLD:
            self._step = STEP_PERCENT * self._total * (1 if amount >= 0 else -1)
        else:
            self._step = STEP_DECAY * amount
        self._previous_rate = rate
        self._sample_hits = self._sample_requests = 0
        self._resize_window(int(amount))

    def _resize_window(self, delta: int) -> None:
        """Grow (delta > 0) or shrink the window, moving entries across the boundary."""
        if delta == 0:
            return
        self._set_window(self.window_capacity + delta)
        segments = self._segments
        if delta > 0:  # take the main cache's least recently used entries into the window
            for seg in (PROBATION, PROTECTED):
                while segments[seg] and self._bytes[WINDOW] < self.window_capacity:
                    key = next(iter(segments[seg]))
                    if self._bytes[WINDOW] + self._size(key) > self.window_capacity:
                        break
                    self._move(key, WINDOW)
                    segments[WINDOW].move_to_end(key, last=False)
        else:
            while segments[WINDOW] and self._bytes[WINDOW] > self.window_capacity:
                self._move(next(iter(segments[WINDOW])), PROBATION)
        self._trim_protected()
        self.window_history.append(self.window_capacity)
