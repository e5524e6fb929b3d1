"""SimulationResult.plot delegates to cachesim.sim.plots."""

from __future__ import annotations

import pytest

from cachesim.sim import simulate, zipf


def test_plot_shortcuts_draw_hit_ratio_and_origin_load() -> None:
    result = simulate(zipf(500, 10_000, alpha=0.9, seed=1), capacity=50, policy="lru", window=1000)
    figure = result.plot()
    assert figure.axes[0].get_ylabel().lower().startswith("hit ratio")
    assert len(figure.axes[0].lines) >= 1
    assert result.plot("origin_load").axes
    with pytest.raises(ValueError, match="unknown plot kind"):
        result.plot("pie")
