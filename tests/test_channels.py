"""Channels beyond SMS, end to end through the API: a call that reads the code, WhatsApp
through Twilio and Vonage, email through a real SMTP server on loopback; one verification
across channels; the throttles that count every channel; bad input; what Redis keeps."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from app.asgi import create_app
from app.providers.twilio import twilio_signature
from app.store.keys import Keys
from tests.conftest import AUTH, SettingsFactory, checked, redis_snapshot
from tests.stubs.loopback import serve
from tests.stubs.smtp import SmtpSink, serve_smtp
from tests.stubs.twilio import TwilioStub, said
from tests.stubs.vonage import VonageStub

pytestmark = [
    pytest.mark.topologies,
    # the test server asks for AUTH over plain text: on loopback, for the test alone
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS"),
]

NUMBER = "+14155552671"
ADDRESS = "Jane.Doe@Example.COM"
ACCOUNT_SID, AUTH_TOKEN = "AC" + "0" * 32, "test-auth-token"
CONTENT_SID = "HX" + "b" * 32
API_KEY, API_SECRET = "vonage-key", "vonage-secret"


async def stored(redis: Redis) -> dict[str, Any]:
    """What Redis holds, less the API key's last use (written off the request's path)."""
    snapshot = await redis_snapshot(redis)
    snapshot.pop(Keys.API_KEY_LAST_USED, None)
    return snapshot


def client_of(make_settings: SettingsFactory, **settings: Any) -> AsyncTestClient[Any]:
    return checked(AsyncTestClient(create_app(make_settings(**settings))))


async def send(client: Any, **body: Any) -> Any:
    return await client.post("/v1/verifications", json={"to": NUMBER, **body}, headers=AUTH)


async def check(client: Any, code: str, **body: Any) -> Any:
    body = body or {"to": NUMBER}
    return await client.post("/v1/verifications/check", json={**body, "code": code}, headers=AUTH)


def twilio(url: str) -> dict[str, Any]:
    return {
        "type": "twilio", "account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN,
        "from": "+15005550006", "base_url": url, "channels": ["sms", "voice", "whatsapp"],
        "whatsapp_from": "+14155238886",
        "whatsapp_templates": {"en": {"id": CONTENT_SID, "params": ["code"]}},
    }  # fmt: skip


@contextlib.contextmanager
def twilio_stub() -> Iterator[tuple[TwilioStub, dict[str, Any]]]:
    stub = TwilioStub(ACCOUNT_SID, AUTH_TOKEN)
    with serve(stub) as url:
        yield stub, {
            "providers": {"twilio": twilio(url)},
            "channel_routes": {"voice": {"default": ["twilio"]},
                               "whatsapp": {"default": ["twilio"]}},
        }  # fmt: skip


def form(received: Any) -> dict[str, str]:
    return dict(received.form)


# --- voice ---------------------------------------------------------------------------


async def test_a_call_says_the_code_digit_by_digit_twice_then_it_checks(
    make_settings: SettingsFactory, redis: Redis
) -> None:
    with twilio_stub() as (stub, settings):
        async with client_of(make_settings, **settings) as client:
            sent = await send(client, channel="voice")
            assert sent.status_code == 201, sent.text
            view = sent.json()
            assert view["channel"] == "voice" and view["message"]["channel"] == "voice"
            assert view["message"]["provider"] == "twilio"
            assert view["message"]["provider_message_id"].startswith("CA")
            [call] = stub.requests
            assert call.path.endswith("/Calls.json")
            assert (form(call)["To"], form(call)["From"]) == (NUMBER, "+15005550006")
            first, second = said(form(call)["Twiml"])  # said twice, a pause between
            assert first == second
            assert '<Pause length="1"/>' in form(call)["Twiml"]
            spelled = re.search(r"(\d(, )?)+", first)
            assert spelled is not None and re.fullmatch(r"(\d, ){5}\d", spelled.group())
            code = spelled.group().replace(", ", "")
            checked_ = await check(client, code)
            assert checked_.json()["status"] == "approved"
            shown = await client.get(f"/v1/verifications/{view['id']}", headers=AUTH)
            assert shown.json()["channel"] == "voice"


# --- WhatsApp ------------------------------------------------------------------------


async def test_whatsapp_through_twilio_sends_the_approved_template_with_the_code(
    make_settings: SettingsFactory, redis: Redis
) -> None:
    with twilio_stub() as (stub, settings):
        async with client_of(make_settings, **settings) as client:
            sent = await send(client, channel="whatsapp")
            assert sent.status_code == 201, sent.text
            assert sent.json()["message"]["channel"] == "whatsapp"
            [message] = stub.requests
            fields = form(message)
            assert message.path.endswith("/Messages.json")
            assert fields["To"] == f"whatsapp:{NUMBER}"
            assert fields["From"] == "whatsapp:+14155238886"
            assert fields["ContentSid"] == CONTENT_SID and "Body" not in fields
            code = json.loads(fields["ContentVariables"])["1"]
            assert (await check(client, code)).json()["status"] == "approved"


async def test_whatsapp_through_vonage_sends_the_template_with_basic_auth(
    make_settings: SettingsFactory, redis: Redis
) -> None:
    stub = VonageStub(API_KEY, API_SECRET)
    with serve(stub) as url:
        vonage = {
            "type": "vonage", "api_key": API_KEY, "api_secret": API_SECRET,
            "channels": ["whatsapp"], "whatsapp_from": "+447700900001",
            "messages_base_url": url,
            "whatsapp_templates": {"en": {"id": "otp_code", "params": ["code"],
                                          "language": "en_GB"}},
        }  # fmt: skip
        settings = {
            "providers": {"vonage": vonage},
            "channel_routes": {"whatsapp": {"default": ["vonage"]}},
        }
        async with client_of(make_settings, **settings) as client:
            sent = await send(client, channel="whatsapp")
            assert sent.status_code == 201, sent.text
            assert sent.json()["message"]["provider"] == "vonage"
            [body] = stub.messages
            assert body["to"] == NUMBER.lstrip("+") and body["from"] == "447700900001"
            assert body["template"]["name"] == "otp_code"
            assert body["whatsapp"] == {"policy": "deterministic", "locale": "en_GB"}
            assert body["client_ref"] == sent.json()["message"]["id"]
            [code] = body["template"]["parameters"]
            assert (await check(client, code)).json()["status"] == "approved"


# --- email ---------------------------------------------------------------------------


def smtp_settings(port: int, **fields: Any) -> dict[str, Any]:
    mail = {"type": "smtp", "host": "127.0.0.1", "port": port, "security": "none",
            "from": "Shop <no-reply@shop.example>", **fields}  # fmt: skip
    return {"providers": {"mail": mail}, "channel_routes": {"email": {"default": ["mail"]}}}


async def test_an_email_reaches_the_smtp_server_and_its_code_checks(
    make_settings: SettingsFactory, redis: Redis
) -> None:
    sink = SmtpSink(credentials=("no-reply@shop.example", "smtp-password"))
    with serve_smtp(sink) as (_, port):
        settings = smtp_settings(port, username="no-reply@shop.example", password="smtp-password")
        apps = {"default": {"display_name": "Shop"}}
        async with client_of(make_settings, apps=apps, **settings) as client:
            sent = await send(client, to=ADDRESS, channel="email")
            assert sent.status_code == 201, sent.text
            view = sent.json()
            assert view["to"] == "Jane.Doe@example.com" and view["channel"] == "email"
            [mail] = sink.received
            assert mail.recipients == ["Jane.Doe@example.com"]
            assert mail.message["From"] == "Shop <no-reply@shop.example>"
            assert mail.message["Auto-Submitted"] == "auto-generated"
            assert view["message"]["provider_message_id"] == mail.message["Message-ID"]
            code = re.findall(r"\d{6}", mail.message["Subject"])[0]
            assert "Shop" in mail.message["Subject"] and code in mail.text
            assert "5 minutes" in mail.text
            checked_ = await check(client, code, to="jane.doe@example.com")
            assert checked_.json()["status"] == "approved"
            shown = await client.get(f"/v1/verifications/{view['id']}", headers=AUTH)
            assert shown.json()["to"] == "J***@example.com"


@pytest.mark.parametrize(
    ("sink", "kind", "error"),
    [
        (SmtpSink(refuse_recipients={"jane.doe@example.com"}), "permanent", "smtp_550"),
        (SmtpSink(greylist=True), "retryable", "smtp_451"),
        (SmtpSink(credentials=("someone", "else")), "account", "smtp_535"),
    ],
    ids=["refused", "greylisted", "wrong-login"],
)
async def test_a_failed_smtp_send_is_a_delivery_failure_of_its_kind(
    make_settings: SettingsFactory, redis: Redis, sink: SmtpSink, kind: str, error: str
) -> None:
    with serve_smtp(sink) as (_, port):
        login = {"username": "no-reply@shop.example", "password": "wrong"}
        settings = smtp_settings(port, **(login if sink.credentials else {}))
        async with client_of(make_settings, **settings) as client:
            failed = await send(client, to="jane.doe@example.com", channel="email")
            assert failed.status_code == 502, failed.text
            problem = failed.json()
            assert (problem["provider"], problem["error_kind"]) == ("mail", kind)
            assert problem["provider_error"] == error
            assert "jane.doe" not in failed.text.lower()


# --- one verification across channels ------------------------------------------------


async def _outbox(client: Any, to: str = NUMBER) -> list[dict[str, Any]]:
    found = await client.get("/dev/outbox", params={"to": to, "format": "json"})
    return list(found.json())


async def test_another_channel_is_a_resend_within_the_same_send_budget(
    make_settings: SettingsFactory, redis: Redis
) -> None:
    async with client_of(make_settings, max_sends=2) as client:  # every channel: the outbox
        first = (await send(client)).json()
        second = await send(client, channel="voice")
        assert second.status_code == 201, second.text
        assert second.json()["id"] == first["id"]
        assert (second.json()["sends"], second.json()["sends_remaining"]) == (2, 0)
        third = await send(client, channel="whatsapp")
        assert third.status_code == 429 and third.json()["code"] == "max_sends_reached"
        shown = (await client.get(f"/v1/verifications/{first['id']}", headers=AUTH)).json()
        assert shown["channel"] == "voice"
        assert [m["channel"] for m in shown["messages"]] == ["sms", "voice"]
        newest, oldest = await _outbox(client)
        assert (newest["channel"], oldest["channel"]) == ("voice", "sms")
        old_code = re.findall(r"\d{6}", oldest["text"])[0]
        new_code = re.sub(r"\D", "", newest["text"])
        assert (await check(client, old_code)).json()["valid"] is False  # replaced
        assert (await check(client, new_code)).json()["status"] == "approved"


async def test_the_number_s_throttle_counts_its_sends_on_every_channel(
    make_settings: SettingsFactory, redis: Redis
) -> None:
    limits = {"send_per_number": ["2/hour"]}
    async with client_of(make_settings, limits=limits) as client:
        assert (await send(client, purpose="a")).status_code == 201
        assert (await send(client, purpose="b", channel="voice")).status_code == 201
        refused = await send(client, purpose="c", channel="whatsapp")
        assert refused.status_code == 429
        assert (refused.json()["code"], refused.json()["rule"]) == (
            "rate_limited",
            "send_per_number",
        )
        # an email address is a recipient of its own, with its own throttle
        assert (await send(client, to="jo@example.com", channel="email")).status_code == 201


async def test_stats_and_events_name_the_channel(
    make_settings: SettingsFactory, redis: Redis
) -> None:
    async with client_of(make_settings) as client:
        await send(client, channel="voice")
        code = re.sub(r"\D", "", (await _outbox(client))[0]["text"])
        await check(client, code)
        await send(client, to="jo@example.com", channel="email")
        stats = (await client.get("/v1/stats", params={"window": "1h"}, headers=AUTH)).json()
        by_channel = stats["by_channel"]
        assert set(by_channel) == {"voice", "email"}
        assert (by_channel["voice"]["sends"], by_channel["voice"]["approved"]) == (1, 1)
        assert by_channel["email"]["verifications"] == 1
        assert "" not in stats["by_country"]  # an address has no country


# --- bad input -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"channel": "email"}, 422, "invalid_email"),  # a number for email
        ({"to": "jo@example.com"}, 422, "invalid_phone"),  # an address for sms
        ({"to": "jo@example.com", "channel": "voice"}, 422, "invalid_phone"),
        ({"to": "jo@example", "channel": "email"}, 422, "invalid_email"),
        ({"to": "jo smith@example.com", "channel": "email"}, 422, "invalid_email"),
        ({"to": "@example.com", "channel": "email"}, 422, "invalid_email"),
        ({"to": "jo@-example.com", "channel": "email"}, 422, "invalid_email"),
        ({"to": "jo@example.com\n", "channel": "email"}, 400, "invalid_request"),
        ({"to": "j" * 250 + "@example.com", "channel": "email"}, 400, "invalid_request"),
        ({"channel": "fax"}, 400, "invalid_request"),
        ({"channel": "SMS"}, 400, "invalid_request"),
    ],
)
async def test_bad_recipients_and_channels_are_refused_and_change_nothing(
    client: AsyncTestClient[Any], redis: Redis, body: dict[str, Any], status: int, code: str
) -> None:
    before = await stored(redis)
    refused = await send(client, **body)
    assert (refused.status_code, refused.json()["code"]) == (status, code), refused.text
    assert await stored(redis) == before


async def test_a_channel_without_a_route_for_the_number_is_refused_and_changes_nothing(
    make_settings: SettingsFactory, redis: Redis
) -> None:
    settings = {"channel_routes": {"voice": {"+86": ["outbox"]}}}
    async with client_of(make_settings, **settings) as client:
        before = await stored(redis)
        refused = await send(client, channel="voice")
        assert refused.status_code == 422
        assert refused.json()["code"] == "channel_not_available"
        assert await stored(redis) == before
        assert (await send(client, to="+8613800138000", channel="voice")).status_code == 201


async def test_in_prod_a_channel_with_no_route_is_not_offered(
    make_settings: SettingsFactory, redis: Redis
) -> None:
    with twilio_stub() as (_, settings):
        prod = {
            "env": "prod", "pepper": "p" * 40, "providers": settings["providers"],
            "routes": {"default": ["twilio"]},
        }  # fmt: skip
        async with client_of(make_settings, **prod) as client:
            refused = await send(client, to="jo@example.com", channel="email")
            assert refused.json()["code"] == "channel_not_available"


# --- what Redis keeps ----------------------------------------------------------------


async def test_no_email_address_or_code_in_clear_in_redis(
    make_settings: SettingsFactory, redis: Redis
) -> None:
    with serve_smtp() as (sink, port):
        async with client_of(make_settings, **smtp_settings(port)) as client:
            sent = await send(client, to=ADDRESS, channel="email", purpose="signup")
            assert sent.status_code == 201
            await send(client, to=ADDRESS, channel="email", purpose="signup")  # a resend
            assert len(sink.received) == 2
            await check(client, "000000", to=ADDRESS, purpose="signup")
            snapshot = await redis_snapshot(redis)
    assert not [key for key in snapshot if key.startswith(Keys.DEV_PREFIX)]  # no outbox here
    dump = repr(snapshot).lower()
    assert "jane.doe" not in dump and "jane" not in dump
    assert "j***@example.com" in dump  # masked, for the views


async def test_an_address_s_limits_can_be_read_and_cleared(
    make_settings: SettingsFactory, redis: Redis
) -> None:
    limits = {"send_per_number": ["1/hour"]}
    async with client_of(make_settings, limits=limits) as client:
        assert (await send(client, to="jo@example.com", channel="email")).status_code == 201
        again = await send(client, to="jo@example.com", channel="email", purpose="other")
        assert again.status_code == 429
        query = {"to": "Jo@Example.com"}
        shown = (await client.get("/v1/limits", params=query, headers=AUTH)).json()["rules"]
        remaining = {r["rule"]: r["remaining"] for r in shown}
        assert remaining == {"send_per_number": 0, "wrong_checks_per_number": 20}
        cleared = await client.delete("/v1/limits", params=query, headers=AUTH)
        assert cleared.json()["cleared"] == ["send_per_number", "wrong_checks_per_number"]
        assert (
            await send(client, to="jo@example.com", channel="email", purpose="other")
        ).status_code == 201
        bad = await client.get("/v1/limits", params={"to": "jo@"}, headers=AUTH)
        assert bad.json()["code"] == "invalid_email"


async def test_a_whatsapp_read_report_delivers_the_message_on_its_channel(
    make_settings: SettingsFactory, redis: Redis
) -> None:
    with twilio_stub() as (_, settings):
        async with client_of(make_settings, **settings) as client:
            sent = (await send(client, channel="whatsapp")).json()
            path = client.app.state.services.deliveries.callback_path("twilio")
            fields = {"MessageSid": sent["message"]["provider_message_id"],
                      "MessageStatus": "read", "AccountSid": ACCOUNT_SID,
                      "To": f"whatsapp:{NUMBER}", "ChannelPrefix": "whatsapp"}  # fmt: skip
            signature = twilio_signature(AUTH_TOKEN, f"http://testserver.local{path}", fields)
            reply = await client.post(
                path, content=urlencode(fields).encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded",
                         "X-Twilio-Signature": signature},
            )  # fmt: skip
            assert reply.status_code == 200, reply.text
            shown = (await client.get(f"/v1/verifications/{sent['id']}", headers=AUTH)).json()
            assert shown["messages"][0]["status"] == "delivered"
            stats = (await client.get("/v1/stats", params={"window": "1h"}, headers=AUTH)).json()
            assert stats["by_channel"]["whatsapp"]["delivered"] == 1
            assert stats["by_channel"]["whatsapp"]["median_delivery_seconds"] is not None
