"""The replay loop shared by every compiled policy, and the machinery that builds it.

:func:`_replay` implements the request semantics of
:class:`cachesim.policies.EntryStore` over arrays: lazy expiry on read, purge
of expired entries (earliest first) before evicting, overwrites, deletes,
refusals, counters and per-request flags.  It calls the policy through six
hooks and an admission filter through two, by global name.  For each policy
the function is rebuilt with those names bound to the policy module's
compiled hooks (:func:`build_replay`) and compiled with numba, so a policy is
one small module of hooks and the loop exists once.  Compiled code is cached
on disk next to the policy module.

Hook signatures (``ps``: the policy's state tuple, ``osize``: cached size per
key id, ``k``: key id, ``s``: size, ``nu``: next use for offline policies):

* ``admit(ps, osize, k, s) -> bool`` -- a new entry is about to be stored;
* ``insert(ps, osize, k, s, nu) -> bool`` -- place it (``osize[k] == s``; the hook
  may set ``osize[k]`` to the size to account instead, as the stores'
  ``_stored_size``);
* ``hit(ps, osize, k, nu)`` / ``update(ps, osize, k, nu)`` -- read / overwrite;
* ``remove(ps, osize, k)`` -- the entry leaves (``osize[k]`` still valid);
* ``access(ps, osize, k, op, hit)`` -- every read once its outcome is known
  (after ``hit``; before the fill of a miss) and every write before it is
  stored (``op`` 1): what the stores do in ``get`` and ``put`` themselves
  (W-TinyLFU's sketch);
* ``victim(ps, osize, s) -> key`` -- choose what to evict for an entry of ``s``;
  ``-1`` means the new entry itself loses (GDSF): it is counted as an eviction
  and not stored.

A policy that evicts entries from inside its hooks (SLRU demoting on a hit,
2Q making room in Am, LIRS) sets ``EVICTS = True`` in its module and makes
the last array of its ``STATE`` an eviction buffer (``evicted_buffer()``): a
hook takes the entry out of its own lists and calls ``evict_later(buf, k)``;
after every hook the loop removes the buffered entries from the cache and
counts them as evictions, as :meth:`cachesim.policies.base.EntryStore` counts
the stores' ``_evict_now``.  ``adjust_used(buf, delta)`` changes the used
size without removing anything (a store that adjusts its ``used``).

Admission filter hooks (``fs``: its state): ``record(fs, k, s)`` on every read
(``s``: the cached size, 1 if absent, as the stores report it),
``admit(fs, k, s) -> bool`` for each new entry the policy admits.
"""

from __future__ import annotations

import hashlib
import importlib
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np

from cachesim.sim._kernels import HAVE_NUMBA

__all__ = [
    "NEVER",
    "N_COUNTERS",
    "adjust_used",
    "build_replay",
    "evict_later",
    "evicted_buffer",
    "jit",
]

#: ``nu`` of an entry that will not be read again while it is live.
NEVER = 1 << 62

#: int64 counters: hits, misses, expirations, evictions, writes, deletes,
#: bytes requested, bytes hit, reads, inserts (new entries stored), rejections
#: (new entries refused by the policy, an admission filter or their size).
N_COUNTERS = 11

# scalars of the shared state (int64 array ``sc``)
CAP, USED, COUNT, HEAP_N = 0, 1, 2, 3
N_SCALARS = 4

if HAVE_NUMBA:
    import numba


F = TypeVar("F", bound=Callable[..., Any])


# Kernels never allocate (every array comes from Python), so they run without numba's
# reference counting (_nrt=False): passing a policy's arrays from hook to hook then
# costs nothing, where counted references cost atomic operations.
_OPTIONS: dict[str, Any] = {"nogil": True, "_nrt": False}


def _source_tag() -> str:
    """A short hash of every kernel module's source.

    Numba links the code of the helpers a function calls into the function's
    own compiled code, but stamps its disk cache with the function's file
    alone: a hook cached before an edit of a shared helper (``lists.py``,
    ``evict_later`` here) would keep running the old helper, out of step with
    the rest (wrong results, writes out of bounds).  Every compiled kernel
    function is therefore stamped with this hash as well.
    """
    digest = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for path in sorted(here.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


_TAG = _source_tag()


def _disk_cache(func: Any) -> Any:
    """Numba's disk cache for ``func``, valid only while every kernel source is unchanged.

    ``None`` when the cache cannot be set up (no writable cache directory, or a
    numba whose cache internals differ): the function is then compiled in
    each process, never loaded stale.
    """
    try:
        # numba's cache internals: untyped, reached through Any so that type checks
        # agree with and without numba installed
        caching: Any = importlib.import_module("numba.core.caching")
        cache = caching.FunctionCache(func)
        impl = cache._impl
        stamp = (impl.locator.get_source_stamp(), _TAG)
        cache._cache_file = caching.IndexDataCacheFile(
            cache_path=cache._cache_path, filename_base=impl.filename_base, source_stamp=stamp
        )
    except (ImportError, AttributeError, TypeError, RuntimeError, OSError):
        return None
    return cache


def _njit(func: Any) -> Any:
    dispatcher = numba.njit(**_OPTIONS)(func)
    cache = _disk_cache(dispatcher.py_func)
    if cache is not None:
        dispatcher._cache = cache
    return dispatcher


def jit(func: F) -> F:
    """Compile a hook or helper with numba (cached on disk); without numba, return it."""
    if not HAVE_NUMBA:
        return func
    return cast(F, _njit(func))


# -- indexed min-heap of (expiry time, key id) ------------------------------------------
# ht/hk hold the heap, hpos[k] the position of key k (-1: not in the heap).


@jit
def _less(ht: Any, hk: Any, a: int, b: int) -> bool:
    return bool(ht[a] < ht[b] or (ht[a] == ht[b] and hk[a] < hk[b]))


@jit
def _swap(ht: Any, hk: Any, hpos: Any, a: int, b: int) -> None:
    t = ht[a]
    ht[a] = ht[b]
    ht[b] = t
    k = hk[a]
    hk[a] = hk[b]
    hk[b] = k
    hpos[hk[a]] = a
    hpos[hk[b]] = b


@jit
def _sift_up(ht: Any, hk: Any, hpos: Any, i: int) -> None:
    while i > 0:
        p = (i - 1) >> 1
        if not _less(ht, hk, i, p):
            break
        _swap(ht, hk, hpos, i, p)
        i = p


@jit
def _sift_down(ht: Any, hk: Any, hpos: Any, n: int, i: int) -> None:
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and _less(ht, hk, c + 1, c):
            c += 1
        if not _less(ht, hk, c, i):
            break
        _swap(ht, hk, hpos, i, c)
        i = c


@jit
def heap_set(ht: Any, hk: Any, hpos: Any, n: int, k: int, t: float) -> int:
    """Insert key ``k`` at time ``t``, or move it there; returns the heap size."""
    i = hpos[k]
    if i < 0:
        i = n
        n += 1
        hk[i] = k
        hpos[k] = i
        ht[i] = t
        _sift_up(ht, hk, hpos, i)
        return n
    old = ht[i]
    ht[i] = t
    if t < old:
        _sift_up(ht, hk, hpos, i)
    else:
        _sift_down(ht, hk, hpos, n, i)
    return n


@jit
def heap_del(ht: Any, hk: Any, hpos: Any, n: int, k: int) -> int:
    """Remove key ``k`` if it is in the heap; returns the heap size."""
    i = hpos[k]
    if i < 0:
        return n
    hpos[k] = -1
    n -= 1
    if i == n:
        return n
    ht[i] = ht[n]
    hk[i] = hk[n]
    hpos[hk[i]] = i
    _sift_down(ht, hk, hpos, n, i)
    _sift_up(ht, hk, hpos, i)
    return n


@jit
def _useful(idx: int, t_next: float, exp: float) -> int:
    """Next use of an entry expiring at ``exp``: NEVER if it is dead before ``idx``."""
    if idx >= NEVER or exp <= t_next:
        return int(NEVER)
    return int(idx)


# -- default hooks ----------------------------------------------------------------------


@jit
def admit_all(ps: Any, osize: Any, k: int, s: int) -> bool:
    """Default ``admit``: every entry that fits the capacity."""
    return True


@jit
def insert_ok(ps: Any, osize: Any, k: int, s: int, nu: int) -> bool:
    """Default ``insert``: nothing to place."""
    return True


@jit
def no_hit(ps: Any, osize: Any, k: int, nu: int) -> None:
    """Default ``hit`` / ``update``: nothing to record."""


@jit
def no_remove(ps: Any, osize: Any, k: int) -> None:
    """Default ``remove``: nothing to forget."""


@jit
def never_victim(ps: Any, osize: Any, s: int) -> int:
    """Default ``victim`` for unbounded policies (never called)."""
    return -1


@jit
def no_access(ps: Any, osize: Any, k: int, op: int, hit: bool) -> None:
    """Default ``access``: nothing to count."""


@jit
def no_drain(
    ps: Any,
    present: Any,
    osize: Any,
    hpos: Any,
    ht: Any,
    hk: Any,
    used: int,
    count: int,
    hn: int,
    has_exp: bool,
) -> tuple[int, int, int, int]:
    """Default drain: the policy never evicts from inside a hook."""
    return used, count, hn, 0


@jit
def evict_later(buf: Any, k: int) -> None:
    """Record that a hook evicted key ``k`` (already out of the policy's own lists)."""
    n = buf[0] + 1
    buf[0] = n
    buf[n + 1] = k


@jit
def adjust_used(buf: Any, delta: int) -> None:
    """Record that the cache's used size changes by ``delta`` for an entry that stays.

    LIRS keeps a block cached but uncounted for a while, as libCacheSim does.
    """
    buf[1] += delta


@jit
def drain_last(
    ps: Any,
    present: Any,
    osize: Any,
    hpos: Any,
    ht: Any,
    hk: Any,
    used: int,
    count: int,
    hn: int,
    has_exp: bool,
) -> tuple[int, int, int, int]:
    """Remove the entries buffered by ``evict_later`` (``ps[-1]``) from the cache."""
    buf = ps[-1]
    n = buf[0]
    used += buf[1]
    buf[1] = 0
    for i in range(2, n + 2):
        v = buf[i]
        present[v] = 0
        used -= osize[v]
        count -= 1
        if has_exp:
            hn = heap_del(ht, hk, hpos, hn, v)
    buf[0] = 0
    return used, count, hn, int(n)


def evicted_buffer() -> Any:
    """The ``STATE`` entry of a policy that evicts from its hooks (it must come last)."""
    from cachesim.sim.kernels._state import Array

    return Array("evicted", np.int64, 0, extra=2)


@jit
def no_record(fs: Any, k: int, s: int) -> None:
    """Default filter ``record``."""


@jit
def admit_always(fs: Any, k: int, s: int) -> bool:
    """Default filter ``admit``: no admission filter."""
    return True


# The names the replay loop calls; build_replay() binds them to a policy's hooks.
_p_admit, _p_insert, _p_hit, _p_update = admit_all, insert_ok, no_hit, no_hit
_p_remove, _p_victim, _a_record, _a_admit = no_remove, never_victim, no_record, admit_always
_p_drain, _p_access = no_drain, no_access


# -- the replay loop (a template: the _p_* and _a_* names are bound per policy) ------------


def _replay(
    codes: Any,
    times: Any,
    has_times: bool,
    ops: Any,
    has_ops: bool,
    sizes: Any,
    has_sizes: bool,
    ttls: Any,
    has_ttls: bool,
    o_idx: Any,
    o_time: Any,
    has_oracle: bool,
    flags: Any,
    has_flags: bool,
    first: int,
    warmup: int,
    default_ttl: float,
    has_exp: bool,
    present: Any,
    osize: Any,
    expire: Any,
    hpos: Any,
    ht: Any,
    hk: Any,
    sc: Any,
    counters: Any,
    ps: Any,
    fs: Any,
) -> None:
    inf = np.inf
    cap = sc[0]
    bounded = cap >= 0
    used = sc[1]
    count = sc[2]
    hn = sc[3]
    hits = counters[0]
    misses = counters[1]
    expirations = counters[2]
    evictions = counters[3]
    writes = counters[4]
    deletes = counters[5]
    bytes_req = counters[6]
    bytes_hit = counters[7]
    reads = counters[8]
    inserts = counters[9]
    rejections = counters[10]
    for j in range(len(codes)):
        i = first + j
        k = codes[j]
        now = times[j] if has_times else float(i)
        op = ops[j] if has_ops else 0
        s = sizes[j] if has_sizes else 1
        counted = i >= warmup
        # ---- read ------------------------------------------------------------------
        if op == 0:
            _a_record(fs, k, osize[k] if present[k] else 1)
            if counted:
                reads += 1
                bytes_req += s
            if present[k]:
                if has_exp and expire[k] <= now:  # lazily expired: remove, then miss
                    _p_remove(ps, osize, k)
                    used, count, hn, ne = _p_drain(
                        ps, present, osize, hpos, ht, hk, used, count, hn, has_exp
                    )
                    if counted:
                        evictions += ne
                    present[k] = 0
                    used -= osize[k]
                    count -= 1
                    hn = heap_del(ht, hk, hpos, hn, k)
                    if counted:
                        expirations += 1
                else:
                    nu = NEVER
                    if has_oracle:
                        nu = _useful(o_idx[j], o_time[j], expire[k] if has_exp else inf)
                    _p_hit(ps, osize, k, nu)
                    used, count, hn, ne = _p_drain(
                        ps, present, osize, hpos, ht, hk, used, count, hn, has_exp
                    )
                    _p_access(ps, osize, k, 0, True)
                    if counted:
                        evictions += ne
                        hits += 1
                        bytes_hit += s
                    if has_flags:
                        flags[j] = 1
                    continue
            _p_access(ps, osize, k, 0, False)
            if counted:
                misses += 1
            if has_flags:
                flags[j] = 0
        elif op == 1:
            _p_access(ps, osize, k, 1, False)
            if counted:
                writes += 1
            if has_flags:
                flags[j] = 2
        else:
            if counted:
                deletes += 1
            if has_flags:
                flags[j] = 2
            if present[k]:
                _p_remove(ps, osize, k)
                used, count, hn, ne = _p_drain(
                    ps, present, osize, hpos, ht, hk, used, count, hn, has_exp
                )
                if counted:
                    evictions += ne
                present[k] = 0
                used -= osize[k]
                count -= 1
                if has_exp:
                    hn = heap_del(ht, hk, hpos, hn, k)
            continue
        # ---- store: the fill after a read miss, or a write ---------------------------
        exp = inf
        if has_exp:
            ttl = default_ttl
            if has_ttls:
                t32 = ttls[j]
                if t32 == t32:  # not NaN
                    ttl = t32
            if ttl < inf:
                exp = now + ttl
        nu = NEVER
        if has_oracle:
            nu = _useful(o_idx[j], o_time[j], exp)
        if present[k]:
            if has_exp and expire[k] <= now:  # gone already: store a new entry
                _p_remove(ps, osize, k)
                used, count, hn, ne = _p_drain(
                    ps, present, osize, hpos, ht, hk, used, count, hn, has_exp
                )
                if counted:
                    evictions += ne
                present[k] = 0
                used -= osize[k]
                count -= 1
                hn = heap_del(ht, hk, hpos, hn, k)
                if counted:
                    expirations += 1
            elif s == osize[k]:  # overwrite in place
                if has_exp and expire[k] != exp:
                    expire[k] = exp
                    if exp < inf:
                        hn = heap_set(ht, hk, hpos, hn, k, exp)
                    else:
                        hn = heap_del(ht, hk, hpos, hn, k)
                _p_update(ps, osize, k, nu)
                used, count, hn, ne = _p_drain(
                    ps, present, osize, hpos, ht, hk, used, count, hn, has_exp
                )
                if counted:
                    evictions += ne
                continue
            else:  # replaced by an entry of another size
                _p_remove(ps, osize, k)
                used, count, hn, ne = _p_drain(
                    ps, present, osize, hpos, ht, hk, used, count, hn, has_exp
                )
                if counted:
                    evictions += ne
                present[k] = 0
                used -= osize[k]
                count -= 1
                if has_exp:
                    hn = heap_del(ht, hk, hpos, hn, k)
        ok = _p_admit(ps, osize, k, s)
        used, count, hn, ne = _p_drain(ps, present, osize, hpos, ht, hk, used, count, hn, has_exp)
        if counted:
            evictions += ne
        if ok:
            ok = _a_admit(fs, k, s)
        if ok and bounded and s > cap:
            ok = False
        if not ok:
            if counted:
                rejections += 1
            continue
        if bounded and used + s > cap:
            while hn > 0 and ht[0] <= now:  # purge expired entries, earliest first
                v = hk[0]
                _p_remove(ps, osize, v)
                used, count, hn, ne = _p_drain(
                    ps, present, osize, hpos, ht, hk, used, count, hn, has_exp
                )
                if counted:
                    evictions += ne
                present[v] = 0
                used -= osize[v]
                count -= 1
                hn = heap_del(ht, hk, hpos, hn, v)
                if counted:
                    expirations += 1
            lost = False
            while used + s > cap:
                v = _p_victim(ps, osize, s)
                if v < 0:  # the new entry loses: counted as an eviction, not stored
                    lost = True
                    if counted:
                        evictions += 1
                    break
                _p_remove(ps, osize, v)
                used, count, hn, ne = _p_drain(
                    ps, present, osize, hpos, ht, hk, used, count, hn, has_exp
                )
                if counted:
                    evictions += ne
                present[v] = 0
                used -= osize[v]
                count -= 1
                if has_exp:
                    hn = heap_del(ht, hk, hpos, hn, v)
                if counted:
                    evictions += 1
            if lost:
                continue
        osize[k] = s
        ok = _p_insert(ps, osize, k, s, nu)
        used, count, hn, ne = _p_drain(ps, present, osize, hpos, ht, hk, used, count, hn, has_exp)
        if counted:
            evictions += ne
        if not ok:
            if counted:
                rejections += 1
            continue
        present[k] = 1
        used += osize[k]  # the size the policy stored (LIRS may keep an older one)
        count += 1
        if counted:
            inserts += 1
        if has_exp:
            expire[k] = exp
            if exp < inf:
                hn = heap_set(ht, hk, hpos, hn, k, exp)
    sc[1] = used
    sc[2] = count
    sc[3] = hn
    counters[0] = hits
    counters[1] = misses
    counters[2] = expirations
    counters[3] = evictions
    counters[4] = writes
    counters[5] = deletes
    counters[6] = bytes_req
    counters[7] = bytes_hit
    counters[8] = reads
    counters[9] = inserts
    counters[10] = rejections


def build_replay(policy: types.ModuleType, admission: types.ModuleType | None = None) -> Any:
    """The replay loop compiled with ``policy``'s hooks (and an admission filter's).

    ``policy`` is a kernel module (``cachesim.sim.kernels.lru`` ...); hooks it
    does not define fall back to the defaults above.  The compiled function is
    cached on disk beside the policy module's source, named after the policy,
    the filter and the kernel sources, so editing any of them recompiles.
    """
    hooks = {
        "_p_admit": getattr(policy, "admit", admit_all),
        "_p_insert": getattr(policy, "insert", insert_ok),
        "_p_hit": getattr(policy, "hit", no_hit),
        "_p_update": getattr(policy, "update", getattr(policy, "hit", no_hit)),
        "_p_remove": getattr(policy, "remove", no_remove),
        "_p_victim": getattr(policy, "victim", never_victim),
        "_a_record": getattr(admission, "record", no_record),
        "_a_admit": getattr(admission, "admit", admit_always),
        "_p_drain": drain_last if getattr(policy, "EVICTS", False) else no_drain,
        "_p_access": getattr(policy, "access", no_access),
    }
    namespace = dict(globals())
    namespace.update(hooks)
    policy_name = policy.__name__.rsplit(".", 1)[-1]
    filter_name = admission.__name__.rsplit(".", 1)[-1] if admission is not None else "none"
    name = f"replay_{policy_name}_{filter_name}_{_TAG}"
    source = policy.__file__
    assert source is not None
    code = _replay.__code__.replace(co_name=name, co_qualname=name, co_filename=source)
    func = types.FunctionType(code, namespace, name)
    func.__qualname__ = name
    func.__module__ = policy.__name__
    if not HAVE_NUMBA:
        return func
    return _njit(func)
