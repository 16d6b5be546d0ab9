"""A Twilio account's balance: ``GET .../Balance.json``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import msgspec

from app.providers.base import Balance
from app.providers.twilio.sending import account_headers, account_url

if TYPE_CHECKING:
    from datetime import datetime

    from app.providers.twilio.config import TwilioConfig

__all__ = ["build_balance_request", "parse_balance"]


def build_balance_request(config: TwilioConfig, now: datetime, nonce: str) -> httpx.Request:
    """``GET .../Balance.json`` for the account."""
    return httpx.Request(
        "GET",
        account_url(config, "Balance.json"),
        headers=account_headers(config),
    )


class _Balance(msgspec.Struct):
    balance: str
    currency: str | None = None


def parse_balance(response: httpx.Response) -> Balance | None:
    """The balance (Twilio sends it as a decimal string), or None if there is none."""
    if not response.is_success:
        return None
    try:
        answer = msgspec.json.decode(response.content, type=_Balance)
        return Balance(amount=float(answer.balance), currency=answer.currency)
    except (msgspec.DecodeError, ValueError):
        return None
