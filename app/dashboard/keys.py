"""Apps (an operator's list) and an app's API keys (revoke): the calls of ``GET /v1/apps``,
``GET /v1/apps/{app}/keys`` and ``DELETE /v1/apps/{app}/keys/{id}``."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from app.apps.keys import ApiKeyStore
from app.apps.keys_api import own_key
from app.apps.registry import AppRegistry
from app.apps.sessions import SignedIn
from app.dashboard.auth import BASE, signed_in
from app.dashboard.views import AppForm, Form, chosen_app, page, see_other

__all__ = ["KeysController"]


class KeysController(Controller):
    path = BASE
    include_in_schema = False
    guards = [signed_in]
    signature_types = [AppRegistry, ApiKeyStore, SignedIn]

    @get("/keys", cache=False)
    async def keys(
        self,
        request: Request[SignedIn, Any, Any],
        apps: NamedDependency[AppRegistry],
        api_keys: NamedDependency[ApiKeyStore],
        app: FromQuery[str | None] = None,
        revoked: FromQuery[str | None] = None,
    ) -> Template:
        name = chosen_app(request.user, app, apps)
        listed = [(other, apps.disabled(other)) for other in apps.names()]
        own = [record for record in await api_keys.list() if record.app == name]
        return page(request, apps, "keys.html", name, keys=own, revoked=revoked,
                    last_used=await api_keys.last_used(), all_apps=listed)  # fmt: skip

    @post("/keys/{key_id:str}/revoke", status_code=303)
    async def revoke(
        self,
        key_id: FromPath[str],
        request: Request[SignedIn, Any, Any],
        apps: NamedDependency[AppRegistry],
        api_keys: NamedDependency[ApiKeyStore],
        data: Annotated[AppForm, Form],
    ) -> Redirect:
        name = chosen_app(request.user, data.app, apps)
        await own_key(api_keys, name, key_id)
        await api_keys.revoke(key_id)
        return see_other("keys", app=name, revoked=key_id)
