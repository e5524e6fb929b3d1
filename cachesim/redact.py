"""Keep credentials out of logs, reprs, error messages and HTTP replies.

One place knows every form a secret takes in a connection URL (userinfo,
``password=``/``username=``/``token=`` query parameters) so that every printer of a
URL or of a backend's error text can redact it the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit

__all__ = ["MASK", "SECRET_QUERY_KEYS", "redact_text", "redact_url", "url_secrets"]

#: What a secret is replaced with.
MASK = "***"

#: Query parameters whose value is a credential (compared case-insensitively).
SECRET_QUERY_KEYS = frozenset(
    {"password", "username", "user", "token", "_token", "access_token", "auth", "secret"}
)

# scheme://userinfo@ anywhere in a text (error messages quote URLs).
# The userinfo runs to the first "@" of the token: a password holding an unescaped
# "/", "?" or "#" (an invalid URL that clients still accept) is masked whole.
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>[^@\s]*)@")
# key=value pairs of secret query parameters anywhere in a text.
_QUERY = re.compile(
    r"(?P<key>(?:" + "|".join(sorted(SECRET_QUERY_KEYS)) + r"))=(?P<value>[^&\s#'\"]*)",
    re.IGNORECASE,
)


def url_secrets(url: str) -> list[str]:
    """The credential substrings of ``url`` (password, username, secret query values)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    found = [s for s in (parts.password, parts.username) if s]
    loose = _USERINFO.match(url.strip())
    if loose:  # what a lenient parser would take for the credentials
        userinfo = loose["userinfo"]
        found += [s for s in userinfo.split(":", 1) if s]
        # and the pieces a strict parser quotes back when "/", "?" or "#" cut it short
        found += [s for s in re.split(r"[:/?#\[\]]", userinfo) if len(s) > 2]
    found += [v for k, v in parse_qsl(parts.query, keep_blank_values=True) if _secret_key(k) and v]
    return found


def _secret_key(key: str) -> bool:
    return key.lower() in SECRET_QUERY_KEYS


def redact_url(url: str) -> str:
    """Return ``url`` with its userinfo and secret query values replaced by ``***``.

    Safe for logs and reprs; a string that is not a URL is returned with any
    URL-shaped secrets inside it redacted.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return redact_text(url)
    netloc, query = parts.netloc, parts.query
    if "@" in url and "@" not in netloc:  # "@" after a "/", "?" or "#": mask loosely
        return redact_text(url)
    if "@" in netloc:
        host = parts.hostname or ""
        if ":" in host:  # IPv6 literal
            host = f"[{host}]"
        if port is not None:
            host = f"{host}:{port}"
        netloc = f"{MASK}@{host}"
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_secret_key(k) for k, _ in pairs):
            query = urlencode([(k, MASK if _secret_key(k) else v) for k, v in pairs], safe="*")
    if netloc == parts.netloc and query == parts.query:
        return url
    text = f"{parts.scheme}://{netloc}{parts.path}" if parts.scheme else f"//{netloc}{parts.path}"
    if query:
        text += "?" + query
    if parts.fragment:
        text += "#" + parts.fragment
    return text


def redact_text(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Return ``text`` with URL credentials and every string in ``secrets`` replaced by ``***``."""
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{MASK}@", text)
    text = _QUERY.sub(lambda m: f"{m['key']}={MASK}", text)
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text
