"""The pure parts of templates: otpgate's rules and each provider's, which providers need a
template, the state a template's providers make, its SMS encoding and parts, locales."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from app.settings import load_settings
from app.store.templates import ProviderReview
from app.templates.models import ProviderInput
from app.templates.preview import encoding_of, segments
from app.templates.rules import check_template, otpgate_problems, registered_providers
from app.templates.service import canonical_locale
from app.templates.states import overall
from app.verify.texts import MessageTexts
from tests.providers import test_aliyun, test_cloopen, test_huawei, test_twilio
from tests.templates.conftest import ZH


def settings(routes: dict[str, list[str]], **apps: Any) -> Any:
    configs = {
        "aliyun": test_aliyun.make_config(),
        "huawei": test_huawei.config(),
        "cloopen": test_cloopen.config(),
        "twilio": test_twilio.config(),
    }
    tables = {name: {"type": name, **msgspec.to_builtins(c)} for name, c in configs.items()}
    return load_settings({}, overrides={"providers": tables, "routes": routes, "apps": apps})


# --- otpgate's own rules ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Your code", "the text must hold {code}"),
        ("Hi {name}, {code}", "{name} is not a variable"),
        ("Code {code", "expected '}' before end of string (write a literal brace as {{ or }})"),
        ("Code {code:>8}", "{code} takes no format or conversion (write a literal brace as"),
        ("Code\x07{code}", "a control character (only the newline is allowed)"),
    ],
)
def test_otpgate_refuses_texts_a_send_could_not_render(text: str, problem: str) -> None:
    assert any(found.startswith(problem) for found in otpgate_problems(text)), otpgate_problems(
        text
    )


def test_the_three_variables_a_newline_and_literal_braces_are_fine() -> None:
    assert otpgate_problems("{app_name}\n{{tip}}: {code} ({minutes} min)") == []


# --- which providers need a template ------------------------------------------------------


def test_template_providers_of_the_app_s_routes_need_one_and_free_text_ones_do_not() -> None:
    both = settings({"+86": ["aliyun", "twilio"], "default": ["twilio"]},
                    shop={"routes": {"+852": ["huawei"]}})  # fmt: skip
    assert list(registered_providers(both, "default")) == ["aliyun"]
    assert list(registered_providers(both, "shop")) == ["aliyun", "huawei"]


def test_a_provider_outside_the_routes_or_without_a_template_id_is_named() -> None:
    config = settings({"+86": ["aliyun", "huawei"], "default": ["twilio"]})
    problems = check_template(ZH, {"twilio": ProviderInput(sign_name="x")}, config, "default")
    assert [(p.key, p.message) for p in problems] == [
        ("providers.twilio", "twilio is not a template provider of this app's routes"),
        ("providers.huawei.template_id",
         "the id of the template you registered at huawei (huawei) is required"),
    ]  # fmt: skip


def test_a_sign_name_for_a_provider_that_sends_none_is_refused() -> None:
    config = settings({"+86": ["cloopen"], "default": ["twilio"]})
    given = {"cloopen": ProviderInput(template_id="1", sign_name="小店")}
    problems = check_template(ZH, given, config, "default")
    assert [(p.key, p.message) for p in problems] == [
        ("providers.cloopen.sign_name", "cloopen sends no sign name")
    ]
    assert check_template(ZH, {"cloopen": ProviderInput(template_id="1")}, config, "default") == []


def test_alibaba_registers_its_own_and_its_rules_name_the_provider() -> None:
    config = settings({"+86": ["aliyun"], "default": ["twilio"]}, shop={"code_length": 8})
    given = {"aliyun": ProviderInput(template_id="SMS_1")}
    problems = check_template("Your code is {code}", given, config, "shop")
    assert [p.key for p in problems] == ["providers.aliyun.template_id", "text", "text"]
    assert problems[1].message.startswith("aliyun (aliyun): its code variable holds 4-6")
    assert "验证码" in problems[2].message


def test_a_text_for_free_text_routes_only_keeps_otpgate_s_rules_alone() -> None:
    config = settings({"default": ["twilio"]})
    assert check_template("Your code is {code}", {}, config, "default") == []


# --- a template's state -------------------------------------------------------------------


def review(state: str, reason: str | None = None) -> ProviderReview:
    return ProviderReview("aliyun", "provider", state, reason=reason)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("states", "requested", "expected"),
    [
        ({}, False, ("draft", None)),
        ({}, True, ("approved", None)),  # free text only: the admin's submit approves
        ({"a": "draft", "b": "submitted"}, True, ("draft", None)),  # one still to send
        ({"a": "submitted", "b": "approved"}, True, ("submitted", None)),
        ({"a": "approved", "b": "approved"}, True, ("approved", None)),
        ({"a": "approved", "b": "rejected"}, True, ("rejected", "b: too vague")),
    ],
)
def test_a_template_s_state_follows_its_providers(
    states: dict[str, str], requested: bool, expected: tuple[str, str | None]
) -> None:
    providers = {
        name: review(state, "too vague" if state == "rejected" else None)
        for name, state in states.items()
    }
    assert overall(providers, requested) == expected


# --- SMS encoding and parts ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "encoding", "parts"),
    [
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("a" * 306, "GSM-7", 2),
        ("a" * 307, "GSM-7", 3),
        ("€" * 80, "GSM-7", 1),  # an extension character costs two septets
        ("€" * 81, "GSM-7", 2),
        ("a" * 152 + "€", "GSM-7", 1),
        ("a" * 153 + "€" * 4, "GSM-7", 2),  # 161 septets; the escape is not split
        ("验" * 70, "UCS-2", 1),
        ("验" * 71, "UCS-2", 2),
        ("验" * 134, "UCS-2", 2),
        ("😀" * 35, "UCS-2", 1),  # two UTF-16 units each
        ("😀" * 36, "UCS-2", 2),
    ],
)
def test_encoding_and_parts_follow_the_gsm_standards(text: str, encoding: str, parts: int) -> None:
    assert (encoding_of(text), segments(text)) == (encoding, parts)


# --- locales ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "canonical"),
    [("zh_cn", "zh-CN"), ("EN", "en"), ("zh-hant-tw", "zh-Hant-TW"), ("fr-CA", "fr-CA")],
)
def test_locales_are_kept_in_bcp_47_letter_case(written: str, canonical: str) -> None:
    assert canonical_locale(written) == canonical


def test_an_app_s_template_locales_join_the_fallback_fr_ca_fr_en() -> None:
    texts = MessageTexts()
    assert texts.resolve("fr-CA", "CA") == "en"
    assert texts.resolve("fr-CA", "CA", ["fr"]) == "fr"
    assert texts.resolve("fr", "FR", ["fr-CA"]) == "fr-CA"
    assert texts.resolve("de-AT", "AT", ["fr"]) == "en"
