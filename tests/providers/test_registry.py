"""The registry's adapters and the settings' account types are the same vendors."""

from __future__ import annotations

from app.providers.accounts import PROVIDER_TYPES
from app.providers.registry import ADAPTERS


def test_each_adapter_s_config_is_the_account_struct_tagged_with_its_type() -> None:
    assert {kind: adapter.config for kind, adapter in ADAPTERS.items()} == dict(PROVIDER_TYPES)
