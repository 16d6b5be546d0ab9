"""GET /metrics for Prometheus: HTTP figures per route, and what otpgate did.

Litestar's Prometheus middleware counts requests and latency per route template (so a
verification id or a callback token never becomes a label). With several workers,
``otpgate serve`` points ``PROMETHEUS_MULTIPROC_DIR`` at a directory under the data dir
and every worker's figures are summed on scrape.
"""

from __future__ import annotations

from litestar.plugins.prometheus import PrometheusConfig, PrometheusController

__all__ = ["MetricsController", "prometheus_config"]


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
