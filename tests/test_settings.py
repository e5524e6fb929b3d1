"""Configuration from environment variables; clear errors that name the variable."""

from __future__ import annotations

import pytest

from cachesim import Cache, CacheSettings, create_provider
from cachesim.errors import ConfigurationError
from cachesim.providers import MemoryProvider, RedisProvider, UpstashProvider

ALL_VARS = [
    "CACHE_PROVIDER", "CACHE_DEFAULT_TTL", "CACHE_NAMESPACE", "CACHE_TIMEOUT", "CACHE_MAX_ENTRIES",
    "CACHE_POLICY", "REDIS_URL", "UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN",
    "REDIS_REST_URL", "REDIS_REST_TOKEN",
]  # fmt: skip


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ALL_VARS:
        monkeypatch.delenv(name, raising=False)


def test_defaults_are_an_in_memory_cache() -> None:
    settings = CacheSettings()
    assert (settings.provider, settings.default_ttl, settings.namespace) == (
        "memory",
        3600,
        "cache",
    )
    assert isinstance(create_provider(settings), MemoryProvider)


@pytest.mark.parametrize("spec", ["in-memory", "memory", "MEMORY", " in-memory "])
def test_memory_aliases(monkeypatch: pytest.MonkeyPatch, spec: str) -> None:
    monkeypatch.setenv("CACHE_PROVIDER", spec)
    assert CacheSettings().provider == "memory"


def test_environment_builds_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CACHE_PROVIDER", "memory")
    monkeypatch.setenv("CACHE_DEFAULT_TTL", "120")
    monkeypatch.setenv("CACHE_NAMESPACE", "app")
    monkeypatch.setenv("CACHE_TIMEOUT", "0.5")
    monkeypatch.setenv("CACHE_MAX_ENTRIES", "10")
    monkeypatch.setenv("CACHE_POLICY", "fifo")
    cache = Cache.from_env()
    assert (cache.namespace, cache.default_ttl, cache.timeout) == ("app", 120, 0.5)
    assert isinstance(cache.provider, MemoryProvider)
    assert (cache.provider.max_entries, cache.provider.policy) == (10, "fifo")


def test_redis_and_fakeredis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CACHE_PROVIDER", "redis")
    monkeypatch.setenv("REDIS_URL", "redis://:pw@127.0.0.1:6390/1")
    provider = create_provider()
    assert isinstance(provider, RedisProvider)
    assert "pw" not in repr(provider)
    assert create_provider("fakeredis").name == "fakeredis"


@pytest.mark.parametrize(
    ("url_var", "token_var"),
    [
        ("UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN"),
        ("REDIS_REST_URL", "REDIS_REST_TOKEN"),
    ],
)
def test_upstash_variables_and_aliases(
    monkeypatch: pytest.MonkeyPatch, url_var: str, token_var: str
) -> None:
    monkeypatch.setenv("CACHE_PROVIDER", "upstash")
    monkeypatch.setenv(url_var, "https://example.upstash.io")
    monkeypatch.setenv(token_var, "sekrit-token")
    settings = CacheSettings()
    assert "sekrit-token" not in repr(settings)
    provider = create_provider(settings)
    assert isinstance(provider, UpstashProvider)
    assert provider.url == "https://example.upstash.io"
    assert "sekrit-token" not in repr(provider)


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"CACHE_PROVIDER": "dynamodb"}, "CACHE_PROVIDER: unknown provider 'dynamodb'"),
        ({"CACHE_DEFAULT_TTL": "0"}, "CACHE_DEFAULT_TTL: must be a positive number"),
        ({"CACHE_DEFAULT_TTL": "soon"}, "CACHE_DEFAULT_TTL"),
        ({"CACHE_TIMEOUT": "-1"}, "CACHE_TIMEOUT"),
        ({"CACHE_MAX_ENTRIES": "0"}, "CACHE_MAX_ENTRIES"),
        ({"CACHE_PROVIDER": "redis"}, "REDIS_URL is not set"),
        ({"CACHE_PROVIDER": "redis", "REDIS_URL": "http://x"}, "REDIS_URL must start with"),
        ({"CACHE_PROVIDER": "upstash"}, "UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN"),
        (
            {
                "CACHE_PROVIDER": "upstash",
                "UPSTASH_REDIS_REST_URL": "db.upstash.io",
                "UPSTASH_REDIS_REST_TOKEN": "t",
            },
            "must be an http(s) URL",
        ),
        ({"CACHE_PROVIDER": "nosuchmodule:make"}, "cannot import module 'nosuchmodule'"),
        ({"CACHE_PROVIDER": "cachesim.keys:nothing"}, "has no attribute 'nothing'"),
        ({"CACHE_PROVIDER": "cachesim.keys:MAX_KEY_BYTES"}, "is not callable"),
        ({"CACHE_PROVIDER": "cachesim.clock:ManualClock"}, "lacks get, delete"),
    ],
)
def test_invalid_configuration_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], fragment: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as info:
        create_provider()
    assert fragment in str(info.value)


def test_invalid_settings_never_echo_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPSTASH_REDIS_REST_TOKEN", "sekrit-token")
    monkeypatch.setenv("CACHE_DEFAULT_TTL", "-5")
    with pytest.raises(ConfigurationError) as info:
        CacheSettings()
    assert "sekrit-token" not in str(info.value)


def make_custom_provider() -> MemoryProvider:
    """A module:factory target for the test below."""
    return MemoryProvider(max_entries=3)


def test_module_factory_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CACHE_PROVIDER", "tests.test_settings:make_custom_provider")
    provider = create_provider()
    assert isinstance(provider, MemoryProvider) and provider.max_entries == 3
