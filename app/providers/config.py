"""Settings of the providers layer that are not one vendor's: templates, circuits, the
routes of each channel.

A leaf: it imports msgspec and nothing of otpgate, so that settings and every vendor's
``config`` module may import it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal, TypeVar

import msgspec

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from app.channels import Channel, OtherChannel

__all__ = [
    "CircuitSettings", "RegisteredTemplate", "Template", "TemplateError", "check_route_keys",
    "route_tables", "template_for", "template_locale",
]  # fmt: skip

C = TypeVar("C", bound=msgspec.Struct)
Routes = dict[str, list[str]]


class Template(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A template registered at a provider, for one locale.

    ``params`` lists, in the provider's order, what fills each template variable:
    ``"code"`` or ``"minutes"``. Alibaba and Huawei name their variables
    (``names``, same order); Tencent and Cloopen take them by position. ``language`` is
    the template's language where the provider asks for it (a WhatsApp template's
    ``en_US``; default: the locale it is configured for, ``-`` as ``_``).
    """

    id: str
    params: list[Literal["code", "minutes"]] = msgspec.field(default_factory=lambda: ["code"])
    names: list[str] | None = None
    language: str | None = None

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
    return templates[template_locale(templates, locale)]


def template_locale(templates: dict[str, Template], locale: str) -> str:
    """The locale whose template :func:`template_for` picks for ``locale``."""
    language = locale.split("-")[0]
    for candidate in (locale, language, "en"):
        if candidate in templates:
            return candidate
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


def check_route_keys(tables: Iterable[tuple[Routes, Mapping[OtherChannel, Routes]]]) -> None:
    """In every (SMS routes, other channels' routes) pair, each key is ``default`` or a
    calling code (``+86``); email's is ``default`` only.

    Raises:
        ValueError: the first key that is neither, and where it is.
    """
    for sms, others in tables:
        for where, table in [
            ("routes", sms),
            *((f"channel_routes.{c}", t) for c, t in others.items()),
        ]:
            for key in table:
                if key != "default" and not (key.startswith("+") and key[1:].isdigit()):
                    raise ValueError(f"{where}: {key!r} is neither 'default' nor a calling code")
                if key != "default" and where == "channel_routes.email":
                    raise ValueError(f"{where}: email has one route, 'default' (not {key!r})")


def every_route(tables: Iterable[Mapping[Channel, Routes]]) -> dict[str, list[list[str]]]:
    """By channel, every route of the ``tables`` (each as :func:`route_tables` makes it)."""
    found: dict[str, list[list[str]]] = {}
    for table in tables:
        for channel, routes in table.items():
            found.setdefault(channel, []).extend(routes.values())
    return found


def route_tables(
    sms: Routes,
    others: Mapping[OtherChannel, Routes],
    own_sms: Routes,
    own_others: Mapping[OtherChannel, Routes],
    *,
    outbox: bool,
) -> dict[Channel, Routes]:
    """Every channel's routes, an app's keys (``own_…``) over the global ones. A channel
    with no table of its own goes to the outbox when ``outbox`` (dev and test)."""
    fallback: Routes = {"default": ["outbox"]} if outbox else {}
    tables: dict[Channel, Routes] = {"sms": {**sms, **own_sms}}
    others_: tuple[OtherChannel, ...] = ("voice", "whatsapp", "email")
    for channel in others_:
        table = others.get(channel)
        tables[channel] = {**(fallback if table is None else table), **own_others.get(channel, {})}
    return tables
