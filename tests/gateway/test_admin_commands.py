"""The gateway runs what a database user may run on Upstash, and refuses server administration.

Over real HTTP, against a redis-server of this module's own (a refused command that
slipped through would reconfigure it) and against fakeredis.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest
import redis

from cachesim.gateway.protocol import refusal
from cachesim.gateway.redis_server import RedisServerNotFound, redis_server
from cachesim.gateway.server import Gateway, run_gateway

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

ADMIN: list[list[str]] = [
    ["REPLICAOF", "127.0.0.1", "1"],
    ["SLAVEOF", "127.0.0.1", "1"],
    ["REPLICAOF", "NO", "ONE"],
    ["MIGRATE", "127.0.0.1", "1", "k", "0", "1000"],
    ["ACL", "SETUSER", "intruder", "on", ">pw", "+@all", "~*"],
    ["ACL", "LIST"],
    ["CONFIG", "SET", "maxmemory", "1mb"],
    ["CONFIG", "GET", "requirepass"],
    ["CONFIG", "REWRITE"],
    ["SAVE"],
    ["BGSAVE"],
    ["BGREWRITEAOF"],
    ["SHUTDOWN", "NOSAVE"],
    ["DEBUG", "SLEEP", "0"],
    ["MODULE", "LIST"],
    ["SCRIPT", "FLUSH"],
    ["SCRIPT", "KILL"],
    ["FUNCTION", "FLUSH"],
    ["FUNCTION", "KILL"],
    ["CLIENT", "KILL", "TYPE", "normal"],
    ["CLIENT", "LIST"],
    ["MONITOR"],
    ["SYNC"],
    ["PSYNC", "?", "-1"],
    ["FAILOVER"],
    ["CLUSTER", "INFO"],
    ["SWAPDB", "0", "1"],
    ["MOVE", "k", "1"],
    ["COPY", "a", "b", "DB", "1"],
    ["INFO"],
    ["SLOWLOG", "GET"],
    ["LATENCY", "RESET"],
    ["MEMORY", "PURGE"],
    ["LASTSAVE"],
    ["ROLE"],
    ["PFDEBUG", "GETREG", "h"],
]

ALLOWED: list[list[str]] = [
    ["FLUSHDB"],
    ["SET", "{p}k", "v"],
    ["KEYS", "{p}*"],
    ["SCAN", "0", "MATCH", "{p}*"],
    ["DBSIZE"],
    ["TIME"],
    ["PING"],
    ["ECHO", "x"],
    ["EVAL", "return 1", "0"],
    ["SCRIPT", "LOAD", "return 1"],
    ["SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"],
    ["COPY", "{p}a", "{p}b"],
    ["OBJECT", "ENCODING", "{p}k"],
    ["MEMORY", "USAGE", "{p}k"],
    ["PUBLISH", "ch", "hello"],
    ["CLIENT", "SETNAME", "me"],
    ["COMMAND", "COUNT"],
    ["HSET", "{p}h", "f", "1"],
    ["XADD", "{p}s", "*", "f", "1"],
    ["PFADD", "{p}hll", "a"],
]


def _name(command: list[str]) -> str:
    return " ".join(command[:2])


@pytest.mark.parametrize("command", ADMIN, ids=_name)
def test_refusal_names_the_command_and_the_reason(command: list[str]) -> None:
    message = refusal([part.encode() for part in command])
    assert message is not None, f"{command[0]} administers the server: the gateway refuses it"
    assert message.startswith("ERR "), "refusals read like Redis errors"
    assert command[0].upper() in message


@pytest.mark.parametrize("command", ALLOWED, ids=_name)
def test_database_commands_are_allowed(command: list[str]) -> None:
    args = [part.replace("{p}", "t:").encode() for part in command]
    assert refusal(args) is None, f"{command[0]} is a database user's command (Upstash runs it)"


def test_unknown_commands_are_refused_by_name() -> None:
    message = refusal([b"NoSuchCommand", b"x"])
    assert message == "ERR unknown command 'NoSuchCommand', with args beginning with: 'x' ", (
        "a command outside the allow-list that the gateway does not know reads as Redis says it"
    )


@pytest.fixture(scope="module")
def own_server() -> Iterator[str]:
    """A redis-server only this module uses (a slipped REPLICAOF must not hurt others)."""
    try:
        with redis_server() as server:
            yield server.url
    except RedisServerNotFound as exc:
        if IN_CI:
            pytest.fail(f"CI=true but no redis-server is available: {exc}")
        pytest.skip(str(exc))


@pytest.fixture(scope="module", params=["redis", "fakeredis"])
def admin_gateway(request: pytest.FixtureRequest) -> Iterator[Gateway]:
    backend = request.getfixturevalue("own_server") if request.param == "redis" else "fakeredis"
    with run_gateway(backend) as gw:
        yield gw


def _post(gw: Gateway, path: str, body: object) -> httpx.Response:
    with httpx.Client(trust_env=False, timeout=10) as http:
        return http.post(gw.url + path, json=body, headers={"Authorization": f"Bearer {gw.token}"})


@pytest.mark.parametrize("command", ADMIN, ids=_name)
def test_admin_commands_are_400_over_http(admin_gateway: Gateway, command: list[str]) -> None:
    response = _post(admin_gateway, "/", command)
    assert response.status_code == 400, f"{command} must be refused, got {response.text}"
    error = response.json()["error"]
    assert error.startswith("ERR ") and command[0].upper() in error


def test_refused_commands_never_reach_the_server(own_server: str) -> None:
    direct = redis.Redis.from_url(own_server)
    try:
        before = direct.config_get("maxmemory")["maxmemory"]
        with run_gateway(own_server) as gw:
            for command in ADMIN:
                _post(gw, "/", command)
            pipeline = _post(gw, "/pipeline", [["REPLICAOF", "127.0.0.1", "1"], ["PING"]])
            transaction = _post(
                gw, "/multi-exec", [["PING"], ["CONFIG", "SET", "maxmemory", "2mb"]]
            )
        assert direct.role()[0] == b"master", "REPLICAOF through the gateway must not run"
        assert direct.config_get("maxmemory")["maxmemory"] == before, "CONFIG SET must not run"
        assert b"intruder" not in direct.acl_users(), "ACL SETUSER must not run"
        assert direct.ping()
        assert pipeline.status_code == 200
        slots = pipeline.json()
        assert "error" in slots[0] and "REPLICAOF" in slots[0]["error"]
        assert slots[1] == {"result": "PONG"}, "the rest of a pipeline still runs"
        assert transaction.status_code == 400 and "CONFIG" in transaction.json()["error"]
    finally:
        direct.close()


@pytest.mark.parametrize("command", ALLOWED, ids=_name)
def test_database_commands_run_over_http(admin_gateway: Gateway, command: list[str]) -> None:
    args = [part.replace("{p}", "adm:") for part in command]
    _post(admin_gateway, "/", ["SET", "adm:k", "v"])
    response = _post(admin_gateway, "/", args)
    if admin_gateway.backend == "fakeredis" and response.status_code == 400:
        # fakeredis lacks a few commands: its own error, never the gateway's refusal
        assert "not allowed" not in response.json()["error"], response.text
        return
    assert response.status_code == 200, f"{command} runs through the gateway: {response.text}"


def test_flushall_flushes_only_the_gateways_database(own_server: str) -> None:
    other_db = own_server.rsplit("/", 1)[0] + "/3"
    direct = redis.Redis.from_url(other_db)
    try:
        direct.set("elsewhere", "1")
        with run_gateway(own_server) as gw:
            assert _post(gw, "/", ["SET", "mine", "1"]).json() == {"result": "OK"}
            assert _post(gw, "/", ["FLUSHALL"]).json() == {"result": "OK"}
            assert _post(gw, "/", ["GET", "mine"]).json() == {"result": None}
        assert direct.get("elsewhere") == b"1", "FLUSHALL through the gateway is FLUSHDB"
    finally:
        direct.delete("elsewhere")
        direct.close()
