"""Fork safety: after ``os.fork()`` the child gets fresh connections, loops and flights.

A forked child inherits copies of the parent's sockets and event-loop objects.
Using them would interleave the two processes' traffic on one connection (each
reading the other's replies), and even finalizing them in the child could
unregister the parent's sockets from the shared epoll instance.  So at fork, in
the child only, every registered object swaps in fresh resources (its
``_after_fork()`` method) and the parent's objects are kept alive, untouched,
for the child's lifetime.  The parent is not affected in any way.
"""

from __future__ import annotations

import os
import sys
import weakref
from typing import Any, Protocol

__all__ = ["ForkAware", "keep_from_parent", "register"]


class ForkAware(Protocol):
    """An object that replaces its process-bound resources in a forked child."""

    def _after_fork(self) -> None: ...


_registered: weakref.WeakSet[Any] = weakref.WeakSet()
# The parent's connections, loops and futures, held (never finalized) in a child.
_kept: list[object] = []


def register(obj: ForkAware) -> None:
    """Call ``obj._after_fork()`` in every child forked while ``obj`` is alive."""
    _registered.add(obj)


def keep_from_parent(obj: object) -> None:
    """Keep ``obj`` (a resource of the parent) alive and unfinalized in this child."""
    _kept.append(obj)


def _in_child() -> None:
    for obj in list(_registered):
        try:
            obj._after_fork()
        except Exception as exc:  # an at-fork hook must not raise; report and go on
            print(
                f"cachesim: could not reset {type(obj).__name__} after fork: {type(exc).__name__}",
                file=sys.stderr,
            )


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_in_child)
