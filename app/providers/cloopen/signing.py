"""Cloopen's request authentication: a timestamp ``yyyyMMddHHmmss`` in Beijing time,
used twice.

- ``sig = UPPER(hex(MD5(accountSid + authToken + timestamp)))`` in the query string;
- ``Authorization: Base64(accountSid + ":" + timestamp)`` (no ``Basic`` prefix).
"""

from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING

import httpx

from app.providers.beijing import beijing_timestamp

if TYPE_CHECKING:
    from datetime import datetime

    from app.providers.cloopen.config import CloopenConfig

__all__ = ["account_request", "authorization", "beijing_timestamp", "sig"]

_API_VERSION = "2013-12-26"


def sig(account_sid: str, auth_token: str, timestamp: str) -> str:
    """The ``sig`` query parameter: uppercase hex MD5 of sid + token + timestamp."""
    # Cloopen mandates MD5 here; it authenticates the request, it stores nothing.
    digest = hashlib.md5((account_sid + auth_token + timestamp).encode())  # noqa: S324
    return digest.hexdigest().upper()


def authorization(account_sid: str, timestamp: str) -> str:
    """The ``Authorization`` header: Base64 of ``sid:timestamp``, without a scheme."""
    return base64.b64encode(f"{account_sid}:{timestamp}".encode()).decode()


def account_request(
    method: str, config: CloopenConfig, resource: str, now: datetime, body: bytes = b""
) -> httpx.Request:
    """A signed request to ``resource`` of the main account; ``now`` is the timestamp."""
    stamp = beijing_timestamp(now)
    base = config.base_url.rstrip("/")
    return httpx.Request(
        method,
        f"{base}/{_API_VERSION}/Accounts/{config.account_sid}/{resource}",
        params={"sig": sig(config.account_sid, config.auth_token, stamp)},
        headers={
            "Accept": "application/json",
            "Content-Type": "application/json;charset=utf-8",
            "Authorization": authorization(config.account_sid, stamp),
        },
        content=body,
    )
