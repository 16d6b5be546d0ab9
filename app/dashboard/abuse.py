"""Throttles (look up a number or an IP, unlock it) and blocks (list, lift): the calls of
``GET|DELETE /v1/limits`` and ``GET /v1/blocks``, ``DELETE /v1/blocks/{id}``."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from app.abuse.service import AbuseService
from app.apps.registry import AppRegistry
from app.apps.sessions import SignedIn
from app.dashboard.auth import BASE, signed_in
from app.dashboard.views import AppForm, Form, chosen_app, page, see_other

__all__ = ["AbuseController"]


class UnlockForm(AppForm, frozen=True):
    to: str = ""
    client_ip: str = ""


class AbuseController(Controller):
    path = BASE
    include_in_schema = False
    guards = [signed_in]
    signature_types = [AppRegistry, AbuseService, SignedIn]

    @get("/throttles", cache=False)
    async def throttles(
        self,
        request: Request[SignedIn, Any, Any],
        apps: NamedDependency[AppRegistry],
        abuse: NamedDependency[AbuseService],
        app: FromQuery[str | None] = None,
        to: FromQuery[str | None] = None,
        client_ip: FromQuery[str | None] = None,
    ) -> Template:
        name = chosen_app(request.user, app, apps)
        to, client_ip = to or None, client_ip or None
        rules = await abuse.limits(name, to, None, client_ip) if to or client_ip else None
        return page(request, apps, "throttles.html", name, to=to, client_ip=client_ip,
                    rules=rules)  # fmt: skip

    @post("/throttles/unlock", status_code=200)
    async def unlock(
        self,
        request: Request[SignedIn, Any, Any],
        apps: NamedDependency[AppRegistry],
        abuse: NamedDependency[AbuseService],
        data: Annotated[UnlockForm, Form],
    ) -> Template:
        name = chosen_app(request.user, data.app, apps)
        to, client_ip = data.to or None, data.client_ip or None
        cleared = await abuse.reset_limits(name, to, None, client_ip)
        rules = await abuse.limits(name, to, None, client_ip)
        return page(request, apps, "throttles.html", name, to=to, client_ip=client_ip,
                    rules=rules, cleared=cleared)  # fmt: skip

    @get("/blocks", cache=False)
    async def blocks(
        self,
        request: Request[SignedIn, Any, Any],
        apps: NamedDependency[AppRegistry],
        abuse: NamedDependency[AbuseService],
        app: FromQuery[str | None] = None,
        lifted: FromQuery[str | None] = None,
    ) -> Template:
        name = chosen_app(request.user, app, apps)
        found = await abuse.blocks(name)
        return page(request, apps, "blocks.html", name, blocks=found, lifted=lifted)

    @post("/blocks/{block_id:str}/lift", status_code=303)
    async def lift(
        self,
        block_id: FromPath[str],
        request: Request[SignedIn, Any, Any],
        apps: NamedDependency[AppRegistry],
        abuse: NamedDependency[AbuseService],
        data: Annotated[AppForm, Form],
    ) -> Redirect:
        name = chosen_app(request.user, data.app, apps)
        await abuse.lift_block(name, block_id)
        return see_other("blocks", app=name, lifted=block_id)
