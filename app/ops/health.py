"""Liveness and readiness probes."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency

from app.errors import OtpgateError
from app.http.contract import problems
from app.store.redis import Readiness

__all__ = ["HealthController"]


class Health(msgspec.Struct, frozen=True):
    """The probe passed."""

    status: Annotated[
        Literal["ok", "ready"], msgspec.Meta(description="`ok` (healthz), `ready` (readyz).")
    ]


class HealthController(Controller):
    tags = ["operations"]
    signature_types = [Readiness]

    @get(
        "/healthz",
        operation_id="health",
        summary="The process is up",
        cache=False,
        **problems("internal_error"),
    )
    async def healthz(self) -> Health:
        return Health("ok")

    @get(
        "/readyz",
        operation_id="ready",
        summary="Redis answers",
        cache=False,
        **problems("store_unavailable", "internal_error"),
    )
    async def readyz(self, readiness: NamedDependency[Readiness]) -> Health:
        if not await readiness.ready():
            raise OtpgateError("store_unavailable")
        return Health("ready")
