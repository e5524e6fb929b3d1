"""The loader never merges, drops or reorders data silently, whatever the chunk size."""

from __future__ import annotations

import bz2
import gzip
import lzma
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cachesim.sim import Workload, iter_trace, load_trace, write_trace, zipf
from cachesim.sim.traces import TraceError

TRICKY = ["007", "7", "0007", "-0", "0", "+7", " 7", "7 ", "NA", "null", "None", "nan", "N/A", ""]
BIG = ["9007199254740993", "9007199254740992", "18446744073709551615", "-1"]

SETTINGS: dict[str, Any] = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture],
}
key_text = st.one_of(
    st.sampled_from(TRICKY + BIG),
    st.integers(-(2**63), 2**63 - 1).map(str),
    st.integers(0, 50).map(str),
    st.text(st.characters(codec="utf-8", exclude_characters="\r\n\x1f,\"'"), max_size=6),
)


LINE_KEYS = key_text.filter(lambda k: k != "*" and k.strip() != "")


def _csv(path: Path, keys: list[str]) -> Path:
    lines = ["time,key"] + [f"{i},{k}" for i, k in enumerate(keys)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _expected_ids(keys: list[str]) -> list[int] | None:
    """Integer ids when every key is canonical, else None (string keys)."""
    try:
        values = [int(k) for k in keys]
    except ValueError:
        return None
    if all(str(v) == k and -(2**63) <= v < 2**63 for v, k in zip(values, keys, strict=True)):
        return values
    return None


@settings(max_examples=40, **SETTINGS)
@given(keys=st.lists(key_text, min_size=1, max_size=40), chunk=st.integers(1, 7))
def test_csv_keys_are_exact_strings_for_any_chunk_size(
    tmp_path: Path, keys: list[str], chunk: int
) -> None:
    path = _csv(tmp_path / "k.csv", keys)
    whole = load_trace(path, chunk_size=chunk)
    assert [str(k) for k in whole.original_keys().tolist()] == keys
    assert whole.n_unique == len(set(keys))  # nothing merged
    assert whole == load_trace(path, chunk_size=10_000)  # ids do not depend on the chunking
    ints = _expected_ids(keys)
    if ints is not None:
        assert whole.key_names is None and whole.key.tolist() == ints
    else:
        assert whole.key_names is not None
    # streaming with string keys gives the same ids as the whole-file load
    streamed = list(iter_trace(path, chunk_size=chunk, key_type="str"))
    assert sum(len(c) for c in streamed) == len(keys)
    names = streamed[-1].key_names
    assert names is not None
    got = [names[i] for c in streamed for i in c.key.tolist()]
    assert got == keys


@settings(max_examples=30, **SETTINGS)
@given(keys=st.lists(LINE_KEYS, min_size=1, max_size=40), chunk=st.integers(1, 5))
def test_text_keys_are_exact_strings_for_any_chunk_size(
    tmp_path: Path, keys: list[str], chunk: int
) -> None:
    path = tmp_path / "k.txt"
    path.write_text("\n".join(keys) + "\n", encoding="utf-8")
    w = load_trace(path, chunk_size=chunk)
    assert [str(k) for k in w.original_keys().tolist()] == keys
    assert w.n_unique == len(set(keys))
    assert w == load_trace(path, chunk_size=1_000)


@settings(max_examples=25, **SETTINGS)
@given(
    values=st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=30),
    chunk=st.integers(1, 6),
)
def test_integer_keys_stay_integers_and_never_collide(
    tmp_path: Path, values: list[int], chunk: int
) -> None:
    path = _csv(tmp_path / "i.csv", [str(v) for v in values])
    w = load_trace(path, chunk_size=chunk, key_type="int")
    assert w.key_names is None and w.key.tolist() == values
    streamed = np.concatenate([c.key for c in iter_trace(path, chunk_size=chunk)])
    assert streamed.tolist() == values


def test_lookalike_numbers_are_three_keys_and_large_ids_do_not_collide(tmp_path: Path) -> None:
    keys = ["007", "7", "0007", "7", "9007199254740993", "9007199254740992", ""]
    path = _csv(tmp_path / "t.csv", keys)
    for chunk in (1, 2, 3, 1_000):
        w = load_trace(path, chunk_size=chunk)
        assert w.original_keys().tolist() == [
            "007",
            "7",
            "0007",
            "7",
            "9007199254740993",
            "9007199254740992",
            "",
        ]
        assert w.n_unique == 6
    ints = _csv(tmp_path / "n.csv", ["9007199254740993", "9007199254740992"])
    assert load_trace(ints).key.tolist() == [9007199254740993, 9007199254740992]


def test_missing_value_spellings_stay_distinct_keys(tmp_path: Path) -> None:
    spellings = ["NA", "null", "None", "nan", "N/A", "", "NaN", "#N/A"]
    for w in (
        load_trace(_csv(tmp_path / "na.csv", spellings)),
        load_trace(tmp_path / "na.csv", key_col=2, time_col=1),
    ):
        assert w.original_keys().tolist() == spellings
    txt = tmp_path / "na.txt"
    txt.write_text("\n".join(spellings[:5]) + "\n")
    assert load_trace(txt).original_keys().tolist() == spellings[:5]


def test_key_type_int_refuses_non_canonical_keys(tmp_path: Path) -> None:
    path = _csv(tmp_path / "t.csv", ["1", "2", "007"])
    with pytest.raises(TraceError, match=r"row 1 \+ 2.*'007'.*key_type='str'"):
        load_trace(path, key_type="int")
    assert load_trace(path, key_type="str").original_keys().tolist() == ["1", "2", "007"]


def test_stream_that_turns_to_strings_late_raises_instead_of_renumbering(tmp_path: Path) -> None:
    path = _csv(tmp_path / "t.csv", ["1", "2", "3", "x"])
    with pytest.raises(TraceError, match="key_type='str'"):
        list(iter_trace(path, chunk_size=2))
    first = list(iter_trace(path, chunk_size=10))  # the first chunk already holds "x"
    assert first[0].original_keys().tolist() == ["1", "2", "3", "x"]
    # the whole-file load never depends on where the chunks fall
    assert load_trace(path, chunk_size=2) == load_trace(path, chunk_size=10)


def test_parquet_float_keys_are_refused_and_string_keys_exact(tmp_path: Path) -> None:
    floats = tmp_path / "f.parquet"
    pq.write_table(pa.table({"time": [0.0, 1.0], "key": [9007199254740993.0, 1.0]}), floats)
    with pytest.raises(TraceError, match="floating point"):
        load_trace(floats)
    strings = tmp_path / "s.parquet"
    pq.write_table(pa.table({"time": [0.0, 1.0, 2.0], "key": ["007", "7", "NA"]}), strings)
    assert load_trace(strings, chunk_size=1).original_keys().tolist() == ["007", "7", "NA"]
    nulls = tmp_path / "n.parquet"
    pq.write_table(pa.table({"time": [0.0, 1.0], "key": ["a", None]}), nulls)
    with pytest.raises(TraceError, match=r"row 1 \+ 1: field 'key' is empty"):
        load_trace(nulls)


# -- truncation ---------------------------------------------------------------------


def _payload(tmp_path: Path) -> tuple[Workload, Path]:
    w = zipf(2_000, 20_000, 0.8, seed=3)
    return w, write_trace(w, tmp_path / "full.oracleGeneral.bin")


@pytest.mark.parametrize("suffix", [".zst", ".gz", ".xz", ".bz2"])
@pytest.mark.parametrize("share", [0.10, 0.50, 0.99])
def test_compressed_trace_cut_anywhere_is_an_error(
    tmp_path: Path, suffix: str, share: float
) -> None:
    w, _ = _payload(tmp_path)
    path = write_trace(w, tmp_path / f"t.oracleGeneral.bin{suffix}")
    assert load_trace(path) == load_trace(tmp_path / "full.oracleGeneral.bin")
    data = path.read_bytes()
    cut = tmp_path / f"cut.oracleGeneral.bin{suffix}"
    cut.write_bytes(data[: int(len(data) * share)])
    with pytest.raises(TraceError, match=r"truncated|not valid"):
        load_trace(cut)
    with pytest.raises(TraceError):
        for _ in iter_trace(cut, chunk_size=1_000):
            pass


def test_compressed_text_cut_is_an_error(tmp_path: Path) -> None:
    w = zipf(1_000, 30_000, seed=4)
    for suffix in (".zst", ".gz", ".xz", ".bz2"):
        path = write_trace(w, tmp_path / f"k.txt{suffix}")
        data = path.read_bytes()
        cut = tmp_path / f"cut.txt{suffix}"
        cut.write_bytes(data[: len(data) // 2])
        with pytest.raises(TraceError):
            load_trace(cut)


def test_multi_frame_zstd_reads_every_frame(tmp_path: Path) -> None:
    import zstandard

    first, second = b"1\n2\n3\n", b"4\n5\n"
    blob = zstandard.ZstdCompressor().compress(first) + zstandard.ZstdCompressor().compress(second)
    path = tmp_path / "two.txt.zst"
    path.write_bytes(blob)
    assert load_trace(path).key.tolist() == [1, 2, 3, 4, 5]
    path.write_bytes(blob[:-3])
    with pytest.raises(TraceError, match="truncated"):
        load_trace(path)


@pytest.mark.parametrize(("fmt", "width"), [("oracleGeneral", 24), ("int64be", 8), ("int32be", 4)])
def test_binary_file_that_is_not_whole_records_is_an_error(
    tmp_path: Path, fmt: str, width: int
) -> None:
    path = tmp_path / "t.bin"
    record = struct.pack("<IQIq", 1, 5, 10, -1) if fmt == "oracleGeneral" else b"\0" * width
    records = record * 3
    path.write_bytes(records[:-1])
    with pytest.raises(TraceError, match=r"truncated.*stray bytes"):
        load_trace(path, fmt)
    for opener, ext in ((gzip.open, ".gz"), (lzma.open, ".xz"), (bz2.open, ".bz2")):
        packed = tmp_path / f"t.bin{ext}"
        with opener(packed, "wb") as f:
            f.write(records[:-1])
        with pytest.raises(TraceError, match=r"truncated.*stray bytes"):
            load_trace(packed, fmt)


def test_truncated_parquet_is_an_error(tmp_path: Path) -> None:
    path = write_trace(zipf(100, 5_000, seed=1), tmp_path / "t.parquet")
    data = path.read_bytes()
    for share in (0.1, 0.5, 0.99):
        cut = tmp_path / "cut.parquet"
        cut.write_bytes(data[: int(len(data) * share)])
        with pytest.raises(TraceError, match="Parquet"):
            load_trace(cut)


# -- malformed CSV rows and times --------------------------------------------------------


def test_csv_row_missing_a_field_names_the_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("time,key,size\n0,a,10\n1,b,20\n2,c")  # cut inside the last row
    with pytest.raises(TraceError, match=r"line 4 has 2 fields.*missing 'size'"):
        load_trace(path)
    mapped = tmp_path / "m.csv"
    mapped.write_text("v,t,op,size,lbn\n1,0,r,512,7\n1,1,r,512\n")
    with pytest.raises(TraceError, match=r"line 3 .*missing 'key' \(column 5\)"):
        load_trace(mapped, key_col=5, size_col=4)


def test_csv_empty_fields_name_row_and_field(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("time,key,size\n0,a,10\n1,b,\n")
    with pytest.raises(TraceError, match=r"row 1 \+ 1: field 'size' is empty"):
        load_trace(path)
    path.write_text("time,key,size\n0,a,10\n,b,5\n")
    with pytest.raises(TraceError, match=r"field 'time' is empty"):
        load_trace(path)
    path.write_text("time,key,size\n0,a,10\n1,b,-5\n")
    with pytest.raises(TraceError, match=r"row 1 \+ 1: field 'size' is negative"):
        load_trace(path)
    path.write_text("time,key,size\n0,a,10\n1,b,ten\n")
    with pytest.raises(TraceError, match="ten"):
        load_trace(path)


def test_times_going_backwards_error_sort_or_keep(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("time,key\n0,a\n5,b\n3,c\n6,d\n")
    for chunk in (1, 2, 100):
        with pytest.raises(TraceError, match=r"row 3: time goes backwards \(5 then 3\).*times="):
            load_trace(path, chunk_size=chunk)
    kept = load_trace(path, times="keep")
    assert kept.original_keys().tolist() == ["a", "b", "c", "d"]
    ordered = load_trace(path, times="sort", chunk_size=1)
    assert ordered.original_keys().tolist() == ["a", "c", "b", "d"]
    assert ordered.time is not None and ordered.time.tolist() == [0, 3, 5, 6]
    with pytest.raises(ValueError, match="load_trace"):
        list(iter_trace(path, times="sort"))
    assert sum(len(c) for c in iter_trace(path, times="keep", chunk_size=1)) == 4
