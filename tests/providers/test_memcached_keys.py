"""Memcached key encoding and TTL conversion: pure functions, no server."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cachesim.errors import ConfigurationError
from cachesim.keys import MAX_KEY_BYTES, compile_glob
from cachesim.providers.memcached import (
    REALTIME_MAXDELTA,
    MemcachedProvider,
    _literal_prefix,
    decode_key,
    encode_key,
    memcached_exptime,
)

# Full keys as the cache hands them over: a namespace, ":", and a key of up to 512 bytes.
_text = st.text(st.characters(codec="utf-8"), min_size=1, max_size=200)
_keys = st.builds(lambda ns, k: f"{ns}:{k}", st.text(min_size=1, max_size=20), _text).filter(
    lambda k: len(k.encode("utf-8")) <= MAX_KEY_BYTES + 21
)
_fast = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _valid_memcached_key(mkey: bytes) -> bool:
    return 0 < len(mkey) <= 250 and all(0x21 <= b <= 0x7E for b in mkey)


@_fast
@given(_keys)
def test_every_key_encodes_to_a_valid_memcached_key(key: str) -> None:
    assert _valid_memcached_key(encode_key(key))


@_fast
@given(_keys, _keys)
def test_encoding_is_injective(a: str, b: str) -> None:
    assert (encode_key(a) == encode_key(b)) == (a == b)


@_fast
@given(_keys)
def test_decoding_gives_the_key_or_its_head(key: str) -> None:
    decoded = decode_key(encode_key(key))
    assert decoded is not None
    raw, complete = decoded
    if complete:
        assert raw == key.encode("utf-8")
    else:
        assert key.encode("utf-8").startswith(raw)
        assert len(raw) >= 60  # a useful head for filtering by namespace


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("ns:a b", "ns:a%20b"),  # an escape must not equal the escaped text
        ("ns:%", "ns:%25"),
        ("ns:é", "ns:e\u0301"),  # normalization pairs stay apart
        ("ns:" + "x" * 300, "ns:" + "x" * 301),  # hashed keys differing at the end
        ("ns:" + "a" * 247, "ns:" + "a" * 248),  # either side of the 250-byte limit
    ],
)
def test_known_near_collisions_stay_apart(a: str, b: str) -> None:
    assert encode_key(a) != encode_key(b)


def test_a_plain_key_can_never_look_hashed() -> None:
    """``%~`` only appears in hashed keys: a literal ``%~`` in a key is escaped."""
    mkey = encode_key("ns:%~abc")
    assert b"%~" not in mkey
    assert decode_key(mkey) == (b"ns:%~abc", True)


def test_keys_written_by_others_are_not_mistaken_for_ours() -> None:
    assert decode_key(b"foo%zz") is None  # not an escape this module writes
    assert decode_key(b"foo%2a") is None  # lower-case hex is never written
    assert decode_key(b"plain:key") == (b"plain:key", True)


def test_the_longest_cache_key_fits_with_a_long_namespace() -> None:
    key = "n" * 100 + ":" + "\U0001f600" * 128  # 512 bytes of 4-byte characters
    mkey = encode_key(key)
    assert _valid_memcached_key(mkey)
    assert mkey == encode_key(key)  # deterministic


@pytest.mark.parametrize(
    ("pattern", "prefix"),
    [
        ("ns:*", b"ns:"),
        (r"n\*s:a?", b"n*s:a"),
        ("ns:[ab]c", b"ns:"),
        ("*", b""),
        ("ns:é*", "ns:é".encode()),
    ],
)
def test_literal_prefix_of_a_glob(pattern: str, prefix: bytes) -> None:
    assert _literal_prefix(pattern) == prefix


@_fast
@given(st.text(max_size=12), _text)
def test_every_match_starts_with_the_literal_prefix(pattern: str, key: str) -> None:
    if compile_glob(pattern).match(key.encode("utf-8")):
        assert key.encode("utf-8").startswith(_literal_prefix(pattern))


# -- TTLs ---------------------------------------------------------------------------
NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("ttl", "expected"),
    [
        (None, 0),  # never expires
        (0.001, 2),  # never 0 (= forever) and never less than the TTL
        (0.5, 2),
        (1.0, 2),
        (1.001, 3),
        (59.9, 61),
        (REALTIME_MAXDELTA - 1.0, REALTIME_MAXDELTA),  # the largest relative exptime
    ],
)
def test_relative_exptime_rounds_up_and_adds_a_tick(ttl: float | None, expected: int) -> None:
    assert memcached_exptime(ttl, NOW) == expected


@pytest.mark.parametrize("ttl", [REALTIME_MAXDELTA - 0.5, REALTIME_MAXDELTA, 31 * 86400.0])
def test_past_thirty_days_exptime_is_a_unix_time(ttl: float) -> None:
    exptime = memcached_exptime(ttl, NOW)
    assert exptime > REALTIME_MAXDELTA
    assert NOW + ttl + 1 <= exptime <= NOW + ttl + 3


def test_a_year_is_a_unix_time_a_year_ahead() -> None:
    assert memcached_exptime(365 * 86400.0, NOW) == NOW + 365 * 86400 + 2


@_fast
@given(st.floats(min_value=0.001, max_value=365 * 86400.0))
def test_exptime_never_shortens_a_ttl(ttl: float) -> None:
    exptime = memcached_exptime(ttl, NOW)
    lifetime_at_least = exptime - 1 if exptime <= REALTIME_MAXDELTA else exptime - NOW - 1
    assert lifetime_at_least >= ttl
    assert lifetime_at_least <= math.ceil(ttl) + 1


# -- URLs ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:6379",
        "memcached://",
        "memcached://h:1/db",
        "memcached://h:1?timeout=3",
        "memcached://user@h:1",
        "memcached+unix://",
        "memcached://h:notaport",
    ],
)
def test_bad_urls_are_configuration_errors(url: str) -> None:
    with pytest.raises(ConfigurationError, match="MEMCACHED_URL"):
        MemcachedProvider(url)


def test_repr_and_errors_never_show_the_password() -> None:
    provider = MemcachedProvider("memcached://app:s3cr3t-pw@10.0.0.1:11211")
    assert "s3cr3t-pw" not in repr(provider)
    assert "10.0.0.1:11211" in repr(provider)
    with pytest.raises(ConfigurationError) as info:
        MemcachedProvider("memcached://app:s3cr3t-pw@h:1/x")
    assert "s3cr3t-pw" not in str(info.value)


def test_urls_default_to_port_11211_and_accept_unix_sockets() -> None:
    assert MemcachedProvider("memcached://cache.local")._target.port == 11211
    assert MemcachedProvider("memcached://[::1]:11311")._target.host == "::1"
    assert MemcachedProvider("memcached+unix:///run/mc.sock")._target.path == "/run/mc.sock"
    assert MemcachedProvider("unix:///run/mc.sock")._target.path == "/run/mc.sock"


def test_settings_keep_the_memcached_url_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    from cachesim.settings import CacheSettings, environment_summary

    url = "memcached://app:s3cr3t-pw@cache.local:11211"
    settings = CacheSettings(CACHE_PROVIDER="memcached", MEMCACHED_URL=url)
    assert "s3cr3t-pw" not in repr(settings) and "s3cr3t-pw" not in str(settings.model_dump())
    assert settings.memcached_url is not None
    assert settings.memcached_url.get_secret_value() == url
    monkeypatch.setenv("MEMCACHED_URL", url)
    assert environment_summary()["MEMCACHED_URL"] == "memcached://***@cache.local:11211"
