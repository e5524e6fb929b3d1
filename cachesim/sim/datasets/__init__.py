"""Small public cache traces shipped inside the package, with their licences and oracle values.

::

    from cachesim.sim import datasets, simulate

    datasets.names()                       # ['oltp', 'web07', 'web12']
    trace = datasets.load("web07")         # a Workload, like load_trace() returns
    simulate(trace, capacity=1_000, policy="s3fifo").hit_ratio
    print(datasets.attribution("web07"))   # who made it, under which licence
    datasets.oracle("web07")               # reference hit ratios (libcachesim 0.3.5 and cachesim)

Every trace here may be redistributed: each folder holds the licence or the terms of
use and an ``ATTRIBUTION.md`` naming the authors, the source and any change made.
The CLI accepts these names wherever it takes a trace (``cachesim simulate --trace web07``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from cachesim.sim.workload import Workload

__all__ = ["Dataset", "attribution", "info", "load", "names", "oracle", "path"]


@dataclass(frozen=True)
class Dataset:
    """One shipped trace: where it is, what it holds, who made it and under which terms."""

    name: str
    title: str
    file: str  # relative to this package
    format: str  # a cachesim.sim.traces format name
    requests: int
    unique_keys: int
    licence: str
    licence_file: str  # relative to this package
    attribution_file: str  # relative to this package
    source: str
    citation: str | None = None

    @property
    def path(self) -> Path:
        """The trace file on disk."""
        return _root() / self.file

    def attribution(self) -> str:
        """The attribution text to reproduce when you publish results made with this trace."""
        return (_root() / self.attribution_file).read_text(encoding="utf-8")


_CACHE2K_LICENCE = "CC BY 4.0 (Creative Commons Attribution 4.0 International)"
_CACHE2K_SOURCE = "https://github.com/cache2k/cache2k-benchmark (traces/)"
_ARC_CITATION = (
    'Nimrod Megiddo and Dharmendra S. Modha, "ARC: A Self-Tuning, Low Overhead Replacement '
    'Cache," USENIX FAST 03, San Francisco, CA, pp. 115-130, 2003.'
)

_DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            name="oltp",
            title="ARC paper OLTP trace: a CODASYL database over one hour (512-byte pages)",
            file="arc/OLTP.lis.xz",
            format="lis",
            requests=914_145,
            unique_keys=186_880,
            licence="free to use and redistribute on condition that the ARC paper is cited",
            licence_file="arc/ATTRIBUTION.md",
            attribution_file="arc/ATTRIBUTION.md",
            source="https://github.com/moka-rs/cache-trace (arc/OLTP.lis.zst, recompressed)",
            citation=_ARC_CITATION,
        ),
        Dataset(
            name="web07",
            title="cache2k web07: HTTP requests to a product detail page, July 2013",
            file="cache2k/web07.trace.xz",
            format="int32be",
            requests=76_118,
            unique_keys=20_484,
            licence=_CACHE2K_LICENCE,
            licence_file="cache2k/LICENSE.txt",
            attribution_file="cache2k/ATTRIBUTION.md",
            source=_CACHE2K_SOURCE,
        ),
        Dataset(
            name="web12",
            title="cache2k web12: HTTP requests to a product detail page, December 2013",
            file="cache2k/web12.trace.xz",
            format="int32be",
            requests=95_607,
            unique_keys=13_756,
            licence=_CACHE2K_LICENCE,
            licence_file="cache2k/LICENSE.txt",
            attribution_file="cache2k/ATTRIBUTION.md",
            source=_CACHE2K_SOURCE,
        ),
    )
}


def _root() -> Path:
    return Path(str(resources.files(__name__)))


def names() -> list[str]:
    """The names of the shipped traces, sorted (what :func:`load` accepts)."""
    return sorted(_DATASETS)


def info(name: str) -> Dataset:
    """Description, file, licence and source of one shipped trace (``KeyError``-free lookup).

    Names are case-insensitive; an unknown name raises ``ValueError`` listing the known ones.
    """
    key = name.strip().lower()
    if key not in _DATASETS:
        raise ValueError(f"unknown dataset {name!r}: choose one of {', '.join(names())}")
    return _DATASETS[key]


def path(name: str) -> Path:
    """The file of one shipped trace (for tools that take a path, e.g. ``load_trace``)."""
    return info(name).path


def attribution(name: str) -> str:
    """Authors, licence, source and changes of one shipped trace, as text to reproduce."""
    return info(name).attribution()


def load(name: str, *, limit: int | None = None) -> Workload:
    """Read one shipped trace into a :class:`~cachesim.sim.Workload` named after it.

    ``limit`` keeps only the first requests (quick experiments).
    """
    from cachesim.sim.traces import load_trace

    dataset = info(name)
    return load_trace(dataset.path, dataset.format, limit=limit, name=dataset.name)


@cache
def _oracle_table() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((_root() / "oracle.json").read_text(encoding="utf-8"))
    return data


def oracle(name: str) -> pd.DataFrame:
    """Reference hit ratios for one shipped trace, counting objects, cold misses included.

    Columns: ``policy``, ``capacity`` (entries), ``hit_ratio`` (cachesim),
    ``libcachesim`` (libcachesim 0.3.5 on the same requests) and ``published`` (the
    figure published for this trace, where there is one, in the precision it was
    published with).  ``tests/validate`` replays every row.
    """
    import pandas as pd

    dataset = info(name)
    rows = _oracle_table()["traces"][dataset.name]
    frame = pd.DataFrame(rows, columns=["policy", "capacity", "hit_ratio", "libcachesim"])
    published = _oracle_table().get("published", {}).get(dataset.name, {})
    frame["published"] = [
        published.get(f"{p}@{c}") for p, c in zip(frame["policy"], frame["capacity"], strict=True)
    ]
    frame.attrs["derived_with"] = _oracle_table()["derived_with"]
    return frame
