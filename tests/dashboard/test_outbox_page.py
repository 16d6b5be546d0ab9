"""The dev outbox's page over HTTP (the browser tests drive it live): the code, the
verification and its timeline, the filter, and a JSON answer that stays as it was."""

from __future__ import annotations

import re
from typing import Any

from tests.conftest import AUTH

HTML = {"Accept": "text/html"}


async def _send(client: Any, to: str) -> dict[str, Any]:
    answer = await client.post("/v1/verifications", json={"to": to}, headers=AUTH)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def test_the_json_answer_keeps_its_fields(client: Any) -> None:
    await _send(client, "+8613800138000")
    (entry,) = (await client.get("/dev/outbox", params={"format": "json"})).json()
    assert set(entry) == {"id", "message_id", "to", "text", "sent_at", "channel", "subject"}
    assert entry["to"] == "+8613800138000"


async def test_each_message_shows_its_code_its_verification_and_its_timeline(
    client: Any,
) -> None:
    sent = await _send(client, "+8613800138000")
    page = await client.get("/dev/outbox", headers=HTML)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    (code,) = re.findall(r'data-copy="(\d{6})"', page.text)
    assert code in page.text.split('class="text"')[1]  # the code is in the message text
    assert f"/dashboard/delivery?app=default&amp;id={sent['id']}" in page.text
    assert 'data-status="pending"' in page.text
    assert "attempt: outbox → accepted" in page.text
    check = await client.post(
        "/v1/verifications/check", json={"id": sent["id"], "code": code}, headers=AUTH
    )
    assert check.json()["status"] == "approved"
    fragment = await client.get("/dev/outbox/cards")
    assert 'data-status="approved"' in fragment.text
    assert fragment.text.lstrip().startswith('<div class="messages"')


async def test_the_filter_takes_a_whole_number_or_a_part_of_it(client: Any) -> None:
    await _send(client, "+8613800138000")
    await _send(client, "+8613900139000")
    for wanted, shown, hidden in [
        ("+8613900139000", "+8613900139000", "+8613800138000"),
        ("138001", "+8613800138000", "+8613900139000"),
    ]:
        page = await client.get("/dev/outbox", params={"to": wanted}, headers=HTML)
        assert f'data-to="{shown}"' in page.text and f'data-to="{hidden}"' not in page.text
    none = await client.get("/dev/outbox/cards", params={"to": "+447700900123"})
    assert 'id="empty"' in none.text


async def test_the_page_loads_only_otpgate_s_own_assets(client: Any) -> None:
    page = await client.get("/dev/outbox", headers=HTML)
    urls = re.findall(r"""<(?:script|link)\b[^>]*?\b(?:src|href)=["']([^"']+)["']""", page.text)
    assert sorted(urls) == [
        "/dashboard/static/icon.svg", "/dashboard/static/otpgate.css", "/dev/static/outbox.js",
    ]  # fmt: skip
    for url in urls:
        assert (await client.get(url)).status_code == 200, url
