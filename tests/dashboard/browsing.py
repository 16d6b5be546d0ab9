"""What the browser tests do with a page: sign in, wait for what should appear, and tell
a rendered page from an empty one."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as shown
from selenium.webdriver.support.ui import WebDriverWait

WAIT = 10.0


def wait(driver: Any, condition: Any, timeout: float = WAIT) -> Any:
    """``condition`` once it holds; an element that a live page re-rendered while the
    condition read it (stale) is read again at the next poll, not a failure."""
    return WebDriverWait(
        driver, timeout, poll_frequency=0.05, ignored_exceptions=(StaleElementReferenceException,)
    ).until(condition)


def text_of(driver: Any, selector: str) -> str:
    return str(wait(driver, shown.visibility_of_element_located((By.CSS_SELECTOR, selector))).text)


def wait_for_text(driver: Any, selector: str, text: str) -> None:
    wait(driver, shown.text_to_be_present_in_element((By.CSS_SELECTOR, selector), text))


def sign_in(driver: Any, base: str, key: str) -> None:
    """Sign in through the form (from wherever the dashboard sends a stranger)."""
    driver.get(f"{base}/dashboard")
    wait(driver, shown.url_contains("/dashboard/sign-in"))
    field = driver.find_element(By.ID, "key")
    field.clear()
    field.send_keys(key)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()


def accept_confirmation(driver: Any) -> None:
    wait(driver, shown.alert_is_present()).accept()


def distinct_colours(png: bytes) -> int:
    """How many colours a screenshot holds (65,536 stands for "at least that many")."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    colours = image.getcolors(maxcolors=65_536)
    return 65_536 if colours is None else len(colours)


#: A page renders when its screenshot holds this many colours (blank: 1; a line of text
#: on white: a few dozen anti-aliased greys) and its body this much text and height.
MIN_COLOURS = 64
MIN_TEXT = 60
MIN_HEIGHT = 200


def rendering(driver: Any) -> dict[str, int]:
    """The figures that tell whether the current page rendered, and fits the screen."""
    figures: dict[str, int] = driver.execute_script(
        "const b = document.body;"
        "return {text: b.innerText.trim().length,"
        " height: Math.round(b.getBoundingClientRect().height),"
        " overflow: document.documentElement.scrollWidth - window.innerWidth,"
        " sheets: document.styleSheets.length};"
    )
    figures["colours"] = distinct_colours(driver.get_screenshot_as_png())
    return figures


def assert_rendered(driver: Any, what: str) -> dict[str, int]:
    figures = rendering(driver)
    assert figures["colours"] >= MIN_COLOURS, (what, figures)
    assert figures["text"] >= MIN_TEXT, (what, figures)
    assert figures["height"] >= MIN_HEIGHT, (what, figures)
    assert figures["sheets"] >= 1, (what, figures)  # the stylesheet loaded (no CDN needed)
    assert figures["overflow"] <= 1, (what, "wider than the screen", figures)
    return figures
