"""CacheKeys builders, key validation and Redis glob matching parity."""

from __future__ import annotations

import fakeredis
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cachesim.errors import InvalidKeyError
from cachesim.keys import MAX_KEY_BYTES, CacheKeys, compile_glob, escape_glob, validate_key


@pytest.mark.parametrize(
    ("built", "expected"),
    [
        (CacheKeys.user(1), "user:{1}"),
        (CacheKeys.user_organizations("u1"), "user:{u1}:organizations"),
        (CacheKeys.user_sessions(7), "user:{7}:sessions"),
        (CacheKeys.user_activity(7), "user:{7}:activity"),
        (CacheKeys.user_pattern(7), "user:{7}*"),
        (CacheKeys.organization("o"), "organization:{o}"),
        (CacheKeys.organization_members("o"), "organization:{o}:members"),
        (CacheKeys.organization_subscription("o"), "organization:{o}:subscription"),
        (CacheKeys.organization_activity("o"), "organization:{o}:activity"),
        (CacheKeys.organization_pattern("o"), "organization:{o}*"),
        (CacheKeys.stripe_products(), "stripe:products"),
        (CacheKeys.stripe_customer("cus_1"), "stripe:customer:{cus_1}"),
        (CacheKeys.stripe_subscription("sub_1"), "stripe:subscription:{sub_1}"),
        (CacheKeys.rate_limit("1.2.3.4"), "rate_limit:{1.2.3.4}"),
        (CacheKeys.rate_limit("ip", 60), "rate_limit:{ip}:{60}"),
        (CacheKeys.session("s"), "session:{s}"),
        (CacheKeys.user("a*b:c%{}"), "user:{a%2Ab%3Ac%25%7B%7D}"),
    ],
)
def test_builders_produce_the_documented_keys(built: str, expected: str) -> None:
    assert built == expected


@pytest.mark.parametrize("evil", ["*", "?", "[a]", "a\\", "1:sessions", "4", "}", "%2A"])
def test_ids_cannot_widen_a_pattern(evil: str) -> None:
    pattern = compile_glob(CacheKeys.user_pattern(evil))
    own = [CacheKeys.user(evil), CacheKeys.user_sessions(evil), CacheKeys.user_activity(evil)]
    for key in own:
        assert pattern.match(key.encode()), f"user_pattern({evil!r}) must match {key!r}"
    for other in ["victim", "42", "4x", "*", "%2A", "1"]:
        if other == evil:
            continue
        for key in (CacheKeys.user(other), CacheKeys.user_sessions(other)):
            assert not pattern.match(key.encode()), f"user_pattern({evil!r}) widened to {key!r}"


def test_separator_in_an_id_cannot_collide_with_another_builder() -> None:
    assert CacheKeys.user("1:sessions") != CacheKeys.user_sessions("1")


@pytest.mark.parametrize("bad", ["", 1, None, b"k", "x" * (MAX_KEY_BYTES + 1), "é" * 257, "\ud800"])
def test_invalid_keys_raise_a_clear_error(bad: object) -> None:
    with pytest.raises(InvalidKeyError):
        validate_key(bad)


def test_key_limit_is_inclusive() -> None:
    assert validate_key("k" * MAX_KEY_BYTES)


@pytest.mark.parametrize("bad", ["", True, 1.5, None])
def test_invalid_ids_raise(bad: object) -> None:
    with pytest.raises(InvalidKeyError):
        CacheKeys.user(bad)  # type: ignore[arg-type]


GLOB_CASES = [
    ("user:*", "user:1", True),
    ("user:*", "user:", True),
    ("user:*", "users:1", False),
    ("user:?", "user:12", False),
    ("user:[12]", "user:2", True),
    ("user:[^12]", "user:2", False),
    ("user:[a-c]", "user:b", True),
    ("user:[c-a]", "user:b", True),
    ("user:\\*", "user:*", True),
    ("user:\\*", "user:1", False),
    ("*:sessions", "user:1:sessions", True),
    ("a[]b", "ab", False),
    ("é?", "éx", True),
]


@pytest.mark.parametrize(("pattern", "key", "expected"), GLOB_CASES)
def test_glob_cases(pattern: str, key: str, expected: bool) -> None:
    assert bool(compile_glob(pattern).match(key.encode())) is expected


glob_alphabet = st.sampled_from(list("ab:*?[]^-\\é"))


@settings(max_examples=300, deadline=None)
@given(
    st.text(glob_alphabet, min_size=1, max_size=8),
    st.text(st.sampled_from(list("ab:-]^\\é*")), max_size=6),
)
def test_glob_matches_like_redis(pattern: str, key: str) -> None:
    server = fakeredis.FakeStrictRedis()
    server.set(key.encode() or b"\x00", 1)
    expected = bool(server.keys(pattern))
    actual = bool(compile_glob(pattern).match(key.encode() or b"\x00"))
    assert actual is expected, f"pattern {pattern!r} on key {key!r}: ours={actual} redis={expected}"


def test_escape_glob_round_trip() -> None:
    text = "a*b?c[d]e\\f:g"
    assert compile_glob(escape_glob(text)).match(text.encode())


@settings(max_examples=500, deadline=None, database=None)
@given(
    pattern=st.text(alphabet="ab*?[]^-\\\n\u00e9", max_size=10),
    key=st.text(alphabet="ab]\n[-*\\\u00e9", min_size=1, max_size=8),
)
def test_compiled_glob_agrees_with_the_reference_matcher(pattern: str, key: str) -> None:
    """The providers' glob matcher is Redis' stringmatchlen (the contract's reference)."""
    from cachesim.contract.glob import stringmatch

    assert bool(compile_glob(pattern).match(key.encode())) is stringmatch(pattern, key), (
        f"pattern {pattern!r} on key {key!r}: compile_glob disagrees with stringmatchlen"
    )


def test_many_stars_cannot_backtrack_catastrophically() -> None:
    """Runs between stars are atomic groups: no pattern can make matching exponential."""
    pattern = compile_glob("*a*a*a*a*a*a*a*b")
    assert pattern.pattern.count(b"(?>") == 7, "each middle run must be an atomic group"
    # With plain `.*` per star this takes hours (O(n^7)); with atomic runs it is linear-ish.
    assert pattern.match(b"a" * 400) is None
    assert pattern.match(b"a" * 400 + b"b") is not None
