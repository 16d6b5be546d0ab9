"""A Cloopen main account's balance: ``GET .../AccountInfo?sig=…`` (the same
authentication as a send)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from app.providers.base import Balance
from app.providers.cloopen.sending import ACCEPTED
from app.providers.cloopen.signing import account_request

if TYPE_CHECKING:
    from datetime import datetime

    import httpx

    from app.providers.cloopen.config import CloopenConfig

__all__ = ["build_balance_request", "parse_balance"]


def build_balance_request(config: CloopenConfig, now: datetime, nonce: str) -> httpx.Request:
    """``GET .../AccountInfo`` for the main account."""
    return account_request("GET", config, "AccountInfo", now)


class _Account(msgspec.Struct):
    balance: str | float


class _AccountAnswer(msgspec.Struct):
    status_code: str = msgspec.field(name="statusCode")
    account: _Account | None = msgspec.field(default=None, name="Account")


def parse_balance(response: httpx.Response) -> Balance | None:
    """The main account's balance, or None if Cloopen did not give one.

    ``AccountInfo`` carries no currency: Ronglian bills in yuan (CNY).
    """
    if not response.is_success:
        return None
    try:
        answer = msgspec.json.decode(response.content, type=_AccountAnswer)
        if answer.status_code != ACCEPTED or answer.account is None:
            return None
        return Balance(amount=float(answer.account.balance), currency="CNY")
    except (msgspec.DecodeError, ValueError):
        return None
