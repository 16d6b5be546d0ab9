"""Twilio's Verification Services are otpgate's apps: ``VA…`` is a digest of the app's
name, ``FriendlyName`` its ``display_name``, ``CodeLength`` its ``code_length``.

Creating a service creates an app (operator keys, as ``POST /v1/apps``), named after the
friendly name; updating one changes the app (its admin); deleting one disables it
(operator keys, nothing deleted). A key sees its own app's service only, an operator key
every one: another app's SID is 20404, as Twilio answers for another account's.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

from app.abuse.rules import AppPolicies
from app.apps.registry import AppRecord
from app.settings import ConfigError
from app.twilio_verify import sids
from app.twilio_verify.errors import TwilioError, invalid_parameter
from app.twilio_verify.pages import Meta, meta
from app.twilio_verify.resources import ServiceResource

if TYPE_CHECKING:
    from app.apps.keys import ApiKey
    from app.apps.registry import AppRegistry
    from app.twilio_verify.forms import ServiceForm
    from app.twilio_verify.pages import PageQuery

__all__ = ["VerifyServices", "visible"]

_NOT_NAME = re.compile(r"[^a-z0-9]+")


def visible(record: ApiKey, app: str) -> bool:
    """Whether ``record`` may see ``app``'s service (its own, or any for an operator)."""
    return app == record.app or "operator" in record.scopes


def _not_found(sid: str) -> TwilioError:
    return TwilioError(20404, f"The requested resource /Services/{sid} was not found")


class VerifyServices:
    """Services for every key: its app's, or every app's for an operator key."""

    def __init__(self, apps: AppRegistry) -> None:
        self._apps = apps

    def names(self) -> list[str]:
        apps = self._apps
        return sorted({"default", *apps.settings.apps, *apps.records})

    def app_of(self, record: ApiKey, sid: str) -> str:
        """The app of service ``sid`` that ``record`` may see (20404 otherwise)."""
        for name in self.names():
            if sids.service_sid(name) == sid and visible(record, name):
                return name
        raise _not_found(sid)

    def resource(self, app: str, base: str) -> ServiceResource:
        settings = self._apps.settings
        policy = settings.policy_for(app)
        stored = self._apps.records.get(app, AppRecord())
        return ServiceResource.of(
            app, friendly_name=policy.app_name, code_length=policy.code_length,
            custom_codes=policy.custom_code_enabled,
            landlines_refused="fixed_line" not in AppPolicies(settings).abuse(app).number_types,
            created_at=stored.created_at, updated_at=stored.updated_at, base=base,
        )  # fmt: skip

    def listed(
        self, record: ApiKey, query: PageQuery, base: str
    ) -> tuple[list[ServiceResource], Meta]:
        names = [name for name in self.names() if visible(record, name)]
        start = query.offset()
        page = names[start : start + query.page_size]
        envelope = meta(f"{base}/v2/Services", "services", query, {}, len(names))
        return [self.resource(name, base) for name in page], envelope

    async def create(self, record: ApiKey, form: ServiceForm, base: str) -> ServiceResource:
        if "operator" not in record.scopes:
            raise TwilioError(20403, "Forbidden: only an operator key may create a service")
        if form.friendly_name is None:
            raise invalid_parameter("FriendlyName", "required")
        name = self._free_name(form.friendly_name)
        await self._change(name, form, record, "create")
        return self.resource(name, base)

    async def update(
        self, record: ApiKey, sid: str, form: ServiceForm, base: str
    ) -> ServiceResource:
        app = self.app_of(record, sid)
        await self._change(app, form, record, "update")
        return self.resource(app, base)

    async def disable(self, record: ApiKey, sid: str) -> None:
        app = self.app_of(record, sid)
        if "operator" not in record.scopes or app == record.app:
            raise TwilioError(20403, "Forbidden: an operator key of another app disables one")
        await self._apps.change(app, {}, record.id, "disable", disabled=True)

    async def _change(
        self, app: str, form: ServiceForm, record: ApiKey, action: Literal["create", "update"]
    ) -> None:
        try:
            await self._apps.change(app, form.settings(), record.id, action)
        except ConfigError as exc:  # validated as the TOML file is
            raise invalid_parameter("FriendlyName", str(exc)) from exc

    def _free_name(self, friendly_name: str) -> str:
        """An app name from ``friendly_name`` no app has (``shop``, ``shop-2``, …): Twilio
        lets two services share a friendly name."""
        stem = _NOT_NAME.sub("-", friendly_name.lower()).strip("-")[:56] or "service"
        taken = set(self.names())
        name, number = stem, 1
        while name in taken:
            number += 1
            name = f"{stem}-{number}"
        return name
