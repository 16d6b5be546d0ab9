"""Sending through Chuanglan 253 (创蓝)'s classic JSON SMS API: the rendered text,
account and password.

The classic API has no request signature: the API account and its API password (not the
console login) travel in the JSON body, so only HTTPS endpoints should be configured.
Two products, each with its own accounts and hosts (``product`` picks one):

* ``domestic`` — ``POST {base_url}/msg/send/json``
  ``{"account", "password", "msg", "phone", "report": "true", "uid"}`` with ``phone``
  the 11-digit mainland number (no ``+86``) and ``msg`` starting with the 【sign name】.
  Answer ``{"code": "0", "msgId", "time", "errorMsg"}``. Balance:
  ``POST /msg/balance/json`` -> ``{"code", "balance", "time", "errorMsg"}``.
  (cl253/chuanglan253-java and -python demos; code list from the 253 docs.)
* ``international`` — ``POST {base_url}/send/json``
  ``{"account", "password", "msg", "mobile", "senderId"}`` with ``mobile`` the country
  code and number, digits only. Answer ``{"code": "0", "msgid", "error"}``. Balance:
  ``POST /balance/json`` -> ``{"code", "error", "balance"}``.
  (github.com/chuanglan-international/SMS, englishAPI/messageIssued.md, statusCode.md.)

Business errors come back as HTTP 200 with ``code != "0"``; the two products number
their errors differently (110 is "outside sending hours" at home, "no balance" abroad).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import msgspec

from app.providers.base import ErrorKind, SendResult, decode_answer, http_failure

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from app.providers.base import OutgoingMessage
    from app.providers.chuanglan.config import ChuanglanConfig, Product

__all__ = [
    "BALANCE_PATHS",
    "JSON_CONTENT",
    "Reply",
    "UnsupportedNumberError",
    "build_request",
    "classify_error",
    "endpoint",
    "message_text",
    "parse_international_response",
    "parse_response",
    "phone_number",
    "response_parser",
]

_BASE_URLS: dict[Product, str] = {
    "domestic": "https://smssh1.253.com",
    "international": "https://intapi.253.com",
}
SEND_PATHS: dict[Product, str] = {"domestic": "/msg/send/json", "international": "/send/json"}
BALANCE_PATHS: dict[Product, str] = {
    "domestic": "/msg/balance/json",
    "international": "/balance/json",
}
JSON_CONTENT = "application/json; charset=utf-8"


class UnsupportedNumberError(ValueError):
    """A domestic account was asked to send to a number outside mainland China."""


def endpoint(config: ChuanglanConfig, paths: dict[Product, str]) -> str:
    base = config.base_url or _BASE_URLS[config.product]
    return base.rstrip("/") + paths[config.product]


def phone_number(e164: str, product: Product) -> str:
    """``+8613800000000`` as the product wants it: ``13800000000`` or ``8613800000000``."""
    if product == "international":
        return e164.removeprefix("+")
    if not e164.startswith("+86"):
        raise UnsupportedNumberError(f"a domestic 253 account sends only to +86 numbers: {e164}")
    return e164.removeprefix("+86")


def message_text(text: str, sign_name: str | None) -> str:
    """The text with the 【sign name】 in front, unless it carries one already."""
    if sign_name is None or text.startswith("【"):
        return text
    return f"【{sign_name}】{text}"


def build_request(
    message: OutgoingMessage, config: ChuanglanConfig, now: datetime, nonce: str
) -> httpx.Request:
    """The classic send request; neither clock nor nonce is part of it.

    Raises :class:`UnsupportedNumberError` for a non-+86 number on a domestic account.
    """
    body: dict[str, str] = {"account": config.account, "password": config.password}
    body["msg"] = message_text(message.text, config.sign_name)
    if config.product == "domestic":
        body["phone"] = phone_number(message.to, "domestic")
        body["report"] = "true"
        body["uid"] = message.message_id
    else:
        body["mobile"] = phone_number(message.to, "international")
        if config.sender_id is not None:
            body["senderId"] = config.sender_id
    return httpx.Request(
        "POST",
        endpoint(config, SEND_PATHS),
        content=msgspec.json.encode(body),
        headers={"Content-Type": JSON_CONTENT},
    )


# Domestic submit codes (the 253 docs' list; the same gateway codes the demos quote).
_DOMESTIC_KINDS: dict[str, ErrorKind] = {
    "101": "account",  # no such user
    "102": "account",  # wrong password
    "103": "retryable",  # submitting faster than the account's rate
    "104": "retryable",  # system busy
    "105": "permanent",  # sensitive content
    "106": "permanent",  # message length
    "107": "permanent",  # contains an invalid phone number
    "108": "permanent",  # wrong number of phone numbers
    "109": "account",  # no sending quota left (balance)
    "110": "retryable",  # outside the account's sending hours: another provider can send now
    "111": "account",  # monthly quota used up
    "112": "account",  # product not subscribed
    "115": "permanent",  # rejected by automatic content review
    "116": "permanent",  # sign name missing or not allowed
    "117": "account",  # our IP is not on the account's allow-list
    "118": "account",  # no permission to send
    "119": "account",  # account expired
    "120": "permanent",  # content matches no allow-listed template
    "124": "permanent",  # template mismatch
    "125": "permanent",  # template rejected
    # 253's own per-number limits: another provider can still deliver, and otpgate's
    # abuse policy owns the limits per number.
    "135": "retryable",  # same content to one number too often
    "159": "retryable",  # anti-bombing limit for the number
}

# International submit codes (chuanglan-international/SMS docs/statusCode.md).
_INTERNATIONAL_KINDS: dict[str, ErrorKind] = {
    "101": "account",  # account does not exist
    "102": "account",  # wrong password
    "106": "permanent",  # content length
    "108": "permanent",  # phone number format (5-20 digits)
    "109": "permanent",  # wrong number of phone numbers
    "110": "account",  # balance too low
    "112": "account",  # product configuration
    "114": "account",  # our IP is not the bound IP
    "115": "account",  # no permission for the product
    "116": "account",  # account deleted or disabled
    "117": "account",  # sender (接入号) longer than 20
    "123": "permanent",  # empty content
    "125": "retryable",  # per-number daily limit of 253 (see the domestic 135/159)
    "128": "account",  # account length
    "129": "account",  # product price configuration
    "130": "retryable",  # unknown exception at 253
    "131": "account",  # daily sending cap
    "132": "account",  # monthly sending cap
    "133": "account",  # sending cap
    "134": "permanent",  # anti-complaint limit: the number complained
    "135": "permanent",  # content does not match the template
}


def classify_error(code: str, product: Product = "domestic") -> ErrorKind:
    """What a submit code means for us; an unknown one lets the router try elsewhere."""
    kinds = _DOMESTIC_KINDS if product == "domestic" else _INTERNATIONAL_KINDS
    return kinds.get(code, "retryable")


class Reply(msgspec.Struct):
    code: str | int | None = None
    # domestic names, then international ones
    msg_id: str | None = msgspec.field(default=None, name="msgId")
    error_msg: str = msgspec.field(default="", name="errorMsg")
    msgid: str | None = None
    error: str = ""
    balance: str | float | None = None


def _parse(response: httpx.Response, product: Product) -> SendResult:
    reply = decode_answer(response, Reply)
    if not response.is_success or reply is None or reply.code is None:
        return http_failure(response)
    code = str(reply.code)
    if code in ("0", "000000"):
        return SendResult.ok(reply.msg_id or reply.msgid or None)
    return SendResult.failed(classify_error(code, product), code, reply.error_msg or reply.error)


def parse_response(response: httpx.Response) -> SendResult:
    """A domestic send answer: ``code`` ``"0"`` with ``msgId``, else classified."""
    return _parse(response, "domestic")


def parse_international_response(response: httpx.Response) -> SendResult:
    """An international send answer: ``code`` ``"0"`` with ``msgid``, else classified."""
    return _parse(response, "international")


def response_parser(config: ChuanglanConfig) -> Callable[[httpx.Response], SendResult]:
    """The parser of the account's product: the two number their errors apart."""
    return parse_response if config.product == "domestic" else parse_international_response
