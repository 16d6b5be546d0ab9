"""otpgate settings: one msgspec Struct read once from ``OTPGATE_*`` and a TOML file.

Flat values come from the environment (``OTPGATE_CODE_TTL=120``); structured parts
(per-app overrides, message texts) come from the TOML file named by ``OTPGATE_CONFIG``.
The environment wins over the file. Everything is validated at start, so a typo is a
clear start-up error rather than a failed send later.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from app.abuse.config import AbuseRules, LimitRules, overridden
from app.apps.config import AppSettings, CodeLength, Count, Seconds
from app.channels import Channel, OtherChannel
from app.delivery.config import Prices
from app.factors.config import FactorSettings
from app.providers.accounts import OUTBOX, ProviderConfig, check_accounts, read_accounts
from app.providers.config import CircuitSettings, check_route_keys, every_route, route_tables
from app.redis_url import parse_redis_url
from app.sensitive import Secret, expand_references
from app.settings_env import TABLES_WITH_VARIABLES, environment_values
from app.tracing.config import TracingSettings
from app.verify.config import (
    DEFAULT_TEXTS,
    Argon2Settings,
    EmailText,
    Policy,
    ResendPolicy,
    check_all_texts,
    check_autofill,
    fallback_plan,
)

__all__ = [
    "DEV_PEPPER", "AppSettings", "Argon2Settings", "ConfigError", "Policy", "Settings",
    "load_settings",
]  # fmt: skip

#: The pepper used when none is configured. Fine for a laptop, refused in prod.
DEV_PEPPER = "otpgate-dev-pepper-do-not-use-in-production"

Environment = Literal["dev", "test", "prod"]


class ConfigError(ValueError):
    """The configuration cannot be used; the message says what to change."""


class Settings(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Every setting of otpgate. Environment name: ``OTPGATE_`` + the upper-cased field."""

    env: Environment = "dev"
    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 8000
    #: Server processes; 0 means one per CPU core (each runs one event loop).
    workers: Annotated[int, msgspec.Meta(ge=0, le=64)] = 0
    #: ``json`` (one object a line) or ``text``; unset: json in prod, text elsewhere.
    log_format: Literal["json", "text"] | None = None
    #: ``redis://``, ``rediss://`` or ``unix://``; unset means the embedded redis-server.
    redis_url: str | None = None
    #: Where the embedded Redis keeps its data and AOF.
    data_dir: str = "./var"
    #: Secret mixed into every code hash and phone-number key; never stored in Redis.
    pepper: Secret | None = None
    #: An API key with every scope for the ``default`` app, created at start.
    bootstrap_api_key: Secret | None = None
    #: SMS provider accounts: ``[providers.<name>]`` with ``type`` (default: the name)
    #: and the fields of that adapter's config struct.
    providers: dict[str, ProviderConfig] = msgspec.field(default_factory=dict)
    #: Provider names to try in order, by calling code (``"+86"``) or ``default``.
    routes: dict[str, list[str]] = msgspec.field(default_factory=lambda: {"default": ["outbox"]})
    #: The other channels' routes (``[channel_routes.voice]``), keyed as ``routes``.
    channel_routes: dict[OtherChannel, dict[str, list[str]]] = msgspec.field(default_factory=dict)
    #: Seconds a send may take across all the providers of its route.
    send_deadline: Seconds = 5.0
    #: Seconds one provider may take before the next one is tried.
    send_attempt_timeout: Seconds = 2.0
    circuit: CircuitSettings = msgspec.field(default_factory=CircuitSettings)
    #: A message without a final delivery report after this many seconds reads "unknown".
    delivery_report_timeout: Seconds = 3600
    #: Source networks (CIDR) each provider's callbacks may come from; unset: any.
    callback_ips: dict[str, list[str]] = msgspec.field(default_factory=dict)
    #: The URL providers reach otpgate at, when a proxy sits in front (for signatures).
    public_url: str | None = None
    events_max_attempts: Annotated[int, msgspec.Meta(ge=1, le=50)] = 8
    #: Seconds before the first retry of an event; doubled each time, with jitter.
    events_backoff: Seconds = 1.0
    #: Seconds an event may sit unacknowledged before another worker delivers it.
    events_claim_after: Seconds = 30
    #: Seconds between two rounds of asking providers how their template reviews stand.
    template_poll_interval: Seconds = 60

    code_length: CodeLength = 6
    code_ttl: Seconds = 300
    max_attempts: Count = 5
    max_sends: Count = 5
    resend_cooldown: Annotated[float, msgspec.Meta(ge=0)] = 60
    resend_policy: ResendPolicy = "replace"
    #: How long a finished or expired verification stays readable (status, statistics).
    retention: Seconds = 86400
    idempotency_ttl: Seconds = 86400

    argon2: Argon2Settings = Argon2Settings()
    #: Threads that hash codes in each worker; 0 shares the cores among the workers.
    hash_threads: Annotated[int, msgspec.Meta(ge=0, le=256)] = 0
    max_body_size: Annotated[int, msgspec.Meta(ge=1024)] = 16384
    redis_timeout: Seconds = 2.0
    #: Replicas that must have each state change a client is told about (WAIT); 0: none.
    redis_wait_replicas: Annotated[int, msgspec.Meta(ge=0, le=16)] = 0
    redis_wait_timeout: Seconds = 0.5

    #: One SMS's price by provider (name or type) and country, over the repository's table.
    prices: Prices = msgspec.field(default_factory=dict)
    price_currency: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")] = "USD"
    outbox_max_messages: Annotated[int, msgspec.Meta(ge=1)] = 1000
    outbox_ttl: Seconds = 3600
    #: Seconds a dashboard session lasts without a request.
    dashboard_session_ttl: Seconds = 3600
    #: OpenTelemetry traces (``[tracing]``, or ``OTPGATE_TRACING_<FIELD>``); off by default.
    tracing: TracingSettings = TracingSettings()

    #: Message text per locale; ``{code}`` and ``{minutes}`` are filled in.
    messages: dict[str, str] = msgspec.field(default_factory=dict)
    #: What a call says per locale (``{code}`` read digit by digit).
    voice_messages: dict[str, str] = msgspec.field(default_factory=dict)
    #: The email per locale: ``subject`` and ``text``.
    email_messages: dict[str, EmailText] = msgspec.field(default_factory=dict)
    limits: LimitRules = msgspec.field(default_factory=LimitRules)
    abuse: AbuseRules = msgspec.field(default_factory=AbuseRules)
    apps: dict[str, AppSettings] = msgspec.field(default_factory=dict)
    factors: FactorSettings = msgspec.field(default_factory=FactorSettings)

    def __post_init__(self) -> None:
        if self.env == "prod":
            if not self.pepper or self.pepper == DEV_PEPPER:
                raise ConfigError("OTPGATE_PEPPER must be set to a secret of your own in prod")
            if len(self.pepper) < 32:
                raise ConfigError("OTPGATE_PEPPER must be at least 32 characters in prod")
            if self.bootstrap_api_key is not None and len(self.bootstrap_api_key) < 32:
                raise ConfigError(
                    "OTPGATE_BOOTSTRAP_API_KEY must be at least 32 characters in prod"
                )
            routes = self.routes_by_channel().values()
            if any(OUTBOX in route for channel in routes for route in channel):
                raise ConfigError(
                    "the outbox provider only captures messages; it is refused in prod "
                    "(configure [providers] and [routes])"
                )
        if self.redis_url:
            try:
                parse_redis_url(self.redis_url)
            except ValueError as exc:
                raise ConfigError(f"redis_url: {exc}") from exc
        if self.redis_wait_replicas and self.redis_wait_timeout >= self.redis_timeout:
            raise ConfigError("redis_wait_timeout must be shorter than redis_timeout")
        try:
            check_all_texts(self.messages, self.voice_messages, self.email_messages)
            for name in self.apps:
                check_autofill(name, self.policy_for(name), {**DEFAULT_TEXTS, **self.messages})
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        for app in self.apps.values():  # every app's merged rules must validate
            overridden(self.limits, app.limits)
            overridden(self.abuse, app.abuse)
        self._check_routes()
        for name, app in self.apps.items():
            if app.events_url is None:
                continue
            if not app.events_secret or len(app.events_secret) < 16:
                raise ConfigError(f"apps.{name}.events_secret: 16 characters or more are needed")
            if self.env == "prod" and not app.events_url.startswith("https://"):
                raise ConfigError(f"apps.{name}.events_url must be https in prod")

    def _check_routes(self) -> None:
        own = [(self.routes, self.channel_routes)]
        try:
            check_route_keys([*own, *((a.routes, a.channel_routes) for a in self.apps.values())])
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        if not self.routes.get("default"):
            raise ConfigError("routes: a non-empty 'default' route is required")
        check_accounts(
            self.providers, self.routes_by_channel(), sorted({*DEFAULT_TEXTS, *self.messages})
        )
        for name in self.apps:  # a step on a channel with no route could never go
            tables = self.channel_tables(name)
            for step in self.policy_for(name).fallback:
                if not tables.get(step.channel):
                    raise ConfigError(
                        f"apps.{name}.fallback: {step.channel} has no route here "
                        f"(add [channel_routes.{step.channel}])"
                    )

    def channel_tables(self, app: str | None = None) -> dict[Channel, dict[str, list[str]]]:
        """Every channel's routes (of ``app``: its own keys over the global ones); a
        channel without any goes to the outbox outside prod, and has none in prod."""
        own = self.apps.get(app or "", AppSettings())
        mine, outbox = (own.routes, own.channel_routes), self.env != "prod"
        return route_tables(self.routes, self.channel_routes, *mine, outbox=outbox)

    def routes_by_channel(self) -> dict[str, list[list[str]]]:
        """By channel, every route configured (the global ones and the apps')."""
        return every_route(self.channel_tables(name) for name in (None, *self.apps))

    @property
    def json_logs(self) -> bool:
        """Whether log lines are JSON: ``log_format``, else JSON in prod only."""
        return (self.log_format or ("json" if self.env == "prod" else "text")) == "json"

    @property
    def secret_pepper(self) -> bytes:
        """The pepper as bytes (the dev default outside prod)."""
        return (self.pepper or DEV_PEPPER).encode()

    def policy_for(self, app: str) -> Policy:
        """The verification rules for ``app``: its overrides on top of the globals."""
        own = self.apps.get(app, AppSettings())
        cooldown = own.resend_cooldown
        return Policy(
            code_length=own.code_length or self.code_length,
            code_ttl=own.code_ttl or self.code_ttl,
            max_attempts=own.max_attempts or self.max_attempts,
            max_sends=own.max_sends or self.max_sends,
            resend_cooldown=self.resend_cooldown if cooldown is None else cooldown,
            resend_policy=own.resend_policy or self.resend_policy,
            app_name=own.display_name or app,
            webotp_domain=own.webotp_domain,
            android_app_hash=own.android_app_hash,
            custom_code_enabled=own.custom_code_enabled,
            fallback=fallback_plan(own.fallback, own.resend_on_no_receipt),
        )


#: The TOML tables whose ``"${NAME}"`` values are read from the environment (secrets).
_WITH_SECRETS = frozenset({"providers", "apps", "factors", "tracing"})


def load_settings(
    environ: dict[str, str] | None = None, *, overrides: dict[str, Any] | None = None
) -> Settings:
    """Read the TOML file (``OTPGATE_CONFIG``) and the environment into :class:`Settings`.

    Args:
        environ: the environment to read (``os.environ`` when omitted).
        overrides: values that win over both (used by the CLI's flags and by tests).

    Raises:
        ConfigError: a value is missing, of the wrong type, or not allowed.
    """
    environ = dict(os.environ if environ is None else environ)
    values: dict[str, Any] = {}
    if config_path := environ.get("OTPGATE_CONFIG"):
        try:
            values = tomllib.loads(Path(config_path).read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read OTPGATE_CONFIG={config_path}: {exc}") from exc
    for table in _WITH_SECRETS & set(values):
        try:
            values[table] = expand_references(values[table], environ, table)
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
    try:
        env_values = environment_values(environ, Settings)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    for table in TABLES_WITH_VARIABLES.keys() & env_values.keys():  # over the file's fields
        env_values[table] = {**values.get(table, {}), **env_values[table]}
    values.update(env_values)
    values.update(overrides or {})
    try:
        if "providers" in values:
            values["providers"] = read_accounts(values["providers"])
        return msgspec.convert(values, Settings, strict=False)
    except (msgspec.ValidationError, ValueError) as exc:  # and __post_init__'s ConfigError
        raise ConfigError(f"invalid setting: {exc}") from exc
