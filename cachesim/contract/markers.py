"""Decorators that tie a contract test to its clauses and capabilities.

``@clause("TTL-5")`` records which rules of ``CONTRACT.md`` a test checks and lets
the test be a coroutine function: it runs on a fresh event loop owned by the suite
(never pytest-asyncio's, whatever mode the host project configures), with the
provider, cache and context built on that loop. ``@requires(Capability.TTL)``
skips the test for providers that do not declare the capability.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from cachesim.contract.clauses import clauses
from cachesim.providers.capabilities import Capability

if TYPE_CHECKING:
    from cachesim.contract.context import Harness

__all__ = [
    "CLAUSE_MARK",
    "CONTEXT_PARAMS",
    "HARNESS_FIXTURE",
    "REQUIRES_MARK",
    "clause",
    "expensive",
    "realtime",
    "requires",
]

F = TypeVar("F", bound=Callable[..., Any])

CLAUSE_MARK = "contract_clause"
REQUIRES_MARK = "contract_requires"
HARNESS_FIXTURE = "contract_harness"

#: Parameters a contract coroutine may ask for; the suite builds them per test.
CONTEXT_PARAMS = ("cache", "ctx", "provider")

#: Marks a test that sleeps unless the provider takes an injected clock.
realtime = pytest.mark.realtime
#: Marks a test that is costly on a metered backend (left out of the smoke profile).
expensive = pytest.mark.expensive


def clause(*clause_ids: str) -> Callable[[F], F]:
    """Cite the ``CONTRACT.md`` clauses a test checks (and run it if it is async)."""
    known = clauses()
    unknown = [c for c in clause_ids if c not in known]
    if not clause_ids or unknown:
        raise ValueError(f"unknown contract clause(s) {unknown or '(none given)'}")
    mark = getattr(pytest.mark, CLAUSE_MARK)(*clause_ids)

    def decorate(fn: F) -> F:
        if inspect.iscoroutinefunction(fn):
            fn = _bridge(fn)
        return mark(fn)  # type: ignore[no-any-return]

    return decorate


def requires(*capabilities: Capability | str) -> pytest.MarkDecorator:
    """Run the test only for providers that declare every one of ``capabilities``."""
    names = []
    for cap in capabilities:
        try:
            names.append(Capability(cap).name)
        except ValueError:
            raise ValueError(f"unknown capability {cap!r}") from None
    mark: pytest.MarkDecorator = getattr(pytest.mark, REQUIRES_MARK)(*names)
    return mark


def _bridge(fn: Callable[..., Any]) -> Any:
    """A sync test function that runs coroutine ``fn`` on the suite's own loop."""
    sig = inspect.signature(fn)
    wants = [name for name in sig.parameters if name in CONTEXT_PARAMS]
    passthrough = [p for name, p in sig.parameters.items() if name not in CONTEXT_PARAMS]

    @functools.wraps(fn)
    def run(**kwargs: Any) -> None:
        harness: Harness = kwargs.pop(HARNESS_FIXTURE)
        harness.run_test(fn, wants, kwargs)

    harness_param = inspect.Parameter(HARNESS_FIXTURE, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    run.__signature__ = sig.replace(  # type: ignore[attr-defined]
        parameters=[harness_param, *passthrough], return_annotation=None
    )
    return run
