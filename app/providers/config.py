"""Settings structs of the providers layer that are not one vendor's: templates, circuits.

A leaf: it imports msgspec and nothing of otpgate, so that settings and every vendor's
``config`` module may import it.
"""

from __future__ import annotations

from typing import Annotated, Literal, TypeVar

import msgspec

__all__ = ["CircuitSettings", "RegisteredTemplate", "Template", "TemplateError", "template_for"]

C = TypeVar("C", bound=msgspec.Struct)


class Template(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A template registered at a provider, for one locale.

    ``params`` lists, in the provider's order, what fills each template variable:
    ``"code"`` or ``"minutes"``. Alibaba and Huawei name their variables
    (``names``, same order); Tencent and Cloopen take them by position.
    """

    id: str
    params: list[Literal["code", "minutes"]] = msgspec.field(default_factory=lambda: ["code"])
    names: list[str] | None = None

    def __post_init__(self) -> None:
        if self.names is not None and len(self.names) != len(self.params):
            raise ValueError(f"template {self.id}: `names` and `params` differ in length")


class RegisteredTemplate(msgspec.Struct, frozen=True):
    """A template an app registered at run time for one provider account: what the send
    uses instead of the account's own template (and sign name) for that locale."""

    template: Template
    #: The sign name to send with it; None: the account's own.
    sign_name: str | None = None
    #: The regions (ISO 3166) of the numbers it may go to; None: any.
    regions: frozenset[str] | None = None

    def serves(self, region: str) -> bool:
        return self.regions is None or region in self.regions

    def applied(self, config: C, locale: str) -> C:
        """``config`` with this as its template for ``locale`` (and its sign name)."""
        changes: dict[str, object] = {"templates": {locale: self.template}}
        if self.sign_name is not None and "sign_name" in config.__struct_fields__:
            changes["sign_name"] = self.sign_name
        return msgspec.structs.replace(config, **changes)


class TemplateError(LookupError):
    """No template is configured for a locale."""


def template_for(templates: dict[str, Template], locale: str) -> Template:
    """The template for ``locale``, else for its language, else for ``en``.

    Settings check with it at start that every locale has one; adapters pick with it.
    """
    language = locale.split("-")[0]
    for candidate in (locale, language, "en"):
        if candidate in templates:
            return templates[candidate]
    raise TemplateError(f"no template for locale {locale!r}")


class CircuitSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """When a provider is skipped, and for how long."""

    #: Consecutive failures that open the circuit.
    failures: Annotated[int, msgspec.Meta(ge=1)] = 5
    #: Or: this share of failures among at least ``min_requests`` attempts in ``window``.
    error_rate: Annotated[float, msgspec.Meta(gt=0, le=1)] = 0.5
    min_requests: Annotated[int, msgspec.Meta(ge=1)] = 20
    window: Annotated[float, msgspec.Meta(gt=0)] = 60
    #: Seconds an open circuit skips the provider before one probe is let through.
    open_for: Annotated[float, msgspec.Meta(gt=0)] = 30
    #: A probe that has not reported after this many seconds is replaced by another.
    probe_timeout: Annotated[float, msgspec.Meta(gt=0)] = 10
