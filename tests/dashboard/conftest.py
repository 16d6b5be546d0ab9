"""Fixtures of the dashboard's tests: an HTTP client that shows redirects as they are, and
a real headless Chromium driven by Selenium."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def client(client: Any) -> Any:
    client.follow_redirects = False
    return client


#: Debian's Chromium and its chromedriver (the packages `chromium` and `chromium-driver`;
#: `make test` installs them when it can). Selenium Manager never downloads anything.
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
NO_CHROMIUM = "no Chromium: install chromium and chromium-driver"
DESKTOP = (1280, 900)
PHONE = (390, 844)


@pytest.fixture(scope="session")
def chrome() -> Iterator[Any]:
    """One headless Chromium for the session (starting one costs seconds of two cores)."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip(NO_CHROMIUM)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager: use what is installed, fetch nothing
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
        "--no-first-run", "--disable-extensions", "--disable-background-networking",
        f"--window-size={DESKTOP[0]},{DESKTOP[1]}",
    ):  # fmt: skip
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def browser(chrome: Any) -> Iterator[Any]:
    """The session's Chromium with no cookie (every test's server is on 127.0.0.1, and
    cookies do not tell ports apart), at desktop size."""
    chrome.execute_cdp_cmd("Network.clearBrowserCookies", {})
    chrome.set_window_size(*DESKTOP)
    yield chrome
    chrome.get("about:blank")
