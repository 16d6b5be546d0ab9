"""The SMS text of a code, per locale."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.verify.config import DEFAULT_TEXTS

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = ["DEFAULT_TEXTS", "MessageTexts"]


class MessageTexts:
    """Texts by locale: the defaults, overridden or extended by settings."""

    def __init__(self, overrides: Mapping[str, str] | None = None) -> None:
        self._texts = {**DEFAULT_TEXTS, **(overrides or {})}
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
        """The text of ``locale`` (as :meth:`resolve` found it), its variables unfilled."""
        return self._texts[locale]
