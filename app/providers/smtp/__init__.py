"""Email over SMTP (aiosmtplib): the code in a plain-text message from your sender. No
delivery reports: SMTP's bounce is a later email, not a callback."""

from __future__ import annotations

from datetime import UTC, datetime

from app.providers.adapter import Adapter
from app.providers.smtp.config import SmtpConfig
from app.providers.smtp.sending import SmtpProvider, build_email, failure, message_id_of

__all__ = ["ADAPTER", "SmtpConfig", "SmtpProvider", "build_email", "failure", "message_id_of"]


def _provider(name: str, config: SmtpConfig) -> SmtpProvider:
    return SmtpProvider(name, config, clock=lambda: datetime.now(UTC))


ADAPTER = Adapter(type="smtp", config=SmtpConfig, channel="email", transport=_provider)
create = ADAPTER.create
