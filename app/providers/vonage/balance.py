"""A Vonage account's balance: ``GET {base_url}/account/get-balance``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import msgspec

from app.providers.base import Balance, decode_answer
from app.providers.signing import basic_authorization

if TYPE_CHECKING:
    from datetime import datetime

    from app.providers.vonage.config import VonageConfig

__all__ = ["build_balance_request", "parse_balance"]


def build_balance_request(config: VonageConfig, now: datetime, nonce: str) -> httpx.Request:
    """``GET /account/get-balance`` with Basic auth (the account API is not signed)."""
    if config.api_secret is None:
        raise ValueError("vonage: the balance API needs `api_secret`")
    authorization = basic_authorization(config.api_key, config.api_secret)
    return httpx.Request(
        "GET",
        config.base_url.rstrip("/") + "/account/get-balance",
        headers={"Authorization": authorization, "Accept": "application/json"},
    )


class _Balance(msgspec.Struct):
    value: float


def parse_balance(response: httpx.Response) -> Balance | None:
    """The balance; Vonage does not say its currency (the account's, usually EUR)."""
    answer = decode_answer(response, _Balance) if response.is_success else None
    return None if answer is None else Balance(amount=answer.value, currency=None)
