"""Request and response bodies of the template API (the stored template itself is
:class:`~app.store.templates.StoredTemplate`)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from app.store.templates import StoredTemplate, TemplateAudit

__all__ = [
    "LOCALE_PATTERN",
    "PURPOSE_PATTERN",
    "ProviderInput",
    "TemplateAudits",
    "TemplateInput",
    "TemplatePreview",
    "Templates",
]

PURPOSE_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
LOCALE_PATTERN = r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8}){0,3}$"
Meta = msgspec.Meta


class ProviderInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What one provider of the app's routes sends with this template."""

    template_id: (
        Annotated[
            str,
            Meta(
                pattern=r"^[A-Za-z0-9_.:-]{1,64}$",
                description="Huawei, Cloopen: the id of the template you registered there "
                "(Alibaba and Tencent register it through their API: leave it out).",
            ),
        ]
        | None
    ) = None
    sign_name: (
        Annotated[
            str,
            Meta(
                min_length=1,
                max_length=64,
                description="The sign name (签名) to send it with; default: the account's.",
            ),
        ]
        | None
    ) = None


class TemplateInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A template's text and, per provider, what it sends with it."""

    text: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=1000,
            description="The SMS text: `{code}` (required), `{minutes}`, `{app_name}`; a "
            "literal brace is `{{` or `}}`.",
        ),
    ]
    providers: Annotated[
        dict[Annotated[str, Meta(max_length=64)], ProviderInput],
        Meta(max_length=32, description="By provider name (of `[providers]`)."),
    ] = msgspec.field(default_factory=dict)


class Templates(msgspec.Struct, frozen=True):
    """An app's templates."""

    templates: Annotated[list[StoredTemplate], Meta(description="By purpose, then locale.")]


class TemplateAudits(msgspec.Struct, frozen=True):
    """Who changed an app's templates, and how."""

    entries: Annotated[list[TemplateAudit], Meta(description="Newest first.")]


class TemplatePreview(msgspec.Struct, frozen=True):
    """A template as a message: its text with a sample code, and what it costs."""

    text: Annotated[str, Meta(description="The text free-text providers would send.")]
    code: Annotated[str, Meta(description="The sample code in it (the app's code length).")]
    characters: Annotated[int, Meta(description="Characters of the text.")]
    encoding: Annotated[
        Literal["GSM-7", "UCS-2"],
        Meta(description="`GSM-7` when every character is in the GSM alphabet, else `UCS-2`."),
    ]
    segments: Annotated[
        int,
        Meta(description="SMS parts it is sent in (GSM-7: 160, or 153 each; UCS-2: 70, or 67)."),
    ]
    contents: Annotated[
        dict[str, str],
        Meta(description="By provider that reviews it: the text in that provider's syntax."),
    ]
