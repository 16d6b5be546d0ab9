"""Settings of one app (``[apps.<name>]``): its overrides of the verification policy, and
what only an app has (a display name, a quota, events, autofill lines).

A settings-part module: settings compose it, and the apps' run-time changes
(:mod:`app.apps.registry`) are validated against it.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from app.abuse.config import Quota
from app.channels import OtherChannel
from app.sensitive import Secret
from app.verify.config import FallbackStep, ResendPolicy, fallback_plan

__all__ = ["AppSettings", "CodeLength", "Count", "Seconds"]

Seconds = Annotated[float, msgspec.Meta(gt=0)]
Count = Annotated[int, msgspec.Meta(ge=1, le=100)]
CodeLength = Annotated[int, msgspec.Meta(ge=4, le=10)]
#: A host name in lower case, as WebOTP compares it with the page's origin.
_HOSTNAME = r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"


class AppSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True, omit_defaults=True):
    """Per-app overrides of the verification policy; unset fields use the global value."""

    code_length: CodeLength | None = None
    code_ttl: Seconds | None = None
    max_attempts: Count | None = None
    max_sends: Count | None = None
    resend_cooldown: Annotated[float, msgspec.Meta(ge=0)] | None = None
    resend_policy: ResendPolicy | None = None
    #: The app's name for people, as ``{app_name}`` in texts (default: the app's key).
    display_name: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    #: Fields of ``[limits]`` and ``[abuse]`` that differ for this app.
    limits: dict[str, Any] = msgspec.field(default_factory=dict)
    abuse: dict[str, Any] = msgspec.field(default_factory=dict)
    #: Routes that differ for this app (by key).
    routes: dict[str, list[str]] = msgspec.field(default_factory=dict)
    #: Routes of the other channels that differ for this app (by channel, then key).
    channel_routes: dict[OtherChannel, dict[str, list[str]]] = msgspec.field(default_factory=dict)
    #: Where this app's events go (https; http only outside prod), and their signing secret.
    events_url: str | None = None
    events_secret: Secret | None = None
    #: Allow events to loopback and private addresses (an app on the same network).
    events_allow_private: bool = False
    #: Sends and estimated spend per day and month (none: unlimited).
    quota: Quota | None = None
    #: The site whose pages read the code (WebOTP: ``@<domain> #<code>``, the last line).
    webotp_domain: Annotated[str, msgspec.Meta(pattern=_HOSTNAME, max_length=253)] | None = None
    #: The Android app's 11-character SMS Retriever hash, on a line of its own.
    android_app_hash: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9+/]{11}$")] | None = None
    #: A send may bring a code of its own (``custom_code``) instead of otpgate's random one.
    custom_code_enabled: bool = False
    #: Steps after a message no ``delivered`` report came for in time (the first step is
    #: the send itself), e.g. ``[{channel="sms", wait=30}, {channel="voice"}]``.
    fallback: list[FallbackStep] = msgspec.field(default_factory=list)
    #: For SMS alone: seconds to wait for a receipt before one resend through the next
    #: SMS provider of the route.
    resend_on_no_receipt: Annotated[float, msgspec.Meta(gt=0, le=3600)] | None = None

    def __post_init__(self) -> None:
        fallback_plan(self.fallback, self.resend_on_no_receipt)  # raises on a wrong plan
