"""The approved templates of every app, held in memory by each instance for the send path.

A send asks the book, never Redis: :meth:`TemplateBook.reload` reads every template again
whenever the apps' version moves (it follows the app registry, which polls that version
each second), so a template approved or edited on any instance is in force, or out of
force, everywhere within a second, and a send makes no round trip more.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from app.providers.config import RegisteredTemplate, Template
from app.providers.registry import ADAPTERS

if TYPE_CHECKING:
    from app.store.templates import ProviderReview, StoredTemplate, TemplateStore

__all__ = ["ApprovedTemplate", "TemplateBook"]


class ApprovedTemplate(msgspec.Struct, frozen=True):
    """An approved template: the text free-text providers send, and what each template
    provider of the app's routes sends instead of its account's own template."""

    text: str
    registered: dict[str, RegisteredTemplate]


def _registered(entry: ProviderReview) -> RegisteredTemplate:
    adapter = ADAPTERS.get(entry.type)
    api = adapter.review if adapter is not None and entry.reviewed_by == "provider" else None
    template = Template(entry.template_id or "", list(entry.params), entry.names)
    return RegisteredTemplate(template, entry.sign_name, None if api is None else api.regions)


def approved(template: StoredTemplate) -> ApprovedTemplate:
    registered = {name: _registered(entry) for name, entry in template.providers.items()}
    return ApprovedTemplate(template.text, registered)


class TemplateBook:
    """Approved templates by (app, purpose, locale); drafts, submitted and rejected ones
    are not in it, so they are never sent."""

    def __init__(self, store: TemplateStore) -> None:
        self._store = store
        self._approved: dict[tuple[str, str, str], ApprovedTemplate] = {}
        self._locales: dict[tuple[str, str], list[str]] = {}

    async def reload(self) -> None:
        found = {
            (t.app, t.purpose, t.locale): approved(t)
            for t in await self._store.all()
            if t.state == "approved"
        }
        locales: dict[tuple[str, str], list[str]] = {}
        for app, purpose, locale in sorted(found):
            locales.setdefault((app, purpose), []).append(locale)
        self._approved, self._locales = found, locales

    def locales(self, app: str, purpose: str) -> list[str]:
        """The locales ``app`` has an approved template in for ``purpose``."""
        return self._locales.get((app, purpose), [])

    def get(self, app: str, purpose: str, locale: str) -> ApprovedTemplate | None:
        return self._approved.get((app, purpose, locale))
