"""GET /dev/outbox: the messages the outbox provider captured (dev and test mode only).

``?format=json`` (or any request that does not ask for HTML) answers the captured entries
as they are; a browser gets a page: each message's code large with a copy button, its
text, its verification's status and delivery timeline and a link to the dashboard's
delivery page, a filter by number kept in the query string, and a small script that
polls ``/dev/outbox/cards`` every 2 s and swaps the list in when it changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from litestar import Controller, MediaType, Request, Response, Router, get
from litestar.datastructures import CacheControlHeader
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Template
from litestar.static_files import create_static_files_router

from app.emails import is_email, normalize_email
from app.phone import normalize_phone
from app.providers.outbox import CapturedMessage, OutboxProvider
from app.verify.models import MessageView, VerificationDetail
from app.verify.service import VerificationService

__all__ = ["TEMPLATES", "OutboxController", "outbox_assets"]

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
OUTBOX = "outbox"
_NOT_DIGITS = re.compile(r"\D")


@dataclass(frozen=True)
class Card:
    """One captured message as the page shows it."""

    entry: CapturedMessage
    app: str | None
    verification: VerificationDetail | None
    message: MessageView | None

    @property
    def state(self) -> str:
        """What changes the card: the page swaps the list in when a card's state moved."""
        message = self.message
        return ":".join((
            self.entry.id, self.verification.status if self.verification else "-",
            message.status if message else "-", str(len(message.timeline) if message else 0),
        ))  # fmt: skip


def matches(number: str, wanted: str) -> bool:
    """Whether ``number`` holds the digits of ``wanted`` (a whole number or a part of it)."""
    digits = _NOT_DIGITS.sub("", wanted)
    return not digits or digits in _NOT_DIGITS.sub("", number)


async def cards(
    outbox: OutboxProvider, verifications: VerificationService, wanted: str, limit: int
) -> dict[str, Any]:
    """The page's context: the newest ``limit`` messages to numbers matching ``wanted``,
    each with its verification."""
    entries = [e for e in await outbox.captured(None, limit) if matches(e.to, wanted)]
    found = await verifications.of_messages(OUTBOX, [entry.id for entry in entries])
    shown = []
    for entry, owner in zip(entries, found, strict=True):
        app, verification = owner or (None, None)
        messages = verification.messages if verification else []
        message = next((m for m in messages if m.id == entry.message_id), None)
        shown.append(Card(entry, app, verification, message))
    return {"cards": shown, "to": wanted, "state": "|".join(card.state for card in shown)}


def outbox_assets() -> Router:
    """The outbox page's script, under ``/dev/static``."""
    return create_static_files_router(
        path="/dev/static", directories=[STATIC], cache_control=CacheControlHeader(no_cache=True)
    )


class OutboxController(Controller):
    path = "/dev/outbox"
    tags = ["dev"]
    include_in_schema = False
    signature_types = [OutboxProvider, VerificationService]

    @get("/", operation_id="devOutbox", cache=False)
    async def outbox(
        self,
        request: Request[Any, Any, Any],
        outbox: NamedDependency[OutboxProvider],
        verifications: NamedDependency[VerificationService],
        to: FromQuery[str | None] = None,
        format: FromQuery[str | None] = None,
        limit: FromQuery[int] = 50,
    ) -> Response[Any]:
        limit = max(1, min(limit, 1000))
        if format != "json" and "text/html" in request.headers.get("accept", ""):
            context = await cards(outbox, verifications, to or "", limit)
            return Template(template_name="outbox.html", context=context)
        address = None
        if to:  # E.164, or an email address, as the outbox keeps them
            address = normalize_email(to) if is_email(to) else normalize_phone(to).e164
        return Response(await outbox.messages(address, limit=limit))

    @get("/cards", cache=False, media_type=MediaType.HTML)
    async def fragment(
        self,
        outbox: NamedDependency[OutboxProvider],
        verifications: NamedDependency[VerificationService],
        to: FromQuery[str | None] = None,
        limit: FromQuery[int] = 50,
    ) -> Template:
        context = await cards(outbox, verifications, to or "", max(1, min(limit, 1000)))
        return Template(template_name="outbox_cards.html", context=context)
