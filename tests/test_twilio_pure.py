"""The pure parts of the Twilio-compatible API: SIDs, the error table, form reading, a
start's own name and app hash, the summary's destination prefix."""

from __future__ import annotations

import re

import pytest

from app.errors import ERRORS, OtpgateError
from app.phone import calling_code_of, calling_code_regions
from app.store.keys import SUBJECT_LENGTH, Keys
from app.twilio_verify import sids
from app.twilio_verify.errors import TWILIO_ERRORS, TwilioError, from_otpgate
from app.twilio_verify.forms import CheckForm, StartForm, customization, read_form, start_request
from app.twilio_verify.pages import SummaryQuery
from app.verify.config import Policy
from app.verify.customization import Customization, customized
from tests.test_readme import README

SID = re.compile(r"^[A-Z]{2}[0-9a-f]{32}$")


def test_a_verification_sid_is_its_id_and_reads_back() -> None:
    verification_id = Keys.new_verification_id("b" * SUBJECT_LENGTH)
    sid = sids.verification_sid(verification_id)
    assert sid is not None and SID.fullmatch(sid) and sid.startswith("VE")
    assert sids.verification_id(sid) == verification_id
    assert sids.verification_id("VE" + sid[2:].upper()) == verification_id  # hex in any case
    assert sids.verification_id(verification_id) == verification_id  # ver_… taken as is
    assert sids.verification_id("VA" + sid[2:]) is None
    assert sids.verification_id("VE123") is None


def test_other_sids_are_stable_digests_in_twilio_s_shape() -> None:
    assert sids.service_sid("shop") == sids.service_sid("shop") != sids.service_sid("shop-2")
    made = [
        sids.service_sid("shop"), sids.account_sid("shop"), sids.attempt_sid("ver_x", 1),
        sids.safelist_sid("shop", "num_x"),
    ]  # fmt: skip
    assert [sid[:2] for sid in made] == ["VA", "AC", "VL", "GN"]
    assert all(SID.fullmatch(sid) for sid in made)
    assert sids.attempt_sid("ver_x", 1) != sids.attempt_sid("ver_x", 2)


@pytest.mark.parametrize("code", sorted(ERRORS))
def test_every_otpgate_error_becomes_a_documented_twilio_error(code: str) -> None:
    error = from_otpgate(OtpgateError(code, "why it happened"))
    assert error.code in TWILIO_ERRORS
    assert error.status == TWILIO_ERRORS[error.code][0]
    body = error.body()
    assert body.more_info == f"https://www.twilio.com/docs/errors/{error.code}"


def test_every_twilio_code_is_in_the_readme_with_its_status() -> None:
    table = README.split("Twilio's errors, as", 1)[1].split("### Error codes", 1)[0]
    for code, (status, _) in TWILIO_ERRORS.items():
        assert re.search(rf"^\| {code} \| {status} \|", table, flags=re.MULTILINE), code


def test_a_send_throttled_per_number_is_60212_and_keeps_its_retry_after() -> None:
    error = from_otpgate(OtpgateError("rate_limited", retry_after=12.2, rule="send_per_number"))
    assert (error.code, error.status, error.headers()) == (60212, 429, {"Retry-After": "13"})
    assert from_otpgate(OtpgateError("rate_limited", rule="send_per_ip")).code == 20429


def test_a_form_names_the_parameter_it_cannot_read() -> None:
    with pytest.raises(TwilioError, match="Invalid parameter: To") as caught:
        read_form({"Channel": "sms"}, StartForm)
    assert caught.value.code == 60200
    with pytest.raises(TwilioError, match="Invalid parameter: To"):
        read_form({"To": ["+8613800138000", "+8613800138001"], "Channel": "sms"}, StartForm)
    with pytest.raises(TwilioError, match="TemplateSid") as unsupported:
        read_form({"To": "+8613800138000", "Channel": "sms", "TemplateSid": "HJ1"}, StartForm)
    assert unsupported.value.code == 60204
    assert read_form({"Code": "123456", "Unknown": "x"}, CheckForm).code == "123456"


def test_a_start_becomes_otpgate_s_send_with_purpose_login() -> None:
    form = read_form(
        {"To": "+8613800138000", "Channel": "SMS", "Locale": "zh-CN", "DeviceIp": "203.0.113.7"},
        StartForm,
    )
    request = start_request(form)
    assert (request.to, request.channel, request.locale, request.client_ip, request.purpose) == (
        "+8613800138000", "sms", "zh-CN", "203.0.113.7", "login",
    )  # fmt: skip


def test_a_start_s_own_name_and_app_hash_become_its_customization() -> None:
    form = read_form(
        {"To": "+8613800138000", "Channel": "sms", "CustomFriendlyName": "Ada's 商店",
         "AppHash": "FA+9qCX9VSu"},
        StartForm,
    )  # fmt: skip
    assert customization(form, "sms") == Customization("Ada's 商店", "FA+9qCX9VSu")
    with pytest.raises(TwilioError) as caught:
        customization(form, "voice")  # an app hash on a call: Twilio's 60602
    assert (caught.value.code, caught.value.status) == (60602, 400)
    named = read_form({"To": "ada@example.com", "Channel": "email", "CustomFriendlyName": "Ada"},
                      StartForm)  # fmt: skip
    assert customization(named, "email") == Customization("Ada")


@pytest.mark.parametrize(
    ("own", "field"),
    [
        (Customization("x" * 30), None),
        (Customization("商" * 21), None),  # 63 bytes
        (Customization("x" * 31), "app_name"),
        (Customization("商" * 22), "app_name"),  # 66 bytes: the record would lose its listpack
        (Customization("Shop\tLtd"), "app_name"),
        (Customization("Shop\u0085"), "app_name"),  # a C1 control character
        (Customization(""), "app_name"),
        (Customization(None, "FA+9qCX9VSu"), None),
        (Customization(None, "FA+9qCX9VSuX"), "android_app_hash"),
        (Customization(None, "FA-9qCX9VSu"), "android_app_hash"),  # base64url is not it
    ],
)
def test_a_customization_is_checked_field_by_field(own: Customization, field: str | None) -> None:
    problem = own.problem()
    assert (problem[0] if problem else None) == field


def test_the_customized_policy_changes_the_name_everywhere_and_the_hash_in_sms_only() -> None:
    policy = Policy(6, 300, 5, 5, 60, "replace", app_name="Shop", android_app_hash="Own+App/Has")
    sms = customized(policy, "sms", "Ada", "FA+9qCX9VSu")
    assert (sms.app_name, sms.android_app_hash) == ("Ada", "FA+9qCX9VSu")
    assert sms.message("{app_name}: {code}", "123456") == "Ada: 123456\n\nFA+9qCX9VSu"
    whatsapp = customized(policy, "whatsapp", "Ada", "FA+9qCX9VSu")
    assert (whatsapp.app_name, whatsapp.android_app_hash) == ("Ada", "Own+App/Has")
    assert customized(policy, "sms", "", "") is policy


PREFIXES = [
    ("+86", {"CN"}), (" 86", {"CN"}), ("86", {"CN"}), ("+44", {"GB", "GG", "IM", "JE"}),
    ("+800", {"001"}),
]  # fmt: skip


@pytest.mark.parametrize(("prefix", "regions"), PREFIXES)
def test_a_destination_prefix_is_a_calling_code_s_countries(prefix: str, regions: set[str]) -> None:
    assert SummaryQuery(prefix=prefix).regions() == regions


def test_a_destination_prefix_and_a_country_count_the_country_if_it_has_that_code() -> None:
    assert {"US", "CA", "PR", "JM"} <= (SummaryQuery(prefix="+1").regions() or set())
    assert SummaryQuery(prefix="+1", country="ca").regions() == {"CA"}
    assert SummaryQuery(prefix="+1", country="CN").regions() == set()
    assert SummaryQuery(country="CN").regions() == {"CN"}
    assert SummaryQuery().regions() is None


@pytest.mark.parametrize("prefix", ["+86138", "+1415", "+999", "+", "", "+８６", "86a", "++86"])
def test_any_other_destination_prefix_is_60200_saying_why(prefix: str) -> None:
    with pytest.raises(TwilioError, match="Invalid parameter: DestinationPrefix") as caught:
        SummaryQuery(prefix=prefix).regions()
    assert caught.value.code == 60200 and "filters by calling code" in caught.value.message


def test_a_calling_code_is_the_first_known_one_of_the_digits() -> None:
    assert [calling_code_of(d) for d in ("8613800138000", "1415", "44", "999", "", "8")] == [
        86, 1, 44, None, None, None,
    ]  # fmt: skip
    assert calling_code_regions(86) == ("CN",) and calling_code_regions(999) == ()
