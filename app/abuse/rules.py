"""Which throttles and abuse rules apply to an app: the globals with its overrides."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.abuse.config import AbuseRules, LimitRules, Quota, overridden

if TYPE_CHECKING:
    from app.settings import Settings

__all__ = ["AppPolicies"]


class AppPolicies:
    """The limit and abuse rules of every app, merged once at start (settings validated
    every override already, so building these cannot fail)."""

    def __init__(self, settings: Settings) -> None:
        self._default = (settings.limits, settings.abuse)
        self._quotas = {name: app.quota for name, app in settings.apps.items() if app.quota}
        self._apps = {
            name: (overridden(settings.limits, app.limits), overridden(settings.abuse, app.abuse))
            for name, app in settings.apps.items()
        }

    def limits(self, app: str) -> LimitRules:
        return self._apps.get(app, self._default)[0]

    def abuse(self, app: str) -> AbuseRules:
        return self._apps.get(app, self._default)[1]

    def quota(self, app: str) -> Quota | None:
        return self._quotas.get(app)
