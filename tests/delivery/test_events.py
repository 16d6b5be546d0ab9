"""Signed events to the app: delivered at least once from a Redis Stream, retried with
backoff, dead-lettered and replayed, never sent where they must not go."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from litestar import Litestar, Request, Response, post
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from app.asgi import create_app
from app.delivery.destinations import check_destination
from app.delivery.events import DEAD, STREAM, EventBus, EventDispatcher, EventTarget
from app.signatures import verify_signature
from app.store.embedded import free_port
from app.store.redis import Scripts
from tests.conftest import AUTH, SettingsFactory, latest_code
from tests.stubs.loopback import serve

pytestmark = pytest.mark.topologies

TO = "+8613800138000"
SECRET = "whsec_events_test_secret_0123"


class Receiver:
    """The app's event endpoint on loopback: records what arrives, fails when told."""

    def __init__(self) -> None:
        self.failures_left = 0
        self.received: list[tuple[dict[str, str], bytes]] = []

        @post("/events", status_code=200)
        async def events(request: Request[Any, Any, Any]) -> Response[str]:
            body = await request.body()
            if self.failures_left > 0:
                self.failures_left -= 1
                return Response("down", status_code=503)
            self.received.append((dict(request.headers), body))
            return Response("ok")

        self.app = Litestar([events])

    async def wait_for(self, count: int, within: float = 5.0) -> None:
        deadline = asyncio.get_running_loop().time() + within
        while len(self.received) < count:
            assert asyncio.get_running_loop().time() < deadline, "the event never arrived"
            await asyncio.sleep(0.05)


def app_settings(url: str, **extra: Any) -> dict[str, Any]:
    return {
        "apps": {"default": {"events_url": f"{url}/events", "events_secret": SECRET,
                             "events_allow_private": True}},
        "events_backoff": 0.05,
        **extra,
    }  # fmt: skip


async def approve(client: Any) -> str:
    sent = await client.post("/v1/verifications", json={"to": TO}, headers=AUTH)
    code = await latest_code(client, TO)
    checked = await client.post(
        "/v1/verifications/check", json={"to": TO, "code": code}, headers=AUTH
    )
    assert checked.json()["status"] == "approved"
    return str(sent.json()["id"])


async def test_approval_event_arrives_signed_and_verifiable(
    make_settings: SettingsFactory, redis: Redis
) -> None:
    receiver = Receiver()
    with serve(receiver.app) as url:
        async with AsyncTestClient(create_app(make_settings(**app_settings(url)))) as client:
            verification_id = await approve(client)
            await receiver.wait_for(1)
    headers, body = receiver.received[0]
    # the README's verification snippet
    assert verify_signature(SECRET, headers["otpgate-signature"], body, datetime.now(UTC))
    assert not verify_signature("another-secret", headers["otpgate-signature"], body,
                                datetime.now(UTC))  # fmt: skip
    event = json.loads(body)
    assert event["type"] == "verification.approved" and event["app"] == "default"
    assert event["data"] == {
        "verification_id": verification_id, "status": "approved", "channel": "sms",
    }  # fmt: skip
    assert headers["otpgate-event-id"] == event["id"]


async def test_a_failing_receiver_gets_the_event_after_retries(
    make_settings: SettingsFactory, redis: Redis
) -> None:
    receiver = Receiver()
    receiver.failures_left = 2
    with serve(receiver.app) as url:
        async with AsyncTestClient(create_app(make_settings(**app_settings(url)))) as client:
            canceled = await client.post("/v1/verifications", json={"to": TO}, headers=AUTH)
            await client.post(f"/v1/verifications/{canceled.json()['id']}/cancel", headers=AUTH)
            await receiver.wait_for(1)
    assert receiver.failures_left == 0
    assert [json.loads(body)["type"] for _, body in receiver.received] == ["verification.canceled"]


async def test_dead_letter_after_the_last_attempt_and_replay(
    make_settings: SettingsFactory, redis: Redis
) -> None:
    receiver = Receiver()
    receiver.failures_left = 1000
    with serve(receiver.app) as url:
        settings = make_settings(**app_settings(url, events_max_attempts=3))
        async with AsyncTestClient(create_app(settings)) as client:
            await approve(client)
            deadline = asyncio.get_running_loop().time() + 5
            while not (
                dead := (await client.get("/v1/events/dead", headers=AUTH)).json()["events"]
            ):
                assert asyncio.get_running_loop().time() < deadline
                await asyncio.sleep(0.05)
            assert dead[0]["attempt"] == 3 and dead[0]["last_error"] == "http_503"
            receiver.failures_left = 0
            replayed = await client.post(f"/v1/events/{dead[0]['id']}/replay", headers=AUTH)
            assert replayed.status_code == 202
            await receiver.wait_for(1)
            assert (await client.get("/v1/events/dead", headers=AUTH)).json()["events"] == []
            missing = await client.post(f"/v1/events/{dead[0]['id']}/replay", headers=AUTH)
            assert missing.json()["code"] == "event_not_found"


async def test_an_event_a_crashed_worker_took_is_delivered_by_another(redis: Redis) -> None:
    receiver = Receiver()
    with serve(receiver.app) as url:
        targets = {"default": EventTarget(f"{url}/events", SECRET, allow_private=True)}
        bus = EventBus(redis, targets)
        batch = Scripts(redis).batch()
        bus.queue(batch, "default", "verification.approved", {"verification_id": "ver_x"})
        await batch.run()
        await redis.xgroup_create(STREAM, "dispatchers", id="0", mkstream=True)
        # a worker reads the event and dies before delivering or acknowledging it
        taken = await redis.xreadgroup("dispatchers", "crashed-worker", {STREAM: ">"}, count=1)
        assert taken and len(taken[0][1]) == 1
        async with httpx.AsyncClient() as http:
            survivor = EventDispatcher(
                redis, Scripts(redis), http, targets, max_attempts=5, backoff=0.05,
                claim_after=1.0, allow_http=True,
            )  # fmt: skip
            assert await survivor.step() == 0  # not idle long enough to be claimed yet
            await asyncio.sleep(1.05)
            assert await survivor.step() == 1
        assert len(receiver.received) == 1
        pending = await redis.xpending(STREAM, "dispatchers")
        assert pending["pending"] == 0


@pytest.mark.parametrize(
    ("url", "allow_private", "allow_http", "reason"),
    [
        ("http://203.0.113.10/hook", False, False, "https"),
        ("https://127.0.0.1/hook", False, False, "non-public"),
        ("https://localhost/hook", False, False, "non-public"),
        ("https://10.1.2.3/hook", False, False, "non-public"),
        ("https://169.254.169.254/latest/meta-data", False, False, "non-public"),
        ("https://[::1]/hook", False, False, "non-public"),
        ("https://[fd00::1]/hook", False, False, "non-public"),
        ("ftp://example.com/", False, True, "https"),
    ],
)
def test_unsafe_event_destinations_are_refused(
    url: str, allow_private: bool, allow_http: bool, reason: str
) -> None:
    with pytest.raises(ValueError, match=reason):
        check_destination(url, allow_private=allow_private, allow_http=allow_http)


def test_public_and_allowed_private_destinations_pass() -> None:
    check_destination("https://93.184.216.34/hook", allow_private=False, allow_http=False)
    check_destination("http://127.0.0.1:9/hook", allow_private=True, allow_http=True)


async def test_a_refused_destination_is_dead_lettered_at_once(
    make_settings: SettingsFactory, redis: Redis
) -> None:
    settings = make_settings(
        apps={"default": {"events_url": "http://127.0.0.1:9/events", "events_secret": SECRET}},
        events_backoff=0.05,
    )
    async with AsyncTestClient(create_app(settings)) as client:
        await approve(client)
        deadline = asyncio.get_running_loop().time() + 5
        while not (dead := (await client.get("/v1/events/dead", headers=AUTH)).json()["events"]):
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.05)
    assert dead[0]["attempt"] == 1
    assert re.match(r"refused: .*non-public", dead[0]["last_error"])


async def test_a_worker_killed_mid_delivery_loses_no_event(
    redis: Redis, redis_url: str, tmp_path: Any
) -> None:
    """SIGKILL the service while it is delivering; the next one delivers the event."""
    hanging = threading.Event()  # set in the stub server's thread
    receiver = Receiver()

    @post("/slow", status_code=200)
    async def slow(request: Request[Any, Any, Any]) -> Response[str]:
        body = await request.body()
        if not hanging.is_set():
            hanging.set()
            await asyncio.sleep(5)  # the worker is mid-delivery when it is killed
        receiver.received.append((dict(request.headers), body))
        return Response("ok")

    key = "otpg_test_" + "e" * 32
    with serve(Litestar([slow])) as url:
        config = tmp_path / "otpgate.toml"
        config.write_text(
            f'events_claim_after = 0.5\n[apps.default]\nevents_url = "{url}/slow"\n'
            f'events_secret = "{SECRET}"\nevents_allow_private = true\n'
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTPGATE_")}
        env.update(OTPGATE_REDIS_URL=redis_url, OTPGATE_CONFIG=str(config), OTPGATE_ENV="dev",
                   OTPGATE_BOOTSTRAP_API_KEY=key, OTPGATE_ARGON2_MEMORY_COST="256",
                   OTPGATE_ARGON2_TIME_COST="1")  # fmt: skip

        def start() -> tuple[subprocess.Popen[bytes], str]:
            port = free_port()
            process = subprocess.Popen(
                [sys.executable, "-m", "app", "serve", "--port", str(port)],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            return process, f"http://127.0.0.1:{port}"

        async def ready(base: str) -> None:
            # A worker's start (imports, app, lifespan) takes seconds on a busy machine.
            deadline = asyncio.get_running_loop().time() + 60
            async with httpx.AsyncClient(base_url=base) as http:
                while asyncio.get_running_loop().time() < deadline:
                    with contextlib.suppress(httpx.TransportError):
                        if (await http.get("/healthz")).status_code == 200:
                            return
                    await asyncio.sleep(0.05)
            raise AssertionError("the service did not start")

        first, base = start()
        second = None
        try:
            await ready(base)
            async with httpx.AsyncClient(
                base_url=base, headers={"Authorization": f"Bearer {key}"}
            ) as http:
                sent = await http.post("/v1/verifications", json={"to": TO})
                code = await latest_code(http, TO)
                await http.post(
                    "/v1/verifications/check", json={"id": sent.json()["id"], "code": code}
                )
            for _ in range(200):
                if hanging.is_set():
                    break
                await asyncio.sleep(0.05)
            assert hanging.is_set(), "the event was never attempted"
            first.send_signal(signal.SIGKILL)
            first.wait(10)
            assert receiver.received == []

            second, base = start()
            await ready(base)
            await receiver.wait_for(1, within=10)
        finally:
            for process in (first, second):
                if process is not None and process.poll() is None:
                    process.kill()
                    process.wait(10)
    event = json.loads(receiver.received[0][1])
    assert event["type"] == "verification.approved"
    assert event["data"]["verification_id"] == sent.json()["id"]


async def test_the_dispatcher_waits_out_a_redis_outage(tmp_path: Any) -> None:
    from app.store.embedded import EmbeddedRedis
    from app.store.redis import connect

    server = EmbeddedRedis(tmp_path, persistent=True).start()
    receiver = Receiver()
    try:
        client = connect(server.url, timeout=0.5)
        with serve(receiver.app) as url:
            targets = {"default": EventTarget(f"{url}/events", SECRET, allow_private=True)}
            async with httpx.AsyncClient() as http:
                dispatcher = EventDispatcher(
                    client, Scripts(client), http, targets, max_attempts=5, backoff=0.05,
                    claim_after=30, allow_http=True,
                )  # fmt: skip
                server.stop()
                running = asyncio.create_task(dispatcher.run())
                await asyncio.sleep(0.3)
                assert not running.done()  # Redis is down: it waits instead of dying
                server.start()
                batch = Scripts(client).batch()
                EventBus(client, targets).queue(batch, "default", "verification.canceled", {})
                await batch.run()
                await receiver.wait_for(1, within=10)
                dispatcher.stop()
                await asyncio.wait_for(running, timeout=5)
        await client.aclose()
    finally:
        server.stop()


class RebindingResolver:
    """A DNS a test controls: a public-looking answer first, then a rebound one."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        return [self.answers[min(len(self.asked), len(self.answers)) - 1]]


async def _deliver_one(redis: Redis, url: str, resolver: RebindingResolver) -> EventDispatcher:
    import ipaddress

    targets = {"default": EventTarget(url, SECRET)}  # no allow_private: the check applies
    batch = Scripts(redis).batch()
    EventBus(redis, targets).queue(
        batch, "default", "verification.approved", {"verification_id": "v"}
    )
    await batch.run()
    await redis.xgroup_create(STREAM, "dispatchers", id="0", mkstream=True)
    # Only 127.0.0.1 counts as "public" here; the rebound 127.0.0.2 is the private address.
    only_first = ipaddress.ip_address("127.0.0.1")
    async with httpx.AsyncClient() as http:
        dispatcher = EventDispatcher(
            redis, Scripts(redis), http, targets, max_attempts=1, backoff=0.05, claim_after=30,
            allow_http=True, resolver=resolver, allowed=lambda address: address == only_first,
        )  # fmt: skip
        assert await dispatcher.step() == 1
    return dispatcher


async def test_the_event_goes_to_the_address_that_was_checked_not_a_rebound_one(
    redis: Redis,
) -> None:
    receiver = Receiver()
    with serve(receiver.app) as url:  # listens on 127.0.0.1 only
        port = url.rsplit(":", 1)[1]
        resolver = RebindingResolver("127.0.0.1", "127.0.0.2")
        await _deliver_one(redis, f"http://events.example:{port}/events", resolver)
    assert resolver.asked == ["events.example"]  # resolved once, for the check
    assert len(receiver.received) == 1
    headers, _ = receiver.received[0]
    assert headers["host"] == f"events.example:{port}"
    assert await redis.xlen(DEAD) == 0


async def test_a_name_that_resolves_to_a_refused_address_is_dead_lettered(redis: Redis) -> None:
    receiver = Receiver()
    with serve(receiver.app) as url:
        port = url.rsplit(":", 1)[1]
        resolver = RebindingResolver("127.0.0.2", "127.0.0.1")
        await _deliver_one(redis, f"http://events.example:{port}/events", resolver)
    assert receiver.received == []
    [(_, fields)] = await redis.xrange(DEAD)
    assert "non-public address (127.0.0.2)" in json.loads(fields["event"])["last_error"]


def test_an_https_destination_keeps_its_name_for_tls_and_the_host_header() -> None:
    checked = check_destination(
        "https://user@hooks.example:8443/e?x=1", allow_private=False, allow_http=False,
        resolver=lambda host, port: ["93.184.216.34", "10.0.0.1"][:1],
    )  # fmt: skip
    assert checked.url == "https://93.184.216.34:8443/e?x=1"
    assert checked.host == "hooks.example:8443"
    assert checked.server_name == "hooks.example"
    v6 = check_destination(
        "https://hooks.example/e", allow_private=False, allow_http=False,
        resolver=lambda host, port: ["2606:2800:220:1:248:1893:25c8:1946"],
    )  # fmt: skip
    assert v6.url == "https://[2606:2800:220:1:248:1893:25c8:1946]/e"


def test_one_refused_address_among_several_refuses_the_name() -> None:
    with pytest.raises(ValueError, match=r"non-public address \(10\.0\.0\.1\)"):
        check_destination(
            "https://hooks.example/e", allow_private=False, allow_http=False,
            resolver=lambda host, port: ["93.184.216.34", "10.0.0.1"],
        )  # fmt: skip
