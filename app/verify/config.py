"""Settings of verifications (settings compose them): the default message texts, the
argon2id cost, the rules one app's verifications follow, and the checks start-up runs
on the texts."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Literal

import msgspec

from app.channels import PhoneChannel
from app.sms import autofilled, retriever_bytes

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "DEFAULT_EMAIL_TEXTS", "DEFAULT_TEXTS", "DEFAULT_VOICE_TEXTS", "RETRIEVER_MAX_BYTES",
    "Argon2Settings", "EmailText", "FallbackStep", "Policy", "ResendPolicy", "check_all_texts",
    "check_autofill", "check_texts", "fallback_plan",
]  # fmt: skip

#: The SMS text per locale when ``[messages]`` does not replace it.
DEFAULT_TEXTS: Mapping[str, str] = {
    "en": "Your verification code is {code}. It expires in {minutes} minutes. "
    "Do not share it with anyone.",
    "zh-CN": "您的验证码为{code}，{minutes}分钟内有效，请勿泄露。",
}
#: What a call says per locale (``[voice_messages]``); ``{code}`` is read digit by digit.
DEFAULT_VOICE_TEXTS: Mapping[str, str] = {
    "en": "Your verification code is {code}.",
    "zh-CN": "您的验证码是{code}。",
}


class EmailText(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One locale's email: its subject and its plain text, both with the text variables."""

    subject: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    text: Annotated[str, msgspec.Meta(min_length=1)]


#: The email per locale when ``[email_messages]`` does not replace it.
DEFAULT_EMAIL_TEXTS: Mapping[str, EmailText] = {
    "en": EmailText(
        subject="{code} is your {app_name} verification code",
        text="Your {app_name} verification code is {code}.\n\nIt expires in {minutes} "
        "minutes. If you did not ask for it, ignore this email; do not share the code "
        "with anyone.\n",
    ),
    "zh-CN": EmailText(
        subject="{app_name}验证码：{code}",
        text="您的{app_name}验证码为{code}，{minutes}分钟内有效。如非本人操作，请忽略本邮件，"
        "请勿向任何人泄露验证码。\n",
    ),
}

ResendPolicy = Literal["replace", "keep"]


def check_texts(messages: Mapping[str, str], where: str = "messages", *, code: bool = True) -> None:
    """Every text has ``{code}`` (unless ``code`` is false: an email's subject need not)
    and no variable but code, minutes and app_name; ``where`` names the setting.

    Raises:
        ValueError: which locale's text is wrong, and how.
    """
    for locale, text in messages.items():
        if code and "{code}" not in text:
            raise ValueError(f"{where}.{locale} must contain {{code}}")
        try:  # a variable of another name would fail every send in that locale
            text.format(code="0", minutes=1, app_name="")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"{where}.{locale}: {exc!r} is not {{code}}, {{minutes}} or {{app_name}}"
            ) from exc


def check_all_texts(
    messages: Mapping[str, str], voice: Mapping[str, str], email: Mapping[str, EmailText]
) -> None:
    """The SMS texts, what calls say and the emails, as :func:`check_texts` checks one set.

    Raises:
        ValueError: which text is wrong, and how.
    """
    check_texts(messages)
    check_texts(voice, "voice_messages")
    check_texts({locale: email.text for locale, email in email.items()}, "email_messages")
    subjects = {locale: email.subject for locale, email in email.items()}
    check_texts(subjects, "email_messages", code=False)


class Argon2Settings(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """argon2id parameters for code hashes (defaults: OWASP's minimum recommendation)."""

    time_cost: Annotated[int, msgspec.Meta(ge=1)] = 2
    memory_cost: Annotated[int, msgspec.Meta(ge=8)] = 19456  # KiB
    parallelism: Annotated[int, msgspec.Meta(ge=1)] = 1


class FallbackStep(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One step of an app's fallback plan: the channel of its message, and the seconds
    to wait for that message's ``delivered`` report before the next step goes (the last
    step's wait is not needed)."""

    channel: PhoneChannel
    wait: Annotated[float, msgspec.Meta(gt=0, le=3600)] | None = None


def fallback_plan(
    steps: list[FallbackStep], resend_on_no_receipt: float | None
) -> tuple[FallbackStep, ...]:
    """An app's plan: its ``fallback`` steps, or for ``resend_on_no_receipt`` an SMS
    and, when no receipt came in that many seconds, one more through the next provider.

    Raises:
        ValueError: both are set, a plan of one step, or a step before the last that
            does not say how long to wait.
    """
    if resend_on_no_receipt is not None:
        if steps:
            raise ValueError("set fallback or resend_on_no_receipt, not both")
        return (FallbackStep("sms", resend_on_no_receipt), FallbackStep("sms"))
    if len(steps) == 1:
        raise ValueError("fallback needs two steps at least (the first is the send itself)")
    for position, step in enumerate(steps[:-1]):
        if step.wait is None:
            raise ValueError(f"fallback[{position}] needs `wait` (seconds), a step follows it")
    return tuple(steps)


class Policy(msgspec.Struct, frozen=True):
    """The verification rules that apply to one app (globals merged with its overrides)."""

    code_length: int
    code_ttl: float
    max_attempts: int
    max_sends: int
    resend_cooldown: float
    resend_policy: ResendPolicy
    #: What ``{app_name}`` in a text becomes: the app's display name, else its name.
    app_name: str = ""
    #: The autofill lines every message ends with (see :func:`app.sms.autofilled`).
    webotp_domain: str | None = None
    android_app_hash: str | None = None
    #: Whether a send may bring its own code (``custom_code``).
    custom_code_enabled: bool = False
    #: What follows a message no ``delivered`` report came for (see :func:`fallback_plan`).
    fallback: tuple[FallbackStep, ...] = ()

    @property
    def minutes(self) -> int:
        """What ``{minutes}`` in a text becomes: the code's lifetime, rounded up."""
        return max(1, math.ceil(self.code_ttl / 60))

    def message(self, text: str, code: str) -> str:
        """A locale's ``text`` for ``code``, with the app's autofill lines."""
        body = self.filled(text, code)
        return autofilled(body, code, self.webotp_domain, self.android_app_hash)

    def filled(self, text: str, code: str) -> str:
        """``text`` with its variables filled (no autofill lines: a call, an email)."""
        return text.format(code=code, minutes=self.minutes, app_name=self.app_name)

    def spoken(self, text: str, code: str) -> str:
        """What a call says: ``text`` with the code's digits apart ("1, 2, 3"), so a
        voice reads them one by one and not as a number."""
        return self.filled(text, ", ".join(code))


#: Android's SMS Retriever reads a message of at most this many bytes.
RETRIEVER_MAX_BYTES = 140


def check_autofill(app: str, policy: Policy, texts: Mapping[str, str]) -> None:
    """With an Android app hash, every locale's message must stay within what the SMS
    Retriever reads, or the app would never see it.

    Raises:
        ValueError: the first locale whose message is too long, and by how much.
    """
    if policy.android_app_hash is None:
        return
    for locale, text in sorted(texts.items()):
        size = retriever_bytes(policy.message(text, "0" * policy.code_length))
        if size > RETRIEVER_MAX_BYTES:
            raise ValueError(
                f"apps.{app}.android_app_hash: the {locale} message is {size} bytes with its "
                f"autofill lines; the SMS Retriever reads {RETRIEVER_MAX_BYTES} at most "
                "(shorten messages.{locale})"
            )
