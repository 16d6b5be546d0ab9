"""Admin routes for an app's opt-outs: list them (masked), clear one by id or by number.

An ``admin`` key sees and clears its own app's, an ``operator`` key any app's; a key of
another app gets ``403 forbidden``. Numbers opt out and back in by themselves through the
inbound URLs (:mod:`app.delivery.inbound`) the list shows.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter

from app.apps.auth import app_for, requires_scope
from app.apps.keys import ApiKey
from app.delivery.optouts import OptOutPage, OptOuts, OptOutView
from app.http.contract import API_KEY_PROBLEMS, problems

__all__ = ["OptOutsController"]

AppName = Annotated[str, PathParameter(description="The app (the key's own, unless operator).")]
OptOutId = Annotated[str, PathParameter(description="The opt-out's id (`opt_…`).")]


class OptedOutNumber(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A number to opt back in, by the number itself (not kept: only its digest is)."""

    number: Annotated[str, msgspec.Meta(description="The number in E.164 (`+8613800138000`).")]


class OptOutsController(Controller):
    path = "/v1/apps/{app:str}/opt-outs"
    tags = ["opt-outs"]
    security = [{"apiKey": []}]
    guards = [requires_scope("admin")]
    signature_types = [ApiKey, OptOuts]

    @get(
        "/",
        operation_id="listOptOuts",
        summary="Numbers that opted out of the app, and its inbound URLs",
        **problems(*API_KEY_PROBLEMS, "invalid_request", "app_not_found"),
    )
    async def list_opt_outs(
        self,
        app: AppName,
        request: Request[ApiKey, str, Any],
        opt_outs: NamedDependency[OptOuts],
        cursor: Annotated[
            str,
            QueryParameter(
                pattern=r"^[0-9]{1,19}$",
                description="Where to go on: `0` (the start) or the last page's `next_cursor`.",
            ),
        ] = "0",
        limit: Annotated[
            int, QueryParameter(ge=1, le=1000, description="About how many to answer.")
        ] = 100,
    ) -> OptOutPage:
        return await opt_outs.page(app_for(request.user, app), cursor, limit)

    @delete(
        "/{opt_out_id:str}",
        operation_id="removeOptOut",
        summary="Opt a number back in, by its opt-out's id",
        status_code=200,
        **problems(*API_KEY_PROBLEMS, "app_not_found", "opt_out_not_found"),
    )
    async def remove(
        self,
        app: AppName,
        opt_out_id: OptOutId,
        request: Request[ApiKey, str, Any],
        opt_outs: NamedDependency[OptOuts],
    ) -> OptOutView:
        name, by = app_for(request.user, app), request.user.id
        return await opt_outs.clear(name, opt_out_id, by=by)

    @post(
        "/remove",
        operation_id="removeOptOutByNumber",
        summary="Opt a number back in, by the number (in the body, out of URLs and logs)",
        status_code=200,
        **problems(
            *API_KEY_PROBLEMS, "invalid_request", "payload_too_large", "invalid_phone",
            "app_not_found", "opt_out_not_found",
        ),
    )  # fmt: skip
    async def remove_number(
        self,
        app: AppName,
        data: JSONBody[OptedOutNumber],
        request: Request[ApiKey, str, Any],
        opt_outs: NamedDependency[OptOuts],
    ) -> OptOutView:
        name, by = app_for(request.user, app), request.user.id
        return await opt_outs.clear_number(name, data.number, by=by)
