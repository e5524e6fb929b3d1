"""Gateways for the tests in this directory: one on fakeredis, one on a real redis-server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import fakeredis
import pytest

from cachesim.gateway.server import Gateway, run_gateway


@pytest.fixture(scope="module")
def fake_server() -> fakeredis.FakeServer:
    """The fakeredis server behind ``fake_gateway`` (for direct access in tests)."""
    return fakeredis.FakeServer()


@pytest.fixture(scope="module")
def fake_gateway(fake_server: fakeredis.FakeServer) -> Iterator[Gateway]:
    """A gateway on an in-process fakeredis server."""
    with run_gateway("fakeredis", fake_server=fake_server) as gw:
        yield gw


@pytest.fixture(scope="module")
def real_gateway(redis_url: str) -> Iterator[Gateway]:
    """A gateway on the session's throwaway redis-server (database 0)."""
    with run_gateway(redis_url) as gw:
        yield gw


@pytest.fixture(params=["fakeredis", "redis"])
def gateway(request: pytest.FixtureRequest) -> Iterator[Gateway]:
    """Each backend in turn; faults are cleared before and after the test."""
    gw: Gateway = request.getfixturevalue(
        "fake_gateway" if request.param == "fakeredis" else "real_gateway"
    )
    gw.faults.clear()
    yield gw
    gw.faults.clear()


@pytest.fixture
def prefix() -> str:
    """A key prefix unique to this test (backends are shared within a module)."""
    return f"t{uuid.uuid4().hex[:8]}:"
