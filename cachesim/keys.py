"""Key conventions: the ``CacheKeys`` builders, key validation and Redis glob helpers.

Keys are plain strings.  Ids handed to the builders are percent-encoded (glob
metacharacters ``* ? [ ] \\``, the ``:`` separator, braces and ``%``) and wrapped in
braces, e.g. ``user:{42}:sessions``.  So a user-supplied id can neither widen an
invalidation nor collide with another builder's key, and ``user_pattern(4)``
(``user:{4}*``) matches user 4's keys but never user 42's.  (The braces are also a
Redis Cluster hash tag: one entity's keys share a slot.)
"""

from __future__ import annotations

import re
from functools import lru_cache

from cachesim.errors import InvalidKeyError

__all__ = [
    "MAX_KEY_BYTES",
    "CacheKeys",
    "compile_glob",
    "encode_id",
    "escape_glob",
    "validate_key",
    "validate_pattern",
]

#: Longest key (UTF-8 bytes, before the namespace prefix) accepted on every provider.
MAX_KEY_BYTES = 512

_GLOB_SPECIAL = re.compile(r"([*?\[\]\\:])")


def escape_glob(text: str) -> str:
    """Escape Redis glob metacharacters (and ``:``) in ``text`` for use in a pattern.

    The escaped text, placed in a Redis ``MATCH`` pattern, matches exactly the
    original ``text``.  It is for building patterns, not keys: to put an untrusted
    id into a key use :func:`encode_id`, whose output is literal in both.
    """
    return _GLOB_SPECIAL.sub(r"\\\1", text)


def validate_key(key: object) -> str:
    """Return ``key`` if it is a usable cache key, else raise :class:`InvalidKeyError`."""
    if not isinstance(key, str):
        raise InvalidKeyError(
            f"cache keys must be str, got {type(key).__name__}; convert ids with str() "
            "or build keys with CacheKeys"
        )
    if not key:
        raise InvalidKeyError("cache keys must not be empty")
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidKeyError(
            "cache keys must be valid Unicode text (this one contains a lone surrogate)"
        ) from None
    if size > MAX_KEY_BYTES:
        raise InvalidKeyError(
            f"cache key is {size} bytes in UTF-8; the portable limit is {MAX_KEY_BYTES}. "
            "Hash long keys (e.g. hashlib.sha256(key.encode()).hexdigest())"
        )
    return key


#: Longest pattern (UTF-8 bytes): escapes may double a key's length.
MAX_PATTERN_BYTES = 2 * MAX_KEY_BYTES


def validate_pattern(pattern: object) -> str:
    """Return ``pattern`` if it is a usable Redis glob, else raise :class:`InvalidKeyError`.

    The same rules as keys (non-empty valid Unicode text), so a bad pattern fails at
    once in the caller instead of reaching, and being blamed on, the backend.
    """
    if not isinstance(pattern, str) or not pattern:
        raise InvalidKeyError("pattern must be a non-empty Redis glob such as 'user:*'")
    try:
        size = len(pattern.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidKeyError(
            "pattern must be valid Unicode text (this one contains a lone surrogate); "
            "build patterns with CacheKeys or escape_glob"
        ) from None
    if size > MAX_PATTERN_BYTES:
        raise InvalidKeyError(
            f"pattern is {size} bytes in UTF-8; the limit is {MAX_PATTERN_BYTES} "
            f"(keys are at most {MAX_KEY_BYTES} bytes)"
        )
    return pattern


_ID_ENCODING = str.maketrans({c: f"%{ord(c):02X}" for c in "%*?[]\\:{}"})


def encode_id(value: str | int) -> str:
    """Return ``{id}`` with special characters percent-encoded: literal in keys and patterns."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidKeyError(f"key ids must be str or int, got {type(value).__name__}")
    text = str(value)
    if not text:
        raise InvalidKeyError("key ids must not be empty")
    return "{" + text.translate(_ID_ENCODING) + "}"


_id = encode_id


class CacheKeys:
    """Builders for the application's cache keys (one place, one convention).

    Every id goes through :func:`encode_id`, so ``CacheKeys.user_pattern("*")``
    matches only the user whose id is literally ``*`` (stored as ``user:{%2A}``).
    """

    @staticmethod
    def user(user_id: str | int) -> str:
        """Key of a user record: ``user:{<id>}``."""
        return f"user:{_id(user_id)}"

    @staticmethod
    def user_organizations(user_id: str | int) -> str:
        """Key of a user's organization list: ``user:{<id>}:organizations``."""
        return f"user:{_id(user_id)}:organizations"

    @staticmethod
    def user_sessions(user_id: str | int) -> str:
        """Key of a user's session list: ``user:{<id>}:sessions``."""
        return f"user:{_id(user_id)}:sessions"

    @staticmethod
    def user_activity(user_id: str | int) -> str:
        """Key of a user's activity feed: ``user:{<id>}:activity``."""
        return f"user:{_id(user_id)}:activity"

    @staticmethod
    def user_pattern(user_id: str | int) -> str:
        """Pattern for everything cached about one user: ``user:{<id>}*``."""
        return f"user:{_id(user_id)}*"

    @staticmethod
    def organization(org_id: str | int) -> str:
        """Key of an organization record: ``organization:{<id>}``."""
        return f"organization:{_id(org_id)}"

    @staticmethod
    def organization_members(org_id: str | int) -> str:
        """Key of an organization's member list: ``organization:{<id>}:members``."""
        return f"organization:{_id(org_id)}:members"

    @staticmethod
    def organization_subscription(org_id: str | int) -> str:
        """Key of an organization's subscription: ``organization:{<id>}:subscription``."""
        return f"organization:{_id(org_id)}:subscription"

    @staticmethod
    def organization_activity(org_id: str | int) -> str:
        """Key of an organization's activity feed: ``organization:{<id>}:activity``."""
        return f"organization:{_id(org_id)}:activity"

    @staticmethod
    def organization_pattern(org_id: str | int) -> str:
        """Pattern for everything cached about one organization: ``organization:{<id>}*``."""
        return f"organization:{_id(org_id)}*"

    @staticmethod
    def stripe_products() -> str:
        """Key of the Stripe product catalogue: ``stripe:products``."""
        return "stripe:products"

    @staticmethod
    def stripe_customer(customer_id: str) -> str:
        """Key of a Stripe customer: ``stripe:customer:{<id>}``."""
        return f"stripe:customer:{_id(customer_id)}"

    @staticmethod
    def stripe_subscription(subscription_id: str) -> str:
        """Key of a Stripe subscription: ``stripe:subscription:{<id>}``."""
        return f"stripe:subscription:{_id(subscription_id)}"

    @staticmethod
    def rate_limit(identifier: str | int, window: str | int | None = None) -> str:
        """Key of a rate-limit counter: ``rate_limit:{<identifier>}[:<window>]``."""
        key = f"rate_limit:{_id(identifier)}"
        return key if window is None else f"{key}:{_id(window)}"

    @staticmethod
    def session(session_id: str) -> str:
        """Key of a session: ``session:{<id>}``."""
        return f"session:{_id(session_id)}"


# --- Redis-compatible glob matching (for providers without a server) -------------


def _class_regex(body: list[tuple[int, int]], negate: bool) -> bytes:
    if not body:
        return b"[\x00-\xff]" if negate else b"(?!)"
    parts = b"".join(
        re.escape(bytes([lo]))
        if lo == hi
        else re.escape(bytes([lo])) + b"-" + re.escape(bytes([hi]))
        for lo, hi in body
    )
    return b"[" + (b"^" if negate else b"") + parts + b"]"


@lru_cache(maxsize=1024)
def compile_glob(pattern: str) -> re.Pattern[bytes]:
    """Compile a Redis ``MATCH`` glob into a regex over UTF-8 key bytes.

    Follows Redis' ``stringmatchlen``: ``*``, ``?``, ``[abc]``, ``[^a]``, ``[a-z]``,
    ``\\x`` escapes; matching is on bytes, exactly as the server does it.  Every item
    but ``*`` matches one byte, so each run between stars is matched at its leftmost
    place and never revisited (an atomic group): matching costs at most
    len(key) x len(pattern) steps, whatever the pattern (no catastrophic backtracking).
    """
    pat = pattern.encode("utf-8")
    runs: list[list[bytes]] = [[]]  # the one-byte items between stars
    i, n = 0, len(pat)
    while i < n:
        c = pat[i]
        if c == 0x2A:  # *
            while i + 1 < n and pat[i + 1] == 0x2A:
                i += 1
            runs.append([])
        elif c == 0x3F:  # ?
            runs[-1].append(b".")
        elif c == 0x5B:  # [
            i += 1
            negate = i < n and pat[i] == 0x5E
            if negate:
                i += 1
            items: list[tuple[int, int]] = []
            while i < n and pat[i] != 0x5D:
                if pat[i] == 0x5C and i + 1 < n:
                    i += 1
                    items.append((pat[i], pat[i]))
                elif i + 2 < n and pat[i + 1] == 0x2D:
                    lo, hi = pat[i], pat[i + 2]
                    items.append((min(lo, hi), max(lo, hi)))
                    i += 2
                else:
                    items.append((pat[i], pat[i]))
                i += 1
            runs[-1].append(_class_regex(items, negate))
        elif c == 0x5C and i + 1 < n:  # \x
            i += 1
            runs[-1].append(re.escape(bytes([pat[i]])))
        else:
            runs[-1].append(re.escape(bytes([c])))
        i += 1
    first, *middle_and_last = (b"".join(run) for run in runs)
    if not middle_and_last:
        return re.compile(first + rb"\Z", re.DOTALL)
    *middle, last = middle_and_last
    body = first + b"".join(b"(?>.*?" + run + b")" for run in middle if run)
    return re.compile(body + b".*" + last + rb"\Z", re.DOTALL)
