"""Templates under review: submitted to the providers that review them, and their answers
followed, when asked (refresh) and by a background poll that one instance at a time runs.

Every answer is written only if the template is still the revision that was asked about
(``template_save.lua``): an edit made meanwhile wins, and the old answer is dropped.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from typing import TYPE_CHECKING, Any, Literal, Protocol

import msgspec
from redis.exceptions import RedisClusterException, RedisError

from app.errors import OtpgateError
from app.providers.review import ReviewClient, ReviewFailure
from app.store.templates import TemplateAudit
from app.templates.rules import review_api
from app.templates.states import draft_for, with_providers

if TYPE_CHECKING:
    from collections.abc import Callable

    import httpx

    from app.settings import Settings
    from app.store.templates import ProviderReview, StoredTemplate, TemplateStore

__all__ = ["AppDirectory", "ReviewDesk"]

log = logging.getLogger("otpgate.templates")

Failure = tuple[str, ReviewFailure]
Action = Literal["submit", "review"]


class AppDirectory(Protocol):
    """What templates need of the app registry (:class:`~app.apps.registry.AppRegistry`)."""

    @property
    def settings(self) -> Settings: ...

    def known(self, app: str) -> bool: ...

    async def refresh(self) -> bool: ...


def _unconfigured(name: str) -> ReviewFailure:
    return ReviewFailure("not_configured", f"no provider {name!r} with a template API")


def review_failed(name: str, failure: ReviewFailure) -> OtpgateError:
    detail = f"{name} refused or did not answer: {failure.message or failure.code}"
    return OtpgateError(
        "provider_review_failed", detail, provider=name, provider_error=failure.code
    )


class ReviewDesk:
    """Talks to the providers' template APIs for every app's templates."""

    def __init__(
        self,
        store: TemplateStore,
        apps: AppDirectory,
        http: httpx.AsyncClient,
        *,
        interval: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._apps = apps
        self._http = http
        self._interval = interval
        self._clock = clock
        self._token = secrets.token_hex(8)

    def _client(self, name: str) -> ReviewClient[Any] | None:
        config = self._apps.settings.providers.get(name)
        api = None if config is None else review_api(config)
        return None if api is None else ReviewClient(api, config, self._http)

    async def _write(
        self, old: StoredTemplate, new: StoredTemplate, action: Action, detail: str
    ) -> bool:
        entry = TemplateAudit(
            new.updated_at, new.updated_by, action, new.purpose, new.locale, new.state, detail
        )
        return await self._store.write(old, new, entry)

    async def _registered(
        self, template: StoredTemplate, now: float
    ) -> tuple[dict[str, ProviderReview], Failure | None]:
        """Its providers once each one that has not got it (or refused it) was sent it;
        the admin's templates approved on their word. It stops at the first failure."""
        app_name = self._apps.settings.policy_for(template.app).app_name
        draft = draft_for(template, app_name)
        providers = dict(template.providers)
        for name, entry in sorted(providers.items()):
            if entry.state not in ("draft", "rejected"):
                continue
            if entry.reviewed_by == "admin":
                providers[name] = msgspec.structs.replace(
                    entry, state="approved", reason=None, submitted_at=now, reviewed_at=now
                )
                continue
            client = self._client(name)
            answer = await client.submit(draft) if client else _unconfigured(name)
            if isinstance(answer, ReviewFailure):
                return providers, (name, answer)
            providers[name] = msgspec.structs.replace(
                entry, state=answer.state, template_id=answer.template_id, reason=None,
                submitted_at=now,
            )  # fmt: skip
        return providers, None

    async def submit(self, template: StoredTemplate, by: str) -> StoredTemplate:
        """Send each provider its template (again, if it refused it). A provider that
        fails answers 502 and leaves the template as it is, but for the providers that
        took it before (they keep it, and a new submit skips them)."""
        if template.state in ("submitted", "approved"):
            raise OtpgateError("template_already_submitted", f"the template is {template.state}")
        now = self._clock()
        providers, failure = await self._registered(template, now)
        if failure is None or providers != template.providers:
            app_name = self._apps.settings.policy_for(template.app).app_name
            new = with_providers(template, providers, by=by, now=now, requested=True,
                                 app_name=app_name)  # fmt: skip
            if not await self._write(template, new, "submit", ", ".join(sorted(providers))):
                log.warning("templates: %s changed while it was submitted; its registrations "
                            "stay unused", template.purpose)  # fmt: skip
                raise OtpgateError("template_changed", "it changed while it was submitted")
            await self._apps.refresh()
            template = new
        if failure is not None:
            raise review_failed(*failure)
        return template

    async def follow(
        self, template: StoredTemplate, by: str
    ) -> tuple[StoredTemplate, Failure | None]:
        """Ask every provider still reviewing ``template`` for its answer; the template as
        written (itself when nothing changed, or it changed meanwhile), and the first
        failure."""
        now, failure, answers = self._clock(), None, []
        providers = dict(template.providers)
        for name, entry in sorted(providers.items()):
            if entry.state != "submitted" or entry.reviewed_by != "provider":
                continue
            client = self._client(name)
            answer = await client.query(entry.template_id or "") if client else _unconfigured(name)
            if isinstance(answer, ReviewFailure):
                log.warning("templates: %s did not say (%s)", name, answer.code)
                failure = failure or (name, answer)
            elif answer.state != entry.state:
                providers[name] = msgspec.structs.replace(
                    entry, state=answer.state, reason=answer.reason, reviewed_at=now
                )
                answers.append(f"{name}: {answer.state}")
        if not answers:
            return template, failure
        new = with_providers(template, providers, by=by, now=now)
        written = await self._write(template, new, "review", ", ".join(answers))
        return (new if written else template), failure

    async def refresh(self, template: StoredTemplate, by: str) -> StoredTemplate:
        """:meth:`follow` now; a provider that did not say answers 502."""
        new, failure = await self.follow(template, by)
        if new is not template:
            await self._apps.refresh()
        if failure is not None:
            raise review_failed(*failure)
        return new

    async def poll(self) -> int:
        """One round of the background poll, if no other instance holds this round: every
        submitted template followed; how many changed."""
        if not await self._store.take_poll(self._token, max(1000, int(self._interval * 1000))):
            return 0
        changed = 0
        for template in await self._store.all():
            if template.state == "submitted":
                new, _ = await self.follow(template, "poll")
                changed += new is not template
        if changed:
            await self._apps.refresh()
        return changed

    async def watch(self) -> None:
        """:meth:`poll` every ``interval`` seconds until cancelled."""
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.poll()
            except (RedisError, RedisClusterException) as exc:
                log.warning("templates: redis unavailable (%s); the next round tries again", exc)
            except Exception:  # a bug in one round must not end the poll
                log.exception("templates: the review poll failed; the next round tries again")
