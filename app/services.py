"""Every service of a running otpgate, built from its settings and closed in reverse.

:func:`open_services` is the app's lifespan resource: each resource (the Redis client,
the hashing threads, the HTTP client, the event dispatcher) is entered on one
:class:`~contextlib.AsyncExitStack`, so whatever fails or times out on the way down, every
other one is still closed. :func:`dependencies` hands the services to route handlers
through Litestar's dependency injection.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import httpx
from litestar.di import Provide
from redis.exceptions import RedisClusterException, RedisError

from app.abuse.guards import BlockStore
from app.abuse.rules import AppPolicies
from app.abuse.service import AbuseService
from app.apps.keys import ApiKeyStore
from app.apps.numbers import NumberLists
from app.apps.registry import AppRegistry
from app.cores import hashing_threads
from app.delivery.callbacks import Callbacks
from app.delivery.events import EventBus, EventDispatcher, event_targets
from app.delivery.ledger import Ledger
from app.delivery.prices import PriceTable
from app.delivery.stats import Stats
from app.delivery.usage import UsageReader
from app.providers.api import ProviderDirectory
from app.providers.circuit import CircuitBreaker
from app.providers.outbox import OutboxProvider
from app.providers.registry import OUTBOX, build_providers
from app.providers.router import ProviderRouter
from app.store.idempotency import IdempotencyEntries
from app.store.keys import Keys
from app.store.redis import Readiness, Scripts, StoreClient, connect
from app.store.verifications import VerificationStore
from app.verify.checking import CheckFlow
from app.verify.codes import CodeHasher
from app.verify.idempotency import IdempotencyStore
from app.verify.sending import SendFlow
from app.verify.service import VerificationService
from app.verify.texts import MessageTexts

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Coroutine

    from litestar.datastructures import State

    from app.delivery.inbound import InboundService
    from app.delivery.optouts import OptOuts
    from app.delivery.service import DeliveryService
    from app.providers.base import Provider
    from app.settings import Settings

__all__ = ["Services", "dependencies", "open_services"]

#: Seconds the event dispatcher may take to finish its round when the app stops.
_DISPATCHER_STOP_TIMEOUT = 5.0
#: Seconds between two reads of the stored apps' version.
APPS_POLL = 1.0


@dataclass(frozen=True)
class Services:
    """What route handlers and guards use."""

    verifications: VerificationService
    abuse: AbuseService
    deliveries: DeliveryService
    provider_directory: ProviderDirectory
    stats: Stats
    events: EventBus
    outbox: OutboxProvider
    api_keys: ApiKeyStore
    readiness: Readiness
    apps: AppRegistry
    usage: UsageReader
    numbers: NumberLists
    inbound: InboundService
    opt_outs: OptOuts


@contextlib.asynccontextmanager
async def open_services(
    settings: Settings, on_change: Callable[[Services], None] = lambda _: None
) -> AsyncIterator[Services]:
    """Open every resource otpgate needs, yield its services, close all of them.

    When apps change (``/v1/apps``, on any instance) the services are built again on the
    same resources and handed to ``on_change``; requests under way finish on the old ones.
    """
    if settings.redis_url is None:
        raise RuntimeError(
            "OTPGATE_REDIS_URL is not set: start otpgate with `otpgate serve`, which runs "
            "the embedded Redis, or point it at a Redis server"
        )
    async with contextlib.AsyncExitStack() as stack:
        client = connect(settings.redis_url, timeout=settings.redis_timeout)
        stack.push_async_callback(client.aclose)
        scripts = Scripts(
            client,
            wait_replicas=settings.redis_wait_replicas,
            wait_timeout=settings.redis_wait_timeout,
        )
        # Redis may come up later: scripts load on use
        with contextlib.suppress(RedisError, RedisClusterException):
            await scripts.load()
        hasher = CodeHasher(
            settings.secret_pepper,
            settings.argon2,
            hashing_threads(settings.hash_threads, settings.workers),
        )
        stack.callback(hasher.close)
        # One client for every provider, hook and event: connections are reused.
        http = await stack.enter_async_context(
            httpx.AsyncClient(
                timeout=settings.send_deadline,
                follow_redirects=False,
                limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
            )
        )
        yield await _watched(stack, settings, (client, scripts, hasher, http), on_change)


async def _watched(
    stack: contextlib.AsyncExitStack,
    settings: Settings,
    resources: tuple[StoreClient, Scripts, CodeHasher, httpx.AsyncClient],
    on_change: Callable[[Services], None],
) -> Services:
    """The services, the event dispatcher, and the watch of the stored apps that builds
    the services again (on the same resources) when the apps change."""
    client, scripts, hasher, http = resources
    apps = AppRegistry(client, settings)
    with contextlib.suppress(RedisError, RedisClusterException):
        await apps.refresh()
    targets = event_targets(apps.settings)  # updated in place when apps change
    dispatcher = EventDispatcher(
        client, scripts, http, targets,
        max_attempts=settings.events_max_attempts, backoff=settings.events_backoff,
        claim_after=settings.events_claim_after, allow_http=settings.env != "prod",
    )  # fmt: skip
    await stack.enter_async_context(_running(dispatcher.run(), dispatcher.stop))
    shared = (apps, client, scripts, hasher, http, EventBus(client, targets))

    def rebuild(new: Settings) -> None:
        targets.clear()
        targets.update(event_targets(new))
        on_change(_services(new, *shared))

    apps.listeners.append(rebuild)
    await stack.enter_async_context(_running(apps.watch(APPS_POLL), None))
    return _services(apps.settings, *shared)


def _services(
    settings: Settings,
    apps: AppRegistry,
    client: StoreClient,
    scripts: Scripts,
    hasher: CodeHasher,
    http: httpx.AsyncClient,
    events: EventBus,
) -> Services:
    keys = Keys(settings.secret_pepper)
    store = VerificationStore(scripts, keys)
    stats = Stats(client)
    ledger = Ledger(scripts, stats, events)
    outbox = OutboxProvider(
        scripts, max_messages=settings.outbox_max_messages, ttl=settings.outbox_ttl
    )
    breaker = CircuitBreaker(client, scripts, settings.circuit)
    # Built again whenever the apps' version moves, so apps.numbers is the index just read.
    policies = AppPolicies(settings)
    abuse = AbuseService(
        policies=policies, blocks=BlockStore(client, keys), scripts=scripts,
        keys=keys, http=http, listed=apps.numbers,
    )  # fmt: skip
    callbacks = Callbacks.build(
        settings, scripts, keys, ledger, rules=policies.abuse, known=apps.known
    )
    router = _router(settings, _providers(settings, http, outbox), breaker)
    directory = ProviderDirectory(
        settings.providers, breaker, http, with_outbox=settings.env != "prod",
        callback_path=callbacks.deliveries.callback_path,
    )  # fmt: skip
    return Services(
        verifications=_verifications(settings, scripts, store, hasher, abuse, router, ledger),
        abuse=abuse,
        deliveries=callbacks.deliveries,
        provider_directory=directory,
        stats=stats,
        events=events,
        outbox=outbox,
        api_keys=ApiKeyStore(
            client, bootstrap_key=settings.bootstrap_api_key, pepper=settings.secret_pepper
        ),
        readiness=Readiness(client),
        apps=apps,
        usage=UsageReader(client, keys, settings),
        numbers=NumberLists(apps, client, scripts, keys),
        inbound=callbacks.inbound,
        opt_outs=callbacks.opt_outs,
    )


def _providers(
    settings: Settings, http: httpx.AsyncClient, outbox: OutboxProvider
) -> dict[str, Provider]:
    """Every configured account, and the dev outbox outside prod."""
    providers: dict[str, Provider] = dict(build_providers(settings.providers, http))
    if settings.env != "prod":
        providers[OUTBOX] = outbox
    return providers


def _verifications(
    settings: Settings,
    scripts: Scripts,
    store: VerificationStore,
    hasher: CodeHasher,
    abuse: AbuseService,
    router: ProviderRouter,
    ledger: Ledger,
) -> VerificationService:
    idempotency = IdempotencyStore(
        IdempotencyEntries(scripts), store, settings.idempotency_ttl, settings.send_deadline
    )
    types = {name: str(type(own).__struct_config__.tag) for name, own in settings.providers.items()}
    sending = SendFlow(
        settings=settings, store=store, hasher=hasher, abuse=abuse, router=router,
        texts=MessageTexts(settings.messages), idempotency=idempotency, ledger=ledger,
        prices=PriceTable(types, settings.prices, settings.price_currency),
    )  # fmt: skip
    checking = CheckFlow(
        store=store, hasher=hasher, abuse=abuse, ledger=ledger,
        retention_ms=int(settings.retention * 1000),
    )  # fmt: skip
    return VerificationService(
        settings=settings, store=store, sending=sending, checking=checking, ledger=ledger
    )


def _router(
    settings: Settings, providers: dict[str, Provider], breaker: CircuitBreaker
) -> ProviderRouter:
    return ProviderRouter(
        providers,
        settings.routes,
        {name: own.routes for name, own in settings.apps.items() if own.routes},
        breaker,
        settings.send_deadline,
        settings.send_attempt_timeout,
    )


@contextlib.asynccontextmanager
async def _running(
    work: Coroutine[Any, Any, None], stop: Callable[[], None] | None
) -> AsyncIterator[None]:
    """``work`` as a task while the app runs: ``stop`` asks it to end, within a bound,
    and it is cancelled if it does not (or at once without ``stop``)."""
    task = asyncio.create_task(work)
    try:
        yield
    finally:
        if stop is None:
            task.cancel()
        else:
            stop()
        # On a timeout wait_for cancels the task; the resources below it close all the same.
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=_DISPATCHER_STOP_TIMEOUT)


def services(state: State) -> Services:
    """The services of a running app (see :func:`open_services`)."""
    return cast("Services", state.services)


def dependencies() -> dict[str, Provide]:
    """Litestar dependency providers, one per service a handler may ask for by name."""

    def provider(name: str) -> Provide:
        def provide(state: State) -> Any:
            return getattr(services(state), name)

        return Provide(provide, sync_to_thread=False)

    return {name: provider(name) for name in Services.__dataclass_fields__}
