"""The dashboard's tests see redirects as they are (a browser's form follows them itself)."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def client(client: Any) -> Any:
    client.follow_redirects = False
    return client
