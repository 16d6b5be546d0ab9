"""What otpgate counts for Prometheus, beside the HTTP figures (``app.ops.metrics``
serves them). Any layer may count; only the ops layer exposes.

With several workers (``PROMETHEUS_MULTIPROC_DIR``), counters and histograms are summed
over them; the gauges say how each is summed: the hashing queue over the live workers,
and what a scrape reads from Redis (circuits, the event backlog) or a provider answered
(its balance) as the most recent value any worker set.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

__all__ = [
    "CHECKS", "CIRCUIT_STATE", "EVENTS_BACKLOG", "HASH_QUEUE", "HTTP_DURATION", "HTTP_ERRORS",
    "HTTP_IN_PROGRESS", "HTTP_REQUESTS", "PROVIDER_BALANCE", "PROVIDER_LATENCY", "REDIS_ERRORS",
    "REFUSALS", "SMS_ATTEMPTS",
]  # fmt: skip

#: The HTTP figures per route template (``app.http.route_metrics`` counts them), named
#: and labelled as Litestar's Prometheus middleware names them.
_HTTP_LABELS = ("method", "path", "status_code", "app_name")
HTTP_REQUESTS = Counter("otpgate_requests", "Total requests", _HTTP_LABELS)
HTTP_DURATION = Histogram(
    "otpgate_request_duration_seconds", "Request duration, in seconds", _HTTP_LABELS
)
HTTP_IN_PROGRESS = Gauge(
    "otpgate_requests_in_progress",
    "Total requests currently in progress",
    _HTTP_LABELS,
    multiprocess_mode="livesum",
)
HTTP_ERRORS = Counter("otpgate_requests_error", "Total errors in requests", _HTTP_LABELS)

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
PROVIDER_LATENCY = Histogram(
    "otpgate_provider_latency_seconds",
    "Time a provider took to answer one send attempt, by provider and outcome",
    ["provider", "outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0),
)
REFUSALS = Counter(
    "otpgate_refusals",
    "Requests refused by a rule: the rate limit's rule, else the error code "
    "(suspected_fraud, quota_exceeded, country_not_allowed, …)",
    ["reason"],
)
REDIS_ERRORS = Counter(
    "otpgate_redis_errors",
    "Times Redis was unavailable, by where it was found (request, apps_watch, events)",
    ["where"],
)
HASH_QUEUE = Gauge(
    "otpgate_hash_queue",
    "Code hashes and comparisons waiting for or running in the hashing threads",
    multiprocess_mode="livesum",
)
CIRCUIT_STATE = Gauge(
    "otpgate_provider_circuit_state",
    "A provider's circuit as last read: 0 closed, 1 half open, 2 open",
    ["provider"],
    multiprocess_mode="mostrecent",
)
PROVIDER_BALANCE = Gauge(
    "otpgate_provider_balance",
    "A provider's balance as it last answered GET /v1/providers, in its own unit",
    ["provider", "unit"],
    multiprocess_mode="mostrecent",
)
EVENTS_BACKLOG = Gauge(
    "otpgate_events",
    "App events not delivered yet, as last read: pending (on the stream), retrying, dead",
    ["state"],
    multiprocess_mode="mostrecent",
)
