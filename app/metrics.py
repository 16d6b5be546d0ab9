"""What otpgate counts for Prometheus, beside the HTTP figures (``app.ops.metrics``
serves them). Any layer may count; only the ops layer exposes."""

from __future__ import annotations

from prometheus_client import Counter

__all__ = ["CHECKS", "SMS_ATTEMPTS"]

SMS_ATTEMPTS = Counter(
    "otpgate_sms_attempts",
    "SMS send attempts by provider and outcome (accepted, retryable, permanent, account, skipped)",
    ["provider", "outcome"],
)
CHECKS = Counter(
    "otpgate_checks",
    "Code checks that reached a comparison, by result (approved, wrong)",
    ["result"],
)
