"""A web page cannot drive the gateway: cross-origin requests and foreign Host headers are refused.

The shapes a browser produces (an ``Origin`` header, ``Sec-Fetch-Site: cross-site``,
a ``text/plain`` body with ``?_token=``, and a rebound DNS name in ``Host``) are sent
over real HTTP; allowed origins and hosts come from options or the environment.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import fakeredis
import httpx
import pytest

from cachesim.gateway.app import ALLOWED_HOSTS_ENV, ALLOWED_ORIGINS_ENV
from cachesim.gateway.server import Gateway, GatewayProcess, run_gateway


@pytest.fixture(scope="module")
def server() -> fakeredis.FakeServer:
    return fakeredis.FakeServer()


@pytest.fixture(scope="module")
def gw(server: fakeredis.FakeServer) -> Iterator[Gateway]:
    with run_gateway("fakeredis", fake_server=server) as gateway:
        yield gateway


def _port(gateway: Gateway) -> int:
    return int(gateway.url.rsplit(":", 1)[1].split("/")[0])


def _post(
    gateway: Gateway, body: str, headers: dict[str, str], *, path: str = "/"
) -> httpx.Response:
    """A request as a web page would send it: token in the query, text/plain body."""
    with httpx.Client(trust_env=False, timeout=10) as http:
        return http.post(
            gateway.url + path,
            params={"_token": gateway.token},
            content=body,
            headers={"Content-Type": "text/plain", **headers},
        )


def _stored(server: fakeredis.FakeServer, key: str) -> bytes | None:
    value: bytes | None = fakeredis.FakeRedis(server=server).get(key)
    return value


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://localhost:3000"},  # another local app is another origin
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    ],
    ids=["foreign-origin", "null-origin", "other-local-origin", "cross-site", "both"],
)
@pytest.mark.parametrize("path", ["/", "/pipeline", "/multi-exec"])
def test_cross_origin_requests_are_refused_and_never_run(
    gw: Gateway, server: fakeredis.FakeServer, headers: dict[str, str], path: str
) -> None:
    key = f"xo:{uuid.uuid4().hex}"
    body = f'["SET","{key}","pwned"]' if path == "/" else f'[["SET","{key}","pwned"]]'
    response = _post(gw, body, headers, path=path)
    assert response.status_code == 403, f"a cross-origin request must be refused: {response.text}"
    assert response.json()["error"].startswith("ERR cross-origin request refused")
    assert "access-control-allow-origin" not in response.headers
    assert _stored(server, key) is None, "a refused request never reaches Redis"


def test_fault_admin_endpoint_is_guarded_too(gw: Gateway) -> None:
    with httpx.Client(trust_env=False, timeout=10) as http:
        response = http.put(
            gw.url + "/_cachesim/faults",
            params={"_token": gw.token},
            content='{"error": 1.0}',
            headers={"Origin": "https://evil.example"},
        )
    assert response.status_code == 403
    assert not gw.faults.plan.active, "a web page cannot switch faults on"


@pytest.mark.parametrize(
    "host", ["evil.example", "rebound.attacker.test:{port}", "127.0.0.1.nip.io:{port}"]
)
def test_foreign_host_headers_are_refused(
    gw: Gateway, server: fakeredis.FakeServer, host: str
) -> None:
    key = f"dns:{uuid.uuid4().hex}"
    response = _post(gw, f'["SET","{key}","pwned"]', {"Host": host.format(port=_port(gw))})
    assert response.status_code == 403, f"Host {host} is not this gateway: {response.text}"
    assert response.json()["error"].startswith("ERR unexpected Host header")
    assert _stored(server, key) is None


@pytest.mark.parametrize(
    "host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST", "[::1]:{port}"]
)
def test_loopback_hosts_and_same_origin_are_served(gw: Gateway, host: str) -> None:
    port = _port(gw)
    response = _post(gw, '["PING"]', {"Host": host.format(port=port)})
    assert response.status_code == 200, response.text
    same_origin = _post(gw, '["PING"]', {"Origin": gw.url, "Sec-Fetch-Site": "same-origin"})
    assert same_origin.status_code == 200, "the gateway's own origin is not cross-origin"


def test_server_side_clients_send_no_origin_and_are_served(gw: Gateway) -> None:
    client = gw.client()
    try:
        assert client.ping() == "PONG"
    finally:
        client.close()


def test_allowed_origins_and_hosts_from_options(server: fakeredis.FakeServer) -> None:
    with run_gateway(
        "fakeredis",
        fake_server=server,
        allowed_origins=["http://localhost:3000"],
        allowed_hosts=["gateway.internal"],
    ) as gateway:
        port = _port(gateway)
        allowed = _post(gateway, '["PING"]', {"Origin": "http://localhost:3000"})
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "http://localhost:3000"
        assert "Origin" in allowed.headers.get("vary", "")
        with httpx.Client(trust_env=False, timeout=10) as http:
            preflight = http.options(
                gateway.url + "/pipeline",
                headers={
                    "Origin": "http://localhost:3000",
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "authorization,upstash-encoding",
                },
            )
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == "http://localhost:3000"
        assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
        other = _post(gateway, '["PING"]', {"Origin": "https://evil.example"})
        assert other.status_code == 403, "only the listed origins are allowed"
        named = _post(gateway, '["PING"]', {"Host": f"gateway.internal:{port}"})
        assert named.status_code == 200, "a configured host name is served"
        loopback = _post(gateway, '["PING"]', {"Host": f"localhost:{port}"})
        assert loopback.status_code == 200, "loopback names stay allowed"
        foreign = _post(gateway, '["PING"]', {"Host": "evil.example"})
        assert foreign.status_code == 403


def test_allowed_origins_and_hosts_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOWED_ORIGINS_ENV, "http://localhost:5173, https://app.test")
    monkeypatch.setenv(ALLOWED_HOSTS_ENV, "cache.test")
    with GatewayProcess("fakeredis") as gateway:
        port = _port(gateway)
        assert _post(gateway, '["PING"]', {"Origin": "https://app.test"}).status_code == 200
        assert _post(gateway, '["PING"]', {"Origin": "http://localhost:5173"}).status_code == 200
        assert _post(gateway, '["PING"]', {"Origin": "https://evil.example"}).status_code == 403
        assert _post(gateway, '["PING"]', {"Host": f"cache.test:{port}"}).status_code == 200
        assert _post(gateway, '["PING"]', {"Host": "evil.example"}).status_code == 403


def test_any_host_with_a_star(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOWED_HOSTS_ENV, "*")
    with run_gateway("fakeredis") as gateway:
        assert _post(gateway, '["PING"]', {"Host": "anything.test"}).status_code == 200
        refused = _post(gateway, '["PING"]', {"Origin": "https://evil.example"})
        assert refused.status_code == 403, "allowing any host does not allow any origin"
