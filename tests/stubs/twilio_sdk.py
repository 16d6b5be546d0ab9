"""The official Twilio SDK pointed at an otpgate on loopback.

:class:`LoopbackHttpClient` rewrites Twilio's Verify host to the server's ``/twilio``
and refuses any URL that would leave the machine, so a test can never reach Twilio.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

__all__ = ["LoopbackHttpClient", "sdk_client"]

TWILIO_VERIFY = "https://verify.twilio.com"
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class LoopbackHttpClient(TwilioHttpClient):
    """Twilio's own HTTP client, with ``https://verify.twilio.com`` sent to ``base``."""

    def __init__(self, base: str) -> None:
        super().__init__(timeout=10)
        self.base = base.rstrip("/") + "/twilio"
        self.urls: list[str] = []

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if url.startswith(TWILIO_VERIFY):
            url = self.base + url.removeprefix(TWILIO_VERIFY)
        if urlsplit(url).hostname not in _LOOPBACK:
            raise AssertionError(f"a test tried to reach {url}")
        self.urls.append(url)
        return super().request(method, url, *args, **kwargs)


def sdk_client(base: str, key_id: str, key: str) -> Client:
    """A Twilio ``Client`` whose Account SID and Auth Token are an otpgate key."""
    return Client(key_id, key, http_client=LoopbackHttpClient(base))
