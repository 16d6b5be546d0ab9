"""The Twilio Verify-compatible API, driven by the official Twilio SDK against a live
otpgate on loopback: services, verifications, checks, the safe list, attempts, and the
errors Twilio's clients branch on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException

from app.twilio_verify.sids import service_sid, verification_id, verification_sid
from tests.conftest import API_KEY, AUTH, latest_code
from tests.stubs.twilio_sdk import sdk_client

pytestmark = pytest.mark.topologies

NUMBER = "+8613800138000"


class Live:
    """A live otpgate and SDK clients of it."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.base = str(http.base_url).rstrip("/")
        self.root = sdk_client(self.base, "bootstrap", API_KEY)  # default app, every scope

    def client(self, key_id: str, key: str) -> Any:
        return sdk_client(self.base, key_id, key)

    async def key(self, app: str, *scopes: str) -> tuple[str, str]:
        created = await self.http.post(
            f"/v1/apps/{app}/keys", json={"scopes": list(scopes)}, headers=AUTH
        )
        assert created.status_code == 201, created.text
        body = created.json()
        return body["api_key"]["id"], body["key"]


@pytest.fixture
async def live(make_live_client: Callable[..., Any]) -> AsyncIterator[Live]:
    async with make_live_client() as http:
        yield Live(http)


def run(call: Callable[[], Any]) -> Any:
    """The SDK is synchronous: run it off the test's event loop."""
    return asyncio.to_thread(call)


async def refused(call: Callable[[], Any]) -> TwilioRestException:
    with pytest.raises(TwilioRestException) as caught:
        await run(call)
    return caught.value


async def test_a_service_verification_wrong_and_right_check(live: Live) -> None:
    service = await run(lambda: live.root.verify.v2.services.create(friendly_name="Shop"))
    assert service.sid.startswith("VA") and len(service.sid) == 34
    assert service.friendly_name == "Shop" and service.code_length == 6
    verifications = live.root.verify.v2.services(service.sid)
    started = await run(lambda: verifications.verifications.create(to=NUMBER, channel="sms"))
    assert started.sid.startswith("VE") and len(started.sid) == 34
    assert (started.status, started.to, started.channel, started.valid) == (
        "pending", NUMBER, "sms", False,
    )  # fmt: skip
    assert started.service_sid == service.sid
    assert [a["channel"] for a in started.send_code_attempts] == ["sms"]
    code = await latest_code(live.http, NUMBER)
    wrong = "0" * 6 if code != "0" * 6 else "1" * 6
    miss = await run(lambda: verifications.verification_checks.create(to=NUMBER, code=wrong))
    assert (miss.status, miss.valid, miss.sid) == ("pending", False, started.sid)
    hit = await run(lambda: verifications.verification_checks.create(to=NUMBER, code=code))
    assert (hit.status, hit.valid, hit.to) == ("approved", True, NUMBER)
    fetched = await run(lambda: verifications.verifications(started.sid).fetch())
    assert (fetched.status, fetched.valid, fetched.to) == ("approved", True, "+86138****8000")


async def test_one_verification_through_both_apis(live: Live) -> None:
    default = live.root.verify.v2.services(service_sid("default"))
    started = await run(lambda: default.verifications.create(to=NUMBER, channel="sms"))
    read = await live.http.get(f"/v1/verifications/{verification_id(started.sid)}", headers=AUTH)
    assert read.status_code == 200 and read.json()["status"] == "pending"
    # and the other way round: started through /v1, checked and canceled through Twilio
    other = "+8613800138001"
    sent = await live.http.post("/v1/verifications", json={"to": other}, headers=AUTH)
    sid = verification_sid(sent.json()["id"])
    fetched = await run(lambda: default.verifications(sid).fetch())
    assert (fetched.sid, fetched.status, fetched.to) == (sid, "pending", "+86138****8001")
    by_own_id = await run(lambda: default.verifications(sent.json()["id"]).fetch())
    assert by_own_id.sid == sid
    canceled = await run(lambda: default.verifications(sid).update(status="canceled"))
    assert canceled.status == "canceled"
    after = await live.http.get(f"/v1/verifications/{sent.json()['id']}", headers=AUTH)
    assert after.json()["status"] == "canceled"


async def test_an_approval_without_the_code_reads_approved_through_both_apis(
    live: Live,
) -> None:
    default = live.root.verify.v2.services(service_sid("default"))
    started = await run(lambda: default.verifications.create(to=NUMBER, channel="sms"))
    code = await latest_code(live.http, NUMBER)
    approved = await run(lambda: default.verifications(started.sid).update(status="approved"))
    assert (approved.sid, approved.status, approved.valid) == (started.sid, "approved", True)
    fetched = await run(lambda: default.verifications(started.sid).fetch())
    assert (fetched.status, fetched.valid) == ("approved", True)
    native = await live.http.get(f"/v1/verifications/{verification_id(started.sid)}", headers=AUTH)
    assert native.json()["status"] == "approved"
    # the code approves nothing more; the attempt converted, and counts once
    late = await refused(
        lambda: default.verification_checks.create(verification_sid=started.sid, code=code)
    )
    assert (late.status, late.code) == (404, 20404)
    v2 = live.root.verify.v2
    (attempt,) = await run(lambda: v2.verification_attempts.list())
    assert attempt.conversion_status == "converted"
    summary = await run(lambda: v2.verification_attempts_summary().fetch())
    assert (summary.total_attempts, summary.total_converted) == (1, 1)
    assert float(summary.conversion_rate_percentage) == 100.0
    again = await refused(lambda: default.verifications(started.sid).update(status="approved"))
    assert (again.status, again.code) == (404, 20404)


async def test_starting_again_resends_under_the_same_sid(live: Live) -> None:
    default = live.root.verify.v2.services(service_sid("default"))
    first = await run(lambda: default.verifications.create(to=NUMBER, channel="sms"))
    again = await run(lambda: default.verifications.create(to=NUMBER, channel="sms"))
    assert again.sid == first.sid
    assert len(again.send_code_attempts) == 2
    assert len({attempt["attempt_sid"] for attempt in again.send_code_attempts}) == 2


async def test_services_list_update_and_delete(live: Live) -> None:
    v2 = live.root.verify.v2
    created = await run(lambda: v2.services.create(friendly_name="Shop", code_length=8))
    twin = await run(lambda: v2.services.create(friendly_name="Shop"))  # as Twilio allows
    assert twin.sid != created.sid and created.code_length == 8
    listed = await run(lambda: v2.services.list(page_size=2))  # follows next_page_url
    assert {service.sid for service in listed} == {service_sid("default"), created.sid, twin.sid}
    changed = await run(lambda: v2.services(created.sid).update(friendly_name="Shop & Co"))
    assert changed.friendly_name == "Shop & Co"
    assert (await run(lambda: v2.services(created.sid).fetch())).friendly_name == "Shop & Co"
    assert await run(lambda: v2.services(twin.sid).delete()) is True
    app = await live.http.get("/v1/apps/shop-2", headers=AUTH)
    assert app.json()["disabled"] is True


async def test_an_app_key_sees_its_own_service_only(live: Live) -> None:
    shop = await run(lambda: live.root.verify.v2.services.create(friendly_name="Shop"))
    key_id, key = await live.key("default", "verify")
    mine = live.client(key_id, key).verify.v2
    error = await refused(
        lambda: mine.services(shop.sid).verifications.create(to=NUMBER, channel="sms")
    )
    assert (error.status, error.code) == (404, 20404)
    started = await run(
        lambda: mine.services(service_sid("default")).verifications.create(to=NUMBER, channel="sms")
    )
    assert started.status == "pending"
    error = await refused(lambda: mine.services.create(friendly_name="Mine"))
    assert (error.status, error.code) == (403, 20403)


@pytest.mark.parametrize(
    "credentials",
    [("bootstrap", "otpg_wrong"), ("0123456789abcdef", API_KEY), ("", "")],
    ids=["wrong key", "another key's id", "none"],
)
async def test_wrong_basic_auth_is_20003(live: Live, credentials: tuple[str, str]) -> None:
    client = live.client(*credentials)
    error = await refused(lambda: client.verify.v2.services(service_sid("default")).fetch())
    assert (error.status, error.code) == (401, 20003)
    assert "Authenticate" in error.msg


async def test_safe_list_add_fetch_remove(live: Live) -> None:
    safelist = live.root.verify.v2.safelist
    added = await run(lambda: safelist.create(phone_number=NUMBER))
    assert added.sid.startswith("GN") and added.phone_number == NUMBER
    numbers = await live.http.get("/v1/apps/default/safe-numbers", headers=AUTH)
    assert [entry["number"] for entry in numbers.json()["numbers"]] == ["+86138****8000"]
    fetched = await run(lambda: safelist(NUMBER).fetch())
    assert fetched.sid == added.sid
    assert await run(lambda: safelist(NUMBER).delete()) is True
    error = await refused(lambda: safelist(NUMBER).fetch())
    assert (error.status, error.code) == (404, 20404)
    error = await refused(lambda: safelist.create(phone_number="12345"))
    assert (error.status, error.code) == (400, 60200)


async def test_attempts_and_their_summary(live: Live) -> None:
    default = live.root.verify.v2.services(service_sid("default"))
    first = await run(lambda: default.verifications.create(to=NUMBER, channel="sms"))
    other = await run(lambda: default.verifications.create(to="+8613800138001", channel="sms"))
    code = await latest_code(live.http, NUMBER)
    await run(lambda: default.verification_checks.create(verification_sid=first.sid, code=code))
    v2 = live.root.verify.v2
    attempts = await run(lambda: v2.verification_attempts.list(page_size=1))
    assert [a.verification_sid for a in attempts] == [other.sid, first.sid]  # newest first
    assert [a.conversion_status for a in attempts] == ["unconverted", "converted"]
    assert attempts[1].sid == first.send_code_attempts[0]["attempt_sid"]
    assert attempts[1].channel_data["country"] == "CN"
    mine = await run(lambda: v2.verification_attempts.list(verification_sid=first.sid))
    assert [a.sid for a in mine] == [attempts[1].sid]
    to = await run(lambda: v2.verification_attempts.list(channel_data_to="+8613800138001"))
    assert [a.verification_sid for a in to] == [other.sid]
    converted = await run(lambda: v2.verification_attempts.list(status="converted"))
    assert [a.verification_sid for a in converted] == [first.sid]
    fetched = await run(lambda: v2.verification_attempts(attempts[0].sid).fetch())
    assert fetched.verification_sid == other.sid
    summary = await run(lambda: v2.verification_attempts_summary().fetch())
    assert (summary.total_attempts, summary.total_converted, summary.total_unconverted) == (2, 1, 1)
    assert float(summary.conversion_rate_percentage) == 50.0
    by_country = await run(lambda: v2.verification_attempts_summary().fetch(country="US"))
    assert by_country.total_attempts == 0 and by_country.conversion_rate_percentage is None


async def test_attempts_and_the_summary_filter_by_each_message_s_channel(live: Live) -> None:
    default = live.root.verify.v2.services(service_sid("default"))
    sms = await run(lambda: default.verifications.create(to=NUMBER, channel="sms"))
    call = await run(lambda: default.verifications.create(to="+8613800138001", channel="call"))
    # a resend of the SMS one by call: that attempt is a call, its first one stays an SMS
    await run(lambda: default.verifications.create(to=NUMBER, channel="call"))
    v2 = live.root.verify.v2
    calls = await run(lambda: v2.verification_attempts.list(channel="call"))
    assert sorted(a.verification_sid for a in calls) == sorted([call.sid, sms.sid])
    assert {a.channel for a in calls} == {"call"}
    texts = await run(lambda: v2.verification_attempts.list(channel="SMS"))
    assert [(a.verification_sid, a.channel) for a in texts] == [(sms.sid, "sms")]
    assert await run(lambda: v2.verification_attempts.list(channel="email")) == []
    outbox = await live.http.get("/dev/outbox", params={"to": "+8613800138001", "format": "json"})
    code = "".join(ch for ch in outbox.json()[0]["text"] if ch.isdigit())  # said "1, 2, 3, …"
    await run(lambda: default.verification_checks.create(verification_sid=call.sid, code=code))
    summary = v2.verification_attempts_summary()
    by_call = await run(lambda: summary.fetch(channel="call"))
    assert (by_call.total_attempts, by_call.total_converted) == (1, 1)
    by_sms = await run(lambda: summary.fetch(channel="sms"))
    assert (by_sms.total_attempts, by_sms.total_converted) == (1, 0)
    for wrong, status, code_ in (({"channel": "fax"}, 400, 60200),
                                 ({"channel": "sms", "country": "CN"}, 403, 60204)):  # fmt: skip
        with pytest.raises(TwilioRestException) as raised:
            await run(lambda w=wrong: summary.fetch(**w))  # type: ignore[misc]
        assert (raised.value.status, raised.value.code) == (status, code_)


async def test_a_summary_by_destination_prefix_counts_that_calling_code_s_countries(
    live: Live,
) -> None:
    default = live.root.verify.v2.services(service_sid("default"))
    numbers = {"cn": NUMBER, "cn2": "+8613800138001", "us": "+14155552671",
               "ca": "+15062345678", "gb": "+447400123456"}  # fmt: skip
    started = {
        name: await run(lambda to=to: default.verifications.create(to=to, channel="sms"))
        for name, to in numbers.items()
    }
    code = await latest_code(live.http, NUMBER)
    await run(lambda: default.verification_checks.create(to=NUMBER, code=code))
    await run(lambda: default.verifications(started["us"].sid).update(status="approved"))
    summary = live.root.verify.v2.verification_attempts_summary()

    async def counted(**filters: str) -> tuple[int, int, str | None]:
        found = await run(lambda: summary.fetch(**filters))
        return found.total_attempts, found.total_converted, found.conversion_rate_percentage

    assert await counted() == (5, 2, "40.0")
    assert await counted(destination_prefix="+86") == (2, 1, "50.0")
    assert await counted(destination_prefix="+1") == (2, 1, "50.0")  # the US and Canada
    assert await counted(destination_prefix="+1", country="CA") == (1, 0, "0.0")
    assert await counted(destination_prefix="+1", country="CN") == (0, 0, None)
    assert await counted(destination_prefix="+44") == (1, 0, "0.0")
    assert await counted(destination_prefix="+7") == (0, 0, None)
    # a + the query string did not encode arrives as a space: still +44
    raw = await live.http.get(
        "/twilio/v2/Attempts/Summary?DestinationPrefix=+44", auth=("bootstrap", API_KEY)
    )
    assert raw.status_code == 200 and raw.json()["total_attempts"] == 1


async def test_the_readme_s_switch_is_one_base_url(live: Live) -> None:
    """The migration guide's way: Twilio's own client, ``client.verify.base_url`` set."""
    from twilio.rest import Client

    from tests.stubs.twilio_sdk import LoopbackHttpClient

    http_client = LoopbackHttpClient("http://unused.invalid")  # no rewrite: only the guard
    client = Client("bootstrap", API_KEY, http_client=http_client)
    client.verify.base_url = f"{live.base}/twilio"
    service = client.verify.v2.services(service_sid("default"))
    started = await run(lambda: service.verifications.create(to=NUMBER, channel="sms"))
    assert started.status == "pending"
    assert http_client.urls == [
        f"{live.base}/twilio/v2/Services/{service_sid('default')}/Verifications"
    ]


@pytest.mark.parametrize(
    ("resource", "module"),
    [
        ("ServiceResource", "service/__init__.py"),
        ("VerificationResource", "service/verification.py"),
        ("CheckResource", "service/verification_check.py"),
        ("SafeListResource", "safelist.py"),
        ("AttemptResource", "verification_attempt.py"),
        ("Summary", "verification_attempts_summary.py"),
    ],
)
def test_each_resource_has_every_field_the_sdk_reads_and_no_other(
    resource: str, module: str
) -> None:
    import re
    from pathlib import Path

    import msgspec
    import twilio

    from app.twilio_verify import resources

    source = (Path(twilio.__file__).parent / "rest/verify/v2" / module).read_text()
    instance = source.split("Instance(InstanceResource):", 1)[1].split("def _proxy", 1)[0]
    read = set(re.findall(r'payload\.get\(\s*"(\w+)"', instance))
    fields = {field.encode_name for field in msgspec.structs.fields(getattr(resources, resource))}
    assert fields == read


async def test_a_custom_code_where_the_service_allows_it(live: Live) -> None:
    v2 = live.root.verify.v2
    service = await run(lambda: v2.services.create(friendly_name="Own", custom_code_enabled=True))
    assert service.custom_code_enabled is True
    own = v2.services(service.sid)
    error = await refused(
        lambda: own.verifications.create(to=NUMBER, channel="sms", custom_code="12")
    )
    assert (error.status, error.code) == (400, 60200) and "CustomCode" in error.msg
    started = await run(
        lambda: own.verifications.create(to=NUMBER, channel="sms", custom_code="135790")
    )
    assert "135790" in (await live.http.get(
        "/dev/outbox", params={"to": NUMBER, "format": "json"}
    )).json()[0]["text"]  # fmt: skip
    hit = await run(
        lambda: own.verification_checks.create(verification_sid=started.sid, code="135790")
    )
    assert hit.status == "approved"
    off = await run(lambda: v2.services(service.sid).update(custom_code_enabled=False))
    assert off.custom_code_enabled is False
    error = await refused(
        lambda: own.verifications.create(to=NUMBER, channel="sms", custom_code="135790")
    )
    assert (error.status, error.code) == (403, 60204)


async def test_a_twilio_call_and_email_are_otpgate_voice_and_email(live: Live) -> None:
    verifications = live.root.verify.v2.services(service_sid("default")).verifications
    called = await run(lambda: verifications.create(to=NUMBER, channel="call"))
    assert called.channel == "call"
    mine = await live.http.get(f"/v1/verifications/{verification_id(called.sid)}", headers=AUTH)
    assert mine.status_code == 200, mine.text
    assert mine.json()["channel"] == "voice"
    mailed = await run(lambda: verifications.create(to="ada@example.com", channel="email"))
    assert mailed.channel == "email" and mailed.sid != called.sid


async def outbox(live: Live, to: str) -> list[dict[str, Any]]:
    """The messages to ``to``, newest first."""
    answer = await live.http.get("/dev/outbox", params={"to": to, "format": "json"})
    return list(answer.json())


NAMED = {"messages": dict.fromkeys(["en", "zh-CN"], "{app_name}: your code is {code}.")}


async def test_a_custom_friendly_name_names_the_app_in_that_verification_s_messages(
    make_live_client: Callable[..., Any],
) -> None:
    async with make_live_client(**NAMED) as http:
        live = Live(http)
        verifications = live.root.verify.v2.services(service_sid("default")).verifications
        name = "Ada's 商店"
        started = await run(
            lambda: verifications.create(to=NUMBER, channel="sms", custom_friendly_name=name)
        )
        assert (await outbox(live, NUMBER))[0]["text"].startswith("Ada's 商店: your code is ")
        again = await run(lambda: verifications.create(to=NUMBER, channel="sms"))  # a resend
        assert again.sid == started.sid
        assert (await outbox(live, NUMBER))[0]["text"].startswith("Ada's 商店: your code is ")
        other = "+8613800138001"  # another verification says the app's own name
        await run(lambda: verifications.create(to=other, channel="sms"))
        assert (await outbox(live, other))[0]["text"].startswith("default: your code is ")
        await run(
            lambda: verifications.create(
                to="ada@example.com", channel="email", custom_friendly_name="Ada's Shop"
            )
        )
        (mail,) = await outbox(live, "ada@example.com")
        assert "Ada's Shop" in mail["subject"] and "Your Ada's Shop verification" in mail["text"]


async def test_an_app_hash_ends_that_verification_s_sms_and_its_resends(
    make_live_client: Callable[..., Any],
) -> None:
    own = {"apps": {"default": {"android_app_hash": "Own+App/Has"}}}
    async with make_live_client(**own) as http:
        live = Live(http)
        verifications = live.root.verify.v2.services(service_sid("default")).verifications
        started = await run(
            lambda: verifications.create(to=NUMBER, channel="sms", app_hash="FA+9qCX9VSu")
        )
        text = (await outbox(live, NUMBER))[0]["text"]
        assert text.endswith("\n\nFA+9qCX9VSu") and "Own+App/Has" not in text
        code = await latest_code(live.http, NUMBER)
        assert text.startswith(f"您的验证码为{code}，")
        await run(lambda: verifications.create(to=NUMBER, channel="sms"))  # a resend
        assert (await outbox(live, NUMBER))[0]["text"].endswith("\n\nFA+9qCX9VSu")
        await run(lambda: verifications.create(to=NUMBER, channel="call"))  # said, not read
        assert "FA+9qCX9VSu" not in (await outbox(live, NUMBER))[0]["text"]
        other = "+8613800138001"  # another verification ends with the app's own
        await run(lambda: verifications.create(to=other, channel="sms"))
        assert (await outbox(live, other))[0]["text"].endswith("\n\nOwn+App/Has")
        assert started.status == "pending"
