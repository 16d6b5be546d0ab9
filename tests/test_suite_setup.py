"""The suite's own set-up: two xdist workers never share a Redis database."""

from __future__ import annotations

from tests.conftest import worker_database


def test_each_xdist_worker_takes_its_own_database() -> None:
    assert worker_database("redis://127.0.0.1:6390/3", "gw0") == "redis://127.0.0.1:6390/3"
    assert worker_database("redis://127.0.0.1:6390/3", "gw1") == "redis://127.0.0.1:6390/4"
    assert worker_database("redis://:pw@db.test:6390", "gw2") == "redis://:pw@db.test:6390/2"
    assert worker_database("rediss://db.test/0?x=1", "gw1") == "rediss://db.test/1?x=1"


def test_without_xdist_the_url_is_left_as_it_is() -> None:
    assert worker_database("redis://127.0.0.1:6390/3", "") == "redis://127.0.0.1:6390/3"
