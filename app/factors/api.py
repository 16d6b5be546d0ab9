"""Routes for TOTP factors: enroll, read, confirm, check, revoke, and unlock a subject.

A factor belongs to the app of the key that enrolled it; any other app's keys get
``404 factor_not_found`` for it.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter

from app.apps.auth import requires_scope
from app.apps.keys import ApiKey
from app.factors.models import (
    CodeCheck,
    Enrolled,
    FactorCheck,
    Factors,
    FactorView,
    NewFactor,
    Unlock,
)
from app.factors.service import FactorService
from app.http.contract import API_KEY_PROBLEMS, problems

__all__ = ["FactorsController"]

FactorId = Annotated[str, PathParameter(description="The factor's id (`fac_…`).")]
_CHECK_PROBLEMS = (
    *API_KEY_PROBLEMS, "invalid_request", "payload_too_large", "factor_not_found",
    "factor_locked",
)  # fmt: skip


class FactorsController(Controller):
    path = "/v1/factors"
    tags = ["factors"]
    security = [{"apiKey": []}]
    signature_types = [ApiKey, FactorService]

    @post(
        "/",
        operation_id="createFactor",
        guards=[requires_scope("verify")],
        summary="Enroll a TOTP factor: its secret, URI and QR code, shown once",
        status_code=201,
        **problems(*API_KEY_PROBLEMS, "invalid_request", "payload_too_large"),
    )
    async def create(
        self,
        data: JSONBody[NewFactor],
        request: Request[ApiKey, str, Any],
        factors: NamedDependency[FactorService],
    ) -> Enrolled:
        return await factors.enroll(request.user.app, data)

    @get(
        "/",
        operation_id="listFactors",
        guards=[requires_scope("read")],
        summary="A subject's factors",
        **problems(*API_KEY_PROBLEMS, "invalid_request"),
    )
    async def list_factors(
        self,
        request: Request[ApiKey, str, Any],
        factors: NamedDependency[FactorService],
        subject: Annotated[
            str, QueryParameter(min_length=1, max_length=128, description="Your id of the user.")
        ],
    ) -> Factors:
        return Factors(await factors.of_subject(request.user.app, subject))

    @get(
        "/{factor_id:str}",
        operation_id="getFactor",
        guards=[requires_scope("read")],
        summary="A factor",
        **problems(*API_KEY_PROBLEMS, "factor_not_found"),
    )
    async def get_factor(
        self,
        factor_id: FactorId,
        request: Request[ApiKey, str, Any],
        factors: NamedDependency[FactorService],
    ) -> FactorView:
        return await factors.get(request.user.app, factor_id)

    @post(
        "/{factor_id:str}/confirm",
        operation_id="confirmFactor",
        guards=[requires_scope("verify")],
        summary="Confirm an unverified factor with its first code",
        status_code=200,
        **problems(*_CHECK_PROBLEMS, "factor_verified"),
    )
    async def confirm(
        self,
        factor_id: FactorId,
        data: JSONBody[CodeCheck],
        request: Request[ApiKey, str, Any],
        factors: NamedDependency[FactorService],
    ) -> FactorCheck:
        return await factors.check(request.user.app, factor_id, data.code, "confirm")

    @post(
        "/{factor_id:str}/check",
        operation_id="checkFactor",
        guards=[requires_scope("verify")],
        summary="Check a code of a verified factor (a code is accepted once)",
        status_code=200,
        **problems(*_CHECK_PROBLEMS, "factor_not_verified"),
    )
    async def check(
        self,
        factor_id: FactorId,
        data: JSONBody[CodeCheck],
        request: Request[ApiKey, str, Any],
        factors: NamedDependency[FactorService],
    ) -> FactorCheck:
        return await factors.check(request.user.app, factor_id, data.code, "check")

    @delete(
        "/{factor_id:str}",
        operation_id="deleteFactor",
        guards=[requires_scope("verify")],
        summary="Revoke a factor",
        status_code=200,
        **problems(*API_KEY_PROBLEMS, "factor_not_found"),
    )
    async def revoke(
        self,
        factor_id: FactorId,
        request: Request[ApiKey, str, Any],
        factors: NamedDependency[FactorService],
    ) -> FactorView:
        return await factors.revoke(request.user.app, factor_id)

    @post(
        "/unlock",
        operation_id="unlockFactorSubject",
        guards=[requires_scope("admin")],
        summary="Forget a subject's consecutive wrong codes",
        status_code=204,
        **problems(*API_KEY_PROBLEMS, "invalid_request", "payload_too_large"),
    )
    async def unlock(
        self,
        data: JSONBody[Unlock],
        request: Request[ApiKey, str, Any],
        factors: NamedDependency[FactorService],
    ) -> None:
        await factors.unlock(request.user.app, data.subject)
