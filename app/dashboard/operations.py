"""Providers (circuits, success, latency, balance), a verification's delivery timeline, and
dead-lettered events (replay): the calls of ``GET /v1/providers``,
``GET /v1/verifications/{id}``, ``GET /v1/events/dead`` and ``POST /v1/events/{id}/replay``."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from app.apps.registry import AppRegistry
from app.apps.sessions import SignedIn
from app.dashboard.auth import BASE, signed_in
from app.dashboard.views import AppForm, Form, chosen_app, page, see_other
from app.delivery.events import EventBus
from app.providers.api import ProviderDirectory
from app.verify.service import VerificationService

__all__ = ["OperationsController"]


class OperationsController(Controller):
    path = BASE
    include_in_schema = False
    guards = [signed_in]
    signature_types = [AppRegistry, SignedIn, EventBus, ProviderDirectory, VerificationService]

    @get("/providers", cache=False)
    async def providers(
        self,
        request: Request[SignedIn, Any, Any],
        apps: NamedDependency[AppRegistry],
        provider_directory: NamedDependency[ProviderDirectory],
        app: FromQuery[str | None] = None,
    ) -> Template:
        name = chosen_app(request.user, app, apps)
        found = await provider_directory.statuses()
        return page(request, apps, "providers.html", name, providers=found)

    @get("/delivery", cache=False)
    async def delivery(
        self,
        request: Request[SignedIn, Any, Any],
        apps: NamedDependency[AppRegistry],
        verifications: NamedDependency[VerificationService],
        app: FromQuery[str | None] = None,
        id: FromQuery[str | None] = None,
    ) -> Template:
        name = chosen_app(request.user, app, apps)
        found = await verifications.get(name, id.strip()) if id and id.strip() else None
        return page(request, apps, "delivery.html", name, verification=found, id=id or "")

    @get("/events", cache=False)
    async def events(
        self,
        request: Request[SignedIn, Any, Any],
        apps: NamedDependency[AppRegistry],
        events: NamedDependency[EventBus],
        app: FromQuery[str | None] = None,
        replayed: FromQuery[str | None] = None,
    ) -> Template:
        name = chosen_app(request.user, app, apps)
        dead = await events.dead(name)
        return page(request, apps, "events.html", name, events=dead, replayed=replayed)

    @post("/events/{event_id:str}/replay", status_code=303)
    async def replay(
        self,
        event_id: FromPath[str],
        request: Request[SignedIn, Any, Any],
        apps: NamedDependency[AppRegistry],
        events: NamedDependency[EventBus],
        data: Annotated[AppForm, Form],
    ) -> Redirect:
        name = chosen_app(request.user, data.app, apps)
        await events.replay(name, event_id)
        return see_other("events", app=name, replayed=event_id)
