"""EntryOptions: validation, defaults, aliases and derived values."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from cachesim import ConfigurationError, EntryOptions


def test_the_pinned_example_builds() -> None:
    opts = EntryOptions(
        ttl=60,
        grace=300,
        fail_safe=600,
        fail_safe_throttle=30,
        eager_refresh=0.8,
        xfetch_beta=None,
        jitter=0.1,
        soft_timeout=0.1,
        hard_timeout=2.0,
        lock="distributed",
    )
    assert opts.ttl == 60.0 and opts.stale_window == 600.0 and opts.throttle == 30.0
    assert opts.effective_lock_ttl == 10.0 and opts.effective_lock_wait == 10.0


def test_durations_accept_timedelta_and_duration_is_an_alias() -> None:
    opts = EntryOptions(duration=timedelta(minutes=1), grace=timedelta(seconds=5))
    assert opts.ttl == 60.0 and opts.grace == 5.0
    assert EntryOptions(ttl=math.inf).ttl == math.inf
    assert opts == EntryOptions(ttl=60, grace=5), "the alias must not change equality"


def test_replace_validates_again() -> None:
    opts = EntryOptions(ttl=60, fail_safe=100)
    assert opts.replace(ttl=5).ttl == 5.0
    with pytest.raises(ConfigurationError):
        opts.replace(ttl=-1)


def test_throttle_defaults_to_30_s_capped_at_fail_safe() -> None:
    assert EntryOptions(fail_safe=600).throttle == 30.0
    assert EntryOptions(fail_safe=10).throttle == 10.0
    assert EntryOptions().throttle == 0.0


def test_tags_are_sorted_and_deduplicated() -> None:
    assert EntryOptions(tags=["b", "a", "b"]).tags == ("a", "b")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ttl": 0}, "> 0"),
        ({"ttl": "60"}, "number of seconds"),
        ({"ttl": True}, "number of seconds"),
        ({"ttl": 60, "duration": 60}, "not both"),
        ({"grace": -1}, "> 0"),
        ({"jitter": 1.5}, r"\[0, 1\]"),
        ({"eager_refresh": 1.0}, r"\(0, 1\)"),
        ({"eager_refresh": 0.5, "xfetch_beta": 1.0}, "not both"),
        ({"xfetch_beta": 0}, "xfetch_beta"),
        ({"fail_safe_throttle": 10}, "needs fail_safe"),
        ({"soft_timeout": 0.1}, "needs fail_safe"),
        ({"fail_safe": 60, "soft_timeout": 2, "hard_timeout": 1}, "shorter than"),
        ({"lock": "global"}, "lock must be"),
        ({"lock_ttl": 5}, "distributed"),
        ({"ttl": math.inf, "eager_refresh": 0.5}, "finite ttl"),
        ({"tags": "user:1"}, "collection"),
        ({"tags": ["bad tag\n"]}, "printable"),
        ({"ttl": 400 * 24 * 3600}, "365 days"),
    ],
)
def test_invalid_options_raise_configuration_errors(
    kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        EntryOptions(**kwargs)  # type: ignore[arg-type]


def test_options_are_frozen() -> None:
    opts = EntryOptions(ttl=1)
    with pytest.raises(AttributeError):
        opts.ttl = 2  # type: ignore[misc]
