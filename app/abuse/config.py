"""Settings of the throttles and anti-abuse rules (structs only: settings compose them).

The global ``[limits]`` and ``[abuse]`` tables hold the defaults; ``[apps.<name>.limits]``
and ``[apps.<name>.abuse]`` override single fields for one app (:func:`overridden`).
"""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

import limits
import msgspec

from app.sms import keyword

__all__ = [
    "START_WORDS", "STOP_WORDS", "AbuseRules", "LimitRules", "NumberType", "Quota", "TestNumber",
    "overridden",
]  # fmt: skip

Rates = list[str]
Positive = Annotated[float, msgspec.Meta(gt=0)]
NumberType = Literal[
    "fixed_line", "mobile", "fixed_line_or_mobile", "toll_free", "premium_rate", "shared_cost",
    "voip", "personal_number", "pager", "uan", "voicemail", "unknown",
]  # fmt: skip


class LimitRules(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Rate limits, each a list in the `limits` notation (``"5/hour"``, ``"3 per 10 seconds"``).

    An empty list turns a rule off.
    """

    #: Sends to one number (Alibaba Cloud's verification-code defaults).
    send_per_number: Rates = msgspec.field(default_factory=lambda: ["1/minute", "5/hour", "10/day"])
    #: Sends requested for one end-user IP (``client_ip``).
    send_per_ip: Rates = msgspec.field(default_factory=lambda: ["20/hour", "100/day"])
    #: Sends of the whole app (a budget).
    send_per_app: Rates = msgspec.field(default_factory=list)
    #: Sends to one country, per app.
    send_per_country: Rates = msgspec.field(default_factory=list)
    #: Wrong codes for one number across all its verifications.
    wrong_checks_per_number: Rates = msgspec.field(default_factory=lambda: ["20/hour"])
    #: Checks from one end-user IP.
    checks_per_ip: Rates = msgspec.field(default_factory=lambda: ["100/hour"])
    #: IPv6 client addresses count per network of this prefix length.
    ipv6_prefix: Annotated[int, msgspec.Meta(ge=32, le=128)] = 64

    def __post_init__(self) -> None:
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if isinstance(value, list):
                for rate in value:
                    try:
                        count = limits.parse(rate).amount
                    except ValueError:
                        raise ValueError(f"limits.{name}: cannot read rate {rate!r}") from None
                    if count < 1:  # a moving window of 0 never filled; a budget of 0 refused all
                        raise ValueError(f"limits.{name}: {rate!r} allows no event; use at least 1")


class TestNumber(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A number that gets a fixed code and no SMS until ``until`` (store reviews, monitoring)."""

    number: str
    code: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{4,10}$")]
    until: datetime


#: What a reply must be to opt a number out, or back in: Twilio's and the CTIA's English
#: words, and the Chinese carriers' (the "回T退订" / "回N退订" of a mainland SMS).
STOP_WORDS = [
    "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "TD", "T", "N", "退订",
]  # fmt: skip
START_WORDS = ["START", "UNSTOP"]
_MAX_WORD = 40


def _check_words(stop: list[str], start: list[str]) -> None:
    for word in (*stop, *start):
        if not keyword(word) or len(word) > _MAX_WORD:
            raise ValueError(f"abuse: {word!r} is no keyword (1 to {_MAX_WORD} characters)")
    both = {keyword(word) for word in stop} & {keyword(word) for word in start}
    if both:
        raise ValueError(f"abuse: {sorted(both)} both in stop_words and start_words")


class AbuseRules(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Who may receive codes, and the guards against SMS pumping."""

    #: ISO country codes; empty: every country not denied.
    allowed_countries: list[str] = msgspec.field(default_factory=list)
    denied_countries: list[str] = msgspec.field(default_factory=list)
    number_types: list[NumberType] = msgspec.field(
        default_factory=lambda: ["mobile", "fixed_line_or_mobile"]
    )
    #: CIDR networks; a non-empty allow list admits only these client IPs.
    ip_allow: list[str] = msgspec.field(default_factory=list)
    ip_deny: list[str] = msgspec.field(default_factory=list)
    #: Exempt from the pumping guards (your own staff, known-good partners).
    safe_numbers: list[str] = msgspec.field(default_factory=list)
    safe_prefixes: list[str] = msgspec.field(default_factory=list)
    #: Prefix velocity: a prefix is the number without its last ``prefix_digits`` digits;
    #: more than ``prefix_max_numbers`` distinct numbers under one prefix within
    #: ``prefix_window`` seconds block that prefix for ``prefix_block`` seconds.
    prefix_digits: Annotated[int, msgspec.Meta(ge=1, le=6)] = 3
    prefix_max_numbers: Annotated[int, msgspec.Meta(ge=1)] = 10
    prefix_window: Positive = 600
    prefix_block: Positive = 3600
    #: Conversion guard: per country, once ``conversion_min_sends`` verifications were
    #: started within ``conversion_window`` seconds and under ``conversion_min_rate`` of
    #: them were approved, sends to that country are held for ``conversion_hold`` seconds.
    conversion_window: Positive = 3600
    conversion_min_sends: Annotated[int, msgspec.Meta(ge=1)] = 50
    conversion_min_rate: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.2
    conversion_hold: Positive = 900
    #: Pre-send hook: POSTed the normalised request; the send goes ahead only on allow.
    hook_url: str | None = None
    hook_timeout: Positive = 1.0
    hook_fail_open: bool = False
    test_numbers: list[TestNumber] = msgspec.field(default_factory=list)
    #: Inbound SMS that opt a number out of the app's codes, and back in: the whole reply,
    #: compared case- and width-insensitively, white space and punctuation around it ignored.
    stop_words: list[str] = msgspec.field(default_factory=lambda: list(STOP_WORDS))
    start_words: list[str] = msgspec.field(default_factory=lambda: list(START_WORDS))

    def __post_init__(self) -> None:
        _check_words(self.stop_words, self.start_words)
        for network in (*self.ip_allow, *self.ip_deny):
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(f"abuse: {network!r} is not an IP network") from None
        for country in (*self.allowed_countries, *self.denied_countries):
            if len(country) != 2 or not country.isalpha() or not country.isupper():
                raise ValueError(f"abuse: country {country!r} is not an ISO alpha-2 code")


class Quota(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """An app's sends and estimated spend per calendar day and month (UTC).

    Spend is in ``price_currency``, estimated from the price table (``[prices]``). A
    ``hard`` quota refuses the send that would pass it (``429 quota_exceeded``); a
    ``soft`` one lets it through and emits ``quota.exceeded`` once per period.
    """

    sends_per_day: Annotated[int, msgspec.Meta(ge=1)] | None = None
    sends_per_month: Annotated[int, msgspec.Meta(ge=1)] | None = None
    spend_per_day: Positive | None = None
    spend_per_month: Positive | None = None
    mode: Literal["hard", "soft"] = "hard"


RulesT = TypeVar("RulesT", LimitRules, AbuseRules)


def overridden(base: RulesT, fields: dict[str, Any]) -> RulesT:
    """``base`` with some of its fields replaced, validated as a whole.

    Raises:
        ValueError: the result does not validate.
    """
    if not fields:
        return base
    try:
        return msgspec.convert({**msgspec.to_builtins(base), **fields}, type(base))
    except msgspec.ValidationError as exc:
        raise ValueError(f"app override: {exc}") from None
