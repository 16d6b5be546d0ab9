"""An Idempotency-Key never sends twice, not even when the service dies mid-send.

The crash tests run ``otpgate serve`` as a real process on the suite's Redis, sending
through the ``http`` provider to a loopback gateway stub. They kill the service's process
group with SIGKILL at a chosen point, start it again on the same Redis and retry the key,
and count what reached the gateway.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from app.apps.keys import ApiKeyStore
from app.errors import OtpgateError
from app.store.embedded import free_port
from app.store.idempotency import IdempotencyEntries
from app.store.keys import Keys
from app.store.redis import Scripts
from app.store.verifications import VerificationStore
from app.verify.idempotency import Claim, IdempotencyStore, Sending, unsettled
from app.verify.models import VerificationView
from tests.conftest import API_KEY, AUTH, ClientFactory
from tests.stubs.http_gateway import PATH, SECRET, HttpGatewayStub
from tests.stubs.loopback import serve
from tests.stubs.redis_tap import RedisTap, redis_tap

pytestmark = pytest.mark.topologies

ROOT = Path(__file__).parent.parent
TO = "+8613800138000"
TO_QUICK = "+8613900139000"
TO_INVALID = "+8613700137000"
#: what the claim's lease was: the whole point is that a key outlives it once it sends
LEASE_MS = 30_000


def _config(path: Path, gateway_url: str) -> Path:
    """Routes to the gateway; a send waits for it (60 s) so the test decides when it dies.
    App ``quick`` has 1 s codes, to see a verification end within the test."""
    path.write_text(
        f"""
send_deadline = 60
send_attempt_timeout = 60
[limits]
send_per_number = []
send_per_ip = []
wrong_checks_per_number = []
checks_per_ip = []
[providers.gateway]
type = "http"
url = "{gateway_url}"
secret = "{SECRET}"
[routes]
default = ["gateway"]
[apps.quick]
code_ttl = 1
"""
    )
    return path


@dataclass
class Service:
    """One ``otpgate serve`` process (the leader of its own process group)."""

    process: asyncio.subprocess.Process
    base: str

    async def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        await self.process.wait()


Start = Callable[[str], Awaitable[Service]]


@pytest.fixture
def gateway() -> Iterator[tuple[HttpGatewayStub, str]]:
    stub = HttpGatewayStub()
    with serve(stub.app) as base:
        try:
            yield stub, base + PATH
        finally:
            if stub.hold is not None:
                stub.hold.set()  # let the held requests go, so the stub can stop


@pytest.fixture
async def services(
    tmp_path: Path, redis: Redis, gateway: tuple[HttpGatewayStub, str]
) -> AsyncIterator[Start]:
    """``await services(redis_url)`` starts ``otpgate serve`` and waits for /healthz."""
    config = _config(tmp_path / "otpgate.toml", gateway[1])
    started: list[Service] = []

    async def start(redis_url: str) -> Service:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTPGATE_")}
        env.update(
            OTPGATE_ENV="test",
            OTPGATE_CONFIG=str(config),
            OTPGATE_REDIS_URL=redis_url,
            OTPGATE_DATA_DIR=str(tmp_path),
            OTPGATE_BOOTSTRAP_API_KEY=API_KEY,
            OTPGATE_ARGON2_TIME_COST="1",
            OTPGATE_ARGON2_MEMORY_COST="256",
            OTPGATE_RESEND_COOLDOWN="0",
        )
        log = tmp_path / f"serve-{len(started)}.log"
        with log.open("w") as output:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "app", "serve", "--port", str(port),
                cwd=ROOT, env=env, stdout=output, stderr=output, start_new_session=True,
            )  # fmt: skip
        service = Service(process, f"http://127.0.0.1:{port}")
        started.append(service)
        async with httpx.AsyncClient(base_url=service.base, timeout=1) as client:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                assert process.returncode is None, log.read_text()
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        return service
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
        raise AssertionError(f"otpgate serve did not answer /healthz:\n{log.read_text()}")

    yield start
    for service in started:
        if service.process.returncode is None:
            await service.kill()


async def _until(condition: Callable[[], bool], within: float = 15) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


def _post(client: httpx.AsyncClient, to: str, key: str, auth: dict[str, str] = AUTH) -> Any:
    return client.post(
        "/v1/verifications", json={"to": to}, headers={**auth, "Idempotency-Key": key}
    )


async def test_a_key_whose_service_died_mid_send_never_sends_again(
    services: Start, gateway: tuple[HttpGatewayStub, str], redis: Redis, redis_url: str
) -> None:
    stub, _ = gateway
    stub.hold = threading.Event()  # the gateway takes each message and never answers
    quick_key, _ = await ApiKeyStore(redis).create("quick", ["verify"])
    quick = {"Authorization": f"Bearer {quick_key}"}

    first = await services(redis_url)
    async with httpx.AsyncClient(base_url=first.base, timeout=60) as client:
        attempts = [
            asyncio.create_task(_post(client, TO, "order-1")),
            asyncio.create_task(_post(client, TO_QUICK, "order-2", quick)),
        ]
        await _until(lambda: len(stub.received) == 2)
        await first.kill()  # while the gateway holds both answers
        outcomes = await asyncio.gather(*attempts, return_exceptions=True)
    assert all(isinstance(outcome, httpx.TransportError) for outcome in outcomes)
    # Past the send script a key is held for its whole TTL (24 h), not the 30 s lease.
    for app, key in (("default", "order-1"), ("quick", "order-2")):
        assert await redis.pttl(Keys.idempotency(app, key)) > 100 * LEASE_MS

    again = await services(redis_url)
    async with httpx.AsyncClient(base_url=again.base, timeout=10) as client:
        for _ in range(2):
            retried = await _post(client, TO, "order-1")
            assert retried.status_code == 409, retried.text
            problem = retried.json()
            assert problem["code"] == "idempotency_key_in_progress"
            assert "unknown" in problem["detail"]
            assert int(retried.headers["retry-after"]) >= 1
        verification_id = problem["verification_id"]
        shown = (await client.get(f"/v1/verifications/{verification_id}", headers=AUTH)).json()
        assert shown["status"] == "pending"
        assert [m["status"] for m in shown["messages"]] == ["queued"]  # never recorded

        assert len(stub.received) == 2

        # The quick app's verification expires (1 s codes): its key still sends nothing.
        deadline = time.monotonic() + 10
        while (retried := await _post(client, TO_QUICK, "order-2", quick)).status_code == 409:
            assert retried.json()["code"] == "idempotency_key_in_progress"
            assert time.monotonic() < deadline, "the verification did not expire"
            await asyncio.sleep(0.1)
        assert retried.status_code == 410, retried.text
        assert retried.json()["code"] == "verification_expired"

        # A canceled verification: its key still sends nothing, and says why.
        canceled = await client.post(f"/v1/verifications/{verification_id}/cancel", headers=AUTH)
        assert canceled.status_code == 200
        retried = await _post(client, TO, "order-1")
        assert retried.status_code == 409
        assert retried.json()["code"] == "verification_not_pending"
        assert retried.json()["verification_status"] == "canceled"

    assert sorted(request.body["to"] for request in stub.received) == [TO, TO_QUICK]


def _completes_an_idempotency_key(chunk: bytes) -> bool:
    """``SET <otp:idem:…> <entry> PX <ttl>``: the write that completes (or fails) a key.
    (The claim is ``SET … PX … NX``, six parts; the move to "sending" is a script.)"""
    return chunk.startswith(b"*5\r\n$3\r\nSET\r\n") and b"otp:idem:" in chunk[:64]


async def test_a_key_whose_service_died_after_recording_the_send_replays_it(
    services: Start,
    gateway: tuple[HttpGatewayStub, str],
    redis: Redis,
    redis_url: str,
    topology: str,
) -> None:
    if topology != "single":  # the SIGKILL tests above run on every topology
        pytest.skip("the tap proxies one server; Cluster and Sentinel clients find each node")
    stub, _ = gateway
    stub.invalid_numbers.add(TO_INVALID)
    keys = {"sent": TO, "refused": TO_INVALID}
    tap = RedisTap(stop_at=_completes_an_idempotency_key)
    with redis_tap(redis_url, tap) as tapped_url:
        first = await services(tapped_url)
        async with httpx.AsyncClient(base_url=first.base, timeout=60) as client:
            attempts = [asyncio.create_task(_post(client, to, key)) for key, to in keys.items()]

            def both_recorded() -> bool:  # the gateway answered, the send is recorded
                stopped = b"".join(tap.stopped)
                return all(Keys.idempotency("default", key).encode() in stopped for key in keys)

            await _until(both_recorded)
            await first.kill()
            await asyncio.gather(*attempts, return_exceptions=True)
    for key in keys:
        entry = json.loads(await redis.get(Keys.idempotency("default", key)))
        assert "sending" in entry and not entry.get("done")

    again = await services(redis_url)
    async with httpx.AsyncClient(base_url=again.base, timeout=10) as client:
        sent = await _post(client, TO, "sent")
        assert sent.status_code == 201, sent.text
        assert sent.headers["idempotent-replayed"] == "true"
        body = sent.json()
        assert body["to"] == TO and body["status"] == "pending" and body["sends"] == 1
        [request] = [r for r in stub.received if r.body["to"] == TO]
        message = body["message"]
        assert message["id"] == request.body["id"] and message["status"] == "sent"
        assert message["provider_message_id"] == stub.ids_by_key[request.body["id"]]
        shown = (await client.get(f"/v1/verifications/{body['id']}", headers=AUTH)).json()
        assert {**shown["message"], "timeline": []} == {**message, "timeline": []}

        refused = await _post(client, TO_INVALID, "refused")
        assert refused.status_code == 502, refused.text
        assert refused.headers["idempotent-replayed"] == "true"
        problem = refused.json()
        assert problem["code"] == "delivery_failed"
        assert problem["provider"] == "gateway"
        assert problem["provider_error"] == "invalid_number"
        assert problem["error_kind"] == "permanent"
    assert len(stub.received) == 2


async def test_a_failed_delivery_is_replayed_and_not_sent_again(
    make_client: ClientFactory, gateway: tuple[HttpGatewayStub, str]
) -> None:
    stub, url = gateway
    stub.invalid_numbers.add(TO)
    settings = {
        "providers": {"gateway": {"type": "http", "url": url, "secret": SECRET}},
        "routes": {"default": ["gateway"]},
    }
    async with make_client(**settings) as client:
        first = await _post(client, TO, "order-1")
        assert first.status_code == 502
        assert "idempotent-replayed" not in first.headers
        retried = await _post(client, TO, "order-1")
        assert retried.status_code == 502
        assert retried.headers["idempotent-replayed"] == "true"
        replayed, answered = retried.json(), first.json()
        assert "replayed" in replayed.pop("detail")
        answered.pop("detail")  # the gateway's words, which may quote the number: not kept
        assert replayed == answered
    assert len(stub.received) == 1


NOW = datetime.now(UTC)
VIEW = VerificationView(
    id="ver_x", to=TO, purpose="login", channel="sms", status="pending", created_at=NOW,
    expires_at=NOW, resend_after=NOW, attempts_remaining=5, sends=1, sends_remaining=4,
)  # fmt: skip


async def test_a_claim_whose_lease_ran_out_neither_sends_nor_frees_the_key(
    redis: Redis,
) -> None:
    scripts = Scripts(redis)
    entries, store = IdempotencyEntries(scripts), VerificationStore(scripts, Keys(b"p"))
    slow = IdempotencyStore(entries, store, ttl=0.05, send_deadline=5)  # lease: 50 ms
    other = IdempotencyStore(entries, store, ttl=86400, send_deadline=5)
    mine = await slow.claim("default", "order-1", "body")
    assert isinstance(mine, Claim)
    redis_key = Keys.idempotency("default", "order-1")
    await asyncio.sleep(0.1)
    assert not await redis.exists(redis_key)  # the lease ran out, the request goes on
    theirs = await other.claim("default", "order-1", "body")
    assert isinstance(theirs, Claim)

    with pytest.raises(OtpgateError) as refused:
        await slow.sending(mine, "ver_x", VIEW)
    assert refused.value.code == "idempotency_key_in_progress"
    await slow.release(mine)
    assert json.loads(await redis.get(redis_key))["token"] == theirs.token

    await other.sending(theirs, "ver_x", VIEW)
    assert await redis.pttl(redis_key) > 100 * LEASE_MS


SENDING = Sending("ver_x", 1, started_at=1000.0, view={})


@pytest.mark.parametrize(
    ("status", "expires_ms", "now", "code", "retry_after"),
    [
        ("pending", 1_300_000, 1001.0, "idempotency_key_in_progress", 1),  # may be running
        ("pending", 1_300_000, 1010.0, "idempotency_key_in_progress", 290),  # died: until expiry
        ("pending", 1_300_000, 1300.0, "verification_expired", None),
        ("expired", 1_300_000, 1010.0, "verification_expired", None),
        (None, None, 1010.0, "verification_expired", None),  # its record is gone
        ("approved", 1_300_000, 1010.0, "verification_not_pending", None),
        ("failed", 1_300_000, 1010.0, "verification_not_pending", None),
    ],
)
def test_a_retry_with_no_recorded_outcome_is_answered_by_its_verification(
    status: str | None, expires_ms: int | None, now: float, code: str, retry_after: int | None
) -> None:
    error = unsettled(SENDING, status, expires_ms, now, deadline=5)
    assert error.code == code
    assert error.extra["verification_id"] == "ver_x"
    assert error.retry_after == retry_after
