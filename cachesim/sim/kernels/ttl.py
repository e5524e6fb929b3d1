"""TTL-only kernel: the mirror of :class:`cachesim.policies.TTLStore` (unbounded, no policy)."""

from __future__ import annotations

STATE = ()
