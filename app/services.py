"""Every service of a running otpgate, built from its settings and closed in reverse.

:func:`open_services` is the app's lifespan resource: each resource (the tracer, the
Redis client, the hashing threads, the HTTP client, the event dispatcher) is entered on one
:class:`~contextlib.AsyncExitStack`, so whatever fails or times out on the way down, every
other one is still closed. :func:`dependencies` hands the services to route handlers
through Litestar's dependency injection.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any, cast

import httpx
from litestar.di import Provide
from redis.exceptions import RedisClusterException, RedisError

from app import __version__
from app.apps.registry import AppRegistry
from app.assembly import Services, assemble
from app.cores import hashing_threads
from app.delivery.events import EventBus, EventDispatcher, event_targets
from app.store.fallbacks import FallbackStore
from app.store.redis import Scripts, StoreClient, connect
from app.store.templates import TemplateStore
from app.templates.service import TemplateService
from app.tracing.exporter import open_tracer
from app.verify.codes import CodeHasher
from app.verify.fallback import FallbackWorker

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Coroutine

    from litestar.datastructures import State
    from opentelemetry.trace import Tracer

    from app.settings import Settings

__all__ = ["Services", "dependencies", "open_services"]

#: Seconds the event dispatcher may take to finish its round when the app stops.
_DISPATCHER_STOP_TIMEOUT = 5.0
#: Seconds between two reads of the stored apps' version.
APPS_POLL = 1.0


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
        # First in, last out: the spans of everything's stop are exported too.
        tracer = await stack.enter_async_context(open_tracer(settings.tracing, __version__))
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
        resources = (client, scripts, hasher, http, tracer)
        yield await _watched(stack, settings, resources, on_change)


async def _watched(
    stack: contextlib.AsyncExitStack,
    settings: Settings,
    resources: tuple[StoreClient, Scripts, CodeHasher, httpx.AsyncClient, Tracer | None],
    on_change: Callable[[Services], None],
) -> Services:
    """The services, the event dispatcher, and the watch of the stored apps that builds
    the services again (on the same resources) when the apps change."""
    client, scripts, hasher, http, tracer = resources
    apps = AppRegistry(client, settings)
    templates = TemplateService(TemplateStore(scripts), apps, http, settings.template_poll_interval)
    apps.followers.append(templates.book.reload)  # templates change under the apps' version
    with contextlib.suppress(RedisError, RedisClusterException):
        await apps.refresh()
    targets = event_targets(apps.settings)  # updated in place when apps change
    dispatcher = EventDispatcher(
        client, scripts, http, targets,
        max_attempts=settings.events_max_attempts, backoff=settings.events_backoff,
        claim_after=settings.events_claim_after, allow_http=settings.env != "prod",
    )  # fmt: skip
    await stack.enter_async_context(_running(dispatcher.run(), dispatcher.stop))
    await stack.enter_async_context(_running(templates.reviews.watch(), None))
    shared = (apps, client, scripts, hasher, http, EventBus(client, targets), templates, tracer)
    current = [assemble(apps.settings, *shared)]

    def rebuild(new: Settings) -> None:
        targets.clear()
        targets.update(event_targets(new))
        current[0] = assemble(new, *shared)
        on_change(current[0])

    apps.listeners.append(rebuild)
    await stack.enter_async_context(_running(apps.watch(APPS_POLL), None))
    # Fallback steps go from the services in force, whichever built them.
    fallbacks = FallbackWorker(
        FallbackStore(scripts), settings.secret_pepper, lambda: current[0].verifications
    )
    await stack.enter_async_context(_running(fallbacks.run(), fallbacks.stop))
    return current[0]


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
