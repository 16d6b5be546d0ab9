"""Status-report (delivery receipt) formats, one module per provider type.

Each module has ``parse(request) -> list[DeliveryReport]``, ``REPLY`` (the exact answer
the provider expects) and, where the provider signs its callbacks,
``verify(request, config, now) -> bool``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.providers.aliyun import reports as aliyun
from app.providers.chuanglan import reports as chuanglan
from app.providers.cloopen import reports as cloopen
from app.providers.gateway import reports as http_gateway
from app.providers.huawei import reports as huawei
from app.providers.tencent import reports as tencent
from app.providers.twilio import reports as twilio
from app.providers.vonage import reports as vonage

if TYPE_CHECKING:
    from collections.abc import Mapping
    from types import ModuleType

__all__ = ["HANDLERS"]

#: provider type -> its callback module
HANDLERS: Mapping[str, ModuleType] = {
    "aliyun": aliyun,
    "tencent": tencent,
    "huawei": huawei,
    "twilio": twilio,
    "vonage": vonage,
    "chuanglan": chuanglan,
    "cloopen": cloopen,
    "http": http_gateway,
}
