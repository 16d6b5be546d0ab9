"""GET /metrics for Prometheus: HTTP figures per route, and what otpgate did.

``app.http.route_metrics`` counts requests and latency per route template (so a
verification id or a callback token never becomes a label). With several workers,
``otpgate serve`` points ``PROMETHEUS_MULTIPROC_DIR`` at a directory under the data dir
and every worker's figures are summed on scrape. A scrape first reads what lives in
Redis into gauges (every provider's circuit, the event backlog): two round trips; with
Redis down it answers what it has, and counts the error.
"""

from __future__ import annotations

import logging
import os

from litestar import get
from litestar.di import NamedDependency
from litestar.plugins.prometheus import PrometheusController
from litestar.response import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)

from app.delivery.events import EventBus
from app.metrics import EVENTS_BACKLOG, REDIS_ERRORS
from app.providers.api import ProviderDirectory
from app.store.redis import UNAVAILABLE

__all__ = ["MetricsController"]

log = logging.getLogger("otpgate")


async def _read_gauges(providers: ProviderDirectory, events: EventBus) -> None:
    try:
        await providers.circuits()
        for state, count in (await events.backlog()).items():
            EVENTS_BACKLOG.labels(state).set(count)
    except UNAVAILABLE as exc:
        REDIS_ERRORS.labels("metrics").inc()
        log.warning("metrics: redis unavailable (%s); gauges as last read", exc)


class MetricsController(PrometheusController):
    """Litestar's Prometheus controller, reading the Redis-held gauges first (its own
    ``get`` cannot take dependencies, so this one renders the same way)."""

    path = "/metrics"
    include_in_schema = False
    signature_types = [ProviderDirectory, EventBus]

    @get()
    async def get(
        self,
        provider_directory: NamedDependency[ProviderDirectory],
        events: NamedDependency[EventBus],
    ) -> Response[bytes]:
        await _read_gauges(provider_directory, events)
        registry = REGISTRY
        if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        return Response(generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})
