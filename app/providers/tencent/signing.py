"""Tencent Cloud's TC3-HMAC-SHA256 request signature.

The ``Authorization`` header is an HMAC-SHA256 over a canonical request (method, ``/``,
empty query, the signed ``content-type`` and ``host`` headers, the body's SHA-256), keyed
by the chain ``"TC3" + SecretKey`` -> UTC date -> service -> ``tc3_request``.

Reference: cloud.tencent.com/document/api/382/52071 (TC3-HMAC-SHA256).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from app.providers.signing import (
    canonical_request,
    hmac_sha256,
    sha256_hex,
    signed_headers,
    string_to_sign,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "TC3_ALGORITHM",
    "tc3_authorization",
    "tc3_canonical_request",
    "tc3_credential_scope",
    "tc3_signature",
    "tc3_signing_key",
    "tc3_string_to_sign",
]

TC3_ALGORITHM = "TC3-HMAC-SHA256"


def tc3_canonical_request(headers: Mapping[str, str], payload: bytes) -> str:
    """``POST``, URI ``/``, empty query, the signed headers (lowercased, sorted), body hash.

    ``headers`` are exactly the signed ones (``content-type`` and ``host``).
    """
    return canonical_request("POST", "/", "", headers, sha256_hex(payload))


def tc3_credential_scope(timestamp: int, service: str) -> str:
    """``<UTC date>/<service>/tc3_request``: the date is UTC, whatever the local zone."""
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    return f"{date}/{service}/tc3_request"


def tc3_string_to_sign(timestamp: int, service: str, canonical_request: str) -> str:
    """The algorithm, the timestamp, the credential scope and the canonical request's hash."""
    scope = tc3_credential_scope(timestamp, service)
    return string_to_sign(TC3_ALGORITHM, str(timestamp), scope, canonical=canonical_request)


def tc3_signing_key(secret_key: str, date: str, service: str) -> bytes:
    """``HMAC("TC3" + SecretKey, date)`` -> ``HMAC(·, service)`` -> ``HMAC(·, "tc3_request")``."""
    date_key = hmac_sha256(f"TC3{secret_key}".encode(), date)
    service_key = hmac_sha256(date_key, service)
    return hmac_sha256(service_key, "tc3_request")


def tc3_signature(secret_key: str, timestamp: int, service: str, string_to_sign: str) -> str:
    """Hex HMAC-SHA256 of the string to sign under the derived signing key."""
    date = tc3_credential_scope(timestamp, service).split("/")[0]
    key = tc3_signing_key(secret_key, date, service)
    return hmac_sha256(key, string_to_sign).hex()


def tc3_authorization(
    secret_id: str,
    secret_key: str,
    timestamp: int,
    service: str,
    headers: Mapping[str, str],
    payload: bytes,
) -> str:
    """The ``Authorization`` header value (comma **and space** between its parts)."""
    to_sign = tc3_string_to_sign(timestamp, service, tc3_canonical_request(headers, payload))
    signature = tc3_signature(secret_key, timestamp, service, to_sign)
    return (
        f"{TC3_ALGORITHM} Credential={secret_id}/{tc3_credential_scope(timestamp, service)}, "
        f"SignedHeaders={signed_headers(headers)}, Signature={signature}"
    )
