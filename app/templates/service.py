"""Message templates per app, purpose and locale, for the API: save, read, delete,
submit for review, refresh, preview, audit. It knows nothing of HTTP; the providers'
review calls are :class:`~app.templates.reviews.ReviewDesk`'s."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from app.errors import OtpgateError
from app.providers.review import TemplateDraft
from app.store.templates import TemplateAudit
from app.templates.book import TemplateBook
from app.templates.models import LOCALE_PATTERN, PURPOSE_PATTERN, TemplatePreview, Templates
from app.templates.preview import encoding_of, segments
from app.templates.reviews import ReviewDesk
from app.templates.rules import check_template, registered_providers, review_api, rule_context
from app.templates.states import saved

if TYPE_CHECKING:
    from collections.abc import Callable

    import httpx

    from app.store.templates import StoredTemplate, TemplateStore
    from app.templates.models import TemplateInput
    from app.templates.reviews import AppDirectory

__all__ = ["TemplateService", "canonical_locale"]

_SAVE_TRIES = 3


def canonical_locale(locale: str) -> str:
    """``zh_cn`` -> ``zh-CN``, ``zh-hant-tw`` -> ``zh-Hant-TW`` (BCP 47's letter case)."""
    language, *rest = locale.replace("_", "-").split("-")
    subtags = [
        tag.upper() if len(tag) == 2 else tag.title() if len(tag) == 4 else tag for tag in rest
    ]
    return "-".join([language.lower(), *subtags])


def _sample_code(length: int) -> str:
    return "".join(str((position + 1) % 10) for position in range(length))


class TemplateService:
    """Every app's templates; its ``book`` holds the approved ones for the send path, its
    ``reviews`` talk to the providers (and poll them every ``poll_interval`` seconds).

    Args:
        store: where templates are kept.
        apps: the app registry, whose version templates change under.
        http: the shared HTTP client, for the providers' template APIs.
        poll_interval: seconds between two rounds of the background review poll.
    """

    def __init__(
        self,
        store: TemplateStore,
        apps: AppDirectory,
        http: httpx.AsyncClient,
        poll_interval: float,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._apps = apps
        self._clock = clock
        self.book = TemplateBook(store)
        self.reviews = ReviewDesk(store, apps, http, interval=poll_interval, clock=clock)

    def _key(self, app: str, purpose: str, locale: str) -> tuple[str, str, str]:
        if not self._apps.known(app):
            raise OtpgateError("app_not_found", f"no app {app!r}")
        if not re.fullmatch(PURPOSE_PATTERN, purpose) or not re.fullmatch(LOCALE_PATTERN, locale):
            raise OtpgateError("invalid_request", "purpose or locale is malformed")
        return app, purpose, canonical_locale(locale)

    async def _found(self, app: str, purpose: str, locale: str) -> StoredTemplate:
        template = await self._store.get(*self._key(app, purpose, locale))
        if template is None:
            raise OtpgateError("template_not_found", f"no template for {purpose} in {locale}")
        return template

    async def of_app(self, app: str) -> Templates:
        if not self._apps.known(app):
            raise OtpgateError("app_not_found", f"no app {app!r}")
        found = [t for t in await self._store.all() if t.app == app]
        return Templates(sorted(found, key=lambda t: (t.purpose, t.locale)))

    async def get(self, app: str, purpose: str, locale: str) -> StoredTemplate:
        return await self._found(app, purpose, locale)

    async def save(
        self, app: str, purpose: str, locale: str, data: TemplateInput, by: str
    ) -> StoredTemplate:
        """Create or change a template: checked against otpgate's and each provider's
        rules (422 with every problem), then a draft again unless nothing changed."""
        key = self._key(app, purpose, locale)
        settings = self._apps.settings
        problems = check_template(data.text, data.providers, settings, app)
        if problems:
            raise OtpgateError(
                "invalid_template",
                "; ".join(f"{p.key}: {p.message}" for p in problems),
                errors=[{"message": p.message, "key": p.key, "source": "body"} for p in problems],
            )
        needed = registered_providers(settings, app)
        for _ in range(_SAVE_TRIES):
            old = await self._store.get(*key)
            new = saved(old, key, data, needed, by=by, now=self._clock())
            if new is None:
                assert old is not None
                return old
            fields = "text" if old is None or old.text != new.text else "providers"
            entry = TemplateAudit(new.updated_at, by, "save", key[1], key[2], new.state, fields)
            if await self._store.write(old, new, entry):
                await self._apps.refresh()
                return new
        raise OtpgateError("template_changed", "it changed at every try; read it and retry")

    async def delete(self, app: str, purpose: str, locale: str, by: str) -> StoredTemplate:
        """Delete a template (its registrations at the providers stay there)."""
        template = await self._found(app, purpose, locale)
        entry = TemplateAudit(self._clock(), by, "delete", template.purpose, template.locale, None)
        if not await self._store.write(template, None, entry):
            raise OtpgateError("template_changed", "it changed meanwhile; read it and retry")
        await self._apps.refresh()
        return template

    async def submit(self, app: str, purpose: str, locale: str, by: str) -> StoredTemplate:
        return await self.reviews.submit(await self._found(app, purpose, locale), by)

    async def refresh(self, app: str, purpose: str, locale: str, by: str) -> StoredTemplate:
        return await self.reviews.refresh(await self._found(app, purpose, locale), by)

    async def preview(self, app: str, purpose: str, locale: str) -> TemplatePreview:
        """The template with a sample code of the app's length, as SMS, and as each
        reviewing provider is sent it."""
        template = await self._found(app, purpose, locale)
        settings = self._apps.settings
        context = rule_context(settings, app, None)
        code = _sample_code(context.code_length)
        text = template.text.format(code=code, minutes=context.minutes, app_name=context.app_name)
        draft = TemplateDraft("", template.text, context.app_name, "")
        contents = {
            name: api.translate(draft).content
            for name, config in registered_providers(settings, app).items()
            if (api := review_api(config)) is not None
        }
        return TemplatePreview(text, code, len(text), encoding_of(text), segments(text), contents)

    async def audit(self, app: str) -> list[TemplateAudit]:
        if not self._apps.known(app):
            raise OtpgateError("app_not_found", f"no app {app!r}")
        return await self._store.audit(app)
