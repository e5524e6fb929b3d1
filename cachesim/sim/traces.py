"""Reading and writing request traces.

``load_trace(path, format=None, ...)`` reads a whole trace into a
:class:`~cachesim.sim.workload.Workload`; ``iter_trace`` yields it in chunks
(the streaming source of :mod:`cachesim.sim.stream`) for traces too big to
hold.  Files are streamed in chunks and ``.gz``, ``.xz``, ``.bz2`` and ``.zst``
compression is undone on the fly.

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

Keys in CSV, text and Parquet string columns are exact strings: ``"007"``,
``"7"`` and ``"0007"`` are three keys, and ``"NA"``, ``"null"`` or ``""`` are
keys like any other.  With ``key_type="auto"`` a trace whose every key is a
canonical decimal integer (``str(int(k)) == k``, within int64) keeps the
integers as ids; any other key makes the whole trace string-keyed (numbered in
order of first appearance, originals in ``key_names``).  The result never
depends on the chunk size.  Truncated and malformed files raise
:class:`TraceError` naming the row and field.
"""

from __future__ import annotations

import bz2
import contextlib
import csv
import gzip
import io
import lzma
import os
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
import pandas as pd

from cachesim.sim.workload import OP_DELETE, OP_GET, OP_NAMES, OP_SET, Workload

__all__ = [
    "FORMATS",
    "KeyType",
    "TimeOrder",
    "TraceError",
    "detect_format",
    "iter_trace",
    "load_trace",
    "open_stream",
    "write_trace",
]

#: How keys of text formats become ids: see the module docstring.
KeyType = Literal["auto", "int", "str"]
#: What to do with request times that go backwards: raise, sort (load_trace only) or keep.
TimeOrder = Literal["error", "sort", "keep"]


class TraceError(ValueError):
    """A trace file that cannot be read as it is: truncated, malformed or ambiguous."""


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
_UNIT_SEPARATOR = "\x1f"  # the text reader's column delimiter: no key may contain it

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


class _ZstdReader(io.RawIOBase):
    """Decompresses a zstd stream frame by frame; a stream cut inside a frame raises.

    ``zstandard``'s own stream reader returns the decompressed prefix of a
    truncated file as if it were whole; this one knows whether the last frame
    was complete when the input ran out.
    """

    def __init__(self, raw: IO[bytes], name: str) -> None:
        import zstandard

        self._raw = raw
        self._name = name
        self._dctx = zstandard.ZstdDecompressor()
        self._obj = self._dctx.decompressobj()
        self._error = zstandard.ZstdError
        self._out = b""
        self._pos = 0
        self._in_frame = False
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while self._pos >= len(self._out):
            if self._done:
                return 0
            data = self._raw.read(1 << 20)
            if not data:
                self._done = True
                if self._in_frame:
                    raise TraceError(
                        f"{self._name} is truncated: the zstd data ends inside a frame"
                    )
                return 0
            self._out, self._pos = self._feed(data), 0
        view = memoryview(buffer).cast("B")
        n = min(len(view), len(self._out) - self._pos)
        view[:n] = self._out[self._pos : self._pos + n]
        self._pos += n
        return n

    def _feed(self, data: bytes) -> bytes:
        parts = []
        while data:
            self._in_frame = True
            try:
                parts.append(self._obj.decompress(data))
            except self._error as exc:
                raise TraceError(f"{self._name} is not valid zstd data: {exc}") from None
            if not self._obj.eof:
                break
            data = self._obj.unused_data  # the next frame starts here
            self._obj = self._dctx.decompressobj()
            self._in_frame = False
        return b"".join(parts)


@contextlib.contextmanager
def open_stream(path: str | os.PathLike[str], mode: str = "rb") -> Iterator[IO[bytes]]:
    """Open ``path`` for streaming binary reading (``rb``) or writing (``wb``).

    Compression follows the extension: ``.gz``, ``.xz``, ``.bz2``, ``.zst``.
    Reading a truncated compressed file raises :class:`TraceError` (never a
    silent prefix).
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
                stream = stack.enter_context(
                    io.BufferedReader(_ZstdReader(raw, p.name), buffer_size=1 << 20)
                )
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


def _canonical_ints(arr: Any) -> np.ndarray | None:
    """int64 values of a pyarrow string array if every one is canonical (``str(int(s)) == s``)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(arr) == 0:
        return np.zeros(0, dtype=np.int64)
    try:
        ints = pc.cast(arr, pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if not pc.all(pc.equal(pc.cast(ints, arr.type), arr)).as_py():
        return None  # "007", "+7", " 7", "-0": integers, but not this integer's spelling
    values: np.ndarray = ints.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    return values


def _first_non_canonical(arr: Any) -> int:
    for i, text in enumerate(arr.to_pylist()):
        try:
            if str(int(text)) == text and -(2**63) <= int(text) < 2**63:
                continue
        except ValueError:
            pass
        return i
    return 0


class _KeyMapper:
    """Turns chunks of raw keys into int64 ids, the same ones whatever the chunking.

    Integer mode keeps canonical integers as their own ids.  String mode numbers
    keys in order of first appearance.  ``load_trace`` may switch from integer to
    string mode mid-file (``switched_at``) and renumbers the integer part at the
    end; a stream cannot go back, so ``iter_trace`` switches only before its
    first chunk and otherwise raises.
    """

    def __init__(self, key_type: KeyType = "auto", *, streaming: bool = False) -> None:
        if key_type not in ("auto", "int", "str"):
            raise ValueError(f"key_type must be 'auto', 'int' or 'str', got {key_type!r}")
        self.key_type = key_type
        self.streaming = streaming
        self.ints = key_type != "str"
        self.seen = 0
        self.switched_at: int | None = None
        self.table: dict[Any, int] = {}
        self._names = np.empty(1024, dtype=object)

    @property
    def named(self) -> bool:
        return not self.ints

    def _switch(self, where: str, bad: Any) -> None:
        if self.key_type == "int":
            raise TraceError(
                f"{where}: key {bad!r} is not a canonical integer (key_type='int'); "
                "pass key_type='str' to keep keys as strings"
            )
        if self.streaming and self.seen:
            raise TraceError(
                f"{where}: key {bad!r} is not an integer, but the {self.seen:,} keys before it "
                "were, and a stream cannot renumber them; pass key_type='str' (or use "
                "load_trace)"
            )
        self.ints = False
        self.switched_at = self.seen

    def int_chunk(self, values: np.ndarray) -> np.ndarray:
        """Ids for keys that are integers by format (binary traces, Parquet int columns)."""
        if self.ints:
            self.seen += len(values)
            return values  # any integer dtype: consumers convert while copying
        return self.name_chunk(np.asarray(values).astype(str).astype(object))

    def text_chunk(self, arr: Any, where: str) -> np.ndarray:
        """Ids for a pyarrow string array of keys (``where`` names the first row)."""
        if self.ints:
            ints = _canonical_ints(arr)
            if ints is not None:
                self.seen += len(ints)
                return ints
            i = _first_non_canonical(arr)
            self._switch(f"{where} + {i}" if i else where, arr[i].as_py())
        return self.name_chunk(arr.to_numpy(zero_copy_only=False))

    def name_chunk(self, values: Any) -> np.ndarray:
        self.ints = False
        codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=False)
        table = self.table
        mapped = np.empty(len(uniques), dtype=np.int64)
        for i, name in enumerate(uniques):
            code = table.get(name)
            if code is None:
                code = table[name] = len(table)
                if code == len(self._names):
                    grown = np.empty(2 * code, dtype=object)
                    grown[:code] = self._names
                    self._names = grown
                self._names[code] = name
            mapped[i] = code
        self.seen += len(codes)
        result: np.ndarray = mapped[codes]
        return result

    def key_names(self) -> np.ndarray | None:
        """Every name so far, indexed by id (a view: no copy per chunk)."""
        if self.ints:
            return None
        names: np.ndarray = self._names[: len(self.table)]
        return names


def _ops_from(values: Any, where: str) -> np.ndarray:
    """Op codes from a pyarrow array of names or numbers."""
    import pyarrow.compute as pc

    text = pc.utf8_lower(pc.utf8_trim_whitespace(values.cast("string")))
    strings = text.to_numpy(zero_copy_only=False)
    mapped = pd.Series(strings, dtype=object).map({**_OP_CODES, "0": 0, "1": 1, "2": 2})
    if mapped.isna().any():
        i = int(np.flatnonzero(mapped.isna().to_numpy())[0])
        raise TraceError(
            f"{where} + {i}: unknown operation {values[i].as_py()!r} in field 'op'; "
            "use get, set or delete (or 0, 1, 2)"
        )
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
                raise TraceError(
                    f"{what} is truncated: it ends inside a {width}-byte record "
                    f"({carry} stray bytes)"
                )
            return
        total = carry + got
        whole = total - total % width
        if whole:
            yield np.frombuffer(buffer, dtype=dtype, count=whole // width)
        carry = total - whole
        if carry:
            buffer[:carry] = buffer[whole:total]


def _read_binary_keys(
    stream: IO[bytes], dtype: np.dtype[Any], chunk_size: int, mapper: _KeyMapper, name: str
) -> Iterator[_Chunk]:
    for records in _read_records(stream, dtype, chunk_size, name):
        yield _Chunk(key=mapper.int_chunk(records))  # a view into the reused buffer


def _read_oracle(
    stream: IO[bytes], chunk_size: int, keys_only: bool, mapper: _KeyMapper, name: str
) -> Iterator[_Chunk]:
    for rec in _read_records(stream, _ORACLE, chunk_size, name):
        chunk = _Chunk(key=mapper.int_chunk(rec["key"].view(np.int64)))
        if not keys_only:
            chunk["time"] = rec["time"]
            chunk["size"] = rec["size"]
        yield chunk  # views into the reused buffer: consumers copy


def _block_size(chunk_size: int) -> int:
    return int(min(16 << 20, max(1 << 16, chunk_size * 32)))


def _arrow_error(name: str, exc: Exception) -> TraceError:
    text = str(exc).replace("\n", " ")
    return TraceError(f"{name}: {text}")


def _rebatch(parts: Iterator[Any], chunk_size: int) -> Iterator[Any]:
    """Re-cut pyarrow batches (or arrays) into pieces of exactly ``chunk_size`` rows."""
    import pyarrow as pa

    pending: list[Any] = []
    held = 0
    for part in parts:
        start = 0
        while start < len(part):
            take = min(chunk_size - held, len(part) - start)
            pending.append(part.slice(start, take))
            held += take
            start += take
            if held == chunk_size:
                yield _join(pending, pa)
                pending, held = [], 0
    if held:
        yield _join(pending, pa)


def _join(pieces: list[Any], pa: Any) -> Any:
    if len(pieces) == 1:
        return pieces[0]
    if isinstance(pieces[0], pa.RecordBatch):
        return pa.Table.from_batches(pieces).combine_chunks().to_batches()[0]
    return pa.concat_arrays(pieces)


def _read_txt(
    stream: IO[bytes], chunk_size: int, mapper: _KeyMapper, name: str
) -> Iterator[_Chunk]:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    bad: list[Any] = []

    def on_bad(row: Any) -> str:
        bad.append(row)
        return "skip"

    try:
        reader = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(
                column_names=["key"], use_threads=False, block_size=_block_size(chunk_size)
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=_UNIT_SEPARATOR,
                quote_char=False,
                escape_char=False,
                invalid_row_handler=on_bad,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={"key": pa.string()}, strings_can_be_null=False
            ),
        )
    except pa.ArrowInvalid as exc:
        raise _arrow_error(name, exc) from None

    def arrays() -> Iterator[Any]:
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except pa.ArrowInvalid as exc:
                raise _arrow_error(name, exc) from None
            if bad:
                raise TraceError(
                    f"{name}: line {bad[0].number} holds the control character \\x1f, "
                    "which a one-key-per-line trace cannot contain"
                )
            keys = batch.column(0)
            yield keys.filter(pc.not_equal(keys, "*"))  # LIRS checkpoint markers

    done = 0
    for part in _rebatch(arrays(), chunk_size):
        yield _Chunk(key=mapper.text_chunk(part, f"{name}: key {done + 1:,}"))
        done += len(part)


def _read_lis(stream: IO[bytes], chunk_size: int, name: str) -> Iterator[_Chunk]:
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
    try:
        for chunk in reader:
            start = chunk["start"].to_numpy()
            n = chunk["n"].to_numpy()
            if len(n) and n.min() < 0:
                raise TraceError(f"{name}: ARC trace line with a negative request count")
            total = int(n.sum())
            offsets = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(n) - n, n)
            yield _Chunk(key=np.repeat(start, n) + offsets)
    except (ValueError, pd.errors.ParserError) as exc:
        if isinstance(exc, TraceError):
            raise
        raise TraceError(f"{name}: not an ARC trace line ('start n 0 reqno'): {exc}") from None


class _Prepend(io.RawIOBase):
    """``head`` followed by the rest of ``stream`` (to give a sniffed line back)."""

    def __init__(self, head: bytes, stream: IO[bytes]) -> None:
        self._head = head
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._head:
            n = min(len(view), len(self._head))
            view[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._stream.read(len(view))
        view[: len(data)] = data
        return len(data)


def _first_null(arr: Any) -> int:
    import pyarrow.compute as pc

    return int(np.flatnonzero(pc.is_null(arr).to_numpy(zero_copy_only=False))[0])


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
    name: str,
) -> Iterator[_Chunk]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    first = stream.readline()
    if not first.strip():
        return
    fields = next(csv.reader([first.decode("utf-8").rstrip("\r\n")], delimiter=delimiter))
    body: Any = stream
    header_lines = 1
    labels: dict[str, str] = {}
    if key_col is None:  # cachesim CSV: columns by header name
        if any(c is not None for c in (time_col, size_col, op_col, ttl_col)):
            raise ValueError("time_col/size_col/op_col/ttl_col need key_col (column mapping)")
        column_names = [f.strip() for f in fields]
        if "key" not in column_names:
            raise ValueError(
                "CSV trace needs a 'key' column (header time,key[,op,size,ttl]); "
                "for other CSVs pass key_col= (1-based)"
            )
        wanted: dict[str, str] = {
            c: c for c in ("time", "key", "op", "size", "ttl") if c in column_names
        }
        labels = {c: repr(c) for c in wanted}
    else:
        mapping = {"key": key_col, "time": time_col, "size": size_col, "op": op_col}
        mapping["ttl"] = ttl_col
        used = {field: col for field, col in mapping.items() if col is not None}
        for field, col in used.items():
            if col < 1:
                raise ValueError(f"{field}_col is 1-based (libCacheSim style), got {col}")
            if col > len(fields):
                raise ValueError(
                    f"{field}_col={col}, but the first line has {len(fields)} fields "
                    f"(delimiter {delimiter!r})"
                )
        column_names = [f"#{i + 1}" for i in range(len(fields))]
        wanted = {field: f"#{col}" for field, col in used.items()}
        labels = {field: f"{field!r} (column {col})" for field, col in used.items()}
        if not has_header:
            body = _Prepend(first, stream)
            header_lines = 0
    if keys_only:
        wanted = {"key": wanted["key"]}
    types = {"key": pa.string(), "time": pa.float64(), "size": pa.int64()}
    types.update(ttl=pa.float64(), op=pa.string())
    bad: list[Any] = []

    def on_bad(row: Any) -> str:
        bad.append(row)
        return "skip"

    try:
        reader = pacsv.open_csv(
            body,
            read_options=pacsv.ReadOptions(
                column_names=column_names, use_threads=False, block_size=_block_size(chunk_size)
            ),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_bad),
            convert_options=pacsv.ConvertOptions(
                column_types={col: types[field] for field, col in wanted.items()},
                include_columns=list(wanted.values()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise _arrow_error(name, exc) from None

    def batches() -> Iterator[Any]:
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except pa.ArrowInvalid as exc:
                raise _arrow_error(name, exc) from None
            if bad:
                row = bad[0]
                at = f"line {row.number + header_lines}" if row.number is not None else "a line"
                missing = [
                    labels[f]
                    for f, col in wanted.items()
                    if column_names.index(col) >= row.actual_columns
                ]
                what = f": missing {', '.join(missing)}" if missing else ""
                raise TraceError(
                    f"{name}: {at} has {row.actual_columns} fields, the header "
                    f"{row.expected_columns}{what} (truncated file?): {row.text[:80]!r}"
                )
            yield batch

    done = 0
    for part in _rebatch(batches(), chunk_size):
        yield _csv_chunk(part, wanted, labels, mapper, f"{name}: row {done + 1:,}")
        done += part.num_rows


def _csv_chunk(
    batch: Any, wanted: dict[str, str], labels: dict[str, str], mapper: _KeyMapper, where: str
) -> _Chunk:
    out = _Chunk(key=mapper.text_chunk(batch.column(wanted["key"]), where))
    for field in ("time", "size", "op"):
        if field in wanted and batch.column(wanted[field]).null_count:
            i = _first_null(batch.column(wanted[field]))
            raise TraceError(
                f"{where} + {i}: field {labels[field]} is empty (or NA); every request "
                f"needs a {field}"
            )
    if "time" in wanted:
        out["time"] = batch.column(wanted["time"]).to_numpy().astype(np.float64, copy=False)
    if "size" in wanted:
        out["size"] = batch.column(wanted["size"]).to_numpy().astype(np.int64, copy=False)
    if "op" in wanted:
        out["op"] = _ops_from(batch.column(wanted["op"]), where)
    if "ttl" in wanted:
        ttl = batch.column(wanted["ttl"]).to_numpy(zero_copy_only=False)
        out["ttl"] = np.asarray(ttl, dtype=np.float32)
    return out


def _read_parquet(
    path: Path, chunk_size: int, mapper: _KeyMapper, keys_only: bool
) -> Iterator[_Chunk]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    name = path.name
    try:
        file = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise TraceError(f"{name} is not a readable Parquet file (truncated?): {exc}") from None
    schema = file.schema_arrow
    columns = [c for c in ("time", "key", "op", "size", "ttl") if c in schema.names]
    if "key" not in columns:
        raise ValueError("Parquet trace needs a 'key' column")
    key_type = schema.field("key").type
    if pa.types.is_floating(key_type):
        raise TraceError(
            f"{name}: the key column is floating point, where distinct large ids can "
            "collide; store keys as integers or strings"
        )
    if keys_only:
        columns = ["key"]
    expected = file.metadata.num_rows
    done = 0
    try:
        for batch in file.iter_batches(batch_size=chunk_size, columns=columns):
            where = f"{name}: row {done + 1:,}"
            labels = {c: repr(c) for c in columns}
            for field in ("key", "time", "size", "op"):
                if field in columns and batch.column(field).null_count:
                    i = _first_null(batch.column(field))
                    raise TraceError(f"{where} + {i}: field {field!r} is empty (null)")
            key = batch.column("key")
            if pa.types.is_integer(key.type):
                keys = mapper.int_chunk(key.to_numpy().astype(np.int64, copy=False))
            else:
                keys = mapper.text_chunk(key.cast(pa.string()), where)
            out = _Chunk(key=keys)
            if "time" in columns:
                out["time"] = batch.column("time").to_numpy().astype(np.float64, copy=False)
            if "op" in columns:
                op = batch.column("op")
                if pa.types.is_dictionary(op.type):
                    op = op.cast(pa.string())
                out["op"] = _ops_from(op, where)
            if "size" in columns:
                out["size"] = batch.column("size").to_numpy().astype(np.int64, copy=False)
            if "ttl" in columns:
                ttl = batch.column("ttl").to_numpy(zero_copy_only=False)
                out["ttl"] = np.asarray(ttl, dtype=np.float32)
            del labels
            done += batch.num_rows
            yield out
    except (pa.ArrowInvalid, OSError) as exc:
        raise TraceError(f"{name} is truncated or corrupt after row {done:,}: {exc}") from None
    if done != expected and not keys_only:
        raise TraceError(f"{name} holds {done:,} rows where its footer says {expected:,}")


def _check_sizes(chunk: _Chunk, where: str) -> None:
    size = chunk.get("size")
    if size is not None and len(size) and size.min() < 0:
        i = int(np.flatnonzero(size < 0)[0])
        raise TraceError(f"{where} + {i}: field 'size' is negative ({int(size[i])})")


class _TimeCheck:
    """Finds empty, non-finite and backwards times across chunks."""

    def __init__(self, times: TimeOrder, name: str) -> None:
        if times not in ("error", "sort", "keep"):
            raise ValueError(f"times must be 'error', 'sort' or 'keep', got {times!r}")
        self.mode = times
        self.name = name
        self.last = -np.inf
        self.row = 0
        self.sorted = True

    def __call__(self, chunk: _Chunk) -> None:
        t = chunk.get("time")
        n = len(chunk["key"])
        if t is not None and len(t):
            if t.dtype.kind == "f" and not np.isfinite(t).all():
                i = int(np.flatnonzero(~np.isfinite(t))[0])
                raise TraceError(f"{self.name}: row {self.row + i + 1:,}: time is {t[i]}")
            back = np.flatnonzero(np.diff(t) < 0) + 1
            if t[0] < self.last:
                back = np.concatenate(([0], back))
            if len(back):
                self.sorted = False
                if self.mode == "error":
                    i = int(back[0])
                    before = t[i - 1] if i else self.last
                    raise TraceError(
                        f"{self.name}: row {self.row + i + 1:,}: time goes backwards "
                        f"({before:g} then {t[i]:g}); pass times='sort' to order the "
                        "requests by time, or times='keep' to replay them in file order"
                    )
            self.last = max(self.last, float(t[-1]))
        self.row += n


def _chunks(
    path: Path, fmt: str, chunk_size: int, mapper: _KeyMapper, options: dict[str, Any]
) -> Iterator[_Chunk]:
    """The raw chunks of a trace; decompression and parse errors become TraceError."""
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size!r}")
    keys_only = bool(options.get("keys_only", False))
    name = path.name
    if fmt == "parquet":
        yield from _read_parquet(path, chunk_size, mapper, keys_only)
        return
    hint = _record_hint(path, fmt)
    if hint is not None:  # no bigger read buffer than the file needs
        chunk_size = max(1, min(chunk_size, hint))
    try:
        with open_stream(path) as stream:
            if fmt == "oracleGeneral":
                yield from _read_oracle(stream, chunk_size, keys_only, mapper, name)
            elif fmt in _BINARY_DTYPES:
                yield from _read_binary_keys(stream, _BINARY_DTYPES[fmt], chunk_size, mapper, name)
            elif fmt == "txt":
                yield from _read_txt(stream, chunk_size, mapper, name)
            elif fmt == "lis":
                yield from _read_lis(stream, chunk_size, name)
            else:
                yield from _read_csv(stream, chunk_size, mapper, name=name, **options)
    except EOFError as exc:
        raise TraceError(f"{name} is truncated: {exc}") from None
    except (gzip.BadGzipFile, lzma.LZMAError, zlib.error) as exc:
        raise TraceError(f"{name} is not valid compressed data: {exc}") from None
    except OSError as exc:
        if "Invalid data stream" in str(exc):  # bz2
            raise TraceError(f"{name} is not valid bzip2 data: {exc}") from None
        raise


def _record_hint(path: Path, fmt: str) -> int | None:
    """The exact request count of an uncompressed fixed-width binary trace.

    A file whose size is not a whole number of records is cut: an error before
    anything is read.
    """
    compression, _ = _split_suffixes(path)
    if compression is not None:
        return None
    width = _ORACLE.itemsize if fmt == "oracleGeneral" else None
    if fmt in _BINARY_DTYPES:
        width = _BINARY_DTYPES[fmt].itemsize
    if width is None:
        return None
    size = path.stat().st_size
    if size % width:
        raise TraceError(
            f"{path.name} is truncated: {size:,} bytes is not a whole number of "
            f"{width}-byte {fmt} records ({size % width} stray bytes)"
        )
    return size // width


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


def _checked(
    path: Path,
    fmt: str,
    chunk_size: int,
    mapper: _KeyMapper,
    options: dict[str, Any],
    check: _TimeCheck,
) -> Iterator[_Chunk]:
    for chunk in _chunks(path, fmt, chunk_size, mapper, options):
        _check_sizes(chunk, f"{path.name}: row {check.row + 1:,}")
        check(chunk)
        yield chunk


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
    key_type: KeyType = "auto",
    times: TimeOrder = "error",
) -> Iterator[Workload]:
    """Yield a trace as consecutive Workload chunks of at most ``chunk_size`` requests.

    Memory stays at one chunk (plus the names of string keys seen so far), so
    this is the source for streaming replays and curves.  String keys get ids
    that are consistent across chunks; each chunk's ``key_names`` is a view of
    every name seen so far.  ``key_type="auto"`` decides on the first chunk: a
    non-integer key after integer chunks raises :class:`TraceError` (pass
    ``key_type="str"``).  ``times="sort"`` needs the whole trace
    (:func:`load_trace`).
    """
    p = Path(path)
    fmt = _resolve_format(p, format)
    if times == "sort":
        raise ValueError("times='sort' needs the whole trace: use load_trace(..., times='sort')")
    options = _csv_options(
        fmt, key_col, time_col, size_col, op_col, ttl_col, has_header, delimiter, keys_only
    )
    mapper = _KeyMapper(key_type, streaming=True)
    check = _TimeCheck(times, p.name)
    for chunk in _checked(p, fmt, chunk_size, mapper, options, check):
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
    key_type: KeyType = "auto",
    times: TimeOrder = "error",
) -> Workload:
    """Read a trace file into a Workload (format from the extension unless ``format=``).

    ``key_col``/``time_col``/``size_col``/``op_col``/``ttl_col`` (1-based)
    read any CSV by column number, like libCacheSim's CSV reader
    (``has_header`` defaults to True, ``delimiter`` to a comma).
    ``keys_only`` skips every other column (8 bytes per request in memory);
    ``limit`` stops after that many requests.  ``key_type``: ``"auto"``
    (integer ids when every key is a canonical integer, else strings),
    ``"int"`` (raise on any other key) or ``"str"``.  ``times``: what to do
    when request times go backwards: ``"error"`` (default), ``"sort"`` (stable
    sort by time) or ``"keep"`` (file order).  Truncated or malformed files
    raise :class:`TraceError`.
    """
    p = Path(path)
    fmt = _resolve_format(p, format)
    options = _csv_options(
        fmt, key_col, time_col, size_col, op_col, ttl_col, has_header, delimiter, keys_only
    )
    mapper = _KeyMapper(key_type)
    check = _TimeCheck(times, p.name)
    hint = _record_hint(p, fmt)
    if hint is not None and limit is not None:
        hint = min(hint, limit)
    columns: dict[str, _Column] = {}
    ones = 0  # leading rows whose size is 1, not yet materialised (1 is the default)
    count = 0
    for chunk in _checked(p, fmt, chunk_size, mapper, options, check):
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
                    raise TraceError(f"column {column!r} is missing from part of the trace")
                columns[column] = _Column(_COLUMN_DTYPES[column], hint)
            columns[column].append(values)
        count += n
        if limit is not None and count >= limit:
            break
    for column, builder in columns.items():
        if builder.n != count:
            raise TraceError(f"column {column!r} is missing from part of the trace")
    key = columns["key"].result() if "key" in columns else np.zeros(0, dtype=np.int64)
    names = mapper.key_names()
    switched_at = mapper.switched_at
    if switched_at:  # integer keys came first: rename everything as strings, in order
        assert names is not None
        raw = np.concatenate(
            [key[:switched_at].astype(str).astype(object), names[key[switched_at:]]]
        )
        renamed = _KeyMapper("str")
        key = renamed.name_chunk(raw)
        names = renamed.key_names()
    if names is not None:
        names = names.copy()

    def result(column: str) -> np.ndarray | None:
        builder = columns.get(column)
        return builder.result() if builder is not None else None

    workload = Workload(
        key,
        result("time"),
        result("op"),
        result("size"),
        result("ttl"),
        names,
        name=name or p.name,
    )
    if times == "sort" and not check.sorted and workload.time is not None:
        order = np.argsort(workload.time, kind="stable")
        workload = workload[order]
    return workload


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
