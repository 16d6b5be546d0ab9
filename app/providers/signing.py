"""What the request signatures of Alibaba (ACS3), Tencent (TC3) and Huawei (SDK-HMAC-SHA256)
have in common, and the percent-encoding Alibaba's RPC signature shares with them.

All three sign a *canonical request*: the method, the URI, the sorted percent-encoded
query, one ``name:value`` line per signed header (lower-cased, trimmed, sorted), the
signed header names joined by ``;``, and the payload's hash, joined by newlines. The
string to sign is the algorithm's name, a few lines of the scheme's own (a date, a
scope), and the hex SHA-256 of that canonical request; the signature is an HMAC-SHA256
of it. What differs stays with each vendor: how the URI is written, which headers are
signed, how the key is derived and how the ``Authorization`` header is laid out.

HTTP Basic credentials (Twilio, Vonage's balance call) are here too: httpx's ``BasicAuth``
sets them only when a request is sent, and adapters build the whole request up front.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "basic_authorization",
    "canonical_headers",
    "canonical_query",
    "canonical_request",
    "hmac_sha256",
    "hmac_sha256_hex",
    "percent_encode",
    "sha256_hex",
    "signed_headers",
    "string_to_sign",
]


def percent_encode(value: str) -> str:
    """RFC 3986 encoding of UTF-8: only ``A-Z a-z 0-9 - _ . ~`` stay as they are."""
    return quote(value, safe="~")


def canonical_query(params: Iterable[tuple[str, str]]) -> str:
    """``key=value`` pairs sorted by key then value, both percent-encoded, joined by ``&``."""
    return "&".join(
        f"{percent_encode(key)}={percent_encode(value)}" for key, value in sorted(params)
    )


def _lowered(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value.strip() for name, value in headers.items()}


def canonical_headers(headers: Mapping[str, str]) -> str:
    """One ``name:value`` line (each ending in a newline) per header, sorted by name."""
    values = _lowered(headers)
    return "".join(f"{name}:{values[name]}\n" for name in sorted(values))


def signed_headers(headers: Mapping[str, str]) -> str:
    """The names of ``headers``, lower-cased, sorted and joined by ``;``."""
    return ";".join(sorted(_lowered(headers)))


def canonical_request(
    method: str, uri: str, query: str, headers: Mapping[str, str], payload_hash: str
) -> str:
    """The newline-joined canonical request; ``uri`` and ``query`` come canonical already,
    ``headers`` are exactly the signed ones."""
    return "\n".join(
        [method, uri, query, canonical_headers(headers), signed_headers(headers), payload_hash]
    )


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def string_to_sign(algorithm: str, *scope: str, canonical: str) -> str:
    """The algorithm, the scheme's own lines (``scope``), the canonical request's hash."""
    return "\n".join([algorithm, *scope, sha256_hex(canonical.encode())])


def hmac_sha256(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def hmac_sha256_hex(key: str, message: str) -> str:
    """The hex HMAC-SHA256 of ``message`` keyed with the secret ``key`` itself."""
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()


def basic_authorization(user: str, password: str) -> str:
    """The ``Authorization`` value of HTTP Basic auth."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
