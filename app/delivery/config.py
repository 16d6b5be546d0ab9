"""Settings of delivery: the price table that turns sends into an estimated cost.

A settings-part module (msgspec and the standard library only), so that settings may
compose it.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import Annotated

import msgspec

__all__ = ["DEFAULT_PRICES", "PriceList", "Prices"]

#: Country (ISO 3166 alpha-2) or ``default`` -> price of one SMS in ``price_currency``.
PriceList = dict[
    Annotated[str, msgspec.Meta(pattern=r"^([A-Z]{2}|default)$")],
    Annotated[float, msgspec.Meta(ge=0, le=100)],
]
#: Provider name (in ``[providers]``) or type -> its prices.
Prices = dict[str, PriceList]

DEFAULT_PRICES: Prices = msgspec.convert(
    tomllib.loads(resources.files("app.delivery").joinpath("prices.toml").read_text()), Prices
)
