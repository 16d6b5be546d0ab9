"""Huawei Cloud Message & SMS (MSGSMS): template SMS through ``batchSendSms``.

``POST {base_url}/sms/batchSendSms/v1`` with a form body: ``from`` (the channel number
from the console), ``to`` (E.164 with ``+``), ``templateId``, ``templateParas`` (a JSON
array of the template's values, in order; left out for a template without variables),
and the optional ``signature`` (the sign name, required only by general templates) and
``statusCallback``. Reference: support.huaweicloud.com/api-msgsms/sms_05_0001.html.

Two ways to authenticate with the application's ``app_key``/``app_secret``:

* ``wsse`` — ``Authorization: WSSE realm="SDP",profile="UsernameToken",type="Appkey"``
  and ``X-WSSE: UsernameToken Username=..,PasswordDigest=..,Nonce=..,Created=..``.
  ``PasswordDigest`` is Base64 of the *lowercase hex* SHA-256 of
  ``Nonce + Created + app_secret``: what Huawei's code samples compute and what the
  doc's sample header decodes to (the prose says Base64 of the raw digest).
* ``aksk`` — the API Gateway ``SDK-HMAC-SHA256`` signature ("special AK/SK"), as
  ``huaweicloudsdkcore.signer.Signer`` computes it: a canonical request of the method,
  the path (always ending in ``/``), the sorted query, the signed headers and the
  payload hash (``UNSIGNED-PAYLOAD`` for a form body, declared in
  ``X-Sdk-Content-Sha256``), hashed into a string to sign with ``X-Sdk-Date``, then
  hex HMAC-SHA256 keyed with ``app_secret``.

Huawei answers ``{"code": "000000", "result": [{"smsMsgId", "status", ...}]}`` with a
status per number, or an HTTP 4xx/5xx ``{"code": "E…", "description"}``; a failed send
(``E000510``) carries the per-number ``status`` that says why. See ``_ERROR_KINDS``.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from datetime import UTC
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote, urlencode, urlsplit

import httpx
import msgspec

from app.providers import signing
from app.providers.base import (
    ErrorKind,
    HttpProvider,
    OutgoingMessage,
    SendResult,
    template_values,
)
from app.providers.config import Template, template_for
from app.providers.signing import canonical_query as canonical_query_string
from app.providers.signing import hmac_sha256_hex, percent_encode, sha256_hex
from app.sensitive import Secret

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

__all__ = [
    "AKSK_ALGORITHM",
    "UNSIGNED_PAYLOAD",
    "WSSE_AUTHORIZATION",
    "HuaweiConfig",
    "aksk_authorization",
    "aksk_signature",
    "aksk_string_to_sign",
    "build_request",
    "canonical_query_string",
    "canonical_request",
    "canonical_uri",
    "classify_error",
    "create",
    "parse_response",
    "signed_header_names",
    "wsse_headers",
    "wsse_password_digest",
]

SEND_PATH = "/sms/batchSendSms/v1"
WSSE_AUTHORIZATION = 'WSSE realm="SDP",profile="UsernameToken",type="Appkey"'
AKSK_ALGORITHM = "SDK-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
_FORM = "application/x-www-form-urlencoded"
_SUCCESS = "000000"
#: A query as ``(name, value)`` pairs, repeated names allowed.
Query = Iterable[tuple[str, str]]


class HuaweiConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A Message & SMS application, its channel and its templates."""

    #: the application's key (``Username`` in X-WSSE, ``Access`` in AK/SK).
    app_key: str
    #: the application's secret; only ever used as a signing key.
    app_secret: Secret
    #: the channel number (通道号) the templates belong to: the ``from`` field.
    sender: str
    #: locale -> template registered on that channel (variables filled by position).
    templates: dict[str, Template]
    #: the sign name (签名名称), sent as ``signature``; general templates need it.
    sign_name: str | None = None
    #: ``wsse`` (X-WSSE UsernameToken) or ``aksk`` (API Gateway SDK-HMAC-SHA256).
    auth: Literal["wsse", "aksk"] = "wsse"
    #: where Huawei posts status reports (``statusCallback``); none if unset.
    status_callback_url: str | None = None
    #: Huawei signs its status reports with this app's AK/SK (an option in its console);
    #: then otpgate refuses unsigned ones.
    signed_callbacks: bool = False
    #: the application's access address (APP接入地址) from the console.
    base_url: str = "https://smsapi.cn-north-4.myhuaweicloud.com"


# --- X-WSSE ---------------------------------------------------------------------------


def wsse_password_digest(nonce: str, created: str, app_secret: str) -> str:
    """Base64 of the lowercase hex SHA-256 of ``nonce + created + app_secret``."""
    hex_digest = sha256_hex((nonce + created + app_secret).encode())
    return base64.b64encode(hex_digest.encode()).decode()


def wsse_headers(app_key: str, app_secret: str, nonce: str, created: str) -> dict[str, str]:
    """The ``Authorization`` and ``X-WSSE`` headers; ``created`` is ``yyyy-MM-ddTHH:mm:ssZ``."""
    digest = wsse_password_digest(nonce, created, app_secret)
    token = (
        f'UsernameToken Username="{app_key}",PasswordDigest="{digest}",'
        f'Nonce="{nonce}",Created="{created}"'
    )
    return {"Authorization": WSSE_AUTHORIZATION, "X-WSSE": token}


# --- SDK-HMAC-SHA256 (APIG AK/SK) ---------------------------------------------------------


def canonical_uri(path: str) -> str:
    """Each segment of the decoded ``path`` percent-encoded (only ``~`` kept), ending in ``/``."""
    encoded = "/".join(percent_encode(segment) for segment in unquote(path).split("/"))
    return encoded if encoded.endswith("/") else encoded + "/"


def _signed(headers: Mapping[str, str]) -> dict[str, str]:
    # Huawei's SDK leaves out of the signature every header whose name has a ``_``.
    return {name: value for name, value in headers.items() if "_" not in name}


def signed_header_names(headers: Mapping[str, str]) -> list[str]:
    """Every header name, lowercased and sorted; the SDK skips names with ``_``."""
    return sorted(name.lower() for name in _signed(headers))


def canonical_request(
    method: str, path: str, query: Query, headers: Mapping[str, str], payload_hash: str
) -> str:
    """The canonical request: method, URI, query, ``name:value`` lines, names, payload hash."""
    uri, query_string = canonical_uri(path), canonical_query_string(query)
    return signing.canonical_request(
        method.upper(), uri, query_string, _signed(headers), payload_hash
    )


def aksk_string_to_sign(canonical_request: str, sdk_date: str) -> str:
    """``SDK-HMAC-SHA256``, the ``X-Sdk-Date`` value, and the hex SHA-256 of the request."""
    return signing.string_to_sign(AKSK_ALGORITHM, sdk_date, canonical=canonical_request)


def aksk_signature(app_secret: str, string_to_sign: str) -> str:
    """The hex HMAC-SHA256 of ``string_to_sign`` keyed with ``app_secret``."""
    return hmac_sha256_hex(app_secret, string_to_sign)


def aksk_authorization(
    app_key: str,
    app_secret: str,
    method: str,
    path: str,
    query: Query,
    headers: Mapping[str, str],
    payload_hash: str,
) -> str:
    """The ``Authorization`` value; ``headers`` are the ones signed, ``X-Sdk-Date`` among them."""
    sdk_date = next(value for name, value in headers.items() if name.lower() == "x-sdk-date")
    request = canonical_request(method, path, query, headers, payload_hash)
    signature = aksk_signature(app_secret, aksk_string_to_sign(request, sdk_date))
    names = ";".join(signed_header_names(headers))
    return f"{AKSK_ALGORITHM} Access={app_key}, SignedHeaders={names}, Signature={signature}"


# --- request ----------------------------------------------------------------------------


def _form(message: OutgoingMessage, config: HuaweiConfig) -> dict[str, str]:
    template = template_for(config.templates, message.locale)
    form = {"from": config.sender, "to": message.to, "templateId": template.id}
    values = template_values(template, message)
    if values:
        form["templateParas"] = msgspec.json.encode(values).decode()
    if config.status_callback_url is not None:
        form["statusCallback"] = config.status_callback_url
    if config.sign_name is not None:
        form["signature"] = config.sign_name
    return form


def _auth_headers(config: HuaweiConfig, now: datetime, nonce: str) -> dict[str, str]:
    utc = now.astimezone(UTC)
    if config.auth == "wsse":
        created = utc.strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            "Content-Type": _FORM,
            **wsse_headers(config.app_key, config.app_secret, nonce, created),
        }
    # The signed Host must be the one sent, so it is set explicitly (port included if the
    # base URL has one). The body is left unsigned, as the official SDK does for forms.
    signed = {
        "Content-Type": _FORM,
        "Host": urlsplit(config.base_url).netloc,
        "X-Sdk-Content-Sha256": UNSIGNED_PAYLOAD,
        "X-Sdk-Date": utc.strftime("%Y%m%dT%H%M%SZ"),
    }
    path = urlsplit(config.base_url.rstrip("/") + SEND_PATH).path
    authorization = aksk_authorization(
        config.app_key, config.app_secret, "POST", path, [], signed, UNSIGNED_PAYLOAD
    )
    return {**signed, "Authorization": authorization}


def build_request(
    message: OutgoingMessage, config: HuaweiConfig, now: datetime, nonce: str
) -> httpx.Request:
    """The ``batchSendSms`` request for one number, signed as ``config.auth`` says."""
    return httpx.Request(
        "POST",
        config.base_url.rstrip("/") + SEND_PATH,
        content=urlencode(_form(message, config)).encode(),
        headers=_auth_headers(config, now, nonce),
    )


# --- response ---------------------------------------------------------------------------

# ``code`` values from Huawei's API error code page (api-msgsms sms_05_0050); per-number
# ``status`` values E2000xx as Huawei's status list names them (sms4j's HuaweiError quotes
# the same list). Template and sign problems are "permanent", as otpgate defines it.
_ERROR_KINDS: dict[str, ErrorKind] = {
    "E000000": "retryable",  # system error on Huawei's side
    "E000110": "account",  # Created / X-Sdk-Date out of range: our clock, every send fails
    "E000112": "account",  # user frozen (arrears)
    "E000503": "permanent",  # parameter format error, which is how a bad `to` is refused
    "E000510": "retryable",  # send failed; the per-number status, when present, says why
    "E200015": "retryable",  # too many messages waiting to be sent
    "E200018": "account",  # `from` is not a channel of this application (our setup)
    "E200028": "permanent",  # template variables rejected
    "E200029": "permanent",  # template type rejected
    "E200030": "permanent",  # template not activated
    "E200031": "account",  # protocol (agreement) check failed
    "E200033": "permanent",  # template type incorrect
    "E200041": "permanent",  # the same number twice in one request
    "E200048": "retryable",  # frequency control
}


def classify_error(code: str, status_code: int = 200) -> ErrorKind:
    """What a Huawei error code means for us; unknown codes fall back on the HTTP status."""
    if status_code >= 500:
        return "retryable"
    if code in _ERROR_KINDS:
        return _ERROR_KINDS[code]
    # E000001-E000027 (Authorization / X-WSSE malformed) and E0001xx (app_key, app_secret,
    # digest, account state): the request's credentials, not the number.
    if code.startswith(("E0000", "E0001")):
        return "account"
    if status_code in (401, 403):
        return "account"
    return "retryable"


class _NumberResult(msgspec.Struct):
    status: str = ""
    sms_msg_id: str | None = msgspec.field(default=None, name="smsMsgId")


class _Reply(msgspec.Struct):
    code: str = ""
    description: str = ""
    result: list[_NumberResult] = msgspec.field(default_factory=list)
    # The API Gateway in front answers its own errors in this shape (e.g. APIGW.0301).
    error_code: str = ""
    error_msg: str = ""


def parse_response(response: httpx.Response) -> SendResult:
    """Accepted when the request and the number's status are ``000000``; else classified.

    When the number's own status is an error, it is the more precise reason and is kept
    as the error code (a failed send answers ``E000510`` with it).
    """
    try:
        reply = msgspec.json.decode(response.content, type=_Reply)
    except msgspec.DecodeError:
        kind = classify_error("", response.status_code)
        return SendResult.failed(kind, f"http_{response.status_code}", response.text[:200])
    number = reply.result[0] if reply.result else _NumberResult()
    if number.status and number.status != _SUCCESS:
        kind = classify_error(number.status, response.status_code)
        return SendResult.failed(kind, number.status, reply.description)
    if response.is_success and reply.code == _SUCCESS:
        return SendResult.ok(number.sms_msg_id)
    code = reply.code or reply.error_code or f"http_{response.status_code}"
    kind = classify_error(code, response.status_code)
    return SendResult.failed(kind, code, reply.description or reply.error_msg)


def create(
    config: HuaweiConfig, client: httpx.AsyncClient, **kwargs: Any
) -> HttpProvider[HuaweiConfig]:
    """The Huawei provider over the shared client (``kwargs``: ``clock``, ``nonce``)."""
    return HttpProvider("huawei", config, build_request, parse_response, client, **kwargs)
