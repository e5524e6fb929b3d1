"""Every ``--help`` ends with two or three examples, and each works exactly as typed."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from cachesim.cli import build_parser

HANG_GUARD = 1_200  # seconds: only stops a hung example, never judges speed


def _parsers() -> dict[str, object]:
    parser = build_parser()
    found: dict[str, object] = {"cachesim": parser}
    for action in parser._subparsers._group_actions:  # type: ignore[union-attr]
        for name, sub in getattr(action, "choices", {}).items():
            found[name] = sub
    return found


def _examples(parser: object) -> list[str]:
    epilog = getattr(parser, "epilog", None) or ""
    lines = epilog.strip().splitlines()
    assert lines and lines[0].startswith("examples"), "the help ends with an examples section"
    return [line.strip() for line in lines[1:] if line.startswith("  ")]


EXAMPLES = [
    (command, example) for command, parser in _parsers().items() for example in _examples(parser)
]


def _argv(example: str) -> tuple[dict[str, str], list[str]]:
    """Split ``VAR=value cachesim ...`` into environment and the command to run."""
    words = shlex.split(example)
    env = {}
    while "=" in words[0] and not words[0].startswith("-"):
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    assert words[0] == "cachesim", example
    return env, [sys.executable, "-m", "cachesim", *words[1:]]


def _environ(extra: dict[str, str]) -> dict[str, str]:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("CACHE_", "UPSTASH_", "REDIS_"))
    }
    return {**clean, "MPLBACKEND": "Agg", **extra}


@pytest.mark.parametrize("command", sorted(_parsers()))
def test_every_help_ends_with_two_or_three_examples(command: str) -> None:
    parser = _parsers()[command]
    examples = _examples(parser)
    assert 2 <= len(examples) <= 3, f"cachesim {command} --help shows 2-3 examples"
    assert parser.format_help().rstrip().endswith(examples[-1]), "examples close the help"  # type: ignore[attr-defined]


@pytest.mark.slow
@pytest.mark.parametrize(
    "example", [e for c, e in EXAMPLES if c != "gateway"], ids=lambda e: e[:60]
)
def test_each_example_runs_as_typed(example: str, tmp_path: Path) -> None:
    env, argv = _argv(example)
    run = subprocess.run(
        argv,
        cwd=tmp_path,
        env=_environ(env),
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
        check=False,
    )
    assert run.returncode == 0, f"{example!r} exits 0:\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}"
    assert run.stdout.strip(), "it prints its result"
    for word in shlex.split(example):
        if word.endswith((".png", ".json")):
            assert (tmp_path / word).stat().st_size > 0, f"{example!r} writes {word}"


@pytest.mark.parametrize(
    "example", [e for c, e in EXAMPLES if c == "gateway"], ids=lambda e: e[:60]
)
def test_each_gateway_example_serves_the_upstash_client(example: str, tmp_path: Path) -> None:
    env, argv = _argv(example)
    server = subprocess.Popen(
        argv, cwd=tmp_path, env=_environ(env), stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        exports: dict[str, str] = {}
        for line in server.stdout:
            if line.startswith("export "):
                name, _, value = line.removeprefix("export ").strip().partition("=")
                exports[name] = value
            if line.startswith("Press Ctrl-C"):
                break
        assert set(exports) == {"UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN"}
        check = subprocess.run(
            [sys.executable, "-m", "cachesim", "check", "upstash", "--json"],
            env=_environ(exports),
            capture_output=True,
            text=True,
            timeout=HANG_GUARD,
            check=False,
        )
        if "--fault" not in example:
            assert check.returncode == 0, check.stdout + check.stderr
        else:  # 5 % of requests fail on purpose: the check still runs and reports
            assert '"provider": "upstash"' in check.stdout
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=HANG_GUARD)
        if server.stdout is not None:
            server.stdout.close()
    assert server.returncode in (0, 130, -signal.SIGINT), "Ctrl-C stops it cleanly"
