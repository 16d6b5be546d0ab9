"""TOTP factors: RFC 6238's test vectors and pyotp's own codes, enrollment with a sealed
secret, confirmation, replay refusal across instances, the subject's failure budget,
revocation, and tenant isolation."""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from app.apps.keys import ApiKeyStore
from app.factors import totp
from app.factors.keyring import Keyring, SealError
from app.store.keys import Keys
from tests.conftest import AUTH, ClientFactory, redis_snapshot

pytestmark = pytest.mark.topologies

# RFC 6238 appendix B: the SHA-1 secret "12345678901234567890" and its 8-digit codes.
RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()
RFC_VECTORS = [
    (59, "94287082"), (1111111109, "07081804"), (1111111111, "14050471"),
    (1234567890, "89005924"), (2000000000, "69279037"), (20000000000, "65353130"),
]  # fmt: skip


@pytest.mark.parametrize(("at", "code"), RFC_VECTORS)
def test_rfc_6238_vectors_match_their_time_step(at: int, code: str) -> None:
    assert totp.matched_step(RFC_SECRET, code, at, 8, 30, 0) == at // 30
    assert totp.matched_step(RFC_SECRET, code, at + 30, 8, 30, 0) == 0  # the next step
    assert totp.matched_step(RFC_SECRET, code, at + 30, 8, 30, 1) == at // 30  # drift 1


def test_a_new_secret_has_160_bits_and_a_uri_an_app_reads() -> None:
    secret = totp.new_secret()
    assert len(secret) == 32 and len(base64.b32decode(secret)) == 20
    uri = totp.provisioning_uri(secret, "ada@example.com", "Shop", 6, 30)
    parsed = urlparse(uri)
    assert (parsed.scheme, parsed.netloc, parsed.path) == (
        "otpauth",
        "totp",
        "/Shop:ada%40example.com",
    )
    assert parse_qs(parsed.query)["secret"] == [secret]
    assert totp.qr_png(uri).startswith(b"\x89PNG\r\n\x1a\n")


def test_a_sealed_secret_opens_under_its_key_only_bound_to_its_factor() -> None:
    old, new = b"o" * 32, b"n" * 32
    sealed = Keyring([old]).seal(b"SECRET", b"fac_1")
    rotated = Keyring([new, old])
    assert rotated.open(sealed, b"fac_1") == b"SECRET" and not rotated.is_current(sealed)
    assert rotated.is_current(rotated.seal(b"SECRET", b"fac_1"))
    with pytest.raises(SealError):
        rotated.open(sealed, b"fac_2")  # moved to another factor
    with pytest.raises(SealError):
        Keyring([new]).open(sealed, b"fac_1")  # the old key was dropped


async def stored(redis: Redis) -> dict[str, Any]:
    """Every key, less the API key's last use (written in the background)."""
    snapshot = await redis_snapshot(redis)
    snapshot.pop(Keys.API_KEY_LAST_USED, None)
    return snapshot


async def enroll(client: Any, subject: str = "user-1", headers: dict[str, str] = AUTH) -> Any:
    answer = await client.post(
        "/v1/factors", json={"subject": subject, "friendly_name": "ada"}, headers=headers
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def code_of(factor: dict[str, Any], at: float | None = None) -> str:
    return pyotp.TOTP(factor["secret"]).at(time.time() if at is None else at)


async def post(client: Any, factor_id: str, what: str, code: str) -> Any:
    return await client.post(f"/v1/factors/{factor_id}/{what}", json={"code": code}, headers=AUTH)


async def test_enroll_confirm_check_and_revoke(client: AsyncTestClient[Any], redis: Redis) -> None:
    factor = await enroll(client)
    assert factor["status"] == "unverified" and factor["id"].startswith("fac_")
    assert factor["uri"].startswith("otpauth://totp/default:ada?") and factor["qr_png"].startswith(
        "data:image/png;base64,"
    )
    snapshot = str(await redis_snapshot(redis))
    assert factor["secret"] not in snapshot and "user-1" not in snapshot  # sealed, digested
    early = await post(client, factor["id"], "check", code_of(factor))
    assert (early.status_code, early.json()["code"]) == (409, "factor_not_verified")
    wrong = (await post(client, factor["id"], "confirm", "000000")).json()
    assert (wrong["valid"], wrong["status"], wrong["reason"]) == (False, "unverified", "wrong")
    confirmed = (await post(client, factor["id"], "confirm", code_of(factor))).json()
    assert (confirmed["valid"], confirmed["status"]) == (True, "verified")
    again = await post(client, factor["id"], "confirm", code_of(factor))
    assert (again.status_code, again.json()["code"]) == (409, "factor_verified")
    shown = (await client.get(f"/v1/factors/{factor['id']}", headers=AUTH)).json()
    assert shown["status"] == "verified" and "secret" not in shown
    later = (await post(client, factor["id"], "check", code_of(factor, time.time() + 30))).json()
    assert later["valid"] is True  # the next step, within the drift
    revoked = await client.delete(f"/v1/factors/{factor['id']}", headers=AUTH)
    assert revoked.json()["status"] == "revoked"
    gone = await client.get(f"/v1/factors/{factor['id']}", headers=AUTH)
    assert (gone.status_code, gone.json()["code"]) == (404, "factor_not_found")


async def test_a_code_is_accepted_once_and_never_an_older_one(client: AsyncTestClient[Any]) -> None:
    factor = await enroll(client)
    now = time.time()
    assert (await post(client, factor["id"], "confirm", code_of(factor, now + 30))).json()["valid"]
    replayed = (await post(client, factor["id"], "check", code_of(factor, now + 30))).json()
    assert (replayed["valid"], replayed["reason"]) == (False, "replayed")
    older = (await post(client, factor["id"], "check", code_of(factor, now))).json()
    assert older["reason"] == "replayed"  # a step before the accepted one
    far = (await post(client, factor["id"], "check", code_of(factor, now + 300))).json()
    assert far["reason"] == "wrong"  # outside the drift window


async def test_concurrent_checks_of_one_code_on_two_instances_accept_it_once(
    make_live_client: ClientFactory,
) -> None:
    async with make_live_client() as first, make_live_client() as second:
        factor = await enroll(first)
        assert (await post(first, factor["id"], "confirm", code_of(factor))).json()["valid"]
        code = code_of(factor, time.time() + 30)
        answers = await asyncio.gather(
            *(post(c, factor["id"], "check", code) for _ in range(10) for c in (first, second))
        )
        assert sum(a.json()["valid"] for a in answers) == 1


async def test_wrong_codes_lock_the_subject_across_factors_until_unlocked(
    make_client: ClientFactory,
) -> None:
    async with make_client(factors={"max_failures": 3}) as client:
        first = await enroll(client)
        assert (await post(client, first["id"], "confirm", code_of(first))).json()["valid"]
        for remaining in (2, 1):
            answer = (await post(client, first["id"], "check", "123456")).json()
            assert answer["failures_remaining"] == remaining
        second = await enroll(client)  # a new secret does not reset the count
        assert (await post(client, second["id"], "confirm", "123456")).json()[
            "failures_remaining"
        ] == 0
        locked = await post(client, second["id"], "confirm", code_of(second))
        assert (locked.status_code, locked.json()["code"]) == (429, "factor_locked")
        other = await enroll(client, subject="user-2")  # another subject is not locked
        assert (await post(client, other["id"], "confirm", code_of(other))).json()["valid"]
        unlocked = await client.post("/v1/factors/unlock", json={"subject": "user-1"}, headers=AUTH)
        assert unlocked.status_code == 204
        assert (await post(client, second["id"], "confirm", code_of(second))).json()["valid"]


async def test_a_right_code_resets_the_consecutive_failures(client: AsyncTestClient[Any]) -> None:
    factor = await enroll(client)
    await post(client, factor["id"], "confirm", "111111")
    assert (await post(client, factor["id"], "confirm", code_of(factor))).json()["valid"]
    answer = (await post(client, factor["id"], "check", "111111")).json()
    assert answer["failures_remaining"] == 99


async def test_an_unconfirmed_factor_is_gone_after_its_enroll_ttl(
    make_client: ClientFactory,
) -> None:
    async with make_client(factors={"enroll_ttl": 0.2}) as client:
        factor = await enroll(client)
        deadline = time.monotonic() + 5
        while (await client.get(f"/v1/factors/{factor['id']}", headers=AUTH)).status_code != 404:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        assert (
            await client.get("/v1/factors", params={"subject": "user-1"}, headers=AUTH)
        ).json() == {"factors": []}


async def test_a_rotated_key_still_opens_old_secrets_and_reseals_them(
    make_client: ClientFactory, redis: Redis
) -> None:
    old, new = "o" * 32, "n" * 32
    async with make_client(factors={"key": old}) as client:
        factor = await enroll(client)
        assert (await post(client, factor["id"], "confirm", code_of(factor))).json()["valid"]
    (key,) = [k for k in await stored(redis) if k.startswith("otp:{f") and ":f:" in k]
    before = await redis.hget(key, "k")
    async with make_client(factors={"key": new, "old_keys": [old]}) as client:
        later = code_of(factor, time.time() + 30)
        assert (await post(client, factor["id"], "check", later)).json()["valid"]
    after = await redis.hget(key, "k")
    assert before != after and after.split(".")[0] == Keyring([new.encode()]).current
    async with make_client(factors={"key": new}) as client:  # the old key may go now
        assert (await post(client, factor["id"], "check", "000000")).json()["reason"] == "wrong"


async def test_another_app_never_sees_a_factor(client: AsyncTestClient[Any], redis: Redis) -> None:
    factor = await enroll(client)
    key, _ = await ApiKeyStore(redis).create("other", ["verify", "read", "admin"])
    other = {"Authorization": f"Bearer {key}"}
    for method, path, body in (
        ("GET", f"/v1/factors/{factor['id']}", None),
        ("POST", f"/v1/factors/{factor['id']}/confirm", {"code": code_of(factor)}),
        ("DELETE", f"/v1/factors/{factor['id']}", None),
    ):
        answer = await client.request(method, path, json=body, headers=other)
        assert (answer.status_code, answer.json()["code"]) == (404, "factor_not_found")
    listed = await client.get("/v1/factors", params={"subject": "user-1"}, headers=other)
    assert listed.json() == {"factors": []}
    assert (await post(client, factor["id"], "confirm", code_of(factor))).json()["valid"]


@pytest.mark.parametrize(
    ("path", "body"),
    [("/v1/factors", {"subject": "", "friendly_name": "a"}),
     ("/v1/factors", {"subject": "u", "friendly_name": "a:b"}),
     ("/v1/factors", {"subject": "u"}),
     ("/v1/factors/fac_x/confirm", {"code": "12ab56"}),
     ("/v1/factors/fac_x/check", {"code": "12345"})],
)  # fmt: skip
async def test_bad_input_is_a_400_and_stores_nothing(
    client: AsyncTestClient[Any], redis: Redis, path: str, body: dict[str, str]
) -> None:
    before = await stored(redis)
    answer = await client.post(path, json=body, headers=AUTH)
    assert (answer.status_code, answer.json()["code"]) == (400, "invalid_request")
    assert await stored(redis) == before


async def test_an_unknown_factor_id_is_a_404(client: AsyncTestClient[Any]) -> None:
    for factor_id in ("fac_x", "fac_" + "0" * 26, "ver_" + "0" * 26):
        answer = await post(client, factor_id, "check", "123456")
        assert (answer.status_code, answer.json()["code"]) == (404, "factor_not_found")


async def test_factors_need_their_scopes(client: AsyncTestClient[Any], redis: Redis) -> None:
    key, _ = await ApiKeyStore(redis).create("default", ["read"])
    reader = {"Authorization": f"Bearer {key}"}
    refused = await client.post(
        "/v1/factors", json={"subject": "u", "friendly_name": "a"}, headers=reader
    )
    assert refused.status_code == 403
    unlock = await client.post("/v1/factors/unlock", json={"subject": "u"}, headers=reader)
    assert unlock.status_code == 403
