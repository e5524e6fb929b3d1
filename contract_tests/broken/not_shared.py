"""Broken: declares SHARED_BACKEND, but every instance has its own store."""

from __future__ import annotations

from typing import Any

from cachesim.clock import Clock
from cachesim.providers import Capability
from contract_tests.broken.reference import DictProvider


class NotShared(DictProvider):
    """Claims two instances see each other's writes; they do not."""

    capabilities: frozenset[Capability] = DictProvider.capabilities | {Capability.SHARED_BACKEND}


def factory(clock: Clock | None = None) -> Any:
    """The contract factory (a fresh, private store every call)."""
    return NotShared(clock)
