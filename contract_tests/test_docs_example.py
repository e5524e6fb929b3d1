"""The provider example in docs/contract.md is complete: copied as is, it passes the suite."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from contract_tests._runner import DEVIATIONS, ROOT


def test_documented_provider_passes_the_suite(tmp_path: Path) -> None:
    text = (ROOT / "docs" / "contract.md").read_text("utf-8")
    block = next(b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "my_cache/" in b)
    package = tmp_path / "my_cache"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "provider.py").write_text(block)
    work = tmp_path / "elsewhere"
    work.mkdir()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "cachesim",
            "contract",
            "my_cache.provider:make_provider",
            "--deviations",
            str(DEVIATIONS / "core.json"),
            "-m",
            "not stateful",
            "-q",
        ],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "provider dict (my_cache.provider:make_provider): PASSED" in proc.stdout
