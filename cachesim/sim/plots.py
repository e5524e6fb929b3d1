"""Matplotlib plots of simulation results, sweeps, models and contract reports.

Every function draws on ``ax`` when given, else on a new
:class:`~matplotlib.figure.Figure` built without pyplot (no global state is
touched), and returns the figure: the last expression of a notebook cell shows
it, and ``fig.savefig("out.png")`` writes it.  Colours are mid-luminance so
lines read on light and dark backgrounds alike; text and grid colours follow the
active matplotlib style.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import numpy as np
import numpy.typing as npt
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import FuncFormatter, PercentFormatter

from cachesim.sim.models import LatencyModel

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]
    from matplotlib.axes import Axes

__all__ = [
    "COLORS",
    "LINESTYLES",
    "MARKERS",
    "STATUS_COLORS",
    "curve_label",
    "infinite_cache_hit_ratio",
    "plot_conformance_matrix",
    "plot_cost",
    "plot_hit_ratio_over_time",
    "plot_latency_cdf",
    "plot_latency_percentiles",
    "plot_mrc",
    "plot_origin_load",
    "plot_ttl_capacity_heatmap",
]

#: Line colours, readable on white and on dark grey (no pure black or white).
COLORS: Final[tuple[str, ...]] = (
    "#4C8BF5",  # blue
    "#F28E2B",  # orange
    "#3FA34D",  # green
    "#E15759",  # red
    "#A77BCA",  # purple
    "#2BB5B8",  # teal
    "#D4A72C",  # ochre
    "#E377C2",  # pink
    "#9C755F",  # brown
)
#: Markers and dash patterns cycled with the colours, so lines that overlap or print in
#: grey stay distinguishable (plain dashed and dotted are kept for reference lines).
MARKERS: Final[tuple[str, ...]] = ("o", "s", "^", "D", "v", "P", "X", "<", ">")
LINESTYLES: Final[tuple[Any, ...]] = (
    "-",
    (0, (6, 2)),
    "-.",
    (0, (1, 1.2)),
    (0, (8, 2, 1, 2, 1, 2)),
)
#: Reference lines (ceilings, baselines): a grey that shows on both themes.
NEUTRAL: Final = "#8C8C8C"
#: Cell colours of the conformance matrix, by test outcome.
STATUS_COLORS: Final[dict[str, str]] = {
    "passed": "#3FA34D",
    "failed": "#E15759",
    "error": "#A13A3C",
    "xpassed": "#C2527A",
    "deviation": "#D4A72C",
    "skipped": "#9A9A9A",
}
_STATUS_MARKS: Final[dict[str, str]] = {
    "passed": "✓",
    "failed": "✗",
    "error": "!",
    "xpassed": "!",
    "deviation": "~",
    "skipped": "–",
}


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """Use ``ax`` (returning its root figure) or make a new figure with one axes."""
    if ax is not None:
        fig: Any = ax.figure
        while not isinstance(fig, Figure):  # a SubFigure: climb to the root
            fig = fig.figure
        return fig, ax
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def _hit_ratio_axis(ax: Axes, title: str) -> None:
    """Finish an axes whose y is a hit ratio: 0-100 %, grid, legend at the lower right."""
    ax.set_ylabel("hit ratio (%)")
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", frameon=False)
    ax.set_title(title)


def _color(i: int) -> str:
    return COLORS[i % len(COLORS)]


def _style(i: int) -> dict[str, Any]:
    """Colour, marker and dash pattern of the i-th data line."""
    return {
        "color": _color(i),
        "marker": MARKERS[i % len(MARKERS)],
        "ls": LINESTYLES[i % len(LINESTYLES)],
    }


def _frame(data: Any) -> pd.DataFrame:
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    if hasattr(data, "to_frame"):
        frame: pd.DataFrame = data.to_frame()
        return frame
    return pd.DataFrame(data)


def _ms(x: float, _pos: object = None) -> str:
    return f"{x:g}"


def _wrap(label: str, width: int = 12) -> str:
    """Break a long tick label at its first hyphen (``upstash-\nsame-region``)."""
    if len(label) <= width or "-" not in label:
        return label
    head, _, tail = label.partition("-")
    return f"{head}-\n{tail}"


# -- hit ratio vs size --------------------------------------------------------------


def infinite_cache_hit_ratio(workload: Any) -> float:
    """Hit ratio of a cache with no size limit and no expiry: only first reads miss.

    Writes make a key present and deletes remove it, as in the engines; sizes
    and TTLs are ignored.
    """
    keys = np.asarray(workload.key)
    ops = getattr(workload, "op", None)
    if len(keys) == 0:
        return 0.0
    if ops is None:
        return 1.0 - len(np.unique(keys)) / len(keys)
    present: set[int] = set()
    hits = reads = 0
    for key, op in zip(keys.tolist(), np.asarray(ops).tolist(), strict=True):
        if op == 0:
            reads += 1
            if key in present:
                hits += 1
            else:
                present.add(key)
        elif op == 1:
            present.add(key)
        else:
            present.discard(key)
    return hits / reads if reads else 0.0


def curve_label(frame: Any) -> str:
    """``"lru (exact)"``, ``"s3fifo (minisim, sample rate 0.01)"``: what a curve line shows.

    Read from the ``policy``, ``method`` and ``sample_rate`` that
    :func:`~cachesim.sim.miss_ratio_curve` records in ``frame.attrs``.
    """
    attrs = getattr(frame, "attrs", {}) or {}
    policy = str(attrs.get("policy") or "hit ratio")
    method = attrs.get("method")
    if not method:
        return policy
    rate = attrs.get("sample_rate")
    sampled = f", sample rate {rate:g}" if method in ("shards", "minisim") and rate else ""
    return f"{policy} ({method}{sampled})"


def plot_mrc(
    data: Any,
    *,
    ax: Axes | None = None,
    opt: Any = None,
    infinite: float | None = None,
    workload: Any = None,
    logx: bool | None = None,
    unit: str = "entries",
    title: str | None = None,
) -> Figure:
    """Hit ratio against cache size, with the OPT and infinite-cache ceilings.

    ``data`` is a frame with ``capacity`` and ``hit_ratio`` columns (one line per
    ``policy`` when that column exists; rows with policy ``opt`` become the
    ceiling), or ``{label: frame}``.  ``opt`` is Belady's curve to draw as the
    upper bound; ``infinite`` (or ``workload``, to compute it) the hit ratio
    no finite cache can beat.  The size axis is numeric; log scale is chosen
    when sizes span more than two decades unless ``logx`` says otherwise.
    """
    fig, ax = _axes(ax, (7.0, 4.5))
    curves: list[tuple[str, Any]] = []
    if isinstance(data, Mapping):
        curves = [(str(k), _frame(v)) for k, v in data.items()]
    else:
        frame = _frame(data)
        if "policy" in frame.columns:
            for name, part in frame.groupby("policy", sort=False):
                if str(name).lower() in ("opt", "belady") and opt is None:
                    opt = part
                else:
                    curves.append((str(name), part))
        else:  # miss_ratio_curve() records its policy and method in frame.attrs
            curves = [(curve_label(frame), frame)]
    sizes: list[float] = []
    for i, (label, frame) in enumerate(curves):
        frame = frame.sort_values("capacity")
        ax.plot(frame["capacity"], frame["hit_ratio"], ms=4, lw=1.8, label=label, **_style(i))
        if "error" in frame.columns:  # sampled curves: a band of two standard errors
            band = 2 * frame["error"].fillna(0.0)
            ax.fill_between(
                frame["capacity"],
                frame["hit_ratio"] - band,
                frame["hit_ratio"] + band,
                color=_color(i),
                alpha=0.2,
                lw=0,
                label=f"{label} ±2 standard errors",
            )
        sizes += [float(v) for v in frame["capacity"]]
    if opt is not None:
        frame = _frame(opt).sort_values("capacity")
        ax.plot(
            frame["capacity"],
            frame["hit_ratio"],
            ls="--",
            lw=1.5,
            color=NEUTRAL,
            label="OPT (Belady)",
        )
        sizes += [float(v) for v in frame["capacity"]]
    if infinite is None and workload is not None:
        infinite = infinite_cache_hit_ratio(workload)
    if infinite is not None:
        ax.axhline(
            infinite, ls=":", lw=1.5, color=NEUTRAL, label=f"infinite cache ({infinite:.1%})"
        )
    positive = [s for s in sizes if s > 0]
    if logx is None:
        logx = bool(positive) and max(positive) / min(positive) > 100
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(f"cache size ({unit})")
    _hit_ratio_axis(ax, title or "Hit ratio by cache size")
    return fig


# -- over time --------------------------------------------------------------------


def _windows(result: Any) -> pd.DataFrame:
    import pandas as pd

    frame: pd.DataFrame | None
    if isinstance(result, pd.DataFrame):
        frame = result
    else:
        windows = getattr(result, "windows", None)
        frame = windows() if callable(windows) else windows
    if frame is None or not {"start", "end"} <= set(frame.columns):
        raise ValueError(
            "this result has no per-window counts; run simulate(..., window_seconds=60) "
            "(or window=N requests) to get them"
        )
    return frame


def _complete_windows(windows: pd.DataFrame) -> pd.DataFrame:
    """``windows`` without a partial last window.

    A trace rarely ends on a window boundary, so its last window may hold only
    the few requests left over; their hit ratio or rate would draw a spike or a
    dip that says nothing about the cache.  The last window is dropped when it
    holds fewer than half the median requests of the others (with 3+ windows).
    """
    if len(windows) <= 2 or "requests" not in windows.columns:
        return windows
    requests = windows["requests"].to_numpy(float)
    if requests[-1] < 0.5 * float(np.median(requests[:-1])):
        return windows.iloc[:-1]
    return windows


def _warmup_end(result: Any, windows: pd.DataFrame) -> float | None:
    """The time the warm-up ends, from the windows' ``warmup`` flags or the result's fields."""
    if "warmup" in windows.columns:
        marked = windows[windows["warmup"].astype(bool)]
        return float(marked["end"].max()) if len(marked) else None
    if isinstance(result, type(windows)):  # a bare frame without flags
        return None
    end = getattr(result, "warmup_end", None)
    if end is not None:
        return float(end)
    warmup = getattr(result, "warmup", None)
    if not warmup or "requests" not in windows.columns or windows.empty:
        return None
    done = np.cumsum(windows["requests"].to_numpy())  # approximate: counts reads only
    index = min(int(np.searchsorted(done, int(warmup))), len(windows) - 1)
    return float(windows["end"].iloc[index])


def plot_hit_ratio_over_time(
    result: Any,
    *,
    ax: Axes | None = None,
    warmup_end: float | None = None,
    label: str | None = None,
    title: str | None = None,
) -> Figure:
    """Hit ratio per window over time, the warm-up period shaded.

    ``result`` is a result with ``windows`` (columns ``start``, ``end``,
    ``hit_ratio``), such a frame, or ``{label: result}`` to overlay several.
    ``warmup_end`` (in the windows' time unit) overrides what the result says.
    A partial last window (the trace's few leftover requests) is not drawn.
    """
    fig, ax = _axes(ax, (8.0, 4.0))
    items = list(result.items()) if isinstance(result, Mapping) else [(label, result)]
    shaded = warmup_end
    for i, (name, item) in enumerate(items):
        windows = _windows(item)
        shown = _complete_windows(windows)
        mid = (shown["start"].to_numpy() + shown["end"].to_numpy()) / 2
        style = _style(i)
        ax.plot(
            mid,
            shown["hit_ratio"],
            lw=1.8,
            ms=3.5,
            markevery=max(1, len(mid) // 12),  # a few markers: the line stays readable
            label=str(name) if name is not None else "hit ratio",
            **(style if len(items) > 1 else {"color": style["color"]}),
        )
        if shaded is None:
            shaded = _warmup_end(item, windows)
        start = float(windows["start"].min()) if len(windows) else 0.0
    if shaded is not None and items:
        ax.axvspan(start, shaded, color=NEUTRAL, alpha=0.2, lw=0, label="warm-up")
        ax.axvline(shaded, color=NEUTRAL, ls="--", lw=1)
    ax.set_xlabel("time (s)")
    _hit_ratio_axis(ax, title or "Hit ratio over time")
    return fig


def plot_origin_load(
    result: Any,
    *,
    ax: Axes | None = None,
    request_rate: float | None = None,
    label: str = "with cache",
    title: str | None = None,
) -> Figure:
    """Origin (database) requests per second over time, with and without the cache.

    Without the cache every request reaches the origin; with it, misses (and,
    when the windows count them, writes and deletes) do.  ``request_rate``
    rescales both lines so the no-cache line averages that rate (virtual time
    rarely runs at production speed).  A partial last window is not drawn.
    """
    fig, ax = _axes(ax, (8.0, 4.0))
    windows = _complete_windows(_windows(result))
    start, end = windows["start"].to_numpy(float), windows["end"].to_numpy(float)
    width = np.where(end > start, end - start, 1.0)
    requests = windows["requests"].to_numpy(float)
    if "origin" in windows.columns:
        origin = windows["origin"].to_numpy(float)
    elif "misses" in windows.columns:
        origin = windows["misses"].to_numpy(float)
    else:
        origin = requests - windows["hits"].to_numpy(float)
    without, with_cache = requests / width, origin / width
    if request_rate is not None and without.mean() > 0:
        scale = request_rate / float(np.average(without, weights=width))
        without, with_cache = without * scale, with_cache * scale
    mid = (start + end) / 2
    ax.plot(mid, without, ls="--", lw=1.5, color=NEUTRAL, label="without cache")
    ax.plot(mid, with_cache, lw=1.8, color=_color(0), label=label)
    ax.fill_between(mid, with_cache, without, color=_color(0), alpha=0.15, lw=0)
    total_before, total_after = float(requests.sum()), float(origin.sum())
    if total_before > 0:
        cut = 1 - total_after / total_before
        ax.text(0.01, 0.97, f"origin load -{cut:.0%}", transform=ax.transAxes, va="top")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("origin load (requests/s)")
    top = float(max(without.max(), with_cache.max())) if len(without) else 1.0
    ax.set_ylim(0, top * 1.25 or 1.0)  # headroom for the legend
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right", frameon=False)
    ax.set_title(title or "Origin load")
    return fig


# -- latency ----------------------------------------------------------------------


def _latency_array(value: Any, seed: int) -> npt.NDArray[np.float64]:
    """Latencies in seconds: sampled from a model, a live result's counted ones, or as given."""
    if isinstance(value, LatencyModel):
        return value.sample(20_000, np.random.default_rng(seed))
    latency_ms = getattr(value, "latency_ms", None)
    if callable(latency_ms):  # a LiveResult: the requests after its warm-up
        return np.asarray(latency_ms(), dtype=np.float64) / 1000.0
    latencies = getattr(value, "latencies", None)
    if latencies is not None:
        return np.asarray(latencies, dtype=np.float64)
    return np.asarray(value, dtype=np.float64).ravel()


def plot_latency_cdf(
    samples: Mapping[str, Any],
    *,
    ax: Axes | None = None,
    percentiles: Sequence[float] = (50, 95, 99),
    logx: bool = True,
    seed: int = 0,
    title: str | None = None,
) -> Figure:
    """Cumulative distribution of response times, one line per label, percentiles marked.

    ``samples`` maps labels to latencies in seconds: arrays, a
    :class:`~cachesim.sim.models.LatencyModel` (sampled), or a live result
    (its measured latencies after the warm-up, as ``latency_ms()``).
    :func:`~cachesim.sim.models.latency_samples` builds
    ``{"no cache": ..., provider: ...}`` from a simulation result.  The
    no-cache line is grey; the others take :data:`COLORS` in order.  A line
    drawn from a model (not from measured samples) says so in the legend.
    """
    fig, ax = _axes(ax, (10.0, 4.5))
    markers = ("o", "s", "^", "D", "v")
    coloured = 0
    for label, value in samples.items():
        data = np.sort(_latency_array(value, seed)) * 1000.0
        if data.size == 0:
            continue
        y = np.arange(1, data.size + 1) / data.size
        step = max(1, data.size // 2000)
        keep = np.unique(np.r_[np.arange(0, data.size, step), data.size - 1])
        if label.lower() in ("no cache", "without cache"):
            color = NEUTRAL
        else:
            color = _color(coloured)
            coloured += 1
        pts = [float(np.percentile(data, q)) for q in percentiles]
        text = ", ".join(f"p{q:g} {v:.3g}" for q, v in zip(percentiles, pts, strict=True))
        modelled = ", model" if isinstance(value, LatencyModel) else ""
        ax.plot(
            data[keep],
            y[keep],
            lw=1.8,
            color=color,
            ls=LINESTYLES[(coloured - 1) % len(LINESTYLES)] if color != NEUTRAL else "--",
            label=f"{label} ({text} ms{modelled})",
        )
        for j, (q, v) in enumerate(zip(percentiles, pts, strict=True)):
            ax.plot(
                [v], [q / 100.0], ls="none", marker=markers[j % len(markers)], ms=5, color=color
            )
    if logx:
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(_ms))
    for q in percentiles:
        ax.axhline(q / 100.0, color=NEUTRAL, lw=0.6, alpha=0.5)
    ax.set_xlabel("response time (ms)")
    ax.set_ylabel("requests answered within (%)")
    ax.set_ylim(0, 1.01)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize="small")
    ax.set_title(title or "Response time distribution")
    return fig


def plot_latency_percentiles(
    estimates: Any,
    *,
    ax: Axes | None = None,
    percentiles: Sequence[int] = (50, 95, 99),
    logy: bool = True,
    title: str | None = None,
) -> Figure:
    """p50/p95/p99 response time per provider with the cache, against no cache.

    ``estimates`` is :func:`~cachesim.sim.models.estimate_many`'s frame (or a
    list of :class:`~cachesim.sim.models.Estimate`).  Bars are with the cache;
    dashed lines mark the same percentiles without it.
    """
    frame = _estimates_frame(estimates)
    fig, ax = _axes(ax, (1.3 * len(frame) + 5.0, 4.5))
    n = len(percentiles)
    x = np.arange(len(frame))
    width = 0.8 / n
    for j, q in enumerate(percentiles):
        values = frame[f"cache_p{q}_ms"].to_numpy(float)
        bars = ax.bar(
            x - 0.4 + width * (j + 0.5), values, width, color=_color(j), label=f"p{q} with cache"
        )
        ax.bar_label(bars, fmt="%.3g", fontsize="x-small", padding=1)
        baseline = float(frame[f"no_cache_p{q}_ms"].iloc[0])
        ax.axhline(
            baseline,
            color=_color(j),
            ls="--",
            lw=1.2,
            alpha=0.9,
            label=f"p{q} without cache ({baseline:.3g} ms)",
        )
    ax.set_xticks(x, [_wrap(str(p)) for p in frame["provider"]])
    if logy:
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(_ms))
    ax.set_xlabel("provider")
    ax.set_ylabel("response time (ms)")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(frameon=False, fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(title or "Response time percentiles by provider")
    return fig


def _estimates_frame(estimates: Any) -> pd.DataFrame:
    import pandas as pd

    if isinstance(estimates, pd.DataFrame):
        return estimates.reset_index(drop=True)
    rows = [e.as_dict() if hasattr(e, "as_dict") else dict(e) for e in estimates]
    return pd.DataFrame(rows)


def plot_cost(
    estimates: Any,
    *,
    ax: Axes | None = None,
    column: str = "monthly_cost_usd",
    title: str | None = None,
) -> Figure:
    """Monthly cost per provider (horizontal bars, dollar labels).

    ``estimates`` as for :func:`plot_latency_percentiles`; the request rate
    of the estimates goes into the title.
    """
    frame = _estimates_frame(estimates)
    fig, ax = _axes(ax, (7.0, 0.6 * len(frame) + 1.6))
    y = np.arange(len(frame))
    values = frame[column].to_numpy(float)
    bars = ax.barh(y, values, color=[_color(i) for i in range(len(frame))], height=0.6)
    ax.bar_label(bars, labels=[f"${v:,.2f}" for v in values], padding=3, fontsize="small")
    ax.set_yticks(y, [str(p) for p in frame["provider"]])
    ax.invert_yaxis()
    ax.set_xlim(0, max(1.0, float(values.max()) if len(values) else 1.0) * 1.25)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"${v:,.0f}"))
    ax.set_xlabel("monthly cost (USD)")
    ax.set_ylabel("provider")
    ax.grid(True, axis="x", alpha=0.3)
    if title is None and "request_rate" in frame.columns and len(frame):
        rates = sorted({float(r) for r in frame["request_rate"]})
        rate = f"{rates[0]:,.0f} req/s" if len(rates) == 1 else "several request rates"
        title = f"Monthly cost at {rate}"
    ax.set_title(title or "Monthly cost")
    return fig


# -- sweeps -----------------------------------------------------------------------


def _ttl_label(value: Any) -> str:
    if value is None or (isinstance(value, float) and (math.isnan(value) or math.isinf(value))):
        return "none"
    return f"{float(value):g}"


def plot_ttl_capacity_heatmap(
    frame: pd.DataFrame,
    *,
    value: str = "hit_ratio",
    ax: Axes | None = None,
    policy: str | None = None,
    annotate: bool = True,
    cmap: str = "viridis",
    title: str | None = None,
) -> Figure:
    """A TTL x capacity grid of ``value`` (hit ratio by default) from a sweep frame.

    The frame needs ``ttl`` and ``capacity`` columns (see
    :func:`~cachesim.sim.sweep.sweep`); with several policies pick one with
    ``policy``.  A TTL of None/NaN/inf is shown as ``none`` (no expiry).
    """
    data = frame
    if "policy" in data.columns:
        policies = list(dict.fromkeys(data["policy"]))
        if policy is None and len(policies) > 1:
            raise ValueError(f"the sweep holds several policies {policies}; pass policy=")
        if policy is not None:
            data = data[data["policy"] == policy]
            policy_label = policy
        else:
            policy_label = str(policies[0]) if policies else ""
    else:
        policy_label = policy or ""
    if data.empty:
        raise ValueError("nothing to plot: the frame has no rows for this selection")
    ttl_keys = [math.inf if _ttl_label(t) == "none" else float(t) for t in data["ttl"]]
    caps = sorted({float(c) for c in data["capacity"]})
    ttls = sorted(set(ttl_keys))
    grid = np.full((len(ttls), len(caps)), np.nan)
    sums: dict[tuple[int, int], list[float]] = {}
    for t, c, v in zip(ttl_keys, data["capacity"], data[value], strict=True):
        sums.setdefault((ttls.index(t), caps.index(float(c))), []).append(float(v))
    for (i, j), vals in sums.items():
        grid[i, j] = float(np.mean(vals))
    fig, ax = _axes(ax, (1.1 * len(caps) + 2.8, 0.55 * len(ttls) + 1.8))
    ratio = "ratio" in value
    image = ax.imshow(
        grid,
        aspect="auto",
        origin="lower",
        cmap=cmap,
        vmin=0.0 if ratio else None,
        vmax=1.0 if ratio else None,
    )
    bar = fig.colorbar(image, ax=ax)
    bar.set_label(value.replace("_", " ") + (" (%)" if ratio else ""))
    if ratio:
        bar.formatter = PercentFormatter(1.0)
        bar.update_ticks()
    if annotate:
        colormap = image.get_cmap()
        norm = image.norm
        for i in range(len(ttls)):
            for j in range(len(caps)):
                v = grid[i, j]
                if np.isnan(v):
                    continue
                r, g, b, _a = colormap(norm(v))
                light = 0.299 * r + 0.587 * g + 0.114 * b > 0.55
                ax.text(
                    j,
                    i,
                    f"{v:.1%}" if ratio else f"{v:.3g}",
                    ha="center",
                    va="center",
                    fontsize="small",
                    color="#1E1E1E" if light else "#F2F2F2",
                )
    ax.set_xticks(range(len(caps)), [f"{c:g}" for c in caps])
    ax.set_yticks(range(len(ttls)), [_ttl_label(t) for t in ttls])
    ax.set_xlabel("capacity (entries)")
    ax.set_ylabel("TTL (s)")
    suffix = f" ({policy_label})" if policy_label else ""
    ax.set_title(title or f"{value.replace('_', ' ').capitalize()} by TTL and capacity{suffix}")
    return fig


# -- contract ---------------------------------------------------------------------


def _natural(text: str) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def _status(value: Any) -> str:
    if isinstance(value, Mapping):
        value = value.get("outcome") or value.get("status") or "error"
    return str(value).lower().replace("-", "_").replace(" ", "_")


def _capability_status(cap: Mapping[str, Any]) -> str | None:
    """Roll a report's capability entry into one status (None: no test needs it)."""
    if not cap.get("tests"):
        return None
    if cap.get("failed"):
        return "failed"
    if not cap.get("declared"):
        return "skipped"  # its tests are skipped for a provider that does not declare it
    if not cap.get("executed"):
        return "not_run"
    if cap.get("xfailed"):
        return "deviation"
    return "passed" if cap.get("passed") else "skipped"


def _load_report(report: Any, by: str) -> list[dict[str, Any]]:
    """Normalise a report to ``[{"provider", "spec", "cells": {id: status}, "titles"}]``.

    Accepts the suite's JSON report (``cachesim.contract``: provider and per-clause
    dicts), a plain ``{"provider": name, "clauses": {id: status}}``, a path to
    either, or ``{"reports": [...]}``.
    """
    if isinstance(report, str | PathLike):
        report = json.loads(Path(report).read_text(encoding="utf-8"))
    for method in ("as_json", "to_dict"):
        if not isinstance(report, Mapping) and hasattr(report, method):
            report = getattr(report, method)()
    if isinstance(report, Mapping) and "reports" in report:
        return [r for item in report["reports"] for r in _load_report(item, by)]
    if not isinstance(report, Mapping) or "provider" not in report:
        raise ValueError("a contract report must be a dict with 'provider' and 'clauses'")
    provider = report["provider"]
    name = spec = str(provider)
    if isinstance(provider, Mapping):
        name = str(provider.get("name") or provider.get("spec") or "provider")
        spec = str(provider.get("spec") or name)
    cells: dict[str, str] = {}
    titles: dict[str, str] = {}
    if by == "capabilities":
        for cap, entry in dict(report.get("capabilities") or {}).items():
            status = _capability_status(entry) if isinstance(entry, Mapping) else _status(entry)
            if status is not None:
                cells[str(cap)] = status
    else:
        clauses = report.get("clauses") or {}
        if isinstance(clauses, Sequence):  # a list of {"id": ..., "outcome": ...}
            clauses = {str(c.get("id") or c.get("clause")): c for c in clauses}
        for clause, entry in clauses.items():
            cells[str(clause)] = _status(entry)
            if isinstance(entry, Mapping) and entry.get("title"):
                titles[str(clause)] = str(entry["title"])
    return [{"provider": name, "spec": spec, "cells": cells, "titles": titles}]


#: rows of one panel of a transposed conformance matrix; longer lists wrap into columns
MATRIX_PANEL_ROWS: Final = 40


def _draw_cells(
    ax: Axes, rows: list[dict[str, Any]], columns: list[str], transpose: bool
) -> tuple[set[str], int]:
    """Draw the outcome cells; return the outcomes seen and the number of failing cells."""
    seen: set[str] = set()
    bad = 0
    for r, row in enumerate(rows):
        for c, column in enumerate(columns):
            status = row["cells"].get(column)
            if status is None:
                continue
            x, y = (r, c) if transpose else (c, r)
            key = {"xfailed": "deviation"}.get(status, status)
            key = key if key in STATUS_COLORS or key == "not_run" else "error"
            seen.add(key)
            bad += key in ("failed", "error", "xpassed")
            if key == "not_run":
                ax.add_patch(
                    Rectangle(
                        (x - 0.45, y - 0.42), 0.9, 0.84, fill=False, edgecolor=NEUTRAL, lw=0.8
                    )
                )
                continue
            ax.add_patch(
                Rectangle(
                    (x - 0.45, y - 0.42), 0.9, 0.84, facecolor=STATUS_COLORS[key], edgecolor="none"
                )
            )
            ax.text(
                x,
                y,
                _STATUS_MARKS[key],
                ha="center",
                va="center",
                fontsize="x-small",
                color="#F2F2F2",
            )
    return seen, bad


def _finish_matrix(
    ax: Axes,
    labels: list[str],
    columns: list[str],
    column_labels: list[str],
    transpose: bool,
    what: str,
) -> None:
    n_rows, n_cols = (len(columns), len(labels)) if transpose else (len(labels), len(columns))
    ax.set_xlim(-0.5, n_cols - 0.5)
    ax.set_ylim(n_rows - 0.5, -0.5)
    if transpose:
        ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize="small")
        ax.set_yticks(range(len(columns)), column_labels, fontsize="x-small")
        ax.set_xlabel("provider")
        ax.set_ylabel(what)
    else:
        ax.set_xticks(range(len(columns)), column_labels, rotation=90, fontsize="small")
        ax.set_yticks(range(len(labels)), labels)
        ax.set_xlabel(what)
        ax.set_ylabel("provider")
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)


def plot_conformance_matrix(
    reports: Iterable[Any] | Any,
    *,
    by: Literal["clauses", "capabilities"] = "clauses",
    transpose: bool | None = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """Providers x contract clauses (or capabilities), each cell coloured by outcome.

    ``reports``: contract reports as the suite writes them
    (``--contract-report out.json``; paths or loaded dicts), or plain dicts
    ``{"provider": "fakeredis", "clauses": {"TTL-1": "passed", ...}}``.
    Outcomes: passed, failed, error, xpassed, deviation/xfailed (a known
    deviation), skipped, not run (outlined); a cell a provider never reported
    stays blank.  With many columns the matrix is transposed (clauses down
    the side, with their full titles) unless ``transpose`` says otherwise;
    on a new figure a long list wraps into side-by-side panels of
    :data:`MATRIX_PANEL_ROWS` rows, so the figure stays compact.
    """
    if isinstance(reports, Mapping | str | PathLike):
        reports = [reports]
    rows = [row for report in reports for row in _load_report(report, by)]
    if not rows:
        raise ValueError("no contract reports to plot")
    names = [row["provider"] for row in rows]
    labels = [
        f"{row['provider']} ({row['spec']})"
        if names.count(row["provider"]) > 1
        else row["provider"]
        for row in rows
    ]
    columns = sorted({c for row in rows for c in row["cells"]}, key=_natural)
    titles = {c: t for row in rows for c, t in row["titles"].items()}
    if transpose is None:
        transpose = len(columns) > 30
    what = "capability" if by == "capabilities" else "contract clause"
    column_labels = [f"{c}  {titles[c]}" if transpose and c in titles else c for c in columns]
    if not transpose:
        panels = [(columns, column_labels)]
        size = (max(6.0, 0.34 * len(columns) + 2.5), 0.5 * len(rows) + 2.2)
    else:
        n_panels = 1 if ax is not None else math.ceil(len(columns) / MATRIX_PANEL_ROWS)
        per = math.ceil(len(columns) / n_panels)
        panels = [
            (columns[k : k + per], column_labels[k : k + per]) for k in range(0, len(columns), per)
        ]
        longest = max((len(label) for label in column_labels), default=10)
        panel_width = 0.062 * longest + 0.3 * len(rows) + 0.9
        size = (panel_width * len(panels) + 1.6, 0.2 * per + 2.0)
    if ax is not None:
        fig, axes = _axes(ax, size)[0], [ax]
    else:
        fig = Figure(figsize=size, layout="constrained")
        axes = list(fig.subplots(1, len(panels), squeeze=False)[0])
    seen: set[str] = set()
    bad = 0
    for panel_ax, (part, part_labels) in zip(axes, panels, strict=True):
        part_seen, part_bad = _draw_cells(panel_ax, rows, part, transpose)
        seen |= part_seen
        bad += part_bad
        _finish_matrix(panel_ax, labels, part, part_labels, transpose, what)
    handles = [
        Patch(color=STATUS_COLORS[s], label=f"{_STATUS_MARKS[s]} {s.replace('_', ' ')}")
        for s in STATUS_COLORS
        if s in seen
    ]
    if "not_run" in seen:
        handles.append(Patch(fill=False, edgecolor=NEUTRAL, label="not run"))
    axes[-1].legend(
        handles=handles,
        title="outcome",
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        frameon=False,
        fontsize="small",
    )
    heading = title or f"Contract conformance by {what} ({bad} failing)"
    if len(axes) > 1:
        fig.suptitle(heading)
        for panel_ax in axes:
            panel_ax.set_title(
                f"{what}s (part {axes.index(panel_ax) + 1} of {len(axes)})", fontsize="small"
            )
    else:
        axes[0].set_title(heading)
    return fig
