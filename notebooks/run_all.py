"""Execute every notebook in this folder from a clean kernel; exit non-zero on any error.

Outputs are not written back: notebooks are stored without outputs.
Usage: ``python notebooks/run_all.py [NAME_FRAGMENT ...]`` (or ``nox -s notebooks``).

Speed is not judged here: a busy machine may take several times longer than a quiet
one.  The per-cell timeout only stops a cell that hangs.  The kernel talks to this
process over local IPC sockets in a private temporary directory (no TCP port, nothing
for anyone else to connect to).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError
from traitlets.config import Config

HERE = Path(__file__).resolve().parent
#: seconds a single cell may run before it is considered hung (a guard, not a target)
HANG_GUARD = 20 * 60


def run(path: Path) -> float:
    """Execute one notebook in its own folder; return the wall time."""
    notebook = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory(prefix="nb-") as sockets:
        ipc = {"transport": "ipc", "ip": str(Path(sockets) / "kernel")}
        client = NotebookClient(
            notebook,
            config=Config({"KernelManager": ipc, "AsyncKernelManager": ipc}),
            timeout=HANG_GUARD,
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
        except CellTimeoutError as exc:
            failures += 1
            print(f"HUNG     {path.name}: a cell ran over {HANG_GUARD} s\n{exc}", file=sys.stderr)
            continue
        except CellExecutionError as exc:
            failures += 1
            print(f"FAILED   {path.name}:\n{exc}", file=sys.stderr)
            continue
        print(f"ok       {path.name}  {seconds:6.1f} s")
    print(f"{len(paths) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
