"""Huawei's two ways to authenticate with the application's ``app_key``/``app_secret``.

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
  hex HMAC-SHA256 keyed with ``app_secret``. Huawei signs its status reports the same
  way when asked to.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import unquote

from app.providers import signing
from app.providers.signing import canonical_query as canonical_query_string
from app.providers.signing import hmac_sha256_hex, percent_encode, sha256_hex

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "AKSK_ALGORITHM",
    "UNSIGNED_PAYLOAD",
    "WSSE_AUTHORIZATION",
    "aksk_authorization",
    "aksk_signature",
    "aksk_string_to_sign",
    "canonical_query_string",
    "canonical_request",
    "canonical_uri",
    "signed_header_names",
    "wsse_headers",
    "wsse_password_digest",
]

WSSE_AUTHORIZATION = 'WSSE realm="SDP",profile="UsernameToken",type="Appkey"'
AKSK_ALGORITHM = "SDK-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
#: A query as ``(name, value)`` pairs, repeated names allowed.
Query = Iterable[tuple[str, str]]


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
