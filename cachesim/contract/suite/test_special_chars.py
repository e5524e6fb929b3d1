"""NS-5 and PAT-7: every special character in keys and namespaces, and Redis glob
edge cases against the suite's reference matcher on generated keys and patterns.

The characters are the ones implementations mistranslate: glob metacharacters,
SQL ``LIKE`` wildcards (``_`` and ``%``), the separator, whitespace and control
characters, and both forms of a Unicode normalization pair. Each namespace test puts
the character in the namespace and places neighbours that a wildcard reading of
that character would match next to it.
"""

from __future__ import annotations

import random

import pytest

from cachesim import Cache, escape_glob
from cachesim.contract.context import ContractContext
from cachesim.contract.glob import stringmatch
from cachesim.contract.markers import clause, requires
from cachesim.providers.capabilities import Capability

PATTERNS = Capability.PATTERN_INVALIDATION

#: name -> character (both forms of the normalization pair are here).
SPECIALS: dict[str, str] = {
    "newline": "\n",
    "tab": "\t",
    "backslash": "\\",
    "open_bracket": "[",
    "close_bracket": "]",
    "star": "*",
    "question": "?",
    "percent": "%",
    "underscore": "_",
    "colon": ":",
    "space": " ",
    "caret": "^",
    "bang": "!",
    "quote": "'",
    "nfc_e_acute": "\u00e9",
    "nfd_e_acute": "e\u0301",
    "astral": "\U0001f600",  # outside the BMP: 4 UTF-8 bytes, past any U+FFFF bound
}
_OTHER_FORM = {"\u00e9": "e\u0301", "e\u0301": "\u00e9"}

#: Keys with every special character, alone and inside text, and long keys (300 to
#: 512 UTF-8 bytes: a backend with a shorter key limit must still count, clear and
#: invalidate them, whatever it stores them under).
SPECIAL_KEYS: list[str] = sorted(
    set(SPECIALS.values())
    | {f"k{ch}x" for ch in SPECIALS.values()}
    | {"kx", "kXx", "L" * 300, "L" * 299 + "*", "\u00fc" * 256, "k\n" + "é" * 255}
)


def _neighbours(stem: str, ch: str) -> list[str]:
    """Namespaces a wildcard or normalising reading of ``stem + 'n' + ch + 's'`` would hit."""
    names = [
        f"{stem}nXs",  # one character where ch is (_ ? [ in LIKE or glob)
        f"{stem}nXYs",  # a run where ch is (% *)
        f"{stem}ns",  # an empty run where ch is (% *)
        f"{stem}N{ch}s",  # case-insensitive LIKE
        f"{stem}n{ch}s2",  # extends the namespace
        f"{stem}n{ch}{ch}s",
    ]
    if ch in _OTHER_FORM:
        names.append(f"{stem}n{_OTHER_FORM[ch]}s")  # the other normalization form
    return [n for n in names if n != f"{stem}n{ch}s"]


@clause("NS-5", "NS-3", "OP-5", "OP-7")
@pytest.mark.parametrize("name", list(SPECIALS))
async def test_special_character_in_namespace_and_keys(ctx: ContractContext, name: str) -> None:
    ch = SPECIALS[name]
    stem = ctx.fresh_namespace("-")
    odd = ctx.make_cache(namespace=f"{stem}n{ch}s")
    others = [ctx.make_cache(namespace=n) for n in _neighbours(stem, ch)]
    for other in others:
        await other.set_many({"kx": other.namespace, f"k{ch}x": other.namespace})
    items = {key: f"value of {key!r}" for key in SPECIAL_KEYS}
    assert await odd.set_many(items) is True
    got = await odd.get_many([*items, "missing"])
    assert got == items, (
        f"namespace {odd.namespace!r}: get_many of {len(items)} special keys: expected all, "
        f"observed {len(got)}; missing {sorted(set(items) - set(got))[:5]}, wrong "
        f"{sorted(k for k in got if got[k] != items.get(k))[:5]}"
    )
    counting = ctx.has_capability(Capability.COUNT_KEYS)
    if counting:
        keys = (await odd.get_stats()).keys
        assert keys == len(items), (
            f"namespace {odd.namespace!r}: CacheStats.keys expected {len(items)}, observed {keys}"
        )
    half = SPECIAL_KEYS[::2]
    deleted = await odd.delete_many([*half, *half[:3], "missing"])
    assert deleted == len(half), (
        f"namespace {odd.namespace!r}: delete_many of {len(half)} special keys (with duplicates "
        f"and a missing key): expected {len(half)}, observed {deleted}"
    )
    rest = {k: v for k, v in items.items() if k not in half}
    assert await odd.get_many(list(items)) == rest
    if ctx.has_capability(PATTERNS):
        removed = await odd.invalidate_pattern("*")
        assert removed == len(rest), (
            f"namespace {odd.namespace!r}: invalidate_pattern('*') expected {len(rest)}, "
            f"observed {removed}"
        )
        await odd.set_many(rest)
    cleared = await odd.clear()
    assert cleared == len(rest), (
        f"namespace {odd.namespace!r}: clear() expected {len(rest)}, observed {cleared}"
    )
    assert await odd.get_many(list(items)) == {}, "clear() left entries behind"
    for other in others:
        left = await other.get_many(["kx", f"k{ch}x"])
        assert len(left) == 2, (
            f"clear/invalidate of namespace {odd.namespace!r} removed entries of the "
            f"neighbouring namespace {other.namespace!r} (kept {sorted(left)})"
        )
        if counting:
            keys = (await other.get_stats()).keys
            assert keys == 2, f"namespace {other.namespace!r}: keys expected 2, observed {keys}"


@clause("NS-5", "PAT-4")
@requires(PATTERNS)
async def test_each_special_key_is_invalidated_alone(cache: Cache) -> None:
    items = dict.fromkeys(SPECIAL_KEYS, "v")
    await cache.set_many(items)
    wrong = []
    for key in SPECIAL_KEYS:
        removed = await cache.invalidate_pattern(escape_glob(key))
        if removed != 1:
            wrong.append(f"{key!r}: removed {removed}")
    left = await cache.get_many(SPECIAL_KEYS)
    assert not wrong, "invalidate_pattern(escape_glob(key)) must remove exactly that key: " + (
        "; ".join(wrong[:8])
    )
    assert not left, f"invalidate_pattern(escape_glob(key)) left {sorted(left)[:5]} behind"


# -- PAT-7: generated keys and patterns against the reference matcher -----------------

_KEY_ALPHABET = "ab-]\\[*?^!\n\t:_% "
_ATOMS = [
    "a",
    "b",
    "-",
    "*",
    "?",
    "\\",
    "[",
    "]",
    "^",
    "!",
    "\n",
    "_",
    "%",
    ":",
    " ",
    "[ab]",
    "[^a]",
    "[!a]",
    "[a-c]",
    "[z-a]",
    "[\\]]",
    "[\\\\]",
    "[a\\-c]",
    "[a-]",
    "[]",
    "[^]",
    "\\*",
    "\\?",
    "\\[",
    "\\a",
    "*\n*",
    "?\n",
    "**",
]


#: Keys every PAT-7 edge case runs against.
EDGE_KEYS: tuple[str, ...] = (
    "\u00e9",
    "a\u00e9",
    "a\nb",
    "ab",
    "a\n",
    "\n",
    "a",
    "a\\",
    "]",
    "\\",
    "-",
    "z",
    "m",
    "!",
    "^",
    "b",
    "a]",
    "ac",
    "abc",
    "a[bc",
)

#: The edge cases PAT-7 pins (the expected matches come from the reference matcher,
#: which contract_tests checks against redis-server on these very cases).
EDGE_CASES: dict[str, str] = {
    "star_over_newline": "a*b",
    "question_over_newline": "a?b",
    "star_then_trailing_newline": "a*",
    "literal_not_before_trailing_newline": "a",
    "double_star": "a**",
    "escaped_close_bracket_in_class": "[\\]]",
    "escaped_backslash_in_class": "[\\\\]",
    "escaped_dash_in_class": "[a\\-z]",
    "reversed_range": "[z-a]",
    "range_up_to_close_bracket": "[a-]",
    "bang_is_a_member": "[!a]",
    "caret_negates": "[^a]",
    "empty_class_matches_nothing": "[]a]",
    "empty_class_at_end": "a[]",
    "negated_empty_class_any_byte": "[^]",
    "unclosed_class": "a[bc",
    "unclosed_class_at_end": "a[",
    "trailing_backslash_literal": "a\\",
    "escaped_letter": "\\a?",
}


@clause("PAT-7", "PAT-1")
@requires(PATTERNS)
@pytest.mark.parametrize("case", list(EDGE_CASES))
async def test_glob_edge_case(cache: Cache, case: str) -> None:
    pattern = EDGE_CASES[case]
    expected = {k for k in EDGE_KEYS if stringmatch(pattern, k)}
    await cache.set_many(dict.fromkeys(EDGE_KEYS, "v"))
    removed = await cache.invalidate_pattern(pattern)
    gone = set(EDGE_KEYS) - set(await cache.get_many(list(EDGE_KEYS)))
    assert (gone, removed) == (expected, len(expected)), (
        f"pattern {pattern!r}: expected to remove {sorted(expected)} ({len(expected)}), observed "
        f"{sorted(gone)} (returned {removed}); wrongly removed {sorted(gone - expected)}, wrongly "
        f"kept {sorted(expected - gone)}"
    )


def generated_cases(seed: int, keys: int, patterns: int) -> tuple[list[str], list[str]]:
    """Keys and patterns drawn from the characters and constructs PAT-7 pins.

    Keys never end with a newline: those cases (where a regex ``$`` differs) are
    pinned one by one in :data:`EDGE_CASES`, so a deviation there is declared once.
    """
    rng = random.Random(seed)
    found_keys = {
        "".join(rng.choice(_KEY_ALPHABET) for _ in range(rng.randint(1, 5))) + rng.choice("ab]")
        for _ in range(keys)
    }
    found_patterns: list[str] = []
    while len(found_patterns) < patterns:
        pattern = "".join(rng.choice(_ATOMS) for _ in range(rng.randint(1, 4)))
        if rng.random() < 0.2:  # classes left open at the end, trailing backslashes
            pattern += rng.choice(["[", "[a", "[^", "\\", "[\\"])
        if pattern not in found_patterns:
            found_patterns.append(pattern)
    return sorted(found_keys), found_patterns


@clause("PAT-7", "PAT-1", "PAT-2")
@requires(PATTERNS)
async def test_generated_patterns_match_the_reference(ctx: ContractContext, cache: Cache) -> None:
    count = 40 * ctx.options.scale
    keys, patterns = generated_cases(ctx.options.seed, 60, count)
    await cache.set_many(dict.fromkeys(keys, "v"))
    wrong: list[str] = []
    for pattern in patterns:
        expected = {k for k in keys if stringmatch(pattern, k)}
        removed = await cache.invalidate_pattern(pattern)
        left = set(await cache.get_many(keys))
        gone = set(keys) - left
        if gone != expected or removed != len(expected):
            wrongly_removed = sorted(gone - expected)[:3]
            wrongly_kept = sorted(expected - gone)[:3]
            wrong.append(
                f"pattern {pattern!r}: expected {len(expected)} removed, observed {removed} "
                f"(wrongly removed {wrongly_removed}, wrongly kept {wrongly_kept})"
            )
        if gone:
            await cache.set_many(dict.fromkeys(gone, "v"))
    assert not wrong, (
        f"{len(wrong)} of {len(patterns)} generated patterns disagree with the reference "
        f"matcher cachesim.contract.glob.stringmatch (seed {ctx.options.seed}):\n"
        + "\n".join(wrong[:10])
    )
