"""One message of a verification: rendered, sent through its route, recorded."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import msgspec

from app.errors import OtpgateError
from app.providers.base import OutgoingMessage, SendResult
from app.providers.router import Delivery
from app.store.keys import Keys
from app.verify.records import message_view

if TYPE_CHECKING:
    from collections.abc import Mapping

    from redis.asyncio.client import Pipeline

    from app.delivery.events import EventBus
    from app.delivery.stats import Stats
    from app.phone import Phone
    from app.providers.router import ProviderRouter
    from app.settings import Policy
    from app.store.redis import Scripts
    from app.verify.models import MessageView
    from app.verify.texts import MessageTexts

__all__ = ["TEST_PROVIDER", "MessageSender", "delivery_failed"]

#: The "provider" of a test number's messages: none is sent.
TEST_PROVIDER = "test_number"


def delivery_failed(
    verification_id: str, message: Mapping[str, Any], detail: str | None = None
) -> OtpgateError:
    """The 502 of a message no provider accepted, from the message as recorded."""
    return OtpgateError(
        "delivery_failed",
        detail or "no provider accepted the message",
        provider=message.get("provider"),
        provider_error=message.get("error_code"),
        error_kind=message.get("error_kind"),
        verification_id=verification_id,
    )


class MessageSender:
    """Sends a verification's message through its route and records what happened."""

    def __init__(
        self,
        *,
        scripts: Scripts,
        router: ProviderRouter,
        texts: MessageTexts,
        stats: Stats,
        events: EventBus,
        retention_ms: int,
    ) -> None:
        self._scripts = scripts
        self._router = router
        self._texts = texts
        self._stats = stats
        self._events = events
        self._retention_ms = retention_ms

    def outgoing(
        self, message_id: str, phone: Phone, locale: str, code: str, policy: Policy
    ) -> OutgoingMessage:
        minutes = max(1, math.ceil(policy.code_ttl / 60))
        return OutgoingMessage(
            message_id=message_id,
            to=phone.e164,
            region=phone.region,
            locale=locale,
            text=self._texts.render(locale, code, minutes),
            code=code,
            minutes=minutes,
        )

    async def deliver(
        self,
        app: str,
        verification_id: str,
        lookup: str,
        phone: Phone,
        outgoing: OutgoingMessage,
        message: dict[str, Any],
        number: int,
        *,
        keep_ms: int,
    ) -> MessageView:
        """Send through the route (a test number sends nothing) and record what happened:
        the message, the pointer from the provider's message id (kept ``keep_ms``), the
        statistics, and the app's event if the verification failed, in one round trip."""
        if message["provider"] == TEST_PROVIDER:
            delivery = Delivery(TEST_PROVIDER, SendResult.ok(None), [])
        else:
            delivery = await self._router.send(app, outgoing, phone.calling_code)
        result = delivery.result
        message["provider"] = delivery.provider
        message["attempts"] = msgspec.to_builtins(delivery.attempts)
        message["provider_message_id"] = result.provider_message_id
        if not result.accepted:
            message["status"] = "failed"
            message["error_code"] = result.error_code
            message["error_kind"] = result.error_kind
        else:
            message["status"] = "skipped" if delivery.provider == TEST_PROVIDER else "sent"
        counted = delivery.provider != TEST_PROVIDER

        def alongside(pipe: Pipeline) -> None:
            if result.provider_message_id and delivery.provider:
                pipe.set(
                    Keys.provider_message(delivery.provider, result.provider_message_id),
                    f"{verification_id} {number}",
                    px=keep_ms,
                )
            if counted:
                self._stats.queue(
                    pipe, app,
                    {"sends": 1, "verifications": 1 if number == 1 else 0,
                     "failed": 0 if result.accepted else 1},
                    provider=delivery.provider, country=phone.region,
                    reason=None if result.accepted else result.error_code,
                )  # fmt: skip
            if not result.accepted and number == 1:
                self._events.queue(
                    pipe, app, "verification.failed",
                    {"verification_id": verification_id, "status": "failed",
                     "provider": delivery.provider, "error_code": result.error_code},
                )  # fmt: skip

        await self._scripts.run_with(
            "record_message",
            [Keys.verification(verification_id), Keys.pending(lookup)],
            [
                f"m:{number}",
                msgspec.json.encode(message),
                "failed" if not result.accepted and number == 1 else "",
                self._retention_ms,
                delivery.provider or "",
            ],
            alongside,
        )
        if not result.accepted:
            raise delivery_failed(verification_id, message, result.error_message)
        return message_view(message)
