"""An SMTP server that sends codes by email: ``[providers.<name>]`` with ``type = "smtp"``."""

from __future__ import annotations

from email.utils import parseaddr
from typing import Annotated, ClassVar, Literal

import msgspec

from app.sensitive import Secret

__all__ = ["SmtpConfig"]


class SmtpConfig(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="type", tag="smtp"
):
    """A mail server (your own, or a provider's submission endpoint) and the sender.

    Attributes:
        host: the server's host name.
        from_: the sender, ``no-reply@example.com`` or ``Shop <no-reply@example.com>``.
        port: its port (587 submission with STARTTLS, 465 implicit TLS, 25 relay).
        security: ``starttls`` (upgrade, required), ``tls`` (TLS from the first byte) or
            ``none`` (plain text: a relay on the same host or network only).
        username: the login, if the server asks for one.
        password: its password.
    """

    CHANNEL: ClassVar[str] = "email"

    host: str
    from_: str = msgspec.field(name="from")
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 587
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: Secret | None = None

    def __post_init__(self) -> None:
        if "@" not in parseaddr(self.from_)[1]:
            raise ValueError("smtp: `from` must be an email address (Name <a@example.com>)")
        if (self.username is None) != (self.password is None):
            raise ValueError("smtp: set both `username` and `password`, or neither")
