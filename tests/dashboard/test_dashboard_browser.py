"""The dashboard in a real headless Chromium against a real otpgate on loopback: signing in,
unlocking a throttled number, lifting a block, replaying a dead event, and every page
rendered at desktop and phone width."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as shown

from tests.conftest import API_KEY, AUTH
from tests.dashboard.browsing import (
    accept_confirmation,
    assert_rendered,
    distinct_colours,
    sign_in,
    text_of,
    wait,
    wait_for_text,
)
from tests.dashboard.conftest import PHONE
from tests.dashboard.signing import create_key
from tests.stubs.loopback import serve

TO = "+8613800138000"


def _base(client: Any) -> str:
    return str(client.base_url).rstrip("/")


async def _send(client: Any, to: str = TO, status: int = 201) -> dict[str, Any]:
    answer = await client.post("/v1/verifications", json={"to": to}, headers=AUTH)
    assert answer.status_code == status, answer.text
    return dict(answer.json())


async def test_signing_in_with_a_wrong_key_an_unscoped_key_and_the_right_one(
    browser: Any, make_live_client: Any
) -> None:
    async with make_live_client() as client:
        base = _base(client)
        unscoped = await create_key(client, ["verify"])
        sign_in(browser, base, "otpg_wrong_" + "x" * 30)
        assert "unknown, revoked or expired API key" in text_of(browser, "[role=alert]")
        sign_in(browser, base, unscoped["key"])
        alert = text_of(browser, "[role=alert]")
        assert "needs an API key with scope 'admin'" in alert and "this key has verify" in alert
        assert browser.get_cookie("otpgate_session") is None
        sign_in(browser, base, API_KEY)
        wait(browser, shown.url_contains("/dashboard/overview"))
        assert text_of(browser, "main h1") == "Overview"
        session = browser.get_cookie("otpgate_session")
        assert session["httpOnly"] and session["sameSite"] == "Strict"
        assert browser.execute_script("return document.cookie") == ""  # out of scripts' reach


async def test_unlocking_a_throttled_number_on_the_throttles_page(
    browser: Any, make_live_client: Any
) -> None:
    async with make_live_client(limits={"send_per_number": ["2/hour"]}) as client:
        base = _base(client)
        await _send(client)
        await _send(client)
        refused = await _send(client, status=429)
        assert refused["rule"] == "send_per_number"
        sign_in(browser, base, API_KEY)
        wait(browser, shown.url_contains("/dashboard/overview"))
        browser.get(f"{base}/dashboard/throttles")
        browser.find_element(By.ID, "lookup-to").send_keys(TO)
        browser.find_element(By.CSS_SELECTOR, "form.inline button").click()
        spent = text_of(browser, "#rules tr.spent")
        assert "send_per_number" in spent and " 2 " in f" {spent} "
        browser.find_element(By.ID, "unlock").click()
        accept_confirmation(browser)
        wait_for_text(browser, "#cleared", "send_per_number")
        assert browser.find_elements(By.CSS_SELECTOR, "#rules tr.spent") == []
        await _send(client)


async def test_lifting_a_prefix_block_on_the_blocks_page(
    browser: Any, make_live_client: Any
) -> None:
    async with make_live_client(abuse={"prefix_max_numbers": 2}) as client:
        base = _base(client)
        await _send(client, "+8613800138001")
        await _send(client, "+8613800138002")
        refused = await _send(client, "+8613800138003", status=403)
        assert refused["code"] == "suspected_fraud"
        block_id = refused["block_id"]
        sign_in(browser, base, API_KEY)
        wait(browser, shown.url_contains("/dashboard/overview"))
        browser.get(f"{base}/dashboard/blocks")
        row = text_of(browser, f"tr[id='{block_id}']")
        assert "prefix" in row and "+8613800138" in row
        browser.find_element(By.CSS_SELECTOR, f"tr[id='{block_id}'] button").click()
        accept_confirmation(browser)
        wait_for_text(browser, "#lifted", block_id)
        assert browser.find_elements(By.CSS_SELECTOR, f"tr[id='{block_id}']") == []
        assert (await client.get("/v1/blocks", headers=AUTH)).json() == {"blocks": []}
        await _send(client, "+8613800138004")


class EventsStub:
    """An app's events endpoint that answers 500 until told to accept."""

    def __init__(self) -> None:
        self.accept = False
        self.answers: list[int] = []
        self.lock = threading.Lock()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        status = 200 if self.accept else 500
        with self.lock:
            self.answers.append(status)
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def _dead_events(client: Any, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 15
    while True:
        events = (await client.get("/v1/events/dead", headers=AUTH)).json()["events"]
        if len(events) == count or time.monotonic() > deadline:
            return list(events)


async def test_replaying_a_dead_event_on_the_events_page(
    browser: Any, make_live_client: Any
) -> None:
    stub = EventsStub()
    with serve(stub, lifespan="off") as events_url:
        app = {"events_url": events_url, "events_secret": "whsec_" + "e" * 32,
               "events_allow_private": True}  # fmt: skip
        overrides = {"apps": {"default": app}, "events_max_attempts": 1, "events_backoff": 0.01}
        async with make_live_client(**overrides) as client:
            base = _base(client)
            sent = await _send(client)
            canceled = await client.post(f"/v1/verifications/{sent['id']}/cancel", headers=AUTH)
            assert canceled.status_code == 200
            (dead,) = await _dead_events(client, 1)
            assert dead["type"] == "verification.canceled" and stub.answers == [500]
            stub.accept = True
            sign_in(browser, base, API_KEY)
            wait(browser, shown.url_contains("/dashboard/overview"))
            browser.get(f"{base}/dashboard/events")
            assert "verification.canceled" in text_of(browser, f"tr[id='{dead['id']}']")
            browser.find_element(By.CSS_SELECTOR, f"tr[id='{dead['id']}'] button").click()
            wait_for_text(browser, "#replayed", dead["id"])
            wait(browser, lambda _: stub.answers[-1:] == [200])
            assert await _dead_events(client, 0) == []


def test_the_emptiness_check_tells_a_blank_page(browser: Any) -> None:
    browser.get("about:blank")
    assert distinct_colours(browser.get_screenshot_as_png()) == 1


PAGES = [
    "/dashboard/overview", "/dashboard/overview?window=7d",
    "/dashboard/throttles?to=%2B8613800138000", "/dashboard/blocks", "/dashboard/providers",
    "/dashboard/delivery?id={id}", "/dashboard/events", "/dashboard/keys", "/dashboard/usage",
]  # fmt: skip


async def test_every_page_renders_at_desktop_and_phone_width(
    browser: Any, make_live_client: Any, tmp_path: Path
) -> None:
    async with make_live_client() as client:
        base = _base(client)
        sent = await _send(client)
        await _send(client, "+8613900139000")
        browser.get(f"{base}/dashboard/sign-in")
        assert_rendered(browser, "sign-in")
        sign_in(browser, base, API_KEY)
        wait(browser, shown.url_contains("/dashboard/overview"))
        for size, name in (((1280, 900), "desktop"), (PHONE, "phone")):
            browser.set_window_size(*size)
            for path in PAGES:
                browser.get(base + path.format(id=sent["id"]))
                wait(browser, shown.visibility_of_element_located((By.CSS_SELECTOR, "main h1")))
                assert browser.find_elements(By.CSS_SELECTOR, ".notice.error") == [], path
                assert_rendered(browser, f"{path} at {name} width")
                slug = path.split("?")[0].rsplit("/", 1)[-1]
                browser.save_screenshot(str(tmp_path / f"{slug}-{name}.png"))
        assert browser.find_elements(By.CSS_SELECTOR, "svg polyline"), "usage draws no chart"
