"""Twilio's errors: ``{"code", "message", "more_info", "status"}`` with Twilio's codes
and HTTP statuses, and the one table that turns otpgate's errors into them.

The codes are Twilio's own (https://www.twilio.com/docs/errors/<code>): a client that
branches on ``TwilioRestException.code`` keeps working.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

if TYPE_CHECKING:
    from app.errors import OtpgateError

__all__ = [
    "TWILIO_ERRORS",
    "TwilioError",
    "TwilioErrorBody",
    "from_otpgate",
    "from_status",
    "invalid_parameter",
    "unsupported",
]

MORE_INFO = "https://www.twilio.com/docs/errors/"

#: Twilio's code -> (HTTP status, its message): every code the API answers.
TWILIO_ERRORS: dict[int, tuple[int, str]] = {
    20003: (401, "Authenticate"),
    20004: (405, "Method not allowed"),
    20403: (403, "Forbidden"),
    20404: (404, "The requested resource was not found"),
    20413: (413, "Request entity too large"),
    20429: (429, "Too many requests"),
    20500: (500, "Internal server error"),
    20503: (503, "Service unavailable"),
    30008: (502, "Unknown error: no provider could send the message"),
    60200: (400, "Invalid parameter"),
    60202: (429, "Max check attempts reached"),
    60203: (429, "Max send attempts reached"),
    60204: (403, "Service does not support this feature"),
    60205: (403, "SMS is not supported by landline phone number"),
    60212: (429, "Too many concurrent requests for phone number"),
    60410: (403, "Verification delivery attempt blocked"),
    60602: (400, "App hash can only be used with SMS channel"),
    60605: (403, "Verification delivery attempt blocked"),
}

#: otpgate's code -> Twilio's. A code missing here falls back on its HTTP status.
_FROM_OTPGATE: dict[str, int] = {
    "invalid_request": 60200,
    "invalid_phone": 60200,
    "unauthorized": 20003,
    "forbidden": 20403,
    "ip_not_allowed": 20403,
    "app_disabled": 20403,
    "country_not_allowed": 60605,
    "suspected_fraud": 60410,
    "send_denied": 60410,
    "number_type_not_allowed": 60205,
    "verification_not_found": 20404,
    "verification_expired": 20404,  # Twilio soft-deletes an expired verification
    "verification_not_pending": 20404,  # ... and an approved one
    "app_not_found": 20404,
    "number_not_found": 20404,
    "not_found": 20404,
    "method_not_allowed": 20004,
    "payload_too_large": 20413,
    "rate_limited": 20429,
    "quota_exceeded": 20429,
    "resend_cooldown": 60212,
    "max_sends_reached": 60203,
    "max_attempts_reached": 60202,
    "delivery_failed": 30008,
    "store_unavailable": 20503,
    "internal_error": 20500,
}
_BY_STATUS = {400: 60200, 401: 20003, 403: 20403, 404: 20404, 405: 20004, 413: 20413,
              429: 20429, 503: 20503}  # fmt: skip
#: Rules of otpgate's throttles that Twilio would call too many sends to one number.
_NUMBER_RULES = frozenset({"send_per_number"})


class TwilioErrorBody(msgspec.Struct, frozen=True):
    """What Twilio answers for an error."""

    code: int
    message: str
    more_info: str
    status: int


class TwilioError(Exception):
    """An error to answer in Twilio's shape; ``message`` defaults to the code's own."""

    def __init__(
        self, code: int, message: str | None = None, *, retry_after: float | None = None
    ) -> None:
        self.code = code
        self.status, default = TWILIO_ERRORS[code]
        self.message = message or default
        self.retry_after = retry_after
        super().__init__(self.message)

    def body(self) -> TwilioErrorBody:
        return TwilioErrorBody(self.code, self.message, f"{MORE_INFO}{self.code}", self.status)

    def headers(self) -> dict[str, str]:
        if self.retry_after is None:
            return {}
        return {"Retry-After": str(max(1, int(-(-self.retry_after // 1))))}


def invalid_parameter(name: str, why: str = "") -> TwilioError:
    """60200 naming the parameter, as Twilio does (``Invalid parameter: To``)."""
    return TwilioError(60200, f"Invalid parameter: {name}" + (f" ({why})" if why else ""))


def unsupported(what: str) -> TwilioError:
    """60204: otpgate does not do ``what`` (README's migration table says so)."""
    return TwilioError(60204, f"Service does not support this feature: {what}")


def from_status(status: int, detail: str = "") -> TwilioError:
    """The Twilio error of an HTTP status Litestar answered (a bad route, a bad body)."""
    code = _BY_STATUS.get(status, 20500 if status >= 500 else 60200)
    return TwilioError(code, f"{TWILIO_ERRORS[code][1]}: {detail}" if detail else None)


def from_otpgate(error: OtpgateError) -> TwilioError:
    """The Twilio error of one of otpgate's, its detail kept in the message."""
    code = _FROM_OTPGATE.get(error.code)
    if error.code == "rate_limited" and error.extra.get("rule") in _NUMBER_RULES:
        code = 60212
    if error.code == "invalid_phone":
        return invalid_parameter("To", error.detail)
    if code is None:
        code = _BY_STATUS.get(error.status, 20500 if error.status >= 500 else 60200)
    default = TWILIO_ERRORS[code][1]
    plain = error.detail in ("", default, error.title)
    message = default if plain else f"{default}: {error.detail}"
    return TwilioError(code, message, retry_after=error.retry_after)
