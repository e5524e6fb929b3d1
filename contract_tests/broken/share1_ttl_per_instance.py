"""Broken (SHARE-1): instances share values, but each keeps its own expiry map."""

from __future__ import annotations

from typing import Any

from cachesim.clock import Clock
from cachesim.providers import Capability
from contract_tests.broken.reference import DictProvider


class _SharedView(dict):  # type: ignore[type-arg]
    """A dict whose values are shared but whose expiries are per instance."""

    def __init__(self, values: dict[str, str], expiry: dict[str, float | None]) -> None:
        super().__init__()
        self.values, self.expiry = values, expiry

    def get(self, key: str, default: object = None) -> object:  # type: ignore[override]
        if key not in self.values:
            return default
        return (self.values[key], self.expiry.get(key))

    def __getitem__(self, key: str) -> object:
        return (self.values[key], self.expiry.get(key))

    def __setitem__(self, key: str, item: object) -> None:
        value, expires = item  # type: ignore[misc]
        self.values[key] = value
        self.expiry[key] = expires

    def __delitem__(self, key: str) -> None:
        del self.values[key]
        self.expiry.pop(key, None)

    def pop(self, key: str, default: object = None) -> object:  # type: ignore[override]
        if key not in self.values:
            return default
        item = self[key]
        del self[key]
        return item

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(list(self.values))

    def __contains__(self, key: object) -> bool:
        return key in self.values

    def __len__(self) -> int:
        return len(self.values)


class Share1TtlPerInstance(DictProvider):
    """Instances share values, but each keeps its own expiry map."""

    capabilities = DictProvider.capabilities | {Capability.SHARED_BACKEND}
    values: dict[str, str] = {}  # noqa: RUF012 - the bug

    def __init__(self, clock: Clock | None = None) -> None:
        super().__init__(clock)
        self.expiry: dict[str, float | None] = {}
        self.data = _SharedView(self.values, self.expiry)


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return Share1TtlPerInstance(clock)
