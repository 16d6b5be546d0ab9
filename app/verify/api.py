"""HTTP routes of verifications: thin handlers over :class:`VerificationService`."""

from __future__ import annotations

import time
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter, JSONBody

from app.abuse.throttle import rate_limit_headers
from app.apps.auth import requires_scope
from app.apps.keys import ApiKey
from app.verify.idempotency import REPLAYED_HEADER
from app.verify.models import (
    CheckResult,
    CheckVerification,
    StartVerification,
    VerificationDetail,
    VerificationView,
)
from app.verify.service import VerificationService

__all__ = ["VerificationController"]


class VerificationController(Controller):
    path = "/v1/verifications"
    tags = ["verifications"]
    guards = [requires_scope("verify")]
    security = [{"apiKey": []}]
    # Litestar resolves handler annotations at start-up, so these names must exist then.
    signature_types = [ApiKey, VerificationService]

    @post(
        "/",
        operation_id="startVerification",
        summary="Send a code (or resend one)",
        status_code=201,
        responses=None,
    )
    async def start(
        self,
        data: JSONBody[StartVerification],
        request: Request[ApiKey, str, Any],
        verifications: NamedDependency[VerificationService],
        idempotency_key: Annotated[
            str | None,
            HeaderParameter(
                name="Idempotency-Key",
                description="Repeat a request safely: same key and body within 24 h, same answer.",
                required=False,
            ),
        ] = None,
    ) -> Response[VerificationView]:
        started = await verifications.start(request.user.app, data, idempotency_key)
        headers = rate_limit_headers(started.limits, time.time())
        if started.replayed:
            headers[REPLAYED_HEADER] = "true"
        return Response(started.view, status_code=201, headers=headers)

    @get("/{verification_id:str}", operation_id="getVerification", summary="Read a verification")
    async def read(
        self,
        verification_id: FromPath[str],
        request: Request[ApiKey, str, Any],
        verifications: NamedDependency[VerificationService],
    ) -> VerificationDetail:
        return await verifications.get(request.user.app, verification_id)

    @post("/check", operation_id="checkVerification", summary="Check a code", status_code=200)
    async def check(
        self,
        data: JSONBody[CheckVerification],
        request: Request[ApiKey, str, Any],
        verifications: NamedDependency[VerificationService],
    ) -> CheckResult:
        return await verifications.check(request.user.app, data)

    @post(
        "/{verification_id:str}/cancel",
        operation_id="cancelVerification",
        summary="Cancel a pending verification",
        status_code=200,
    )
    async def cancel(
        self,
        verification_id: FromPath[str],
        request: Request[ApiKey, str, Any],
        verifications: NamedDependency[VerificationService],
    ) -> VerificationDetail:
        return await verifications.cancel(request.user.app, verification_id)
