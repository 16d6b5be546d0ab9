"""Sending a code by email: the message built (pure), sent with aiosmtplib, and what an
SMTP failure means (pure).

The message is a plain-text ``EmailMessage`` (UTF-8) with ``From``, ``To``, ``Subject``,
``Date`` and a ``Message-ID`` made of our message id, which stands for the provider's
id: SMTP names no message of its own. A refused recipient (5xx) is the address's fault,
permanent; a refused login or sender is our account's; a server that cannot be reached,
times out or answers 4xx (greylisting, a full queue) is retryable (RFC 5321 4.2.1).
"""

from __future__ import annotations

import logging
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import TYPE_CHECKING

import aiosmtplib

from app.providers.base import ErrorKind, SendResult

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from app.providers.base import OutgoingMessage
    from app.providers.smtp.config import SmtpConfig

__all__ = ["SmtpProvider", "build_email", "failure", "message_id_of"]

log = logging.getLogger("otpgate.providers")


def message_id_of(message: OutgoingMessage, config: SmtpConfig) -> str:
    """``<msg_…@sender's domain>``: the ``Message-ID``, and our id for the email."""
    domain = parseaddr(config.from_)[1].rpartition("@")[2]
    return f"<{message.message_id}@{domain}>"


def build_email(message: OutgoingMessage, config: SmtpConfig, now: datetime) -> EmailMessage:
    """The email of one message: its subject and text, from the configured sender."""
    email = EmailMessage()
    email["From"] = config.from_
    email["To"] = message.to
    email["Subject"] = message.subject
    email["Date"] = format_datetime(now)
    email["Message-ID"] = message_id_of(message, config)
    email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to it
    email.set_content(message.text)
    return email


def _kind_of_status(code: int) -> ErrorKind:
    return "permanent" if 500 <= code < 600 else "retryable"


def failure(exc: aiosmtplib.SMTPException) -> SendResult:
    """What an aiosmtplib error means for the send."""
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError | aiosmtplib.SMTPSenderRefused):
        return SendResult.failed("account", f"smtp_{exc.code}", exc.message)
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        first = exc.recipients[0]
        return SendResult.failed(_kind_of_status(first.code), f"smtp_{first.code}", first.message)
    if isinstance(exc, aiosmtplib.SMTPTimeoutError):  # before SMTPResponseException: both
        return SendResult.failed("retryable", "timeout", str(exc))
    if isinstance(exc, aiosmtplib.SMTPConnectError | aiosmtplib.SMTPServerDisconnected):
        return SendResult.failed("retryable", "unreachable", type(exc).__name__)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return SendResult.failed(_kind_of_status(exc.code), f"smtp_{exc.code}", exc.message)
    return SendResult.failed("retryable", "smtp_error", type(exc).__name__)


class SmtpProvider:
    """One SMTP account: a connection per message (codes are few; no pool to go stale)."""

    def __init__(self, name: str, config: SmtpConfig, clock: Callable[[], datetime]) -> None:
        self.name = name
        self.config = config
        self._clock = clock

    async def send(self, message: OutgoingMessage) -> SendResult:
        config = self.config
        if message.channel != "email":  # start-up checks every route's providers
            return SendResult.failed("retryable", "channel_not_supported", message.channel)
        email = build_email(message, config, self._clock())
        try:
            await aiosmtplib.send(
                email,
                hostname=config.host,
                port=config.port,
                username=config.username,
                password=config.password,
                use_tls=config.security == "tls",
                start_tls=config.security == "starttls",
            )
        except aiosmtplib.SMTPException as exc:
            return failure(exc)
        except OSError as exc:  # refused or unreachable before SMTP began
            return SendResult.failed("retryable", "unreachable", type(exc).__name__)
        return SendResult.ok(message_id_of(message, config))
