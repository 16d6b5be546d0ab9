"""GET /v1/providers: each provider's circuit, recent success rate and latency, balance."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Literal

import httpx
import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency

from app.apps.auth import requires_scope
from app.http.contract import API_KEY_PROBLEMS, problems
from app.metrics import CIRCUIT_STATE, PROVIDER_BALANCE
from app.providers.base import Balance
from app.providers.circuit import CircuitBreaker, ProviderHealth
from app.providers.registry import ADAPTERS, OUTBOX, adapter_for

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from app.providers.accounts import ProviderConfig

__all__ = ["ProviderController", "ProviderDirectory", "ProviderStatus"]

if TYPE_CHECKING:
    ProviderType = str
else:
    # The registry's adapter types and the dev outbox, an enum in the OpenAPI document;
    # made from the registry, so that a new vendor needs no line here.
    ProviderType = Literal[(*ADAPTERS, OUTBOX)]
log = logging.getLogger("otpgate.providers")
_CIRCUIT_GAUGE = {"closed": 0, "half_open": 1, "open": 2}
_BALANCE_TIMEOUT = 3.0


class ProviderStatus(msgspec.Struct, frozen=True):
    """One configured provider account."""

    name: Annotated[str, msgspec.Meta(description="Its name in `[providers]`.")]
    type: Annotated[ProviderType, msgspec.Meta(description="Its adapter.")]
    health: Annotated[ProviderHealth, msgspec.Meta(description="Its circuit and recent figures.")]
    balance: Annotated[
        Balance | None,
        msgspec.Meta(
            description="From the provider's balance API where it has one (Twilio, Vonage, "
            "Chuanglan, Cloopen); null when it has none or did not answer."
        ),
    ]
    callback_path: Annotated[
        str | None,
        msgspec.Meta(description="Where to point its delivery reports (null: none are taken)."),
    ] = None


class Providers(msgspec.Struct, frozen=True):
    """Every provider this instance may send through."""

    providers: Annotated[
        list[ProviderStatus], msgspec.Meta(description="`outbox` first outside prod.")
    ]


class ProviderDirectory:
    """The configured providers, their health from the breaker, their balances live."""

    def __init__(
        self,
        configs: Mapping[str, ProviderConfig],
        breaker: CircuitBreaker,
        client: httpx.AsyncClient,
        *,
        with_outbox: bool,
        callback_path: Callable[[str], str | None],
    ) -> None:
        self._configs = configs
        self._breaker = breaker
        self._client = client
        self._with_outbox = with_outbox
        self._callback_path = callback_path

    async def statuses(self) -> list[ProviderStatus]:
        names = [*([OUTBOX] if self._with_outbox else []), *self._configs]
        return list(await asyncio.gather(*(self._status(name) for name in names)))

    async def circuits(self) -> None:
        """Read every provider's circuit into the ``otpgate_provider_circuit_state`` gauge."""
        names = [*([OUTBOX] if self._with_outbox else []), *self._configs]
        healths = await asyncio.gather(*(self._breaker.health(name) for name in names))
        for name, health in zip(names, healths, strict=True):
            CIRCUIT_STATE.labels(name).set(_CIRCUIT_GAUGE[health.state])

    async def _status(self, name: str) -> ProviderStatus:
        config = self._configs.get(name)
        health = await self._breaker.health(name)
        kind = OUTBOX if config is None else adapter_for(config).type
        balance = None if config is None else await self._balance(name, config)
        return ProviderStatus(name, kind, health, balance, self._callback_path(name))

    async def _balance(self, name: str, config: ProviderConfig) -> Balance | None:
        balance = adapter_for(config).balance
        if balance is None:
            return None
        try:
            request = balance.build(config, datetime.now(UTC), "")
            request.extensions["timeout"] = httpx.Timeout(_BALANCE_TIMEOUT).as_dict()
            found = balance.parse(await self._client.send(request))
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("balance of %s unavailable: %s", name, type(exc).__name__)
            return None
        if found is not None:
            PROVIDER_BALANCE.labels(name, found.currency or "messages").set(found.amount)
        return found


class ProviderController(Controller):
    path = "/v1/providers"
    tags = ["providers"]
    guards = [requires_scope("admin")]
    security = [{"apiKey": []}]
    signature_types = [ProviderDirectory]

    @get(
        "/",
        operation_id="listProviders",
        summary="Providers: circuit, success rate, latency, balance",
        **problems(*API_KEY_PROBLEMS),
    )
    async def providers(self, provider_directory: NamedDependency[ProviderDirectory]) -> Providers:
        return Providers(await provider_directory.statuses())
