"""Inbound SMS: a stop word opts its sender out of the app, a start word opts it back in.

An inbound message reaches a provider account, not an app, so each app has its own
inbound URL per provider, ``/v1/inbound/<provider>/<app>/<token>``, whose token is
derived from the pepper, the provider and the app: point an account (or, at Twilio and
Vonage, a number) at the URL of the app whose messages it sends. The callback passes the
same gate as delivery reports (:class:`~app.delivery.gate.CallbackGate`). A message whose
whole text is one of the app's ``stop_words`` (or ``start_words``), as
:func:`app.sms.keyword` folds them, marks the number opted out (or clears the mark); any
other text, and a sender that is no valid number, changes nothing and is acknowledged,
so that the provider does not retry it.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from app.errors import OtpgateError
from app.phone import mask_phone, normalize_phone
from app.sms import keyword
from app.store.optouts import OptOut

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from app.abuse.config import AbuseRules
    from app.delivery.gate import CallbackGate
    from app.delivery.ledger import Ledger
    from app.phone import Phone
    from app.providers.adapter import Adapter, Inbound
    from app.providers.reports import CallbackReply, CallbackRequest, InboundMessage
    from app.store.keys import Keys
    from app.store.optouts import OptOutStore

__all__ = ["InboundService"]

log = logging.getLogger("otpgate.inbound")


def _inbound(adapter: Adapter[Any]) -> Inbound[Any] | None:
    return adapter.inbound


def _phone(sender: str) -> Phone | None:
    try:
        return normalize_phone(sender)
    except OtpgateError:
        return None


class InboundService:
    """Reads providers' inbound messages into opt-outs (and back in) of one app each."""

    def __init__(
        self,
        *,
        gate: CallbackGate,
        store: OptOutStore,
        keys: Keys,
        ledger: Ledger,
        rules: Callable[[str], AbuseRules],
    ) -> None:
        self._gate = gate
        self._store = store
        self._keys = keys
        self._ledger = ledger
        self._rules = rules

    def public_url(self, received: str) -> str:
        return self._gate.public_url(received)

    def path(self, provider: str, app: str) -> str | None:
        """Where ``provider`` sends ``app``'s inbound messages (None: it forwards none)."""
        if self._gate.part(provider, _inbound) is None:
            return None
        return f"/v1/inbound/{provider}/{app}/{self._gate.token('inbound', provider, app)}"

    def paths(self, app: str) -> dict[str, str]:
        """The inbound path of every provider that forwards inbound messages."""
        found = {name: self.path(name, app) for name in self._gate.providers}
        return {name: path for name, path in found.items() if path}

    async def receive(
        self,
        provider: str,
        app: str,
        token: str,
        request: CallbackRequest,
        client_ip: str | None,
    ) -> CallbackReply:
        """Authenticate, parse and apply an inbound callback; the reply the provider wants."""
        expected = self._gate.token("inbound", provider, app)
        inbound = self._gate.admit(provider, token, expected, request, client_ip, _inbound)
        await self.apply(app, provider, self._gate.read(provider, inbound.parse, request))
        return inbound.reply

    async def apply(self, app: str, provider: str, messages: Sequence[InboundMessage]) -> None:
        """Opt the senders of stop words out of ``app`` and those of start words back in
        (a number's last word in the callback counts); tell the app what changed."""
        rules = self._rules(app)
        stop = {keyword(word) for word in rules.stop_words}
        start = {keyword(word) for word in rules.start_words}
        last: dict[str, tuple[bool, OptOut]] = {}
        for message in messages:
            word = keyword(message.text)
            if word not in stop and word not in start:
                continue
            phone = _phone(message.sender)
            if phone is None:
                log.info("a %s reply from no valid number: ignored", provider)
                continue
            at = message.received_at.timestamp() if message.received_at else time.time()
            entry = self._entry(app, phone, at, provider, word)
            last[entry.id] = (word in stop, entry)
        outs = [entry for out, entry in last.values() if out]
        ins = [entry for out, entry in last.values() if not out]
        new = await self._store.mark(app, outs)
        gone = await self._store.unmark(app, [(entry.subject, entry.id) for entry in ins])
        done = [
            *((True, entry) for entry, changed in zip(outs, new, strict=True) if changed),
            *((False, entry) for entry, changed in zip(ins, gone, strict=True) if changed),
        ]
        await self._ledger.write(*(self._ledger.opted(app, entry, out=out) for out, entry in done))
        for out, entry in done:
            way = "out of" if out else "back in to"
            log.info("%s opted %s %s through %s", entry.number, way, app, provider)

    def _entry(self, app: str, phone: Phone, at: float, provider: str, word: str) -> OptOut:
        number = self._keys.number(phone.e164)
        return OptOut(
            id=self._keys.opt_out_id(app, number), subject=self._keys.subject(app, number),
            number=mask_phone(phone.e164), country=phone.region, at=at, provider=provider,
            keyword=word,
        )  # fmt: skip
