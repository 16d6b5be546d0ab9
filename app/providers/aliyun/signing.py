"""Alibaba Cloud's two request signatures, both documented by Alibaba Cloud.

* V3 ``ACS3-HMAC-SHA256`` (the default, what the current SDKs send): business parameters
  in the query of ``POST /``, an ``Authorization`` header over a canonical request of the
  method, query, the ``host`` and ``x-acs-*`` headers and the SHA-256 of the (empty) body.
* V1 RPC ``HMAC-SHA1``: every parameter, common and business, in a form body; the
  ``Signature`` parameter is base64 HMAC-SHA1 keyed with ``AccessKeySecret + "&"`` over
  the twice percent-encoded, sorted parameter string.

References: Alibaba Cloud SDK docs "V3 request structure and signature" and "RPC
signature mechanism" (V1); worked examples in the shared providers.md reference, section 3.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import TYPE_CHECKING

from app.providers.signing import (
    canonical_query,
    canonical_request,
    hmac_sha256_hex,
    percent_encode,
    sha256_hex,
    signed_headers,
    string_to_sign,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "ACS3_ALGORITHM",
    "EMPTY_BODY_SHA256",
    "acs3_authorization",
    "acs3_canonical_request",
    "acs3_signature",
    "acs3_string_to_sign",
    "percent_encode",
    "query_string",
    "rpc_signature",
    "rpc_string_to_sign",
]

ACS3_ALGORITHM = "ACS3-HMAC-SHA256"
EMPTY_BODY_SHA256 = sha256_hex(b"")


def query_string(params: Mapping[str, str]) -> str:
    """The sorted, percent-encoded query: what is signed, and sent exactly so."""
    return canonical_query(params.items())


def rpc_string_to_sign(method: str, params: Mapping[str, str]) -> str:
    """V1: ``METHOD&%2F&`` + the sorted, encoded query string, encoded once more."""
    return f"{method}&{percent_encode('/')}&{percent_encode(query_string(params))}"


def rpc_signature(access_key_secret: str, string_to_sign: str) -> str:
    """V1: base64 HMAC-SHA1 keyed with ``secret + "&"``."""
    # SHA-1 is what the V1 scheme mandates; V3 is the SHA-256 alternative.
    digest = hmac.new(
        f"{access_key_secret}&".encode(),
        string_to_sign.encode(),
        hashlib.sha1,
    ).digest()
    return base64.b64encode(digest).decode()


def acs3_canonical_request(
    method: str, query: Mapping[str, str], headers: Mapping[str, str], hashed_payload: str
) -> str:
    """V3: method, URI ``/``, sorted query, sorted ``name:value`` headers, their names, body hash.

    ``headers`` are exactly the signed ones (``host``, every ``x-acs-*``, and
    ``content-type`` when sent).
    """
    return canonical_request(method, "/", query_string(query), headers, hashed_payload)


def acs3_string_to_sign(canonical_request: str) -> str:
    """V3: the algorithm name and the hex SHA-256 of the canonical request."""
    return string_to_sign(ACS3_ALGORITHM, canonical=canonical_request)


def acs3_signature(access_key_secret: str, string_to_sign: str) -> str:
    """V3: hex HMAC-SHA256 keyed with the AccessKey secret itself."""
    return hmac_sha256_hex(access_key_secret, string_to_sign)


def acs3_authorization(
    access_key_id: str,
    access_key_secret: str,
    method: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    hashed_payload: str,
) -> str:
    """V3: the ``Authorization`` header value (no spaces after the commas)."""
    canonical = acs3_canonical_request(method, query, headers, hashed_payload)
    signature = acs3_signature(access_key_secret, acs3_string_to_sign(canonical))
    return (
        f"{ACS3_ALGORITHM} Credential={access_key_id},"
        f"SignedHeaders={signed_headers(headers)},Signature={signature}"
    )
