"""Calls that read a code: Twilio's Calls API with inline TwiML.

``POST {base_url}/2010-04-01/Accounts/{AccountSid}/Calls.json`` with ``To``, ``From``
and ``Twiml``: ``<Say>`` of the text (its code spelled digit by digit, so the voice reads
"1, 2, 3" and not "one hundred twenty-three"), said ``voice_repeat`` times with a
one-second ``<Pause>`` between, in the locale's language. Twilio answers 201 with the
Call resource (``sid`` ``CA…``) or the same JSON errors as for messages
(https://www.twilio.com/docs/voice/api/call-resource#create-a-call-resource,
https://www.twilio.com/docs/voice/twiml/say).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from xml.sax.saxutils import escape, quoteattr

import httpx

from app.providers.twilio.sending import account_headers, account_url

if TYPE_CHECKING:
    from datetime import datetime

    from app.providers.base import OutgoingMessage
    from app.providers.twilio.config import TwilioConfig

__all__ = ["build_call_request", "say_language", "twiml"]

#: ``<Say language>`` of a locale without a region (Twilio wants a region).
_LANGUAGES = {
    "en": "en-US", "zh": "zh-CN", "fr": "fr-FR", "de": "de-DE", "es": "es-ES",
    "it": "it-IT", "ja": "ja-JP", "ko": "ko-KR", "pt": "pt-BR", "ru": "ru-RU",
}  # fmt: skip


_PAUSE = '<Pause length="1"/>'


def say_language(locale: str, config: TwilioConfig) -> str:
    """The configured language of ``locale``, else the locale itself when it has a region
    (``en-GB``), else its language's usual region (``en`` -> ``en-US``)."""
    if locale in config.voice_languages:
        return config.voice_languages[locale]
    if "-" in locale:
        return locale
    return _LANGUAGES.get(locale, "en-US")


def twiml(text: str, language: str, repeat: int, voice: str | None = None) -> str:
    """The call's TwiML: ``text`` said ``repeat`` times, a second's pause between."""
    attributes = f"language={quoteattr(language)}"
    if voice is not None:
        attributes += f" voice={quoteattr(voice)}"
    say = f"<Say {attributes}>{escape(text)}</Say>"
    return "<Response>" + _PAUSE.join([say] * repeat) + "</Response>"


def build_call_request(
    message: OutgoingMessage, config: TwilioConfig, now: datetime, nonce: str
) -> httpx.Request:
    """The ``Calls.json`` create request. Basic auth needs neither clock nor nonce."""
    language = say_language(message.locale, config)
    form = {
        "To": message.to,
        "From": config.voice_from or config.from_ or "",
        "Twiml": twiml(message.text, language, config.voice_repeat, config.voice_name),
    }
    return httpx.Request(
        "POST", account_url(config, "Calls.json"), data=form, headers=account_headers(config)
    )
