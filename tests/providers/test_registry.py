"""The registry's adapters and the settings' account types are the same vendors."""

from __future__ import annotations

from app.providers.accounts import PROVIDER_TYPES
from app.providers.registry import ADAPTERS, REVIEWED


def test_each_adapter_s_config_is_the_account_struct_tagged_with_its_type() -> None:
    assert {kind: adapter.config for kind, adapter in ADAPTERS.items()} == dict(PROVIDER_TYPES)


def test_alibaba_and_tencent_are_the_vendors_with_a_template_api() -> None:
    assert sorted(REVIEWED) == ["aliyun", "tencent"]
    templated = {kind for kind, config in PROVIDER_TYPES.items() if "templates" in
                 config.__struct_fields__}  # fmt: skip
    # the voice products take registered templates too (a TTS template), reviewed at the
    # vendor's console only
    assert REVIEWED < templated == {
        "aliyun", "tencent", "huawei", "cloopen", "aliyun_voice", "tencent_voice",
    }  # fmt: skip
