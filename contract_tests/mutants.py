"""Mutation testing of the contract suite: every broken provider must be caught.

    python contract_tests/mutants.py [--jobs N] [--only NAME,...]

Each provider in ``contract_tests/broken`` has one deliberate bug and is named for
the clause that must catch it (``CATALOGUE``). For each one the suite runs in a
subprocess, from a temporary directory, restricted to the tests citing that
clause (``--contract-clauses``), in the ``quick`` profile (the model-based test
without shrinking) and stopping at the first failure (``-x``). A mutant is *killed*
when its clause fails; the script prints the kill rate and fails unless every
mutant is killed. First, the correct providers the mutants derive from run the
whole quick profile and must pass: a suite that fails everything kills nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# contract_tests importable without putting the checkout (and its cachesim) on sys.path
_ROOT = Path(tempfile.mkdtemp(prefix="contract-mutants-"))
(_ROOT / "contract_tests").symlink_to(HERE, target_is_directory=True)
sys.path.insert(0, str(_ROOT))

import hypothesis  # noqa: E402,F401  (imported once here, shared by every forked run)
import pytest  # noqa: E402

import cachesim.contract.session  # noqa: E402
import cachesim.contract.suite.test_stateful  # noqa: E402,F401
from contract_tests._runner import DEVIATIONS, SuiteRun  # noqa: E402
from contract_tests.broken import CATALOGUE  # noqa: E402

CONTROLS = ("reference", "sql_reference", "scan_reference")
_QUICK = ("--contract-profile", "quick", "--contract-deviations", str(DEVIATIONS / "core.json"))


def _spec(name: str) -> str:
    return f"contract_tests.broken.{name}:factory"


def _argv(name: str, report: Path, mutant: bool) -> list[str]:
    argv = ["--pyargs", "cachesim.contract", "--cache-provider", _spec(name)]
    argv += ["--contract-report", str(report), "-q", "-p", "no:cacheprovider", *_QUICK]
    if mutant:  # the tests of the mutant's clauses, stopping at the first failure
        argv += ["--contract-clauses", ",".join(sorted(CATALOGUE[name][1])), "-x"]
    return argv


def _run_all(jobs: int, tasks: list[tuple[str, bool]]) -> list[tuple[str, SuiteRun, float]]:
    """Run each task in a process forked from this one (the imports are already done)."""
    work = Path(tempfile.mkdtemp(prefix="contract-mutant-runs-"))
    pending = list(enumerate(tasks))
    running: dict[int, tuple[int, str, float]] = {}
    done: dict[int, tuple[str, SuiteRun, float]] = {}
    try:
        while pending or running:
            while pending and len(running) < jobs:
                index, (name, mutant) = pending.pop(0)
                report, log = work / f"{index}.json", work / f"{index}.log"
                pid = os.fork()
                if pid == 0:  # the child: one pytest session, then exit
                    code = 3
                    try:
                        os.chdir(work)
                        fd = os.open(log, os.O_WRONLY | os.O_CREAT, 0o600)
                        os.dup2(fd, 1)
                        os.dup2(fd, 2)
                        code = int(pytest.main(_argv(name, report, mutant)))
                    finally:
                        os._exit(code)
                running[pid] = (index, name, time.perf_counter())
            pid, status = os.wait()
            index, name, began = running.pop(pid)
            report, log = work / f"{index}.json", work / f"{index}.log"
            data = json.loads(report.read_text("utf-8")) if report.exists() else {}
            output = log.read_text("utf-8", "replace") if log.exists() else ""
            code = os.waitstatus_to_exitcode(status)
            done[index] = (name, SuiteRun(name, code, data, output), time.perf_counter() - began)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return [done[i] for i in sorted(done)]


def main(argv: list[str] | None = None) -> int:
    """Run controls and mutants; 0 only if the controls pass and every mutant is killed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=max(2, os.cpu_count() or 2))
    parser.add_argument("--only", help="comma-separated mutant names")
    args = parser.parse_args(argv)
    names = sorted(CATALOGUE) if not args.only else args.only.split(",")
    unknown = [n for n in names if n not in CATALOGUE]
    if unknown:
        print(f"unknown mutants: {unknown}", file=sys.stderr)
        return 2
    began = time.perf_counter()
    failed_controls = []
    results = _run_all(args.jobs, [(n, False) for n in CONTROLS] + [(n, True) for n in names])
    for name, run, seconds in results[: len(CONTROLS)]:
        ok = run.returncode == 0 and not run.failed_clauses
        print(f"control  {name:<34} {'pass' if ok else 'FAIL':<8} {seconds:5.1f}s")
        if not ok:
            failed_controls.append(name)
            print(run.output[-3000:], file=sys.stderr)
    results = results[len(CONTROLS) :]
    survivors = []
    for name, run, seconds in results:
        what, expected = CATALOGUE[name]
        caught = sorted(run.failed_clauses & expected)
        killed = run.returncode == 1 and bool(caught)
        if not killed:
            survivors.append(name)
        where = ",".join(caught) if killed else "SURVIVED"
        test = run.failing_tests(caught[0])[0] if killed and run.failing_tests(caught[0]) else ""
        print(f"mutant   {name:<34} {where:<14} {seconds:5.1f}s  {what}  {test}")
        if not killed and run.returncode not in (0, 1):
            print(run.output[-2000:], file=sys.stderr)
    killed_count = len(names) - len(survivors)
    print(
        f"\nkill rate: {killed_count}/{len(names)} = {killed_count / len(names):.0%} "
        f"in {time.perf_counter() - began:.0f} s ({args.jobs} processes)"
    )
    if survivors:
        print(f"survivors: {', '.join(survivors)}", file=sys.stderr)
    if failed_controls:
        print(f"correct providers failed: {', '.join(failed_controls)}", file=sys.stderr)
    return 1 if survivors or failed_controls else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        shutil.rmtree(_ROOT, ignore_errors=True)
