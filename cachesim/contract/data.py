"""Named test data shared by the contract tests: values, keys, TTLs and glob cases.

Every case has a stable, readable id, so a known deviation can name one case
(``test_value_round_trip[float_negative_zero]``) and a report line says what failed.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from collections import OrderedDict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

__all__ = [
    "ESCAPE_CASES",
    "FALSY_VALUES",
    "GLOB_CASES",
    "GLOB_KEYS",
    "INVALID_KEYS",
    "INVALID_TTLS",
    "KEY_PAIRS",
    "UNSTORABLE_VALUES",
    "VALID_KEYS",
    "VALID_TTLS",
    "VALUE_CASES",
    "Case",
    "GlobCase",
    "ids",
    "strict_equal",
]


@dataclass(frozen=True)
class Case:
    """A named input and, for round trips, what must come back."""

    id: str
    value: Any
    expected: Any = None
    clause: str = ""

    @property
    def want(self) -> Any:
        """What the round trip must return (``value`` unless ``expected`` is set)."""
        return self.value if self.expected is None else self.expected


def ids(cases: list[Case] | list[GlobCase]) -> list[str]:
    """The ids of ``cases``, for ``pytest.mark.parametrize(ids=...)``."""
    return [c.id for c in cases]


def strict_equal(a: Any, b: Any) -> bool:
    """Equality that also compares types exactly (``True != 1``, ``1.0 != 1``, ``-0.0 != 0.0``)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    if isinstance(a, list):
        return len(a) == len(b) and all(strict_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(strict_equal(a[k], b[k]) for k in a)
    return bool(a == b)


class _Colour(enum.StrEnum):
    RED = "red"


class _Level(enum.IntEnum):
    HIGH = 3


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for i in range(depth):
        value = {"level": i, "child": [value]}
    return value


_ALL_BYTES = bytes(range(256))

#: Values that must round-trip (VAL-1, VAL-3, VAL-4); ``expected`` when it differs.
VALUE_CASES: list[Case] = [
    # strings (VAL-1)
    Case("str_ascii", "hello world", clause="VAL-1"),
    Case("str_empty", "", clause="VAL-1"),
    Case("str_latin1", "ünïcödé façade", clause="VAL-1"),
    Case("str_cjk", "キャッシュ 缓存", clause="VAL-1"),
    Case("str_emoji_non_bmp", "🚀 cache 😀𝄞", clause="VAL-1"),
    Case("str_nul", "a\x00b\x00", clause="VAL-1"),
    Case("str_control", "\x01\x1b[0m\x7f\t\r\n", clause="VAL-1"),
    Case("str_combining", "e\u0301 vs \u00e9", clause="VAL-1"),
    Case("str_rtl_zero_width", "שלום\u200b\u200f", clause="VAL-1"),
    Case("str_lone_surrogate", "a\ud800b", clause="VAL-1"),
    Case("str_looks_like_json", '{"a": [1, null]}', clause="VAL-1"),
    Case("str_looks_like_null", "null", clause="VAL-1"),
    Case("str_looks_like_bytes_tag", "b64:AAEC", clause="VAL-1"),
    Case("str_quotes_backslashes", "\"'\\`\\\\n", clause="VAL-1"),
    Case("str_long_100k", "0123456789" * 10_000, clause="VAL-1"),
    Case("str_enum", _Colour.RED, "red", clause="VAL-1"),
    # integers (VAL-1)
    Case("int_zero", 0, clause="VAL-1"),
    Case("int_one", 1, clause="VAL-1"),
    Case("int_negative", -42, clause="VAL-1"),
    Case("int_2_pow_53_plus_1", 2**53 + 1, clause="VAL-1"),
    Case("int_2_pow_64", 2**64, clause="VAL-1"),
    Case("int_below_int64", -(2**63) - 1, clause="VAL-1"),
    Case("int_huge_4300_digits", 10**4299, clause="VAL-1"),
    Case("int_enum", _Level.HIGH, 3, clause="VAL-1"),
    # floats (VAL-1)
    Case("float_zero", 0.0, clause="VAL-1"),
    Case("float_negative_zero", -0.0, clause="VAL-1"),
    Case("float_one_stays_float", 1.0, clause="VAL-1"),
    Case("float_tenth", 0.1, clause="VAL-1"),
    Case("float_negative", -2.5e-7, clause="VAL-1"),
    Case("float_max", 1.7976931348623157e308, clause="VAL-1"),
    Case("float_min_subnormal", 5e-324, clause="VAL-1"),
    Case("float_pi", math.pi, clause="VAL-1"),
    # bool and None (VAL-1)
    Case("bool_true", True, clause="VAL-1"),
    Case("bool_false", False, clause="VAL-1"),
    Case("none", None, clause="VAL-1"),
    # containers (VAL-3)
    Case("list_empty", [], clause="VAL-3"),
    Case("dict_empty", {}, clause="VAL-3"),
    Case("list_mixed", [1, "two", 3.0, True, None, [], {}], clause="VAL-3"),
    Case("dict_mixed", {"a": 1, "b": [True, False], "c": {"d": None}}, clause="VAL-3"),
    Case("dict_key_order", {"z": 1, "a": 2, "m": 3}, clause="VAL-3"),
    Case("dict_unicode_keys", {"ключ": "значение", "🔑": "😀", "": "empty"}, clause="VAL-3"),
    Case("list_of_bools_and_ints", [True, 1, False, 0, 1.0], clause="VAL-3"),
    Case("nested_depth_50", _nested(50), clause="VAL-3"),
    Case("tuple_to_list", (1, "a", None), [1, "a", None], clause="VAL-3"),
    Case("nested_tuples_to_lists", {"t": (1, (2, (3,)))}, {"t": [1, [2, [3]]]}, clause="VAL-3"),
    Case("ordered_dict_to_dict", OrderedDict([("b", 1), ("a", 2)]), {"b": 1, "a": 2}, "VAL-3"),
    Case("wide_list_10k", list(range(10_000)), clause="VAL-3"),
    # bytes (VAL-4)
    Case("bytes_empty", b"", clause="VAL-4"),
    Case("bytes_all_256", _ALL_BYTES, clause="VAL-4"),
    Case("bytes_not_utf8", b"\xff\xfe\x00\x80invalid", clause="VAL-4"),
    Case("bytes_utf8_text", "héllo".encode(), clause="VAL-4"),
    Case("bytes_looks_like_json", b'"null"', clause="VAL-4"),
    Case("bytearray_to_bytes", bytearray(b"\x00\x01ab"), b"\x00\x01ab", clause="VAL-4"),
    Case("memoryview_to_bytes", memoryview(b"view\xff"), b"view\xff", clause="VAL-4"),
]

#: Falsy values that are values, not misses (VAL-2, GOS-3).
FALSY_VALUES: list[Case] = [
    Case("none", None),
    Case("zero", 0),
    Case("float_zero", 0.0),
    Case("empty_str", ""),
    Case("false", False),
    Case("empty_list", []),
    Case("empty_dict", {}),
    Case("empty_bytes", b""),
]


def _cycle_list() -> Any:
    items: list[Any] = [1]
    items.append(items)
    return items


def _cycle_dict() -> Any:
    d: dict[str, Any] = {}
    d["self"] = d
    return d


class _Opaque:
    def __init__(self) -> None:
        self.x = 1


#: Values ``set`` must refuse with UnstorableValueError (VAL-5).
UNSTORABLE_VALUES: list[Case] = [
    Case("float_nan", math.nan),
    Case("float_inf", math.inf),
    Case("float_negative_inf", -math.inf),
    Case("nan_in_list", [1.0, math.nan]),
    Case("inf_in_nested_dict", {"a": {"b": [math.inf]}}),
    Case("dict_int_key", {1: "one"}),
    Case("dict_none_key", {None: "x"}),
    Case("dict_tuple_key", {(1, 2): "x"}),
    Case("dict_bool_key", {True: "x"}),
    Case("set", {1, 2}),
    Case("frozenset", frozenset({1})),
    Case("datetime", dt.datetime(2024, 1, 1, tzinfo=dt.UTC)),
    Case("date", dt.date(2024, 1, 1)),
    Case("decimal", Decimal("1.10")),
    Case("complex", complex(1, 2)),
    Case("object", _Opaque()),
    Case("function", len),
    Case("bytes_in_list", [b"nested"]),
    Case("bytes_in_dict", {"b": b"nested"}),
    Case("cycle_list", _cycle_list()),
    Case("cycle_dict", _cycle_dict()),
    Case("int_over_4300_digits", 10**5000),
]

#: Keys every provider must handle as-is (KEY-1).
VALID_KEYS: list[Case] = [
    Case("ascii", "plain-key_1.0"),
    Case("single_char", "k"),
    Case("digits", "12345"),
    Case("len_64", "k" * 64),
    Case("len_250", "k" * 250),
    Case("len_300", "k" * 300),
    Case("len_512_ascii_max", "k" * 512),
    Case("len_512_two_byte_max", "é" * 256),
    Case("len_512_non_bmp_max", "k" * 508 + "🔑"),
    Case("cyrillic", "ключ"),
    Case("cjk", "キャッシュ"),
    Case("emoji", "🔑"),
    Case("rtl", "שלום"),
    Case("combining", "e\u0301"),
    Case("zero_width", "a\u200bb"),
    Case("bom", "\ufeffkey"),
    Case("space_inside", "a b"),
    Case("space_leading", " a"),
    Case("space_trailing", "a "),
    Case("space_only", " "),
    Case("tab_newline", "a\tb\nc\r"),
    Case("control_chars", "\x01\x1b\x7f"),
    Case("nul", "a\x00b"),
    Case("star", "*"),
    Case("question", "?"),
    Case("brackets", "[a-z]"),
    Case("backslash", "a\\b"),
    Case("caret_bang", "^!"),
    Case("glob_mix", "a*b?c[d]e\\f"),
    Case("colon", ":"),
    Case("colon_path", "a:b:c"),
    Case("colon_edges", ":a:"),
    Case("double_colon", "a::b"),
    Case("slash_url", "https://example.com/a/b?q=1&r=%20#frag"),
    Case("quotes", "\"'`"),
    Case("json_text", '{"a":1}'),
    Case("bytes_tag", "b64:AAAA"),
]

#: Pairs of keys that must name different entries (KEY-2).
KEY_PAIRS: list[Case] = [
    Case("case", ("Key", "key")),
    Case("nfc_vs_nfd", ("\u00e9", "e\u0301")),
    Case("trailing_space", ("a", "a ")),
    Case("leading_zero", ("1", "01")),
    Case("trailing_newline", ("k", "k\n")),
    Case("trailing_nul", ("k", "k\x00")),
    Case("escaped_colon", ("a:b", "a\\:b")),
    Case("last_byte_of_512", ("k" * 511 + "a", "k" * 511 + "b")),
    Case("last_char_of_300", ("k" * 299 + "a", "k" * 299 + "b")),
    Case("unicode_vs_ascii_fold", ("straße", "strasse")),
    Case("fullwidth", ("A", "\uff21")),
    Case("after_newline", ("k\na", "k\nb")),
    Case("after_tab", ("k\ta", "k\tb")),
    Case("percent_encoded_space", ("a b", "a%20b")),
    Case("percent_encoded_letter", ("A", "%41")),
    Case("plus_vs_space", ("a+b", "a b")),
]

#: Keys every operation must refuse with InvalidKeyError (KEY-3).
INVALID_KEYS: list[Case] = [
    Case("empty", ""),
    Case("too_long_513_ascii", "k" * 513),
    Case("too_long_two_byte", "é" * 257),
    Case("too_long_non_bmp", "🔑" * 129),
    Case("lone_surrogate", "a\ud800"),
    Case("none", None),
    Case("int", 1),
    Case("float", 1.5),
    Case("bool", True),
    Case("bytes", b"key"),
    Case("tuple", ("k",)),
    Case("list", ["k"]),
]

#: TTLs that must be accepted (TTL-1, TTL-3, TTL-6, TTL-8): (ttl, seconds it means).
VALID_TTLS: list[Case] = [
    Case("int_seconds", 60, 60.0),
    Case("float_seconds", 1.5, 1.5),
    Case("timedelta", dt.timedelta(minutes=2), 120.0),
    Case("minimum_1ms", 0.001, 0.001),
    Case("forty_days", 40 * 86400, 40 * 86400.0),
    Case("max_ttl_365_days", 365 * 86400, 365 * 86400.0),
    Case("no_expiry", math.inf, math.inf),
]

#: TTLs that must raise InvalidTTLError (TTL-4).
INVALID_TTLS: list[Case] = [
    Case("zero", 0),
    Case("zero_float", 0.0),
    Case("negative", -1),
    Case("negative_small", -0.001),
    Case("below_1ms", 0.0005),
    Case("negative_inf", -math.inf),
    Case("nan", math.nan),
    Case("over_max_ttl", 365 * 86400 + 1),
    Case("huge_1e16", 1e16),
    Case("true", True),
    Case("false", False),
    Case("str_number", "10"),
    Case("str_word", "abc"),
    Case("bytes", b"1"),
    Case("list", [1]),
    Case("decimal", Decimal("10")),
    Case("complex", complex(1, 0)),
    Case("timedelta_zero", dt.timedelta(0)),
    Case("timedelta_negative", dt.timedelta(seconds=-5)),
]


@dataclass(frozen=True)
class GlobCase:
    """A pattern and the keys of :data:`GLOB_KEYS` it must remove."""

    id: str
    pattern: str
    matches: frozenset[str]


#: The keys every glob case starts from (PAT-1).
GLOB_KEYS: tuple[str, ...] = (
    "hello",
    "hallo",
    "hxllo",
    "hllo",
    "heeeello",
    "h!llo",
    "Hello",
    "user:1",
    "user:2",
    "user:10",
    "user:1:orgs",
    "user:",
    "a*b",
    "a?b",
    "a[b]",
    "a\\b",
    "ab",
    "axb",
    "a-b",
    "^x",
    "!x",
)

_H = frozenset({"hello", "hallo", "hxllo", "h!llo"})


def _g(case_id: str, pattern: str, *matches: str) -> GlobCase:
    return GlobCase(case_id, pattern, frozenset(matches))


#: The shared glob edge-case table (PAT-1): Redis semantics, pinned.
GLOB_CASES: list[GlobCase] = [
    GlobCase("star_everything", "*", frozenset(GLOB_KEYS)),
    GlobCase("double_star", "**", frozenset(GLOB_KEYS)),
    _g("literal_exact", "hello", "hello"),
    _g("anchored_no_prefix_match", "hell"),
    _g("anchored_no_suffix_match", "ello"),
    _g("prefix_star", "user:*", "user:1", "user:2", "user:10", "user:1:orgs", "user:"),
    _g("star_matches_empty", "user:*1", "user:1"),
    _g("question_one", "user:?", "user:1", "user:2"),
    _g("question_two", "user:??", "user:10"),
    GlobCase("question_inner", "h?llo", _H),
    GlobCase("star_inner", "h*llo", _H | {"hllo", "heeeello"}),
    _g("suffix_star", "*llo", *(_H | {"hllo", "heeeello", "Hello"})),
    _g("middle_segment", "user:*:orgs", "user:1:orgs"),
    _g("class_set", "h[ae]llo", "hello", "hallo"),
    _g("class_range", "h[a-e]llo", "hello", "hallo"),
    _g("class_reversed_range", "h[e-a]llo", "hello", "hallo"),
    _g("class_caret_negates", "h[^e]llo", "hallo", "hxllo", "h!llo"),
    _g("class_bang_is_literal", "h[!e]llo", "hello", "h!llo"),
    _g("class_of_metachars", "a[*?]b", "a*b", "a?b"),
    _g("class_dash_literal", "a[-]b", "a-b"),
    _g("case_sensitive", "H*", "Hello"),
    _g("escaped_star", "a\\*b", "a*b"),
    _g("escaped_question", "a\\?b", "a?b"),
    _g("escaped_brackets", "a\\[b\\]", "a[b]"),
    _g("escaped_backslash", "a\\\\b", "a\\b"),
    _g("question_any_char", "a?b", "a*b", "a?b", "a\\b", "axb", "a-b"),
    _g("dot_is_literal", "h.llo"),
    _g("plus_is_literal", "he+llo"),
    _g("caret_outside_class", "^x", "^x"),
    _g("bang_outside_class", "!x", "!x"),
    _g("no_match", "nothing*"),
]

#: Ids that must be matched literally by ``escape_glob(id)`` (PAT-4).
ESCAPE_CASES: list[Case] = [
    Case("star", "*"),
    Case("question", "?"),
    Case("open_bracket", "["),
    Case("close_bracket", "]"),
    Case("backslash", "\\"),
    Case("class", "[a-z]"),
    Case("star_between", "a*b"),
    Case("escaped_star_text", "\\*"),
    Case("trailing_backslash", "ab\\"),
    Case("colon", "x:y"),
    Case("caret_bang", "[^!]"),
    Case("user_pattern", "user:*"),
    Case("emoji_star", "🔑*"),
]
