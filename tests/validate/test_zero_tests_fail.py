"""A validation run that validated nothing must fail, not look green."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

SKIP_ALL = """
import pytest


def pytest_runtest_setup(item):
    pytest.skip("skipped by the test of the zero-tests rule")
"""


def _pytest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "skip_all_plugin.py").write_text(SKIP_ALL)
    return subprocess.run(
        [sys.executable, "-m", "pytest", str(HERE), "-p", "no:cacheprovider", "-q", *args],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_run_where_every_validation_test_skipped_fails(tmp_path: Path) -> None:
    run = _pytest(tmp_path, "-p", "skip_all_plugin", "-k", "unknown_name")
    assert run.returncode == 1, f"all skipped must fail the run:\n{run.stdout}\n{run.stderr}"
    assert "none passed (all skipped): nothing was validated" in run.stdout


def test_a_run_that_selects_no_validation_test_fails(tmp_path: Path) -> None:
    run = _pytest(tmp_path, "-k", "no_test_has_this_name")
    assert run.returncode == 5, "pytest's 'no tests ran' exit code stands"
