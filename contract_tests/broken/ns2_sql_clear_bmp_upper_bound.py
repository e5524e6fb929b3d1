"""Broken (NS-2): clear() deletes the key range [prefix, prefix + U+FFFF), missing astral keys."""

from __future__ import annotations

from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.sql_reference import SQLProvider


class Ns2SqlClearBmpUpperBound(SQLProvider):
    """clear() bounds the key range with U+FFFF: keys starting with U+1F600 survive it."""

    async def clear(self, namespace: str) -> int:
        """Delete the namespace's rows by a key range; how many live rows there were."""
        prefix = namespace + ":"
        bounds = (prefix, prefix + "\uffff")
        live = self.db.execute(
            f"SELECT COUNT(*) FROM cache WHERE key >= ? AND key < ? AND {self.LIVE}",
            (*bounds, self.clock.now()),
        ).fetchone()[0]
        self.db.execute("DELETE FROM cache WHERE key >= ? AND key < ?", bounds)
        return int(live)


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return Ns2SqlClearBmpUpperBound(clock)
