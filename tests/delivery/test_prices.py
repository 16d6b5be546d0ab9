"""The price of one SMS: the file's prices by account name, then by type, then the
repository's table; by country, then ``default``."""

from __future__ import annotations

import pytest

from app.delivery.config import DEFAULT_PRICES
from app.delivery.prices import PriceTable
from app.settings import ConfigError, load_settings

TYPES = {"twilio_us": "twilio", "ali": "aliyun", "gw": "http"}


def test_the_repository_table_prices_every_adapter_type_but_the_gateway() -> None:
    table = PriceTable(TYPES, {}, "USD")
    assert table.micros("twilio_us", "US") == round(DEFAULT_PRICES["twilio"]["US"] * 1e6)
    assert table.micros("ali", "CN") == round(DEFAULT_PRICES["aliyun"]["CN"] * 1e6)
    assert table.micros("ali", "FR") == round(DEFAULT_PRICES["aliyun"]["default"] * 1e6)
    assert table.micros("gw", "US") == 0  # an in-house gateway has no list price
    assert table.micros("outbox", "US") == 0


def test_an_account_price_beats_its_type_and_a_missing_country_falls_through() -> None:
    overrides = {"twilio_us": {"US": 0.005}, "twilio": {"GB": 0.04}, "gw": {"default": 0.001}}
    table = PriceTable(TYPES, overrides, "USD")
    assert table.micros("twilio_us", "US") == 5000
    assert table.micros("twilio_us", "GB") == 40000  # the type's own price in the file
    assert table.micros("twilio_us", "DE") == round(DEFAULT_PRICES["twilio"]["DE"] * 1e6)
    assert table.micros("gw", "NG") == 1000


def test_a_send_reserves_the_dearest_provider_of_its_route() -> None:
    table = PriceTable(TYPES, {"gw": {"default": 0.5}}, "USD")
    assert table.most(["ali", "gw", "twilio_us"], "CN") == 500_000
    assert table.most([], "CN") == 0


@pytest.mark.parametrize(
    ("prices", "currency", "message"),
    [
        ({"twilio": {"usa": 0.01}}, "USD", "prices"),
        ({"twilio": {"US": -1}}, "USD", "prices"),
        ({}, "dollars", "price_currency"),
    ],
)
def test_a_price_table_or_currency_that_cannot_be_read_is_refused_at_start(
    prices: dict[str, dict[str, float]], currency: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings({}, overrides={"prices": prices, "price_currency": currency})
