"""Admin routes for apps at run time: create, list, read, change, disable, audit.

``operator`` keys create, list and disable apps; an app's ``admin`` key reads and changes
its own (every per-app setting of the TOML file) and reads its audit. A change is
validated as start-up validates the file, stored in Redis and in force on every
instance within a second (:mod:`app.apps.registry`).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.exceptions import PermissionDeniedException
from litestar.params import JSONBody, PathParameter

from app.apps.auth import app_for, requires_scope
from app.apps.keys import ApiKey
from app.apps.registry import Action, AppRecord, AppRegistry, AuditEntry
from app.errors import OtpgateError
from app.http.contract import API_KEY_PROBLEMS, problems
from app.settings import ConfigError

__all__ = ["AppsController"]

AppName = Annotated[str, PathParameter(description="The app's name.")]
Name = Annotated[
    str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", description="The app's name.")
]
Overrides = Annotated[
    dict[str, Any],
    msgspec.Meta(
        description="Per-app settings, as in the TOML file's `[apps.<name>]` table: "
        "`code_length`, `code_ttl`, `max_attempts`, `max_sends`, `resend_cooldown`, "
        "`resend_policy`, `display_name`, `routes`, `limits`, `abuse`, `quota`, `webotp_domain`, "
        "`android_app_hash`, `custom_code_enabled`, `events_url`, `events_allow_private`; not "
        "`events_secret`, "
        "`abuse.safe_numbers` or `abuse.test_numbers` (Redis keeps no secret, number or code "
        "in clear: the secret stays in the file, numbers go to the file or to "
        "`/v1/apps/{app}/safe-numbers` and `/v1/apps/{app}/test-numbers`)."
    ),
]


class AppView(msgspec.Struct, frozen=True):
    """An app: its settings in force (secrets masked) and what the API changed."""

    name: Annotated[str, msgspec.Meta(description="The app's name.")]
    settings: Annotated[
        dict[str, Any], msgspec.Meta(description="Its settings in force over the globals.")
    ]
    overrides: Annotated[
        dict[str, Any], msgspec.Meta(description="The fields set through the API.")
    ]
    in_file: Annotated[bool, msgspec.Meta(description="true: the TOML file defines it.")]
    disabled: Annotated[bool, msgspec.Meta(description="true: its keys get 403 app_disabled.")]


class Apps(msgspec.Struct, frozen=True):
    """Every app."""

    apps: Annotated[list[AppView], msgspec.Meta(description="By name.")]


class NewApp(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An app to create."""

    name: Name
    settings: Overrides = msgspec.field(default_factory=dict)


class AppChange(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Fields to change (others stay); ``null`` sets a field back to the file's value."""

    settings: Overrides = msgspec.field(default_factory=dict)
    disabled: Annotated[
        bool | None, msgspec.Meta(description="Operator keys only: disable or enable it.")
    ] = None


class Audit(msgspec.Struct, frozen=True):
    """The changes made to an app through the API."""

    entries: Annotated[list[AuditEntry], msgspec.Meta(description="Newest first.")]


def _view(apps: AppRegistry, name: str) -> AppView:
    record = apps.records.get(name, AppRecord())
    settings = apps.shown(name)
    # the overrides win, so their values are these, masked
    overrides = {key: settings.get(key, value) for key, value in record.overrides.items()}
    return AppView(name, settings, overrides, name in apps.base.apps, record.disabled)


async def _change(
    apps: AppRegistry,
    name: str,
    settings: dict[str, Any],
    by: ApiKey,
    action: Action,
    disabled: bool | None = None,
) -> AppView:
    try:
        await apps.change(name, settings, by.id, action, disabled=disabled)
    except ConfigError as exc:
        raise OtpgateError("invalid_request", str(exc)) from exc
    return _view(apps, name)


def _known(apps: AppRegistry, name: str) -> str:
    if not apps.known(name):
        raise OtpgateError("app_not_found")
    return name


def _not_own(record: ApiKey, app: str) -> None:
    if record.app == app:  # its keys, this one too, would be locked out
        raise PermissionDeniedException("a key cannot disable its own app (use another app's)")


def _operator(record: ApiKey) -> None:
    if "operator" not in record.scopes:
        raise PermissionDeniedException("only an operator key may do this")


class AppsController(Controller):
    path = "/v1/apps"
    tags = ["apps"]
    guards = [requires_scope("admin")]
    security = [{"apiKey": []}]
    signature_types = [ApiKey, AppRegistry]

    @get("/", operation_id="listApps", summary="Every app", **problems(*API_KEY_PROBLEMS))
    async def list_apps(
        self, request: Request[ApiKey, str, Any], apps: NamedDependency[AppRegistry]
    ) -> Apps:
        _operator(request.user)
        return Apps([_view(apps, name) for name in apps.names()])

    @post(
        "/",
        operation_id="createApp",
        summary="Create an app",
        status_code=201,
        **problems(*API_KEY_PROBLEMS, "invalid_request", "payload_too_large", "app_exists"),
    )
    async def create_app(
        self,
        data: JSONBody[NewApp],
        request: Request[ApiKey, str, Any],
        apps: NamedDependency[AppRegistry],
    ) -> AppView:
        _operator(request.user)
        if apps.known(data.name) or data.name in apps.records:
            raise OtpgateError("app_exists")
        return await _change(apps, data.name, data.settings, request.user, "create")

    @get(
        "/{app:str}",
        operation_id="getApp",
        summary="An app",
        **problems(*API_KEY_PROBLEMS, "app_not_found"),
    )
    async def get_app(
        self, app: AppName, request: Request[ApiKey, str, Any], apps: NamedDependency[AppRegistry]
    ) -> AppView:
        return _view(apps, _known(apps, app_for(request.user, app)))

    @patch(
        "/{app:str}",
        operation_id="updateApp",
        summary="Change an app's settings (or, as operator, disable or enable it)",
        **problems(*API_KEY_PROBLEMS, "invalid_request", "payload_too_large", "app_not_found"),
    )
    async def update_app(
        self,
        app: AppName,
        data: JSONBody[AppChange],
        request: Request[ApiKey, str, Any],
        apps: NamedDependency[AppRegistry],
    ) -> AppView:
        name = _known(apps, app_for(request.user, app))
        if data.disabled is not None:
            _operator(request.user)
            if data.disabled:
                _not_own(request.user, name)
        action: Action = (
            "update" if data.disabled is None else ("disable" if data.disabled else "enable")
        )
        return await _change(apps, name, data.settings, request.user, action, data.disabled)

    @delete(
        "/{app:str}",
        operation_id="disableApp",
        summary="Disable an app (nothing of it is deleted)",
        status_code=200,
        **problems(*API_KEY_PROBLEMS, "app_not_found"),
    )
    async def disable_app(
        self, app: AppName, request: Request[ApiKey, str, Any], apps: NamedDependency[AppRegistry]
    ) -> AppView:
        _operator(request.user)
        _not_own(request.user, _known(apps, app))
        return await _change(apps, app, {}, request.user, "disable", disabled=True)

    @get(
        "/{app:str}/audit",
        operation_id="getAppAudit",
        summary="Who changed what in an app, and when",
        **problems(*API_KEY_PROBLEMS),
    )
    async def audit(
        self, app: AppName, request: Request[ApiKey, str, Any], apps: NamedDependency[AppRegistry]
    ) -> Audit:
        return Audit(await apps.audit(app_for(request.user, app)))
