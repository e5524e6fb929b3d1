"""Reliability figures: the secrets scan (every output searched for every credential)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest


def _load(name: str) -> ModuleType:
    """The scan shared with the quick test in tests/ (one copy of it)."""
    path = Path(__file__).resolve().parents[1] / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_cachesim_reliability_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


secrets = _load("test_secrets")


def test_secrets_scan(
    redis_url: str, caplog: pytest.LogCaptureFixture, reliability_report: Any
) -> None:
    capture = secrets.secrets_scan(redis_url, caplog, cli=True)
    hits = capture.hits()
    sources = sorted({source.split(": ")[-1] for source, _ in capture.outputs})
    figures = {
        "outputs_scanned": len(capture.outputs),
        "secrets": len(secrets.SECRETS),
        "kinds_of_output": len(sources),
        "hits": len(hits),
        "hit_sources": sorted({source for source, _ in hits}),
    }
    reliability_report.record(
        "secrets_scan",
        figures,
        f"secrets scan: {len(capture.outputs)} outputs (settings, reprs, logs, exceptions, "
        f"`cachesim check` stdout/stderr) searched for {len(secrets.SECRETS)} secrets: "
        f"{len(hits)} hits",
    )
    assert hits == [], f"credentials leaked into: {figures['hit_sources']}"
