"""Run an ASGI app on 127.0.0.1 in a background thread: the stub provider servers.

Stubs are plain ASGI apps (Litestar or a bare callable); this runs one with uvicorn on
a free loopback port for the duration of a ``with`` block.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn

from app.store.embedded import free_port


@contextlib.contextmanager
def serve(app: Any, *, lifespan: str = "auto") -> Iterator[str]:
    """Serve ``app`` on loopback; yields its base URL (``http://127.0.0.1:<port>``)."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan=lifespan)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the stub server did not start")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def closed_port_url() -> str:
    """A loopback URL on which nothing listens (connection refused)."""
    return f"http://127.0.0.1:{free_port()}"
