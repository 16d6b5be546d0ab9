"""What a send and a check cost in Redis may not grow: the issue-11 targets, as counts.

``bench/round_trips.py`` prints the same figures; these are counts, not timings, so they
belong in a test (a timing never does).
"""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from app.store.keys import Keys
from app.twilio_verify.sids import service_sid, verification_id
from bench.round_trips import RULES_OFF, RULES_ON, measure, number
from tests.conftest import API_KEY, AUTH, ClientFactory

SEND_TRIPS = 4  # admission reads, the send script, the circuit + provider, the record
CHECK_TRIPS = 2  # reserve the attempt, conclude it
STORED_BYTES = 1024  # a pending verification: its record, its index entry, its window
LEFT_BYTES = 1536  # one whole flow, every key it adds included
# MEMORY USAGE counts what the allocator handed out, and jemalloc rounds a listpack of
# this size up to a 128-byte class: the growth may be up to one class over the bytes added.
ALLOCATOR_CLASS_BYTES = 128
WAITING_PLAN_BYTES = 320  # a plan waiting for its step: its hash and its due-queue member


@pytest.mark.parametrize("rules", [RULES_ON, RULES_OFF], ids=["rules-on", "rules-off"])
async def test_a_flow_costs_at_most_its_round_trips_and_bytes(
    redis_url: str, rules: dict[str, object]
) -> None:
    footprint = await measure(redis_url, rules, flows=100)
    assert footprint.send_trips <= SEND_TRIPS
    assert footprint.check_trips <= CHECK_TRIPS
    assert footprint.stored_bytes <= STORED_BYTES
    assert footprint.left_bytes <= LEFT_BYTES
    assert footprint.stored_bytes > 200 and footprint.left_bytes > 200  # it measured keys


async def test_a_verification_s_own_name_and_app_hash_keep_its_record_compact(
    make_client: ClientFactory, redis: Redis
) -> None:
    """Twilio's ``CustomFriendlyName`` and ``AppHash`` are kept only when set, and within
    what keeps the record a listpack (the longest name: 21 Chinese characters, 63 bytes)."""
    start = f"/twilio/v2/Services/{service_sid('default')}/Verifications"
    basic = ("bootstrap", API_KEY)
    sizes, fields = [], []
    async with make_client() as client:
        for to, own in [
            ("+8613800138000", {}),
            ("+8613800138001", {"CustomFriendlyName": "商" * 21, "AppHash": "FA+9qCX9VSu"}),
        ]:
            sent = await client.post(start, data={"To": to, "Channel": "sms", **own}, auth=basic)
            assert sent.status_code == 201, sent.text
            record = Keys.verification(verification_id(sent.json()["sid"]) or "")
            # compact: a listpack (a ziplist before Redis 7), not a hashtable
            assert await redis.object("encoding", record) in {"listpack", "ziplist"}
            sizes.append(await redis.memory_usage(record, samples=0))
            fields.append(await redis.hgetall(record))
    (plain, customized), (plain_fields, own_fields) = sizes, fields
    own = {"F", "H"}  # the store's client decodes: fields and values are str
    assert not own & plain_fields.keys()  # kept only when set
    added = sum(len(k.encode()) + len(v.encode()) for k, v in own_fields.items() if k in own)
    assert added == 1 + 63 + 1 + 11  # the name's UTF-8 bytes and the hash, nothing more
    assert customized - plain <= added + ALLOCATOR_CLASS_BYTES, (plain, customized)


async def test_a_waiting_fallback_plan_costs_at_most_its_bytes(
    make_client: ClientFactory, redis: Redis
) -> None:
    """While a plan waits for its next step it keeps a sealed number and its step in a
    small hash beside the verification, and one member of the due queue."""
    plans = 200  # past the 128 members a sorted set keeps as a listpack: what scale sees
    plan = [{"channel": "sms", "wait": 600}, {"channel": "voice"}]  # no step comes due
    async with make_client(apps={"default": {"fallback": plan}}, **RULES_OFF) as client:
        first = await client.post("/v1/verifications", json={"to": "+8613700137000"}, headers=AUTH)
        assert first.status_code == 201, first.text
        queue = await redis.memory_usage(Keys.FALLBACK_DUE, samples=0)
        ids = []
        for n in range(1, plans + 1):
            sent = await client.post(
                "/v1/verifications", json={"to": number(n, "136")}, headers=AUTH
            )
            assert sent.status_code == 201, sent.text
            ids.append(sent.json()["id"])
        grown = await redis.memory_usage(Keys.FALLBACK_DUE, samples=0) - queue
        assert await redis.zcard(Keys.FALLBACK_DUE) == plans + 1
        assert await redis.object("encoding", Keys.FALLBACK_DUE) == "skiplist"
        hashes = [await redis.memory_usage(Keys.fallback(i), samples=0) for i in ids]
    assert all(hashes), "every plan keeps its hash"
    per_plan = (sum(hashes) + grown) / plans
    assert per_plan <= WAITING_PLAN_BYTES, per_plan
