"""Sends through real adapters to loopback stubs, end to end through the API: every
adapter, failover, the deadline, the shared circuit breaker, routes per country."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote_plus

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from app.asgi import create_app
from tests.conftest import AUTH, SettingsFactory
from tests.providers import (
    test_aliyun,
    test_chuanglan,
    test_cloopen,
    test_gateway,
    test_huawei,
    test_tencent,
    test_twilio,
    test_vonage,
)
from tests.stubs.aliyun import AliyunStub
from tests.stubs.chuanglan import ChuanglanStub
from tests.stubs.cloopen import CloopenStub
from tests.stubs.http_gateway import PATH as GATEWAY_PATH
from tests.stubs.http_gateway import SECRET as GATEWAY_SECRET
from tests.stubs.http_gateway import HttpGatewayStub
from tests.stubs.huawei import HuaweiStub
from tests.stubs.loopback import closed_port_url, serve
from tests.stubs.tencent import TencentStub
from tests.stubs.twilio import TwilioStub
from tests.stubs.vonage import VonageStub

pytestmark = pytest.mark.topologies

TO = "+8613800138000"

# adapter type -> (the adapter tests' config helper, a stub for the same credentials)
KINDS: dict[str, tuple[Any, Any]] = {
    "twilio": (
        test_twilio.config,
        lambda: TwilioStub(test_twilio.ACCOUNT_SID, test_twilio.AUTH_TOKEN),
    ),
    "vonage": (
        test_vonage.config,
        lambda: VonageStub(
            test_vonage.API_KEY,
            test_vonage.API_SECRET,
            signature_secret=test_vonage.SIGNATURE_SECRET,
        ),
    ),
    "aliyun": (test_aliyun.make_config, AliyunStub),
    "tencent": (test_tencent.make_config, TencentStub),
    "huawei": (test_huawei.config, lambda: HuaweiStub(test_huawei.APP_KEY, test_huawei.APP_SECRET)),
    "chuanglan": (
        test_chuanglan.config,
        lambda: ChuanglanStub(test_chuanglan.ACCOUNT, test_chuanglan.PASSWORD),
    ),
    "cloopen": (test_cloopen.config, CloopenStub),
    "http": (
        lambda base_url, **kw: test_gateway.config(
            url=base_url + GATEWAY_PATH, secret=GATEWAY_SECRET, **kw
        ),
        HttpGatewayStub,
    ),
}


def received(stub: Any) -> list[Any]:
    return list(getattr(stub, "requests", None) or getattr(stub, "received", []))


@contextlib.contextmanager
def running(kind: str) -> Iterator[tuple[Any, str]]:
    stub = KINDS[kind][1]()
    with serve(getattr(stub, "app", stub)) as url:
        yield stub, url


def provider(kind: str, url: str, **overrides: Any) -> dict[str, Any]:
    """``[providers.<kind>]`` for the adapter tests' config, pointed at ``url``."""
    config = KINDS[kind][0](base_url=url, **overrides)
    return {"type": kind, **msgspec.to_builtins(config)}


async def send(client: Any, to: str = TO) -> Any:
    return await client.post("/v1/verifications", json={"to": to}, headers=AUTH)


def app_client(make_settings: SettingsFactory, **overrides: Any) -> AsyncTestClient[Any]:
    return AsyncTestClient(create_app(make_settings(**overrides)))


@pytest.mark.parametrize("kind", sorted(KINDS))
async def test_each_adapter_delivers_a_code_that_then_checks(
    make_settings: SettingsFactory, redis: Any, kind: str
) -> None:
    with running(kind) as (stub, url):
        settings = {
            "providers": {kind: provider(kind, url)},
            "routes": {"default": [kind]},
            "max_attempts": 20,
        }
        async with app_client(make_settings, **settings) as client:
            sent = await send(client)
            assert sent.status_code == 201, sent.text
            message = sent.json()["message"]
            assert message["provider"] == kind and message["status"] == "sent"
            assert message["provider_message_id"]
            assert [a["outcome"] for a in message["attempts"]] == ["accepted"]
            [request] = received(stub)
            # The code travelled inside the provider's request: find it and check it.
            candidates = set(re.findall(r"(?<!\d)\d{6}(?!\d)", unquote_plus(repr(request))))
            results = [
                (await client.post("/v1/verifications/check",
                                   json={"id": sent.json()["id"], "code": c}, headers=AUTH)).json()
                for c in sorted(candidates)
            ]  # fmt: skip
            assert [r["status"] for r in results].count("approved") == 1


@contextlib.contextmanager
def twilio_then_vonage() -> Iterator[tuple[Any, Any, dict[str, Any]]]:
    with running("twilio") as (twilio, twilio_url), running("vonage") as (vonage, vonage_url):
        settings = {
            "providers": {"twilio": provider("twilio", twilio_url),
                          "vonage": provider("vonage", vonage_url)},
            "routes": {"default": ["twilio", "vonage"]},
            "send_attempt_timeout": 0.5,
        }  # fmt: skip
        yield twilio, vonage, settings


@pytest.mark.parametrize("failure", ["slow", "5xx", "refused"])
async def test_failover_to_the_next_provider(
    make_settings: SettingsFactory, redis: Any, failure: str
) -> None:
    with twilio_then_vonage() as (twilio, vonage, settings):
        if failure == "slow":
            twilio.delay = 2.0
        elif failure == "5xx":
            twilio.fail_status = 503
        else:
            settings["providers"]["twilio"] = provider("twilio", closed_port_url())
        async with app_client(make_settings, **settings) as client:
            sent = await send(client)
            assert sent.status_code == 201, sent.text
            message = sent.json()["message"]
            assert message["provider"] == "vonage"
            first, second = message["attempts"]
            expected = {"slow": "timeout", "5xx": "http_503", "refused": "unreachable"}[failure]
            assert (first["provider"], first["outcome"], first["error_code"]) == (
                "twilio",
                "retryable",
                expected,
            )
            assert (second["provider"], second["outcome"]) == ("vonage", "accepted")
            assert len(received(vonage)) == 1


async def test_invalid_number_fails_without_failover(
    make_settings: SettingsFactory, redis: Any
) -> None:
    with twilio_then_vonage() as (twilio, vonage, settings):
        twilio.invalid_numbers.add(TO)
        async with app_client(make_settings, **settings) as client:
            failed = await send(client)
            assert failed.status_code == 502
            problem = failed.json()
            assert problem["code"] == "delivery_failed"
            assert (problem["provider"], problem["provider_error"]) == ("twilio", "21211")
            assert problem["error_kind"] == "permanent"
            assert received(vonage) == []
            shown = await client.get(
                f"/v1/verifications/{problem['verification_id']}", headers=AUTH
            )
            assert shown.json()["status"] == "failed"
            assert shown.json()["messages"][0]["error_code"] == "21211"
            # a failed verification is over: the next send starts a new one
            assert (await send(client)).status_code == 502


async def test_the_whole_walk_has_a_deadline(make_settings: SettingsFactory, redis: Any) -> None:
    with twilio_then_vonage() as (twilio, vonage, settings):
        twilio.delay = vonage.delay = 2.0
        settings.update(send_deadline=0.6, send_attempt_timeout=0.4)
        async with app_client(make_settings, **settings) as client:
            started = time.perf_counter()
            failed = await send(client)
            elapsed = time.perf_counter() - started
            assert failed.status_code == 502
            assert failed.json()["provider_error"] == "timeout"
            assert elapsed < 1.5  # neither stub's 2 s was waited out


async def test_circuit_opens_skips_and_closes_across_two_instances(
    make_settings: SettingsFactory, redis: Any
) -> None:
    with twilio_then_vonage() as (twilio, _vonage, settings):
        settings["circuit"] = {"failures": 2, "open_for": 0.5}
        twilio.fail_status = 503
        async with (
            app_client(make_settings, **settings) as first,
            app_client(make_settings, **settings) as second,
        ):
            for to in ("+8613800138001", "+8613800138002"):
                assert (await send(first, to)).json()["message"]["provider"] == "vonage"
            tries = len(received(twilio))
            assert tries == 2
            # the other instance skips twilio at once: it shares the circuit in Redis
            skipped = (await send(second, "+8613800138003")).json()["message"]
            assert skipped["attempts"][0] == {
                "provider": "twilio",
                "outcome": "skipped",
                "error_code": "circuit_open",
                "latency_ms": 0.0,
            }
            assert len(received(twilio)) == tries
            statuses = (await second.get("/v1/providers", headers=AUTH)).json()["providers"]
            assert {p["name"]: p["health"]["state"] for p in statuses}["twilio"] == "open"

            twilio.fail_status = None
            await asyncio.sleep(0.6)  # open_for is 0.5 s: the next send is the probe
            probe = (await send(second, "+8613800138004")).json()["message"]
            assert probe["provider"] == "twilio"
            statuses = (await first.get("/v1/providers", headers=AUTH)).json()["providers"]
            assert {p["name"]: p["health"]["state"] for p in statuses}["twilio"] == "closed"


async def test_routes_by_calling_code(make_settings: SettingsFactory, redis: Any) -> None:
    with running("aliyun") as (aliyun, aliyun_url), running("twilio") as (twilio, twilio_url):
        settings = {
            "providers": {"aliyun": provider("aliyun", aliyun_url),
                          "twilio": provider("twilio", twilio_url)},
            "routes": {"+86": ["aliyun"], "default": ["twilio"]},
        }  # fmt: skip
        async with app_client(make_settings, **settings) as client:
            assert (await send(client, TO)).json()["message"]["provider"] == "aliyun"
            assert (await send(client, "+14155552671")).json()["message"]["provider"] == "twilio"
            assert len(received(aliyun)) == len(received(twilio)) == 1


async def test_an_app_may_have_its_own_route(make_settings: SettingsFactory, redis: Any) -> None:
    from app.apps.keys import ApiKeyStore

    with running("vonage") as (_vonage, vonage_url):
        settings = {
            "providers": {"vonage": provider("vonage", vonage_url)},
            "apps": {"shop": {"routes": {"default": ["vonage"]}}},
        }
        key, _ = await ApiKeyStore(redis).create("shop", ["verify"])
        async with app_client(make_settings, **settings) as client:
            assert (await send(client)).json()["message"]["provider"] == "outbox"
            shop = await client.post(
                "/v1/verifications", json={"to": TO}, headers={"Authorization": f"Bearer {key}"}
            )
            assert shop.json()["message"]["provider"] == "vonage"


async def test_providers_dashboard_shows_health_and_balance(
    make_settings: SettingsFactory, redis: Any
) -> None:
    with running("twilio") as (_twilio, url):
        settings = {
            "providers": {"twilio": provider("twilio", url)},
            "routes": {"default": ["twilio"]},
        }
        async with app_client(make_settings, **settings) as client:
            await send(client)
            listed = (await client.get("/v1/providers", headers=AUTH)).json()["providers"]
            by_name = {p["name"]: p for p in listed}
            assert set(by_name) == {"outbox", "twilio"}
            health = by_name["twilio"]["health"]
            assert health["state"] == "closed" and health["attempts"] == 1
            assert health["success_rate"] == 1.0 and health["p50_ms"] > 0
            assert by_name["twilio"]["balance"] == {"amount": 12.34, "currency": "USD"}
            assert by_name["outbox"]["balance"] is None
            path = by_name["twilio"]["callback_path"]
            assert re.fullmatch(r"/v1/callbacks/twilio/[0-9a-f]{32}", path)
            assert by_name["outbox"]["callback_path"] is None
