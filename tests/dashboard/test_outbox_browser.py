"""The dev outbox in a real headless Chromium: a send appears without a reload, the copy
button puts the code on the clipboard, and the number filter survives a refresh."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as shown

from tests.conftest import AUTH, latest_code
from tests.dashboard.browsing import assert_rendered, text_of, wait
from tests.dashboard.conftest import PHONE

TO, OTHER = "+8613800138000", "+8613900139000"


async def _send(client: Any, to: str) -> dict[str, Any]:
    answer = await client.post("/v1/verifications", json={"to": to}, headers=AUTH)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def _cards(browser: Any) -> list[str]:
    return [
        card.get_attribute("data-to")
        for card in browser.find_elements(By.CSS_SELECTOR, "article.sms")
    ]


async def test_a_send_appears_without_a_reload_and_its_status_follows(
    browser: Any, make_live_client: Any
) -> None:
    async with make_live_client() as client:
        base = str(client.base_url).rstrip("/")
        browser.get(f"{base}/dev/outbox")
        assert text_of(browser, "#empty").startswith("No message")
        browser.execute_script("window.stillTheSamePage = true")
        sent = await _send(client, TO)
        card = f"article[id='out_{sent['message']['id'].removeprefix('msg_')}']"
        wait(browser, shown.visibility_of_element_located((By.CSS_SELECTOR, card)))
        assert browser.execute_script("return window.stillTheSamePage") is True
        code = await latest_code(client, TO)
        assert text_of(browser, f"{card} .code") == code
        assert code in text_of(browser, f"{card} .text")
        link = browser.find_element(By.CSS_SELECTOR, f"{card} .meta a")
        assert link.get_attribute("href").endswith(
            f"/dashboard/delivery?app=default&id={sent['id']}"
        )
        assert "accepted" in text_of(browser, f"{card} .timeline")
        checked = await client.post(
            "/v1/verifications/check", json={"id": sent["id"], "code": code}, headers=AUTH
        )
        assert checked.json()["valid"] is True
        wait(browser, shown.visibility_of_element_located(
            (By.CSS_SELECTOR, f"{card} [data-status=approved]")
        ))  # fmt: skip
        assert browser.execute_script("return window.stillTheSamePage") is True


async def test_the_copy_button_puts_the_code_on_the_clipboard(
    browser: Any, make_live_client: Any
) -> None:
    async with make_live_client() as client:
        base = str(client.base_url).rstrip("/")
        await _send(client, TO)
        code = await latest_code(client, TO)
        browser.execute_cdp_cmd(
            "Browser.grantPermissions",
            {"origin": base, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]},
        )
        browser.get(f"{base}/dev/outbox")
        button = wait(browser, shown.element_to_be_clickable((By.CSS_SELECTOR, "button.copy")))
        assert button.get_attribute("data-copy") == code
        button.click()
        wait(browser, lambda _: button.text == "Copied")
        pasted = browser.execute_async_script(
            "const done = arguments[0];"
            "navigator.clipboard.readText().then(done, (error) => done('failed: ' + error));"
        )
        assert pasted == code


async def test_the_filter_survives_a_refresh(browser: Any, make_live_client: Any) -> None:
    async with make_live_client() as client:
        base = str(client.base_url).rstrip("/")
        await _send(client, TO)
        await _send(client, OTHER)
        browser.get(f"{base}/dev/outbox")
        wait(browser, lambda _: len(_cards(browser)) == 2)
        field = browser.find_element(By.ID, "to")
        field.send_keys("139001")
        field.submit()
        wait(browser, lambda _: _cards(browser) == [OTHER])
        browser.refresh()
        wait(browser, lambda _: _cards(browser) == [OTHER])
        assert browser.find_element(By.ID, "to").get_attribute("value") == "139001"
        await _send(client, "+8613900139001")  # live updates keep to the filter
        wait(browser, lambda _: _cards(browser) == ["+8613900139001", OTHER])
        await _send(client, "+8613800138009")
        browser.refresh()
        assert _cards(browser) == ["+8613900139001", OTHER]


async def test_the_outbox_renders_at_desktop_and_phone_width(
    browser: Any, make_live_client: Any, tmp_path: Path
) -> None:
    async with make_live_client() as client:
        base = str(client.base_url).rstrip("/")
        await _send(client, TO)
        for size in ((1280, 900), PHONE):
            browser.set_window_size(*size)
            browser.get(f"{base}/dev/outbox")
            wait(browser, shown.visibility_of_element_located((By.CSS_SELECTOR, "article.sms")))
            assert_rendered(browser, f"outbox at {size}")
            browser.save_screenshot(str(tmp_path / f"outbox-{size[0]}.png"))
