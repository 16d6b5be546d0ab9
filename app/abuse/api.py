"""Admin routes for dashboards and support desks: limits and blocks."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter

from app.abuse.guards import Block
from app.abuse.service import AbuseService
from app.abuse.throttle import RuleName, RuleState
from app.apps.auth import requires_scope
from app.apps.keys import ApiKey
from app.http.contract import API_KEY_PROBLEMS, problems

__all__ = ["AbuseController"]

To = Annotated[
    str | None,
    QueryParameter(
        description="A number (E.164, or national with `country`), or an email address",
        required=False,
    ),
]
Country = Annotated[
    str | None, QueryParameter(description="ISO alpha-2 hint for `to`", required=False)
]
ClientIp = Annotated[str | None, QueryParameter(description="An end user's IP", required=False)]
BlockId = Annotated[str, PathParameter(description="The block id (`blk_…`).")]


class Limits(msgspec.Struct, frozen=True):
    """The rate limits that apply to a number and/or an IP."""

    rules: Annotated[list[RuleState], msgspec.Meta(description="One entry per rate of each rule.")]


class Cleared(msgspec.Struct, frozen=True):
    """The rules whose counters were cleared (app and country budgets never are)."""

    cleared: Annotated[list[RuleName], msgspec.Meta(description="The rules, sorted.")]


class Blocks(msgspec.Struct, frozen=True):
    """The app's blocks in force."""

    blocks: Annotated[list[Block], msgspec.Meta(description="Oldest first.")]


class AbuseController(Controller):
    path = "/v1"
    tags = ["abuse"]
    guards = [requires_scope("admin")]
    security = [{"apiKey": []}]
    signature_types = [ApiKey, AbuseService]

    @get(
        "/limits",
        operation_id="getLimits",
        summary="Rate limits of a number and/or an IP",
        **problems(*API_KEY_PROBLEMS, "invalid_request", "invalid_phone", "invalid_email"),
    )
    async def limits(
        self,
        request: Request[ApiKey, str, Any],
        abuse: NamedDependency[AbuseService],
        to: To = None,
        country: Country = None,
        client_ip: ClientIp = None,
    ) -> Limits:
        return Limits(await abuse.limits(request.user.app, to, country, client_ip))

    @delete(
        "/limits",
        operation_id="resetLimits",
        summary="Clear a number's (or IP's) counters",
        status_code=200,
        **problems(*API_KEY_PROBLEMS, "invalid_request", "invalid_phone", "invalid_email"),
    )
    async def reset_limits(
        self,
        request: Request[ApiKey, str, Any],
        abuse: NamedDependency[AbuseService],
        to: To = None,
        country: Country = None,
        client_ip: ClientIp = None,
    ) -> Cleared:
        return Cleared(await abuse.reset_limits(request.user.app, to, country, client_ip))

    @get(
        "/blocks",
        operation_id="listBlocks",
        summary="Active prefix and country blocks",
        **problems(*API_KEY_PROBLEMS),
    )
    async def blocks(
        self, request: Request[ApiKey, str, Any], abuse: NamedDependency[AbuseService]
    ) -> Blocks:
        return Blocks(await abuse.blocks(request.user.app))

    @delete(
        "/blocks/{block_id:str}",
        operation_id="liftBlock",
        summary="Lift a block",
        status_code=200,
        **problems(*API_KEY_PROBLEMS, "block_not_found"),
    )
    async def lift(
        self,
        block_id: BlockId,
        request: Request[ApiKey, str, Any],
        abuse: NamedDependency[AbuseService],
    ) -> Block:
        return await abuse.lift_block(request.user.app, block_id)
