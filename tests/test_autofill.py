"""Autofill lines: the Android SMS Retriever app hash and the WebOTP origin-bound line end
every message of an app, in every locale, and a message the Retriever could not read is
refused at start; plus the SMS facts they rest on (encoding, length, segments)."""

from __future__ import annotations

from typing import Any

import pytest

from app.settings import ConfigError, load_settings
from app.sms import autofilled, encoding, retriever_bytes, segments, units
from tests.conftest import AUTH, ClientFactory

HASH = "FA+9qCX9VSu"
AUTOFILL = {"webotp_domain": "shop.example.com", "android_app_hash": HASH}


@pytest.mark.parametrize(
    ("text", "kind", "length", "parts"),
    [
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("€" * 80, "GSM-7", 160, 1),  # an extension character takes two septets
        ("a" * 153 * 2 + "b", "GSM-7", 307, 3),
        ("验" * 70, "UCS-2", 70, 1),
        ("验" * 71, "UCS-2", 71, 2),
        ("😀" * 35, "UCS-2", 70, 1),  # outside the BMP: two UTF-16 units each
        ("Code 1234 `", "UCS-2", 11, 1),  # a backtick is not in the GSM alphabet
    ],
)
def test_encoding_length_and_segments(text: str, kind: str, length: int, parts: int) -> None:
    assert (encoding(text), units(text), segments(text)) == (kind, length, parts)


def test_the_retriever_counts_septets_packed_or_two_bytes_a_unit() -> None:
    assert retriever_bytes("a" * 160) == 140
    assert retriever_bytes("验" * 70) == 140


def test_the_webotp_line_is_last_and_the_app_hash_before_it() -> None:
    text = autofilled("Your code is 123456.  ", "123456", "shop.example.com", HASH)
    assert text == f"Your code is 123456.\n\n{HASH}\n@shop.example.com #123456"
    assert autofilled("Code 1", "1", None, None) == "Code 1"
    assert autofilled("Code 1", "1", "a.example", None).splitlines()[-1] == "@a.example #1"


async def test_every_locale_ends_with_the_autofill_lines(make_client: ClientFactory) -> None:
    messages = {"fr": "Votre code : {code}"}
    async with make_client(apps={"default": AUTOFILL}, messages=messages) as client:
        for to, locale in (("+14155552671", None), ("+8613800138000", None),
                           ("+33612345678", "fr-CA")):  # fmt: skip
            body: dict[str, Any] = {"to": to} | ({"locale": locale} if locale else {})
            assert (await client.post("/v1/verifications", json=body, headers=AUTH)).is_success
            outbox = await client.get("/dev/outbox", params={"to": to, "format": "json"})
            text = outbox.json()[0]["text"]
            *body_lines, hash_line, webotp = text.splitlines()
            code = webotp.removeprefix("@shop.example.com #")
            assert hash_line == HASH and code.isdigit() and len(code) == 6
            assert code in "\n".join(body_lines)  # the code the text shows
            checked = await client.post(
                "/v1/verifications/check", json={"to": to, "code": code}, headers=AUTH
            )
            assert checked.json()["status"] == "approved"
        assert text.startswith("Votre code : ")  # fr-CA fell back to fr


@pytest.mark.parametrize(
    "fields",
    [{"webotp_domain": "https://shop.example.com"}, {"webotp_domain": "Shop.Example.com"},
     {"webotp_domain": "shop.example.com/login"}, {"webotp_domain": "localhost"},
     {"android_app_hash": "FA+9qCX9VS"}, {"android_app_hash": "FA-9qCX9VSu"}],
)  # fmt: skip
def test_a_domain_or_hash_that_no_phone_would_match_is_refused(fields: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        load_settings({}, overrides={"apps": {"shop": fields}})


def test_a_message_the_retriever_cannot_read_is_refused_at_start() -> None:
    long_text = "Your verification code for the shop is {code}. " + "x" * 101
    overrides = {"apps": {"shop": {"android_app_hash": HASH}}, "messages": {"en": long_text}}
    with pytest.raises(ConfigError, match=r"the en message is \d+ bytes"):
        load_settings({}, overrides=overrides)
    at_the_limit = {"en": "Your verification code for the shop is {code}. " + "x" * 100}
    load_settings({}, overrides={**overrides, "messages": at_the_limit})  # 140 bytes: read
    # the same text is fine without the hash (WebOTP has no such limit)
    overrides["apps"] = {"shop": {"webotp_domain": "shop.example.com"}}
    load_settings({}, overrides=overrides)


async def test_autofill_set_through_the_api_is_in_force(make_client: ClientFactory) -> None:
    async with make_client() as client:
        wrong = await client.patch(
            "/v1/apps/default", json={"settings": {"webotp_domain": "http://x"}}, headers=AUTH
        )
        assert (wrong.status_code, wrong.json()["code"]) == (400, "invalid_request")
        changed = await client.patch("/v1/apps/default", json={"settings": AUTOFILL}, headers=AUTH)
        assert changed.status_code == 200, changed.text
        await client.post("/v1/verifications", json={"to": "+14155552671"}, headers=AUTH)
        outbox = await client.get("/dev/outbox", params={"to": "+14155552671", "format": "json"})
        assert outbox.json()[0]["text"].splitlines()[-1].startswith("@shop.example.com #")
