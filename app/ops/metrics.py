"""GET /metrics for Prometheus: HTTP figures per route, and what otpgate did.

Litestar's Prometheus middleware counts requests and latency per route template (so a
verification id or a callback token never becomes a label). With several workers,
``otpgate serve`` points ``PROMETHEUS_MULTIPROC_DIR`` at a directory under the data dir
and every worker's figures are summed on scrape.
"""

from __future__ import annotations

from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from prometheus_client import Counter

__all__ = ["CHECKS", "SMS_ATTEMPTS", "MetricsController", "prometheus_config"]

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


def prometheus_config() -> PrometheusConfig:
    return PrometheusConfig(
        app_name="otpgate",
        prefix="otpgate",
        group_path=True,
        exclude=["^/metrics", "^/healthz", "^/readyz"],
    )


class MetricsController(PrometheusController):
    path = "/metrics"
    include_in_schema = False
