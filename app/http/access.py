"""Every request's id and its access line.

The id is the caller's ``X-Request-Id`` when it is a sane token (up to 64 letters,
digits, ``.``, ``_``, ``-``), else a new ``req_…``; it is in every log line of the
request (:data:`app.logs.REQUEST_ID`) and in the answer's ``X-Request-Id``. The access
line names the route template, never the raw path or query (a token or a number could
be in them).

Written as a subclass of :class:`~litestar.Litestar` because a middleware runs only for
requests that found a route; this sees every one (404s, 405s, 413s too).
"""

from __future__ import annotations

import logging
import re
import time
from typing import TYPE_CHECKING, Any

from litestar import Litestar

from app.ids import random_id
from app.logs import REQUEST_ID

if TYPE_CHECKING:
    from litestar.types import Message, Scope

__all__ = ["REQUEST_ID_HEADER", "ObservedApp"]

REQUEST_ID_HEADER = "x-request-id"
_SANE = re.compile(rb"[A-Za-z0-9._-]{1,64}")
log = logging.getLogger("otpgate.access")


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER.encode() and _SANE.fullmatch(value):
            return value.decode()
    return random_id("req_", 20)


class ObservedApp(Litestar):
    """Litestar, with a request id and an access line for every HTTP request."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request_id = _request_id(scope)
        token = REQUEST_ID.set(request_id)
        started, status = time.perf_counter(), [0]

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                headers = list(message.get("headers", ()))
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await super().__call__(scope, receive, send_with_id)
        finally:
            _access(scope, status[0], time.perf_counter() - started)
            REQUEST_ID.reset(token)


def _access(scope: Scope, status: int, seconds: float) -> None:
    route = scope.get("path_template") or "unmatched"
    user = scope.get("user")
    fields = {
        "method": scope.get("method"), "route": route, "status": status,
        "duration_ms": round(seconds * 1000, 2), "app": getattr(user, "app", None),
    }  # fmt: skip
    log.info("%s %s %s %.1f ms", scope.get("method"), route, status, seconds * 1000,
             extra={"fields": fields})  # fmt: skip
