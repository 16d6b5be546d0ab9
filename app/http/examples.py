"""What each error code sends besides the five members every problem has: its headers and
the members its examples show (:mod:`app.http.contract` documents them in OpenAPI)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar.openapi.spec import OpenAPIHeader, Schema
from litestar.openapi.spec.enums import OpenAPIType

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["EXAMPLE_MEMBERS", "HEADERS", "HEADERS_BY_CODE"]

#: The headers an error carries besides Content-Type, by code.
HEADERS_BY_CODE: Mapping[str, tuple[str, ...]] = {
    "unauthorized": ("WWW-Authenticate",),
    "suspected_fraud": ("Retry-After",),
    "idempotency_key_in_progress": ("Retry-After",),
    "rate_limited": ("Retry-After",),
    "resend_cooldown": ("Retry-After",),
    "store_unavailable": ("Retry-After",),
}
HEADERS: Mapping[str, OpenAPIHeader] = {
    "Retry-After": OpenAPIHeader(
        schema=Schema(type=OpenAPIType.STRING, pattern=r"^[1-9][0-9]*$"),
        description="Seconds to wait before the same request may succeed.",
    ),
    "WWW-Authenticate": OpenAPIHeader(
        schema=Schema(type=OpenAPIType.STRING),
        description='`Bearer realm="otpgate"` (with `error="invalid_token"` for a bad key).',
    ),
    "Idempotent-Replayed": OpenAPIHeader(
        schema=Schema(type=OpenAPIType.STRING, enum=["true"]),
        description="`true`: the answer to an earlier request with this Idempotency-Key "
        "(or what became of it); nothing was sent again.",
    ),
}
#: The members each code sends beyond the five every problem has, as examples show them.
EXAMPLE_MEMBERS: Mapping[str, dict[str, Any]] = {
    "invalid_request": {
        "errors": [{"message": "Expected `str`, got `int`", "key": "to", "source": "body"}]
    },
    "rate_limited": {"rule": "send_per_number", "limit": 5, "window": 3600, "retry_after": 1740},
    "resend_cooldown": {"retry_after": 42, "verification_id": "ver_example"},
    "suspected_fraud": {"retry_after": 3600, "block_id": "blk_example"},
    "idempotency_key_in_progress": {"retry_after": 1},
    "country_not_allowed": {"country": "KP"},
    "number_type_not_allowed": {"number_type": "premium_rate"},
    "max_sends_reached": {"verification_id": "ver_example"},
    "max_attempts_reached": {"verification_id": "ver_example"},
    "verification_expired": {"verification_id": "ver_example"},
    "verification_not_pending": {"verification_status": "approved"},
    "delivery_failed": {
        "provider": "aliyun",
        "provider_error": "isv.MOBILE_NUMBER_ILLEGAL",
        "error_kind": "permanent",
        "verification_id": "ver_example",
    },
    "invalid_template": {
        "errors": [{"message": "the text must hold {code}", "key": "text", "source": "body"}]
    },
    "provider_review_failed": {"provider": "aliyun", "provider_error": "isv.SMS_TEMPLATE_ILLEGAL"},
}
