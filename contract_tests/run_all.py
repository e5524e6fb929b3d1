"""Run the provider contract suite against every built-in provider, like CI does.

    python contract_tests/run_all.py [--reports DIR] [--only memory,redis] [--require-installed]

Each run is ``pytest --pyargs cachesim.contract --cache-provider SPEC`` started in
a temporary directory outside the checkout, against the installed package, and
writes ``DIR/contract-SPEC.json`` and ``.md``:

* ``memory`` and ``fakeredis`` in-process;
* ``redis`` against a throwaway ``redis-server`` (REDIS_URL);
* ``upstash`` through the local Upstash-compatible gateway (backed by that
  redis-server) with the official ``upstash-redis`` client;
* ``memcached`` against a throwaway ``memcached`` (MEMCACHED_URL), started first:
  its time tests sleep through whole-second TTLs while the other runs work;
* ``sqlite`` on a database file in the run's temporary directory (SQLITE_PATH);
* ``tiered-memory``, ``tiered-fakeredis``, ``tiered-redis``, ``tiered-upstash``: the
  tiered provider (in-process L1 + backplane) over each of those L2s, built by
  ``cachesim.backplane.factories``;
* ``upstash-cloud``, the smoke profile against real Upstash, only when
  ``UPSTASH_REDIS_REST_URL`` and ``UPSTASH_REDIS_REST_TOKEN`` are set.

Known deviations of the built-in providers are listed in ``deviations/*.json`` and
run as strict xfails. The script fails if any run fails; with ``CI=true`` a
missing ``redis-server`` or ``memcached`` is a failure, never a skip.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHECKOUT = HERE.parent
DEVIATIONS = HERE / "deviations"
CLOUD_VARS = ("UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN")
_SCRUB = (
    *CLOUD_VARS,
    "REDIS_REST_URL",
    "REDIS_REST_TOKEN",
    "REDIS_URL",
    "CACHE_PROVIDER",
    "MEMCACHED_URL",
    "SQLITE_PATH",
)


@dataclass
class Run:
    """One provider's run of the suite."""

    name: str
    spec: str
    env: dict[str, str] = field(default_factory=dict)
    deviations: tuple[str, ...] = ("core",)
    extra: tuple[str, ...] = ()
    returncode: int | None = None
    seconds: float = 0.0
    output: str = ""

    def command(self, report: Path) -> list[str]:
        """The pytest command line."""
        argv = [
            sys.executable,
            "-m",
            "pytest",
            "--pyargs",
            "cachesim.contract",
            "--cache-provider",
            self.spec,
            "--contract-report",
            str(report),
            "-p",
            "no:cacheprovider",
            "-q",
            "--color=no",
        ]
        for name in self.deviations:
            argv += ["--contract-deviations", str(DEVIATIONS / f"{name}.json")]
        return argv + list(self.extra)


def in_ci() -> bool:
    """Whether CI is set to a true value."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _installed_location() -> Path:
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import cachesim, pathlib; print(pathlib.Path(cachesim.__file__).parent)",
        ],
        cwd=tempfile.gettempdir(),
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(probe.stdout.strip()).resolve()


def _execute(run: Run, workdir: Path, reports: Path) -> Run:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
    env.update(run.env)
    env.pop("PYTHONPATH", None)
    start = time.perf_counter()
    proc = subprocess.run(
        run.command(reports / f"contract-{run.name}.json"),
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    run.seconds = time.perf_counter() - start
    run.returncode = proc.returncode
    run.output = proc.stdout + proc.stderr
    return run


@contextlib.contextmanager
def _servers(names: set[str]) -> Iterator[dict[str, str]]:
    """Start what the selected runs need; yield the environment that reaches it."""
    found: dict[str, str] = {}
    with contextlib.ExitStack() as stack:
        if names & {"redis", "upstash", "tiered-redis", "tiered-upstash"}:
            from cachesim.gateway import RedisServerNotFound, redis_server

            try:
                server = stack.enter_context(redis_server())
                found["REDIS_URL"] = server.url
            except RedisServerNotFound as exc:
                if in_ci():
                    raise SystemExit(f"CI=true but no redis-server is available: {exc}") from None
                print(f"skipping redis and upstash: {exc}", file=sys.stderr)
        if "memcached" in names:
            from cachesim.gateway.memcached_server import MemcachedServerNotFound, memcached_server

            # With SASL on, the run also checks that the password never leaks (SEC-1).
            login = ("cachesim", f"contract-{os.urandom(6).hex()}")
            try:
                memcached = stack.enter_context(memcached_server(credentials=login))
                found["MEMCACHED_URL"] = memcached.url
            except MemcachedServerNotFound as exc:
                if in_ci():
                    raise SystemExit(f"CI=true but no memcached is available: {exc}") from None
                print(f"skipping memcached: {exc}", file=sys.stderr)
        if names & {"upstash", "tiered-upstash"} and "REDIS_URL" in found:
            from cachesim.gateway import gateway_process

            gateway = stack.enter_context(gateway_process(found["REDIS_URL"]))
            found.update({f"GATEWAY_{k}": v for k, v in gateway.env().items()})
        yield found


#: Tiered provider runs: name -> (factory, deviation files, what it needs from _servers).
TIERED = {
    "tiered-memory": ("tiered_memory", ("core",), ()),
    "tiered-fakeredis": ("tiered_fakeredis", ("core", "redis", "fakeredis"), ()),
    "tiered-redis": ("tiered_redis", ("core", "redis"), ("REDIS_URL",)),
    "tiered-upstash": ("tiered_upstash", ("core", "upstash"), CLOUD_VARS),
}


def _tiered_runs(servers: dict[str, str]) -> list[Run]:
    """The tiered runs whose servers are available."""
    runs = []
    for name, (factory, deviations, needs) in TIERED.items():
        env = {}
        for var in needs:
            value = servers.get(var) or servers.get(f"GATEWAY_{var}")
            if value is None:
                break
            env[var] = value
        else:
            spec = f"cachesim.backplane.factories:{factory}"
            runs.append(Run(name, spec, env, deviations))
    return runs


def main(argv: list[str] | None = None) -> int:
    """Run every selected provider; return 0 only if every run passed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", default="reports", help="report directory (default reports/)")
    parser.add_argument(
        "--only",
        help="comma-separated subset: memory,fakeredis,redis,upstash,memcached,sqlite,"
        "tiered-memory,tiered-fakeredis,tiered-redis,tiered-upstash",
    )
    parser.add_argument(
        "--require-installed",
        action="store_true",
        help="fail unless cachesim is imported from outside this checkout",
    )
    parser.add_argument("--jobs", type=int, default=2, help="runs in parallel (default 2)")
    args = parser.parse_args(argv)

    location = _installed_location()
    print(f"cachesim under test: {location}")
    if args.require_installed and location.is_relative_to(CHECKOUT / "cachesim"):
        print("cachesim is imported from the checkout, not an installed wheel", file=sys.stderr)
        return 2
    reports = Path(args.reports).resolve()
    reports.mkdir(parents=True, exist_ok=True)
    everything = "memory,fakeredis,redis,upstash,memcached,sqlite," + ",".join(TIERED)
    wanted = set((args.only or everything).split(","))

    with _servers(wanted) as servers, tempfile.TemporaryDirectory(prefix="contract-") as tmp:
        workdir = Path(tmp)
        runs = []
        if "MEMCACHED_URL" in servers:  # first: mostly sleeping, it overlaps the others
            runs.append(Run("memcached", "memcached", {"MEMCACHED_URL": servers["MEMCACHED_URL"]}))
        runs += [
            Run("memory", "memory"),
            Run("fakeredis", "fakeredis", deviations=("core", "redis", "fakeredis")),
        ]
        if "REDIS_URL" in servers:
            runs.append(
                Run("redis", "redis", {"REDIS_URL": servers["REDIS_URL"]}, ("core", "redis"))
            )
        if "GATEWAY_UPSTASH_REDIS_REST_URL" in servers:
            gateway_env = {k: servers[f"GATEWAY_{k}"] for k in CLOUD_VARS}
            runs.append(Run("upstash", "upstash", gateway_env, ("core", "upstash")))
        runs.append(Run("sqlite", "sqlite", {"SQLITE_PATH": str(workdir / "contract.db")}))
        runs += _tiered_runs(servers)
        if all(os.environ.get(k) for k in CLOUD_VARS):
            cloud_env = {k: os.environ[k] for k in CLOUD_VARS}
            runs.append(
                Run(
                    "upstash-cloud",
                    "upstash",
                    cloud_env,
                    ("core", "upstash"),
                    ("--contract-profile", "smoke", "--contract-time-scale", "3"),
                )
            )
        runs = [r for r in runs if r.name in wanted or r.name == "upstash-cloud"]
        # memcached's run mostly sleeps through whole-second TTLs: it gets a worker of its own.
        workers = max(1, args.jobs) + sum(r.name == "memcached" for r in runs)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            done = list(pool.map(lambda r: _execute(r, workdir, reports), runs))

    failed = 0
    print(
        f"\n{'provider':<14} {'result':<7} {'tests':>6} {'passed':>6} {'xfail':>5} "
        f"{'skip':>5} {'time':>7}"
    )
    for run in done:
        report_path = reports / f"contract-{run.name}.json"
        totals = json.loads(report_path.read_text())["totals"] if report_path.exists() else {}
        ok = run.returncode == 0
        failed += not ok
        print(
            f"{run.name:<14} {'pass' if ok else 'FAIL':<7} {totals.get('executed', 0):>6} "
            f"{totals.get('passed', 0):>6} {totals.get('xfailed', 0):>5} "
            f"{totals.get('skipped', 0):>5} {run.seconds:>6.1f}s"
        )
        if not ok:
            print(run.output[-4000:], file=sys.stderr)
    print(f"\nreports in {reports}")
    return 1 if failed or not done else 0


if __name__ == "__main__":
    sys.exit(main())
