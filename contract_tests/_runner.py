"""Run the contract suite in a subprocess, outside the checkout, and read its report."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEVIATIONS = Path(__file__).resolve().parent / "deviations"
_IMPORTS = Path(tempfile.mkdtemp(prefix="contract-imports-"))
atexit.register(shutil.rmtree, _IMPORTS, ignore_errors=True)
(_IMPORTS / "contract_tests").symlink_to(Path(__file__).resolve().parent, target_is_directory=True)

#: A directory that makes ``contract_tests`` importable without putting the checkout
#: (and so its ``cachesim``) on ``sys.path``: child runs use the installed package.
IMPORT_ROOT = str(_IMPORTS)


@dataclass
class SuiteRun:
    """The outcome of one run of the suite."""

    spec: str
    returncode: int
    report: dict[str, Any]
    output: str

    @property
    def failed_clauses(self) -> set[str]:
        """Clauses with at least one failing test."""
        return {cid for cid, c in self.report["clauses"].items() if c["outcome"] == "failed"}

    def failing_tests(self, clause: str) -> list[str]:
        """Ids of the failing tests of ``clause``."""
        tests = self.report["clauses"][clause]["tests"]
        return [t["id"] for t in tests if t["outcome"] in ("failed", "error", "xpassed")]


def run_suite(
    spec: str, *args: str, env: dict[str, str] | None = None, timeout: float = 600
) -> SuiteRun:
    """``pytest --pyargs cachesim.contract --cache-provider spec`` from a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="contract-run-") as tmp:
        report = Path(tmp) / "report.json"
        command = [
            sys.executable,
            "-m",
            "pytest",
            "--pyargs",
            "cachesim.contract",
            "--cache-provider",
            spec,
            "--contract-report",
            str(report),
            "-q",
            "-p",
            "no:cacheprovider",
            *args,
        ]
        environment = dict(os.environ if env is None else env)
        environment["PYTHONPATH"] = IMPORT_ROOT
        proc = subprocess.run(
            command,
            cwd=tmp,
            env=environment,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        data = json.loads(report.read_text("utf-8")) if report.exists() else {}
        return SuiteRun(spec, proc.returncode, data, proc.stdout + proc.stderr)
