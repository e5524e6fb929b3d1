"""`cachesim simulate`: request rates that make TTLs matter, --plot, shipped trace names."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cachesim.cli import main
from cachesim.cli._simsource import DEFAULT_RATE
from cachesim.sim import Workload, write_trace


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, object]:
    assert main(["simulate", *argv, "--json"]) == 0
    out: dict[str, object] = json.loads(capsys.readouterr().out)
    return out


def test_the_default_rate_is_shown_in_help_and_output(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["simulate", "--help"])
    assert f"(default {DEFAULT_RATE:g}" in " ".join(capsys.readouterr().out.split())
    assert main(["simulate", "--trace", "web07", "--capacity", "1000", "--ttl", "60"]) == 0
    out = capsys.readouterr().out
    assert f"(Poisson arrivals at --rate {DEFAULT_RATE:g})" in out
    assert "requests/s over" in out
    result = _json(capsys, "--trace", "web07")
    assert result["request_rate"] == DEFAULT_RATE
    assert result["duration_s"] == pytest.approx(76_118 / DEFAULT_RATE, rel=0.02)


def test_a_ttl_matters_more_the_slower_requests_arrive(capsys: pytest.CaptureFixture[str]) -> None:
    common = ("--trace", "web07", "--capacity", "none", "--ttl", "60")
    slow = _json(capsys, *common, "--rate", "5")
    fast = _json(capsys, *common, "--rate", "5000")
    assert slow["expirations"] > 10 * max(1, fast["expirations"])  # type: ignore[operator]
    assert slow["hit_ratio"] < fast["hit_ratio"], "expired entries cost hits at a low rate"  # type: ignore[operator]
    assert fast["request_rate"] == 5000


def test_opt_counts_no_evictions_where_lru_needs_none(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--requests", "200000", "--capacity", "0.05", "--ttl", "300",
                 "--policy", "lru,opt", "--rate", "1", "--json"]) == 0  # fmt: skip
    lru, opt = json.loads(capsys.readouterr().out)
    assert lru["evictions"] == 0, "at 1 request/s a 300 s TTL keeps fewer entries than fit"
    assert opt["evictions"] == 0, "OPT evicts nothing that expiry already removed"
    assert opt["hits"] >= lru["hits"]


def test_a_trace_with_timestamps_keeps_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    w = Workload(np.arange(1_000) % 50, time=np.arange(1_000) * 0.5, name="timed")
    path = write_trace(w, tmp_path / "timed.csv")
    result = _json(capsys, "--trace", str(path))
    assert result["request_rate"] is None
    assert result["duration_s"] == pytest.approx(499.5)
    with pytest.raises(SystemExit, match="has its own timestamps"):
        main(["simulate", "--trace", str(path), "--rate", "10"])


def test_plot_writes_the_hit_ratio_over_time_of_each_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    png = tmp_path / "hits.png"
    argv = ["simulate", "--trace", "web12", "--policy", "lru,s3fifo", "--plot", str(png)]
    assert main(argv) == 0
    assert f"plot saved to {png}" in capsys.readouterr().out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["simulate", "--trace", "web12", "--plot", str(tmp_path / "no" / "x.png")]) == 2
    assert "cannot write the plot" in capsys.readouterr().err


def test_a_file_named_like_a_dataset_wins(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write_trace(Workload(np.arange(10) % 3), tmp_path / "web07", format="txt")
    assert _json(capsys, "--trace", "web07", "--format", "txt")["requests"] == 10
