"""Values round-trip with their JSON types; what cannot come back equal is refused."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cachesim import codec
from cachesim.errors import UnstorableValueError

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


def same(a: object, b: object) -> bool:
    """Equality that also checks types (True != 1) and the sign of zero."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)  # type: ignore[arg-type]
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))  # type: ignore[arg-type]
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)  # type: ignore[attr-defined,index]
    return a == b


@given(json_values)
def test_json_values_round_trip_with_their_types(value: object) -> None:
    assert same(codec.decode(codec.encode(value)), value), "a JSON value must come back identical"


@given(st.binary())
def test_bytes_round_trip(value: bytes) -> None:
    assert codec.decode(codec.encode(value)) == value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ((1, "a"), [1, "a"]),
        ({"t": (1, (2,))}, {"t": [1, [2]]}),
        (-0.0, -0.0),
        (True, True),
        (0, 0),
        ("", ""),
        ("b64:not bytes", "b64:not bytes"),
        ("nul\x00emoji😀", "nul\x00emoji😀"),
        (2**100, 2**100),
        (bytearray(b"ab"), b"ab"),
    ],
)
def test_documented_conversions(value: object, expected: object) -> None:
    assert same(codec.decode(codec.encode(value)), expected)


@pytest.mark.parametrize(
    "value", [{"é": "😀"}, "\ud800 lone surrogate", 2**64, -(2**63) - 1, [2**200, "x"]], ids=repr
)
def test_stored_text_is_valid_utf8_and_exact(value: object) -> None:
    text = codec.encode(value)
    text.encode("utf-8")  # every backend can carry it
    assert same(codec.decode(text), value)


def test_64_bit_edges_use_the_fast_path() -> None:
    assert not codec.encode(2**64 - 1).startswith(codec.EXACT_PREFIX)
    assert not codec.encode(-(2**63)).startswith(codec.EXACT_PREFIX)
    assert codec.encode(2**64).startswith(codec.EXACT_PREFIX)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (float("nan"), "NaN"),
        (float("inf"), "NaN and infinities"),
        ({1: "a"}, "dict keys must be str"),
        ({"a": {None: 1}}, "dict keys must be str"),
        ({1, 2}, "set"),
        (object(), "object"),
        ([b"x"], "top-level bytes"),
        ({"when": __import__("datetime").date(2024, 1, 1)}, "isoformat"),
    ],
)
def test_unstorable_values_raise_with_a_hint(value: object, fragment: str) -> None:
    with pytest.raises(UnstorableValueError, match=fragment):
        codec.encode(value)


def test_reference_cycles_are_refused() -> None:
    cycle: list[object] = []
    cycle.append(cycle)
    with pytest.raises(UnstorableValueError, match="cycle"):
        codec.encode(cycle)


def test_decode_returns_a_fresh_object_each_time() -> None:
    text = codec.encode({"a": [1]})
    first = codec.decode(text)
    first["a"].append(2)
    assert codec.decode(text) == {"a": [1]}
