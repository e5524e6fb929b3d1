"""Frequency sketches for TinyLFU: a 4-bit count-min sketch with periodic aging, and a doorkeeper.

TinyLFU (Einziger, Friedman & Manes, ACM ToS 2017) estimates how often each key
was requested recently.  :class:`FrequencySketch` keeps ``depth`` rows of
saturating counters (4 bits: at most 15) and answers the minimum over the rows.
After ``sample_size`` recorded accesses every counter is halved, so old
popularity fades (the paper's *reset*).  The optional doorkeeper is a Bloom
filter in front of the counters: a key's first access only sets its bits, so
one-hit wonders never reach the counters; it is cleared at every reset.

Keys are hashed with Python's ``hash`` (integers hash to themselves, so runs over
integer keys are reproducible; string hashes vary with ``PYTHONHASHSEED``).
"""

from __future__ import annotations

from collections.abc import Hashable

__all__ = ["BloomFilter", "FrequencySketch"]

_MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_MIX1 = 0xBF58476D1CE4E5B9
_MIX2 = 0x94D049BB133111EB
_HALVE = bytes(i >> 1 for i in range(256))


def _mix(x: int) -> int:
    """SplitMix64 finaliser: a well-spread 64-bit value from any integer."""
    x = (x + _GOLDEN) & _MASK64
    x = ((x ^ (x >> 30)) * _MIX1) & _MASK64
    x = ((x ^ (x >> 27)) * _MIX2) & _MASK64
    return x ^ (x >> 31)


def _pow2_at_least(n: int) -> int:
    size = 1
    while size < n:
        size <<= 1
    return size


class BloomFilter:
    """A Bloom filter of ``bits`` bits (a power of two) probed ``hashes`` times per key."""

    def __init__(self, bits: int, hashes: int = 4) -> None:
        if bits < 8 or hashes < 1:
            raise ValueError("a Bloom filter needs at least 8 bits and one hash function")
        self.bits = _pow2_at_least(bits)
        self.hashes = hashes
        self._mask = self.bits - 1
        self._array = bytearray(self.bits >> 3)

    @classmethod
    def for_items(cls, items: int, fpp: float = 0.01) -> BloomFilter:
        """A filter sized for ``items`` insertions at false-positive probability ``fpp``."""
        import math

        if items < 1 or not 0 < fpp < 1:
            raise ValueError("need items >= 1 and 0 < fpp < 1")
        bits = max(64, int(-items * math.log(fpp) / (math.log(2) ** 2)))
        hashes = max(1, round(bits / items * math.log(2)))
        return cls(bits, min(hashes, 16))

    def _probes(self, key: Hashable) -> list[int]:
        h = _mix(hash(key) & _MASK64)
        h1, h2 = h & 0xFFFFFFFF, (h >> 32) | 1
        mask = self._mask
        return [(h1 + i * h2) & mask for i in range(self.hashes)]

    def __contains__(self, key: Hashable) -> bool:
        array = self._array
        return all(array[p >> 3] & (1 << (p & 7)) for p in self._probes(key))

    def add(self, key: Hashable) -> bool:
        """Set ``key``'s bits; return whether it was (probably) present already."""
        array = self._array
        present = True
        for p in self._probes(key):
            byte, bit = p >> 3, 1 << (p & 7)
            if not array[byte] & bit:
                present = False
                array[byte] |= bit
        return present

    def clear(self) -> None:
        """Forget every key."""
        self._array = bytearray(len(self._array))


class FrequencySketch:
    """A count-min sketch of 4-bit counters with periodic halving (TinyLFU's reset).

    ``width`` counters per row (rounded up to a power of two), ``depth`` rows;
    after ``sample_size`` recorded accesses all counters are halved and the
    sample count is halved too.  ``doorkeeper=True`` puts a Bloom filter of
    ``width`` × 8 bits in front of the counters.
    """

    def __init__(
        self,
        width: int,
        *,
        depth: int = 4,
        sample_size: int | None = None,
        doorkeeper: bool = False,
    ) -> None:
        if width < 1 or not 1 <= depth <= 8:
            raise ValueError("need width >= 1 and 1 <= depth <= 8")
        self.width = _pow2_at_least(max(width, 16))
        self.depth = depth
        self.sample_size = sample_size if sample_size is not None else 10 * max(width, 16)
        if self.sample_size < 1:
            raise ValueError("sample_size must be >= 1")
        self._mask = self.width - 1
        self._bits = self.width.bit_length() - 1
        self._fast = depth == 4 and self._bits <= 16
        self._rows = [bytearray(self.width) for _ in range(depth)]
        self.doorkeeper = BloomFilter(8 * self.width) if doorkeeper else None
        self.additions = 0
        self.resets = 0

    def _indexes(self, key: Hashable) -> list[int]:
        """One counter per row: slices of one or two 64-bit mixes of the key's hash."""
        h = _mix(hash(key) & _MASK64)
        mask, bits = self._mask, self._bits
        if bits <= 16:
            return [(h >> (16 * i)) & mask for i in range(self.depth)]
        h2 = _mix(h)
        pool = (h & mask, (h >> 32) & mask, h2 & mask, (h2 >> 32) & mask)
        out = list(pool[: self.depth])
        while len(out) < self.depth:
            h2 = _mix(h2)
            out.append(h2 & mask)
        return out

    def frequency(self, key: Hashable) -> int:
        """Estimated recent access count of ``key`` (0-15, plus 1 if the doorkeeper knows it)."""
        rows = self._rows
        if self._fast:  # 4 rows of at most 2**16 counters: 16-bit slices of one mix
            x = (hash(key) + _GOLDEN) & _MASK64
            x = ((x ^ (x >> 30)) * _MIX1) & _MASK64
            x = ((x ^ (x >> 27)) * _MIX2) & _MASK64
            h = x ^ (x >> 31)
            m = self._mask
            r0, r1, r2, r3 = rows
            count = min(r0[h & m], r1[(h >> 16) & m], r2[(h >> 32) & m], r3[(h >> 48) & m])
        else:
            count = min([rows[i][j] for i, j in enumerate(self._indexes(key))])
        if self.doorkeeper is not None and key in self.doorkeeper:
            count += 1
        return count

    def record(self, key: Hashable) -> None:
        """Count one access of ``key``; halve everything after ``sample_size`` accesses."""
        if self.doorkeeper is None or self.doorkeeper.add(key):
            rows = self._rows
            if self._fast:
                x = (hash(key) + _GOLDEN) & _MASK64
                x = ((x ^ (x >> 30)) * _MIX1) & _MASK64
                x = ((x ^ (x >> 27)) * _MIX2) & _MASK64
                h = x ^ (x >> 31)
                m = self._mask
                r0, r1, r2, r3 = rows
                j = h & m
                if r0[j] < 15:
                    r0[j] += 1
                j = (h >> 16) & m
                if r1[j] < 15:
                    r1[j] += 1
                j = (h >> 32) & m
                if r2[j] < 15:
                    r2[j] += 1
                j = (h >> 48) & m
                if r3[j] < 15:
                    r3[j] += 1
            else:
                for i, j in enumerate(self._indexes(key)):
                    row = rows[i]
                    if row[j] < 15:
                        row[j] += 1
        self.additions += 1
        if self.additions >= self.sample_size:
            self.reset()

    def reset(self) -> None:
        """Age the sketch: halve every counter (and clear the doorkeeper)."""
        self._rows = [row.translate(_HALVE) for row in self._rows]
        if self.doorkeeper is not None:
            self.doorkeeper.clear()
        self.additions //= 2
        self.resets += 1
