"""Trace formats: round trips, compression, string keys, column mapping, detection."""

from __future__ import annotations

import gzip
import math
import struct
from pathlib import Path

import numpy as np
import pytest

from cachesim.sim import (
    OP_DELETE,
    OP_GET,
    OP_SET,
    Workload,
    detect_format,
    iter_trace,
    load_trace,
    simulate,
    with_rate,
    with_sizes,
    with_ttls,
    with_writes,
    write_trace,
    zipf,
)
from cachesim.sim.traces import open_stream

COMPRESSIONS = ["", ".gz", ".xz", ".zst", ".bz2"]


def _full_workload() -> Workload:
    w = with_writes(zipf(300, 5_000, 0.9, seed=1), 0.1, 0.02, mode="update", seed=2)
    w = with_ttls(w, [30.0, math.inf], seed=3)
    w = with_sizes(with_rate(w, 50.0, seed=4), mean=200.0, seed=5)
    ttl = w.ttl.copy()  # type: ignore[union-attr]
    ttl[::7] = np.nan  # some requests defer to the engine default
    return w.with_columns(ttl=ttl)


@pytest.mark.parametrize("name", [f"t.csv{s}" for s in COMPRESSIONS] + ["t.parquet"])
def test_full_round_trip(tmp_path: Path, name: str) -> None:
    w = _full_workload()
    path = write_trace(w, tmp_path / name)
    back = load_trace(path)
    assert back == w
    assert back.n_unique == w.n_unique


@pytest.mark.parametrize("suffix", COMPRESSIONS)
@pytest.mark.parametrize("fmt", ["txt", "int32be", "int64be", "uint32be"])
def test_key_only_round_trip(tmp_path: Path, fmt: str, suffix: str) -> None:
    w = zipf(1_000, 20_000, seed=2)
    path = write_trace(w, tmp_path / f"keys.{fmt}{suffix}", format=fmt)
    back = load_trace(path, fmt if fmt != "txt" else None, chunk_size=4_096)
    assert np.array_equal(back.key, w.key)
    assert back.time is None and back.size is None


@pytest.mark.parametrize("suffix", ["", ".zst"])
def test_oracle_general_round_trip_and_layout(tmp_path: Path, suffix: str) -> None:
    w = Workload(
        np.array([5, 9, 5, 2**40, 9]),
        time=np.array([0.0, 1.0, 1.0, 2.0, 3.0]),
        size=np.array([10, 20, 10, 30, 20]),
    )
    path = write_trace(w, tmp_path / f"t.oracleGeneral.bin{suffix}")
    back = load_trace(path)
    assert back == w
    with open_stream(path) as stream:
        raw = stream.read()
    records = list(struct.iter_unpack("<IQIq", raw))
    assert records[0] == (0, 5, 10, 2)  # next access of key 5 is request 2
    assert records[3] == (2, 2**40, 30, -1)


def test_oracle_general_drops_all_ones_sizes(tmp_path: Path) -> None:
    w = Workload(np.array([1, 2, 1]), time=np.array([0.0, 1.0, 2.0]))
    back = load_trace(write_trace(w, tmp_path / "t.oracleGeneral"))
    assert back.size is None  # every size was 1: the default, stored as no column
    assert back.time is not None and back.time.tolist() == [0.0, 1.0, 2.0]
    assert load_trace(tmp_path / "t.oracleGeneral", keys_only=True).time is None


def test_truncated_binary_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.bin"
    path.write_bytes(b"\x00\x00\x00\x01\x00\x00")
    with pytest.raises(ValueError, match="stray bytes"):
        load_trace(path, "int32be")


def test_string_keys_survive_every_text_format(tmp_path: Path) -> None:
    keys = ["user:1", "user:2", "user:1", "007", "7", "a b", "user:2"]
    w = Workload.from_keys(keys)
    for name in ("s.csv", "s.csv.gz", "s.parquet", "s.txt.xz"):
        back = load_trace(write_trace(w, tmp_path / name))
        assert back.original_keys().tolist() == keys, name
        assert back.n_unique == 5
    with pytest.raises(ValueError, match="string keys"):
        write_trace(w, tmp_path / "s.oracleGeneral")


def test_integer_then_string_keys_are_all_kept(tmp_path: Path) -> None:
    path = tmp_path / "mixed.txt"
    path.write_text("1\n2\n1\n" * 2_000 + "x\n1\ny\n")
    w = load_trace(path, chunk_size=1_000)
    assert w.key_names is not None
    assert w.n_unique == 4
    assert w.original_keys()[-3:].tolist() == ["x", "1", "y"]
    assert w.original_keys()[0] == "1"
    assert w.key[0] == w.key[-2]  # the same key before and after the switch


def test_text_trace_skips_checkpoint_lines(tmp_path: Path) -> None:
    path = tmp_path / "lirs.trace.gz"
    with gzip.open(path, "wt") as f:
        f.write("1\n2\n*\n3\n\n1\n*\n")
    w = load_trace(path, "txt")
    assert w.key.tolist() == [1, 2, 3, 1]


def test_arc_lis_lines_expand(tmp_path: Path) -> None:
    path = tmp_path / "t.lis"
    path.write_text("100 3 0 0\n7 1 0 1\n100 2 0 2\n")
    assert load_trace(path).key.tolist() == [100, 101, 102, 7, 100, 101]


def test_csv_column_mapping_like_libcachesim(tmp_path: Path) -> None:
    path = tmp_path / "lcs.csv"
    path.write_text(
        "version,time,op,size,lbn\n1,10,get,512,900\n1,11,set,1024,901\n1,12,get,512,900\n"
    )
    w = load_trace(path, key_col=5, time_col=2, size_col=4)
    assert w.key.tolist() == [900, 901, 900]
    assert w.time is not None and w.time.tolist() == [10.0, 11.0, 12.0]
    assert w.size is not None and w.size.tolist() == [512, 1024, 512]
    assert w.op is None
    ops = load_trace(path, key_col=5, op_col=3)
    assert ops.op is not None and ops.op.tolist() == [OP_GET, OP_SET, OP_GET]
    headerless = tmp_path / "nh.tsv"
    headerless.write_text("k1\t5\nk2\t6\nk1\t7\n")
    named = load_trace(headerless, "csv", key_col=1, time_col=2, has_header=False, delimiter="\t")
    assert named.original_keys().tolist() == ["k1", "k2", "k1"]


def test_cachesim_csv_with_op_names_and_empty_ttl(tmp_path: Path) -> None:
    path = tmp_path / "app.csv"
    path.write_text("time,key,op,ttl\n0,a,get,\n1,a,set,60\n2,b,delete,\n")
    w = load_trace(path)
    assert w.op is not None and w.op.tolist() == [OP_GET, OP_SET, OP_DELETE]
    assert w.ttl is not None and np.isnan(w.ttl[0]) and w.ttl[1] == 60.0
    bad = tmp_path / "bad.csv"
    bad.write_text("time,key,op\n0,a,frobnicate\n")
    with pytest.raises(ValueError, match="unknown operation"):
        load_trace(bad)
    nokey = tmp_path / "nokey.csv"
    nokey.write_text("time,id\n0,1\n")
    with pytest.raises(ValueError, match="key_col"):
        load_trace(nokey)


def test_iter_trace_chunks_add_up(tmp_path: Path) -> None:
    w = _full_workload()
    path = write_trace(w, tmp_path / "t.csv.zst")
    chunks = list(iter_trace(path, chunk_size=1_000))
    assert len(chunks) == 5
    assert np.concatenate([c.key for c in chunks]).tolist() == load_trace(path).key.tolist()
    binary = write_trace(zipf(100, 3_000), tmp_path / "k.bin", format="int64be")
    parts = list(iter_trace(binary, "int64be", chunk_size=1_000))
    assert [len(p) for p in parts] == [1_000] * 3
    assert not np.shares_memory(parts[0].key, parts[1].key)


def test_limit_and_detection(tmp_path: Path) -> None:
    w = zipf(100, 3_000)
    path = write_trace(w, tmp_path / "t.txt")
    assert len(load_trace(path, limit=1_234)) == 1_234
    assert detect_format(tmp_path / "x.oracleGeneral.zst") == "oracleGeneral"
    assert detect_format(tmp_path / "x.parquet") == "parquet"
    odd = tmp_path / "trace.dat"
    odd.write_text("1\n2\n3\n")
    assert detect_format(odd) == "txt"
    blob = write_trace(w, tmp_path / "blob.trace", format="int32be")
    with pytest.raises(ValueError, match="format="):
        load_trace(blob)
    with pytest.raises(ValueError, match="unknown trace format"):
        load_trace(path, "nope")


def test_loaded_trace_simulates_like_the_original(tmp_path: Path) -> None:
    w = _full_workload()
    back = load_trace(write_trace(w, tmp_path / "t.parquet"))
    for policy in ("lru", "s3fifo"):
        a = simulate(w, 50, policy, 10.0, unit="bytes")
        b = simulate(back, 50, policy, 10.0, unit="bytes")
        assert (a.hits, a.misses, a.expirations) == (b.hits, b.misses, b.expirations)


def test_loading_a_key_only_trace_stays_within_16_bytes_per_request(tmp_path: Path) -> None:
    import tracemalloc

    n = 2_000_000
    path = write_trace(Workload(np.arange(n) % 1_000), tmp_path / "keys.bin", format="int64be")
    tracemalloc.start()
    try:
        w = load_trace(path, "int64be")
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(w) == n
    assert current / n <= 8.1  # the Workload itself: one int64 per request
    assert peak / n <= 16
