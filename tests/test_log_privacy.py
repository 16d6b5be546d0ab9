"""The whole log of a real `otpgate serve` that sent and checked codes through every
adapter holds no phone number and no code: neither otpgate's lines nor any library's."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote_plus

import httpx
from redis.asyncio import Redis

from app.apps.keys import ApiKeyStore
from app.store.embedded import free_port
from tests.providers.test_routing import KINDS, provider, received, running
from tests.test_sensitive import _inline

ROOT = Path(__file__).parent.parent


def _toml(urls: dict[str, str]) -> str:
    lines = ["[routes]", 'default = ["outbox"]']
    for kind, url in urls.items():
        fields = {k: v for k, v in provider(kind, url).items() if v is not None}
        lines.append(f"[providers.{kind}]")
        lines += [f"{key} = {_inline(value)}" for key, value in fields.items()]
        lines += [f"[apps.via_{kind}.routes]", f'default = ["{kind}"]']
    return "\n".join(lines) + "\n"


def _start(
    config: Path, redis_url: str, log: Path, **extra_env: str
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTPGATE_")}
    env.update(
        OTPGATE_ENV="test", OTPGATE_CONFIG=str(config), OTPGATE_REDIS_URL=redis_url,
        OTPGATE_ARGON2_TIME_COST="1", OTPGATE_ARGON2_MEMORY_COST="256",
        OTPGATE_MAX_ATTEMPTS="20", OTPGATE_RESEND_COOLDOWN="0", **extra_env,
    )  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--port", str(port), "--access-log"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(f"{base}/healthz", timeout=0.5).status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("otpgate serve did not start")


async def test_a_served_log_holds_no_number_and_no_code(
    redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    kinds = sorted(KINDS)
    numbers = {kind: f"+861380013{8000 + i:04d}" for i, kind in enumerate(kinds)}
    codes: list[str] = []
    log = tmp_path / "serve.log"
    with contextlib.ExitStack() as stack:
        stubs = {kind: stack.enter_context(running(kind)) for kind in kinds}
        config = tmp_path / "otpgate.toml"
        config.write_text(_toml({kind: url for kind, (_, url) in stubs.items()}))
        process, base = _start(config, redis_url, log)
        try:
            async with httpx.AsyncClient(base_url=base, timeout=10) as http:
                for kind in kinds:
                    key, _ = await ApiKeyStore(redis).create(f"via_{kind}", ["verify", "admin"])
                    auth = {"Authorization": f"Bearer {key}"}
                    to = numbers[kind]
                    sent = await http.post("/v1/verifications", json={"to": to}, headers=auth)
                    assert sent.status_code == 201, (kind, sent.text)
                    assert sent.json()["message"]["provider"] == kind
                    request = received(stubs[kind][0])[-1]
                    found = set(re.findall(r"(?<!\d)\d{6}(?!\d)", unquote_plus(repr(request))))
                    wrong = await http.post(
                        "/v1/verifications/check", json={"to": to, "code": "000000"}, headers=auth
                    )
                    assert wrong.status_code == 200
                    statuses = []
                    for candidate in sorted(found - {"000000"}):
                        checked = await http.post(
                            "/v1/verifications/check", json={"to": to, "code": candidate},
                            headers=auth,
                        )  # fmt: skip
                        statuses.append(checked.json().get("status"))
                        if statuses[-1] == "approved":
                            codes.append(candidate)
                    assert "approved" in statuses, kind
                    await http.get(f"/v1/verifications/{sent.json()['id']}", headers=auth)
                    await http.get("/v1/limits", params={"to": to}, headers=auth)
        finally:
            os.killpg(process.pid, 15)
            process.wait(20)
    text = log.read_text()
    assert "provider=aliyun to=+86138****8000" in text  # the log is the one we expected
    for kind, number in numbers.items():
        for form in (number, number.lstrip("+"), number.removeprefix("+86")):
            assert form not in text, (kind, form)
    assert len(codes) == len(kinds)
    for code in codes:
        assert not re.search(rf"(?<!\d){code}(?!\d)", text), code
