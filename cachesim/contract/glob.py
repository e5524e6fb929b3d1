"""The reference Redis glob matcher of the contract suite (PAT-1, PAT-7).

:func:`stringmatch` follows Redis' own matcher (``stringmatchlen`` in ``util.c``),
step for step, on UTF-8 bytes and case-sensitively, including its edge cases:

- ``*`` matches any run of bytes, newlines included; ``?`` matches any one byte;
- ``[...]`` is a class: ``[^...]`` negates (``!`` does not), ``a-z`` is a range in
  either order, ``\\x`` inside a class is a literal ``x`` (so ``[\\]]`` matches
  ``]``), ``]`` right after ``[`` closes an empty class that matches nothing, a
  trailing ``-`` before ``]`` makes a range ending at ``]``, and a class left open
  at the end of the pattern is closed there;
- ``\\x`` outside a class is a literal ``x``; a lone ``\\`` at the end is a literal
  backslash;
- every other byte is literal.

It shares no code with :mod:`cachesim.keys`, so a provider using that module is
checked against an independent reading of the rules. ``contract_tests`` checks it
against a real ``redis-server`` on generated patterns.
"""

from __future__ import annotations

__all__ = ["stringmatch"]

_STAR, _QUESTION, _OPEN, _CLOSE = ord("*"), ord("?"), ord("["), ord("]")
_BACKSLASH, _CARET, _DASH = ord("\\"), ord("^"), ord("-")
_MAX_NESTING = 1000  # Redis gives up (no match) on deeper recursion


def stringmatch(pattern: str | bytes, string: str | bytes) -> bool:
    """Whether Redis glob ``pattern`` matches the whole of ``string`` (UTF-8 bytes)."""
    pat = pattern.encode("utf-8", "surrogatepass") if isinstance(pattern, str) else pattern
    text = string.encode("utf-8", "surrogatepass") if isinstance(string, str) else string
    return _match(pat, 0, text, 0, 0)


def _match(pat: bytes, p: int, text: bytes, s: int, nesting: int) -> bool:
    if nesting > _MAX_NESTING:
        return False
    plen, slen = len(pat), len(text)
    while p < plen and s < slen:
        c = pat[p]
        if c == _STAR:
            while p + 1 < plen and pat[p + 1] == _STAR:
                p += 1
            if p + 1 == plen:
                return True
            while s < slen:  # the rest of the pattern from every later position
                if _match(pat, p + 1, text, s, nesting + 1):
                    return True
                s += 1
            return False
        if c == _QUESTION:
            s += 1
        elif c == _OPEN:
            p += 1
            negate = p < plen and pat[p] == _CARET
            if negate:
                p += 1
            hit = False
            while True:
                if p < plen and pat[p] == _BACKSLASH and plen - p >= 2:
                    p += 1
                    hit = hit or pat[p] == text[s]
                elif p < plen and pat[p] == _CLOSE:
                    break
                elif p >= plen:  # class left open: it ends with the pattern
                    p -= 1
                    break
                elif plen - p >= 3 and pat[p + 1] == _DASH:
                    low, high = sorted((pat[p], pat[p + 2]))
                    hit = hit or low <= text[s] <= high
                    p += 2
                else:
                    hit = hit or pat[p] == text[s]
                p += 1
            if hit == negate:
                return False
            s += 1
        else:
            if c == _BACKSLASH and plen - p >= 2:
                p += 1
                c = pat[p]
            if c != text[s]:
                return False
            s += 1
        p += 1
        if s == slen:  # the string is used up: only stars may remain
            while p < plen and pat[p] == _STAR:
                p += 1
            break
    return p == plen and s == slen
