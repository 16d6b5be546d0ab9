"""Fixtures of the template tests: Alibaba's, Tencent's and Huawei's stubs on loopback, and
settings whose +86 route goes through them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from tests.conftest import AUTH, ClientFactory
from tests.providers import test_aliyun, test_huawei, test_tencent
from tests.stubs.aliyun import AliyunStub
from tests.stubs.huawei import HuaweiStub
from tests.stubs.loopback import serve
from tests.stubs.tencent import TencentStub

CN = "+8613800138000"
#: A text both vendors' rules take.
ZH = "{app_name}：您的验证码为{code}，请勿泄露。"


@dataclass
class Stubs:
    aliyun: AliyunStub
    tencent: TencentStub
    huawei: HuaweiStub
    urls: dict[str, str]


@pytest.fixture
def stubs() -> Iterator[Stubs]:
    aliyun, tencent = AliyunStub(), TencentStub()
    huawei = HuaweiStub(test_huawei.APP_KEY, test_huawei.APP_SECRET)
    with serve(aliyun) as a, serve(tencent) as t, serve(huawei) as h:
        yield Stubs(aliyun, tencent, huawei, {"aliyun": a, "tencent": t, "huawei": h})


def provider_tables(stubs: Stubs) -> dict[str, Any]:
    """``[providers]``: ``aliyun``, ``tencent`` and ``huawei`` accounts at the stubs."""
    configs = {
        "aliyun": test_aliyun.make_config(base_url=stubs.urls["aliyun"]),
        "tencent": test_tencent.make_config(base_url=stubs.urls["tencent"]),
        "huawei": test_huawei.config(base_url=stubs.urls["huawei"]),
    }
    return {name: {"type": name, **msgspec.to_builtins(c)} for name, c in configs.items()}


def reviewed(stubs: Stubs, route: list[str], **overrides: Any) -> dict[str, Any]:
    """Settings whose +86 route is ``route`` (accounts of the stubs), with the app ``shop``
    (display name 小店)."""
    return {
        "providers": provider_tables(stubs),
        "routes": {"+86": route, "default": ["outbox"]},
        "apps": {"shop": {"display_name": "小店"}},
        **overrides,
    }


@pytest.fixture
async def shop(make_client: ClientFactory, stubs: Stubs) -> AsyncIterator[AsyncTestClient[Any]]:
    """An app whose +86 route is Alibaba, then Tencent."""
    async with make_client(**reviewed(stubs, ["aliyun", "tencent"])) as client:
        yield client


async def key_of(client: Any, app: str, *scopes: str) -> dict[str, str]:
    """The bearer header of a new key of ``app`` with ``scopes``."""
    made = await client.post(f"/v1/apps/{app}/keys", json={"scopes": scopes}, headers=AUTH)
    assert made.status_code == 201, made.text
    return {"Authorization": f"Bearer {made.json()['key']}"}


async def put(client: Any, path: str, text: str = ZH, **body: Any) -> Any:
    """PUT a template of app ``shop`` at ``path`` (``<purpose>/<locale>``) as operator."""
    url = f"/v1/apps/shop/templates/{path}"
    return await client.put(url, json={"text": text, **body}, headers=AUTH)
