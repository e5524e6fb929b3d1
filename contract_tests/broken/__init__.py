"""Providers with one deliberate bug each: the contract suite must fail every one.

``CATALOGUE`` maps each module to the clauses that must catch it. ``reference``
is the correct provider they all start from (it must pass); ``minimal`` declares
no capability at all (it must pass with the capability tests skipped).
"""

from __future__ import annotations

#: module -> (what is wrong, clauses that must fail)
CATALOGUE: dict[str, tuple[str, frozenset[str]]] = {
    "ttl_ignored": ("stores every entry without expiry", frozenset({"TTL-1"})),
    "ttl_truncated": ("truncates TTLs to whole seconds", frozenset({"TTL-6"})),
    "ttl_overwrite_kept": ("keeps the old expiry when a key is overwritten", frozenset({"TTL-5"})),
    "clear_flushes": ("clear() flushes every namespace", frozenset({"NS-3"})),
    "regex_patterns": ("treats glob patterns as unanchored regexes", frozenset({"PAT-1"})),
    "fnmatch_patterns": (
        "matches patterns with fnmatch ([!a] negates, no escapes)",
        frozenset({"PAT-1", "PAT-4"}),
    ),
    "stale_reads": ("a read-through layer serves values after delete", frozenset({"OP-3"})),
    "torn_bulk": (
        "get_many answers in key order, set_many writes 100 entries at most",
        frozenset({"OP-5", "OP-6"}),
    ),
    "has_ignores_expiry": ("has() reports expired entries", frozenset({"OP-4", "TTL-7"})),
    "count_wrong": ("count() ignores the pattern and expiry", frozenset({"STAT-4"})),
    "delete_always_true": ("delete() returns True for missing keys", frozenset({"OP-3"})),
    "null_is_miss": ("a stored JSON null reads as a miss", frozenset({"VAL-2"})),
    "case_folding": ("lower-cases keys", frozenset({"KEY-2"})),
    "truncating_keys": ("truncates keys to 250 characters", frozenset({"KEY-2"})),
    "not_shared": (
        "declares SHARED_BACKEND but every instance has its own store",
        frozenset({"SHARE-1"}),
    ),
    "lossy_text": ("stores text as Latin-1, mangling other characters", frozenset({"VAL-1"})),
}
