"""MODEL: random operation sequences checked against the reference model.

A Hypothesis state machine drives one cache with set / get / has / delete / bulk
operations / clear / invalidate_pattern / get_or_set and, on an injected clock,
time advances, and compares every answer (and the hit/miss counters) with
:class:`cachesim.contract.model.CacheModel`. A failure shrinks to a short program
printed step by step, each step noting what the cache and the model answered.
Examples: ``--contract-examples N`` (default 30 in-process, 8 for remote providers).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, Phase, note, seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from cachesim.contract.context import Harness
from cachesim.contract.data import strict_equal
from cachesim.contract.helpers import CountingFactory
from cachesim.contract.markers import clause
from cachesim.contract.model import CacheModel
from cachesim.providers.capabilities import Capability

T = TypeVar("T")

# Half the draws come from four hot keys, so sequences revisit a key often; the rest
# carry every character that breaks naive matching, quoting or normalisation.
KEYS = st.sampled_from(["a", "b", "a:b", "a*"]) | st.sampled_from(
    ["ab", "B", "é", "e\u0301", "a b", "[a]", "a\nb", "a\tb", "a\\b", "a_b", "a%b", "a?", "ä:*"]
)
PATTERNS = st.sampled_from(
    [
        "*",
        "a*",
        "a?",
        "a\\*",
        "[ab]*",
        "a:*",
        "?",
        "[^a]*",
        "*b",
        "\\[a\\]",
        "a?b",
        "a_b",
        "a%b",
        "a[\\\\]b",
        "*\n*",
        "[^b]",
        "a[%_]b",
        "[a-b]*",
        "*\\?",
    ]
)
# Bulk writes of many keys at once (non-round counts), drawn rarely.
BULK_SIZES = st.sampled_from([0, 1, 3, 7, 130, 1001])
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=6,
) | st.binary(max_size=8)
_MISS = object()

# TTLs (and a default) that never land on the 0.5 s grid of the clock advances, so no
# step ever reads exactly at an expiry instant.
_DAY = 86400.0
_CLOCKED_TTLS = [None, 1.1, 2.3, 5.7, 90 * _DAY + 0.3, 365 * _DAY, math.inf]
_CLOCKED_DEFAULT = 4.1


def _machine(harness: Harness) -> type[RuleBasedStateMachine]:
    caps = harness.info.capabilities
    clocked = harness.info.clock_injectable and Capability.TTL in caps
    ttls = st.sampled_from(_CLOCKED_TTLS if clocked else [None, math.inf])
    default_ttl = _CLOCKED_DEFAULT if clocked else math.inf

    class CacheMachine(RuleBasedStateMachine):
        """One cache namespace against the model."""

        def __init__(self) -> None:
            super().__init__()
            self.runner = asyncio.Runner()
            self.ctx = harness.start_context(self.runner)
            self.cache = self.ctx.make_cache(default_ttl=default_ttl)
            self.model = CacheModel(default_ttl=default_ttl, now=self.ctx.now())

        def teardown(self) -> None:
            try:
                self.run(self.ctx.close())
            finally:
                self.runner.close()

        def run(self, coro: Coroutine[Any, Any, T]) -> T:
            result = self.runner.run(coro)
            # a provider exception the cache absorbed is the cause of any mismatch
            self.ctx.check_provider_failures()
            return result

        @rule(key=KEYS, value=VALUES, ttl=ttls)
        def set(self, key: str, value: Any, ttl: float | None) -> None:
            got = self.run(self.cache.set(key, value, ttl=ttl))
            self.model.set(key, value, ttl)
            assert got is True

        @rule(key=KEYS)
        def get(self, key: str) -> None:
            got = self.run(self.cache.get(key, _MISS))
            want = self.model.get(key, _MISS)
            note(f"get({key!r}) -> {_show(got)}; model says {_show(want)}")
            assert strict_equal(got, want)

        @rule(key=KEYS)
        def has(self, key: str) -> None:
            got = self.run(self.cache.has(key))
            note(f"has({key!r}) -> {got}; model says {self.model.has(key)}")
            assert got is self.model.has(key)

        @rule(key=KEYS)
        def delete(self, key: str) -> None:
            got = self.run(self.cache.delete(key))
            want = self.model.delete(key)
            note(f"delete({key!r}) -> {got}; model says {want}")
            assert got is want

        @rule(keys=st.lists(KEYS, max_size=4))
        def get_many(self, keys: list[str]) -> None:
            got = self.run(self.cache.get_many(keys))
            want = self.model.get_many(keys)
            note(f"get_many({keys!r}) -> {_show(got)}; model says {_show(want)}")
            assert strict_equal(dict(sorted(got.items())), dict(sorted(want.items())))

        @rule(items=st.dictionaries(KEYS, VALUES, max_size=3), ttl=ttls)
        def set_many(self, items: dict[str, Any], ttl: float | None) -> None:
            assert self.run(self.cache.set_many(items, ttl=ttl)) is True
            self.model.set_many(items, ttl)

        @rule(size=BULK_SIZES, ttl=ttls, value=SCALARS)
        def set_many_large(self, size: int, ttl: float | None, value: Any) -> None:
            items = {f"bulk:{i}": value for i in range(size)}
            note(f"set_many({size} keys bulk:0..bulk:{size - 1}, ttl={ttl})")
            assert self.run(self.cache.set_many(items, ttl=ttl)) is True
            self.model.set_many(items, ttl)

        @rule(size=BULK_SIZES)
        def get_many_large(self, size: int) -> None:
            keys = [f"bulk:{i}" for i in range(size)] + ["a", "missing"]
            got = self.run(self.cache.get_many(keys))
            want = self.model.get_many(keys)
            note(
                f"get_many(bulk:0..bulk:{size - 1}, a, missing) -> {len(got)} hits; model "
                f"says {len(want)}"
            )
            assert strict_equal(dict(sorted(got.items())), dict(sorted(want.items()))), (
                f"MODEL-1: get_many of {len(keys)} keys: expected {len(want)} hits, observed "
                f"{len(got)}; differing keys: {sorted(set(got) ^ set(want))[:5]}"
            )

        @rule(size=BULK_SIZES)
        def delete_many_large(self, size: int) -> None:
            keys = [f"bulk:{i}" for i in range(size)]
            got = self.run(self.cache.delete_many(keys))
            want = self.model.delete_many(keys)
            note(f"delete_many(bulk:0..bulk:{size - 1}) -> {got}; model says {want}")
            assert got == want

        @rule(keys=st.lists(KEYS, max_size=4))
        def delete_many(self, keys: list[str]) -> None:
            got = self.run(self.cache.delete_many(keys))
            want = self.model.delete_many(keys)
            note(f"delete_many({keys!r}) -> {got}; model says {want}")
            assert got == want

        @rule()
        def clear(self) -> None:
            got = self.run(self.cache.clear())
            want = self.model.clear()
            note(f"clear() -> {got}; model says {want}")
            assert got == want

        @precondition(lambda self: Capability.PATTERN_INVALIDATION in caps)
        @rule(pattern=PATTERNS)
        def invalidate_pattern(self, pattern: str) -> None:
            got = self.run(self.cache.invalidate_pattern(pattern))
            want = self.model.invalidate_pattern(pattern)
            note(f"invalidate_pattern({pattern!r}) -> {got}; model says {want}")
            assert got == want

        @rule(key=KEYS, value=VALUES, ttl=ttls)
        def get_or_set(self, key: str, value: Any, ttl: float | None) -> None:
            factory = CountingFactory(value)
            got = self.run(self.cache.get_or_set(key, factory, ttl=ttl))
            want, called = self.model.get_or_set(key, value, ttl)
            note(
                f"get_or_set({key!r}) -> {_show(got)} (factory called {factory.calls}x); "
                f"model says {_show(want)} (factory called: {called})"
            )
            assert strict_equal(got, want)
            assert factory.calls == int(called)

        @precondition(lambda self: clocked)
        @rule(seconds=st.sampled_from([0.5, 1.0, 2.5, 0.5, 1.0, 2.5, 89.5 * _DAY, 300 * _DAY]))
        def advance_time(self, seconds: float) -> None:
            assert self.ctx.clock is not None
            self.ctx.clock.advance(seconds)
            self.model.advance(seconds)
            note(f"time +{seconds} s; live in the model: {sorted(self.model.live_keys())}")

        @precondition(lambda self: Capability.COUNT_KEYS in caps)
        @rule()
        def count(self) -> None:
            got = self.run(self.cache.get_stats()).keys
            want = len(self.model.live_keys())
            note(f"stats.keys -> {got}; model says {want}")
            assert got == want

        @invariant()
        def counters_agree(self) -> None:
            cache, model = self.cache, self.model
            assert (cache.hits, cache.misses) == (model.hits, model.misses), (
                f"hits/misses {cache.hits}/{cache.misses}, model {model.hits}/{model.misses}"
            )

        @invariant()
        def provider_never_raised(self) -> None:
            self.ctx.check_provider_failures()

    return CacheMachine


def _show(value: Any) -> str:
    return "MISS" if value is _MISS else repr(value)[:80]


@clause("MODEL-1")
@pytest.mark.stateful
def test_random_operations_agree_with_the_model(contract_harness: Harness) -> None:
    harness = contract_harness
    options = harness.options
    in_process = harness.info.in_process
    phases = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target]
    if options.shrink:
        phases.append(Phase.shrink)
    machine = seed(options.seed)(_machine(harness))
    try:
        run_state_machine_as_test(  # type: ignore[no-untyped-call,unused-ignore]
            machine,
            settings=settings(
                max_examples=options.model_examples(in_process),
                stateful_step_count=options.model_steps(in_process),
                deadline=None,
                suppress_health_check=list(HealthCheck),
                # no example database: nothing is written to the working directory and
                # a run never depends on an earlier one; the seed reproduces a failure
                database=None,
                derandomize=False,
                phases=phases,
                print_blob=False,
            ),
        )
    except BaseException as exc:
        exc.add_note(f"MODEL-1 reproduce with: --contract-seed {options.seed} -m stateful")
        raise
