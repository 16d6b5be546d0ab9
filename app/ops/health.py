"""Liveness and readiness probes."""

from __future__ import annotations

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from redis.asyncio import Redis

from app.errors import OtpgateError

__all__ = ["HealthController"]


class Health(msgspec.Struct, frozen=True):
    status: str


class HealthController(Controller):
    tags = ["operations"]
    signature_types = [Redis]

    @get("/healthz", operation_id="health", summary="The process is up", cache=False)
    async def healthz(self) -> Health:
        return Health("ok")

    @get("/readyz", operation_id="ready", summary="Redis answers", cache=False)
    async def readyz(self, redis: NamedDependency[Redis]) -> Health:
        if not await redis.ping():
            raise OtpgateError("store_unavailable")
        return Health("ready")
