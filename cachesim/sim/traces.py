"""Reading and writing request traces.

``load_trace(path, format=None, ...)`` reads a whole trace into a
:class:`~cachesim.sim.workload.Workload`; ``iter_trace`` yields it in chunks
for traces too big to hold.  Files are streamed in chunks and ``.gz``, ``.xz``,
``.bz2`` and ``.zst`` compression is undone on the fly.

Formats (``format=``; detected from the extension when omitted):

``csv``
    cachesim's own CSV, header ``time,key[,op,size,ttl]`` (``op`` as
    ``get``/``set``/``delete``; empty ``ttl`` = the engine default).  With
    ``key_col=`` (1-based, as libCacheSim's ``obj-id-col``) any CSV is read by
    column number instead: ``time_col``, ``size_col``, ``op_col``,
    ``ttl_col``, ``has_header``, ``delimiter``.
``parquet``
    the same columns in Parquet.
``txt``
    one key per line; lines holding only ``*`` (LIRS checkpoints) are skipped.
``lis``
    ARC traces: each line ``start n 0 reqno`` expands to the ``n`` requests
    ``start .. start+n-1``.
``oracleGeneral``
    libCacheSim's binary records ``<IQIq``: u32 time, u64 key, u32 size,
    i64 next access (ignored), little-endian, 24 bytes each.
``int32be`` / ``uint32be`` / ``int64be``
    key-only big-endian binary (Caffeine's cache2k, CloudPhysics and
    Scarab/Corda traces).

Keys that are not integers (in CSV, Parquet and text) are kept as strings in
``key_names`` and numbered in order of first appearance; they never collapse.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import io
import lzma
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from cachesim.sim.workload import OP_DELETE, OP_GET, OP_NAMES, OP_SET, Workload

__all__ = [
    "FORMATS",
    "detect_format",
    "iter_trace",
    "load_trace",
    "open_stream",
    "write_trace",
]

#: Format names accepted by ``load_trace`` (and aliases).
FORMATS: dict[str, str] = {
    "csv": "csv",
    "parquet": "parquet",
    "pq": "parquet",
    "txt": "txt",
    "text": "txt",
    "plain": "txt",
    "lirs": "txt",
    "lis": "lis",
    "arc": "lis",
    "oraclegeneral": "oracleGeneral",
    "oracle_general": "oracleGeneral",
    "oracle-general": "oracleGeneral",
    "int32be": "int32be",
    "cache2k": "int32be",
    "uint32be": "uint32be",
    "cloudphysics": "uint32be",
    "int64be": "int64be",
    "scarab": "int64be",
    "corda": "int64be",
}

_COMPRESSION = {".gz": "gz", ".gzip": "gz", ".xz": "xz", ".lzma": "xz", ".bz2": "bz2"}
_ZSTD = {".zst", ".zstd"}
_BINARY_DTYPES: dict[str, np.dtype[Any]] = {
    "int32be": np.dtype(">i4"),
    "uint32be": np.dtype(">u4"),
    "int64be": np.dtype(">i8"),
}
_ORACLE = np.dtype([("time", "<u4"), ("key", "<u8"), ("size", "<u4"), ("next", "<i8")])
_CHUNK = 1 << 20

_OP_CODES = {
    "get": OP_GET,
    "read": OP_GET,
    "gets": OP_GET,
    "r": OP_GET,
    "set": OP_SET,
    "write": OP_SET,
    "put": OP_SET,
    "add": OP_SET,
    "replace": OP_SET,
    "update": OP_SET,
    "cas": OP_SET,
    "w": OP_SET,
    "delete": OP_DELETE,
    "del": OP_DELETE,
    "remove": OP_DELETE,
    "invalidate": OP_DELETE,
}


# -- opening -------------------------------------------------------------------------


def _split_suffixes(path: Path) -> tuple[str | None, list[str]]:
    suffixes = [s.lower() for s in path.suffixes]
    compression = None
    if suffixes and suffixes[-1] in _ZSTD:
        compression = "zst"
        suffixes = suffixes[:-1]
    elif suffixes and suffixes[-1] in _COMPRESSION:
        compression = _COMPRESSION[suffixes[-1]]
        suffixes = suffixes[:-1]
    return compression, suffixes


@contextlib.contextmanager
def open_stream(path: str | os.PathLike[str], mode: str = "rb") -> Iterator[IO[bytes]]:
    """Open ``path`` for streaming binary reading (``rb``) or writing (``wb``).

    Compression follows the extension: ``.gz``, ``.xz``, ``.bz2``, ``.zst``.
    """
    if mode not in ("rb", "wb"):
        raise ValueError("mode must be 'rb' or 'wb'")
    p = Path(path)
    compression, _ = _split_suffixes(p)
    with contextlib.ExitStack() as stack:
        if compression == "gz":
            stream: Any = stack.enter_context(gzip.open(p, mode))
        elif compression == "xz":
            stream = stack.enter_context(lzma.open(p, mode))
        elif compression == "bz2":
            stream = stack.enter_context(bz2.open(p, mode))
        elif compression == "zst":
            import zstandard

            raw = stack.enter_context(open(p, mode))
            if mode == "rb":
                reader = zstandard.ZstdDecompressor().stream_reader(raw, closefd=False)
                stream = stack.enter_context(io.BufferedReader(reader, buffer_size=1 << 20))
            else:
                stream = stack.enter_context(
                    zstandard.ZstdCompressor(level=10).stream_writer(raw, closefd=False)
                )
        else:
            stream = stack.enter_context(open(p, mode))
        yield stream


def detect_format(path: str | os.PathLike[str]) -> str:
    """The trace format implied by ``path``'s name (after any compression suffix).

    Falls back to sniffing the first bytes: printable text is ``txt`` (or
    ``csv`` with commas); binary content needs an explicit ``format=``.
    """
    p = Path(path)
    _, suffixes = _split_suffixes(p)
    name = p.name.lower()
    if "oraclegeneral" in name:
        return "oracleGeneral"
    ext = suffixes[-1] if suffixes else ""
    by_ext = {
        ".csv": "csv",
        ".parquet": "parquet",
        ".pq": "parquet",
        ".txt": "txt",
        ".lis": "lis",
    }
    if ext in by_ext:
        return by_ext[ext]
    with open_stream(p) as stream:
        head = stream.read(4096)
    text = head.replace(b"\r", b"").replace(b"\n", b"").replace(b"\t", b"")
    if head and all(32 <= b < 127 for b in text):
        return "csv" if b"," in head.split(b"\n", 1)[0] else "txt"
    raise ValueError(
        f"cannot tell the format of {p.name!r}: binary content; pass format= "
        "(oracleGeneral, int32be, uint32be or int64be)"
    )


def _resolve_format(path: Path, format: str | None) -> str:
    if format is None:
        return detect_format(path)
    fmt = FORMATS.get(format.lower())
    if fmt is None:
        known = ", ".join(sorted(set(FORMATS.values())))
        raise ValueError(f"unknown trace format {format!r}; choose one of: {known}")
    return fmt


# -- keys across chunks ----------------------------------------------------------------


class _KeyMapper:
    """Turns chunks of raw keys into int64 ids, switching to names when keys are not ints."""

    def __init__(self) -> None:
        self.names: dict[Any, int] = {}
        self.named = False

    def int_chunk(self, values: np.ndarray) -> np.ndarray:
        if self.named:
            return self.name_chunk(values.astype(str).astype(object))
        return values.astype(np.int64, copy=False)

    def name_chunk(self, values: Any) -> np.ndarray:
        self.named = True
        codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=False)
        table = self.names
        mapped = np.empty(len(uniques), dtype=np.int64)
        for i, name in enumerate(uniques):
            code = table.get(name)
            if code is None:
                code = table[name] = len(table)
            mapped[i] = code
        result: np.ndarray = mapped[codes]
        return result

    def key_names(self) -> np.ndarray | None:
        if not self.named:
            return None
        names = np.empty(len(self.names), dtype=object)
        for name, code in self.names.items():
            names[code] = name
        return names


def _is_int_series(series: pd.Series) -> bool:
    return pd.api.types.is_integer_dtype(series.dtype)


def _chunk_keys(mapper: _KeyMapper, series: pd.Series) -> tuple[np.ndarray, bool]:
    """Key ids for a chunk; True when earlier integer chunks must become names."""
    if _is_int_series(series) and not mapper.named:
        return series.to_numpy(dtype=np.int64), False
    switched = not mapper.named
    if _is_int_series(series):
        return mapper.name_chunk(series.astype(str).to_numpy(dtype=object)), switched
    values = series.astype(object).where(series.notna(), "").to_numpy(dtype=object)
    return mapper.name_chunk([str(v) for v in values]), switched


def _ops_from(series: pd.Series) -> np.ndarray:
    if _is_int_series(series):
        arr = series.to_numpy(dtype=np.int64)
        if len(arr) and (arr.min() < 0 or arr.max() > OP_DELETE):
            raise ValueError("numeric op codes must be 0 (get), 1 (set) or 2 (delete)")
        return arr.astype(np.uint8)
    mapped = series.astype(str).str.strip().str.lower().map(_OP_CODES)
    if mapped.isna().any():
        bad = series[mapped.isna()].iloc[0]
        raise ValueError(f"unknown operation {bad!r} in trace; use get, set or delete")
    return mapped.to_numpy(dtype=np.uint8)


# -- chunk readers ---------------------------------------------------------------------


class _Chunk(dict[str, np.ndarray]):
    """Columns of one chunk (``key`` always present)."""


def _read_records(
    stream: IO[bytes], dtype: np.dtype[Any], chunk_size: int, what: str
) -> Iterator[np.ndarray]:
    """Fixed-width records of ``dtype``, up to ``chunk_size`` at a time.

    Each array is a view into a reused buffer: consumers copy before the next one.
    """
    width = dtype.itemsize
    buffer = bytearray(width * chunk_size)
    view = memoryview(buffer)
    carry = 0
    while True:
        got = stream.readinto(view[carry:])  # type: ignore[attr-defined]
        if not got:
            if carry:
                raise ValueError(f"{what} ends inside a record ({carry} stray bytes)")
            return
        total = carry + got
        whole = total - total % width
        if whole:
            yield np.frombuffer(buffer, dtype=dtype, count=whole // width)
        carry = total - whole
        if carry:
            buffer[:carry] = buffer[whole:total]


def _read_binary_keys(stream: IO[bytes], dtype: np.dtype[Any], chunk_size: int) -> Iterator[_Chunk]:
    for records in _read_records(stream, dtype, chunk_size, "trace"):
        yield _Chunk(key=records)  # a view into the reused buffer: consumers copy


def _read_oracle(stream: IO[bytes], chunk_size: int, keys_only: bool) -> Iterator[_Chunk]:
    for rec in _read_records(stream, _ORACLE, chunk_size, "oracleGeneral trace"):
        chunk = _Chunk(key=rec["key"].view(np.int64))
        if not keys_only:
            chunk["time"] = rec["time"]
            chunk["size"] = rec["size"]
        yield chunk  # views into the reused buffer: consumers copy


def _text_blocks(stream: IO[bytes], block_bytes: int) -> Iterator[bytes]:
    """Consecutive blocks of whole lines, each about ``block_bytes`` long."""
    rest = b""
    while True:
        data = stream.read(block_bytes)
        if not data:
            if rest.strip():
                yield rest
            return
        data = rest + data
        cut = data.rfind(b"\n")
        if cut < 0:
            rest = data
            continue
        rest = data[cut + 1 :]
        yield data[: cut + 1]


def _read_txt(stream: IO[bytes], chunk_size: int, mapper: _KeyMapper) -> Iterator[_Chunk]:
    # blocks of about chunk_size lines; integer keys parse fast, anything else as names
    for block in _text_blocks(stream, max(1 << 16, chunk_size * 8)):
        keys: np.ndarray | None = None
        if not mapper.named:
            try:
                keys = pd.read_csv(
                    io.BytesIO(block),
                    header=None,
                    names=["key"],
                    dtype=np.int64,
                    comment="*",
                    skip_blank_lines=True,
                    engine="c",
                )["key"].to_numpy(dtype=np.int64)
            except (ValueError, OverflowError, pd.errors.ParserError):
                keys = None
        if keys is not None:
            yield _Chunk(key=keys)
            continue
        lines = [line.strip() for line in block.decode("utf-8").splitlines()]
        names = [line for line in lines if line and line != "*"]
        switched = not mapper.named
        out = _Chunk(key=mapper.name_chunk(np.asarray(names, dtype=object)))
        if switched:
            out["_switched"] = np.zeros(0)
        yield out


def _read_lis(stream: IO[bytes], chunk_size: int) -> Iterator[_Chunk]:
    reader = pd.read_csv(
        stream,
        header=None,
        sep=r"\s+",
        usecols=[0, 1],
        names=["start", "n"],
        dtype=np.int64,
        chunksize=max(1, chunk_size // 8),
        engine="c",
    )
    for chunk in reader:
        start = chunk["start"].to_numpy()
        n = chunk["n"].to_numpy()
        if len(n) and n.min() < 0:
            raise ValueError("ARC trace line with a negative request count")
        total = int(n.sum())
        offsets = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(n) - n, n)
        yield _Chunk(key=np.repeat(start, n) + offsets)


def _read_csv(
    stream: IO[bytes],
    chunk_size: int,
    mapper: _KeyMapper,
    *,
    key_col: int | None,
    time_col: int | None,
    size_col: int | None,
    op_col: int | None,
    ttl_col: int | None,
    has_header: bool | None,
    delimiter: str,
    keys_only: bool,
) -> Iterator[_Chunk]:
    if key_col is None:  # cachesim CSV: columns by header name
        if any(c is not None for c in (time_col, size_col, op_col, ttl_col)):
            raise ValueError("time_col/size_col/op_col/ttl_col need key_col (column mapping)")
        reader = pd.read_csv(
            stream, sep=delimiter, chunksize=chunk_size, engine="c", keep_default_na=True
        )
        names = {"time": "time", "key": "key", "op": "op", "size": "size", "ttl": "ttl"}
        positions: dict[int, str] = {}
    else:
        mapping = {
            "key": key_col,
            "time": time_col,
            "size": size_col,
            "op": op_col,
            "ttl": ttl_col,
        }
        used = {name: col for name, col in mapping.items() if col is not None}
        for name, col in used.items():
            if col < 1:
                raise ValueError(f"{name}_col is 1-based (libCacheSim style), got {col}")
        reader = pd.read_csv(
            stream,
            sep=delimiter,
            header=0 if has_header else None,
            usecols=sorted({c - 1 for c in used.values()}),
            chunksize=chunk_size,
            engine="c",
        )
        names = {name: f"#{col}" for name, col in used.items()}
        positions = {col - 1: f"#{col}" for col in used.values()}
    for chunk in reader:
        if positions:
            chunk.columns = pd.Index([positions[i] for i in sorted(positions)])
        elif "key" not in chunk.columns:
            raise ValueError(
                "CSV trace needs a 'key' column (header time,key[,op,size,ttl]); "
                "for other CSVs pass key_col= (1-based)"
            )
        keys, switched = _chunk_keys(mapper, chunk[names["key"]])
        out = _Chunk(key=keys)
        if switched:
            out["_switched"] = np.zeros(0)
        if not keys_only:
            if "time" in names and names["time"] in chunk.columns:
                out["time"] = chunk[names["time"]].to_numpy(dtype=np.float64)
            if "op" in names and names["op"] in chunk.columns:
                out["op"] = _ops_from(chunk[names["op"]])
            if "size" in names and names["size"] in chunk.columns:
                out["size"] = chunk[names["size"]].to_numpy(dtype=np.int64)
            if "ttl" in names and names["ttl"] in chunk.columns:
                out["ttl"] = pd.to_numeric(chunk[names["ttl"]], errors="coerce").to_numpy(
                    dtype=np.float32
                )
        yield out


def _read_parquet(
    path: Path, chunk_size: int, mapper: _KeyMapper, keys_only: bool
) -> Iterator[_Chunk]:
    import pyarrow.parquet as pq

    file = pq.ParquetFile(path)
    columns = [c for c in ("time", "key", "op", "size", "ttl") if c in file.schema_arrow.names]
    if "key" not in columns:
        raise ValueError("Parquet trace needs a 'key' column")
    if keys_only:
        columns = ["key"]
    for batch in file.iter_batches(batch_size=chunk_size, columns=columns):
        frame = batch.to_pandas()
        keys, switched = _chunk_keys(mapper, frame["key"])
        out = _Chunk(key=keys)
        if switched:
            out["_switched"] = np.zeros(0)
        if "time" in frame:
            out["time"] = frame["time"].to_numpy(dtype=np.float64)
        if "op" in frame:
            out["op"] = _ops_from(frame["op"])
        if "size" in frame:
            out["size"] = frame["size"].to_numpy(dtype=np.int64)
        if "ttl" in frame:
            out["ttl"] = frame["ttl"].to_numpy(dtype=np.float32)
        yield out


def _chunks(
    path: Path, fmt: str, chunk_size: int, mapper: _KeyMapper, options: dict[str, Any]
) -> Iterator[_Chunk]:
    keys_only = bool(options.get("keys_only", False))
    if fmt == "parquet":
        yield from _read_parquet(path, chunk_size, mapper, keys_only)
        return
    hint = _record_hint(path, fmt)
    if hint is not None:  # no bigger read buffer than the file needs
        chunk_size = max(1, min(chunk_size, hint))
    with open_stream(path) as stream:
        if fmt == "oracleGeneral":
            yield from _read_oracle(stream, chunk_size, keys_only)
        elif fmt in _BINARY_DTYPES:
            yield from _read_binary_keys(stream, _BINARY_DTYPES[fmt], chunk_size)
        elif fmt == "txt":
            yield from _read_txt(stream, chunk_size, mapper)
        elif fmt == "lis":
            yield from _read_lis(stream, chunk_size)
        else:
            yield from _read_csv(stream, chunk_size, mapper, **options)


class _Column:
    """A growing array: chunks are copied in once (no list of parts to concatenate)."""

    def __init__(self, dtype: np.dtype[Any], hint: int | None) -> None:
        self.buf = np.empty(hint if hint else 1 << 16, dtype=dtype)
        self.n = 0

    def append(self, values: np.ndarray) -> None:
        need = self.n + len(values)
        if need > len(self.buf):
            grown = np.empty(max(need, 2 * len(self.buf)), dtype=self.buf.dtype)
            grown[: self.n] = self.buf[: self.n]
            self.buf = grown
        self.buf[self.n : need] = values
        self.n = need

    def result(self) -> np.ndarray:
        if self.n != len(self.buf):
            self.buf.resize(self.n, refcheck=False)  # shrink in place, no second copy
        return self.buf


_COLUMN_DTYPES: dict[str, np.dtype[Any]] = {
    "key": np.dtype(np.int64),
    "time": np.dtype(np.float64),
    "op": np.dtype(np.uint8),
    "size": np.dtype(np.int64),
    "ttl": np.dtype(np.float32),
}


def _record_hint(path: Path, fmt: str) -> int | None:
    """The exact request count of an uncompressed fixed-width binary trace."""
    compression, _ = _split_suffixes(path)
    if compression is not None:
        return None
    width = _ORACLE.itemsize if fmt == "oracleGeneral" else None
    if fmt in _BINARY_DTYPES:
        width = _BINARY_DTYPES[fmt].itemsize
    if width is None:
        return None
    return path.stat().st_size // width


# -- public readers ----------------------------------------------------------------------


def _csv_options(
    fmt: str,
    key_col: int | None,
    time_col: int | None,
    size_col: int | None,
    op_col: int | None,
    ttl_col: int | None,
    has_header: bool | None,
    delimiter: str,
    keys_only: bool,
) -> dict[str, Any]:
    mapped = any(c is not None for c in (key_col, time_col, size_col, op_col, ttl_col))
    if fmt != "csv":
        if mapped or has_header is not None:
            raise ValueError("column mapping (key_col=, has_header= ...) applies to CSV traces")
        return {"keys_only": keys_only}
    return {
        "key_col": key_col,
        "time_col": time_col,
        "size_col": size_col,
        "op_col": op_col,
        "ttl_col": ttl_col,
        "has_header": True if has_header is None else has_header,
        "delimiter": delimiter,
        "keys_only": keys_only,
    }


def iter_trace(
    path: str | os.PathLike[str],
    format: str | None = None,
    *,
    chunk_size: int = _CHUNK,
    key_col: int | None = None,
    time_col: int | None = None,
    size_col: int | None = None,
    op_col: int | None = None,
    ttl_col: int | None = None,
    has_header: bool | None = None,
    delimiter: str = ",",
    keys_only: bool = False,
) -> Iterator[Workload]:
    """Yield a trace as consecutive Workload chunks of about ``chunk_size`` requests.

    String keys get ids that are consistent across chunks; each chunk's
    ``key_names`` holds every name seen so far.  A trace whose first chunks
    have integer keys and a later one strings is best read with
    :func:`load_trace`, which renumbers the whole trace.
    """
    p = Path(path)
    fmt = _resolve_format(p, format)
    options = _csv_options(
        fmt, key_col, time_col, size_col, op_col, ttl_col, has_header, delimiter, keys_only
    )
    mapper = _KeyMapper()
    for chunk in _chunks(p, fmt, chunk_size, mapper, options):
        chunk.pop("_switched", None)
        copied = {c: np.array(v, dtype=_COLUMN_DTYPES[c]) for c, v in chunk.items()}
        yield Workload(
            copied["key"],
            copied.get("time"),
            copied.get("op"),
            copied.get("size"),
            copied.get("ttl"),
            mapper.key_names(),
            name=p.name,
        )


def load_trace(
    path: str | os.PathLike[str],
    format: str | None = None,
    *,
    key_col: int | None = None,
    time_col: int | None = None,
    size_col: int | None = None,
    op_col: int | None = None,
    ttl_col: int | None = None,
    has_header: bool | None = None,
    delimiter: str = ",",
    keys_only: bool = False,
    limit: int | None = None,
    chunk_size: int = _CHUNK,
    name: str | None = None,
) -> Workload:
    """Read a trace file into a Workload (format from the extension unless ``format=``).

    ``key_col``/``time_col``/``size_col``/``op_col``/``ttl_col`` (1-based)
    read any CSV by column number, like libCacheSim's CSV reader
    (``has_header`` defaults to True, ``delimiter`` to a comma).
    ``keys_only`` skips every other column (8 bytes per request in memory);
    ``limit`` stops after that many requests.
    """
    p = Path(path)
    fmt = _resolve_format(p, format)
    options = _csv_options(
        fmt, key_col, time_col, size_col, op_col, ttl_col, has_header, delimiter, keys_only
    )
    mapper = _KeyMapper()
    hint = _record_hint(p, fmt)
    if hint is not None and limit is not None:
        hint = min(hint, limit)
    columns: dict[str, _Column] = {}
    ones = 0  # leading rows whose size is 1, not yet materialised (1 is the default)
    count = 0
    switched_at: int | None = None
    for chunk in _chunks(p, fmt, chunk_size, mapper, options):
        if "_switched" in chunk:
            switched_at = count
            del chunk["_switched"]
        n = len(chunk["key"])
        if limit is not None and count + n > limit:
            n = limit - count
            chunk = _Chunk({c: v[:n] for c, v in chunk.items()})
        for column, values in chunk.items():
            if column == "size" and "size" not in columns:
                if not len(values) or values.min() == values.max() == 1:
                    ones += len(values)
                    continue
                dtype = values.dtype if values.dtype.kind == "u" else _COLUMN_DTYPES["size"]
                columns["size"] = _Column(dtype, hint)
                columns["size"].append(np.ones(ones, dtype=dtype))
            if column not in columns:
                if count and column != "size":
                    raise ValueError(f"column {column!r} is missing from part of the trace")
                columns[column] = _Column(_COLUMN_DTYPES[column], hint)
            columns[column].append(values)
        count += n
        if limit is not None and count >= limit:
            break
    for column, builder in columns.items():
        if builder.n != count:
            raise ValueError(f"column {column!r} is missing from part of the trace")
    key = columns["key"].result() if "key" in columns else np.zeros(0, dtype=np.int64)
    names = mapper.key_names()
    if switched_at:  # integer keys came first: rename everything as strings, in order
        assert names is not None
        raw = np.concatenate(
            [key[:switched_at].astype(str).astype(object), names[key[switched_at:]]]
        )
        renamed = _KeyMapper()
        key = renamed.name_chunk(raw)
        names = renamed.key_names()

    def result(column: str) -> np.ndarray | None:
        builder = columns.get(column)
        return builder.result() if builder is not None else None

    return Workload(
        key,
        result("time"),
        result("op"),
        result("size"),
        result("ttl"),
        names,
        name=name or p.name,
    )


# -- writers --------------------------------------------------------------------------


def write_trace(
    workload: Workload,
    path: str | os.PathLike[str],
    format: str | None = None,
) -> Path:
    """Write ``workload`` as a trace (format from the extension unless ``format=``).

    ``csv`` and ``parquet`` keep every column (and string keys); ``txt`` and
    the binary formats keep keys only (``oracleGeneral`` also time and size,
    and fills in each request's next access).  Compression follows the
    extension.  Returns the path.
    """
    p = Path(path)
    if format is None:
        _, suffixes = _split_suffixes(p)
        ext = suffixes[-1] if suffixes else ""
        fmt = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".txt": "txt"}.get(ext)
        if "oraclegeneral" in p.name.lower():
            fmt = "oracleGeneral"
        if fmt is None:
            raise ValueError(f"cannot tell the trace format from {p.name!r}; pass format=")
    else:
        fmt = _resolve_format(p, format)
    if fmt == "parquet":
        workload.to_frame().to_parquet(p, index=False)
        return p
    if fmt == "lis":
        raise ValueError("writing ARC .lis traces is not supported; use csv, txt or binary")
    with open_stream(p, "wb") as stream:
        if fmt == "csv":
            _write_csv(workload, stream)
        elif fmt == "txt":
            keys = workload.original_keys()
            for start in range(0, len(keys), _CHUNK):
                part = keys[start : start + _CHUNK]
                stream.write(("\n".join(map(str, part.tolist())) + "\n").encode("utf-8"))
        else:
            keys = _int_keys(workload, fmt)
            if fmt == "oracleGeneral":
                _write_oracle(workload, keys, stream)
            else:
                dtype = _BINARY_DTYPES[fmt]
                for start in range(0, len(keys), _CHUNK):
                    stream.write(keys[start : start + _CHUNK].astype(dtype).tobytes())
    return p


def _int_keys(workload: Workload, fmt: str) -> np.ndarray:
    if workload.key_names is not None:
        raise ValueError(f"{fmt} traces hold integer keys; this workload has string keys")
    keys = workload.key
    if fmt in _BINARY_DTYPES and len(keys):
        info = np.iinfo(_BINARY_DTYPES[fmt])
        if keys.min() < info.min or keys.max() > info.max:
            raise ValueError(f"keys do not fit in {fmt}")
    return keys


def _write_oracle(workload: Workload, keys: np.ndarray, stream: IO[bytes]) -> None:
    from cachesim.sim._kernels import next_uses

    n = len(keys)
    codes, uniques = workload.dense_keys()
    nxt = next_uses(codes, len(uniques))
    times = workload.times
    sizes = workload.sizes
    for start in range(0, n, _CHUNK):
        stop = min(n, start + _CHUNK)
        rec = np.empty(stop - start, dtype=_ORACLE)
        rec["time"] = times[start:stop].astype(np.uint32)
        rec["key"] = keys[start:stop].view(np.uint64)
        rec["size"] = sizes[start:stop].astype(np.uint32)
        step = nxt[start:stop]
        rec["next"] = np.where(step >= n, -1, step)
        stream.write(rec.tobytes())


def _write_csv(workload: Workload, stream: IO[bytes]) -> None:
    n = len(workload)
    header = ["time", "key"] + [
        c for c in ("op", "size", "ttl") if getattr(workload, c) is not None
    ]
    stream.write((",".join(header) + "\n").encode("utf-8"))
    for start in range(0, n, _CHUNK):
        part = workload[start : start + _CHUNK]
        frame = pd.DataFrame({"time": part.times, "key": part.original_keys()})
        if part.op is not None:
            frame["op"] = np.asarray(OP_NAMES, dtype=object)[part.op]
        if part.size is not None:
            frame["size"] = part.size
        if part.ttl is not None:
            frame["ttl"] = part.ttl
        text = frame.to_csv(header=False, index=False, lineterminator="\n", na_rep="")
        stream.write(text.encode("utf-8"))
