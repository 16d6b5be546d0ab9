"""Which adapters exist, and the providers made of the configured accounts.

``[providers.<name>]`` names an account; its ``type`` picks the adapter, and settings
have read it into that adapter's config struct (:mod:`app.providers.accounts`). Adding
a vendor is one package under ``app/providers/`` and one line here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.providers import (
    aliyun,
    aliyun_voice,
    chuanglan,
    cloopen,
    gateway,
    huawei,
    smtp,
    tencent,
    tencent_voice,
    twilio,
    vonage,
)
from app.providers.accounts import OUTBOX

if TYPE_CHECKING:
    from collections.abc import Mapping

    import httpx

    from app.providers.accounts import ProviderConfig
    from app.providers.adapter import Adapter
    from app.providers.base import Provider

__all__ = ["ADAPTERS", "OUTBOX", "REVIEWED", "adapter_for", "build_providers"]

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
        aliyun_voice.ADAPTER,
        tencent_voice.ADAPTER,
        smtp.ADAPTER,
    )
}
#: The adapter types with a template API (``Adapter.review``): their accounts register an
#: app's templates and follow their reviewers; other template providers take an id.
REVIEWED = frozenset(kind for kind, adapter in ADAPTERS.items() if adapter.review is not None)
_BY_CONFIG: Mapping[type, Adapter[Any]] = {adapter.config: adapter for adapter in ADAPTERS.values()}


def adapter_for(config: ProviderConfig) -> Adapter[Any]:
    """The adapter of an account, known by its config struct."""
    return _BY_CONFIG[type(config)]


def build_providers(
    accounts: Mapping[str, ProviderConfig], client: httpx.AsyncClient
) -> dict[str, Provider]:
    """One provider per configured account, all on the shared ``client``; two accounts of
    one type keep their own names."""
    return {
        name: adapter_for(config).create(config, client, name=name)
        for name, config in accounts.items()
    }
