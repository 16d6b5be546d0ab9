"""Apps' message templates in Redis: one JSON record per (app, purpose, locale) in one
hash under the apps' hash tag, and each app's audit of them.

Every change is one script (``template_save.lua``) that writes only if the record is still
the revision it was read at, bumps the apps' version (so every instance reads templates
again within a second) and audits who did it. No record holds a phone number, a code
or a credential: a template's text has ``{code}`` where the code goes.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Annotated, Literal

import msgspec

from app.store.keys import Keys

if TYPE_CHECKING:
    from app.store.redis import Scripts

__all__ = [
    "AUDIT_KEPT",
    "ProviderReview",
    "StoredTemplate",
    "TemplateAudit",
    "TemplateState",
    "TemplateStore",
]

log = logging.getLogger("otpgate.templates")

#: draft (saved, never sent) -> submitted (providers are reviewing it) -> approved (sent)
#: or rejected (a provider refused it: ``reason`` says why).
TemplateState = Literal["draft", "submitted", "approved", "rejected"]
#: Who approves a provider's template: the provider's reviewers through its API, or the
#: admin who registered it there and gave its id.
ReviewedBy = Literal["provider", "admin"]
#: Audit entries kept per app, newest first.
AUDIT_KEPT = 1000
Meta = msgspec.Meta


class ProviderReview(msgspec.Struct, frozen=True):
    """A template at one provider of the app's routes that sends registered templates."""

    type: Annotated[str, Meta(description="The provider's adapter type (`aliyun`, …).")]
    reviewed_by: Annotated[
        ReviewedBy,
        Meta(
            description="`provider`: registered and reviewed through its template API; "
            "`admin`: registered by you, approved on your word when submitted."
        ),
    ]
    state: Annotated[TemplateState, Meta(description="Its review state there.")] = "draft"
    template_id: Annotated[
        str | None, Meta(description="Its id at the provider (TemplateCode, TemplateId).")
    ] = None
    sign_name: Annotated[
        str | None, Meta(description="The sign name sent with it; null: the account's.")
    ] = None
    params: Annotated[
        list[Literal["code", "minutes"]],
        Meta(description="What fills its variables, in the provider's order."),
    ] = msgspec.field(default_factory=list)
    names: Annotated[
        list[str] | None, Meta(description="The variables' names (Alibaba); null: by position.")
    ] = None
    reason: Annotated[str | None, Meta(description="Why the provider refused it.")] = None
    submitted_at: Annotated[float | None, Meta(description="Unix time it was submitted.")] = None
    reviewed_at: Annotated[
        float | None, Meta(description="Unix time its state was last set from the answer.")
    ] = None


class StoredTemplate(msgspec.Struct, frozen=True):
    """An app's message for one purpose and locale, and its review."""

    app: Annotated[str, Meta(description="The app it belongs to.")]
    purpose: Annotated[str, Meta(description="The verifications' purpose it is for.")]
    locale: Annotated[str, Meta(description="Its locale (`en`, `zh-CN`, …).")]
    text: Annotated[
        str, Meta(description="The SMS text, with `{code}`, `{minutes}` and `{app_name}`.")
    ]
    revision: Annotated[int, Meta(ge=1, description="Counts its changes.")]
    state: Annotated[
        TemplateState,
        Meta(
            description="`draft` (never sent), `submitted` (in review), `approved` (sent "
            "instead of the file's text and templates) or `rejected` (see `reason`)."
        ),
    ] = "draft"
    reason: Annotated[str | None, Meta(description="`rejected`: which provider said what.")] = None
    requested: Annotated[
        bool, Meta(description="true: submitted for review since it was last saved.")
    ] = False
    app_name: Annotated[
        str | None,
        Meta(description="What `{app_name}` became in the providers' registered templates."),
    ] = None
    providers: Annotated[
        dict[str, ProviderReview],
        Meta(description="By provider name: those of the app's routes that need a template."),
    ] = msgspec.field(default_factory=dict)
    created_at: Annotated[float, Meta(description="Unix time.")] = 0.0
    updated_at: Annotated[float, Meta(description="Unix time of its last change.")] = 0.0
    updated_by: Annotated[
        str, Meta(description="The API key id (or `poll`) that changed it last.")
    ] = ""


class TemplateAudit(msgspec.Struct, frozen=True):
    """One change to one of an app's templates."""

    at: Annotated[float, Meta(description="Unix time.")]
    by: Annotated[str, Meta(description="The API key id that made it, or `poll`.")]
    action: Annotated[
        Literal["save", "delete", "submit", "review"],
        Meta(description="`review`: a provider's answer was read (poll or refresh)."),
    ]
    purpose: Annotated[str, Meta(description="The template's purpose.")]
    locale: Annotated[str, Meta(description="The template's locale.")]
    state: Annotated[
        TemplateState | None, Meta(description="Its state after the change; null: deleted.")
    ]
    detail: Annotated[
        str, Meta(description="What changed: the fields saved, or each provider's answer.")
    ] = ""


def _field(app: str, purpose: str, locale: str) -> str:
    # neither purposes nor locales nor app names hold a space
    return f"{app} {purpose} {locale}"


class TemplateStore:
    """The templates of every app, read whole and written one at a time."""

    def __init__(self, scripts: Scripts) -> None:
        self._client = scripts.client
        self._scripts = scripts

    async def all(self) -> list[StoredTemplate]:
        """Every app's templates; a record it cannot read is left out (and logged)."""
        found = []
        for field, value in (await self._client.hgetall(Keys.TEMPLATES)).items():
            try:
                found.append(msgspec.json.decode(value, type=StoredTemplate))
            except msgspec.DecodeError:  # written by hand, or by a later version
                log.error("templates: the stored record %r cannot be read; left out", field)
        return found

    async def get(self, app: str, purpose: str, locale: str) -> StoredTemplate | None:
        field = _field(app, purpose, locale)
        raw = await self._client.hget(Keys.TEMPLATES, field)
        try:
            return None if raw is None else msgspec.json.decode(raw, type=StoredTemplate)
        except msgspec.DecodeError:  # as in all(): it counts as none, a save replaces it
            log.error("templates: the stored record %r cannot be read; left out", field)
            return None

    async def write(
        self, old: StoredTemplate | None, new: StoredTemplate | None, entry: TemplateAudit
    ) -> bool:
        """Replace ``old`` (None: there was none) by ``new`` (None: delete it), if it is
        still what is stored; False, and nothing written, when it changed meanwhile."""
        template = new or old
        assert template is not None
        field = _field(template.app, template.purpose, template.locale)
        keys = [Keys.TEMPLATES, Keys.APPS_VERSION, Keys.template_audit(template.app)]
        value = b"" if new is None else msgspec.json.encode(new)
        revision = 0 if old is None else old.revision
        args = [field, revision, value, msgspec.json.encode(entry), AUDIT_KEPT]
        return bool(await self._scripts.run("template_save", keys, args))

    async def audit(self, app: str) -> list[TemplateAudit]:
        raw = await self._client.lrange(Keys.template_audit(app), 0, AUDIT_KEPT - 1)
        return [msgspec.json.decode(entry, type=TemplateAudit) for entry in raw]

    async def take_poll(self, token: str, ms: int) -> bool:
        """Whether this instance asks providers about reviews this round (for ``ms``)."""
        return bool(await self._client.set(Keys.TEMPLATES_POLL, token, nx=True, px=ms))
