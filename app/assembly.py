"""One set of otpgate's services, built from settings on resources that outlive it (the
Redis client, the scripts, the hashing threads, the HTTP client, the event bus): at start,
and again whenever the stored apps change (:mod:`app.services`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.abuse.guards import BlockStore
from app.abuse.rules import AppPolicies
from app.abuse.service import AbuseService
from app.apps.keys import ApiKeyStore
from app.apps.numbers import NumberLists
from app.apps.sessions import Sessions
from app.delivery.attempts import AttemptLog
from app.delivery.callbacks import Callbacks
from app.delivery.ledger import Ledger
from app.delivery.prices import PriceTable
from app.delivery.stats import Stats
from app.delivery.usage import UsageReader
from app.factors.keyring import Keyring
from app.factors.service import FactorService
from app.providers.api import ProviderDirectory
from app.providers.circuit import CircuitBreaker
from app.providers.outbox import OutboxProvider
from app.providers.registry import OUTBOX, build_providers
from app.providers.router import ProviderRouter
from app.store.factors import FactorStore
from app.store.fallbacks import FallbackStore
from app.store.idempotency import IdempotencyEntries
from app.store.keys import Keys
from app.store.redis import Readiness, Scripts, StoreClient
from app.store.reports import ReportStore
from app.store.verifications import VerificationStore
from app.twilio_verify.service import TwilioVerify
from app.verify.checking import CheckFlow
from app.verify.fallback import FallbackPlans
from app.verify.idempotency import IdempotencyStore
from app.verify.sending import SendFlow
from app.verify.service import VerificationService
from app.verify.texts import MessageTexts

if TYPE_CHECKING:
    import httpx
    from opentelemetry.trace import Tracer

    from app.apps.registry import AppRegistry
    from app.delivery.events import EventBus
    from app.delivery.inbound import InboundService
    from app.delivery.optouts import OptOuts
    from app.delivery.service import DeliveryService
    from app.providers.base import Provider
    from app.settings import Settings
    from app.templates.book import TemplateBook
    from app.templates.service import TemplateService
    from app.verify.codes import CodeHasher

__all__ = ["Services", "assemble"]


@dataclass(frozen=True)
class Services:
    """What route handlers and guards use (and the edge: the tracer of request spans)."""

    verifications: VerificationService
    abuse: AbuseService
    deliveries: DeliveryService
    inbound: InboundService
    opt_outs: OptOuts
    provider_directory: ProviderDirectory
    stats: Stats
    events: EventBus
    outbox: OutboxProvider
    api_keys: ApiKeyStore
    readiness: Readiness
    apps: AppRegistry
    usage: UsageReader
    numbers: NumberLists
    factors: FactorService
    templates: TemplateService
    twilio: TwilioVerify
    sessions: Sessions
    #: The request spans' tracer (None: tracing off); the edge starts each request's span.
    tracer: Tracer | None


def assemble(
    settings: Settings,
    apps: AppRegistry,
    client: StoreClient,
    scripts: Scripts,
    hasher: CodeHasher,
    http: httpx.AsyncClient,
    events: EventBus,
    templates: TemplateService,
    tracer: Tracer | None,
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
    verifications = _verifications(
        settings, scripts, store, hasher, abuse, router, ledger, templates.book
    )
    api_keys, sessions = _access(settings, client, apps)
    usage, numbers = UsageReader(client, keys, settings), NumberLists(apps, client, scripts, keys)
    twilio = TwilioVerify(settings, apps, verifications, numbers, AttemptLog(client), usage, keys)
    return Services(
        verifications=verifications, abuse=abuse, deliveries=callbacks.deliveries,
        inbound=callbacks.inbound, opt_outs=callbacks.opt_outs,
        provider_directory=directory, stats=stats, events=events, outbox=outbox,
        api_keys=api_keys, readiness=Readiness(client), apps=apps, usage=usage,
        numbers=numbers, factors=_factors(settings, scripts, keys), templates=templates,
        twilio=twilio, sessions=sessions, tracer=tracer,
    )  # fmt: skip


def _access(
    settings: Settings, client: StoreClient, apps: AppRegistry
) -> tuple[ApiKeyStore, Sessions]:
    """The API keys, and the dashboard's sessions that read them again on each request."""
    api_keys = ApiKeyStore(
        client, bootstrap_key=settings.bootstrap_api_key, pepper=settings.secret_pepper
    )
    return api_keys, Sessions(client, api_keys, apps, settings.dashboard_session_ttl)


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
    book: TemplateBook,
) -> VerificationService:
    idempotency = IdempotencyStore(
        IdempotencyEntries(scripts), store, settings.idempotency_ttl, settings.send_deadline
    )
    sending = SendFlow(
        settings=settings, store=store, hasher=hasher, abuse=abuse, router=router,
        texts=MessageTexts(settings.messages, settings.voice_messages, settings.email_messages),
        idempotency=idempotency, ledger=ledger,
        prices=PriceTable(_types(settings), settings.prices, settings.price_currency), book=book,
        plans=FallbackPlans(FallbackStore(scripts), ledger, settings.secret_pepper),
    )  # fmt: skip
    checking = CheckFlow(
        store=store, hasher=hasher, abuse=abuse, ledger=ledger,
        retention_ms=int(settings.retention * 1000),
    )  # fmt: skip
    return VerificationService(
        settings=settings,
        store=store,
        sending=sending,
        checking=checking,
        ledger=ledger,
        reports=ReportStore(scripts),  # where the dev outbox finds each message's verification
    )


def _router(
    settings: Settings, providers: dict[str, Provider], breaker: CircuitBreaker
) -> ProviderRouter:
    routes = {name: settings.channel_tables(name) for name in (None, *settings.apps)}
    deadlines = (settings.send_deadline, settings.send_attempt_timeout)
    return ProviderRouter(providers, routes, breaker, *deadlines, types=_types(settings))


def _types(settings: Settings) -> dict[str, str]:
    """Each account's vendor type (its config struct's tag), by account name."""
    return {name: str(type(own).__struct_config__.tag) for name, own in settings.providers.items()}


def _factors(settings: Settings, scripts: Scripts, keys: Keys) -> FactorService:
    """TOTP factors, their secrets sealed under ``factors.key`` (else the pepper, under a
    label of its own) and opened under the old keys too."""
    own = settings.factors
    secrets = [own.key.encode() if own.key else settings.secret_pepper]
    keyring = Keyring([*secrets, *(old.encode() for old in own.old_keys)])
    return FactorService(FactorStore(scripts), keys, keyring, settings)
