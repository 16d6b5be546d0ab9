"""A template's review as pure functions of its record: what a save makes of it, and its
state from its providers' states.

The state of a template follows its providers': ``rejected`` when one refused it (with
that provider's reason), ``draft`` until it was submitted and every provider has it,
``approved`` when every one approved it, ``submitted`` while some still review it. With
no provider that needs a registered template (free-text routes), submitting approves it:
the admin's submit is the approval.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from app.providers.review import TemplateDraft, pieces
from app.store.templates import ProviderReview, StoredTemplate, TemplateState
from app.templates.rules import review_api

if TYPE_CHECKING:
    from collections.abc import Mapping

    from app.providers.accounts import ProviderConfig
    from app.templates.models import ProviderInput, TemplateInput

__all__ = ["draft_for", "overall", "saved", "with_providers"]


def overall(
    providers: Mapping[str, ProviderReview], requested: bool
) -> tuple[TemplateState, str | None]:
    """The template's state and, when rejected, who said what."""
    refused = [
        (name, p.reason or "rejected") for name, p in providers.items() if p.state == "rejected"
    ]
    if refused:
        return "rejected", "; ".join(f"{name}: {reason}" for name, reason in sorted(refused))
    states = {p.state for p in providers.values()}
    if not requested or "draft" in states:
        return "draft", None
    return ("approved" if states <= {"approved"} else "submitted"), None


def with_providers(
    template: StoredTemplate,
    providers: dict[str, ProviderReview],
    *,
    by: str,
    now: float,
    **changes: object,
) -> StoredTemplate:
    """``template`` with these providers (and ``changes``), its state made of theirs, one
    revision on."""
    requested = bool(changes.get("requested", template.requested))
    state, reason = overall(providers, requested)
    return msgspec.structs.replace(
        template, providers=providers, state=state, reason=reason, revision=template.revision + 1,
        updated_at=now, updated_by=by, **changes,
    )  # fmt: skip


def _entry(config: ProviderConfig, given: ProviderInput | None, text: str) -> ProviderReview:
    api = review_api(config)
    sign_name = given.sign_name if given else None
    kind = str(config.__struct_config__.tag)
    if api is None:  # the admin's template: its variables in the text's order, by position
        order = [n for _, n in pieces(text) if n in ("code", "minutes")]
        template_id = given.template_id if given else None
        return ProviderReview(kind, "admin", template_id=template_id, sign_name=sign_name,
                              params=order)  # type: ignore[arg-type]  # fmt: skip
    translation = api.translate(TemplateDraft("", text, "", ""))
    return ProviderReview(
        kind, "provider", sign_name=sign_name, params=translation.params, names=translation.names
    )


def saved(
    old: StoredTemplate | None,
    key: tuple[str, str, str],
    data: TemplateInput,
    needed: Mapping[str, ProviderConfig],
    *,
    by: str,
    now: float,
) -> StoredTemplate | None:
    """What saving ``data`` makes of ``old``: a draft again, one revision on; None when it
    changes nothing (an approved template saved as it is stays approved)."""
    providers = {
        name: _entry(config, data.providers.get(name), data.text)
        for name, config in sorted(needed.items())
    }
    if old is not None and old.text == data.text and _same(old.providers, providers):
        return None
    app, purpose, locale = key
    base = old or StoredTemplate(app, purpose, locale, data.text, 0, created_at=now)
    return with_providers(
        base, providers, by=by, now=now, text=data.text, requested=False, app_name=None
    )


def _same(old: Mapping[str, ProviderReview], new: Mapping[str, ProviderReview]) -> bool:
    """The same providers, with what the admin gives them (ids, sign names) unchanged."""

    def given(entries: Mapping[str, ProviderReview]) -> dict[str, tuple[object, ...]]:
        return {n: (e.type, e.reviewed_by, e.sign_name, e.template_id if e.reviewed_by == "admin"
                    else None) for n, e in entries.items()}  # fmt: skip

    return given(old) == given(new)


def draft_for(template: StoredTemplate, app_name: str) -> TemplateDraft:
    """What a provider's reviewers are sent of ``template``."""
    name = f"otpgate {template.app} {template.purpose} {template.locale}"[:30]
    remark = f"otpgate: the verification code of {app_name} ({template.purpose}, {template.locale})"
    return TemplateDraft(name, template.text, app_name, remark[:100])
