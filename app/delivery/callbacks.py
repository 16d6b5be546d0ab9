"""What providers call back into, built on one gate: delivery reports, inbound messages,
and the opt-outs they make (listed and cleared by admins)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.delivery.gate import CallbackGate
from app.delivery.inbound import InboundService
from app.delivery.optouts import OptOuts
from app.delivery.service import DeliveryService
from app.store.optouts import OptOutStore
from app.store.reports import ReportStore

if TYPE_CHECKING:
    from collections.abc import Callable

    from app.abuse.config import AbuseRules
    from app.delivery.ledger import Ledger
    from app.settings import Settings
    from app.store.keys import Keys
    from app.store.redis import Scripts

__all__ = ["Callbacks"]


@dataclass(frozen=True)
class Callbacks:
    deliveries: DeliveryService
    inbound: InboundService
    opt_outs: OptOuts

    @classmethod
    def build(
        cls,
        settings: Settings,
        scripts: Scripts,
        keys: Keys,
        ledger: Ledger,
        *,
        rules: Callable[[str], AbuseRules],
        known: Callable[[str], bool],
    ) -> Callbacks:
        """The three of them for ``settings``; ``rules``: an app's abuse rules (its stop
        and start words), ``known``: whether an app exists."""
        gate = CallbackGate(
            providers=settings.providers, pepper=settings.secret_pepper,
            callback_ips=settings.callback_ips, public_url=settings.public_url,
        )  # fmt: skip
        store = OptOutStore(scripts)
        inbound = InboundService(gate=gate, store=store, keys=keys, ledger=ledger, rules=rules)
        return cls(
            deliveries=DeliveryService(store=ReportStore(scripts), ledger=ledger, gate=gate),
            inbound=inbound,
            opt_outs=OptOuts(store=store, keys=keys, ledger=ledger, inbound=inbound, known=known),
        )
