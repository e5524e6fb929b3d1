"""Values <-> stored text.

Every provider stores the same text, so values round-trip identically everywhere:
JSON types keep their type (``True`` stays ``True``, ``0`` stays ``0``), tuples come
back as lists, and ``bytes`` round-trip through a tagged base64 form.  Anything
else (sets, datetimes, objects, NaN, dicts with non-string keys) is refused at
``set`` time with a message that says what to do.  No pickle, ever.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from typing import Any

from cachesim.errors import UnstorableValueError

__all__ = ["BYTES_PREFIX", "decode", "encode"]

#: Prefix of stored bytes values.  JSON text never starts with ``b``.
BYTES_PREFIX = "b64:"

_encoder = json.JSONEncoder(ensure_ascii=True, allow_nan=False, separators=(",", ":"))
_decode_json = json.JSONDecoder().decode
_SCALARS = (str, int, float, bool, type(None))


def _explain(value: object, path: str) -> str | None:
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
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            why = _explain(item, f"{path}[{i}]")
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
            why = _explain(item, f"{path}[{k!r}]")
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
    except RecursionError:
        why = "value contains a reference cycle or is nested too deeply to store"
    if why:
        raise UnstorableValueError(why)


def encode(value: Any) -> str:
    """Turn ``value`` into the text every provider stores.

    Raises :class:`UnstorableValueError` for anything that would not come back equal.
    """
    if isinstance(value, str | int | type(None)):
        return _encoder.encode(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return BYTES_PREFIX + base64.b64encode(bytes(value)).decode("ascii")
    check_storable(value)
    return _encoder.encode(value)


def decode(text: str | bytes) -> Any:
    """Turn stored text back into a fresh value (a new object on every call)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    if text.startswith(BYTES_PREFIX):
        try:
            return base64.b64decode(text[len(BYTES_PREFIX) :], validate=True)
        except binascii.Error as exc:
            raise ValueError(f"corrupt stored bytes value: {exc}") from None
    return _decode_json(text)
