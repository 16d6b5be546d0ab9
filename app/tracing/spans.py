"""The spans of a request's work: its Redis round trips and provider attempts, children
of the request's server span. A leaf: the OpenTelemetry API only.

The edge puts the request's span and the tracer in the request's context
(:func:`enter_request`); below it, :func:`child_tracer` answers None when tracing is off,
outside a request, or in a trace that is not sampled, so the hot path pays one context
variable's read and makes no span. No span here ever holds an argument, a key, a number
or a code: the callers give names, counts and outcomes only.
"""

from __future__ import annotations

import contextlib
import re
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from opentelemetry import context, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from contextvars import Token

    from opentelemetry.context import Context
    from opentelemetry.trace import Span, Tracer

__all__ = [
    "Entered", "child_tracer", "client_span", "enter_request", "fail", "leave_request", "note",
]  # fmt: skip

#: The tracer of the request being served, while tracing is on. A variable of its own
#: rather than a value in OpenTelemetry's context: reading that costs ten times more,
#: and the off path reads it at every round trip.
_TRACER: ContextVar[Tracer | None] = ContextVar("otpgate_tracer", default=None)
_TOKEN = re.compile(r"[A-Za-z0-9_.:-]{1,64}")

Entered = tuple["Token[Context]", "Token[Tracer | None]"]


def enter_request(tracer: Tracer, span: Span, parent: Context | None) -> Entered:
    """Make ``span`` the current one and ``tracer`` its children's, for the request; what
    :func:`leave_request` takes back at its end."""
    return context.attach(trace.set_span_in_context(span, parent)), _TRACER.set(tracer)


def leave_request(entered: Entered) -> None:
    span_token, tracer_token = entered
    _TRACER.reset(tracer_token)
    context.detach(span_token)


def child_tracer() -> Tracer | None:
    """The tracer for a child of the current span; None when there is nothing to record
    (tracing off, no request, or a trace left out by sampling: its children would be too)."""
    tracer = _TRACER.get()
    if tracer is None or not trace.get_current_span().is_recording():
        return None
    return tracer


@contextlib.contextmanager
def client_span(
    tracer: Tracer, name: str, attributes: Mapping[str, Any], *, current: bool = False
) -> Iterator[Span]:
    """A client span over the block, ended with it (``current``: the block's spans are its
    children). An exception marks it failed, by the exception's type alone (its message
    may hold what a span must not)."""
    span = tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attributes)
    token = context.attach(trace.set_span_in_context(span)) if current else None
    try:
        yield span
    except BaseException as exc:
        fail(span, type(exc).__name__)
        raise
    finally:
        if token is not None:
            context.detach(token)
        span.end()


def fail(span: Span, error_type: str) -> None:
    """Mark ``span`` failed: ``error.type`` (a class name, a status, an error code; one
    that is no plain token, as a vendor may send, reads ``_OTHER``)."""
    span.set_attribute("error.type", error_type if _TOKEN.fullmatch(error_type) else "_OTHER")
    span.set_status(Status(StatusCode.ERROR))


def note(attributes: Mapping[str, Any]) -> None:
    """Add ``attributes`` to the current span, if it records (a provider's HTTP status)."""
    if _TRACER.get() is None:
        return
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attributes(attributes)
