"""Any cachesim command piped into ``head`` stops quietly: no BrokenPipeError traceback."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

COMMANDS = [
    "check --json",
    "check",
    "simulate --trace web07 --window 100",
    "mrc --trace web07 --json",
    "--help",
    "contract memory --profile smoke -v",
]


@pytest.mark.parametrize("command", COMMANDS)
def test_piping_into_head_prints_no_traceback(command: str, tmp_path: Path) -> None:
    if shutil.which("head") is None:
        pytest.skip("no head(1) on this system")
    err = tmp_path / "stderr.txt"
    cachesim = f"{shlex.quote(sys.executable)} -m cachesim {command}"
    pipeline = f"{cachesim} 2>{shlex.quote(str(err))} | head -c 20; echo; echo ${{PIPESTATUS[0]}}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CACHE_", "UPSTASH_"))}
    run = subprocess.run(
        ["bash", "-c", pipeline],
        cwd=tmp_path,
        env={**env, "MPLBACKEND": "Agg"},
        capture_output=True,
        text=True,
        timeout=1_200,  # a hang guard only
        check=False,
    )
    status = int(run.stdout.strip().splitlines()[-1])
    errors = err.read_text()
    assert "Traceback" not in errors and "BrokenPipe" not in errors, errors
    assert status in (0, 141), f"exit 0 (all written) or 141 (reader left early), got {status}"
    assert len(run.stdout.splitlines()[0]) <= 20
