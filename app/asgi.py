"""``create_app(settings)``: the one place where otpgate is wired together."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import httpx
from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.di import Provide
from litestar.logging import LoggingConfig
from redis.exceptions import RedisError

from app import __version__
from app.abuse.api import AbuseController
from app.abuse.config import AppPolicies
from app.abuse.guards import BlockStore, ConversionGuard, PrefixVelocity
from app.abuse.service import AbuseService
from app.abuse.throttle import Throttle
from app.apps.auth import authenticate
from app.apps.keys import ApiKeyStore
from app.delivery.api import AdminDeliveryController, CallbackController
from app.delivery.events import EventBus, EventDispatcher, EventTarget
from app.delivery.service import DeliveryService
from app.delivery.stats import Stats
from app.dev.outbox import OutboxController
from app.http.openapi import DocumentedStructs, openapi_config
from app.http.problems import problem_details_plugin
from app.http.requests import JsonSafeRequest
from app.ops.health import HealthController
from app.ops.metrics import MetricsController, prometheus_config
from app.providers.api import ProviderController, ProviderDirectory
from app.providers.circuit import CircuitBreaker
from app.providers.outbox import OutboxProvider
from app.providers.registry import OUTBOX, build_providers
from app.providers.router import ProviderRouter
from app.settings import Settings, load_settings
from app.store.redis import Scripts, connect, limits_storage
from app.verify.api import VerificationController
from app.verify.codes import CodeHasher
from app.verify.idempotency import IdempotencyStore
from app.verify.service import VerificationService
from app.verify.texts import MessageTexts

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from app.providers.base import Provider

__all__ = ["create_app", "openapi_document"]

log = logging.getLogger("otpgate")
#: Client libraries whose INFO lines would print request URLs or bodies.
_QUIET_LIBRARY_LOGGERS = ("httpx", "httpcore", "hpack", "urllib3")


def _lifespan(settings: Settings) -> Any:
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if settings.redis_url is None:
            raise RuntimeError(
                "OTPGATE_REDIS_URL is not set: start otpgate with `otpgate serve`, which runs "
                "the embedded Redis, or point it at a Redis server"
            )
        client = connect(settings.redis_url, timeout=settings.redis_timeout)
        scripts = Scripts(client)
        with contextlib.suppress(RedisError):  # Redis may come up later; scripts load on use
            await scripts.load()
        hasher = CodeHasher(settings.secret_pepper, settings.argon2, settings.hash_threads)
        outbox = OutboxProvider(
            client, max_messages=settings.outbox_max_messages, ttl=settings.outbox_ttl
        )
        storage = limits_storage(settings.redis_url, timeout=settings.redis_timeout)
        # One client for every provider and hook: connections are reused across sends.
        http = httpx.AsyncClient(
            timeout=settings.send_deadline,
            follow_redirects=False,
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        )
        texts = MessageTexts(settings.messages)
        providers: dict[str, Provider] = dict(build_providers(settings.providers, http))
        with_outbox = settings.env != "prod"
        if with_outbox:
            providers[OUTBOX] = outbox
        breaker = CircuitBreaker(client, scripts, settings.circuit)
        router = ProviderRouter(
            providers,
            settings.routes,
            {name: own.routes for name, own in settings.apps.items() if own.routes},
            breaker,
            settings.send_deadline,
            settings.send_attempt_timeout,
        )
        abuse = AbuseService(
            policies=AppPolicies(settings),
            throttle=Throttle(storage),
            blocks=BlockStore(client),
            velocity=PrefixVelocity(client, scripts),
            conversion=ConversionGuard(storage),
            http=http,
            pepper=settings.secret_pepper,
        )
        stats = Stats(client)
        targets = {
            name: EventTarget(own.events_url, own.events_secret or "", own.events_allow_private)
            for name, own in settings.apps.items()
            if own.events_url
        }
        events = EventBus(targets)
        dispatcher = EventDispatcher(
            client, scripts, http, targets,
            max_attempts=settings.events_max_attempts,
            backoff=settings.events_backoff,
            claim_after=settings.events_claim_after,
            allow_http=settings.env != "prod",
        )  # fmt: skip
        dispatching = asyncio.create_task(dispatcher.run()) if targets else None
        app.state.events = events
        app.state.deliveries = DeliveryService(
            client=client, scripts=scripts, stats=stats, events=events,
            providers=settings.providers, pepper=settings.secret_pepper,
            callback_ips=settings.callback_ips,
            public_url=settings.public_url,
        )  # fmt: skip
        app.state.provider_directory = ProviderDirectory(
            settings.providers, breaker, http, with_outbox=with_outbox,
            callback_path=app.state.deliveries.callback_path,
        )  # fmt: skip
        app.state.dispatcher = dispatcher
        app.state.redis = client
        app.state.stats = stats
        app.state.outbox = outbox
        app.state.abuse = abuse
        app.state.api_keys = ApiKeyStore(client, bootstrap_key=settings.bootstrap_api_key)
        app.state.verifications = VerificationService(
            client=client,
            scripts=scripts,
            hasher=hasher,
            settings=settings,
            router=router,
            texts=texts,
            idempotency=IdempotencyStore(
                client, scripts, settings.idempotency_ttl, settings.send_deadline
            ),
            abuse=abuse,
            stats=stats,
            events=events,
        )
        try:
            yield
        finally:
            dispatcher.stop()
            if dispatching is not None:
                await asyncio.wait_for(dispatching, timeout=5)
            hasher.close()
            await http.aclose()
            await client.aclose()

    return lifespan


def _from_state(name: str) -> Provide:
    def provide(state: State) -> Any:
        return state[name]

    return Provide(provide, sync_to_thread=False)


def create_app(settings: Settings | None = None) -> Litestar:
    """The otpgate ASGI app for ``settings`` (read from the environment when omitted)."""
    settings = settings or load_settings()
    v1 = Router(
        "/",
        route_handlers=[
            VerificationController,
            AbuseController,
            ProviderController,
            AdminDeliveryController,
        ],
        guards=[authenticate],
    )
    handlers: list[Any] = [v1, CallbackController, HealthController, MetricsController]
    if settings.env in {"dev", "test"}:
        handlers.append(OutboxController)
    return Litestar(
        route_handlers=handlers,
        lifespan=[_lifespan(settings)],
        dependencies={
            "verifications": _from_state("verifications"),
            "redis": _from_state("redis"),
            "outbox": _from_state("outbox"),
            "abuse": _from_state("abuse"),
            "provider_directory": _from_state("provider_directory"),
            "deliveries": _from_state("deliveries"),
            "stats": _from_state("stats"),
            "events": _from_state("events"),
        },
        plugins=[problem_details_plugin(), DocumentedStructs()],
        middleware=[prometheus_config().middleware],
        openapi_config=openapi_config(__version__),
        logging_config=LoggingConfig(
            loggers={
                "otpgate": {"level": "INFO", "handlers": ["queue_listener"], "propagate": False},
                # HTTP clients log every request's URL at INFO; Alibaba's signed query
                # carries the number and the code, so they speak only of problems.
                **{name: {"level": "WARNING"} for name in _QUIET_LIBRARY_LOGGERS},
            },
        ),
        request_max_body_size=settings.max_body_size,
        request_class=JsonSafeRequest,
        state=State({"settings": settings}),
    )


def openapi_document() -> str:
    """The OpenAPI document of the app, as written to ``openapi.json``."""
    app = create_app(load_settings({}, overrides={"redis_url": "redis://unused"}))
    return (
        json.dumps(app.openapi_schema.to_schema(), indent=2, sort_keys=True, ensure_ascii=False)
        + "\n"
    )
