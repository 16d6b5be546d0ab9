"""Routes: provider callbacks, delivery reports and inbound messages (no API key: the
provider authenticates), and the admin routes for statistics and events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import PathParameter, QueryParameter

from app.apps.auth import app_for, requires_scope
from app.apps.keys import ApiKey
from app.delivery.events import Event, EventBus
from app.delivery.inbound import InboundService
from app.delivery.service import DeliveryService
from app.delivery.stats import Stats, StatsView, Window
from app.delivery.usage import UsageReader, UsageView
from app.http.contract import API_KEY_PROBLEMS, problems
from app.providers.reports import CallbackRequest

__all__ = ["AdminDeliveryController", "CallbackController", "InboundController"]

# Providers batch their reports (Alibaba and Huawei up to hundreds per push): far more
# than the API's own body limit, and refusing them would only make the provider retry.
_CALLBACK_MAX_BODY = 2 * 1024 * 1024
Provider = Annotated[str, PathParameter(description="The provider's name in `[providers]`.")]
Token = Annotated[
    str, PathParameter(description="The callback token (`GET /v1/providers` shows each path).")
]
EventId = Annotated[str, PathParameter(description="The event id (`evt_…`).")]
AppName = Annotated[str, PathParameter(description="The app the messages opt out of.")]
InboundToken = Annotated[
    str,
    PathParameter(description="The inbound token (`GET /v1/apps/{app}/opt-outs` shows the paths)."),
]
_CALLBACK_CODES = (
    "invalid_request", "invalid_signature", "callback_forbidden", "not_found",
    "payload_too_large", "store_unavailable", "internal_error",
)  # fmt: skip


def _taken(replies: str, empty: str) -> dict[int, ResponseSpec]:
    return {
        200: ResponseSpec(
            Any, generate_examples=False, media_type="*/*",
            description=f"Taken: the exact reply the provider expects ({replies})",
        ),
        204: ResponseSpec(None, description=f"Taken ({empty})"),
    }  # fmt: skip


_CALLBACK_PROBLEMS = problems(
    *_CALLBACK_CODES,
    responses=_taken(
        'Alibaba `{"code":0,"msg":"接收成功"}`, Tencent `{"result":0,"errmsg":"OK"}`, '
        "Chuanglan `OK`, Twilio and Huawei an empty text, …",
        "Vonage, the `http` gateway",
    ),
)
_INBOUND_PROBLEMS = problems(
    *_CALLBACK_CODES,
    responses=_taken(
        'Alibaba `{"code":0,"msg":"接收成功"}`, Tencent `{"result":0,"errmsg":"OK"}`, '
        "Twilio the empty TwiML `<Response></Response>`",
        "Vonage",
    ),
)


class CallbackController(Controller):
    path = "/v1/callbacks"
    tags = ["callbacks"]
    signature_types = [DeliveryService]

    @post(
        "/{provider:str}/{token:str}",
        operation_id="providerCallback",
        summary="A provider's delivery report (authenticated by path token and signature)",
        status_code=200,
        request_max_body_size=_CALLBACK_MAX_BODY,
        **_CALLBACK_PROBLEMS,
    )
    async def callback(
        self,
        provider: Provider,
        token: Token,
        request: Request[Any, Any, Any],
        deliveries: NamedDependency[DeliveryService],
    ) -> Response[bytes]:
        return await _receive(provider, token, request, deliveries)

    @get(
        "/{provider:str}/{token:str}",
        operation_id="providerCallbackByGet",
        summary="A delivery report sent as a GET query (Vonage, Chuanglan)",
        **_CALLBACK_PROBLEMS,
    )
    async def callback_by_get(
        self,
        provider: Provider,
        token: Token,
        request: Request[Any, Any, Any],
        deliveries: NamedDependency[DeliveryService],
    ) -> Response[bytes]:
        return await _receive(provider, token, request, deliveries)


async def _incoming(
    request: Request[Any, Any, Any], public_url: Callable[[str], str]
) -> CallbackRequest:
    return CallbackRequest(
        method=request.method,
        url=public_url(str(request.url)),
        headers={name.lower(): value for name, value in request.headers.items()},
        body=await request.body(),
    )


async def _receive(
    provider: str, token: str, request: Request[Any, Any, Any], deliveries: DeliveryService
) -> Response[bytes]:
    incoming = await _incoming(request, deliveries.public_url)
    client_ip = request.client.host if request.client else None
    reply = await deliveries.receive(provider, token, incoming, client_ip)
    return Response(reply.body, status_code=reply.status_code, media_type=reply.media_type)


class InboundController(Controller):
    path = "/v1/inbound"
    tags = ["callbacks"]
    signature_types = [InboundService]

    @post(
        "/{provider:str}/{app:str}/{token:str}",
        operation_id="providerInbound",
        summary="SMS people sent to a provider's number: stop and start words (authenticated "
        "by path token and signature)",
        status_code=200,
        request_max_body_size=_CALLBACK_MAX_BODY,
        **_INBOUND_PROBLEMS,
    )
    async def inbound(
        self,
        provider: Provider,
        app: AppName,
        token: InboundToken,
        request: Request[Any, Any, Any],
        inbound: NamedDependency[InboundService],
    ) -> Response[bytes]:
        return await _take_inbound(provider, app, token, request, inbound)

    @get(
        "/{provider:str}/{app:str}/{token:str}",
        operation_id="providerInboundByGet",
        summary="An inbound SMS sent as a GET query (Twilio, Vonage)",
        **_INBOUND_PROBLEMS,
    )
    async def inbound_by_get(
        self,
        provider: Provider,
        app: AppName,
        token: InboundToken,
        request: Request[Any, Any, Any],
        inbound: NamedDependency[InboundService],
    ) -> Response[bytes]:
        return await _take_inbound(provider, app, token, request, inbound)


async def _take_inbound(
    provider: str, app: str, token: str, request: Request[Any, Any, Any], inbound: InboundService
) -> Response[bytes]:
    incoming = await _incoming(request, inbound.public_url)
    client_ip = request.client.host if request.client else None
    reply = await inbound.receive(provider, app, token, incoming, client_ip)
    return Response(reply.body, status_code=reply.status_code, media_type=reply.media_type)


class DeadEvents(msgspec.Struct, frozen=True):
    """The app's events that could not be delivered."""

    events: Annotated[list[Event], msgspec.Meta(description="Newest first.")]


class AdminDeliveryController(Controller):
    path = "/v1"
    tags = ["delivery"]
    security = [{"apiKey": []}]
    signature_types = [ApiKey, Stats, EventBus, UsageReader]

    @get(
        "/stats",
        operation_id="getStats",
        guards=[requires_scope("read")],
        summary="Sends, delivery, conversion, failures",
        **problems(*API_KEY_PROBLEMS, "invalid_request"),
    )
    async def stats(
        self,
        request: Request[ApiKey, str, Any],
        stats: NamedDependency[Stats],
        window: Annotated[Window, QueryParameter(description="1h, 24h or 7d")] = "24h",
        app: Annotated[
            str | None,
            QueryParameter(description="another app (operator keys only; default: the key's)"),
        ] = None,
    ) -> StatsView:
        return await stats.read(app_for(request.user, app), window)

    @get(
        "/apps/{app:str}/usage",
        operation_id="getAppUsage",
        guards=[requires_scope("read")],
        summary="Sends, deliveries, approvals and estimated cost by day, provider, country",
        **problems(*API_KEY_PROBLEMS, "invalid_request"),
    )
    async def usage(
        self,
        app: Annotated[str, PathParameter(description="The app (the key's own, unless operator).")],
        request: Request[ApiKey, str, Any],
        usage: NamedDependency[UsageReader],
        start: Annotated[
            date | None,
            QueryParameter(
                name="from", description="First UTC day (default: 29 days before `to`)."
            ),
        ] = None,
        end: Annotated[
            date | None,
            QueryParameter(name="to", description="Last UTC day, included (default: today)."),
        ] = None,
    ) -> UsageView:
        return await usage.read(app_for(request.user, app), start, end)

    @get(
        "/events/dead",
        operation_id="listDeadEvents",
        guards=[requires_scope("admin")],
        summary="Events that could not be delivered",
        **problems(*API_KEY_PROBLEMS),
    )
    async def dead(
        self,
        request: Request[ApiKey, str, Any],
        events: NamedDependency[EventBus],
    ) -> DeadEvents:
        return DeadEvents(await events.dead(request.user.app))

    @post(
        "/events/{event_id:str}/replay",
        operation_id="replayEvent",
        guards=[requires_scope("admin")],
        summary="Deliver a dead-lettered event again",
        status_code=202,
        **problems(*API_KEY_PROBLEMS, "event_not_found"),
    )
    async def replay(
        self,
        event_id: EventId,
        request: Request[ApiKey, str, Any],
        events: NamedDependency[EventBus],
    ) -> Event:
        return await events.replay(request.user.app, event_id)
