"""Chuanglan 253 (创蓝) classic JSON SMS API: the rendered text, account and password.

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

from typing import TYPE_CHECKING, Any, Literal

import httpx
import msgspec

from app.providers.base import Balance, ErrorKind, HttpProvider, OutgoingMessage, SendResult
from app.sensitive import Secret

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

__all__ = [
    "Balance",
    "ChuanglanConfig",
    "UnsupportedNumberError",
    "build_balance_request",
    "build_request",
    "classify_error",
    "create",
    "message_text",
    "parse_balance",
    "parse_international_response",
    "parse_response",
    "phone_number",
]

Product = Literal["domestic", "international"]

_BASE_URLS: dict[Product, str] = {
    "domestic": "https://smssh1.253.com",
    "international": "https://intapi.253.com",
}
_SEND_PATHS: dict[Product, str] = {"domestic": "/msg/send/json", "international": "/send/json"}
_BALANCE_PATHS: dict[Product, str] = {
    "domestic": "/msg/balance/json",
    "international": "/balance/json",
}
_JSON = "application/json; charset=utf-8"


class ChuanglanConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A 253 API account of one product."""

    #: the API account (``N…`` domestic, ``I…`` international), not the console login.
    account: str
    #: the API password of that account; sent in every request body.
    password: Secret
    #: ``domestic`` (mainland China numbers) or ``international`` (any country code).
    product: Product = "domestic"
    #: prefixed as 【sign_name】 to a text that does not start with a 【…】 sign already;
    #: mainland carriers require one unless it is registered on the account.
    sign_name: str | None = None
    #: international only: the sender ID shown to the recipient, if registered.
    sender_id: str | None = None
    #: the API host shown in the 253 console for the account; None means the public host
    #: of the product (https://smssh1.253.com or https://intapi.253.com).
    base_url: str | None = None


class UnsupportedNumberError(ValueError):
    """A domestic account was asked to send to a number outside mainland China."""


def _endpoint(config: ChuanglanConfig, paths: dict[Product, str]) -> str:
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
        _endpoint(config, _SEND_PATHS),
        content=msgspec.json.encode(body),
        headers={"Content-Type": _JSON},
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


class _Reply(msgspec.Struct):
    code: str | int | None = None
    # domestic names, then international ones
    msg_id: str | None = msgspec.field(default=None, name="msgId")
    error_msg: str = msgspec.field(default="", name="errorMsg")
    msgid: str | None = None
    error: str = ""
    balance: str | float | None = None


def _decode(response: httpx.Response) -> _Reply | None:
    try:
        return msgspec.json.decode(response.content, type=_Reply)
    except msgspec.DecodeError:
        return None


def _http_failure(response: httpx.Response) -> SendResult:
    kind: ErrorKind = "account" if response.status_code in (401, 403) else "retryable"
    return SendResult.failed(kind, f"http_{response.status_code}", response.text[:200])


def _parse(response: httpx.Response, product: Product) -> SendResult:
    reply = _decode(response)
    if not response.is_success or reply is None or reply.code is None:
        return _http_failure(response)
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


def build_balance_request(config: ChuanglanConfig, now: datetime, nonce: str) -> httpx.Request:
    """``POST .../balance/json`` with the account and password."""
    body = {"account": config.account, "password": config.password}
    return httpx.Request(
        "POST",
        _endpoint(config, _BALANCE_PATHS),
        content=msgspec.json.encode(body),
        headers={"Content-Type": _JSON},
    )


def parse_balance(response: httpx.Response) -> Balance | None:
    """The balance (a decimal string), or None on an error; 253 names no currency."""
    reply = _decode(response)
    if not response.is_success or reply is None or str(reply.code) != "0":
        return None
    try:
        return Balance(amount=float(reply.balance or ""), currency=None)
    except ValueError:
        return None


def create(
    config: ChuanglanConfig, client: httpx.AsyncClient, **kwargs: Any
) -> HttpProvider[ChuanglanConfig]:
    """The Chuanglan provider over the shared client (``kwargs``: ``clock``, ``nonce``)."""
    parse: Callable[[httpx.Response], SendResult] = (
        parse_response if config.product == "domestic" else parse_international_response
    )
    return HttpProvider("chuanglan", config, build_request, parse, client, **kwargs)
