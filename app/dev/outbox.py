"""GET /dev/outbox: the messages the outbox provider captured (dev mode only)."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from litestar import Controller, MediaType, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromQuery

from app.phone import normalize_phone
from app.providers.outbox import OutboxEntry, OutboxProvider

__all__ = ["OutboxController"]

TEMPLATES = Path(__file__).parent / "templates"
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>otpgate outbox</title>
<meta http-equiv="refresh" content="5">
<style>body{{font:15px system-ui,sans-serif;margin:2rem;color:#222}}
table{{border-collapse:collapse}}
td,th{{padding:.4rem .8rem;border-bottom:1px solid #ddd;text-align:left}}
.code{{font:600 1.1rem ui-monospace,monospace}}</style></head>
<body><h1>otpgate dev outbox</h1>
<p>Messages the <code>outbox</code> provider captured instead of sending ({count} shown, newest
first; refreshes every 5 s). JSON: <a href="/dev/outbox?format=json">/dev/outbox?format=json</a></p>
<form><input name="to" placeholder="+8613800138000" value="{to}"> <button>filter</button></form>
<table><tr><th>sent</th><th>to</th><th>text</th><th>message</th></tr>{rows}</table></body></html>"""


def _row(entry: OutboxEntry) -> str:
    sent = datetime.fromtimestamp(entry.sent_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return (
        f"<tr><td>{sent}</td><td>{html.escape(entry.to)}</td>"
        f'<td class="code">{html.escape(entry.text)}</td>'
        f"<td>{html.escape(entry.message_id)}</td></tr>"
    )


class OutboxController(Controller):
    path = "/dev/outbox"
    tags = ["dev"]
    include_in_schema = False
    signature_types = [OutboxProvider]

    @get("/", operation_id="devOutbox", cache=False)
    async def outbox(
        self,
        request: Request[Any, Any, Any],
        outbox: NamedDependency[OutboxProvider],
        to: FromQuery[str | None] = None,
        format: FromQuery[str | None] = None,
        limit: FromQuery[int] = 50,
    ) -> Response[object]:
        e164 = normalize_phone(to).e164 if to else None
        entries = await outbox.messages(e164, limit=max(1, min(limit, 1000)))
        wants_html = format != "json" and "text/html" in request.headers.get("accept", "")
        if wants_html:
            page = _PAGE.format(
                count=len(entries), to=html.escape(to or ""), rows="".join(map(_row, entries))
            )
            return Response(page, media_type=MediaType.HTML)
        return Response(entries)
