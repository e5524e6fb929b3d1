"""Parameter sweeps: simulate every combination of capacity, TTL and policy, in parallel.

One call gives one tidy DataFrame (a row per combination, every result column),
ready for ``plot_ttl_capacity_heatmap`` or a pandas pivot.  Work runs on any
:class:`concurrent.futures.Executor` (a process pool by default for big grids),
on a Dask cluster (``executor="dask"`` or a ``distributed.Client``), or
in-process when the grid is too small to pay for workers.

Given a directory, a glob pattern or a list of trace files instead of a
workload, :func:`sweep` runs the grid on every trace (each worker reads its
traces itself, by path) and returns one frame with a ``trace`` column.
"""

from __future__ import annotations

import glob
import itertools
import logging
import os
import socket
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import (
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    as_completed,
)
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from cachesim.sim.models import ProviderLike, estimate, provider_model

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]

    from cachesim.sim.workload import Workload

__all__ = ["TIMING_COLUMNS", "find_traces", "sweep", "sweep_grid"]

logger = logging.getLogger("cachesim.sim.sweep")

#: Columns that measure this machine, not the cache: they differ between runs.
TIMING_COLUMNS: Final = ("seconds", "requests_per_second")

#: Below this many simulated requests (grid points x workload length) a sweep runs in-process.
AUTO_PARALLEL_REQUESTS: Final = 2_000_000

ExecutorLike = (
    Executor | Literal["auto", "process", "processes", "thread", "serial", "dask"] | Any | None
)
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
    if _is_DaskClient(executor):
        return "dask", workers
    choice = executor or "auto"
    if choice == "processes":
        choice = "process"
    if choice not in ("auto", "process", "thread", "serial", "dask"):
        raise ValueError(
            "executor must be an Executor, a distributed.Client or 'auto', 'process', "
            f"'thread', 'serial', 'dask'; got {choice!r}"
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
    workload: Workload | str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
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
    read: Mapping[str, Any] | None = None,
    stream: bool = False,
    scatter: bool = False,
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
    frame except :data:`TIMING_COLUMNS`.  ``"dask"`` uses the current
    ``distributed`` client (``distributed.get_client()``) or, without one, a
    local cluster of ``max_workers`` processes for the call; a
    ``distributed.Client`` is used as given (a real cluster: see
    docs/simulator.md).

    ``workload`` may also be a directory, a glob pattern or a list of trace
    paths: every trace runs the whole grid (one task per trace, read by the
    worker with ``load_trace(path, **read)``, or streamed chunk by chunk with
    ``stream=True``), and the frame gets a ``trace`` column first.
    ``scatter=True`` reads the traces here and ships the data to the Dask
    workers instead of their paths (for workers without the files).
    """
    import pandas as pd

    from cachesim.sim.workload import Workload

    if not isinstance(workload, Workload):
        return _sweep_traces(
            workload,
            sweep_grid(capacity, ttl, policy),
            executor=executor,
            max_workers=max_workers,
            progress=progress,
            read=read,
            stream=stream,
            scatter=scatter,
            options=options,
            provider=provider,
            origin=origin,
            request_rate=request_rate,
        )
    if read or stream or scatter:
        raise ValueError("read=, stream= and scatter= apply to sweeps over trace files")
    points = sweep_grid(capacity, ttl, policy)
    how, workers = _resolve(executor, len(points), len(workload) * len(points), max_workers)
    logger.info("sweep of %d points (%s, %d workers)", len(points), how, workers)
    rows: list[dict[str, Any] | None] = [None] * len(points)
    bar = _progress(len(points), progress)
    try:
        if how == "dask":
            with _DaskClient(executor, workers) as client:
                shipped = client.scatter(workload, broadcast=True)
                futures = {
                    client.submit(_simulate_point, shipped, p, options, pure=False): i
                    for i, p in enumerate(points)
                }
                for future, i in _dask_completed(futures):
                    rows[i] = _guarded(future.result, points[i])
                    bar.update(1)
        elif how == "serial":
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


# -- many traces --------------------------------------------------------------------------

#: File names (after a compression suffix) that are traces without a ``format=``.
TRACE_SUFFIXES: Final = (".csv", ".parquet", ".pq", ".txt", ".lis")


def _looks_like_trace(path: Path, any_file: bool) -> bool:
    from cachesim.sim.traces import _split_suffixes

    if not path.is_file() or path.name.startswith("."):
        return False
    if any_file:
        return True
    _, suffixes = _split_suffixes(path)
    ext = suffixes[-1] if suffixes else ""
    return ext in TRACE_SUFFIXES or "oraclegeneral" in path.name.lower()


def find_traces(
    source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    any_file: bool = False,
) -> list[Path]:
    """The trace files of ``source``: a directory (recursively), a glob pattern or a list.

    In a directory only names a format can be told from are kept (``.csv``,
    ``.parquet``, ``.txt``, ``.lis``, ``*oracleGeneral*``, with any compression
    suffix); ``any_file=True`` keeps every file (for binary traces read with an
    explicit ``format=``).  Sorted, so row order is stable.
    """
    if isinstance(source, str | os.PathLike):
        text = os.fspath(source)
        path = Path(text)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if _looks_like_trace(p, any_file))
        elif any(ch in text for ch in "*?["):
            found = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
        elif path.is_file():
            found = [path]
        else:
            raise FileNotFoundError(f"no trace file, directory or pattern matches {text!r}")
    else:
        found = [Path(p) for p in source]
        missing = [str(p) for p in found if not p.is_file()]
        if missing:
            raise FileNotFoundError(f"trace files not found: {missing}")
    if not found:
        raise FileNotFoundError(f"no trace files in {source!r}")
    return found


def _labels(paths: list[Path], source: Any) -> list[str]:
    """Each trace's label: its path relative to the swept directory, else its name."""
    if isinstance(source, str | os.PathLike) and Path(source).is_dir():
        root = Path(source)
        return [p.relative_to(root).as_posix() for p in paths]
    names = [p.name for p in paths]
    if len(set(names)) == len(names):
        return names
    return [p.as_posix() for p in paths]


def _run_trace(
    label: str,
    trace: Any,
    points: list[Point],
    options: dict[str, Any],
    read: dict[str, Any],
    stream: bool,
) -> tuple[list[dict[str, Any]], str]:
    """One task: the whole grid on one trace (a path, or a Workload when scattered)."""
    from cachesim.sim.workload import Workload

    rows: list[dict[str, Any]] = []
    if stream and not isinstance(trace, Workload):
        from cachesim.sim.stream import simulate_stream

        for point in points:
            result = simulate_stream(trace, **point, read=read, **options)
            rows.append({"trace": label, **point, **result.as_dict()})
    else:
        if not isinstance(trace, Workload):
            from cachesim.sim.traces import load_trace

            trace = load_trace(trace, **read)
        for point in points:
            rows.append({"trace": label, **_simulate_point(trace, point, options)})
    return rows, f"{socket.gethostname()}:{os.getpid()}"


def _sweep_traces(
    source: Any,
    points: list[Point],
    *,
    executor: ExecutorLike,
    max_workers: int | None,
    progress: bool,
    read: Mapping[str, Any] | None,
    stream: bool,
    scatter: bool,
    options: dict[str, Any],
    provider: Any,
    origin: Any,
    request_rate: float | None,
) -> pd.DataFrame:
    import pandas as pd

    read_options = dict(read or {})
    paths = find_traces(source, any_file="format" in read_options)
    labels = _labels(paths, source)
    # every trace is worth a worker of its own, whatever its length
    how, workers = _resolve(executor, len(paths), AUTO_PARALLEL_REQUESTS * len(paths), max_workers)
    if scatter and how != "dask":
        raise ValueError("scatter=True ships traces to Dask workers; use executor='dask'")
    logger.info("sweep of %d traces x %d points (%s)", len(paths), len(points), how)
    results: list[list[dict[str, Any]] | None] = [None] * len(paths)
    ran_on: set[str] = set()
    bar = _progress(len(paths), progress, desc="traces", unit="trace")

    def record(i: int, outcome: tuple[list[dict[str, Any]], str]) -> None:
        results[i] = outcome[0]
        ran_on.add(outcome[1])
        bar.update(1)

    args = [(labels[i], str(p), points, options, read_options, stream) for i, p in enumerate(paths)]
    try:
        if how == "serial":
            for i, a in enumerate(args):
                record(i, _guarded_trace(_run_trace, labels[i], *a))
        elif how == "dask":
            with _DaskClient(executor, workers) as client:
                futures = {}
                for i, a in enumerate(args):
                    trace: Any = a[1]
                    if scatter:
                        from cachesim.sim.traces import load_trace

                        trace = client.scatter(load_trace(paths[i], **read_options))
                    task = (a[0], trace, *a[2:])
                    futures[client.submit(_run_trace, *task, pure=False)] = i
                for future, i in _dask_completed(futures):
                    record(i, _guarded_trace(future.result, labels[i]))
        else:
            pool: Executor
            if how == "given":
                assert isinstance(executor, Executor)
                pool = executor
            elif how == "thread":
                pool = ThreadPoolExecutor(max_workers=workers)
            else:
                pool = ProcessPoolExecutor(max_workers=workers)
            try:
                pending = {pool.submit(_run_trace, *a): i for i, a in enumerate(args)}
                for future in as_completed(pending):
                    i = pending[future]
                    record(i, _guarded_trace(future.result, labels[i]))
            finally:
                if how != "given":
                    pool.shutdown(wait=True, cancel_futures=True)
    finally:
        bar.close()
    frame = pd.DataFrame([row for rows in results if rows for row in rows])
    frame.attrs["processes"] = sorted(ran_on)
    frame.attrs["executor"] = how
    if provider is None or frame.empty:
        return frame
    rate = 100.0 if request_rate is None else request_rate  # traces are not loaded here
    out = _with_estimates(frame, None, provider, origin, rate)
    out.attrs.update(frame.attrs)
    return out


def _guarded_trace(fn: Callable[..., Any], label: str, *args: Any) -> Any:
    try:
        return fn(*args)
    except Exception as exc:
        raise RuntimeError(f"sweep of trace {label!r} failed: {exc}") from exc


# -- Dask -------------------------------------------------------------------------------------


def _is_DaskClient(value: Any) -> bool:
    kind = type(value)
    return kind.__name__ == "Client" and kind.__module__.startswith("distributed")


class _DaskClient:
    """The client to run on: the one given, the current one, or a local cluster for the call."""

    def __init__(self, executor: Any, workers: int) -> None:
        self.executor = executor
        self.workers = workers
        self.owned: list[Any] = []

    def __enter__(self) -> Any:
        try:
            import distributed as dask_distributed
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "executor='dask' needs dask.distributed: pip install 'cachesim[cluster]'"
            ) from exc
        distributed: Any = dask_distributed  # untyped package
        if _is_DaskClient(self.executor):
            return self.executor
        try:
            return distributed.get_client()
        except ValueError:
            pass
        cluster = distributed.LocalCluster(
            n_workers=self.workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        )
        client = distributed.Client(cluster)
        self.owned = [client, cluster]
        return client

    def __exit__(self, *exc: object) -> None:
        for resource in self.owned:
            resource.close()


def _dask_completed(futures: dict[Any, int]) -> Iterable[tuple[Any, int]]:
    import distributed

    completed: Any = distributed.as_completed  # untyped
    for future in completed(list(futures)):
        yield future, futures[future]
