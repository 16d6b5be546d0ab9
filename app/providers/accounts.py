"""The provider accounts of ``[providers]``: one config struct per vendor, told apart by
their ``type``.

Settings hold ``dict[str, ProviderConfig]``. This module imports the vendors' ``config``
modules (structs) and nothing that sends, so settings may import it; the checks here are
pure data. Adding a vendor adds its config struct to :data:`ProviderConfig`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, get_args, runtime_checkable

import msgspec

from app.providers.aliyun.config import AliyunConfig
from app.providers.aliyun_voice.config import AliyunVoiceConfig
from app.providers.chuanglan.config import ChuanglanConfig
from app.providers.cloopen.config import CloopenConfig
from app.providers.config import Template, TemplateError, template_for
from app.providers.gateway.config import HttpGatewayConfig
from app.providers.huawei.config import HuaweiConfig
from app.providers.smtp.config import SmtpConfig
from app.providers.tencent.config import TencentConfig
from app.providers.tencent_voice.config import TencentVoiceConfig
from app.providers.twilio.config import TwilioConfig
from app.providers.vonage.config import VonageConfig

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "OUTBOX", "PROVIDER_TYPES", "ProviderConfig", "check_accounts", "read_accounts", "served",
]  # fmt: skip

#: One account's config: the struct of the vendor its ``type`` tag names.
ProviderConfig = (
    AliyunConfig
    | TencentConfig
    | HuaweiConfig
    | TwilioConfig
    | VonageConfig
    | ChuanglanConfig
    | CloopenConfig
    | HttpGatewayConfig
    | AliyunVoiceConfig
    | TencentVoiceConfig
    | SmtpConfig
)
#: Every account ``type``, and its config struct.
PROVIDER_TYPES: Mapping[str, type[msgspec.Struct]] = {
    str(member.__struct_config__.tag): member for member in get_args(ProviderConfig)
}
#: The dev provider: always there in dev and test, refused in prod, never configured.
OUTBOX = "outbox"


def served(config: ProviderConfig) -> frozenset[str]:
    """The channels an account serves: its ``channels`` where its type has the field
    (Twilio, Vonage), else its type's one channel (``CHANNEL``, SMS by default)."""
    channels = getattr(config, "channels", None)
    if channels is not None:
        return frozenset(channels)
    return frozenset({getattr(type(config), "CHANNEL", "sms")})


@runtime_checkable
class _Templated(Protocol):
    """The config of a template provider (Alibaba, Tencent, Huawei, Cloopen)."""

    templates: dict[str, Template]


def read_accounts(tables: Any) -> Any:
    """``[providers]`` read into config structs, each by its ``type`` (default: its name).

    msgspec would read the tables too, but its errors say ``$.providers[...]`` where the
    operator needs the account's name. Anything that is not a table of tables is left
    for msgspec to refuse.

    Raises:
        ValueError: with the account's name and what is wrong.
    """
    if not isinstance(tables, dict):
        return tables
    accounts = {}
    for name, fields in tables.items():
        if name == OUTBOX:
            raise ValueError("providers.outbox: the outbox needs no configuration")
        if not isinstance(fields, dict):
            accounts[name] = fields
            continue
        kind = fields.get("type", name)
        if not isinstance(kind, str) or kind not in PROVIDER_TYPES:
            known = ", ".join(sorted(PROVIDER_TYPES))
            raise ValueError(f"providers.{name}: unknown type {kind!r}; known: {known}")
        try:
            accounts[name] = msgspec.convert({**fields, "type": kind}, PROVIDER_TYPES[kind])
        except msgspec.ValidationError as exc:
            raise ValueError(f"providers.{name}: {exc}") from None
    return accounts


def _check_templates(
    name: str, field: str, templates: dict[str, Template], locales: list[str]
) -> None:
    for locale in locales:
        try:
            template_for(templates, locale)
        except TemplateError:
            raise ValueError(
                f"providers.{name}: no template for locale {locale!r} (add "
                f"[providers.{name}.{field}.{locale}], or one for its language or 'en')"
            ) from None


def check_accounts(
    accounts: Mapping[str, ProviderConfig],
    routes: Mapping[str, Iterable[list[str]]],
    locales: Iterable[str],
) -> None:
    """That every template provider has a template for every locale, and every route's
    provider is configured and serves the route's channel.

    Args:
        routes: by channel, every route of it (the global ones and the apps').

    Raises:
        ValueError: with the provider's name and what is wrong.
    """
    wanted = list(locales)
    for name, config in accounts.items():
        if isinstance(config, _Templated):
            _check_templates(name, "templates", config.templates, wanted)
        if isinstance(config, TwilioConfig | VonageConfig) and "whatsapp" in config.channels:
            _check_templates(name, "whatsapp_templates", config.whatsapp_templates, wanted)
    for channel, channel_routes in routes.items():
        where = "routes" if channel == "sms" else f"channel_routes.{channel}"
        for route in channel_routes:
            for name in route:
                if name == OUTBOX:
                    continue
                if name not in accounts:
                    raise ValueError(f"{where}: no provider named {name!r} in [providers]")
                if channel not in served(accounts[name]):
                    raise ValueError(
                        f"{where}: provider {name!r} does not serve {channel} "
                        f"(it serves {', '.join(sorted(served(accounts[name])))})"
                    )
