"""Broken (NS-5): clear() deletes by LIKE 'namespace:%' without escaping _ and %."""

from __future__ import annotations

from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.sql_reference import SQLProvider


class Ns5SqlLikeUnescaped(SQLProvider):
    """Clear() deletes by LIKE 'namespace:%' without escaping _ and %."""

    async def clear(self, namespace: str) -> int:
        """LIKE without ESCAPE: _ and % in the namespace are wildcards."""
        like = namespace + ":%"
        now = self.clock.now()
        live = self.db.execute(
            f"SELECT COUNT(*) FROM cache WHERE key LIKE ? AND {self.LIVE}", (like, now)
        ).fetchone()[0]
        self.db.execute("DELETE FROM cache WHERE key LIKE ?", (like,))
        return int(live)


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return Ns5SqlLikeUnescaped(clock)
