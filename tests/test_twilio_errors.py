"""Every documented error of the Twilio-compatible API: Twilio's code, HTTP status and
body (``code``, ``message``, ``more_info``, ``status``), raised by the official SDK as
``TwilioRestException``; never a 500."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from twilio.base.exceptions import TwilioRestException

from app.twilio_verify.sids import service_sid
from tests.conftest import API_KEY, latest_code, redis_snapshot
from tests.stubs.twilio_sdk import sdk_client

pytestmark = pytest.mark.topologies

NUMBER = "+8613800138000"
DEFAULT = service_sid("default")
BASIC = httpx.BasicAuth("bootstrap", API_KEY)
BEARER = {"Authorization": f"Bearer {API_KEY}"}


@pytest.fixture
async def served(make_live_client: Callable[..., Any]) -> AsyncIterator[Callable[..., Any]]:
    """``async with served(**settings) as (sdk, http)``: a live otpgate and clients of it."""
    import contextlib

    @contextlib.asynccontextmanager
    async def start(**settings: Any) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
        async with make_live_client(**settings) as http:
            base = str(http.base_url).rstrip("/")
            yield sdk_client(base, "bootstrap", API_KEY).verify.v2, http

    yield start


async def twilio_error(call: Callable[[], Any]) -> tuple[int, int, str]:
    with pytest.raises(TwilioRestException) as caught:
        await asyncio.to_thread(call)
    return caught.value.status, caught.value.code, caught.value.msg


def start(v2: Any, **params: Any) -> Callable[[], Any]:
    return lambda: v2.services(DEFAULT).verifications.create(
        **{"to": NUMBER, "channel": "sms", **params}
    )


#: A start's own name and app hash that otpgate refuses, and what it answers.
BAD_CUSTOMIZATIONS = [
    ({"custom_friendly_name": "x" * 31}, 400, 60200, "Invalid parameter: CustomFriendlyName"),
    ({"custom_friendly_name": "商" * 22}, 400, 60200, "CustomFriendlyName"),  # 66 bytes
    ({"custom_friendly_name": ""}, 400, 60200, "CustomFriendlyName"),
    ({"custom_friendly_name": "Shop\nLtd"}, 400, 60200, "CustomFriendlyName"),
    ({"app_hash": "FA+9qCX9VS"}, 400, 60200, "Invalid parameter: AppHash"),
    ({"app_hash": "FA+9qCX9VS!"}, 400, 60200, "AppHash"),
    ({"app_hash": "FA+9qCX9VSu", "channel": "call"}, 400, 60602, "SMS channel"),
    ({"app_hash": "FA+9qCX9VSu", "to": "ada@example.com", "channel": "email"}, 400, 60602, "SMS"),
]


@pytest.mark.parametrize(
    ("params", "status", "code", "says"),
    [
        ({"to": "12345"}, 400, 60200, "Invalid parameter: To"),
        ({"to": "+999123"}, 400, 60200, "Invalid parameter: To"),
        ({"channel": "rcs"}, 400, 60200, "Invalid parameter: Channel"),
        ({"channel": "sna"}, 400, 60200, "Invalid parameter: Channel"),
        ({"locale": "not a locale"}, 400, 60200, "Invalid parameter: Locale"),
        ({"custom_code": "123456"}, 403, 60204, "CustomCode"),
        ({"amount": "9.99", "payee": "Shop"}, 403, 60204, "Amount"),
        ({"template_sid": "HJ" + "a" * 32}, 403, 60204, "TemplateSid"),
        *BAD_CUSTOMIZATIONS,
        ({"risk_check": "disable"}, 403, 60204, "RiskCheck"),
        ({"device_ip": "not an ip"}, 400, 60200, "DeviceIp"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
async def test_a_start_with_a_bad_or_unsupported_parameter(
    served: Callable[..., Any], params: dict[str, Any], status: int, code: int, says: str
) -> None:
    async with served() as (v2, _):
        assert await twilio_error(start(v2, **params)) == (status, code, _says(says, code))


def _says(fragment: str, code: int) -> Any:
    class Contains(str):
        def __eq__(self, other: object) -> bool:
            return isinstance(other, str) and fragment in other

        __hash__ = str.__hash__

    return Contains(fragment)


async def test_the_error_body_is_twilio_s(served: Callable[..., Any]) -> None:
    async with served() as (_, http):
        answer = await http.post(
            f"/twilio/v2/Services/{DEFAULT}/Verifications", auth=BASIC, data={"To": "x"}
        )
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json() == {
        "code": 60200,
        "message": answer.json()["message"],
        "more_info": "https://www.twilio.com/docs/errors/60200",
        "status": 400,
    }
    assert answer.json()["message"].startswith("Invalid parameter: Channel")  # required


async def test_a_refused_name_or_app_hash_changes_nothing(
    served: Callable[..., Any], redis: Redis
) -> None:
    long = {"en": "Your code is {code}. " + "Keep it to yourself. " * 7}  # 147 bytes alone
    async with served(messages=long) as (v2, http):
        before = await redis_snapshot(redis, last_use=False)
        for params, status, code, says in BAD_CUSTOMIZATIONS:
            assert await twilio_error(start(v2, **params)) == (status, code, _says(says, code))
        too_long = await twilio_error(start(v2, to="+14155552671", app_hash="FA+9qCX9VSu"))
        assert too_long == (400, 60200, _says("the SMS Retriever reads 140 at most", 60200))
        assert await redis_snapshot(redis, last_use=False) == before
        outbox = await http.get("/dev/outbox", params={"format": "json"})
        assert outbox.json() == []


async def test_rate_limits_must_be_a_json_object(served: Callable[..., Any]) -> None:
    async with served() as (v2, http):
        answer = await http.post(
            f"/twilio/v2/Services/{DEFAULT}/Verifications", auth=BASIC,
            data={"To": NUMBER, "Channel": "sms", "RateLimits": "[1]"},
        )  # fmt: skip
        assert (answer.status_code, answer.json()["code"]) == (400, 60200)
        accepted = await asyncio.to_thread(start(v2, rate_limits={"end_user_ip": "203.0.113.7"}))
        assert accepted.status == "pending"


async def test_check_errors(served: Callable[..., Any]) -> None:
    async with served(max_attempts=2) as (v2, http):
        checks = v2.services(DEFAULT).verification_checks
        assert (await twilio_error(lambda: checks.create(to=NUMBER, code="123456")))[:2] == (
            404, 20404,
        )  # fmt: skip
        started = await asyncio.to_thread(start(v2))
        code = await latest_code(http, NUMBER)
        wrong = "1" * 6 if code != "1" * 6 else "2" * 6
        assert (await twilio_error(lambda: checks.create(to=NUMBER, code="12")))[:2] == (400, 60200)
        assert (await twilio_error(lambda: checks.create(code=code)))[:2] == (400, 60200)
        assert (await twilio_error(lambda: checks.create(to=NUMBER)))[:2] == (400, 60200)
        bad_sid = await twilio_error(lambda: checks.create(verification_sid="VE123", code=code))
        assert bad_sid[:2] == (400, 60200)
        for expected in ("pending", "max_attempts_reached"):
            missed = await asyncio.to_thread(
                lambda: checks.create(verification_sid=started.sid, code=wrong)
            )
            assert missed.status == expected
        exhausted = await twilio_error(
            lambda: checks.create(verification_sid=started.sid, code=code)
        )
        assert exhausted[:2] == (429, 60202)


async def test_update_errors(served: Callable[..., Any]) -> None:
    async with served() as (v2, http):
        started = await asyncio.to_thread(start(v2))
        verification = v2.services(DEFAULT).verifications(started.sid)
        assert (await twilio_error(lambda: verification.update(status="done")))[:2] == (400, 60200)
        await asyncio.to_thread(lambda: verification.update(status="canceled"))
        for status in ("canceled", "approved"):  # a finished one is gone, as Twilio's are
            again = await twilio_error(lambda status=status: verification.update(status=status))
            assert again[:2] == (404, 20404), status
        assert (await asyncio.to_thread(verification.fetch)).status == "canceled"
        unknown = v2.services(DEFAULT).verifications("VE" + "0" * 32)
        assert (await twilio_error(unknown.fetch))[:2] == (404, 20404)
        assert (await twilio_error(lambda: unknown.update(status="approved")))[:2] == (404, 20404)
        assert (await twilio_error(v2.services("VA" + "0" * 32).fetch))[:2] == (404, 20404)
        stats = await http.get("/v1/stats", params={"window": "1h"}, headers=BEARER)
        assert stats.json()["total"]["approved"] == 0


async def test_approving_a_verification_that_used_every_attempt_is_20404(
    served: Callable[..., Any],
) -> None:
    async with served(max_attempts=1) as (v2, http):
        started = await asyncio.to_thread(start(v2))
        code = await latest_code(http, NUMBER)
        wrong = "1" * 6 if code != "1" * 6 else "2" * 6
        checks = v2.services(DEFAULT).verification_checks
        locked = await asyncio.to_thread(
            lambda: checks.create(verification_sid=started.sid, code=wrong)
        )
        assert locked.status == "max_attempts_reached"
        verification = v2.services(DEFAULT).verifications(started.sid)
        refused = await twilio_error(lambda: verification.update(status="approved"))
        assert refused[:2] == (404, 20404) and "max_attempts_reached" in refused[2]
        assert (await asyncio.to_thread(verification.fetch)).status == "max_attempts_reached"


async def test_send_budget_cooldown_and_throttle_errors(served: Callable[..., Any]) -> None:
    async with served(max_sends=2) as (v2, _):
        await asyncio.to_thread(start(v2))
        await asyncio.to_thread(start(v2))
        assert (await twilio_error(start(v2)))[:2] == (429, 60203)
    async with served(resend_cooldown=60) as (v2, http):  # the same Redis: other numbers
        await asyncio.to_thread(start(v2, to="+8613800138009"))
        assert (await twilio_error(start(v2, to="+8613800138009")))[:2] == (429, 60212)
        answer = await http.post(
            f"/twilio/v2/Services/{DEFAULT}/Verifications", auth=BASIC,
            data={"To": "+8613800138009", "Channel": "sms"},
        )  # fmt: skip
        assert 0 < int(answer.headers["retry-after"]) <= 60
    limits = {"send_per_number": ["1/hour"], "send_per_ip": ["1/hour"]}
    async with served(limits=limits) as (v2, _):
        await asyncio.to_thread(start(v2, to="+8613800138001", device_ip="203.0.113.7"))
        assert (await twilio_error(start(v2, to="+8613800138001")))[:2] == (429, 60212)
        by_ip = await twilio_error(start(v2, to="+8613800138002", device_ip="203.0.113.7"))
        assert by_ip[:2] == (429, 20429)


async def test_geo_and_number_type_errors(served: Callable[..., Any]) -> None:
    async with served(abuse={"denied_countries": ["US"]}) as (v2, _):
        assert (await twilio_error(start(v2, to="+12015550123")))[:2] == (403, 60605)
        assert (await twilio_error(start(v2, to="+861062345678")))[:2] == (403, 60205)


async def test_service_parameters_otpgate_lacks(served: Callable[..., Any]) -> None:
    async with served() as (v2, _):
        services = v2.services
        cases = [
            ({"psd2_enabled": True}, (403, 60204)),
            ({"push_include_date": True}, (403, 60204)),
            ({"totp_issuer": "Shop"}, (403, 60204)),
            ({"default_template_sid": "HJ" + "a" * 32}, (403, 60204)),
            ({"code_length": 3}, (400, 60200)),
            ({"friendly_name": "x" * 33}, (400, 60200)),
        ]
        for params, expected in cases:
            named = {"friendly_name": "Shop", **params}
            assert (await twilio_error(lambda named=named: services.create(**named)))[:2] == (
                expected
            ), params


async def test_routes_methods_and_lists(served: Callable[..., Any]) -> None:
    async with served() as (v2, http):
        nowhere = await http.get("/twilio/v2/Nowhere", auth=BASIC)
        assert (nowhere.status_code, nowhere.json()["code"]) == (404, 20404)
        entities = await http.get(f"/twilio/v2/Services/{DEFAULT}/Entities", auth=BASIC)
        assert (entities.status_code, entities.json()["code"]) == (403, 60204)
        method = await http.delete(f"/twilio/v2/Services/{DEFAULT}/VerificationCheck", auth=BASIC)
        assert (method.status_code, method.json()["code"]) == (405, 20004)
        summary = v2.verification_attempts_summary()
        for prefix, says in [
            ("+86138", "filters by calling code: +86, not +86138"),
            ("+999", "such as +86 or +1"),
            ("86a", "a country calling code"),
            ("", "a country calling code"),
        ]:
            refused = await twilio_error(lambda p=prefix: summary.fetch(destination_prefix=p))
            assert refused == (400, 60200, _says(says, 60200)), prefix
            assert "Invalid parameter: DestinationPrefix" in refused[2]
        sized = await http.get("/twilio/v2/Attempts", params={"PageSize": "0"}, auth=BASIC)
        assert (sized.status_code, sized.json()["code"]) == (400, 60200)
        outside = await http.get("/v1/nowhere")
        assert outside.headers["content-type"].startswith("application/problem+json")


async def test_a_key_without_the_scope_is_20403(served: Callable[..., Any]) -> None:
    async with served() as (_, http):
        created = await http.post(
            "/v1/apps/default/keys", json={"scopes": ["read"]},
            headers={"Authorization": f"Bearer {API_KEY}"},
        )  # fmt: skip
        body = created.json()
        reader = sdk_client(str(http.base_url), body["api_key"]["id"], body["key"]).verify.v2
        assert (await twilio_error(start(reader)))[:2] == (403, 20403)
        bearer = await http.get(
            f"/twilio/v2/Services/{DEFAULT}", headers={"Authorization": f"Bearer {API_KEY}"}
        )
        assert (bearer.status_code, bearer.json()["code"]) == (401, 20003)
        assert bearer.headers["www-authenticate"].startswith("Basic")
