"""Provider configuration: which adapters exist, and turning ``[providers.*]`` into them.

``[providers.<name>]`` names an account; its ``type`` (default: the name itself) picks
the adapter, and the other fields are that adapter's config struct. Everything is
checked at start: an unknown type, a bad field, a route to a provider nobody
configured, or a template provider without a template for a locale otpgate sends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import msgspec

from app.providers import aliyun, chuanglan, cloopen, gateway, huawei, tencent, twilio, vonage
from app.providers.config import TemplateError, template_for

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    import httpx

    from app.providers.base import Adapter, HttpProvider
    from app.providers.config import Template

__all__ = ["ADAPTERS", "OUTBOX", "ProviderConfig", "build_providers", "read_providers"]

#: The dev provider: always there in dev and test, refused in prod.
OUTBOX = "outbox"


#: Every adapter, by the ``type`` its accounts name: one line per vendor package.
ADAPTERS: Mapping[str, Adapter[Any]] = {
    adapter.type: adapter
    for adapter in (
        aliyun.ADAPTER,
        tencent.ADAPTER,
        huawei.ADAPTER,
        twilio.ADAPTER,
        vonage.ADAPTER,
        chuanglan.ADAPTER,
        cloopen.ADAPTER,
        gateway.ADAPTER,
    )
}


class ProviderConfig(NamedTuple):
    name: str
    type: str
    adapter: Adapter[Any]
    config: Any


def read_providers(
    raw: Mapping[str, Mapping[str, Any]], routes: Iterable[list[str]], locales: Iterable[str]
) -> dict[str, ProviderConfig]:
    """Validate ``[providers.*]`` against the adapters, the routes and the locales.

    Raises:
        ValueError: with the provider's name and what is wrong.
    """
    found: dict[str, ProviderConfig] = {}
    for name, fields in raw.items():
        if name == OUTBOX:
            raise ValueError("providers.outbox: the outbox needs no configuration")
        values = dict(fields)
        kind = values.pop("type", name)
        if kind not in ADAPTERS:
            raise ValueError(
                f"providers.{name}: unknown type {kind!r}; known: {', '.join(sorted(ADAPTERS))}"
            )
        adapter = ADAPTERS[kind]
        try:
            config = msgspec.convert(values, adapter.config)
        except msgspec.ValidationError as exc:
            raise ValueError(f"providers.{name}: {exc}") from None
        templates: dict[str, Template] = getattr(config, "templates", None) or {}
        for locale in locales if hasattr(config, "templates") else ():
            try:
                template_for(templates, locale)
            except TemplateError:
                raise ValueError(
                    f"providers.{name}: no template for locale {locale!r} (add "
                    f"[providers.{name}.templates.{locale}], or one for its language or 'en')"
                ) from None
        found[name] = ProviderConfig(name, kind, adapter, config)
    for route in routes:
        for name in route:
            if name != OUTBOX and name not in found:
                raise ValueError(f"routes: no provider named {name!r} in [providers]")
    return found


def build_providers(
    configs: Mapping[str, ProviderConfig], client: httpx.AsyncClient
) -> dict[str, HttpProvider[Any]]:
    """One provider per configured account, all on the shared ``client``."""
    built = {}
    for name, entry in configs.items():
        # two accounts of one type keep their own names
        built[name] = entry.adapter.create(entry.config, client, name=name)
    return built
