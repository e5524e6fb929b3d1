"""What a contract test runs with: the harness, the per-test context and provider proxies.

:class:`Harness` is the (sync) fixture object: it owns the run's settings and runs one
coroutine test on a fresh event loop. :class:`ContractContext` is what the test sees
as ``ctx``: the cache and provider under test, the time controls and helpers to
build more caches, more provider instances and failing backends.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import signal
import threading
import time
import traceback
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cachesim.cache import Cache
from cachesim.clock import ManualClock
from cachesim.contract.factory import ProviderFactory, ProviderInfo
from cachesim.providers.base import Provider
from cachesim.providers.capabilities import Capability
from cachesim.providers.proxy import ProviderProxy

__all__ = [
    "ContractContext",
    "FaultyProvider",
    "Harness",
    "ProviderProxy",
    "RunOptions",
    "SpyProvider",
]

logger = logging.getLogger("cachesim.contract")


_START = 1_000_000.0


@dataclass(frozen=True)
class ProviderFailure:
    """An exception a provider method raised during a test."""

    op: str
    args: str
    error: str
    trace: str
    exception: BaseException | None = None


class SpyProvider(ProviderProxy):
    """Records every exception the provider raises (``Cache`` would hide it as a miss)."""

    def __init__(self, inner: Provider) -> None:
        super().__init__(inner)
        self.failures: list[ProviderFailure] = []
        self.calls: Counter[str] = Counter()
        self.recording = True
        #: ``time.monotonic()`` when the latest write (set, set_many) returned.
        self.last_write_end: float | None = None

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if name == "get_now" and callable(attr):  # the cache's synchronous fast path
            return self._sync_spy(name, attr)
        return attr

    def _record(self, op: str, args: tuple[Any, ...], exc: Exception) -> None:
        if self.recording:
            shown = ", ".join(_short(a) for a in args)
            self.failures.append(
                ProviderFailure(
                    op, shown, f"{type(exc).__name__}: {exc}"[:300], traceback.format_exc(), exc
                )
            )

    def _sync_spy(self, op: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            self.calls[op] += 1
            try:
                return fn(*args)
            except Exception as exc:
                self._record(op, args, exc)
                raise

        return call

    async def _call(self, op: str, *args: Any) -> Any:
        self.calls[op] += 1
        try:
            return await getattr(self.inner, op)(*args)
        except Exception as exc:
            self._record(op, args, exc)
            raise
        finally:
            if op in _WRITES:
                self.last_write_end = time.monotonic()


_WRITES = frozenset({"set", "set_many"})


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class FaultyProvider(ProviderProxy):
    """A provider whose backend can be switched off: calls raise or hang.

    ``mode`` is ``"ok"`` (forward), ``"error"`` (raise ConnectionError) or ``"hang"``
    (never answer). It never claims to be in-process, so the cache's timeout applies.
    """

    def __init__(self, inner: Provider, mode: str = "error") -> None:
        super().__init__(inner)
        self.mode = mode
        self.attempts: Counter[str] = Counter()

    @property
    def in_process(self) -> bool:
        """Never: a faulty backend is remote by definition."""
        return False

    async def _call(self, op: str, *args: Any) -> Any:
        self.attempts[op] += 1
        if self.mode == "error":
            raise ConnectionError(f"backend unavailable (injected fault on {op})")
        if self.mode == "hang":
            await asyncio.Event().wait()
        return await getattr(self.inner, op)(*args)


@dataclass(frozen=True)
class RunOptions:
    """Settings of one contract run."""

    time_scale: float = 1.0
    op_timeout: float = 10.0
    test_timeout: float = 60.0
    examples: int | None = None
    run_id: str = "run"
    profile: str = "full"
    seed: int = 0

    @property
    def shrink(self) -> bool:
        """Whether Hypothesis shrinks a failure (not in the fail-fast ``quick`` profile)."""
        return self.profile != "quick"

    @property
    def scale(self) -> int:
        """Multiplier of the bulk sizes (``thorough``: 4)."""
        return 4 if self.profile == "thorough" else 1

    def model_examples(self, in_process: bool) -> int:
        """Examples of the model-based test for this profile."""
        if self.examples:
            return self.examples
        table = {"quick": (12, 4), "thorough": (400, 60)}
        local, remote = table.get(self.profile, (30, 8))
        return local if in_process else remote

    def model_steps(self, in_process: bool) -> int:
        """Steps per example of the model-based test."""
        if self.profile == "thorough":
            return 60 if in_process else 40
        return 30 if in_process else 20


class Harness:
    """The ``contract_harness`` fixture: runs one contract coroutine on a fresh loop."""

    _sequence = itertools.count(1)

    def __init__(
        self, factory: ProviderFactory, info: ProviderInfo, options: RunOptions, test_name: str
    ) -> None:
        self.factory = factory
        self.info = info
        self.options = options
        self.test_name = test_name

    def namespace(self) -> str:
        """A namespace no other test of any run uses."""
        return f"ct-{self.options.run_id}-{next(self._sequence)}"

    def run_test(
        self, fn: Callable[..., Awaitable[None]], wants: Sequence[str], kwargs: dict[str, Any]
    ) -> None:
        """Build the context, await ``fn`` with what it asked for, then tear down."""

        async def main() -> None:
            ctx = ContractContext(self)
            try:
                await ctx.start()
                provided = {"ctx": ctx, "cache": ctx.cache, "provider": ctx.provider}
                try:
                    async with asyncio.timeout(self.options.test_timeout):
                        await fn(**{name: provided[name] for name in wants}, **kwargs)
                except Exception as exc:
                    # A provider exception the cache absorbed is the real cause of
                    # whatever the test then saw (a miss, a wrong count...).
                    ctx.check_provider_failures(seen=exc)
                    raise
                ctx.check_provider_failures()
            finally:
                await ctx.close()

        with _watchdog(self.options.test_timeout + 15), asyncio.Runner() as runner:
            runner.run(main())

    def start_context(self, runner: asyncio.Runner) -> ContractContext:
        """A started context on ``runner``'s loop (for the model-based tests)."""
        ctx = ContractContext(self)
        runner.run(ctx.start())
        return ctx


class ContractContext:
    """The ``ctx`` of a contract test: the cache under test and everything around it.

    ``cache`` is a :class:`~cachesim.Cache` over ``provider`` (a spy around the
    provider the factory built) in a namespace unique to the test. Time moves with
    :meth:`advance`: on the injected clock when the provider declares
    ``CLOCK_INJECTABLE``, else by sleeping (scaled by ``--contract-time-scale``).
    """

    def __init__(self, harness: Harness) -> None:
        self.harness = harness
        self.info = harness.info
        self.options = harness.options
        self.namespace = harness.namespace()
        self.clock: ManualClock | None = (
            ManualClock(_START) if harness.info.clock_injectable else None
        )
        self.realtime = self.clock is None
        self.allow_provider_failures = False
        self._stack = contextlib.AsyncExitStack()
        self._spies: list[SpyProvider] = []
        self._caches: list[Cache] = []
        self._faulty: list[FaultyProvider] = []
        self.cache: Cache
        self.provider: SpyProvider

    # -- set-up and tear-down -------------------------------------------------------
    async def start(self) -> None:
        """Open the main provider and build the main cache."""
        await self._stack.__aenter__()
        self.provider = await self.open_provider()
        self.cache = self.make_cache()

    async def close(self) -> None:
        """Clear every namespace the test used, then dispose of every provider."""
        for spy in self._spies:
            spy.recording = False
        for faulty in self._faulty:
            faulty.mode = "ok"
        with contextlib.suppress(Exception):
            async with asyncio.timeout(max(30.0, self.options.op_timeout * 3)):
                cleared: set[str] = set()
                for cache in self._caches:
                    if cache.namespace in cleared:
                        continue
                    # through the main provider first: the cache's own may be closed
                    for provider in (self.provider, cache.provider):
                        try:
                            await provider.clear(cache.namespace)
                        except Exception:  # closed or failing: try the next one
                            continue
                        cleared.add(cache.namespace)
                        break
        await self._stack.aclose()

    def check_provider_failures(self, seen: BaseException | None = None) -> None:
        """Fail the test if a provider method raised while the backend was healthy.

        The provider's first exception is the reported cause; ``seen`` (what the
        test then observed, if it failed) is mentioned after it.
        """
        failures = [f for spy in self._spies for f in spy.failures]
        if failures and not self.allow_provider_failures:
            first = failures[0]
            lines = [f"  {f.op}({f.args}) raised {f.error}" for f in failures[:5]]
            then = ""
            if seen is not None:
                then = f"\nthe test then observed: {type(seen).__name__}: {str(seen)[:500]}"
            error = AssertionError(
                f"the provider raised {first.error} in {first.op}({first.args}); Cache failed "
                "open and hid it, so the test saw a miss or a failed write. Every call:\n"
                + "\n".join(lines)
                + then
                + f"\nfirst traceback:\n{first.trace}"
            )
            for spy in self._spies:
                spy.failures.clear()
            raise error from first.exception

    async def open_provider(self, *, initialize: bool = True, **options: Any) -> SpyProvider:
        """A new provider instance from the factory (disposed of at the end of the test).

        ``options`` (``max_entries``) go to the factory; the test clock is passed too.
        """
        if self.clock is not None:
            options.setdefault("clock", self.clock)
        provider = await self._stack.enter_async_context(self.harness.factory.open(**options))
        spy = SpyProvider(provider)
        self._spies.append(spy)
        self._stack.push_async_callback(_quiet_disconnect, provider)
        if initialize:
            await provider.initialize()
        return spy

    def make_cache(
        self, provider: Provider | None = None, *, namespace: str | None = None, **kwargs: Any
    ) -> Cache:
        """A cache over ``provider`` (default: the main one) in ``namespace`` (default: the
        test's), with the test clock and the run's timeouts unless overridden."""
        kwargs.setdefault("timeout", self.options.op_timeout)
        kwargs.setdefault("bulk_timeout", max(60.0, self.options.op_timeout))
        if self.clock is not None:
            kwargs.setdefault("clock", self.clock)
        cache = Cache(
            provider if provider is not None else self.provider,
            namespace=namespace or self.namespace,
            **kwargs,
        )
        self._caches.append(cache)
        return cache

    def fresh_namespace(self, suffix: str = "") -> str:
        """Another namespace unique to this test (``suffix`` appended)."""
        return self.harness.namespace() + suffix

    def faulty(self, provider: Provider | None = None, mode: str = "error") -> FaultyProvider:
        """A switchable failing backend in front of ``provider`` (default: the main one)."""
        faulty = FaultyProvider(provider if provider is not None else self.provider, mode)
        self._faulty.append(faulty)
        return faulty

    # -- capabilities ----------------------------------------------------------------
    def has_capability(self, capability: Capability) -> bool:
        """Whether the provider declares ``capability``."""
        return capability in self.info.capabilities

    @property
    def max_value_bytes(self) -> int | None:
        """The provider's declared value limit."""
        return self.info.max_value_bytes

    # -- time ------------------------------------------------------------------------
    @property
    def ttl_unit(self) -> float:
        """A TTL the time tests can wait out: 10 s on a manual clock, else short."""
        if self.clock is not None:
            return 10.0
        base = 0.3 if self.has_capability(Capability.TTL_SUBSECOND) else 1.0
        return base * self.options.time_scale

    @property
    def margin(self) -> float:
        """How far past an expiry a test waits before asserting it happened."""
        return 0.001 if self.clock is not None else 0.05 * self.options.time_scale + 0.02

    def now(self) -> float:
        """The test's time (the manual clock, else monotonic)."""
        return self.clock.now() if self.clock is not None else time.monotonic()

    def elapsed(self, mark: float) -> float:
        """Seconds since ``mark`` (a :meth:`now` reading)."""
        return self.now() - mark

    async def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass: move the clock, or sleep."""
        if self.clock is not None:
            self.clock.advance(seconds)
        elif seconds > 0:
            await asyncio.sleep(seconds)

    async def advance_to(self, mark: float, seconds: float) -> None:
        """Let time pass until ``seconds`` have elapsed since ``mark``."""
        await self.advance(max(0.0, seconds - self.elapsed(mark)))

    async def before_expiry(self, mark: float, ttl: float) -> None:
        """Move to a moment when an entry written at ``mark`` with ``ttl`` must be live:
        1 ms before expiry on a manual clock; in real time, a third of the way."""
        if self.clock is not None:
            await self.advance_to(mark, ttl - 0.001)
        else:
            await self.advance_to(mark, ttl / 3)

    async def after_expiry(self, mark: float, ttl: float) -> None:
        """Move past the expiry of an entry written at ``mark`` with ``ttl``.

        With a declared ``ttl_resolution`` R the entry may live until its TTL rounded
        up to a multiple of R, plus one more step of R (TTL-1).
        """
        step = self.info.ttl_resolution
        if step:
            ttl = math.ceil(ttl / step - 1e-9) * step + step
        if self.clock is None:
            # A server applies a write some time before the call returns, not at
            # ``mark``: wait from the end of the latest write, so a slow request on a
            # busy machine cannot make the entry look as if it outlived its TTL.
            ends = [
                spy.last_write_end
                for spy in self._spies
                if spy.last_write_end is not None and spy.last_write_end > mark
            ]
            mark = max([mark, *ends])
        await self.advance_to(mark, ttl + self.margin)

    def within(self, mark: float, ttl: float) -> bool:
        """Whether less than ``ttl`` has certainly elapsed since ``mark``.

        In real time a slow call can push a check past the expiry; range assertions
        use this to accept a miss only when the TTL had really elapsed.
        """
        return self.elapsed(mark) < ttl


class ContractTimeout(BaseException):
    """A test blocked the event loop past its deadline (a base exception, so no
    fail-open handler can swallow it)."""


@contextlib.contextmanager
def _watchdog(seconds: float) -> Any:
    """Interrupt a test whose event loop is blocked (SIGALRM, main thread, POSIX only)."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise ContractTimeout(
            f"the test did not finish within {seconds:.0f} s: the provider blocked or hung"
        )

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


async def _quiet_disconnect(provider: Provider) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(provider.disconnect(), 10.0)
