"""Settings of verifications (structs and constants only: settings compose them): the
default message texts, the argon2id cost, the rules one app's verifications follow."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

import msgspec

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["DEFAULT_TEXTS", "Argon2Settings", "Policy", "ResendPolicy", "check_texts"]

#: The SMS text per locale when ``[messages]`` does not replace it.
DEFAULT_TEXTS: Mapping[str, str] = {
    "en": "Your verification code is {code}. It expires in {minutes} minutes. "
    "Do not share it with anyone.",
    "zh-CN": "您的验证码为{code}，{minutes}分钟内有效，请勿泄露。",
}

ResendPolicy = Literal["replace", "keep"]


def check_texts(messages: Mapping[str, str]) -> None:
    """Every text has ``{code}`` and no variable but code, minutes and app_name.

    Raises:
        ValueError: which locale's text is wrong, and how.
    """
    for locale, text in messages.items():
        if "{code}" not in text:
            raise ValueError(f"messages.{locale} must contain {{code}}")
        try:  # a variable of another name would fail every send in that locale
            text.format(code="0", minutes=1, app_name="")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"messages.{locale}: {exc!r} is not {{code}}, {{minutes}} or {{app_name}}"
            ) from exc


class Argon2Settings(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """argon2id parameters for code hashes (defaults: OWASP's minimum recommendation)."""

    time_cost: Annotated[int, msgspec.Meta(ge=1)] = 2
    memory_cost: Annotated[int, msgspec.Meta(ge=8)] = 19456  # KiB
    parallelism: Annotated[int, msgspec.Meta(ge=1)] = 1


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
