"""Email over SMTP: the message built purely, what each SMTP failure means, and sends to
a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import aiosmtplib
import msgspec
import pytest

from app.providers.base import OutgoingMessage, SendResult
from app.providers.smtp import SmtpConfig, build_email, create, failure
from tests.stubs.loopback import closed_port_url
from tests.stubs.smtp import SmtpSink, serve_smtp

NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
MESSAGE = OutgoingMessage(
    message_id="msg_01", to="jane@example.com", region="", locale="en",
    text="Your code is 123456.\n", code="123456", minutes=5, channel="email",
    subject="123456 is your Shop code",
)  # fmt: skip


def config(**overrides: Any) -> SmtpConfig:
    fields: dict[str, Any] = {"host": "127.0.0.1", "from_": "Shop <no-reply@shop.example>"}
    return SmtpConfig(**(fields | overrides))


def test_the_email_is_plain_text_from_the_sender_with_our_message_id() -> None:
    email = build_email(MESSAGE, config(), NOW)
    assert email["From"] == "Shop <no-reply@shop.example>"
    assert email["To"] == "jane@example.com"
    assert email["Subject"] == "123456 is your Shop code"
    assert email["Date"] == "Mon, 06 May 2024 07:08:09 +0000"
    assert email["Message-ID"] == "<msg_01@shop.example>"
    assert email["Auto-Submitted"] == "auto-generated"
    assert email.get_content_type() == "text/plain"
    assert email.get_content() == "Your code is 123456.\n"


def test_a_non_ascii_email_is_utf8() -> None:
    chinese = msgspec.structs.replace(
        MESSAGE, subject="验证码：123456", text="您的验证码为123456。\n"
    )
    email = build_email(chinese, config(), NOW)
    assert email["Subject"] == "验证码：123456" and "utf-8" in email.as_string()
    assert email.get_content() == "您的验证码为123456。\n"


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (aiosmtplib.SMTPRecipientRefused(550, "No such user", "jane@example.com"),
         SendResult.failed("permanent", "smtp_550", "No such user")),
        (aiosmtplib.SMTPRecipientsRefused(
            [aiosmtplib.SMTPRecipientRefused(451, "Greylisted", "jane@example.com")]),
         SendResult.failed("retryable", "smtp_451", "Greylisted")),
        (aiosmtplib.SMTPAuthenticationError(535, "Bad credentials"),
         SendResult.failed("account", "smtp_535", "Bad credentials")),
        (aiosmtplib.SMTPSenderRefused(553, "Not your domain", "no-reply@shop.example"),
         SendResult.failed("account", "smtp_553", "Not your domain")),
        (aiosmtplib.SMTPDataError(554, "Spam"), SendResult.failed("permanent", "smtp_554", "Spam")),
        (aiosmtplib.SMTPDataError(452, "Full"), SendResult.failed("retryable", "smtp_452", "Full")),
        (aiosmtplib.SMTPConnectError("refused"),
         SendResult.failed("retryable", "unreachable", "SMTPConnectError")),
        (aiosmtplib.SMTPServerDisconnected("gone"),
         SendResult.failed("retryable", "unreachable", "SMTPServerDisconnected")),
        (aiosmtplib.SMTPTimeoutError("slow"), SendResult.failed("retryable", "timeout", "slow")),
    ],
    ids=["refused", "greylisted", "login", "sender", "spam", "full", "connect", "gone", "slow"],
)  # fmt: skip
def test_each_smtp_failure_has_its_kind(error: aiosmtplib.SMTPException, expected: Any) -> None:
    assert failure(error) == expected


def test_config_needs_an_address_and_both_login_parts() -> None:
    with pytest.raises(ValueError, match="from"):
        config(from_="Shop")
    with pytest.raises(ValueError, match="username"):
        config(username="jane")
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"host": "h", "from": "a@b.c", "security": "ssl"}, SmtpConfig)


async def test_a_real_smtp_server_receives_it() -> None:
    with serve_smtp() as (sink, port):
        result = await create(config(port=port, security="none"), None).send(MESSAGE)  # type: ignore[arg-type]
    assert result == SendResult.ok("<msg_01@shop.example>")
    [received] = sink.received
    assert received.sender == "no-reply@shop.example"
    assert received.recipients == ["jane@example.com"]
    assert received.message["Subject"] == MESSAGE.subject
    assert received.text.replace("\r\n", "\n") == MESSAGE.text  # CRLF on the wire


async def test_a_refused_recipient_is_permanent_and_starttls_is_required() -> None:
    with serve_smtp(SmtpSink(refuse_recipients={"jane@example.com"})) as (_, port):
        refused = await create(config(port=port, security="none"), None).send(MESSAGE)  # type: ignore[arg-type]
        # the test server offers no STARTTLS: a required upgrade fails, nothing in clear
        plain = await create(config(port=port), None).send(MESSAGE)  # type: ignore[arg-type]
    assert (refused.error_kind, refused.error_code) == ("permanent", "smtp_550")
    assert plain.error_kind == "retryable"


async def test_no_server_is_retryable() -> None:
    port = int(closed_port_url().rsplit(":", 1)[1])
    result = await create(config(port=port, security="none"), None).send(MESSAGE)  # type: ignore[arg-type]
    assert (result.error_kind, result.error_code) == ("retryable", "unreachable")
