"""The schema-driven fuzz run over openapi.json: ``make fuzz`` (``python -m tests.fuzz``)
starts ``otpgate serve`` in test mode on a free loopback port and runs schemathesis
against it; tests/test_fuzz.py runs the same checks, bounded, in the suite.

"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from app.store.embedded import free_port
from tests.contract import OPENAPI_JSON

__all__ = ["CHECKS", "OPENAPI_JSON", "schemathesis_command"]

ROOT = Path(__file__).parent.parent
#: Server errors, and every response true to the document: status, media type, body, headers.
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
)
_KEY = "otpg_fuzz_" + "k" * 32


def schemathesis_command(base_url: str, api_key: str, *extra: str) -> list[str]:
    """The ``schemathesis run`` command line of a fuzz run against ``base_url``."""
    return [
        str(Path(sys.executable).parent / "schemathesis"), "run", str(OPENAPI_JSON),
        "--url", base_url, "--checks", ",".join(CHECKS),
        "--header", f"Authorization: Bearer {api_key}", *extra,
    ]  # fmt: skip


def main(extra: list[str]) -> int:
    """Serve otpgate (test mode, embedded Redis, a throwaway data dir), fuzz it, stop it."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="otpgate-fuzz-") as data_dir:
        env = {
            **os.environ,
            "OTPGATE_ENV": "test",
            "OTPGATE_DATA_DIR": data_dir,
            "OTPGATE_BOOTSTRAP_API_KEY": _KEY,
            "OTPGATE_PORT": str(port),
        }
        env.pop("OTPGATE_REDIS_URL", None)
        server = subprocess.Popen([sys.executable, "-m", "app", "serve"], cwd=ROOT, env=env)
        try:
            base_url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx.get(f"{base_url}/healthz", timeout=0.5).raise_for_status()
                    break
                except httpx.HTTPError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        print("otpgate serve did not start", file=sys.stderr)
                        return 1
                    time.sleep(0.1)
            command = schemathesis_command(base_url, _KEY, *extra)
            print("$", shlex.join(command), flush=True)
            return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode
        finally:
            server.send_signal(signal.SIGTERM)  # serve stops its embedded Redis on the way out
            server.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
