"""``cachesim simulate`` and ``cachesim mrc`` from the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cachesim.cli import main
from cachesim.sim import load_trace, miss_ratio_curve, simulate, write_trace, zipf


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_simulate_with_no_arguments_runs_the_default_workload() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cachesim", "simulate"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "zipf" in done.stdout and "hit ratio" in done.stdout
    expected = simulate(zipf(10_000, 1_000_000, 0.99, 0), 1_000, "lru").hit_ratio
    assert f"{expected:.4f}" in done.stdout


def test_simulate_json_has_the_pinned_fields(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(
        capsys, "simulate", "--requests", "20000", "--capacity", "100", "--policy", "fifo", "--json"
    )
    assert code == 0
    data = json.loads(out)
    for name in ("requests", "hits", "misses", "hit_ratio", "seconds", "requests_per_second"):
        assert name in data
    assert data["requests"] == 20_000 and data["policy"] == "fifo"
    assert data["hits"] + data["misses"] == data["requests"]
    assert data["hit_ratio"] == simulate(zipf(10_000, 20_000, 0.99, 0), 100, "fifo").hit_ratio


def test_simulate_a_trace_with_ttl_and_several_policies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = write_trace(zipf(500, 5_000, seed=3), tmp_path / "t.txt.gz")
    code, out, _ = _run(
        capsys,
        "simulate",
        "--trace",
        str(trace),
        "--capacity",
        "0.1",
        "--policy",
        "lru,opt",
        "--ttl",
        "100",
        "--window",
        "1000",
        "--json",
    )
    assert code == 0
    rows = json.loads(out)
    assert [r["policy"] for r in rows] == ["lru", "opt"]
    assert rows[0]["capacity"] == load_trace(trace).n_unique // 10
    assert rows[0]["hits"] <= rows[1]["hits"]
    assert len(rows[0]["windows"]) == 5
    code, out, _ = _run(capsys, "simulate", "--trace", str(trace), "--policy", "s3fifo,lru")
    assert code == 0 and "s3fifo" in out and "lru" in out


def test_simulate_reports_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "simulate", "--requests", "100", "--policy", "nope")
    assert code == 2 and "unknown eviction policy" in err
    code, _, err = _run(capsys, "simulate", "--trace", str(tmp_path / "missing.txt"))
    assert code == 2 and "missing.txt" in err
    code, _, err = _run(capsys, "simulate", "--capacity", "lots")
    assert code == 2 and "--capacity" in err


def test_mrc_json_and_table_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    w = zipf(2_000, 30_000, 0.9, seed=5)
    trace = write_trace(w, tmp_path / "t.oracleGeneral.zst")
    code, out, _ = _run(capsys, "mrc", "--trace", str(trace), "--sizes", "10,100,1000", "--json")
    assert code == 0
    rows = json.loads(out)
    expected = miss_ratio_curve(w, [10, 100, 1_000])
    assert [r["capacity"] for r in rows] == [10, 100, 1_000]
    assert [r["hit_ratio"] for r in rows] == expected["hit_ratio"].tolist()
    plot = tmp_path / "mrc.png"
    code, out, _ = _run(
        capsys, "mrc", "--trace", str(trace), "--method", "shards", "--plot", str(plot)
    )
    assert code == 0 and "shards" in out and "capacity" in out
    assert plot.read_bytes()[:4] == b"\x89PNG"
    code, out, _ = _run(
        capsys, "mrc", "--requests", "5000", "--method", "simulate", "--policy", "arc", "--json"
    )
    assert code == 0 and len(json.loads(out)) >= 3
    code, _, err = _run(capsys, "mrc", "--requests", "100", "--sizes", "a,b")
    assert code == 2 and "--sizes" in err
