"""Every plot returns a Figure with the expected labels and lines, and saves as PNG."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from cachesim.sim import (
    OP_DELETE,
    OP_GET,
    OP_SET,
    Workload,
    miss_ratio_curve,
    simulate,
    with_rate,
    zipf,
)
from cachesim.sim.live import LiveResult
from cachesim.sim.models import LatencyModel, estimate_many, latency_samples
from cachesim.sim.plots import (
    COLORS,
    NEUTRAL,
    infinite_cache_hit_ratio,
    plot_conformance_matrix,
    plot_cost,
    plot_hit_ratio_over_time,
    plot_latency_cdf,
    plot_latency_percentiles,
    plot_mrc,
    plot_origin_load,
    plot_ttl_capacity_heatmap,
)

matplotlib.use("Agg")

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def workload() -> Workload:
    return with_rate(zipf(500, 6000, alpha=0.9, seed=2), 20.0, seed=2)


@pytest.fixture(scope="module")
def result(workload: Workload) -> object:
    return simulate(workload, capacity=100, policy="lru", warmup=1000, window_seconds=15.0)


def _saved(fig: Figure, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    fig.savefig(path, dpi=60)
    assert path.read_bytes()[:8] == PNG


def _labels(fig: Figure) -> tuple[str, str]:
    ax = fig.axes[0]
    return ax.get_xlabel(), ax.get_ylabel()


def test_no_pyplot_state_is_touched(workload: Workload, tmp_path: Path) -> None:
    fig = plot_mrc(pd.DataFrame({"capacity": [1, 10], "hit_ratio": [0.1, 0.5]}))
    assert isinstance(fig, Figure)
    if "matplotlib.pyplot" in sys.modules:
        assert sys.modules["matplotlib.pyplot"].get_fignums() == []


def test_mrc_with_policies_opt_and_infinite_ceiling(workload: Workload, tmp_path: Path) -> None:
    rows = [
        {"policy": policy, "capacity": c, "hit_ratio": simulate(workload, c, policy).hit_ratio}
        for policy in ("lru", "fifo", "opt")
        for c in (10, 50, 200, 500)
    ]
    fig = plot_mrc(pd.DataFrame(rows), workload=workload)
    assert _labels(fig) == ("cache size (entries)", "hit ratio (%)")
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[:3] == ["lru", "fifo", "OPT (Belady)"]
    assert labels[3].startswith("infinite cache")
    assert ax.get_xscale() == "linear"  # 10..500 spans less than two decades
    ceiling = ax.get_lines()[3].get_ydata()[0]
    assert ceiling == pytest.approx(infinite_cache_hit_ratio(workload))
    _saved(fig, tmp_path, "mrc")
    assert plot_mrc({"a": pd.DataFrame(rows[:4])}, logx=True).axes[0].get_xscale() == "log"


def test_mrc_from_miss_ratio_curve_frames(workload: Workload) -> None:
    sizes = [5, 50, 500]
    lru = miss_ratio_curve(workload, sizes)
    opt = miss_ratio_curve(workload, sizes, method="simulate", policy="opt")
    ax = plot_mrc(lru, opt=opt).axes[0]
    assert [line.get_label() for line in ax.get_lines()] == ["lru (exact)", "OPT (Belady)"]
    assert ax.get_xscale() == "linear"
    assert plot_mrc(lru, logx=True).axes[0].get_xscale() == "log"
    assert list(ax.get_lines()[0].get_xdata()) == sizes


def test_infinite_cache_ceiling_counts_first_reads_only() -> None:
    assert infinite_cache_hit_ratio(Workload(np.array([1, 1, 2, 1]))) == 0.5
    ops = np.array([OP_SET, OP_GET, OP_DELETE, OP_GET, OP_GET])
    writes = Workload(np.array([7, 7, 7, 7, 7]), op=ops)
    assert infinite_cache_hit_ratio(writes) == pytest.approx(2 / 3)


def test_hit_ratio_over_time_marks_the_warmup(result: object, tmp_path: Path) -> None:
    fig = plot_hit_ratio_over_time(result)
    ax = fig.axes[0]
    assert _labels(fig) == ("time (s)", "hit ratio (%)")
    assert ax.get_lines()[0].get_label() == "hit ratio"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "warm-up" in legend
    _saved(fig, tmp_path, "time")
    windows = result.windows
    overlay = plot_hit_ratio_over_time({"a": windows, "b": windows}, warmup_end=None)
    assert len([ln for ln in overlay.axes[0].get_lines() if ln.get_label() in "ab"]) == 2


def test_time_plots_explain_missing_windows(workload: Workload) -> None:
    with pytest.raises(ValueError, match="window_seconds"):
        plot_hit_ratio_over_time(simulate(workload, capacity=10))


def test_origin_load_with_and_without_cache(result: object, tmp_path: Path) -> None:
    fig = plot_origin_load(result, request_rate=200.0)
    ax = fig.axes[0]
    assert _labels(fig) == ("time (s)", "origin load (requests/s)")
    without, with_cache = ax.get_lines()[:2]
    assert without.get_label() == "without cache"
    assert np.mean(without.get_ydata()) == pytest.approx(200.0, rel=0.05)
    assert np.all(np.asarray(with_cache.get_ydata()) < np.asarray(without.get_ydata()))
    _saved(fig, tmp_path, "origin")


def _short_last_window() -> Workload:
    """1,000 reads of 10 keys at 1 per second, then 2 reads of new keys just after."""
    keys = np.r_[np.arange(1000) % 10, [10, 11]].astype(np.int64)
    times = np.r_[np.arange(1000.0), [1000.2, 1000.4]]
    return Workload(keys, time=times)


def test_a_partial_last_window_draws_no_dip() -> None:
    result = simulate(_short_last_window(), capacity=20, window_seconds=100.0)
    windows = result.windows
    assert windows["requests"].tolist()[-1] == 2 and windows["hit_ratio"].tolist()[-1] == 0
    line = plot_hit_ratio_over_time(result).axes[0].get_lines()[0]
    assert len(line.get_xdata()) == len(windows) - 1
    assert min(line.get_ydata()) == pytest.approx(0.9)  # the cold start; no dip at the end
    with_cache = plot_origin_load(result).axes[0].get_lines()[1]
    assert list(with_cache.get_xdata()) == list(line.get_xdata())  # the same windows


def test_a_last_window_that_is_merely_smaller_is_drawn() -> None:
    frame = pd.DataFrame(
        {
            "start": [0.0, 10.0, 20.0, 30.0],
            "end": [10.0, 20.0, 30.0, 40.0],
            "requests": [100, 100, 100, 60],
            "hits": [80, 80, 80, 48],
        }
    ).assign(hit_ratio=lambda f: f["hits"] / f["requests"])
    assert len(plot_hit_ratio_over_time(frame).axes[0].get_lines()[0].get_xdata()) == 4
    assert len(plot_origin_load(frame).axes[0].get_lines()[1].get_xdata()) == 4


def _cdf_curves(fig: Figure) -> dict[str, Line2D]:
    """Each CDF line's label (before its percentiles) and the line."""
    lines = fig.axes[0].get_lines()
    return {str(ln.get_label()).split(" (")[0]: ln for ln in lines if "p50" in str(ln.get_label())}


def test_latency_cdf_of_a_live_result_leaves_out_the_warmup() -> None:
    latencies = np.r_[np.full(50, 1.0), np.full(150, 0.002)]  # a slow cold start, then 2 ms
    live = LiveResult(
        provider="memory",
        mode="get_or_set",
        clients=1,
        virtual=True,
        requests=150,
        hits=150,
        misses=0,
        writes=0,
        deletes=0,
        warmup=50,
        origin_reads=0,
        origin_writes=0,
        stampedes=0,
        errors=0,
        seconds=1.0,
        commands=0,
        latencies=latencies,
        outcomes=np.zeros(200, dtype=np.uint8),
    )
    curve = _cdf_curves(plot_latency_cdf({"live": live}))["live"]
    assert curve.get_label() == "live (p50 2, p95 2, p99 2 ms)"
    assert max(curve.get_xdata()) == pytest.approx(2.0)
    shortcut = _cdf_curves(live.plot("latency"))["all"]  # the same requests as the shortcut
    assert list(shortcut.get_xdata()) == list(curve.get_xdata())


def test_latency_cdf_providers_take_the_palette_in_order() -> None:
    rng = np.random.default_rng(0)
    samples = {
        name: rng.lognormal(np.log(p50), 0.5, 500)
        for name, p50 in (("no cache", 0.01), ("memory", 0.001), ("redis", 0.002))
    }
    samples["upstash"] = rng.lognormal(np.log(0.005), 0.5, 500)
    fig = plot_latency_cdf(samples)
    colours = {name: line.get_color() for name, line in _cdf_curves(fig).items()}
    assert colours == {
        "no cache": NEUTRAL,
        "memory": COLORS[0],
        "redis": COLORS[1],
        "upstash": COLORS[2],
    }
    markers = [ln for ln in fig.axes[0].get_lines() if ln.get_linestyle() == "None"]
    assert {ln.get_color() for ln in markers} == set(colours.values())


def test_latency_cdf_and_percentiles(result: object, tmp_path: Path) -> None:
    samples = latency_samples(result, ["memory", "upstash"], samples=5000)
    samples_with_model: dict[str, object] = {**samples, "db": LatencyModel.fixed(0.005)}
    fig = plot_latency_cdf(samples_with_model)
    ax = fig.axes[0]
    assert _labels(fig) == ("response time (ms)", "requests answered within (%)")
    curves = [line for line in ax.get_lines() if "p50" in str(line.get_label())]
    assert len(curves) == 4
    assert curves[0].get_label().startswith("no cache (p50")
    assert ax.get_xscale() == "log"
    _saved(fig, tmp_path, "cdf")

    frame = estimate_many(result, ["memory", "redis", "upstash"], request_rate=100)
    fig = plot_latency_percentiles(frame)
    ax = fig.axes[0]
    assert _labels(fig) == ("provider", "response time (ms)")
    assert len(ax.patches) == 9  # 3 providers x p50/p95/p99
    baselines = [line.get_label() for line in ax.get_lines()]
    assert baselines[0].startswith("p50 without cache")
    _saved(fig, tmp_path, "percentiles")


def test_cost_per_provider(result: object, tmp_path: Path) -> None:
    frame = estimate_many(result, ["memory", "upstash"], request_rate=100)
    fig = plot_cost(frame)
    ax = fig.axes[0]
    assert _labels(fig) == ("monthly cost (USD)", "provider")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["memory", "upstash-same-region"]
    assert len(ax.patches) == 2
    assert ax.get_title() == "Monthly cost at 100 req/s"
    _saved(fig, tmp_path, "cost")


def test_ttl_capacity_heatmap_from_a_sweep_frame(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        [
            {"policy": "lru", "capacity": c, "ttl": t, "hit_ratio": c / 1000 + (t or 100) / 1000}
            for c in (10, 100, 500)
            for t in (None, 5.0, 60.0)
        ]
    )
    fig = plot_ttl_capacity_heatmap(frame)
    ax = fig.axes[0]
    assert _labels(fig) == ("capacity (entries)", "TTL (s)")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["5", "60", "none"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["10", "100", "500"]
    image = ax.get_images()[0].get_array()
    assert image.shape == (3, 3)
    assert image[2, 0] == pytest.approx(0.11)  # no TTL, capacity 10
    assert len(ax.texts) == 9
    _saved(fig, tmp_path, "heatmap")
    both = pd.concat([frame, frame.assign(policy="fifo")])
    with pytest.raises(ValueError, match="several policies"):
        plot_ttl_capacity_heatmap(both)
    assert plot_ttl_capacity_heatmap(both, policy="fifo").axes[0].get_title().endswith("(fifo)")


def test_conformance_matrix_from_dicts_and_json_files(tmp_path: Path) -> None:
    reports = [
        {
            "provider": "memory",
            "clauses": {"TTL-1": "passed", "TTL-10": "passed", "NS-2": "skipped"},
        },
        {"provider": "broken", "clauses": {"TTL-1": "failed", "TTL-2": "xfailed"}},
    ]
    paths = []
    for i, report in enumerate(reports):
        path = tmp_path / f"report{i}.json"
        path.write_text(json.dumps(report))
        paths.append(path)
    fig = plot_conformance_matrix(paths)
    ax = fig.axes[0]
    assert _labels(fig) == ("contract clause", "provider")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["NS-2", "TTL-1", "TTL-2", "TTL-10"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["memory", "broken"]
    assert len(ax.patches) == 5  # one cell per clause a provider reported
    assert ax.get_title() == "Contract conformance by contract clause (1 failing)"
    legend = {t.get_text() for t in ax.get_legend().get_texts()}
    assert legend == {"✓ passed", "✗ failed", "~ deviation", "– skipped"}
    _saved(fig, tmp_path, "matrix")


def _suite_report(name: str, spec: str, failing: str | None) -> dict[str, object]:
    """A report shaped like the one ``--contract-report`` writes."""
    clauses = {
        f"OP-{i}": {"title": f"operation {i}", "outcome": "passed", "counts": {"passed": 1}}
        for i in range(1, 40)
    }
    clauses["TTL-1"] = {"title": "TTL is seconds", "outcome": "not_run", "counts": {}}
    if failing:
        clauses[failing]["outcome"] = "failed"
    capabilities = {
        "TTL": {
            "declared": True,
            "tests": 3,
            "executed": 3,
            "passed": 3,
            "failed": 0,
            "xfailed": 0,
            "skipped": 0,
        },
        "EVICTION": {
            "declared": False,
            "tests": 2,
            "executed": 0,
            "passed": 0,
            "failed": 0,
            "xfailed": 0,
            "skipped": 2,
        },
        "NETWORK": {
            "declared": True,
            "tests": 0,
            "executed": 0,
            "passed": 0,
            "failed": 0,
            "xfailed": 0,
            "skipped": 0,
        },
    }
    return {
        "provider": {"name": name, "spec": spec, "capabilities": ["TTL"]},
        "outcome": "failed" if failing else "passed",
        "clauses": clauses,
        "capabilities": capabilities,
    }


def test_conformance_matrix_reads_the_suite_report_format(tmp_path: Path) -> None:
    reports = [
        _suite_report("redis", "fakeredis", None),
        _suite_report("redis", "redis://127.0.0.1:6379/0", "OP-3"),
    ]
    fig = plot_conformance_matrix(reports)
    ax = fig.axes[0]  # 40 clauses: transposed, clauses down the side with their titles
    assert _labels(fig) == ("provider", "contract clause")
    providers = [t.get_text() for t in ax.get_xticklabels()]
    assert providers == ["redis (fakeredis)", "redis (redis://127.0.0.1:6379/0)"]
    assert ax.get_yticklabels()[0].get_text() == "OP-1  operation 1"
    assert len(ax.patches) == 80
    legend = {t.get_text() for t in ax.get_legend().get_texts()}
    assert legend == {"✓ passed", "✗ failed", "not run"}
    _saved(fig, tmp_path, "suite-matrix")

    caps = plot_conformance_matrix(reports, by="capabilities").axes[0]
    assert [t.get_text() for t in caps.get_xticklabels()] == ["EVICTION", "TTL"]
    assert caps.get_xlabel() == "capability"


def test_plots_draw_on_a_given_axes() -> None:
    fig = Figure()
    left, right = fig.subplots(1, 2)
    assert plot_cost(pd.DataFrame({"provider": ["a"], "monthly_cost_usd": [1.0]}), ax=left) is fig
    frame = pd.DataFrame({"capacity": [1, 10], "hit_ratio": [0.1, 0.5]})
    assert plot_mrc(frame, ax=right, infinite=math.nan) is fig
    assert right.get_xlabel() == "cache size (entries)"


def test_live_result_plot_shortcuts(workload: Workload, tmp_path: Path) -> None:
    from cachesim import Cache
    from cachesim.clock import ManualClock
    from cachesim.providers import MemoryProvider
    from cachesim.sim.live import replay_live_sync

    def cache() -> Cache:
        provider = MemoryProvider(max_entries=50, clock=ManualClock(), sweep_interval=None)
        return Cache(provider, namespace="plot")

    live = replay_live_sync(workload[:2000], cache, warmup=200, progress=False)
    assert _labels(live.plot()) == ("time (s)", "hit ratio (%)")
    assert _labels(live.plot("origin_load")) == ("time (s)", "origin load (requests/s)")
    fig = live.plot("latency")
    assert _labels(fig) == ("response time (ms)", "requests answered within (%)")
    _saved(fig, tmp_path, "live-latency")
    with pytest.raises(ValueError, match="kind must be"):
        live.plot("nope")  # type: ignore[arg-type]
