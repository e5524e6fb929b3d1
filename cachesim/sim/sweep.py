"""Parameter sweeps: simulate every combination of capacity, TTL and policy, in parallel.

One call gives one tidy DataFrame (a row per combination, every result column),
ready for ``plot_ttl_capacity_heatmap`` or a pandas pivot.  Work runs on any
:class:`concurrent.futures.Executor` (a process pool by default for big grids;
a ``dask.distributed`` client's ``get_executor()`` or a Ray executor work the
same), or in-process when the grid is too small to pay for workers.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import (
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    as_completed,
)
from typing import TYPE_CHECKING, Any, Final, Literal

from cachesim.sim.models import ProviderLike, estimate, provider_model

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]

    from cachesim.sim.workload import Workload

__all__ = ["TIMING_COLUMNS", "sweep", "sweep_grid"]

logger = logging.getLogger("cachesim.sim.sweep")

#: Columns that measure this machine, not the cache: they differ between runs.
TIMING_COLUMNS: Final = ("seconds", "requests_per_second")

#: Below this many simulated requests (grid points x workload length) a sweep runs in-process.
AUTO_PARALLEL_REQUESTS: Final = 2_000_000

ExecutorLike = Executor | Literal["auto", "process", "thread", "serial"] | None
Point = dict[str, Any]

_WORKLOAD: Any = None  # set once per worker process by _init_worker


def _listify(value: Any) -> list[Any]:
    if value is None or isinstance(value, str | int | float):
        return [value]
    return list(value)


def sweep_grid(capacity: Any = None, ttl: Any = None, policy: Any = "lru") -> list[Point]:
    """The combinations a sweep runs, in row order: policy, then capacity, then TTL."""
    return [
        {"policy": p, "capacity": c, "ttl": t}
        for p, c, t in itertools.product(_listify(policy), _listify(capacity), _listify(ttl))
    ]


def _simulate_point(workload: Any, point: Point, options: dict[str, Any]) -> dict[str, Any]:
    """Run one grid point (in whichever process the executor chose)."""
    from cachesim.sim import simulate  # type: ignore[attr-defined,unused-ignore]

    result = simulate(workload, **point, **options)
    row = dict(point)
    row.update(result.as_dict())
    return row


def _init_worker(workload: Any) -> None:
    global _WORKLOAD
    _WORKLOAD = workload


def _run_shipped(point: Point, options: dict[str, Any]) -> dict[str, Any]:
    return _simulate_point(_WORKLOAD, point, options)


def _resolve(
    executor: ExecutorLike, points: int, work: int, max_workers: int | None
) -> tuple[str, int]:
    """Pick how to run: ``("serial"|"process"|"thread"|"given", workers)``."""
    cpus = os.cpu_count() or 1
    workers = max(1, min(max_workers or cpus, points))
    if isinstance(executor, Executor):
        return "given", workers
    choice = executor or "auto"
    if choice not in ("auto", "process", "thread", "serial"):
        raise ValueError(
            f"executor must be an Executor or 'auto', 'process', 'thread', 'serial'; got {choice!r}"
        )
    if choice == "auto":
        small = points < 2 or work < AUTO_PARALLEL_REQUESTS or workers < 2
        choice = "serial" if small else "process"
    return choice, workers


class _NoBar:
    """What :func:`_progress` returns when no bar is shown: updates go nowhere."""

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, enabled: bool, desc: str = "sweep", unit: str = "run") -> Any:
    """A tqdm bar, or a stand-in when disabled.

    tqdm is imported only for a bar that is shown: ``tqdm.auto`` warns
    (``IProgress not found``) in a notebook without ipywidgets even when the bar
    is disabled.
    """
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm  # type: ignore[import-untyped,unused-ignore]

    return tqdm(total=total, desc=desc, unit=unit, leave=False)


def _request_rate(workload: Any) -> float:
    """The workload's own mean request rate, or 100 req/s when it has no timestamps."""
    times = getattr(workload, "time", None)
    if times is not None and len(times) > 1:
        span = float(times[-1] - times[0])
        if span > 0:
            return (len(times) - 1) / span
    return 100.0


def sweep(
    workload: Workload,
    *,
    capacity: int | Iterable[int | None] | None = None,
    ttl: float | Iterable[float | None] | None = None,
    policy: str | Iterable[str] = "lru",
    provider: ProviderLike | Sequence[ProviderLike] | None = None,
    origin: Any = None,
    request_rate: float | None = None,
    executor: ExecutorLike = None,
    max_workers: int | None = None,
    progress: bool = True,
    **options: Any,
) -> pd.DataFrame:
    """Simulate every (policy, capacity, ttl) combination; return one row per combination.

    Columns are ``policy, capacity, ttl`` and every field of the result's
    ``as_dict()``; ``options`` go to :func:`cachesim.sim.simulate` unchanged
    (``warmup=``, ``window=`` ...).  With ``provider`` (a name, a
    :class:`~cachesim.sim.models.ProviderModel`, or a list of them) each row
    is repeated per provider with the :func:`~cachesim.sim.models.estimate`
    columns (latency, origin load, cost) at ``request_rate`` (default: the
    workload's own rate, or 100 req/s without timestamps).

    ``executor``: any :class:`~concurrent.futures.Executor` (used, not shut
    down), ``"process"``, ``"thread"``, ``"serial"``, or None/``"auto"``: a
    process pool when the grid is worth it, in-process otherwise.  Rows come
    in grid order whatever finishes first, so two executors give the same
    frame except :data:`TIMING_COLUMNS`.
    """
    import pandas as pd

    points = sweep_grid(capacity, ttl, policy)
    how, workers = _resolve(executor, len(points), len(workload) * len(points), max_workers)
    logger.info("sweep of %d points (%s, %d workers)", len(points), how, workers)
    rows: list[dict[str, Any] | None] = [None] * len(points)
    bar = _progress(len(points), progress)
    try:
        if how == "serial":
            for i, point in enumerate(points):
                rows[i] = _guarded(_simulate_point, point, workload, point, options)
                bar.update(1)
        else:
            if how == "given":
                assert isinstance(executor, Executor)
                pool: Executor = executor
            elif how == "thread":
                pool = ThreadPoolExecutor(max_workers=workers)
            else:  # the workload travels once per worker, not once per point
                pool = ProcessPoolExecutor(
                    max_workers=workers, initializer=_init_worker, initargs=(workload,)
                )

            def submit(point: Point) -> Future[dict[str, Any]]:
                if how == "process":
                    return pool.submit(_run_shipped, point, options)
                return pool.submit(_simulate_point, workload, point, options)

            try:
                futures = {submit(p): i for i, p in enumerate(points)}
                for future in as_completed(futures):
                    i = futures[future]
                    rows[i] = _guarded(future.result, points[i])
                    bar.update(1)
            finally:
                if how != "given":
                    pool.shutdown(wait=True, cancel_futures=True)
    finally:
        bar.close()
    frame = pd.DataFrame([r for r in rows if r is not None])
    if provider is None or frame.empty:
        return frame
    return _with_estimates(frame, workload, provider, origin, request_rate)


def _guarded(fn: Callable[..., dict[str, Any]], point: Point, *args: Any) -> dict[str, Any]:
    """Call ``fn``; name the grid point in the error when it fails."""
    try:
        return fn(*args)
    except Exception as exc:
        raise RuntimeError(f"sweep point {point} failed: {exc}") from exc


def _with_estimates(
    frame: pd.DataFrame,
    workload: Any,
    provider: ProviderLike | Sequence[ProviderLike],
    origin: Any,
    request_rate: float | None,
) -> pd.DataFrame:
    """Repeat each row per provider, adding latency, origin-load and cost columns."""
    import pandas as pd

    specs: list[Any] = list(provider) if isinstance(provider, list | tuple) else [provider]
    rate = _request_rate(workload) if request_rate is None else request_rate
    rows: list[dict[str, Any]] = []
    for raw in frame.to_dict("records"):
        record = {str(k): v for k, v in raw.items()}
        for spec in specs:
            est = estimate(
                record, provider=provider_model(spec), origin=origin, request_rate=rate
            ).as_dict()
            est.pop("hit_ratio", None)
            rows.append({**record, **est})
    return pd.DataFrame(rows)
