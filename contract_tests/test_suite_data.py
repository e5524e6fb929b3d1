"""The suite checks itself: clause coverage, its data tables, and its glob oracle
against a real redis-server."""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import random
import re
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cachesim.contract.suite as suite
from cachesim import InvalidKeyError, UnstorableValueError, codec
from cachesim.contract import data
from cachesim.contract.clauses import clauses, contract_text
from cachesim.contract.glob import stringmatch
from cachesim.contract.markers import CLAUSE_MARK, REQUIRES_MARK
from cachesim.contract.model import glob_match
from cachesim.gateway import RedisServerNotFound, redis_server
from cachesim.keys import compile_glob, validate_key
from cachesim.providers.capabilities import Capability

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _tests() -> Iterator[tuple[str, object]]:
    for info in pkgutil.iter_modules(suite.__path__):
        module = importlib.import_module(f"{suite.__name__}.{info.name}")
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("test_") and fn.__module__ == module.__name__:
                yield f"{info.name}.{name}", fn


def _marks(fn: object, name: str) -> set[str]:
    found: set[str] = set()
    for mark in getattr(fn, "pytestmark", []):
        if mark.name == name:
            found.update(mark.args)
        if mark.name == "parametrize":
            for value in mark.args[1]:
                for sub in getattr(value, "marks", ()):
                    if sub.name == name:
                        found.update(sub.args)
    return found


def test_every_clause_is_checked_by_a_test() -> None:
    cited = set().union(*(_marks(fn, CLAUSE_MARK) for _, fn in _tests()))
    uncited = [cid for cid in clauses() if cid not in cited]
    assert not uncited, f"clauses no test cites: {uncited}"
    assert cited <= set(clauses())


def test_every_test_cites_a_clause() -> None:
    bare = [name for name, fn in _tests() if not _marks(fn, CLAUSE_MARK)]
    assert not bare


def test_required_capabilities_exist() -> None:
    names = {c.name for c in Capability}
    for name, fn in _tests():
        assert _marks(fn, REQUIRES_MARK) <= names, name
    for clause in clauses().values():
        assert clause.requires is None or clause.requires in names, clause


def test_clause_numbers_are_consecutive() -> None:
    by_prefix: dict[str, list[int]] = {}
    for cid in clauses():
        prefix, number = cid.rsplit("-", 1)
        by_prefix.setdefault(prefix, []).append(int(number))
    for prefix, numbers in by_prefix.items():
        assert numbers == list(range(1, len(numbers) + 1)), prefix
    headings = re.findall(r"^#### ([A-Z]+-\d+)", contract_text(), re.MULTILINE)
    assert len(headings) == len(clauses())


@pytest.mark.parametrize(
    "table",
    [
        "VALUE_CASES",
        "FALSY_VALUES",
        "UNSTORABLE_VALUES",
        "VALID_KEYS",
        "KEY_PAIRS",
        "INVALID_KEYS",
        "VALID_TTLS",
        "INVALID_TTLS",
        "GLOB_CASES",
        "ESCAPE_CASES",
    ],
)
def test_case_ids_are_unique_and_readable(table: str) -> None:
    cases = getattr(data, table)
    ids = data.ids(cases)
    assert cases
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[a-z0-9_]+", i) for i in ids), ids


def test_key_tables_agree_with_the_key_grammar() -> None:
    for case in data.VALID_KEYS:
        assert validate_key(case.value) == case.value
    for case in data.INVALID_KEYS:
        with pytest.raises(InvalidKeyError):
            validate_key(case.value)
    for case in data.KEY_PAIRS:
        first, second = case.value
        assert first != second
        validate_key(first)
        validate_key(second)


def test_value_tables_agree_with_the_codec() -> None:
    for case in data.VALUE_CASES:
        assert data.strict_equal(codec.decode(codec.encode(case.value)), case.want), case.id
    for case in data.UNSTORABLE_VALUES:
        with pytest.raises(UnstorableValueError):
            codec.encode(case.value)


def test_glob_cases_agree_with_both_matchers() -> None:
    for case in data.GLOB_CASES:
        oracle = {k for k in data.GLOB_KEYS if glob_match(case.pattern, k)}
        compiled = {k for k in data.GLOB_KEYS if compile_glob(case.pattern).match(k.encode())}
        assert oracle == compiled == case.matches, case.id


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A throwaway redis-server (a failure under CI when missing)."""
    try:
        with redis_server() as server:
            yield server.url
    except RedisServerNotFound as exc:
        if IN_CI:
            pytest.fail(f"CI=true but no redis-server: {exc}")
        pytest.skip(str(exc))


def _server_matches(url: str, keys: list[str], pattern: str) -> set[str]:
    import redis

    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        client.flushdb()
        client.mset(dict.fromkeys(keys, "v"))
        return set(client.scan_iter(match=pattern, count=1000))
    finally:
        client.close()


def test_glob_table_is_what_redis_does(redis_url: str) -> None:
    for case in data.GLOB_CASES:
        assert _server_matches(redis_url, list(data.GLOB_KEYS), case.pattern) == case.matches, (
            case.id
        )


_ATOMS = st.sampled_from(["a", "b", "*", "?", "[ab]", "[^a]", "[a-c]", "\\*", "\\a", ":", "[!a]"])


@settings(max_examples=60, deadline=None)
@given(pattern=st.lists(_ATOMS, min_size=1, max_size=4).map("".join))
def test_model_glob_matches_redis_on_random_patterns(redis_url: str, pattern: str) -> None:
    keys = ["a", "b", "ab", "ba", "abc", "a:b", "*", "a*", "!", "!a", "c", "", "aa"]
    keys = [k for k in keys if k]
    want = _server_matches(redis_url, keys, pattern)
    assert {k for k in keys if glob_match(pattern, k)} == want, pattern


_PATTERN_ALPHABET = "ab-]\\[*?^!\n\t:_%"
_KEY_ALPHABET = "ab-]\\[*?^!\n\t:_% "


def _generated(seed: int, count: int, alphabet: str, longest: int) -> list[str]:
    rng = random.Random(seed)
    return sorted(
        {
            "".join(rng.choice(alphabet) for _ in range(rng.randint(1, longest)))
            for _ in range(count)
        }
    )


def test_reference_matcher_is_redis_on_generated_patterns(redis_url: str) -> None:
    """stringmatch agrees with redis-server on escapes in classes, ranges, negation,
    unclosed classes, trailing backslashes and * and ? over newlines."""
    import redis

    keys = _generated(1, 400, _KEY_ALPHABET, 5)
    patterns = _generated(2, 1500, _PATTERN_ALPHABET, 7)
    client = redis.Redis.from_url(redis_url)
    try:
        client.flushdb()
        client.mset(dict.fromkeys([k.encode() for k in keys], b"v"))
        wrong = []
        for pattern in patterns:
            want = {k.decode() for k in client.keys(pattern.encode())}
            got = {k for k in keys if stringmatch(pattern, k)}
            if got != want:
                wrong.append((pattern, sorted(got ^ want)[:3]))
    finally:
        client.close()
    assert not wrong, f"{len(wrong)} patterns disagree with redis-server, e.g. {wrong[:5]}"


def test_pinned_glob_edge_cases_are_what_redis_does(redis_url: str) -> None:
    from cachesim.contract.suite.test_special_chars import EDGE_CASES, EDGE_KEYS

    for case, pattern in EDGE_CASES.items():
        want = _server_matches(redis_url, list(EDGE_KEYS), pattern)
        assert {k for k in EDGE_KEYS if stringmatch(pattern, k)} == want, case
