"""A loopback SMTP server (aiosmtpd) that keeps what it receives, for the email channel.

``serve_smtp()`` runs it on a free 127.0.0.1 port for a ``with`` block and yields the
:class:`SmtpSink`; tests steer it through attributes: ``refuse_recipients`` (addresses
answered ``550``), ``greylist`` (every recipient answered ``451``), ``credentials`` (a
``(user, password)`` the client must log in with, AUTH PLAIN/LOGIN over plain text, as a
test may), and read ``received`` (each message parsed, with its envelope).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from app.store.embedded import free_port


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def text(self) -> str:
        body = self.message.get_body(("plain",))
        assert body is not None
        return str(body.get_content())


@dataclass
class SmtpSink:
    refuse_recipients: set[str] = field(default_factory=set)
    greylist: bool = False
    credentials: tuple[str, str] | None = None
    received: list[Received] = field(default_factory=list)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if self.greylist:
            return "451 4.7.1 Greylisted, try again later"
        if address in self.refuse_recipients:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 2.0.0 Ok: queued"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                     auth_data: Any) -> AuthResult:  # fmt: skip
        ok = isinstance(auth_data, LoginPassword) and self.credentials == (
            auth_data.login.decode(),
            auth_data.password.decode(),
        )
        return AuthResult(success=ok, handled=False)


@contextlib.contextmanager
def serve_smtp(sink: SmtpSink | None = None):  # type: ignore[no-untyped-def]
    """Run ``sink`` (a fresh one by default) on loopback; yields ``(sink, port)``."""
    sink = sink or SmtpSink()
    port = free_port()
    controller = Controller(
        sink, hostname="127.0.0.1", port=port, authenticator=sink.authenticate,
        auth_require_tls=False, auth_required=sink.credentials is not None,
    )  # fmt: skip
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()
