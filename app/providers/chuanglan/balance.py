"""A 253 account's balance: ``POST .../balance/json`` (the product's path) with the
account and password."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import msgspec

from app.providers.base import Balance, decode_answer
from app.providers.chuanglan.sending import BALANCE_PATHS, JSON_CONTENT, Reply, endpoint

if TYPE_CHECKING:
    from datetime import datetime

    from app.providers.chuanglan.config import ChuanglanConfig

__all__ = ["build_balance_request", "parse_balance"]


def build_balance_request(config: ChuanglanConfig, now: datetime, nonce: str) -> httpx.Request:
    """``POST .../balance/json`` with the account and password."""
    body = {"account": config.account, "password": config.password}
    return httpx.Request(
        "POST",
        endpoint(config, BALANCE_PATHS),
        content=msgspec.json.encode(body),
        headers={"Content-Type": JSON_CONTENT},
    )


def parse_balance(response: httpx.Response) -> Balance | None:
    """The balance (a decimal string), or None on an error; 253 names no currency."""
    reply = decode_answer(response, Reply)
    if not response.is_success or reply is None or str(reply.code) != "0":
        return None
    try:
        return Balance(amount=float(reply.balance or ""), currency=None)
    except ValueError:
        return None
