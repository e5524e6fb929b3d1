"""Execute every notebook in this folder from a clean kernel; exit non-zero on any error.

Outputs are not written back: notebooks are stored without outputs.
Usage: ``python notebooks/run_all.py [NAME_FRAGMENT ...]`` (or ``nox -s notebooks``).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

HERE = Path(__file__).resolve().parent
TIME_LIMIT = 120.0  # seconds per notebook on a 2-core machine


def run(path: Path) -> float:
    """Execute one notebook in its own folder; return the wall time."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=TIME_LIMIT,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def main(argv: list[str]) -> int:
    """Run the selected notebooks (all by default) and report each one's time."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    paths = sorted(HERE.glob("*.ipynb"))
    if argv:
        paths = [p for p in paths if any(fragment in p.name for fragment in argv)]
    if not paths:
        print("no notebooks found", file=sys.stderr)
        return 1
    failures = 0
    for path in paths:
        try:
            seconds = run(path)
        except CellExecutionError as exc:
            failures += 1
            print(f"FAILED {path.name}:\n{exc}", file=sys.stderr)
            continue
        verdict = "ok" if seconds <= TIME_LIMIT else "TOO SLOW"
        failures += seconds > TIME_LIMIT
        print(f"{verdict:<8} {path.name}  {seconds:6.1f} s")
    print(f"{len(paths) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
