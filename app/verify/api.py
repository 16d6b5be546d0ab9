"""HTTP routes of verifications: thin handlers over :class:`VerificationService`."""

from __future__ import annotations

import time
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency
from litestar.params import HeaderParameter, JSONBody, PathParameter

from app.abuse.throttle import rate_limit_headers
from app.apps.auth import requires_scope
from app.apps.keys import ApiKey
from app.http.contract import API_KEY_PROBLEMS, problems
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

VerificationId = Annotated[str, PathParameter(description="The verification id (`ver_…`).")]

_SEND_HEADERS = [
    ResponseHeader(
        name=name, value="1", documentation_only=True, description=f"{description} (IETF "
        "RateLimit headers, of the tightest rule; sent when a rate limit applies)",
    )
    for name, description in [
        ("RateLimit-Limit", "Sends the rule allows per window"),
        ("RateLimit-Remaining", "Sends left in the window"),
        ("RateLimit-Reset", "Seconds until the window frees up"),
        ("RateLimit-Policy", "The rule as `<limit>;w=<window seconds>`"),
    ]
] + [
    ResponseHeader(
        name="Idempotent-Replayed", value="true", documentation_only=True,
        description="`true`: the answer of an earlier request with this Idempotency-Key; "
        "nothing was sent",
    )
]  # fmt: skip


class VerificationController(Controller):
    path = "/v1/verifications"
    tags = ["verifications"]
    security = [{"apiKey": []}]
    # Litestar resolves handler annotations at start-up, so these names must exist then.
    signature_types = [ApiKey, VerificationService]

    @post(
        "/",
        operation_id="startVerification",
        guards=[requires_scope("verify")],
        summary="Send a code (or resend one)",
        status_code=201,
        response_description="The code was sent (or, for a pending verification, resent)",
        response_headers=_SEND_HEADERS,
        **problems(
            *API_KEY_PROBLEMS,
            "invalid_request",
            "payload_too_large",
            "invalid_phone",
            "invalid_email",
            "channel_not_available",
            "number_type_not_allowed",
            "ip_not_allowed",
            "country_not_allowed",
            "suspected_fraud",
            "send_denied",
            "number_opted_out",
            "rate_limited",
            "quota_exceeded",
            "resend_cooldown",
            "max_sends_reached",
            "idempotency_key_in_progress",
            "idempotency_key_reused",
            # a retried Idempotency-Key whose first request died mid-send, settled later
            "verification_not_pending",
            "verification_expired",
            "delivery_failed",
            replayed=("verification_not_pending", "verification_expired", "delivery_failed"),
        ),
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

    @get(
        "/{verification_id:str}",
        operation_id="getVerification",
        guards=[requires_scope("verify", "read")],
        summary="Read a verification",
        **problems(*API_KEY_PROBLEMS, "verification_not_found"),
    )
    async def read(
        self,
        verification_id: VerificationId,
        request: Request[ApiKey, str, Any],
        verifications: NamedDependency[VerificationService],
    ) -> VerificationDetail:
        return await verifications.get(request.user.app, verification_id)

    @post(
        "/check",
        operation_id="checkVerification",
        guards=[requires_scope("verify")],
        summary="Check a code",
        status_code=200,
        response_description="Right or wrong: `valid` says which",
        **problems(
            *API_KEY_PROBLEMS,
            "invalid_request",
            "payload_too_large",
            "invalid_phone",
            "invalid_email",
            "verification_not_found",
            "verification_expired",
            "max_attempts_reached",
            "rate_limited",
        ),
    )
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
        guards=[requires_scope("verify")],
        summary="Cancel a pending verification",
        status_code=200,
        **problems(
            *API_KEY_PROBLEMS,
            "verification_not_found",
            "verification_not_pending",
            "verification_expired",
        ),
    )
    async def cancel(
        self,
        verification_id: VerificationId,
        request: Request[ApiKey, str, Any],
        verifications: NamedDependency[VerificationService],
    ) -> VerificationDetail:
        return await verifications.cancel(request.user.app, verification_id)

    @post(
        "/{verification_id:str}/approve",
        operation_id="approveVerification",
        guards=[requires_scope("verify")],
        summary="Approve a pending verification without its code",
        description="For a user your backend verified by other means: the verification "
        "reads `approved` and counts as an approval (statistics, the "
        "`verification.approved` event); its codes stop working. One that is not pending "
        "(also one approved already) is `409 verification_not_pending`.",
        status_code=200,
        **problems(
            *API_KEY_PROBLEMS,
            "verification_not_found",
            "verification_not_pending",
            "verification_expired",
        ),
    )
    async def approve(
        self,
        verification_id: VerificationId,
        request: Request[ApiKey, str, Any],
        verifications: NamedDependency[VerificationService],
    ) -> VerificationDetail:
        return await verifications.approve(request.user.app, verification_id)
