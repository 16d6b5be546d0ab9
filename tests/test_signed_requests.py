"""Signed requests, made by README's own Python and shell snippets against a live server:
accepted once, refused when replayed, tampered with, stale, unknown or malformed; a
``signed_only`` key refuses its bearer form."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from app.apps.signing import sign
from tests.conftest import AUTH, ClientFactory

pytestmark = pytest.mark.topologies

README = (Path(__file__).parent.parent / "README.md").read_text()
SECTION = README.split("### Signed requests", 1)[1].split("\n### ", 1)[0]
TO = "+8613800138000"


def _snippet(language: str) -> str:
    (block,) = re.findall(rf"```{language}\n(.*?)```", SECTION, flags=re.DOTALL)
    return str(block)


def _signed_headers() -> Any:
    namespace: dict[str, Any] = {}
    exec(_snippet("python"), namespace)  # the README's own code
    return namespace["signed_headers"]


async def _new_key(client: Any, **options: Any) -> dict[str, Any]:
    body = {"scopes": ["verify"], **options}
    created = await client.post("/v1/apps/default/keys", json=body, headers=AUTH)
    assert created.status_code == 201, created.text
    made: dict[str, Any] = created.json()
    return made


async def test_a_request_signed_by_the_readme_s_python_is_accepted_once(
    make_live_client: ClientFactory,
) -> None:
    signed_headers = _signed_headers()
    async with make_live_client() as client:
        made = await _new_key(client)
        key_id, secret = made["api_key"]["id"], made["signing_secret"]
        assert made["key"] not in secret
        body = json.dumps({"to": TO}).encode()
        headers = {"Content-Type": "application/json"}
        headers |= signed_headers(key_id, secret, "POST", "/v1/verifications", body)
        sent = await client.post("/v1/verifications", content=body, headers=headers)
        assert sent.status_code == 201, sent.text

        again = await client.post("/v1/verifications", content=body, headers=headers)
        assert (again.status_code, again.json()["code"]) == (401, "unauthorized")
        assert "replayed" in again.json()["detail"]

        path = f"/v1/verifications/{sent.json()['id']}?view=full"  # the query is signed too
        shown = await client.get(path, headers=signed_headers(key_id, secret, "GET", path, b""))
        assert shown.status_code == 200
        unsigned_query = signed_headers(key_id, secret, "GET", path.split("?")[0], b"")
        assert (await client.get(path, headers=unsigned_query)).status_code == 401

        fresh = signed_headers(key_id, secret, "POST", "/v1/verifications", body)
        tampered = json.dumps({"to": "+8613800138001"}).encode()
        refused = await client.post(
            "/v1/verifications", content=tampered, headers={**headers, **fresh}
        )
        assert refused.status_code == 401 and "does not match" in refused.json()["detail"]
        other = signed_headers(key_id, "not-the-secret", "POST", "/v1/verifications", body)
        assert (
            await client.post("/v1/verifications", content=body, headers=other)
        ).status_code == 401


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        ("OTPGATE-HMAC-SHA256 key=zz", "needs key="),
        ("OTPGATE-HMAC-SHA256 key={id},ts={stale},nonce={nonce},sig={sig}", "off the server"),
        ("OTPGATE-HMAC-SHA256 key=0123456789abcdef,ts={now},nonce={nonce},sig={sig}", "unknown"),
    ],
)
async def test_malformed_stale_or_unknown_signatures_are_401(
    make_live_client: ClientFactory, authorization: str, reason: str
) -> None:
    async with make_live_client() as client:
        made = await _new_key(client)
        now, nonce = int(time.time()), "n" * 16
        stale = now - 301
        sig = sign(made["signing_secret"], "POST", "/v1/verifications", stale, nonce, b"{}")
        header = authorization.format(
            id=made["api_key"]["id"], stale=stale, now=now, nonce=nonce, sig=sig
        )
        refused = await client.post(
            "/v1/verifications", content=b"{}", headers={"Authorization": header}
        )
        assert refused.status_code == 401
        assert reason in refused.json()["detail"]


async def test_a_signed_only_key_refuses_its_bearer_form(make_live_client: ClientFactory) -> None:
    signed_headers = _signed_headers()
    async with make_live_client() as client:
        made = await _new_key(client, signed_only=True)
        bearer = {"Authorization": f"Bearer {made['key']}"}
        refused = await client.post("/v1/verifications", json={"to": TO}, headers=bearer)
        assert refused.status_code == 401 and "signed requests only" in refused.json()["detail"]
        body = json.dumps({"to": TO}).encode()
        headers = {"Content-Type": "application/json"}
        headers |= signed_headers(made["api_key"]["id"], made["signing_secret"], "POST",
                                  "/v1/verifications", body)  # fmt: skip
        assert (
            await client.post("/v1/verifications", content=body, headers=headers)
        ).status_code == 201


async def test_the_readme_s_shell_snippet_sends_a_code(make_live_client: ClientFactory) -> None:
    async with make_live_client() as client:
        made = await _new_key(client)
        env = {
            **os.environ,
            "OTPGATE": str(client.base_url).rstrip("/"),
            "KEY_ID": made["api_key"]["id"],
            "SECRET": made["signing_secret"],
        }
        done = await asyncio.to_thread(
            subprocess.run, ["bash", "-euo", "pipefail", "-c", _snippet("sh")],
            env=env, capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["status"] == "pending", done.stdout
