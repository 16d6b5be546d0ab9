"""otpgate settings: one msgspec Struct read once from ``OTPGATE_*`` and a TOML file.

Flat values come from the environment (``OTPGATE_CODE_TTL=120``); structured parts
(per-app overrides, message texts) come from the TOML file named by ``OTPGATE_CONFIG``.
The environment wins over the file. Everything is validated at start, so a typo is a
clear start-up error rather than a failed send later.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
import msgspec.inspect as mi

from app.abuse.config import AbuseRules, LimitRules, overridden
from app.apps.config import AppSettings, CodeLength, Count, Seconds
from app.delivery.config import Prices
from app.factors.config import FactorSettings
from app.providers.accounts import OUTBOX, ProviderConfig, check_accounts, read_accounts
from app.providers.config import CircuitSettings
from app.redis_url import parse_redis_url
from app.sensitive import Secret, expand_references
from app.verify.config import (
    DEFAULT_TEXTS,
    Argon2Settings,
    Policy,
    ResendPolicy,
    check_autofill,
    check_texts,
)

__all__ = [
    "DEV_PEPPER",
    "AppSettings",
    "Argon2Settings",
    "ConfigError",
    "Policy",
    "Settings",
    "load_settings",
]

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

    #: Message text per locale; ``{code}`` and ``{minutes}`` are filled in.
    messages: dict[str, str] = msgspec.field(default_factory=dict)
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
            if any(OUTBOX in route for route in self.all_routes()):
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
            check_texts(self.messages)
            for name in self.apps:
                check_autofill(name, self.policy_for(name), {**DEFAULT_TEXTS, **self.messages})
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        for app in self.apps.values():  # every app's merged rules must validate
            overridden(self.limits, app.limits)
            overridden(self.abuse, app.abuse)
        for key in (*self.routes, *(k for app in self.apps.values() for k in app.routes)):
            if key != "default" and not (key.startswith("+") and key[1:].isdigit()):
                raise ConfigError(f"routes: {key!r} is neither 'default' nor a calling code (+86)")
        if not self.routes.get("default"):
            raise ConfigError("routes: a non-empty 'default' route is required")
        check_accounts(self.providers, self.all_routes(), sorted({*DEFAULT_TEXTS, *self.messages}))
        for name, app in self.apps.items():
            if app.events_url is None:
                continue
            if not app.events_secret or len(app.events_secret) < 16:
                raise ConfigError(f"apps.{name}.events_secret: 16 characters or more are needed")
            if self.env == "prod" and not app.events_url.startswith("https://"):
                raise ConfigError(f"apps.{name}.events_url must be https in prod")

    def all_routes(self) -> list[list[str]]:
        return [
            *self.routes.values(),
            *(r for app in self.apps.values() for r in app.routes.values()),
        ]

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
        return Policy(
            code_length=own.code_length or self.code_length,
            code_ttl=own.code_ttl or self.code_ttl,
            max_attempts=own.max_attempts or self.max_attempts,
            max_sends=own.max_sends or self.max_sends,
            resend_cooldown=(
                self.resend_cooldown if own.resend_cooldown is None else own.resend_cooldown
            ),
            resend_policy=own.resend_policy or self.resend_policy,
            app_name=own.display_name or app,
            webotp_domain=own.webotp_domain,
            android_app_hash=own.android_app_hash,
        )


def _is_structured(info: mi.Type) -> bool:
    """A table of the TOML file (a struct or a mapping), not one value an env var holds."""
    return isinstance(info, mi.StructType | mi.DictType) or (
        isinstance(info, mi.Metadata) and _is_structured(info.type)
    )


_FLAT_FIELDS = {
    field.name
    for field in mi.type_info(Settings).fields  # type: ignore[attr-defined]
    if not _is_structured(field.type)
}
_ENV_PREFIX = "OTPGATE_"
#: ``OTPGATE_*`` variables that are not settings: the TOML file's path, and the Redis
#: the test suite may be pointed at.
_OTHER_VARIABLES = frozenset({"config", "test_redis_url"})
_ARGON2_FIELDS = frozenset(Argon2Settings.__struct_fields__)
#: The TOML tables whose ``"${NAME}"`` values are read from the environment (secrets).
_WITH_SECRETS = frozenset({"providers", "apps", "factors"})


def _from_environment(environ: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    argon2: dict[str, Any] = {}
    for key, value in environ.items():
        if not key.startswith(_ENV_PREFIX):
            continue
        name = key[len(_ENV_PREFIX) :].lower()
        if name in _FLAT_FIELDS:
            values[name] = value
        elif name.startswith("argon2_") and name.removeprefix("argon2_") in _ARGON2_FIELDS:
            argon2[name.removeprefix("argon2_")] = value
        elif name not in _OTHER_VARIABLES:
            raise ConfigError(_unknown_variable(key, name))
    if argon2:
        values["argon2"] = argon2
    return values


def _unknown_variable(key: str, name: str) -> str:
    """Why ``key`` is refused, with the closest valid name: a typo must not be ignored."""
    if name in Settings.__struct_fields__:
        return f"{key}: `{name}` is set in the TOML file (OTPGATE_CONFIG), not the environment"
    valid = [
        *_FLAT_FIELDS,
        *_OTHER_VARIABLES,
        *(f"argon2_{field}" for field in _ARGON2_FIELDS),
    ]
    close = difflib.get_close_matches(name, valid, n=1, cutoff=0.6)
    hint = f"; did you mean {_ENV_PREFIX}{close[0].upper()}?" if close else ""
    return f"{key} is not an otpgate setting{hint}"


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
    env_values = _from_environment(environ)
    if "argon2" in env_values:
        env_values["argon2"] = {**values.get("argon2", {}), **env_values["argon2"]}
    values.update(env_values)
    values.update(overrides or {})
    try:
        if "providers" in values:
            values["providers"] = read_accounts(values["providers"])
        return msgspec.convert(values, Settings, strict=False)
    except (msgspec.ValidationError, ValueError) as exc:  # and __post_init__'s ConfigError
        raise ConfigError(f"invalid setting: {exc}") from exc
