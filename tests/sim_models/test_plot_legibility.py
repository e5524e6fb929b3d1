"""Every plot explains itself: a title, axis labels with units, a legend naming each line,
and colours that read on light and dark backgrounds alike."""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib import colors as mcolors
from matplotlib import style
from matplotlib.figure import Figure

from cachesim.sim import (
    ORIGINS,
    estimate_many,
    miss_ratio_curve,
    plots,
    simulate,
    sweep,
    with_rate,
    zipf,
)

matplotlib.use("Agg")

#: axis labels that name categories, not quantities (no unit to state)
CATEGORICAL = {"provider", "contract clause", "capability"}
THEMES = ("default", "dark_background")


@functools.cache
def _workload() -> Any:
    return with_rate(zipf(400, 5_000, alpha=0.9, seed=3), 20.0, seed=3)


@functools.cache
def _estimates() -> pd.DataFrame:
    result = simulate(_workload(), capacity=80)
    return estimate_many(result, ["memory", "redis-same-az", "upstash"], request_rate=100)


def _report(name: str, failing: str | None = None) -> dict[str, Any]:
    clauses = {
        f"TTL-{i}": {"outcome": "failed" if f"TTL-{i}" == failing else "passed", "title": "t"}
        for i in range(1, 4)
    }
    return {"provider": name, "clauses": clauses}


def _mrc() -> Figure:
    w = _workload()
    sizes = [10, 40, 160]
    frames = [
        miss_ratio_curve(w, sizes).assign(policy="lru"),
        miss_ratio_curve(w, sizes, method="simulate", policy="s3fifo").assign(policy="s3fifo"),
        miss_ratio_curve(w, sizes, method="simulate", policy="arc").assign(policy="arc"),
    ]
    opt = miss_ratio_curve(w, sizes, method="simulate", policy="opt")
    return plots.plot_mrc(pd.concat(frames), opt=opt, workload=w)


def _over_time() -> Figure:
    w = _workload()
    runs = {p: simulate(w, 80, p, window_seconds=20.0) for p in ("lru", "s3fifo")}
    return plots.plot_hit_ratio_over_time(runs)


PLOTS: dict[str, Callable[[], Figure]] = {
    "mrc": _mrc,
    "hit_ratio_over_time": _over_time,
    "origin_load": lambda: plots.plot_origin_load(
        simulate(_workload(), 80, window_seconds=20.0), request_rate=100
    ),
    "latency_cdf": lambda: plots.plot_latency_cdf(
        {"no cache": ORIGINS["database"], "memory": np.full(500, 0.0004)}
    ),
    "latency_percentiles": lambda: plots.plot_latency_percentiles(_estimates()),
    "cost": lambda: plots.plot_cost(_estimates()),
    "ttl_capacity_heatmap": lambda: plots.plot_ttl_capacity_heatmap(
        sweep(_workload(), capacity=[40, 160], ttl=[30, None], progress=False)
    ),
    "conformance_matrix": lambda: plots.plot_conformance_matrix(
        [_report("memory"), _report("broken", failing="TTL-2")]
    ),
}


def _luminance(color: Any) -> float:
    r, g, b = (
        c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in mcolors.to_rgb(color)
    )
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a: Any, b: Any) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _data_axes(fig: Figure) -> list[Any]:
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("name", sorted(PLOTS))
def test_each_plot_has_title_units_and_a_legend_for_every_line(name: str, theme: str) -> None:
    with style.context(theme):
        fig = PLOTS[name]()
        fig.savefig(io.BytesIO(), format="png", dpi=50)  # renders: layout and text resolve
    background = fig.get_facecolor()
    title = fig._suptitle.get_text() if fig._suptitle is not None else ""  # type: ignore[attr-defined]
    for ax in _data_axes(fig):
        title = title or ax.get_title()
        for label in (ax.get_xlabel(), ax.get_ylabel()):
            assert label, f"{name}: every axis is labelled"
            if label not in CATEGORICAL:
                assert "(" in label and label.endswith(")"), f"{name}: {label!r} states its unit"
        legend = ax.get_legend()
        named = [
            artist.get_label()
            for artist in [*ax.get_lines(), *ax.collections, *ax.containers]
            if not str(artist.get_label()).startswith("_")
        ]
        if name == "ttl_capacity_heatmap":  # a colour scale, not lines: the colour bar is named
            bar = [a for a in fig.axes if a.get_label() == "<colorbar>"]
            assert bar and bar[0].get_ylabel() == "hit ratio (%)"
            continue
        if name == "conformance_matrix" and ax is not _data_axes(fig)[-1]:
            continue  # one legend for all panels
        if not named and name == "cost":
            assert ax.get_yticklabels(), "one bar per provider, named on the axis"
            continue
        assert legend is not None, f"{name}: a legend"
        texts = [t.get_text() for t in legend.get_texts()]
        assert texts, f"{name}: the legend names something"
        for label in named:
            assert str(label) in texts, f"{name}: line {label!r} is in the legend"
        for line in ax.get_lines():
            if not str(line.get_label()).startswith("_"):
                contrast = _contrast(line.get_color(), background)
                assert contrast >= 2.0, f"{name} on {theme}: {line.get_label()} is readable"
        for text in texts:
            assert text.strip(), f"{name}: no empty legend entry"
        assert _contrast(ax.xaxis.label.get_color(), background) >= 4.5, (
            f"{name} on {theme}: axis text follows the theme"
        )
    assert title, f"{name}: a title"


def test_overlapping_policies_are_told_apart_by_marker_and_dash() -> None:
    ax = _mrc().axes[0]
    lines = [line for line in ax.get_lines() if line.get_label() in ("lru", "s3fifo", "arc")]
    assert len(lines) == 3
    assert len({line.get_marker() for line in lines}) == 3, "each policy has its own marker"
    assert len({str(line.get_linestyle()) for line in lines}) == 3, "and its own dash pattern"


def test_a_modelled_latency_line_says_so() -> None:
    fig = plots.plot_latency_cdf({"no cache": ORIGINS["database"], "memory": np.full(50, 0.001)})
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "model)" in texts[0], "the no-cache line is a model and its legend says so"
    assert "model" not in texts[1], "measured samples are not called a model"


def test_a_long_conformance_matrix_wraps_into_panels_with_full_titles() -> None:
    title = "Expired entries are invisible everywhere, on every provider"
    report = {
        "provider": "memory",
        "clauses": {f"C-{i}": {"outcome": "passed", "title": title} for i in range(90)},
    }
    fig = plots.plot_conformance_matrix([report, {**report, "provider": "redis"}])
    panels = _data_axes(fig)
    assert len(panels) == 3, "90 clauses wrap into panels of at most 40 rows"
    assert fig.get_size_inches()[1] < 12, "the figure stays compact"
    labels = [t.get_text() for ax in panels for t in ax.get_yticklabels()]
    assert len(labels) == 90 and all(label.endswith(title) for label in labels), "full titles"
