"""Providers with one deliberate bug each (a mutation set): the contract suite must fail every one.

``CATALOGUE`` maps each module to the clauses that must catch it: the module name
starts with the clause (``ttl5_...`` must be caught by TTL-5). The correct providers
they start from must pass: ``reference`` (a dict), ``sql_reference`` (stdlib sqlite3)
and ``scan_reference`` (Redis-style SCAN pages, batched pipelines, command
counting); ``minimal`` declares no capability at all (it must pass with the
capability tests skipped). ``nox -s mutants`` runs ``contract_tests/mutants.py``.
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
    "ttl1_expiry_exclusive": (
        "an entry is still live at exactly its expiry instant (> instead of >=)",
        frozenset({"TTL-1"}),
    ),
    "ttl10_sliding_expiry": ("get() re-arms the TTL (sliding expiration)", frozenset({"TTL-10"})),
    "ttl5_set_many_keeps_expiry": (
        "set_many(ttl=None) keeps each key's old expiry",
        frozenset({"TTL-5"}),
    ),
    "ttl5_none_keeps_expiry": (
        "set(ttl=None) keeps the old expiry of a live key",
        frozenset({"TTL-5"}),
    ),
    "ttl8_long_ttl_as_timestamp": (
        "a TTL over 30 days is read as a Unix timestamp (memcached)",
        frozenset({"TTL-8"}),
    ),
    "ttl8_millisecond_overflow": (
        "TTLs in milliseconds wrap at 32 bits (24.8 days)",
        frozenset({"TTL-8"}),
    ),
    "ttl8_capped_30_days": ("TTLs are capped at 30 days", frozenset({"TTL-8"})),
    "ttl3_no_expiry_is_a_day": (
        "ttl=None stores with the backend's own default of one day",
        frozenset({"TTL-3"}),
    ),
    "ttl6_rounded_up": ("sub-second TTLs are rounded up to whole seconds", frozenset({"TTL-6"})),
    "ns5_sql_like_unescaped": (
        "clear() deletes by LIKE 'namespace:%' without escaping _ and %",
        frozenset({"NS-5"}),
    ),
    "pat1_sql_glob_operator": (
        "invalidate_pattern uses SQLite GLOB (no backslash escapes)",
        frozenset({"PAT-1"}),
    ),
    "ttl5_sql_upsert_keeps_expiry": (
        "the upsert updates the value but not the expires column",
        frozenset({"TTL-5"}),
    ),
    "ttl1_sql_live_at_expiry": (
        "rows are live while expires >= now (live at the instant)",
        frozenset({"TTL-1"}),
    ),
    "ttl7_sql_count_expired": ("count() counts expired rows too", frozenset({"TTL-7"})),
    "ttl7_sql_delete_rowcount": (
        "delete() reports the rowcount, so an expired row counts as existing",
        frozenset({"TTL-7"}),
    ),
    "val1_sql_numeric_affinity": (
        "the value column has NUMERIC affinity, so numeric text comes back as a number",
        frozenset({"VAL-1"}),
    ),
    "ttl9_sql_set_many_no_ttl": (
        "set_many writes every row without an expiry",
        frozenset({"TTL-9"}),
    ),
    "ttl7_sql_clear_counts_expired": (
        "clear() returns the rowcount, expired rows included",
        frozenset({"TTL-7"}),
    ),
    "pat5_scan_stops_on_empty_page": (
        "the SCAN loop stops at the first empty page",
        frozenset({"PAT-5", "NS-6"}),
    ),
    "pat5_scan_first_page_only": (
        "invalidate_pattern reads one SCAN page of COUNT 1000",
        frozenset({"PAT-5"}),
    ),
    "pat2_scan_counts_duplicates": (
        "invalidate_pattern counts every key SCAN returned, duplicates included",
        frozenset({"PAT-2"}),
    ),
    "ns4_scan_unescaped_namespace": (
        "clear() puts the namespace into the MATCH pattern unescaped",
        frozenset({"NS-4"}),
    ),
    "ns3_scan_prefix_without_separator": (
        "clear() matches <namespace>* and so also clears <namespace>2",
        frozenset({"NS-3"}),
    ),
    "stat4_count_stops_on_empty_page": (
        "count() stops its SCAN at the first empty page",
        frozenset({"STAT-4", "NS-6"}),
    ),
    "op8_set_many_drops_remainder": (
        "the batching helper drops the last partial batch of bulk operations",
        frozenset({"OP-8"}),
    ),
    "op8_mget_batches_misaligned": (
        "get_many concatenates batch replies in completion order (last batch first)",
        frozenset({"OP-8"}),
    ),
    "op8_delete_many_last_reply": (
        "delete_many returns the reply of the last batch only",
        frozenset({"OP-8"}),
    ),
    "stat6_pipelines_uncounted": (
        "commands sent in pipelines are not counted",
        frozenset({"STAT-6"}),
    ),
    "stat6_mget_counted_per_key": (
        "one MGET is counted once per key although one command is declared",
        frozenset({"STAT-6"}),
    ),
    "conc5_fire_and_forget_pipeline": (
        "set_many sends its pipeline in a background task and returns at once",
        frozenset({"CONC-5"}),
    ),
    "conc5_snapshot_set_many": (
        "set_many reads the whole store, awaits, and writes the snapshot back",
        frozenset({"CONC-5"}),
    ),
    "iso1_class_level_store": (
        "entries live in a class attribute shared by every instance",
        frozenset({"ISO-1"}),
    ),
    "iso2_reconnect_loses_data": (
        "declares PERSISTENT, but initialize() starts from an empty store",
        frozenset({"ISO-2"}),
    ),
    "share1_ttl_per_instance": (
        "instances share values, but each keeps its own expiry map",
        frozenset({"SHARE-1"}),
    ),
    "val9_limit_counts_key": (
        "declares max_value_bytes=65536 but the store counts key plus value against it",
        frozenset({"VAL-9"}),
    ),
    "val9_limit_off_by_one": (
        "declares max_value_bytes=4096 but refuses a value of exactly 4096 bytes",
        frozenset({"VAL-9"}),
    ),
    "pat7_glob_no_dotall": (
        "patterns become regexes without DOTALL: * and ? stop at newlines",
        frozenset({"PAT-7"}),
    ),
    "pat7_glob_class_escapes_ignored": (
        "backslash is not an escape inside a class ([\\\\]] breaks)",
        frozenset({"PAT-7"}),
    ),
    "pat1_glob_bang_negates": ("[!a] negates like fnmatch", frozenset({"PAT-1"})),
    "pat1_glob_ignores_case": ("patterns match case-insensitively", frozenset({"PAT-1"})),
    "pat1_glob_unanchored_end": (
        "patterns match any key they are a prefix of",
        frozenset({"PAT-1"}),
    ),
    "pat7_glob_dollar_anchor": (
        "patterns end with $ and so also match before a trailing newline",
        frozenset({"PAT-7"}),
    ),
    "key2_nfc_normalised": (
        "keys are NFC-normalised (e + combining acute == é)",
        frozenset({"KEY-2"}),
    ),
    "key2_stripped": ("keys are stripped of surrounding whitespace", frozenset({"KEY-2"})),
    "key2_url_unquoted": (
        "keys travel in a URL path unquoted, so %xx sequences decode",
        frozenset({"KEY-2"}),
    ),
    "key2_line_protocol_newline": (
        "a newline in a key ends it (a line-based protocol)",
        frozenset({"KEY-2"}),
    ),
    "ttl7_has_live_at_expiry": (
        "has() alone says live at exactly the expiry instant (get is right)",
        frozenset({"TTL-7"}),
    ),
    "ttl7_get_many_live_at_expiry": (
        "get_many alone serves an entry at exactly its expiry instant (get is right)",
        frozenset({"TTL-7"}),
    ),
    "ttl7_delete_true_at_expiry": (
        "delete() returns True at exactly the expiry instant",
        frozenset({"TTL-7"}),
    ),
    "ns2_sql_clear_bmp_upper_bound": (
        "clear() deletes the key range [prefix, prefix + U+FFFF), missing astral keys",
        frozenset({"NS-2"}),
    ),
    "conc6_set_many_yields_between_keys": (
        "declares ATOMIC_BULK, but set_many yields to the loop between keys",
        frozenset({"CONC-6"}),
    ),
    "conc6_delete_many_yields_between_keys": (
        "declares ATOMIC_BULK, but delete_many yields to the loop between keys",
        frozenset({"CONC-6"}),
    ),
}
