"""Vonage (Nexmo) SMS API: send an SMS with ``POST {base_url}/sms/json``.

The form body carries ``api_key``, ``from``, ``to`` (E.164 digits without ``+``) and
``text``, authenticated either by ``api_secret`` or, for accounts with signed requests,
by ``timestamp`` and ``sig``: a hash (``md5hash``) or an HMAC of the sorted parameters
keyed with the signature secret
(https://developer.vonage.com/en/getting-started/concepts/signing-messages).
Vonage answers HTTP 200 even for refused messages: every ``messages[].status`` other
than ``"0"`` is an error (https://developer.vonage.com/en/api-errors/sms).
``GET {base_url}/account/get-balance`` gives the account balance.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import TYPE_CHECKING, Any, Literal

import httpx
import msgspec

from app.providers.base import Balance, ErrorKind, HttpProvider, OutgoingMessage, SendResult
from app.sensitive import Secret

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

__all__ = [
    "Balance",
    "SignatureMethod",
    "VonageConfig",
    "build_balance_request",
    "build_request",
    "create",
    "parse_balance",
    "parse_response",
    "signature",
    "string_to_sign",
]

#: The dashboard's signature setting: ``md5hash`` is ``md5(params + secret)``, the
#: others are HMACs keyed with the secret.
SignatureMethod = Literal["md5hash", "md5", "sha1", "sha256", "sha512"]

# The SMS API's ``messages[].status`` values (https://developer.vonage.com/en/api-errors/sms).
_STATUS_KINDS: dict[str, ErrorKind] = {
    "1": "retryable",  # throttled
    "2": "permanent",  # missing parameters
    "3": "permanent",  # invalid parameters (e.g. a malformed `to`)
    "4": "account",  # invalid credentials
    "5": "retryable",  # internal error
    "6": "permanent",  # invalid message: e.g. unrecognised number prefix
    "7": "permanent",  # number barred
    "8": "account",  # partner account barred (suspended)
    "9": "account",  # partner quota violation (insufficient credit)
    "10": "retryable",  # too many existing binds
    "11": "account",  # account not enabled for the HTTP API
    "12": "permanent",  # message too long
    "14": "account",  # invalid signature (our signature secret or method)
    # Our sender ID, or a demo account's allow-list: another provider can reach the number.
    "15": "account",  # invalid sender address
    "29": "account",  # non-whitelisted destination (demo account)
    "17": "permanent",  # message blocked
    "22": "permanent",  # invalid network code
    "23": "account",  # invalid callback URL
    "32": "account",  # signature and api_secret sent together
    "33": "permanent",  # number de-activated
}


class VonageConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A Vonage account and the sender it sends from.

    Sends are signed when ``signature_secret`` is set, else authenticated with
    ``api_secret``; the balance API always needs ``api_secret``.
    """

    #: the account's API key.
    api_key: str
    #: the sender: a virtual number (E.164, ``+`` optional) or an alphanumeric ID.
    from_: str = msgspec.field(name="from")
    #: the API secret, for unsigned sends and the balance API.
    api_secret: Secret | None = None
    #: the signature secret, when the account requires signed requests.
    signature_secret: Secret | None = None
    #: the signature method chosen in the dashboard's API settings.
    signature_method: SignatureMethod = "md5hash"
    #: the REST API's origin.
    base_url: str = "https://rest.nexmo.com"

    def __post_init__(self) -> None:
        if self.api_secret is None and self.signature_secret is None:
            raise ValueError("vonage: set `api_secret` or `signature_secret`")


def string_to_sign(params: Mapping[str, str]) -> str:
    """``&key=value`` for every parameter but ``sig``, sorted by key.

    ``&`` and ``=`` in values become ``_``, as Vonage does before it compares.
    """
    return "".join(
        f"&{key}={params[key].replace('&', '_').replace('=', '_')}"
        for key in sorted(params)
        if key != "sig"
    )


def signature(params: Mapping[str, str], secret: str, method: SignatureMethod) -> str:
    """The ``sig`` of ``params`` (which include ``timestamp``), as lowercase hex."""
    payload = string_to_sign(params)
    if method == "md5hash":
        # Vonage's md5hash method: plain MD5 of the parameters and the secret.
        return hashlib.md5((payload + secret).encode()).hexdigest()  # noqa: S324
    return hmac.new(secret.encode(), payload.encode(), method).hexdigest()


def _digits(number: str) -> str:
    """Vonage wants E.164 numbers without the ``+``; alphanumeric senders stay as they are."""
    bare = number.removeprefix("+")
    return bare if bare.isdigit() else number


def build_request(
    message: OutgoingMessage, config: VonageConfig, now: datetime, nonce: str
) -> httpx.Request:
    """The ``/sms/json`` request; signed with ``now`` as ``timestamp`` when configured."""
    form = {
        "api_key": config.api_key,
        "from": _digits(config.from_),
        "to": _digits(message.to),
        "text": message.text,
        # `text` is GSM-7: anything beyond ASCII (Chinese, accents) goes as UCS-2.
        "type": "text" if message.text.isascii() else "unicode",
        # echoed in the delivery receipt, which matches it to our message
        "client-ref": message.message_id,
    }
    if config.signature_secret is not None:
        form["timestamp"] = str(int(now.timestamp()))
        form["sig"] = signature(form, config.signature_secret, config.signature_method)
    else:
        form["api_secret"] = config.api_secret or ""
    return httpx.Request(
        "POST",
        config.base_url.rstrip("/") + "/sms/json",
        data=form,
        headers={"Accept": "application/json"},
    )


class _Part(msgspec.Struct):
    status: str
    message_id: str | None = msgspec.field(default=None, name="message-id")
    error_text: str = msgspec.field(default="", name="error-text")


class _Answer(msgspec.Struct):
    messages: list[_Part]


def _http_failure(response: httpx.Response) -> SendResult:
    status = response.status_code
    kind: ErrorKind = "account" if status in (401, 403) else "retryable"
    return SendResult.failed(kind, f"http_{status}", response.text[:200])


def parse_response(response: httpx.Response) -> SendResult:
    """Accepted when every part has status ``"0"``; else the first failed part decides.

    A long text is split into several parts, each with its own ``message-id``; the
    first one stands for the message.
    """
    if not response.is_success:
        return _http_failure(response)
    try:
        parts = msgspec.json.decode(response.content, type=_Answer).messages
    except msgspec.DecodeError:
        return SendResult.failed("retryable", "unparseable", response.text[:200])
    if not parts:
        return SendResult.failed("retryable", "unparseable", "no messages in the answer")
    for part in parts:
        if part.status != "0":
            kind = _STATUS_KINDS.get(part.status, "retryable")
            return SendResult.failed(kind, part.status, part.error_text)
    return SendResult.ok(parts[0].message_id)


def build_balance_request(config: VonageConfig, now: datetime, nonce: str) -> httpx.Request:
    """``GET /account/get-balance`` with Basic auth (the account API is not signed)."""
    if config.api_secret is None:
        raise ValueError("vonage: the balance API needs `api_secret`")
    credentials = base64.b64encode(f"{config.api_key}:{config.api_secret}".encode()).decode()
    return httpx.Request(
        "GET",
        config.base_url.rstrip("/") + "/account/get-balance",
        headers={"Authorization": f"Basic {credentials}", "Accept": "application/json"},
    )


class _Balance(msgspec.Struct):
    value: float


def parse_balance(response: httpx.Response) -> Balance | None:
    """The balance; Vonage does not say its currency (the account's, usually EUR)."""
    if not response.is_success:
        return None
    try:
        answer = msgspec.json.decode(response.content, type=_Balance)
    except msgspec.DecodeError:
        return None
    return Balance(amount=answer.value, currency=None)


def create(
    config: VonageConfig, client: httpx.AsyncClient, **kwargs: Any
) -> HttpProvider[VonageConfig]:
    """The Vonage provider over the shared client (``kwargs``: ``clock``, ``nonce``)."""
    return HttpProvider("vonage", config, build_request, parse_response, client, **kwargs)
