"""The provider contract suite: one suite every cache provider must pass.

Run it against any provider, from any directory::

    pytest --pyargs cachesim.contract --cache-provider SPEC [--contract-report out.json]
    cachesim contract SPEC

``SPEC`` is ``memory``, ``fakeredis``, ``redis`` (``REDIS_URL``), ``upstash``
(``UPSTASH_REDIS_REST_URL``/``_TOKEN``), ``memcached`` (``MEMCACHED_URL``), ``sqlite``
(``SQLITE_PATH``) or ``package.module:factory``. The rules are
numbered in ``CONTRACT.md`` (shipped beside this file); the tests live in
:mod:`cachesim.contract.suite` and cite the clauses they check.

This module stays light: it is imported by the pytest plugin in every pytest run.
"""

from __future__ import annotations

__all__ = ["SUITE_VERSION"]

#: Version of the suite and of CONTRACT.md (semver: new tests are a minor release).
SUITE_VERSION = "1.0.0"
