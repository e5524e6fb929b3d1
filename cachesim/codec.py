"""Values <-> stored text.

Every provider stores the same text, so values round-trip identically everywhere:
JSON types keep their type (``True`` stays ``True``, ``0`` stays ``0``), tuples come
back as lists, and ``bytes`` round-trip through a tagged base64 form.  Anything
else (sets, datetimes, objects, NaN, dicts with non-string keys) is refused at
``set`` time with a message that says what to do.  No pickle, ever.

Stored text is JSON (written and read with orjson), except for two tagged forms
that JSON text can never start with: ``b64:<base64>`` for bytes, and ``j:<json>``
for values orjson cannot carry exactly (integers beyond 64 bits, lone surrogates),
which are written and read with the standard library instead.

Values may nest at most :data:`MAX_DEPTH` containers deep; deeper values are
refused at ``set`` time, so that every stored value reads back from any call
depth.  Text that is not a stored form (written by another application, an older
version, or truncated) raises :class:`ValueError` from :func:`decode`;
:class:`cachesim.Cache` turns that into a counted miss.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import orjson

from cachesim.errors import UnstorableValueError

__all__ = ["BYTES_PREFIX", "MAX_DEPTH", "check_storable", "decode", "encode"]

T = TypeVar("T")

#: Deepest nesting of containers (lists, tuples, dicts) a stored value may have.
#: ``[]`` is depth 1, ``[[]]`` depth 2.  Well within what orjson writes natively (254)
#: and what the standard library reads on a fresh stack, so a stored value always
#: reads back, whatever the depth of the caller's stack.
MAX_DEPTH = 128

#: Prefix of stored bytes values.
BYTES_PREFIX = "b64:"
#: Prefix of values stored through the standard-library JSON encoder.
EXACT_PREFIX = "j:"

_std_encoder = json.JSONEncoder(ensure_ascii=True, allow_nan=False, separators=(",", ":"))
_std_decode = json.JSONDecoder().decode
_SCALARS = (str, int, float, bool, type(None))
_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1
_UNSTORABLE = object()


class _TooDeep(Exception):
    """Raised inside the scan when a value nests deeper than MAX_DEPTH."""


def _too_deep_error() -> UnstorableValueError:
    return UnstorableValueError(
        f"value is nested more than {MAX_DEPTH} containers deep, or contains a reference "
        "cycle (the limit keeps every stored value readable from any call depth); flatten "
        "it, e.g. store a list of rows or a dict of ids instead of a chain of containers"
    )


def _fresh_stack(fn: Callable[[Any], T], arg: Any) -> T:
    """Run ``fn(arg)`` on a new thread: a fresh stack and recursion count.

    Used only when the caller's own stack is too deep for a value within MAX_DEPTH.
    """
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append((True, fn(arg)))
        except BaseException as exc:  # handed back to the caller below
            outcome.append((False, exc))

    thread = threading.Thread(target=run, name="cachesim-codec", daemon=True)
    thread.start()
    thread.join()
    ok, result = outcome[0]
    if not ok:
        raise result
    return result  # type: ignore[no-any-return]


def _scan(value: Any, depth: int = 0) -> Any:
    """Fast structural check: True if orjson cannot carry it exactly, _UNSTORABLE if refused."""
    t = type(value)
    if t is str or t is bool or value is None:
        return False
    if t is int:
        return not _INT_MIN <= value <= _INT_MAX
    if t is float:
        return False if math.isfinite(value) else _UNSTORABLE
    if t is dict:
        depth += 1
        if depth > MAX_DEPTH:
            raise _TooDeep
        exact = False
        for k, v in value.items():
            if type(k) is not str:
                return _UNSTORABLE
            flag = _scan(v, depth)
            if flag is _UNSTORABLE:
                return flag
            exact = exact or flag
        return exact
    if t is list or t is tuple:
        depth += 1
        if depth > MAX_DEPTH:
            raise _TooDeep
        exact = False
        for v in value:
            flag = _scan(v, depth)
            if flag is _UNSTORABLE:
                return flag
            exact = exact or flag
        return exact
    # subclasses (IntEnum, OrderedDict, ...) and everything else: the careful path
    if _explain(value, "value", depth) is not None:
        return _UNSTORABLE
    return True


def _explain(value: object, path: str, depth: int = 0) -> str | None:
    """Return why ``value`` cannot be stored, or None when it can."""
    if isinstance(value, float):
        if not math.isfinite(value):
            return (
                f"{path} is {value!r}: NaN and infinities are not portable JSON; "
                "store None or a string"
            )
        return None
    if isinstance(value, _SCALARS):
        return None
    if isinstance(value, list | tuple | dict):
        depth += 1
        if depth > MAX_DEPTH:
            raise _TooDeep
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            why = _explain(item, f"{path}[{i}]", depth)
            if why:
                return why
        return None
    if isinstance(value, dict):
        for k, item in value.items():
            if not isinstance(k, str):
                return (
                    f"{path} has a {type(k).__name__} key {k!r}: dict keys must be str "
                    "(JSON would silently turn them into strings)"
                )
            why = _explain(item, f"{path}[{k!r}]", depth)
            if why:
                return why
        return None
    if isinstance(value, bytes | bytearray | memoryview):
        return f"{path} is bytes nested in a container: only top-level bytes are storable"
    return (
        f"{path} is a {type(value).__name__}: only JSON types (dict, list, tuple, str, int, "
        "float, bool, None) and top-level bytes can be cached; convert it first "
        "(e.g. model.model_dump(), dataclasses.asdict(), dt.isoformat())"
    )


def check_storable(value: Any) -> None:
    """Raise :class:`UnstorableValueError` when ``value`` would not come back equal."""
    if isinstance(value, bytes | bytearray | memoryview):
        return
    try:
        why = _explain(value, "value")
    except _TooDeep:
        raise _too_deep_error() from None
    except RecursionError:  # the caller's stack is deep, not necessarily the value
        _fresh_stack(check_storable, value)
        return
    if why:
        raise UnstorableValueError(why)


def encode(value: Any) -> str:
    """Turn ``value`` into the text every provider stores.

    Raises :class:`UnstorableValueError` for anything that would not come back equal
    (including values nested deeper than :data:`MAX_DEPTH`).
    """
    if isinstance(value, bytes | bytearray | memoryview):
        return BYTES_PREFIX + base64.b64encode(bytes(value)).decode("ascii")
    try:
        return _encode(value)
    except _TooDeep:
        raise _too_deep_error() from None
    except RecursionError:  # the caller's stack is deep: the value is within MAX_DEPTH
        return _fresh_stack(encode, value)


def _encode(value: Any) -> str:
    exact = _scan(value)
    if exact is _UNSTORABLE:
        check_storable(value)  # raises with a message naming the offending part
        raise UnstorableValueError("value cannot be stored as JSON")  # pragma: no cover
    if not exact:
        try:
            return orjson.dumps(value).decode("utf-8")
        except TypeError:  # lone surrogates
            pass
    try:
        return EXACT_PREFIX + _std_encoder.encode(value)
    except ValueError as exc:  # an int beyond sys.get_int_max_str_digits() (4300 digits)
        raise UnstorableValueError(
            f"value cannot be stored: {exc}; store such numbers as strings"
        ) from None


def _decode_exact(body: str) -> Any:
    try:
        return _std_decode(body)
    except RecursionError:
        pass
    try:  # a value within MAX_DEPTH read from a deep stack: read it on a fresh one
        return _fresh_stack(_std_decode, body)
    except RecursionError:
        raise ValueError(f"stored value is nested more than {MAX_DEPTH} levels deep") from None


def decode(text: str | bytes) -> Any:
    """Turn stored text back into a fresh value (a new object on every call).

    Raises :class:`ValueError` when ``text`` is not something :func:`encode` wrote.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    first = text[:1]
    if first == "b" and text.startswith(BYTES_PREFIX):
        try:
            return base64.b64decode(text[len(BYTES_PREFIX) :], validate=True)
        except binascii.Error as exc:
            raise ValueError(f"corrupt stored bytes value: {exc}") from None
    if first == "j" and text.startswith(EXACT_PREFIX):
        if not text.isascii():  # the exact form is written ASCII-only
            raise ValueError("corrupt stored value: non-ASCII text in the exact JSON form")
        return _decode_exact(text[len(EXACT_PREFIX) :])
    return orjson.loads(text)
