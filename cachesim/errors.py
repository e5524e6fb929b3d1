"""Exceptions raised by cachesim.

Programmer errors (a bad key, a bad TTL, a value that cannot be stored, a bad
configuration) raise at once.  Backend failures never reach the caller of
:class:`cachesim.Cache`; providers raise :class:`ProviderError` (or whatever their
client raises) and the cache turns it into a miss or a dropped write.
"""

from __future__ import annotations

__all__ = [
    "CacheError",
    "ConfigurationError",
    "FactoryTimeoutError",
    "InvalidKeyError",
    "InvalidTTLError",
    "ProviderError",
    "UnstorableValueError",
]


class CacheError(Exception):
    """Base class of every error cachesim raises on purpose."""


class ConfigurationError(CacheError, ValueError):
    """The configuration (environment variables, settings, provider spec) is invalid."""


class InvalidKeyError(CacheError, ValueError):
    """A key is not a non-empty string within the portable length limit."""


class InvalidTTLError(CacheError, ValueError):
    """A TTL is not a positive number of seconds (or NO_EXPIRY)."""


class UnstorableValueError(CacheError, ValueError):
    """A value cannot be stored: not JSON-representable, or too large for the provider."""


class ProviderError(CacheError):
    """A provider could not complete an operation (connection, protocol, server error)."""


class FactoryTimeoutError(CacheError, TimeoutError):
    """A ``get_or_set`` factory outran ``hard_timeout`` and there was no stale value to serve.

    The factory keeps running in the background and its value is stored when it arrives.
    """
