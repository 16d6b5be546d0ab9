"""The texts of a code per locale: the SMS, what a call says, the email."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from app.verify.config import DEFAULT_EMAIL_TEXTS, DEFAULT_TEXTS, DEFAULT_VOICE_TEXTS

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from app.verify.config import EmailText

__all__ = ["DEFAULT_TEXTS", "MessageTexts"]

T = TypeVar("T")


def _of_locale(texts: Mapping[str, T], locale: str) -> T:
    """The text of ``locale``, else of its language, else ``en`` (always there)."""
    language = locale.split("-")[0]
    return next(texts[c] for c in (locale, language, "en") if c in texts)


class MessageTexts:
    """Texts by locale: the defaults, overridden or extended by settings. The SMS texts'
    locales are the ones a request's ``locale`` resolves to; a call's or an email's text
    falls back from there to its language, then ``en``."""

    def __init__(
        self,
        overrides: Mapping[str, str] | None = None,
        voice: Mapping[str, str] | None = None,
        email: Mapping[str, EmailText] | None = None,
    ) -> None:
        self._texts = {**DEFAULT_TEXTS, **(overrides or {})}
        self._voice = {**DEFAULT_VOICE_TEXTS, **(voice or {})}
        self._email = {**DEFAULT_EMAIL_TEXTS, **(email or {})}
        self._by_lower = {locale.lower(): locale for locale in self._texts}

    @property
    def locales(self) -> list[str]:
        return sorted(self._texts)

    def resolve(self, requested: str | None, region: str, also: Iterable[str] = ()) -> str:
        """The locale to use: the one asked for, else its language (``fr-CA`` -> ``fr``,
        ``zh`` finds ``zh-CN``), else ``en``; with none asked for, by the number's region.
        ``also`` are locales with a text elsewhere (an app's approved templates)."""
        known = {**self._by_lower, **{locale.lower(): locale for locale in also}}
        if requested is None:
            return "zh-CN" if region == "CN" and "zh-cn" in known else "en"
        wanted = requested.replace("_", "-").lower()
        if wanted in known:
            return known[wanted]
        language = wanted.split("-")[0]
        if language in known:
            return known[language]
        for lower, locale in sorted(known.items()):
            if lower.startswith(language + "-"):
                return locale
        return "en"  # DEFAULT_TEXTS has it, and settings may override but not remove it

    def text(self, locale: str) -> str:
        """The SMS text of ``locale`` (as :meth:`resolve` found it: the settings' own, or
        an approved template's, then this falls back to its language, then ``en``), its
        variables unfilled."""
        return _of_locale(self._texts, locale)

    def voice(self, locale: str) -> str:
        """What a call says in ``locale``, its variables unfilled."""
        return _of_locale(self._voice, locale)

    def email(self, locale: str) -> EmailText:
        """The email of ``locale``, its variables unfilled."""
        return _of_locale(self._email, locale)
