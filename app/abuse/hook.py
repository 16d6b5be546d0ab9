"""The pre-send hook: the app's own server has the last word on each send."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import httpx
import msgspec

from app.errors import OtpgateError

if TYPE_CHECKING:
    from app.abuse.config import AbuseRules

__all__ = ["HookRequest", "ask_hook"]

log = logging.getLogger("otpgate.abuse")


class HookRequest(msgspec.Struct, frozen=True):
    """What the hook receives (JSON). It answers ``{"allow": true|false, "reason": "..."}``."""

    app: str
    to: str
    country: str
    client_ip: str | None
    purpose: str
    #: how the code goes: sms, voice, whatsapp, or email (``to`` an address, ``country`` "")
    channel: str = "sms"


class _HookAnswer(msgspec.Struct):
    allow: bool
    reason: str | None = None


async def ask_hook(client: httpx.AsyncClient, rules: AbuseRules, request: HookRequest) -> None:
    """POST the request to ``rules.hook_url``; raise ``send_denied`` unless it allows.

    A timeout, an error status or an unreadable answer follows ``hook_fail_open``.
    """
    assert rules.hook_url is not None
    try:
        response = await client.post(
            rules.hook_url,
            content=msgspec.json.encode(request),
            headers={"Content-Type": "application/json"},
            timeout=rules.hook_timeout,
        )
        response.raise_for_status()
        answer = msgspec.json.decode(response.content, type=_HookAnswer)
    except (httpx.HTTPError, msgspec.DecodeError, msgspec.ValidationError) as exc:
        log.warning(
            "pre-send hook failed (%s): %s",
            type(exc).__name__,
            "open" if rules.hook_fail_open else "closed",
        )
        if rules.hook_fail_open:
            return
        raise OtpgateError(
            "send_denied", "the pre-send hook did not answer; the send is refused (fail closed)"
        ) from None
    if not answer.allow:
        raise OtpgateError("send_denied", answer.reason or "the pre-send hook refused this send")
