"""The tracer of a running otpgate: OpenTelemetry's SDK, exporting over OTLP/HTTP in
batches, opened with the app's other resources and flushed when it stops.

Spans wait in a bounded queue that a thread of the SDK sends on; a request only appends
to it, so a collector that is slow, down or refusing never delays or fails one (when the
queue is full, each new span pushes the oldest out, with a warning in the log). With tracing off
nothing of the SDK is imported or started: :func:`open_tracer` yields None.

The tracer is otpgate's own, not OpenTelemetry's global one: each app (a test may run
several in one process) has its own, and no library otpgate uses traces through it.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Tracer

    from app.tracing.config import TracingSettings

__all__ = ["open_tracer"]

#: Seconds one export may take, its retries included.
EXPORT_TIMEOUT = 5.0
#: Seconds the spans still queued at stop may take to leave; then they are dropped.
STOP_TIMEOUT = 5.0
#: Spans kept while the collector does not take them (about 1 KiB each).
QUEUE_SIZE = 4096
BATCH_SIZE = 512
#: Milliseconds between two exports (sooner when a batch is full).
EXPORT_DELAY_MS = 2000


@contextlib.asynccontextmanager
async def open_tracer(settings: TracingSettings, version: str) -> AsyncIterator[Tracer | None]:
    """The tracer of ``settings`` (None: tracing off) while the app runs; at exit the
    queued spans are exported, for :data:`STOP_TIMEOUT` seconds at most."""
    if not settings.enabled:
        yield None
        return
    provider, exporter = _provider(settings, version)
    try:
        yield provider.get_tracer("otpgate", version)
    finally:
        await _shut_down(provider, exporter)


def _provider(settings: TracingSettings, version: str) -> tuple[TracerProvider, OTLPSpanExporter]:
    # Imported here: the SDK, the exporter and protobuf cost start-up time and memory
    # that an otpgate without tracing should not pay.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    exporter = OTLPSpanExporter(
        endpoint=settings.endpoint, headers=dict(settings.headers), timeout=EXPORT_TIMEOUT
    )
    provider = TracerProvider(
        sampler=ParentBased(TraceIdRatioBased(settings.sample_ratio)),
        # OTEL_RESOURCE_ATTRIBUTES may add to these (deployment.environment.name, …)
        resource=Resource.create(
            {"service.name": settings.service_name, "service.version": version}
        ),
        shutdown_on_exit=False,  # the app's lifespan shuts it down, in order
    )
    provider.add_span_processor(
        BatchSpanProcessor(
            exporter,
            max_queue_size=QUEUE_SIZE,
            schedule_delay_millis=EXPORT_DELAY_MS,
            max_export_batch_size=BATCH_SIZE,
        )
    )
    return provider, exporter


async def _shut_down(provider: TracerProvider, exporter: OTLPSpanExporter) -> None:
    """Export what is queued, in a thread (the SDK's shutdown blocks); a collector that
    has not taken it within :data:`STOP_TIMEOUT` seconds loses it: the exporter is shut,
    which ends its retries, and the processor's last exports fail at once."""
    stopping = asyncio.ensure_future(asyncio.to_thread(provider.shutdown))
    _, pending = await asyncio.wait({stopping}, timeout=STOP_TIMEOUT)
    if pending:
        exporter.shutdown()
    await stopping
