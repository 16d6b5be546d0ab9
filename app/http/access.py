"""Every request's id and its access line.

The id is the caller's ``X-Request-Id`` when it is a sane token (up to 64 letters,
digits, ``.``, ``_``, ``-``), else a new ``req_…``; it is in every log line of the
request (:data:`app.logs.REQUEST_ID`) and in the answer's ``X-Request-Id``. The access
line names the route template, never the raw path or query (a token or a number could
be in them).

With tracing on (:attr:`ObservedApp.tracer`, set at start), each request is a server
span too: it continues the caller's W3C ``traceparent``, is named by the method and the
route template, and carries the method, the template, the status and the request id;
never the path, the query, a header or the body. (Not Litestar's OpenTelemetry plugin,
opentelemetry-instrumentation-asgi: it records the raw path and query.)

Written as a subclass of :class:`~litestar.Litestar` because a middleware runs only for
requests that found a route; this sees every one (404s, 405s, 413s too).
"""

from __future__ import annotations

import logging
import re
import time
from typing import TYPE_CHECKING, Any

from litestar import Litestar
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from app.ids import random_id
from app.logs import REQUEST_ID
from app.tracing.spans import Entered, enter_request, fail, leave_request

if TYPE_CHECKING:
    from litestar.types import Message, Scope
    from opentelemetry.trace import Span, Tracer

__all__ = ["REQUEST_ID_HEADER", "ObservedApp"]

REQUEST_ID_HEADER = "x-request-id"
_SANE = re.compile(rb"[A-Za-z0-9._-]{1,64}")
log = logging.getLogger("otpgate.access")
_PROPAGATOR = TraceContextTextMapPropagator()
_TRACE_HEADERS = frozenset({b"traceparent", b"tracestate"})
#: The methods a span names; any other reads ``_OTHER`` (OpenTelemetry's convention).
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"})


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER.encode() and _SANE.fullmatch(value):
            return value.decode()
    return random_id("req_", 20)


class ObservedApp(Litestar):
    """Litestar, with a request id and an access line for every HTTP request."""

    #: The tracer of the request spans, while tracing is on (the lifespan sets it).
    tracer: Tracer | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request_id = _request_id(scope)
        token = REQUEST_ID.set(request_id)
        traced = None if self.tracer is None else _server_span(self.tracer, scope, request_id)
        started, status = time.perf_counter(), [0]

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                headers = list(message.get("headers", ()))
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        failure = None
        try:
            await super().__call__(scope, receive, send_with_id)
        except BaseException as exc:
            failure = type(exc).__name__
            raise
        finally:
            _access(scope, status[0], time.perf_counter() - started)
            if traced is not None:
                _end_server_span(*traced, scope, status[0], failure)
            REQUEST_ID.reset(token)


def _method(scope: Scope) -> str:
    method = scope.get("method", "")
    return method if method in _METHODS else "_OTHER"


def _server_span(tracer: Tracer, scope: Scope, request_id: str) -> tuple[Span, Entered]:
    """The request's span, started and made current (a child of the caller's
    ``traceparent``, if it brought a valid one), and what ends its context."""
    carrier = {
        name.decode("latin-1"): value.decode("latin-1")
        for name, value in scope.get("headers", ())
        if name in _TRACE_HEADERS
    }
    parent = _PROPAGATOR.extract(carrier) if carrier else None
    attributes = {"http.request.method": _method(scope), "otpgate.request_id": request_id}
    span = tracer.start_span(_method(scope), parent, SpanKind.SERVER, attributes)
    return span, enter_request(tracer, span, parent)


def _end_server_span(
    span: Span, entered: Entered, scope: Scope, status: int, failure: str | None
) -> None:
    """Name the span by its route template, if a route was found, and end it; a 5xx or an
    exception is an error."""
    leave_request(entered)
    if route := scope.get("path_template"):
        span.update_name(f"{_method(scope)} {route}")
        span.set_attribute("http.route", route)
    if status:
        span.set_attribute("http.response.status_code", status)
    if app := getattr(scope.get("user"), "app", None):
        span.set_attribute("otpgate.app", app)
    if status >= 500 or failure is not None:
        fail(span, failure if status < 500 and failure else str(status))
    span.end()


def _access(scope: Scope, status: int, seconds: float) -> None:
    route = scope.get("path_template") or "unmatched"
    user = scope.get("user")
    fields = {
        "method": scope.get("method"), "route": route, "status": status,
        "duration_ms": round(seconds * 1000, 2), "app": getattr(user, "app", None),
    }  # fmt: skip
    log.info("%s %s %s %.1f ms", scope.get("method"), route, status, seconds * 1000,
             extra={"fields": fields})  # fmt: skip
