"""Domain errors: the one table of stable error codes, and the exception that carries one.

Clients branch on ``code``; a code never changes meaning once released. How an error
becomes an HTTP answer (problem+json) is the HTTP edge's business: :mod:`app.http.problems`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["ERRORS", "PROBLEM_TYPE", "OtpgateError"]

#: code -> (HTTP status, title). The README's error table is generated from this.
ERRORS: Mapping[str, tuple[int, str]] = {
    "invalid_request": (400, "The request is malformed or a field has the wrong type"),
    "unauthorized": (401, "A valid API key is required"),
    "invalid_signature": (401, "The callback's signature does not match"),
    "forbidden": (403, "The API key lacks the scope this route needs"),
    "callback_forbidden": (403, "Wrong callback token, or a source IP not allowed"),
    "ip_not_allowed": (
        403,
        "The client IP may not request codes, or the API key is not accepted from this address",
    ),
    "country_not_allowed": (403, "This app does not send codes to that country"),
    "suspected_fraud": (403, "Sends here are held: the traffic looks like SMS pumping"),
    "send_denied": (403, "The app's pre-send hook refused the send"),
    "number_opted_out": (403, "The number opted out of this app's messages"),
    "not_found": (404, "No such route"),
    "verification_not_found": (404, "No pending verification matches"),
    "block_not_found": (404, "No such active block"),
    "event_not_found": (404, "No such dead-lettered event"),
    "key_not_found": (404, "No such API key in this app"),
    "number_not_found": (404, "No such safe or test number in force in this app"),
    "opt_out_not_found": (404, "The number has not opted out of this app"),
    "app_not_found": (404, "No such app"),
    "factor_not_found": (404, "No such factor in this app"),
    "template_not_found": (404, "No such template in this app"),
    "app_exists": (409, "An app of this name exists already"),
    "app_disabled": (403, "The API key's app is disabled"),
    "method_not_allowed": (405, "Method not allowed on this route"),
    "verification_not_pending": (409, "The verification is no longer pending"),
    "idempotency_key_in_progress": (409, "This Idempotency-Key's first request has not finished"),
    "factor_not_verified": (409, "The factor is not confirmed yet"),
    "factor_verified": (409, "The factor is confirmed already"),
    "template_already_submitted": (409, "The template is in review or approved already"),
    "template_changed": (409, "The template changed while this request ran"),
    "verification_expired": (410, "The verification has expired"),
    "payload_too_large": (413, "The request body is too large"),
    "invalid_phone": (422, "The phone number is not valid"),
    "invalid_email": (422, "The email address is not valid"),
    "channel_not_available": (422, "This channel has no provider for this recipient"),
    "number_type_not_allowed": (422, "This app does not send codes to that kind of number"),
    "idempotency_key_reused": (422, "The Idempotency-Key was used with a different body"),
    "invalid_template": (422, "The template breaks a rule of otpgate or of a provider"),
    "rate_limited": (429, "Too many requests for this rule; wait and retry"),
    "resend_cooldown": (429, "Wait before sending another code"),
    "max_sends_reached": (429, "This verification has sent all the codes it may"),
    "max_attempts_reached": (429, "Too many wrong codes; start a new verification"),
    "factor_locked": (429, "Too many wrong codes in a row for this subject"),
    "quota_exceeded": (429, "The app's quota of sends or spend for this day or month is used up"),
    "internal_error": (500, "Internal error"),
    "delivery_failed": (502, "No provider could deliver the message"),
    "provider_review_failed": (502, "A provider refused the template or did not answer"),
    "store_unavailable": (503, "The data store is unavailable; try again shortly"),
}

PROBLEM_TYPE = "urn:otpgate:problem:"


class OtpgateError(Exception):
    """A domain error with a stable ``code`` from :data:`ERRORS`.

    Args:
        code: the stable error code.
        detail: a sentence for a person, about this occurrence.
        retry_after: seconds after which the same request may succeed (sets Retry-After).
        headers: further response headers (e.g. ``Idempotent-Replayed``).
        **extra: further members of the problem document.
    """

    def __init__(
        self,
        code: str,
        detail: str | None = None,
        *,
        retry_after: float | None = None,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        if code not in ERRORS:
            raise ValueError(f"unknown error code {code!r}")
        self.code = code
        self.status, self.title = ERRORS[code]
        self.detail = detail or self.title
        self.retry_after = retry_after
        self.headers = dict(headers or {})
        self.extra = extra
        super().__init__(f"{code}: {self.detail}")
