"""Several otpgate instances on one Redis Cluster or Sentinel set: they share every limit,
block, circuit and approval, and a killed primary costs 503s, never a 500, and (with
``redis_wait_replicas``) never a change a client was told about."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from app.providers.circuit import CircuitBreaker, CircuitSettings
from app.settings import Settings
from app.store.redis import UNAVAILABLE, Scripts, connect
from app.store.topologies import LocalCluster, LocalSentinel
from tests.conftest import (
    AUTH,
    NO_LIMITS,
    ClientFactory,
    SettingsFactory,
    _live_client,
    latest_code,
)
from tests.stubs.http_gateway import PATH, SECRET, HttpGatewayStub
from tests.stubs.loopback import serve

TO = "+8613800138000"
Topology = LocalCluster | LocalSentinel
#: Many fresh numbers in a few prefixes and one country: the pumping guards stay quiet.
QUIET = {"prefix_max_numbers": 100_000, "conversion_min_sends": 100_000}


@pytest.fixture(params=["cluster", "sentinel"])
def topology_of(request: pytest.FixtureRequest) -> Topology:
    """Each test on a whole, empty Cluster and on a whole, empty Sentinel set."""
    topology: Topology = request.getfixturevalue(f"empty_{request.param}")
    return topology


@contextlib.asynccontextmanager
async def instances(settings: Settings, count: int) -> AsyncIterator[list[httpx.AsyncClient]]:
    """``count`` otpgate servers on loopback with the same settings, a client for each."""
    async with contextlib.AsyncExitStack() as stack:
        yield [await stack.enter_async_context(_live_client(settings)) for _ in range(count)]


async def send(client: httpx.AsyncClient, to: str = TO) -> httpx.Response:
    return await client.post("/v1/verifications", json={"to": to}, headers=AUTH)


async def check(client: httpx.AsyncClient, verification_id: str, code: str) -> httpx.Response:
    body = {"id": verification_id, "code": code}
    return await client.post("/v1/verifications/check", json=body, headers=AUTH)


async def test_twenty_right_checks_over_two_instances_approve_once(
    topology_of: Topology, make_settings: SettingsFactory
) -> None:
    settings = make_settings(redis_url=topology_of.url, max_attempts=20)
    async with instances(settings, 2) as (a, b):
        sent = (await send(a)).json()
        code = await latest_code(b, TO)  # the dev outbox is in Redis too
        results = await asyncio.gather(*(check((a, b)[n % 2], sent["id"], code) for n in range(20)))
        approved = [r for r in results if r.status_code == 200 and r.json()["valid"]]
        assert len(approved) == 1
        assert {r.status_code for r in results if r not in approved} == {404}
        shown = await a.get(f"/v1/verifications/{sent['id']}", headers=AUTH)
        assert shown.json()["status"] == "approved"


async def test_instances_share_limits_and_blocks(
    topology_of: Topology, make_settings: SettingsFactory
) -> None:
    settings = make_settings(
        redis_url=topology_of.url,
        limits={**NO_LIMITS, "send_per_number": ["3/hour"]},
        abuse={"prefix_max_numbers": 4, "prefix_digits": 3},
    )
    async with instances(settings, 2) as (a, b):
        assert [(await send(c)).status_code for c in (a, b, a)] == [201, 201, 201]
        refused = await send(b)
        assert (refused.status_code, refused.json()["code"]) == (429, "rate_limited")

        # three more numbers under TO's prefix make four; the fifth is pumping
        others = [f"{TO[:-3]}{n:03d}" for n in range(1, 5)]
        assert [(await send((a, b)[n % 2], to)).status_code for n, to in enumerate(others)] == [
            201,
            201,
            201,
            403,
        ]
        blocks = (await a.get("/v1/blocks", headers=AUTH)).json()["blocks"]
        assert [b["subject"] for b in blocks] == [TO[:-3]]
        assert (await send(a, others[3])).json()["code"] == "suspected_fraud"
        lifted = await b.delete(f"/v1/blocks/{blocks[0]['id']}", headers=AUTH)
        assert lifted.status_code == 200
        assert (await send(a, others[3])).status_code == 201


async def test_instances_share_circuits(topology_of: Topology) -> None:
    first, second = (connect(topology_of.url, timeout=5.0) for _ in range(2))
    try:
        rules = CircuitSettings(failures=3)
        a = CircuitBreaker(first, Scripts(first), rules)
        b = CircuitBreaker(second, Scripts(second), rules)
        for _ in range(2):
            await a.record("twilio", ok=False, latency_ms=5)
        assert await b.record("twilio", ok=False, latency_ms=5) == "open"
        assert not await a.allow("twilio")
        assert await b.allow("vonage")
    finally:
        await first.aclose()
        await second.aclose()


@pytest.fixture
def gateway() -> Iterator[tuple[HttpGatewayStub, str]]:
    """A provider apart from Redis (the dev outbox is in Redis: a dead node fails it)."""
    stub = HttpGatewayStub()
    with serve(stub.app) as base:
        yield stub, base + PATH


class Load:
    """Users that run send -> code from the gateway -> check flows against the instances
    until stopped, and what the service answered and acknowledged."""

    def __init__(self, clients: list[httpx.AsyncClient], stub: HttpGatewayStub) -> None:
        self.clients = clients
        self.stub = stub
        self.statuses: Counter[int] = Counter()
        self.accepted: set[str] = set()
        self.approved: set[str] = set()
        self.stopping = asyncio.Event()

    async def user(self, index: int) -> None:
        client = self.clients[index % len(self.clients)]
        flow = 0
        while not self.stopping.is_set():
            flow += 1
            await self.flow(client, f"+86138{index:02d}{flow:06d}")

    async def flow(self, client: httpx.AsyncClient, to: str) -> None:
        sent = await send(client, to)
        self.statuses[sent.status_code] += 1
        if sent.status_code != 201:
            await asyncio.sleep(0.05)
            return
        self.accepted.add(sent.json()["id"])
        texts = [r.body["text"] for r in self.stub.received if r.body["to"] == to]
        code = re.search(r"\d{6}", texts[-1])
        assert code is not None
        checked = await check(client, sent.json()["id"], code.group())
        self.statuses[checked.status_code] += 1
        if checked.status_code == 200 and checked.json()["valid"]:
            self.approved.add(sent.json()["id"])


def _kill_primary(topology: Topology) -> None:
    if isinstance(topology, LocalCluster):
        topology.kill_master(0)
    else:
        topology.kill_primary()


async def _recovered(
    client: httpx.AsyncClient, stub: HttpGatewayStub, prefix: str, within: float = 20.0
) -> None:
    """A whole flow (a fresh number each try) succeeds on ``client`` within ``within`` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    probe = Load([client], stub)
    for attempt in range(10_000):
        await probe.flow(client, f"{prefix}{attempt:04d}")
        if probe.approved:
            return
        assert loop.time() < deadline, f"not recovered: {dict(probe.statuses)}"
        await asyncio.sleep(0.2)


@pytest.mark.parametrize("wait_replicas", [0, 1])
async def test_a_primary_killed_mid_load_costs_503s_and_nothing_acknowledged(
    topology_of: Topology,
    make_settings: SettingsFactory,
    gateway: tuple[HttpGatewayStub, str],
    wait_replicas: int,
) -> None:
    stub, url = gateway
    settings = make_settings(
        redis_url=topology_of.url,
        redis_timeout=1.0,
        redis_wait_replicas=wait_replicas,
        abuse=QUIET,
        providers={"gateway": {"type": "http", "url": url, "secret": SECRET}},
        routes={"default": ["gateway"]},
    )
    async with instances(settings, 2) as clients:
        load = Load(clients, stub)
        users = [asyncio.create_task(load.user(n)) for n in range(8)]
        await asyncio.sleep(1.5)
        before = len(load.approved)
        await asyncio.to_thread(_kill_primary, topology_of)
        await asyncio.to_thread(topology_of.wait_for_failover)
        if wait_replicas and isinstance(topology_of, LocalCluster):
            # The promoted master has no replica left to WAIT for until the killed node
            # is back (a supervisor restarts it); Sentinel's primary keeps one.
            await asyncio.to_thread(topology_of.heal)
        await asyncio.sleep(1.5)
        load.stopping.set()
        await asyncio.gather(*users)

        assert before > 0 and len(load.approved) > before  # real load, before and after
        assert set(load.statuses) <= {200, 201, 503}, load.statuses
        for n, client in enumerate(clients):  # each instance recovers by itself
            await _recovered(client, stub, f"+86139990{n}")
        if wait_replicas:
            shown = [
                (await clients[0].get(f"/v1/verifications/{vid}", headers=AUTH))
                for vid in sorted(load.accepted)
            ]
            assert {r.status_code for r in shown} == {200}  # no accepted send is lost
            approved = {r.json()["id"] for r in shown if r.json()["status"] == "approved"}
            assert load.approved <= approved  # no approval came back pending


async def test_fewer_replicas_than_asked_answer_503_and_say_so(
    topology_of: Topology, make_settings: SettingsFactory
) -> None:
    replicas = 1 if isinstance(topology_of, LocalCluster) else 2
    async with instances(
        make_settings(redis_url=topology_of.url, redis_wait_replicas=replicas), 1
    ) as (enough,):
        assert (await send(enough)).status_code == 201
    too_many = make_settings(redis_url=topology_of.url, redis_wait_replicas=replicas + 1)
    async with instances(too_many, 1) as (short,):
        refused = await send(short, "+8613800138111")
        assert refused.status_code == 503
        problem: dict[str, Any] = refused.json()
        assert problem["code"] == "store_unavailable"
        assert "replicas" in problem["detail"]
        assert refused.headers["retry-after"] == "1"


async def test_a_batch_finds_the_new_master_after_a_failover(empty_cluster: LocalCluster) -> None:
    client = connect(empty_cluster.url, timeout=1.0)
    scripts = Scripts(client)

    async def step(n: int) -> list[Any]:
        batch = scripts.batch()
        for part in range(6):  # keys on every master
            batch.command("SET", f"{{k{n}-{part}}}:x", "1")
        return await batch.run()

    try:
        await step(0)
        empty_cluster.kill_master(0)
        empty_cluster.wait_for_failover()
        outcomes = []
        for n in range(1, 6):
            try:
                outcomes.append(len(await step(n)))
            except UNAVAILABLE as exc:
                outcomes.append(type(exc).__name__)
        # the first batch meets the dead master's connection; it is the only one
        assert outcomes[1:] == [6, 6, 6, 6], outcomes
    finally:
        await client.aclose()


async def test_a_server_without_replicas_answers_503_and_sends_nothing(
    make_client: ClientFactory,
) -> None:
    async with make_client(redis_wait_replicas=1) as client:
        refused = await send(client)
        assert refused.status_code == 503
        assert "replicas" in refused.json()["detail"]
        outbox = await client.get("/dev/outbox", params={"to": TO, "format": "json"})
        assert outbox.json() == []  # WAIT follows the create, before any provider is called
