"""The settings of channels: routes per channel, the providers each may name, their
texts, checked at start with a message that says what to change."""

from __future__ import annotations

from typing import Any

import pytest

from app.providers.accounts import served
from app.settings import ConfigError, load_settings
from app.verify.config import EmailText, Policy
from app.verify.texts import MessageTexts

TWILIO = {"type": "twilio", "account_sid": "AC1", "auth_token": "t", "from": "+15005550006"}
SMTP = {"type": "smtp", "host": "smtp.example.com", "from": "no-reply@example.com"}
TENCENT_VOICE = {
    "type": "tencent_voice", "secret_id": "AKID", "secret_key": "k", "voice_sdk_app_id": "1400",
    "templates": {"en": {"id": "4356"}},
}  # fmt: skip


def settings(**values: Any) -> Any:
    return load_settings({}, overrides=values)


def test_without_channel_routes_every_channel_goes_to_the_outbox_outside_prod() -> None:
    tables = settings().channel_tables()
    assert tables == {c: {"default": ["outbox"]} for c in ("sms", "voice", "whatsapp", "email")}


def test_in_prod_a_channel_has_only_the_routes_it_is_given() -> None:
    prod = settings(
        env="prod", pepper="p" * 40, providers={"twilio": TWILIO}, routes={"default": ["twilio"]}
    )
    assert prod.channel_tables() == {
        "sms": {"default": ["twilio"]}, "voice": {}, "whatsapp": {}, "email": {},
    }  # fmt: skip


def test_an_app_overrides_a_channel_s_routes_by_key() -> None:
    providers = {"tv": TENCENT_VOICE, "twilio": {**TWILIO, "channels": ["sms", "voice"]}}
    own = settings(
        providers=providers, channel_routes={"voice": {"default": ["twilio"]}},
        apps={"shop": {"channel_routes": {"voice": {"+86": ["tv"]}}}},
    )  # fmt: skip
    assert own.channel_tables("shop")["voice"] == {"default": ["twilio"], "+86": ["tv"]}
    assert own.channel_tables("other")["voice"] == {"default": ["twilio"]}


def test_accounts_serve_their_channels() -> None:
    configured = settings(
        providers={"twilio": {**TWILIO, "channels": ["sms", "voice"]}, "tv": TENCENT_VOICE,
                   "mail": SMTP, "plain": TWILIO},
    ).providers  # fmt: skip
    assert served(configured["twilio"]) == {"sms", "voice"}
    assert served(configured["plain"]) == {"sms"}
    assert served(configured["tv"]) == {"voice"}
    assert served(configured["mail"]) == {"email"}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"providers": {"twilio": TWILIO}, "channel_routes": {"voice": {"default": ["twilio"]}}},
         "channel_routes.voice: provider 'twilio' does not serve voice"),
        ({"providers": {"mail": SMTP}, "routes": {"default": ["mail"]}},
         "routes: provider 'mail' does not serve sms"),
        ({"channel_routes": {"email": {"+86": ["outbox"]}}}, "email has one route"),
        ({"channel_routes": {"voice": {"86": ["outbox"]}}}, "neither 'default' nor a calling"),
        ({"channel_routes": {"voice": {"default": ["nobody"]}}}, "no provider named 'nobody'"),
        ({"channel_routes": {"fax": {"default": ["outbox"]}}}, "fax"),
        ({"apps": {"shop": {"channel_routes": {"email": {"default": ["twilio"]}}}},
          "providers": {"twilio": TWILIO}}, "does not serve email"),
        ({"providers": {"twilio": {**TWILIO, "channels": ["whatsapp"]}}}, "whatsapp_templates"),
        ({"providers": {"twilio": {**TWILIO, "channels": ["whatsapp"],
                                   "whatsapp_templates": {"zh-CN": {"id": "HX1"}}}}},
         "no template for locale 'en'"),
        ({"voice_messages": {"en": "no code here"}}, "voice_messages.en must contain"),
        ({"email_messages": {"en": {"subject": "{nope}", "text": "{code}"}}}, "email_messages"),
        ({"email_messages": {"en": {"subject": "hi", "text": "no code"}}}, "must contain"),
        ({"providers": {"mail": {**SMTP, "from": "nobody"}}}, "smtp: `from`"),
    ],
)  # fmt: skip
def test_a_wrong_channel_setting_stops_the_start(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        settings(**values)


def test_prod_refuses_the_outbox_in_a_channel_s_route() -> None:
    with pytest.raises(ConfigError, match="outbox"):
        settings(
            env="prod", pepper="p" * 40, providers={"twilio": TWILIO},
            routes={"default": ["twilio"]}, channel_routes={"email": {"default": ["outbox"]}},
        )  # fmt: skip


def test_texts_per_channel_fall_back_to_the_language_then_english() -> None:
    texts = MessageTexts(
        {"fr": "Code {code}"},
        {"fr": "Votre code est {code}."},
        {"fr": EmailText(subject="Code {code}", text="Code {code}")},
    )
    assert texts.voice("fr-CA") == "Votre code est {code}."
    assert texts.voice("de") == "Your verification code is {code}."
    assert texts.email("fr").subject == "Code {code}"
    assert texts.email("zh-CN").subject == "{app_name}验证码：{code}"


def test_a_call_spells_the_code_and_an_email_fills_its_variables() -> None:
    policy = Policy(code_length=6, code_ttl=300, max_attempts=5, max_sends=5,
                    resend_cooldown=60, resend_policy="replace", app_name="Shop")  # fmt: skip
    assert policy.spoken("Your {app_name} code is {code}.", "042") == "Your Shop code is 0, 4, 2."
    assert policy.filled("{code} for {app_name}, {minutes} min", "042") == "042 for Shop, 5 min"
