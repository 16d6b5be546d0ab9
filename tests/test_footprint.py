"""What a send and a check cost in Redis may not grow: the issue-11 targets, as counts.

``bench/round_trips.py`` prints the same figures; these are counts, not timings, so they
belong in a test (a timing never does).
"""

from __future__ import annotations

import pytest

from bench.round_trips import RULES_OFF, RULES_ON, measure

SEND_TRIPS = 4  # admission reads, the send script, the circuit + provider, the record
CHECK_TRIPS = 2  # reserve the attempt, conclude it
STORED_BYTES = 1024  # a pending verification: its record, its index entry, its window
LEFT_BYTES = 1536  # one whole flow, every key it adds included


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
